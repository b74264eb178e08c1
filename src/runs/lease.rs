//! Per-studio leases in `discovery.ingest_leases`: a studio is run only by the process
//! holding its lease, whether that is a daemon's schedule, its trigger watcher, or the
//! manual `ingest` command, on this machine or another.
//!
//! One document per studio, `_id` = studio id:
//! `{ owner, host, pid, purpose, acquired_at, renewed_at, expires_at }`.
//!
//! * Acquire: one atomic `findOneAndUpdate` with upsert whose filter matches only a
//!   free lease (expired, or already ours). When someone else holds it the filter
//!   matches nothing and the upsert collides with the existing `_id`: busy.
//! * Renew: every `lease_renew_secs` while the run lives, only if still ours.
//!   When a renewal finds the lease taken, or renewals keep failing until the lease
//!   would expire, the lease is *lost*: [`Lease::lost`] fires and the run is stopped.
//! * Release: delete the document if still ours. A crashed owner's lease simply
//!   expires after `lease_ttl_secs` and the next process takes it over.
//!
//! Expiry uses each process's own clock: keep replicas' clocks in sync (NTP), far
//! tighter than the ttl.

use crate::metrics;
pub use crate::process::OwnerId;
pub use crate::store::leases::LeaseHolder;
use crate::store::leases::LeaseTake;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How long leases live and how often they are renewed.
#[derive(Debug, Clone, Copy)]
pub struct LeaseTiming {
    pub ttl: Duration,
    pub renew_every: Duration,
}

impl LeaseTiming {
    pub fn from_settings(d: &crate::settings::DaemonConfig) -> LeaseTiming {
        let ttl = Duration::from_secs(d.lease_ttl_secs.max(1));
        let renew = Duration::from_secs(d.lease_renew_secs.max(1)).min(ttl / 2);
        LeaseTiming {
            ttl,
            renew_every: renew.max(Duration::from_millis(200)),
        }
    }
}

/// The lease table, as seen by one owner.
#[derive(Clone)]
pub struct Leases {
    store: Store,
    owner: OwnerId,
    timing: LeaseTiming,
}

/// The answer to an acquire.
pub enum Acquire {
    Acquired(Lease),
    Busy(LeaseHolder),
}

impl Leases {
    pub fn new(store: Store, owner: OwnerId, timing: LeaseTiming) -> Leases {
        Leases {
            store,
            owner,
            timing,
        }
    }

    pub fn owner(&self) -> &OwnerId {
        &self.owner
    }

    /// Takes the studio's lease if it is free (or expired), without waiting.
    pub async fn try_acquire(&self, studio: &str, purpose: &str) -> Result<Acquire, StoreError> {
        let now = Utc::now();
        let expires = now + self.timing.ttl;
        let previous = match self
            .store
            .take_lease(studio, self.owner.as_str(), purpose, now, expires)
            .await?
        {
            LeaseTake::Taken { previous } => previous,
            LeaseTake::Held => {
                return match self.holder(studio).await? {
                    Some(holder) if crate::process::owner_is_gone(&holder.owner) => {
                        self.take_from_gone_owner(studio, purpose, holder).await
                    }
                    Some(holder) => Ok(Acquire::Busy(holder)),
                    // Released between our attempt and the read: try once more later.
                    None => Ok(Acquire::Busy(LeaseHolder {
                        studio_id: studio.to_string(),
                        owner: "(just released)".into(),
                        purpose: String::new(),
                        acquired_at: None,
                        expires_at: None,
                    })),
                };
            }
        };
        let taken_over_from = previous.filter(|h| h.owner != self.owner.as_str());
        if let Some(h) = &taken_over_from {
            warn!(studio, previous_owner = %h.owner, expired_at = ?h.expires_at,
                "took over an expired lease: its owner stopped renewing it (crashed or cut off)");
            metrics::record_lease_takeover(studio);
        }
        Ok(self.acquired(studio, expires, taken_over_from))
    }

    /// The holder is a process of this host that no longer exists (it crashed or was
    /// killed without releasing): waiting for its lease to expire would only delay the
    /// run by up to `lease_ttl_secs`, so the lease is taken at once.
    async fn take_from_gone_owner(
        &self,
        studio: &str,
        purpose: &str,
        holder: LeaseHolder,
    ) -> Result<Acquire, StoreError> {
        let now = Utc::now();
        let expires = now + self.timing.ttl;
        let taken = self
            .store
            .take_lease_from(
                studio,
                &holder.owner,
                self.owner.as_str(),
                purpose,
                now,
                expires,
            )
            .await?;
        if !taken {
            // Someone else was quicker, or it was released: the next attempt decides.
            return Ok(Acquire::Busy(holder));
        }
        warn!(studio, previous_owner = %holder.owner, expires_at = ?holder.expires_at,
            "took over the lease at once: its owner was a process on this host that no longer exists");
        metrics::record_lease_takeover(studio);
        Ok(self.acquired(studio, expires, Some(holder)))
    }

