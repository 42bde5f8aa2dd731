//! Closed-loop (MPC) trials in the benchmark: a contender with an [`MpcSpec`] runs each problem as an MPC
//! episode ([`crate::plan::mpc::run_mpc`]) under the same per-trial budget an open-loop trial gets. The budget
//! is split: the first plan gets `first_frac` of it, every replan an equal share of the rest over the most
//! replans the episode can make (H / execute − 1), and the episode is capped at the trial's budget (where
//! that share is below one iteration, replanning stops when the budget is spent and the last plan runs out
//! open loop), so an episode never uses more planner time or iterations than the open-loop trial of the same
//! cell. Explicit per-replan counts override the split and the cap.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::protocol::{TrialBudget, TrialKey};
use super::trial_log::{TrialOutcome, TrialRecord};
use super::BenchError;
use crate::env::Problem;
use crate::model::WorldModel;
use crate::plan::mpc::{run_mpc_trusting, MpcSettings, TrustExecution};
use crate::plan::parallel::Parallel;
use crate::plan::runner::Budget;
use crate::plan::warm::Pad;
use crate::plan::PlannerParams;

/// Label suffix of a closed-loop contender (`grasp+mpc`); budgets and tuned settings of `grasp` apply to it.
pub const MPC_SUFFIX: &str = "+mpc";

/// The open-loop contender a label belongs to: the label without its MPC suffix (`grasp+mpc` → `grasp`).
pub fn open_loop_label(label: &str) -> &str {
    label.strip_suffix(MPC_SUFFIX).unwrap_or(label)
}

/// How a contender runs closed-loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MpcSpec {
    /// World-model steps executed per replan (≥ 1). Default 1.
    pub execute: usize,
    /// Receding window (model steps); None = shrinking horizon (default).
    pub window: Option<usize>,
    /// Fraction of the trial budget for the first plan, in (0, 1]. Default 0.5.
    pub first_frac: f64,
    /// Iterations per replan instead of the even split of the rest (None = split).
    pub replan_iters: Option<usize>,
    /// Receding-window padding. Default zeros.
    pub pad: Pad,
    /// CEM: restart σ on every replan. Default off.
    pub reset_cem_std: bool,
    /// Adaptive execution (`--mpc-execute trust`): execute each plan up to its ensemble trust horizon (at
    /// least `execute` = 1 step) with the executor's ensemble and threshold. Default off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trust: bool,
    /// With `trust`: this contender's threshold (env units, ≥ 0; 0 executes one step per plan, as
    /// `execute = 1`), e.g. a `tune` grid axis `mpc.trust_threshold`. None (default) = the run's threshold
    /// (`--trust-threshold`, else the ensemble's calibration).
    #[serde(default)]
    pub trust_threshold: Option<f32>,
}

impl Default for MpcSpec {
    fn default() -> Self {
        MpcSpec {
            execute: 1,
            window: None,
            first_frac: 0.5,
            replan_iters: None,
            pad: Pad::Zeros,
            reset_cem_std: false,
            trust: false,
            trust_threshold: None,
        }
    }
}

impl MpcSpec {
    /// Checks the fraction and counts (the horizon-dependent checks happen per trial).
    pub fn validate(&self) -> Result<(), BenchError> {
        if !(self.first_frac > 0.0 && self.first_frac <= 1.0) {
            return Err(BenchError::Config(format!(
                "--mpc-first-frac must be in (0, 1], got {}",
                self.first_frac
            )));
        }
        if self.execute == 0 || self.replan_iters == Some(0) || self.window == Some(0) {
            return Err(BenchError::Config(
                "--mpc-execute, --mpc-iters and --mpc-window must be >= 1".into(),
            ));
        }
        if let Some(t) = self.trust_threshold {
            if !self.trust {
                return Err(BenchError::Config(
                    "mpc.trust_threshold applies to adaptive MPC: add --mpc-execute trust".into(),
                ));
            }
            if !(t.is_finite() && t >= 0.0) {
                return Err(BenchError::Config(format!(
                    "mpc.trust_threshold must be a finite number >= 0 (env units), got {t}"
                )));
            }
        }
        Ok(())
    }

