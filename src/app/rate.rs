//! Iterations per second of a planner as the UI sees it: a sliding two-second window over snapshot arrivals.

use std::time::{Duration, Instant};

/// Iterations per second over a sliding window of received snapshots.
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    samples: std::collections::VecDeque<(Instant, usize)>,
}

impl RateMeter {
    /// Records that `iteration` arrived at `now`.
    pub fn record(&mut self, now: Instant, iteration: usize) {
        self.samples.push_back((now, iteration));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(2))
        {
            self.samples.pop_front();
        }
    }

    /// Iterations per second (0 without two samples or when stalled for over 2 s).
    pub fn rate(&self, now: Instant) -> f64 {
        let (Some(first), Some(last)) = (self.samples.front(), self.samples.back()) else {
            return 0.0;
        };
        if now.duration_since(last.0) > Duration::from_secs(2) {
            return 0.0;
        }
        let dt = last.0.duration_since(first.0).as_secs_f64();
        if dt <= 0.0 {
            return 0.0;
        }
        last.1.saturating_sub(first.1) as f64 / dt
    }

    /// Forgets all samples.
    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_measures_iterations_per_second() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        m.record(t0, 0);
        m.record(t0 + Duration::from_millis(500), 100);
        let r = m.rate(t0 + Duration::from_millis(500));
        assert!((r - 200.0).abs() < 1e-6, "{r}");
        assert_eq!(m.rate(t0 + Duration::from_secs(10)), 0.0);
    }
}
