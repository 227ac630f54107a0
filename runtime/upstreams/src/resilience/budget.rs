//! A retry budget: retries may add at most `ratio` extra calls per first attempt
//! (plus a small floor), so a struggling dependency is never hit by a retry storm.
//! Token-bucket style: each first attempt deposits `ratio` tokens, each retry
//! withdraws one.

use std::sync::Mutex;

/// Tokens are counted in thousandths so repeated deposits add up exactly.
const UNIT: u64 = 1000;

#[derive(Debug)]
pub struct RetryBudget {
    deposit: u64,
    max_tokens: u64,
    tokens: Mutex<u64>,
}

impl RetryBudget {
    /// `ratio`: retries allowed per first attempt (0.2 = one retry per five
    /// calls); `floor`: tokens available from the start and the bucket's cap
    /// beyond what deposits can add.
    pub fn new(ratio: f64, floor: f64) -> Self {
        let milli = |x: f64| (x.max(0.0) * UNIT as f64).round() as u64;
        Self {
            deposit: milli(ratio),
            max_tokens: milli(floor.max(1.0) * 10.0),
            tokens: Mutex::new(milli(floor)),
        }
    }

    /// Records a first attempt.
    pub fn deposit(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        *t = (*t + self.deposit).min(self.max_tokens);
    }

    /// Asks to retry: true (and one token spent) when the budget allows.
    pub fn try_withdraw(&self) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if *t >= UNIT {
            *t -= UNIT;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_capped_by_the_ratio() {
        let budget = RetryBudget::new(0.2, 1.0);
        assert!(budget.try_withdraw(), "the floor allows one at once");
        assert!(!budget.try_withdraw());
        for _ in 0..10 {
            budget.deposit();
        }
        assert!(budget.try_withdraw());
        assert!(budget.try_withdraw());
        assert!(
            !budget.try_withdraw(),
            "10 calls at 0.2 earn exactly 2 retries"
        );
    }

    #[test]
    fn idle_deposits_do_not_accumulate_without_bound() {
        let budget = RetryBudget::new(1.0, 1.0);
        for _ in 0..1000 {
            budget.deposit();
        }
        let mut granted = 0;
        while budget.try_withdraw() {
            granted += 1;
        }
        assert_eq!(granted, 10);
    }
}
