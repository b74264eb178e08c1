//! What an APNs answer means: [`classify`] maps each answer (or the lack of one) to a
//! [`Verdict`], the one place where the outcome rules of the dispatcher are decided.

use super::sender::{PushError, PushResponse};
use serde::Serialize;

/// What one APNs answer means for the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// The token is dead: deactivate it.
    DeactivateToken,
    /// Transient: try this device again later.
    Retry,
    /// Our credentials or topic are wrong: stop dispatching, keep pending.
    ProviderFault,
    /// The notification itself is unacceptable: fail it.
    PayloadFault,
    /// This device failed for another reason; not retried.
    DeviceFailed,
}

/// Maps an APNs answer (or the lack of one) to a [`Verdict`]. The reason decides first,
/// the HTTP status second.
pub fn classify(result: &Result<PushResponse, PushError>) -> Verdict {
    let response = match result {
        Ok(r) => r,
        Err(PushError::Timeout | PushError::Connection(_)) => return Verdict::Retry,
        Err(PushError::Credentials(_)) => return Verdict::ProviderFault,
        Err(PushError::Request(_)) => return Verdict::PayloadFault,
    };
    if response.status == 200 {
        return Verdict::Delivered;
    }
    match response.reason.as_deref() {
        Some("Unregistered" | "BadDeviceToken" | "DeviceTokenNotForTopic") => {
            return Verdict::DeactivateToken
        }
        Some(
            "TooManyRequests"
            | "TooManyProviderTokenUpdates"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "Shutdown"
            | "IdleTimeout",
        ) => return Verdict::Retry,
        Some(
            "ExpiredProviderToken"
            | "InvalidProviderToken"
            | "MissingProviderToken"
            | "BadTopic"
            | "TopicDisallowed"
            | "MissingTopic"
            | "BadCertificate"
            | "BadCertificateEnvironment"
            | "Forbidden",
        ) => return Verdict::ProviderFault,
        Some(
            "PayloadTooLarge" | "PayloadEmpty" | "BadCollapseId" | "BadExpirationDate"
            | "BadMessageId" | "BadPriority" | "DuplicateHeaders" | "BadPath" | "MethodNotAllowed",
        ) => return Verdict::PayloadFault,
        Some("MissingDeviceToken") => return Verdict::DeviceFailed,
        _ => {}
    }
    match response.status {
        410 => Verdict::DeactivateToken,
        403 => Verdict::ProviderFault,
        429 | 500..=599 => Verdict::Retry,
        400 | 405 | 413 => Verdict::PayloadFault,
        _ => Verdict::DeviceFailed,
    }
}

/// One device's answer, read once: what the outbox records (code, `apns-id`,
/// reason) and what it means ([`Verdict`]). Dispatch and `notify test` both act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAnswer {
    pub verdict: Verdict,
    /// The HTTP status, when APNs answered.
    pub code: Option<i32>,
    pub apns_id: Option<String>,
    /// APNs' reason, or what went wrong when there was no answer.
    pub reason: Option<String>,
}

impl DeviceAnswer {
    pub fn of(result: &Result<PushResponse, PushError>) -> DeviceAnswer {
        let verdict = classify(result);
        match result {
            Ok(r) => DeviceAnswer {
                verdict,
                code: Some(i32::from(r.status)),
                apns_id: r.apns_id.clone(),
                reason: r.reason.clone(),
            },
            Err(e) => DeviceAnswer {
                verdict,
                code: None,
                apns_id: None,
                reason: Some(e.to_string()),
            },
        }
    }

    /// The reason to record or report: APNs' reason, the error, else the status.
    pub fn reason_text(&self) -> String {
        match (&self.reason, self.code) {
            (Some(r), _) => r.clone(),
            (None, Some(code)) => format!("HTTP {code}"),
            (None, None) => "unknown".into(),
        }
    }

    /// Why dispatch must stop, for a [`Verdict::ProviderFault`].
    pub fn provider_fault(&self) -> ProviderFault {
        let reason = self.reason_text();
        ProviderFault {
            status: self.code.and_then(|c| u16::try_from(c).ok()),
            hint: provider_hint(&reason).to_string(),
            reason,
        }
    }

