//! The one exponential backoff, shared by page fetches (`fetch::retry`, which adds
//! jitter) and pushes (`notify::config::PushConfig::backoff`).

use std::time::Duration;

/// The wait after failed attempt number `attempt` (1-based): `base × 2^(attempt−1)`,
/// capped at `max` (a product too large for a `Duration` is `max`).
pub fn exponential(base: Duration, attempt: u32, max: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).min(31);
    base.checked_mul(1u32 << exp).unwrap_or(max).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_base_and_stops_at_max() {
        let ms = Duration::from_millis;
        assert_eq!(exponential(ms(100), 1, ms(1000)), ms(100));
        assert_eq!(exponential(ms(100), 0, ms(1000)), ms(100));
        assert_eq!(exponential(ms(100), 3, ms(1000)), ms(400));
        assert_eq!(exponential(ms(100), 5, ms(1000)), ms(1000));
        assert_eq!(exponential(ms(100), u32::MAX, ms(1000)), ms(1000));
        assert_eq!(exponential(Duration::MAX, 2, ms(1000)), ms(1000));
    }
}
