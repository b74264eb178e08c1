//! Title and body of a push, from the `[notify]` templates.

use super::config::Template;
use super::target::{SessionStart, Target};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};

/// The values a template's placeholders take for one user.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    pub artist: String,
    pub by: String,
    pub song: String,
    pub studio: String,
    pub date: String,
    pub time: String,
    pub hours: String,
    /// A schedule change's previous session, `Sat 20 Jun at 4 PM` (empty when unknown).
    pub from: String,
}

/// A schedule change's body when the previous schedule is unknown (a marker written
/// before it was recorded) and the template names `{from}`.
pub const SCHEDULE_CHANGE_WITHOUT_FROM: &str = "{song} at {studio} moved: now {date} at {time}";

impl RenderContext {
    /// For one user of a workshop: `followed` are the artists they follow, `session`
    /// the session the push is about.
    /// `now` is when the push is rendered: a session today or tomorrow (in the
    /// studio's zone) is said so.
    pub fn new(
        target: &Target,
        followed: &[String],
        session: Option<SessionStart>,
        hours: i64,
        now: DateTime<Utc>,
    ) -> Self {
        let today = now.with_timezone(&target.zone).date_naive();
        let artist = if followed.is_empty() {
            target.by.clone()
        } else {
            target.names_of(followed)
        };
        RenderContext {
            artist: if artist.trim().is_empty() {
                "An artist you follow".into()
            } else {
                artist
            },
            by: target.by.clone(),
            song: match target.song.as_deref() {
                Some(s) if !s.eq_ignore_ascii_case("tbd") => s.to_string(),
                _ => "A new routine".into(),
            },
            studio: target.studio_name.clone(),
            date: session
                .map(|s| spoken_day(s.local.date(), today))
                .unwrap_or_default(),
            time: session.map(|s| spoken_time(s.local)).unwrap_or_default(),
            hours: hours.to_string(),
            from: target
                .moved_from(now)
                .map(|p| {
                    format!(
                        "{} at {}",
                        spoken_day(p.local.date(), today),
                        spoken_time(p.local)
                    )
                })
                .unwrap_or_default(),
        }
    }

    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "artist" => &self.artist,
            "by" => &self.by,
            "song" => &self.song,
            "studio" => &self.studio,
            "date" => &self.date,
            "time" => &self.time,
            "hours" => &self.hours,
            "from" => &self.from,
            _ => return None,
        })
    }

    /// Replaces every known `{placeholder}`; anything else is kept as written.
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => match self.value(&after[..close]) {
                    Some(v) => {
                        out.push_str(v);
                        rest = &after[close + 1..];
                    }
                    None => {
                        out.push('{');
                        rest = after;
                    }
                },
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn render(&self, template: &Template) -> (String, String) {
        let body = if self.from.is_empty() && template.body.contains("{from}") {
            SCHEDULE_CHANGE_WITHOUT_FROM
        } else {
            template.body.as_str()
        };
        (self.fill(&template.title), self.fill(body))
    }
}

/// `today`, `tomorrow`, else `Sun 21 Jun`: as a person would write the day.
pub fn spoken_day(day: NaiveDate, today: NaiveDate) -> String {
    match (day - today).num_days() {
        0 => "today".into(),
        1 => "tomorrow".into(),
        _ => day.format("%a %-d %b").to_string(),
    }
}

/// `4 PM`, `6:30 PM`, `12 PM` (noon): no leading zero, minutes only when there are some.
pub fn spoken_time(t: NaiveDateTime) -> String {
    let (pm, hour) = t.hour12();
    let suffix = if pm { "PM" } else { "AM" };
    match t.minute() {
        0 => format!("{hour} {suffix}"),
        m => format!("{hour}:{m:02} {suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days_read_like_a_person_wrote_them() {
        let at = |h, m| {
            NaiveDate::from_ymd_opt(2026, 6, 21)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        assert_eq!(spoken_time(at(16, 0)), "4 PM");
        assert_eq!(spoken_time(at(18, 30)), "6:30 PM");
        assert_eq!(spoken_time(at(12, 0)), "12 PM");
        assert_eq!(spoken_time(at(0, 15)), "12:15 AM");
        assert_eq!(spoken_time(at(9, 5)), "9:05 AM");
        let day = NaiveDate::from_ymd_opt(2026, 6, 21).unwrap();
        assert_eq!(spoken_day(day, day), "today");
        assert_eq!(spoken_day(day, day.pred_opt().unwrap()), "tomorrow");
        assert_eq!(
            spoken_day(day, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()),
            "Sun 21 Jun"
        );
    }

    #[test]
    fn fills_known_placeholders_and_keeps_others() {
        let ctx = RenderContext {
            artist: "Vipul Devrani".into(),
            song: "Hauli Slowly".into(),
            studio: "DNA".into(),
            date: "Sun 21 Jun".into(),
            time: "06:00 PM".into(),
            ..RenderContext::default()
        };
        assert_eq!(
            ctx.fill("{artist}: {song} at {studio}, {date} at {time} {x} {"),
            "Vipul Devrani: Hauli Slowly at DNA, Sun 21 Jun at 06:00 PM {x} {"
        );
    }

    #[test]
    fn a_schedule_change_says_from_what_to_what() {
        use super::super::target::{sessions_of, Target};
        use crate::workshop::Session;
        use chrono::{NaiveTime, TimeZone};
        let zone = chrono_tz::Asia::Kolkata;
        let session = |day: u32, hour: u32| Session {
            date: NaiveDate::from_ymd_opt(2026, 6, day).unwrap(),
            start: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
            end: None,
        };
        let mut target = Target {
            uuid: "dna/w".into(),
            identity: "sig".into(),
            studio_id: "dna".into(),
            studio_name: "DNA".into(),
            by: "Vipul".into(),
            song: Some("Hauli Slowly".into()),
            event_type: "workshop".into(),
            is_archived: false,
            artist_ids: vec![],
            artist_names: Default::default(),
            sessions: sessions_of(&[session(21, 18)], zone),
            previous_sessions: sessions_of(&[session(20, 16)], zone),
            zone,
        };
        let template = Template {
            title: "{artist}: workshop rescheduled".into(),
            body: "{song} at {studio} moved from {from} to {date} at {time}".into(),
        };
        // 2026-06-01 12:00 IST.
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 30, 0).unwrap();
        let next = target.next_session(now);
        let ctx = RenderContext::new(&target, &[], next, 24, now);
        assert_eq!(
            ctx.render(&template).1,
            "Hauli Slowly at DNA moved from Sat 20 Jun at 4 PM to Sun 21 Jun at 6 PM"
        );
        // Unknown previous schedule: the body without `{from}`.
        target.previous_sessions.clear();
        let ctx = RenderContext::new(&target, &[], next, 24, now);
        assert_eq!(
            ctx.render(&template).1,
            "Hauli Slowly at DNA moved: now Sun 21 Jun at 6 PM"
        );
    }
}
