//! A circuit breaker per dependency: closed (calls flow), open (calls fail fast
//! instead of waiting on timeouts), half-open (a few probes decide).
//!
//! [`Breaker`] is pure: every method takes `now`, so tests drive it with an
//! injected clock. [`SharedBreaker`] wraps it for concurrent use with the real
//! clock and reports its state to a callback (the metrics gauge).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Opens after this many failures in a row.
    pub consecutive_failures: u32,
    /// Also opens when, over `window`, at least `min_calls` calls were made and
    /// the share of failures reaches `failure_rate`.
    pub window: Duration,
    pub min_calls: u32,
    pub failure_rate: f64,
    /// How long it stays open before letting probes through.
    pub open_for: Duration,
    /// Probes admitted at once while half-open; this many successes close it.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            window: Duration::from_secs(30),
            min_calls: 20,
            failure_rate: 0.5,
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }

    /// Gauge value: 0 closed, 1 open, 2 half-open.
    pub fn as_gauge(self) -> i64 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::Open => 1,
            CircuitState::HalfOpen => 2,
        }
    }
}

/// A call refused because the circuit is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit open: failing fast for another {retry_in:?}")]
pub struct Rejected {
    pub retry_in: Duration,
}

#[derive(Debug)]
enum Inner {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32, successes: u32 },
}

