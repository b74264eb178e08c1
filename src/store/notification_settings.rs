//! The app's `notification_settings` document (`_id: "global"` in `dance_app`), read at
//! every fan-out and reminder scan so an admin's change applies at once.

use super::schema::NOTIFICATION_SETTINGS as COLLECTION;
use super::{Store, StoreError};
use mongodb::bson::{doc, Bson, Document};
use tracing::{info, warn};

/// What the app's admin decides. Defaults (document or field missing): true / 168 /
/// true / 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppNotificationSettings {
    pub new_workshop_enabled: bool,
    pub new_workshop_cooldown_hours: i64,
    pub reminder_enabled: bool,
    pub reminder_hours_before: i64,
}

impl Default for AppNotificationSettings {
    fn default() -> Self {
        AppNotificationSettings {
            new_workshop_enabled: true,
            new_workshop_cooldown_hours: 168,
            reminder_enabled: true,
            reminder_hours_before: 24,
        }
    }
}

impl AppNotificationSettings {
    /// Reads `_id: "global"`; a missing document or field takes its default, and the
    /// log says so.
    pub async fn load(store: &Store) -> Result<AppNotificationSettings, StoreError> {
        let found = store
            .app
            .collection::<Document>(COLLECTION)
            .find_one(doc! { "_id": "global" })
            .await
            .map_err(StoreError::op("find", COLLECTION))?;
        let defaults = AppNotificationSettings::default();
        let Some(d) = found else {
            info!(
                new_workshop_enabled = defaults.new_workshop_enabled,
                new_workshop_cooldown_hours = defaults.new_workshop_cooldown_hours,
                reminder_enabled = defaults.reminder_enabled,
                reminder_hours_before = defaults.reminder_hours_before,
                "no notification_settings {{_id: \"global\"}} document: using the defaults"
            );
            return Ok(defaults);
        };
        let mut defaulted = Vec::new();
        let settings = AppNotificationSettings {
            new_workshop_enabled: read_bool(&d, "new_workshop_enabled").unwrap_or_else(|| {
                defaulted.push("new_workshop_enabled");
                defaults.new_workshop_enabled
            }),
            new_workshop_cooldown_hours: read_hours(&d, "new_workshop_cooldown_hours")
                .unwrap_or_else(|| {
                    defaulted.push("new_workshop_cooldown_hours");
                    defaults.new_workshop_cooldown_hours
                }),
            reminder_enabled: read_bool(&d, "reminder_enabled").unwrap_or_else(|| {
                defaulted.push("reminder_enabled");
                defaults.reminder_enabled
            }),
            reminder_hours_before: read_hours(&d, "reminder_hours_before").unwrap_or_else(|| {
                defaulted.push("reminder_hours_before");
                defaults.reminder_hours_before
            }),
        };
        if !defaulted.is_empty() {
            warn!(
                fields = %defaulted.join(", "),
                "notification_settings {{_id: \"global\"}} lacks (or has an unusable) field: using its default"
            );
        }
        Ok(settings)
    }
}

fn read_bool(d: &Document, key: &str) -> Option<bool> {
    match d.get(key)? {
        Bson::Boolean(b) => Some(*b),
        _ => None,
    }
}

/// A non-negative whole number of hours, whatever numeric type the app stored.
fn read_hours(d: &Document, key: &str) -> Option<i64> {
    let v = match d.get(key)? {
        Bson::Int32(v) => i64::from(*v),
        Bson::Int64(v) => *v,
        Bson::Double(v) if v.is_finite() => v.round() as i64,
        _ => return None,
    };
    (v >= 0).then_some(v)
}
