//! Success rate over planning time (the GRASP paper's Fig. 5): for each (planner, horizon) cell, the
//! fraction of its problems solved by time t, as a step function with a 95 % Wald band at every step, written
//! as `success_over_time.csv` (one row per step of every curve) and plotted per horizon.
//!
//! Time is the trial's time to its first successful check: calibrated CPU seconds (iterations to success ×
//! the calibrated CPU seconds per iteration) when the run has calibrated budgets, as the tables use, else
//! wall-clock planner seconds. A cell's curve is over its *finished* trials, so an incomplete run's curves
//! cover different trial counts (the CSV's `trials` column; the plot's legend shows them).

use std::path::Path;

use serde::Serialize;

use super::protocol::BenchConfig;
use super::stats::{wald, Z95};
use super::trial_log::TrialRecord;
use super::BenchError;

/// One step of a curve: after time `t`, `solved` of `trials` problems are solved.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Time, seconds (see [`Curves::time_unit`]).
    pub t: f64,
    /// Problems solved by `t`.
    pub solved: usize,
    /// solved / trials.
    pub rate: f64,
    /// 95 % Wald band, low end.
    pub wald_low: f64,
    /// 95 % Wald band, high end.
    pub wald_high: f64,
}

/// The curve of one (planner, horizon) cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Curve {
    /// Contender label.
    pub planner: String,
    /// Horizon T.
    pub horizon: usize,
    /// Finished trials in the cell (the denominator).
    pub trials: usize,
    /// Starts at (0, 0 solved), then one point per distinct success time, ends at the budget's end.
    pub points: Vec<CurvePoint>,
}

/// Every cell's curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Curves {
    /// "calibrated CPU s" or "planner wall-clock s".
    pub time_unit: String,
    /// One per (planner, horizon), planners in config order, then horizons.
    pub curves: Vec<Curve>,
}

/// A trial's time to success in the curves' unit (None if it did not succeed).
fn success_time(config: &BenchConfig, r: &TrialRecord, calibrated: bool) -> Option<f64> {
    if !r.success {
        return None;
    }
    if calibrated {
        let spi = config.budget.seconds_per_iter(&r.planner, r.horizon)?;
        Some(r.iterations as f64 * spi)
    } else {
        r.time_to_success_s
    }
}

/// The curves of `records` (assumed checked against `config`).
pub fn success_over_time(config: &BenchConfig, records: &[TrialRecord]) -> Curves {
    let calibrated = config.has_calibrated_budgets();
    let mut curves = Vec::new();
    for c in &config.contenders {
        for &h in &config.horizons {
            let rs: Vec<&TrialRecord> = records
                .iter()
                .filter(|r| r.planner == c.label && r.horizon == h)
                .collect();
            let n = rs.len();
            let mut times: Vec<f64> = rs
                .iter()
                .filter_map(|r| success_time(config, r, calibrated))
                .collect();
            times.sort_by(f64::total_cmp);
            // The curve runs to the longest any trial planned (its budget), so a flat tail is visible.
            let end = rs
                .iter()
                .map(
                    |r| match config.budget.seconds_per_iter(&r.planner, r.horizon) {
                        Some(spi) if calibrated => r.iterations as f64 * spi,
                        _ => r.planning_time_s,
                    },
                )
                .fold(times.last().copied().unwrap_or(0.0), f64::max);
            let point = |t: f64, solved: usize| {
                let band = wald(solved, n, Z95);
                CurvePoint {
                    t,
                    solved,
                    rate: if n > 0 { solved as f64 / n as f64 } else { 0.0 },
                    wald_low: band.map_or(0.0, |b| b.low),
                    wald_high: band.map_or(0.0, |b| b.high),
                }
            };
            let mut points = vec![point(0.0, 0)];
            for (i, &t) in times.iter().enumerate() {
                // Ties collapse into one step.
                if times.get(i + 1) != Some(&t) {
                    points.push(point(t, i + 1));
                }
            }
            if end > points.last().map_or(0.0, |p| p.t) {
                points.push(point(end, times.len()));
            }
            curves.push(Curve {
                planner: c.label.clone(),
                horizon: h,
                trials: n,
                points,
            });
        }
    }
    Curves {
        time_unit: if calibrated {
            "calibrated CPU s".into()
        } else {
            "planner wall-clock s".into()
        },
        curves,
    }
}

/// The curves as CSV: `planner,horizon,trials,t_s,solved,rate,wald_low,wald_high`.
pub fn to_csv(c: &Curves) -> String {
    let mut out = String::from("planner,horizon,trials,t_s,solved,rate,wald_low,wald_high\n");
    for curve in &c.curves {
        for p in &curve.points {
            out += &format!(
                "{},{},{},{},{},{},{},{}\n",
                curve.planner,
                curve.horizon,
                curve.trials,
                p.t,
                p.solved,
                p.rate,
                p.wald_low,
                p.wald_high
            );
        }
    }
    out
}

/// Writes `success_over_time.csv` into `dir` (atomically).
pub fn write_csv(c: &Curves, dir: &Path) -> Result<(), BenchError> {
    let path = dir.join("success_over_time.csv");
    crate::util::write_atomic(&path, to_csv(c).as_bytes()).map_err(|e| BenchError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::trial_log::tests::record;

    #[test]
    fn a_curve_steps_at_each_success_and_ends_at_the_budget() {
        let mut cfg = crate::bench::summary::tests::config();
        cfg.horizons = vec![10];
        // record(): success iff ok, time_to_success 0.125·(problem+1), planning time 1.5 s.
        let recs: Vec<_> = (0..4).map(|i| record("grasp", 10, i, i != 1)).collect();
        let c = success_over_time(&cfg, &recs);
        assert_eq!(c.time_unit, "planner wall-clock s");
        let g = c.curves.iter().find(|c| c.planner == "grasp").unwrap();
        assert_eq!(g.trials, 4);
        let steps: Vec<(f64, usize)> = g.points.iter().map(|p| (p.t, p.solved)).collect();
        assert_eq!(
            steps,
            vec![(0.0, 0), (0.125, 1), (0.375, 2), (0.5, 3), (1.5, 3)]
        );
        let last = g.points.last().unwrap();
        assert_eq!(last.rate, 0.75);
        let band = wald(3, 4, Z95).unwrap();
        assert_eq!((last.wald_low, last.wald_high), (band.low, band.high));
        assert!(last.wald_low < last.rate && last.rate < last.wald_high);
        // A cell without trials is an empty curve at zero, not a division by zero.
        let cem = c.curves.iter().find(|c| c.planner == "cem").unwrap();
        assert_eq!(cem.trials, 0);
        assert_eq!(cem.points.len(), 1);
        assert_eq!(cem.points[0].rate, 0.0);
        let csv = to_csv(&c);
        assert!(csv.starts_with("planner,horizon,trials,t_s,solved,rate,wald_low,wald_high\n"));
        assert!(csv.contains("\ngrasp,10,4,0.375,2,0.5,"), "{csv}");
    }
}