#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    inner: Inner,
    consecutive: u32,
    /// (time, failed) of recent calls, oldest first, pruned to `window`.
    recent: VecDeque<(Instant, bool)>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            inner: Inner::Closed,
            consecutive: 0,
            recent: VecDeque::new(),
        }
    }

    /// The state as of `now` (an expired open period reads as half-open).
    pub fn state(&self, now: Instant) -> CircuitState {
        match self.inner {
            Inner::Closed => CircuitState::Closed,
            Inner::Open { until } if now >= until => CircuitState::HalfOpen,
            Inner::Open { .. } => CircuitState::Open,
            Inner::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Asks to make a call; every `Ok` must be followed by exactly one
    /// [`Breaker::on_success`] or [`Breaker::on_failure`].
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Rejected> {
        match self.inner {
            Inner::Closed => Ok(()),
            Inner::Open { until } if now < until => Err(Rejected {
                retry_in: until - now,
            }),
            Inner::Open { .. } => {
                self.inner = Inner::HalfOpen {
                    in_flight: 1,
                    successes: 0,
                };
                Ok(())
            }
            Inner::HalfOpen {
                ref mut in_flight, ..
            } => {
                if *in_flight < self.config.half_open_probes {
                    *in_flight += 1;
                    Ok(())
                } else {
                    Err(Rejected {
                        retry_in: Duration::ZERO,
                    })
                }
            }
        }
    }

    pub fn on_success(&mut self, now: Instant) {
        self.consecutive = 0;
        match self.inner {
            Inner::HalfOpen {
                ref mut in_flight,
                ref mut successes,
            } => {
                *in_flight = in_flight.saturating_sub(1);
                *successes += 1;
                if *successes >= self.config.half_open_probes {
                    self.close();
                }
            }
            Inner::Closed => self.record(now, false),
            // A call admitted before the circuit opened: its success is stale news.
            Inner::Open { .. } => {}
        }
    }

    pub fn on_failure(&mut self, now: Instant) {
        self.consecutive = self.consecutive.saturating_add(1);
        match self.inner {
            Inner::HalfOpen { .. } => self.open(now),
            Inner::Closed => {
                self.record(now, true);
                if self.consecutive >= self.config.consecutive_failures || self.rate_exceeded() {
                    self.open(now);
                }
            }
            Inner::Open { .. } => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.inner = Inner::Open {
            until: now + self.config.open_for,
        };
    }

    fn close(&mut self) {
        self.inner = Inner::Closed;
        self.consecutive = 0;
        self.recent.clear();
    }

    fn record(&mut self, now: Instant, failed: bool) {
        self.recent.push_back((now, failed));
        while let Some(&(t, _)) = self.recent.front() {
            if now.duration_since(t) > self.config.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }

    fn rate_exceeded(&self) -> bool {
        let calls = self.recent.len();
        if calls == 0 || calls < self.config.min_calls as usize {
            return false;
        }
        let failures = self.recent.iter().filter(|(_, failed)| *failed).count();
        failures as f64 / calls as f64 >= self.config.failure_rate
    }
}

type StateObserver = Box<dyn Fn(CircuitState) + Send + Sync>;

/// A [`Breaker`] shared by every caller of one dependency, on the real clock.
#[derive(Clone)]
pub struct SharedBreaker {
    name: &'static str,
    inner: Arc<Mutex<Breaker>>,
    observer: Arc<StateObserver>,
}

impl std::fmt::Debug for SharedBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish()
    }
}

impl SharedBreaker {
    pub fn new(
        name: &'static str,
        config: BreakerConfig,
        observer: impl Fn(CircuitState) + Send + Sync + 'static,
    ) -> Self {
        observer(CircuitState::Closed);
        Self {
            name,
            inner: Arc::new(Mutex::new(Breaker::new(config))),
            observer: Arc::new(Box::new(observer)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    fn with<T>(&self, f: impl FnOnce(&mut Breaker, Instant) -> T) -> T {
        let now = Instant::now();
        // A panic while holding this lock cannot leave the breaker inconsistent
        // in a way that matters more than refusing every call: recover the guard.
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let before = guard.state(now);
        let out = f(&mut guard, now);
        let after = guard.state(now);
        drop(guard);
        if before != after {
            tracing::info!(
                dependency = self.name,
                from = before.as_str(),
                to = after.as_str(),
                "circuit state changed"
            );
            (self.observer)(after);
        }
        out
    }

    pub fn state(&self) -> CircuitState {
        let now = Instant::now();
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .state(now)
    }

    pub fn try_acquire(&self) -> Result<(), Rejected> {
        self.with(|b, now| b.try_acquire(now))
    }

    pub fn on_success(&self) {
        self.with(|b, now| b.on_success(now));
    }

    pub fn on_failure(&self) {
        self.with(|b, now| b.on_failure(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            window: Duration::from_secs(10),
            min_calls: 10,
            failure_rate: 0.5,
            open_for: Duration::from_secs(5),
            half_open_probes: 1,
        }
    }

    fn call(b: &mut Breaker, now: Instant, ok: bool) {
        b.try_acquire(now).expect("admitted");
        if ok {
            b.on_success(now);
        } else {
            b.on_failure(now);
        }
    }

    #[test]
    fn opens_after_consecutive_failures_and_fails_fast() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config());
        call(&mut b, t0, false);
        call(&mut b, t0, false);
        assert_eq!(b.state(t0), CircuitState::Closed);
        call(&mut b, t0, false);
        assert_eq!(b.state(t0), CircuitState::Open);
        let err = b.try_acquire(t0 + Duration::from_secs(2)).unwrap_err();
        assert_eq!(err.retry_in, Duration::from_secs(3));
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig {
            min_calls: 1000,
            ..config()
        });
        for _ in 0..5 {
            call(&mut b, t0, false);
            call(&mut b, t0, false);
            call(&mut b, t0, true);
        }
        assert_eq!(
            b.state(t0),
            CircuitState::Closed,
            "never 3 failures in a row"
        );
    }

    #[test]
    fn opens_on_failure_rate_over_the_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig {
            consecutive_failures: 100,
            ..config()
        });
        for i in 0..9 {
            call(&mut b, t0, i % 2 == 0); // 5 ok, 4 failed
        }
        assert_eq!(b.state(t0), CircuitState::Closed, "under min_calls");
        call(&mut b, t0, false); // 5 of 10 failed
        assert_eq!(b.state(t0), CircuitState::Open);
    }

    #[test]
    fn old_failures_leave_the_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig {
            consecutive_failures: 100,
            ..config()
        });
        for _ in 0..9 {
            call(&mut b, t0, false); // under min_calls: stays closed
        }
        let later = t0 + Duration::from_secs(11);
        for _ in 0..9 {
            call(&mut b, later, true);
        }
        call(&mut b, later, false); // 1 of 10 in the window
        assert_eq!(b.state(later), CircuitState::Closed);
    }

    #[test]
    fn half_open_admits_one_probe_and_closes_on_success() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config());
        for _ in 0..3 {
            call(&mut b, t0, false);
        }
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.state(t1), CircuitState::HalfOpen);
        b.try_acquire(t1).expect("probe");
        assert!(b.try_acquire(t1).is_err(), "second probe refused");
        b.on_success(t1);
        assert_eq!(b.state(t1), CircuitState::Closed);
        call(&mut b, t1, true);
    }

    #[test]
    fn a_failed_probe_reopens_for_a_full_period() {
        let t0 = Instant::now();
        let mut b = Breaker::new(config());
        for _ in 0..3 {
            call(&mut b, t0, false);
        }
        let t1 = t0 + Duration::from_secs(6);
        b.try_acquire(t1).expect("probe");
        b.on_failure(t1);
        assert_eq!(b.state(t1), CircuitState::Open);
        assert_eq!(
            b.try_acquire(t1 + Duration::from_secs(1))
                .unwrap_err()
                .retry_in,
            Duration::from_secs(4)
        );
    }

    #[test]
    fn shared_breaker_reports_transitions() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let b = SharedBreaker::new(
            "test",
            BreakerConfig {
                consecutive_failures: 1,
                ..config()
            },
            move |s| sink.lock().unwrap().push(s),
        );
        b.try_acquire().unwrap();
        b.on_failure();
        assert!(b.try_acquire().is_err());
        assert_eq!(
            *seen.lock().unwrap(),
            [CircuitState::Closed, CircuitState::Open]
        );
    }
}
