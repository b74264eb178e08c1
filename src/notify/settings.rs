//! The app's switches and cooldown: `notification_settings {_id: "global"}` in
//! `dance_app`, read (by `store::notification_settings`) at every fan-out and reminder
//! scan so an admin's change applies at once.

pub use crate::store::notification_settings::AppNotificationSettings;