    /// The episode settings for a deadline of `horizon` steps under the trial budget `total`.
    pub fn settings(&self, horizon: usize, total: TrialBudget) -> Result<MpcSettings, BenchError> {
        let mut s = MpcSettings {
            execute: self.execute,
            window: self.window,
            pad: self.pad,
            reset_cem_std: self.reset_cem_std,
            ..Default::default()
        };
        let replans = s.max_plans(horizon).saturating_sub(1).max(1) as f64;
        let rest = 1.0 - self.first_frac;
        s.first = Budget {
            max_iters: total
                .max_iters
                .map(|n| ((n as f64 * self.first_frac).round() as usize).max(1)),
            max_seconds: total.max_seconds.map(|t| t * self.first_frac),
        };
        s.replan = Budget {
            max_iters: match self.replan_iters {
                Some(n) => Some(n),
                None => total
                    .max_iters
                    .map(|n| ((n as f64 * rest / replans).floor() as usize).max(1)),
            },
            max_seconds: total
                .max_seconds
                .map(|t| (t * rest / replans).max(t * 1e-3)),
        };
        // The split never gives the episode more than the trial: where the rest is smaller than the replans
        // (each replan runs at least one iteration), the cap ends replanning and the plan runs out open loop.
        if self.replan_iters.is_none() {
            s.total = Some(Budget {
                max_iters: total.max_iters,
                max_seconds: total.max_seconds,
            });
        }
        s.validate(horizon)
            .map_err(|e| BenchError::Config(format!("MPC at H={horizon}: {e}")))?;
        Ok(s)
    }
}