    /// The answer as one line: `410 Unregistered (apns-id …)`, or the error.
    pub fn describe(&self) -> String {
        match self.code {
            Some(code) => format!(
                "{code}{}{}",
                self.reason
                    .as_deref()
                    .map(|x| format!(" {x}"))
                    .unwrap_or_default(),
                self.apns_id
                    .as_deref()
                    .map(|x| format!(" (apns-id {x})"))
                    .unwrap_or_default()
            ),
            None => self.reason.clone().unwrap_or_default(),
        }
    }

    /// What the answer does, in words.
    pub fn effect(&self) -> &'static str {
        match self.verdict {
            Verdict::Delivered => "delivered",
            Verdict::DeactivateToken => "token deactivated",
            Verdict::Retry => "transient failure (try again)",
            Verdict::ProviderFault => {
                "APNs refused our credentials: check push.key_id, team_id, topic, environment"
            }
            Verdict::PayloadFault => "APNs rejected the payload",
            Verdict::DeviceFailed => "failed",
        }
    }
}

/// Why dispatch stopped: APNs refused our credentials or topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderFault {
    pub status: Option<u16>,
    pub reason: String,
    /// What to fix.
    pub hint: String,
}

pub fn provider_hint(reason: &str) -> &'static str {
    match reason {
        "ExpiredProviderToken" => {
            "the signed provider token is older than an hour: check this machine's clock (a2 renews the token every 55 minutes)"
        }
        "InvalidProviderToken" | "MissingProviderToken" => {
            "check push.key_id (NACHNA_APNS_KEY_ID) and push.team_id (NACHNA_APNS_TEAM_ID), and that the .p8 key is an APNs key of that team"
        }
        "BadTopic" | "TopicDisallowed" | "MissingTopic" => {
            "check push.topic (NACHNA_APNS_TOPIC) is the app's bundle id and that this key may push to it"
        }
        "BadCertificate" | "BadCertificateEnvironment" => {
            "check push.environment (production for App Store/TestFlight builds, sandbox for Xcode builds)"
        }
        _ => "APNs refused our credentials: check push.key_id, push.team_id, push.topic, push.environment and the .p8 key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, reason: Option<&str>) -> Result<PushResponse, PushError> {
        Ok(PushResponse {
            status,
            apns_id: None,
            reason: reason.map(str::to_string),
        })
    }

    #[test]
    fn apns_reasons_map_to_the_issue_outcomes() {
        use Verdict::*;
        let cases = [
            (answer(200, None), Delivered),
            (answer(410, Some("Unregistered")), DeactivateToken),
            (answer(400, Some("BadDeviceToken")), DeactivateToken),
            (answer(400, Some("DeviceTokenNotForTopic")), DeactivateToken),
            (answer(429, Some("TooManyRequests")), Retry),
            (answer(500, Some("InternalServerError")), Retry),
            (answer(503, Some("ServiceUnavailable")), Retry),
            (answer(502, None), Retry),
            (Err(PushError::Timeout), Retry),
            (Err(PushError::Connection("reset".into())), Retry),
            (answer(403, Some("ExpiredProviderToken")), ProviderFault),
            (answer(403, Some("InvalidProviderToken")), ProviderFault),
            (answer(400, Some("BadTopic")), ProviderFault),
            (answer(400, Some("TopicDisallowed")), ProviderFault),
            (answer(403, Some("BadCertificate")), ProviderFault),
            (
                answer(403, Some("BadCertificateEnvironment")),
                ProviderFault,
            ),
            (answer(403, None), ProviderFault),
            (Err(PushError::Credentials("bad key".into())), ProviderFault),
            (answer(413, Some("PayloadTooLarge")), PayloadFault),
            (answer(400, Some("BadExpirationDate")), PayloadFault),
            (answer(400, Some("BadCollapseId")), PayloadFault),
            (answer(400, None), PayloadFault),
        ];
        for (result, want) in cases {
            assert_eq!(classify(&result), want, "{result:?}");
        }
    }
}
