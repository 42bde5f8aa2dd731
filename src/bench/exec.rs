//! Runs benchmark trials for real: generates the problem, runs the planner through
//! [`crate::plan::runner::run_trial`] under the trial's budget with periodic open-loop success checks in the
//! simulator, and turns the outcome into a CSV row. Also measures iteration rates to scale iteration budgets
//! to equal planner time (`--scale-iters`).

use std::path::Path;
use std::sync::Arc;

use super::protocol::{Contender, IterTable, TrialBudget, TrialKey, TUNING_SEED_BASE};
use super::trial_log::{TrialOutcome, TrialRecord};
use super::BenchError;
use crate::env::{EnvKind, Problem};
use crate::model::WorldModel;
use crate::plan::mpc::TrustExecution;
use crate::plan::runner::{run_trial, run_trial_with, Budget, TrialOptions};

/// Problem seed used only to measure iteration rates (inside the tuning range, never evaluated).
pub const CALIBRATION_SEED: u64 = TUNING_SEED_BASE + (1 << 40);

/// Runs trials of one env with one world model, reusing the last generated problem (trials are
/// problem-major, so consecutive planners share it).
pub struct Executor {
    env: EnvKind,
    model: Arc<dyn WorldModel>,
    last_problem: Option<Problem>,
    /// The ensemble and threshold of adaptive MPC contenders (`MpcSpec::trust`).
    trust: Option<TrustExecution>,
}

impl Executor {
    /// An executor for `env` with `model`.
    pub fn new(env: EnvKind, model: Arc<dyn WorldModel>) -> Self {
        Executor {
            env,
            model,
            last_problem: None,
            trust: None,
        }
    }

    /// Adaptive MPC: closed-loop contenders with `trust` execute each plan up to its trust horizon under this
    /// ensemble and threshold.
    pub fn set_trust(&mut self, trust: TrustExecution) {
        self.trust = Some(trust);
    }

    fn problem(&mut self, horizon: usize, seed: u64) -> Result<Problem, BenchError> {
        if let Some(p) = &self.last_problem {
            if p.horizon == horizon && p.seed == seed {
                return Ok(p.clone());
            }
        }
        let p = Problem::generate(self.env, horizon, seed).map_err(|e| {
            BenchError::Trial(format!(
                "generating the {} problem H={horizon} seed {seed}: {e}",
                self.env
            ))
        })?;
        self.last_problem = Some(p.clone());
        Ok(p)
    }

    /// Runs one trial and returns its row. The planner's RNG seed is the problem seed.
    pub fn run(
        &mut self,
        c: &Contender,
        key: &TrialKey,
        seed: u64,
        budget: TrialBudget,
    ) -> Result<TrialRecord, BenchError> {
        let problem = self.problem(key.horizon, seed)?;
        if let Some(spec) = &c.mpc {
            return super::closed_loop::run_trial(
                &problem,
                self.model.clone(),
                &c.params,
                spec,
                self.trust.as_ref(),
                key,
                seed,
                budget,
                c.check_every,
            );
        }
        let b = Budget {
            max_iters: budget.max_iters,
            max_seconds: budget.max_seconds,
        };
        let r = run_trial(
            &problem,
            self.model.clone(),
            &c.params,
            seed,
            b,
            c.check_every,
            |_| {},
        )
        .map_err(|e| BenchError::Trial(format!("trial '{key}': {e}")))?;
        let outcome = TrialOutcome {
            success: r.success,
            time_to_success_s: r.time_to_success_s,
            planning_time_s: r.planning_time_s,
            iterations: r.iterations,
            final_distance: r.final_distance,
            model_terminal_error: r.model_terminal_error,
            diverged: r.diverged,
            model_success: r.model_success,
        };
        Ok(TrialRecord::new(key, seed, budget, c.check_every, outcome))
    }

    /// Measures each contender's iterations per CPU second at each horizon on the calibration problem (runs of
    /// `seconds` planner time, no success checks) and returns the iteration counts that fill `budget_s` CPU
    /// seconds, one `label@H` entry per cell. CPU time of this thread is used (see [`thread_cpu_seconds`]) so
    /// that other load on the machine does not shrink the counts; where it is unavailable, planner time.
    pub fn calibrate(
        &mut self,
        contenders: &[Contender],
        horizons: &[usize],
        budget_s: f64,
        seconds: f64,
        mut on_cell: impl FnMut(&str, usize, f64),
    ) -> Result<IterTable, BenchError> {
        let mut table = IterTable::default();
        for &h in horizons {
            let problem = self.problem(h, CALIBRATION_SEED)?;
            for c in contenders {
                let opts = TrialOptions {
                    check_every: 0,
                    stop_on_success: false,
                };
                let cpu_before = thread_cpu_seconds();
                let r = run_trial_with(
                    &problem,
                    self.model.clone(),
                    &c.params,
                    CALIBRATION_SEED,
                    Budget::seconds(seconds),
                    opts,
                    |_| {},
                )
                .map_err(|e| BenchError::Trial(format!("calibrating {} H={h}: {e}", c.label)))?;
                if r.iterations == 0 || r.planning_time_s <= 0.0 {
                    return Err(BenchError::Trial(format!(
                        "calibrating {} H={h}: no iterations completed",
                        c.label
                    )));
                }
                let cpu = match (cpu_before, thread_cpu_seconds()) {
                    (Some(a), Some(b)) if b > a => b - a,
                    _ => r.planning_time_s,
                };
                let rate = r.iterations as f64 / cpu;
                on_cell(&c.label, h, rate);
                let n = (budget_s * rate).round().max(1.0) as usize;
                table.per_cell.insert(format!("{}@{h}", c.label), n);
            }
        }
        Ok(table)
    }
}

pub use crate::util::cpu::thread_cpu_seconds;

/// A location-independent identity of a model file: name, size and FNV-1a 64 hash of its bytes, so that
/// resume and merge notice different weights even when shards see the file under different paths.
pub fn model_identity(path: &Path) -> Result<String, BenchError> {
    let bytes = std::fs::read(path).map_err(|e| BenchError::io(path, e))?;
    // FNV-1a: a few lines, no dependency, and collisions are irrelevant for this sanity check.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(format!("{name} ({} bytes, fnv1a64 {h:016x})", bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_advances_with_work() {
        let Some(a) = thread_cpu_seconds() else {
            return; // not Linux: calibration falls back to planner time
        };
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed().as_secs_f64() < 0.3 {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            std::hint::black_box(x);
        }
        let b = thread_cpu_seconds().unwrap();
        assert!(b > a && b - a < 10.0, "{a} → {b}");
    }
}
