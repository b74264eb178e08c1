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
//!   reconcile pure plan: insert / update (version + 1) / unchanged / duplicate / archive
//!     ▼
//!   store     upsert by uuid, workshop_signatures, archive vanished, never delete
//!     ▼ new / changed workshops
//!   notify    followers via NOTIFY reactions, cooldowns, reminders → outbox → APNs
//! ```
//!
//! [`pipeline::run_source`] runs one studio end to end; the manual command, the cron job
//! and the daemon trigger all call it. Extraction and reconciliation are pure functions;
//! only `fetch` and `store` do I/O.

pub mod app;
pub mod artist;
pub mod backoff;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod contract;
pub mod daemon;
pub mod edits;
pub mod extract;
pub mod fetch;
pub mod localdb;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod process;
pub mod reconcile;
pub mod report;
pub mod runs;
pub mod settings;
pub mod source;
pub mod store;
pub mod workshop;
