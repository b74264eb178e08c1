//! A per-page time budget that extraction checks cooperatively.
//!
//! Extraction runs on a blocking thread, which cannot be cancelled from outside, so the
//! loops whose length a page controls (the parse, the DOM walk, the text rules, date
//! scanning) ask [`expired`] and stop early. The deadline lives in a thread-local so those
//! loops need no extra parameter; without one set (the `extract` command, tests) nothing
//! ever expires. Once expired it stays expired, so a stopped loop cannot be mistaken for
//! a finished one: [`with_deadline`] reports it and the caller discards the partial result.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    static EXPIRED: Cell<bool> = const { Cell::new(false) };
    static TICKS: Cell<u32> = const { Cell::new(0) };
}

/// True once the current thread's deadline has passed.
pub fn expired() -> bool {
    if EXPIRED.with(Cell::get) {
        return true;
    }
    let passed = DEADLINE.with(|d| d.get().is_some_and(|t| Instant::now() >= t));
    if passed {
        EXPIRED.with(|e| e.set(true));
    }
    passed
}

/// [`expired`] for hot loops (one call per DOM node or regex match): reads the clock
/// only every 64th call, since a clock read costs about as much as handling one node.
pub fn tick() -> bool {
    let n = TICKS.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    if n % 64 == 0 {
        expired()
    } else {
        EXPIRED.with(Cell::get)
    }
}

struct Restore(Option<Instant>, bool);

impl Drop for Restore {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.0));
        EXPIRED.with(|e| e.set(self.1));
    }
}

/// Runs `f` with a deadline `budget` from now; the flag says whether the deadline
/// passed (the result is then partial and must not be used as the page's outcome).
pub fn with_deadline<R>(budget: Duration, f: impl FnOnce() -> R) -> (R, bool) {
    let _restore = Restore(DEADLINE.with(Cell::get), EXPIRED.with(Cell::get));
    DEADLINE.with(|d| d.set(Instant::now().checked_add(budget)));
    EXPIRED.with(|e| e.set(false));
    let out = f();
    let over = expired();
    (out, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_expires_without_a_deadline() {
        assert!(!expired());
        assert!((0..200).all(|_| !tick()));
    }

    #[test]
    fn a_zero_budget_expires_and_is_reset_afterwards() {
        let ((), over) = with_deadline(Duration::ZERO, || {
            assert!(
                (0..64).any(|_| tick()),
                "tick reads the clock at least every 64 calls"
            );
            assert!(expired());
        });
        assert!(over);
        assert!(!expired(), "the deadline must not leak into later work");
    }

    #[test]
    fn a_generous_budget_does_not_expire() {
        let (v, over) = with_deadline(Duration::from_secs(3600), || 7);
        assert_eq!((v, over), (7, false));
    }
}