    fn acquired(
        &self,
        studio: &str,
        expires: DateTime<Utc>,
        taken_over_from: Option<LeaseHolder>,
    ) -> Acquire {
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew_loop(
            self.clone(),
            studio.to_string(),
            expires,
            lost.clone(),
        ));
        Acquire::Acquired(Lease {
            leases: self.clone(),
            studio: studio.to_string(),
            taken_over_from,
            lost,
            renewer: Some(renewer),
        })
    }

    /// Takes the lease, waiting up to `max_wait` while someone else holds it.
    /// `on_busy` is told about the holder once, when waiting starts.
    pub async fn acquire_waiting(
        &self,
        studio: &str,
        purpose: &str,
        max_wait: Duration,
        mut on_busy: impl FnMut(&LeaseHolder),
    ) -> Result<Acquire, StoreError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut told = false;
        loop {
            match self.try_acquire(studio, purpose).await? {
                Acquire::Acquired(lease) => return Ok(Acquire::Acquired(lease)),
                Acquire::Busy(holder) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Ok(Acquire::Busy(holder));
                    }
                    if !told {
                        on_busy(&holder);
                        told = true;
                    }
                }
            }
            let step = Duration::from_millis(500).min(self.timing.renew_every);
            tokio::time::sleep(step.min(deadline - tokio::time::Instant::now())).await;
        }
    }

    /// The studio's lease document, live or expired.
    pub async fn holder(&self, studio: &str) -> Result<Option<LeaseHolder>, StoreError> {
        self.store.lease_holder(studio).await
    }

    /// Extends our lease; `None` when it is no longer ours.
    async fn renew(&self, studio: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let now = Utc::now();
        let expires = now + self.timing.ttl;
        let ours = self
            .store
            .renew_lease(studio, self.owner.as_str(), now, expires)
            .await?;
        Ok(ours.then_some(expires))
    }

    async fn release(&self, studio: &str) -> Result<(), StoreError> {
        self.store.release_lease(studio, self.owner.as_str()).await
    }
}

async fn renew_loop(
    leases: Leases,
    studio: String,
    mut valid_until: DateTime<Utc>,
    lost: CancellationToken,
) {
    loop {
        tokio::time::sleep(leases.timing.renew_every).await;
        match leases.renew(&studio).await {
            Ok(Some(until)) => valid_until = until,
            Ok(None) => {
                warn!(
                    studio,
                    "lease lost: another process holds it now; stopping this run"
                );
                metrics::record_lease_lost(&studio);
                lost.cancel();
                return;
            }
            Err(err) => {
                let next_try = Utc::now() + leases.timing.renew_every;
                if next_try >= valid_until {
                    warn!(studio, error = %err,
                        "cannot renew the lease before it expires; stopping this run so no one else runs the studio alongside it");
                    metrics::record_lease_lost(&studio);
                    lost.cancel();
                    return;
                }
                warn!(studio, error = %err, "lease renewal failed; retrying");
            }
        }
    }
}

/// A held lease, renewed in the background until released or dropped. Dropping it
/// without [`release`](Lease::release) stops the renewals and lets it expire.
pub struct Lease {
    leases: Leases,
    studio: String,
    taken_over_from: Option<LeaseHolder>,
    lost: CancellationToken,
    renewer: Option<JoinHandle<()>>,
}

impl Lease {
    pub fn studio(&self) -> &str {
        &self.studio
    }

    pub fn owner(&self) -> &OwnerId {
        &self.leases.owner
    }

    /// The previous holder, when this lease was taken over after it expired.
    pub fn taken_over_from(&self) -> Option<&LeaseHolder> {
        self.taken_over_from.as_ref()
    }

    /// Fires when the lease is lost; the run must stop.
    pub fn lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    /// Stops renewing and deletes the lease (if still ours).
    pub async fn release(mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        match self.leases.release(&self.studio).await {
            Ok(()) => info!(studio = %self.studio, "lease released"),
            Err(err) => {
                warn!(studio = %self.studio, error = %err, "could not release the lease; it expires by itself")
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
    }
}
