//! nachna-ingest keeps the nachna dance-workshop catalogue fresh.
//!
//! ```text
//! sources/<studio>.toml ──► schedule (cron per source) ──┐
//! manual `ingest` / `trigger` ───────────────────────────┤
//!                                                        ▼
//!   fetch     polite HTTP: per-host limits, retries, robots, conditional GET, size caps
//!     ▼
//!   extract   source selectors > JSON-LD > Open Graph/meta > visible-text rules
//!     ▼
//!   normalise workshops_v2 shape, uuid, time_details in studio time, artist matching
//!     ▼
//!   store     upsert by uuid, version bump on change, workshop_signatures, archive
//!     ▼ new / changed workshops
//!   notify    followers via NOTIFY reactions, cooldowns, reminders → outbox → APNs
//! ```
//!
//! [`pipeline::run_source`] runs one studio end to end; the manual command, the cron job
//! and the daemon trigger all call it. Extraction and normalisation are pure functions of
//! (page, source, artists, clock).

pub mod artist;
pub mod clock;
pub mod extract;
pub mod fetch;
pub mod source;
pub mod workshop;