/// Runs one closed-loop trial and returns its row: `success` and `time_to_success_s` count a success at any
/// replanning point, `final_distance` is the last state's, `iterations` and `planning_time_s` sum every
/// plan, and `model_terminal_error` is the first plan's (what the open-loop plan promised under the model).
/// A spec with `trust` needs `trust` (the ensemble and threshold of adaptive execution).
#[allow(clippy::too_many_arguments)]
pub fn run_trial(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    spec: &MpcSpec,
    trust: Option<&TrustExecution>,
    key: &TrialKey,
    seed: u64,
    budget: TrialBudget,
    check_every: usize,
) -> Result<TrialRecord, BenchError> {
    let settings = spec.settings(key.horizon, budget)?;
    let trust = match (spec.trust, trust) {
        (false, _) => None,
        (true, Some(t)) => Some(TrustExecution {
            threshold: spec.trust_threshold.unwrap_or(t.threshold),
            ..t.clone()
        }),
        (true, None) => {
            return Err(BenchError::Config(format!(
                "trial '{key}': --mpc-execute trust needs an ensemble world model and a trust threshold"
            )))
        }
    };
    let r = run_mpc_trusting(
        problem,
        model,
        params,
        seed,
        &settings,
        &Parallel::single(),
        trust,
        |_, _| {},
    )
    .map_err(|e| BenchError::Trial(format!("trial '{key}': {e}")))?;
    let outcome = TrialOutcome {
        success: r.success,
        time_to_success_s: r.time_to_success_s,
        planning_time_s: r.planning_time_s,
        iterations: r.iterations,
        final_distance: r.final_distance,
        model_terminal_error: r.plans.first().map_or(f32::NAN, |p| p.model_terminal_error),
        diverged: r.diverged,
        model_success: r.plans.first().is_some_and(|p| p.model_success),
    };
    Ok(TrialRecord::new(key, seed, budget, check_every, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_never_exceeds_the_trial_budget() {
        let spec = MpcSpec::default();
        let total = TrialBudget {
            max_iters: Some(1000),
            max_seconds: None,
        };
        let s = spec.settings(50, total).unwrap();
        assert_eq!(s.first.max_iters, Some(500));
        assert_eq!(s.replan.max_iters, Some(10));
        let used = s.first.max_iters.unwrap() + 49 * s.replan.max_iters.unwrap();
        assert!(used <= 1000, "{used}");
        let t = spec
            .settings(
                10,
                TrialBudget {
                    max_iters: None,
                    max_seconds: Some(10.0),
                },
            )
            .unwrap();
        assert_eq!(t.first.max_seconds, Some(5.0));
        assert!((t.replan.max_seconds.unwrap() - 5.0 / 9.0).abs() < 1e-12);
        let bad = MpcSpec {
            first_frac: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let big = MpcSpec {
            execute: 60,
            ..Default::default()
        };
        assert!(big.settings(50, total).is_err());
    }

    #[test]
    fn an_episode_whose_replans_outnumber_the_rest_of_its_budget_stays_within_the_trial() {
        // H = 10 and 8 iterations: the first plan gets 4, the 9 replans share 4 (at least 1 each), so without
        // the cap the episode would spend 4 + 9 = 13.
        let (model, problem) = crate::plan::testkit::wall_linear_problem(10);
        let key = TrialKey {
            planner: "gd+mpc".into(),
            horizon: 10,
            problem: 0,
        };
        let budget = TrialBudget {
            max_iters: Some(8),
            max_seconds: None,
        };
        let params = crate::plan::PlannerKind::Gd.default_params();
        let spec = MpcSpec::default();
        let s = spec.settings(10, budget).unwrap();
        assert_eq!(s.total.and_then(|t| t.max_iters), Some(8));
        let r = run_trial(
            &problem,
            model.clone(),
            &params,
            &spec,
            None,
            &key,
            3,
            budget,
            1,
        )
        .unwrap();
        assert!(r.iterations <= 8, "{} iterations", r.iterations);
        // The same episode without the cap would have spent more (it does not end early by success).
        let uncapped = MpcSettings { total: None, ..s };
        let u =
            crate::plan::mpc::run_mpc(&problem, model, &params, 3, &uncapped, |_, _| {}).unwrap();
        assert!(u.iterations > 8, "{} iterations", u.iterations);
        // Explicit per-replan counts are the user's: no cap.
        let explicit = MpcSpec {
            replan_iters: Some(2),
            ..spec
        };
        assert_eq!(explicit.settings(10, budget).unwrap().total, None);
    }

    #[test]
    fn adaptive_trials_need_an_ensemble_and_a_contenders_threshold_overrides_the_runs() {
        use crate::model::ensemble::Ensemble;
        use crate::model::info::Activation;
        use crate::model::mlp::untrained;
        let bad = MpcSpec {
            trust_threshold: Some(1.0),
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--mpc-execute trust"));
        let negative = MpcSpec {
            trust: true,
            trust_threshold: Some(-1.0),
            ..Default::default()
        };
        assert!(negative.validate().is_err());
        let member = |s| untrained(crate::env::EnvKind::Wall, &[8], Activation::Silu, s).unwrap();
        let ens = Arc::new(Ensemble::new(vec![member(1), member(2)], 0, false).unwrap());
        let problem = Problem::generate(crate::env::EnvKind::Wall, 4, 3).unwrap();
        let key = TrialKey {
            planner: "gd+mpc".into(),
            horizon: 4,
            problem: 0,
        };
        let budget = TrialBudget {
            max_iters: Some(100),
            max_seconds: None,
        };
        let params = crate::plan::PlannerKind::Gd.default_params();
        let trust = TrustExecution {
            ensemble: ens.clone(),
            threshold: 1e9,
        };
        let iterations = |spec: &MpcSpec, trust: Option<&TrustExecution>| {
            run_trial(
                &problem,
                ens.clone(),
                &params,
                spec,
                trust,
                &key,
                3,
                budget,
                1,
            )
            .map(|r| r.iterations)
        };
        let adaptive = MpcSpec {
            trust: true,
            ..Default::default()
        };
        assert!(
            iterations(&adaptive, None).is_err(),
            "no ensemble, no adaptive MPC"
        );
        // Nothing exceeds the run's threshold: the first plan (50 iterations) is executed whole.
        assert_eq!(iterations(&adaptive, Some(&trust)).unwrap(), 50);
        // The contender's threshold 0 trusts no step: one step per plan, 3 replans of 16 iterations.
        let cautious = MpcSpec {
            trust_threshold: Some(0.0),
            ..adaptive.clone()
        };
        assert_eq!(iterations(&cautious, Some(&trust)).unwrap(), 50 + 3 * 16);
    }
}
