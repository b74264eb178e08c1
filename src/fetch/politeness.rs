//! Per-host politeness shared by every studio: at most `concurrency` requests in flight
//! to a host, and request starts at least `min_delay` apart.
//!
//! One [`Politeness`] registry lives in the [`super::Fetcher`], keyed by lower-case host
//! name, so two studios on one booking platform share its limits. When sources ask for
//! different limits for one host the stricter wins and stays: the longest delay and the
//! smallest concurrency seen so far. Every request (retries, redirect hops, robots.txt)
//! goes through [`Politeness::acquire`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A source's limits for one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPolicy {
    /// Minimum time between the starts of two requests to the host.
    pub min_delay: Duration,
    /// Most requests in flight to the host at once (0 is treated as 1).
    pub concurrency: usize,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy {
            min_delay: Duration::from_millis(1000),
            concurrency: 1,
        }
    }
}

impl HostPolicy {
    /// The stricter of two policies: the longer delay and the smaller concurrency.
    pub fn stricter(self, other: HostPolicy) -> HostPolicy {
        HostPolicy {
            min_delay: self.min_delay.max(other.min_delay),
            concurrency: self.concurrency.min(other.concurrency).max(1),
        }
    }

    /// No delay and (practically) no concurrency limit: for replay mode.
    pub fn unlimited() -> HostPolicy {
        HostPolicy {
            min_delay: Duration::ZERO,
            concurrency: Semaphore::MAX_PERMITS,
        }
    }
}

/// The registry of per-host gates.
#[derive(Debug, Default)]
pub struct Politeness {
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

#[derive(Debug)]
struct HostGate {
    semaphore: Arc<Semaphore>,
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    policy: HostPolicy,
    /// Earliest start of the next request.
    next_start: Option<Instant>,
    /// Permits still to be removed when they come back (concurrency was lowered while
    /// they were held).
    debt: usize,
}

/// Held for the duration of one request; releases the host's slot on drop.
#[derive(Debug)]
pub struct HostPermit {
    gate: Arc<HostGate>,
    permit: Option<OwnedSemaphorePermit>,
    start: Instant,
}

impl HostPermit {
    /// The start time the gate gave this request (it was not handed out before then).
    pub fn scheduled_start(&self) -> Instant {
        self.start
    }
}

impl Drop for HostPermit {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            let mut state = self.gate.state.lock().expect("politeness lock");
            if state.debt > 0 {
                state.debt -= 1;
                permit.forget();
            }
        }
    }
}

impl Politeness {
    pub fn new() -> Politeness {
        Politeness::default()
    }

    /// Waits for a free slot for `host` and for its start time, then returns the permit
    /// to hold while the request runs. `policy` is merged (stricter wins) into the host's.
    pub async fn acquire(&self, host: &str, policy: HostPolicy) -> HostPermit {
        let gate = self.gate(host, policy);
        let permit = gate
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("politeness semaphores are never closed");
        let start = {
            let mut state = gate.state.lock().expect("politeness lock");
            let now = Instant::now();
            let start = state.next_start.map_or(now, |t| t.max(now));
            state.next_start = Some(start + state.policy.min_delay);
            start
        };
        let permit = HostPermit {
            gate,
            permit: Some(permit),
            start,
        };
        tokio::time::sleep_until(start).await;
        permit
    }

    /// The policy in force for `host` (after merging), if the host has been seen.
    pub fn policy(&self, host: &str) -> Option<HostPolicy> {
        let hosts = self.hosts.lock().expect("politeness lock");
        hosts
            .get(&host.to_ascii_lowercase())
            .map(|g| g.state.lock().expect("politeness lock").policy)
    }

    fn gate(&self, host: &str, policy: HostPolicy) -> Arc<HostGate> {
        let policy = policy.stricter(policy); // normalises concurrency 0 → 1
        let mut hosts = self.hosts.lock().expect("politeness lock");
        let gate = hosts
            .entry(host.to_ascii_lowercase())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    semaphore: Arc::new(Semaphore::new(policy.concurrency)),
                    state: Mutex::new(GateState {
                        policy,
                        next_start: None,
                        debt: 0,
                    }),
                })
            })
            .clone();
        drop(hosts);
        {
            let mut state = gate.state.lock().expect("politeness lock");
            let merged = state.policy.stricter(policy);
            if merged.concurrency < state.policy.concurrency {
                let drop_by = state.policy.concurrency - merged.concurrency;
                let forgotten = gate.semaphore.forget_permits(drop_by);
                state.debt += drop_by - forgotten;
            }
            state.policy = merged;
        }
        gate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(ms: u64, concurrency: usize) -> HostPolicy {
        HostPolicy {
            min_delay: Duration::from_millis(ms),
            concurrency,
        }
    }

    #[test]
    fn stricter_takes_longest_delay_and_smallest_concurrency() {
        assert_eq!(policy(100, 4).stricter(policy(500, 2)), policy(500, 2));
        assert_eq!(policy(900, 1).stricter(policy(500, 3)), policy(900, 1));
        assert_eq!(policy(0, 0).stricter(policy(0, 0)), policy(0, 1));
    }

    #[tokio::test]
    async fn two_sources_on_one_host_share_the_stricter_policy() {
        let p = Politeness::new();
        drop(p.acquire("Studio.Example", policy(10, 4)).await);
        drop(p.acquire("studio.example", policy(50, 2)).await);
        drop(p.acquire("studio.example", policy(20, 3)).await);
        assert_eq!(p.policy("studio.example"), Some(policy(50, 2)));
        assert_eq!(p.policy("other.example"), None);
    }

    #[tokio::test]
    async fn concurrency_cap_holds_and_frees_on_drop() {
        let p = Politeness::new();
        let a = p.acquire("h", policy(0, 2)).await;
        let _b = p.acquire("h", policy(0, 2)).await;
        let third = tokio::time::timeout(Duration::from_millis(50), p.acquire("h", policy(0, 2)));
        assert!(third.await.is_err(), "a third permit must wait");
        drop(a);
        let third = tokio::time::timeout(Duration::from_secs(5), p.acquire("h", policy(0, 2)));
        assert!(third.await.is_ok());
    }

    #[tokio::test]
    async fn lowering_concurrency_while_permits_are_held_takes_effect_on_release() {
        let p = Politeness::new();
        let a = p.acquire("h", policy(0, 3)).await;
        let b = p.acquire("h", policy(0, 3)).await;
        let c = p.acquire("h", policy(0, 3)).await;
        // A stricter source arrives: concurrency 1. All three slots are taken, so two of
        // them must disappear as they are returned.
        let waiting = tokio::spawn({
            let p = Arc::new(p);
            let p2 = p.clone();
            async move {
                let permit = p2.acquire("h", policy(0, 1)).await;
                (p, permit)
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(a);
        drop(b);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiting.is_finished(),
            "slots returned while in debt are forgotten"
        );
        drop(c);
        let (p, _permit) = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the last release frees the single slot")
            .expect("task");
        assert_eq!(p.policy("h"), Some(policy(0, 1)));
    }

    #[tokio::test]
    async fn request_starts_are_spaced_by_min_delay() {
        let p = Arc::new(Politeness::new());
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move {
                    let permit = p.acquire("h", policy(60, 4)).await;
                    assert!(Instant::now() >= permit.scheduled_start());
                    permit.scheduled_start()
                })
            })
            .collect();
        let mut starts = Vec::new();
        for t in tasks {
            starts.push(t.await.unwrap());
        }
        starts.sort();
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(60), "{starts:?}");
        }
    }
}
