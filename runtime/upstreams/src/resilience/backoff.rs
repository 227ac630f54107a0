//! Exponential backoff with "equal jitter": the delay for attempt `n` is drawn
//! uniformly from `[d/2, d]` with `d = min(max, base * factor^n)`, so replays of
//! many runtimes never hammer a recovering dependency in lockstep, yet each wait
//! keeps at least half its nominal length.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub factor: f64,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            factor: 2.0,
        }
    }

    /// The nominal (un-jittered) delay before retry number `attempt` (0-based).
    pub fn nominal(&self, attempt: u32) -> Duration {
        let exp = self
            .factor
            .powi(i32::try_from(attempt.min(64)).unwrap_or(64));
        let secs = (self.base.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The jittered delay; `unit` is a random number in `[0, 1)`.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let nominal = self.nominal(attempt).as_secs_f64();
        let unit = unit.clamp(0.0, 1.0);
        Duration::from_secs_f64(nominal / 2.0 + nominal / 2.0 * unit)
    }

    /// The jittered delay with a fresh random draw.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_until_the_cap() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ms: Vec<u128> = (0..6).map(|n| b.nominal(n).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.nominal(10_000), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        assert_eq!(b.delay_with(2, 0.0), Duration::from_millis(200));
        assert_eq!(b.delay_with(2, 1.0), Duration::from_millis(400));
        for _ in 0..100 {
            let d = b.delay(3);
            assert!(d >= Duration::from_millis(400) && d <= Duration::from_millis(800));
        }
    }
}
