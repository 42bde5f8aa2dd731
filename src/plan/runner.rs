//! Running planners against the simulator: execute a model-space plan open-loop in the env
//! ([`execute_plan`]), and run one trial under a budget with periodic success checks ([`run_trial`]).
//!
//! Timing: `planning_time_s` is the planner's own compute time (the sum of its `step` calls, from the
//! snapshots); success checks, the snapshot callback and I/O are excluded. `time_to_success_s` is the planner
//! time at the first check that found the current plan successful in the simulator.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{make_planner, ModelProblem, Parallel, PlanError, PlannerParams, Snapshot, Status};
use crate::env::{step_chunk, Problem, CHUNK_ACTION_DIM};
use crate::model::rollout::rollout_final;
use crate::model::WorldModel;

/// The simulator's verdict on one plan executed open-loop from the problem's start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Env state after each world-model step, starting with the start state (T+1 entries).
    pub env_states: Vec<Vec<f32>>,
    /// The last of `env_states`.
    pub final_state: Vec<f32>,
    /// The env's success rule on the final state against the goal.
    pub success: bool,
    /// The position distance the success rule thresholds (env units).
    pub final_distance: f32,
}

/// Decodes `model_actions` ([T × K], normalized) to env actions and steps the simulator through them from
/// `problem.start`, FRAMESKIP env steps per world-model step.
pub fn execute_plan(
    problem: &Problem,
    model: &dyn WorldModel,
    model_actions: &[f32],
) -> Result<Execution, PlanError> {
    let k = model.action_dim();
    if k == 0 || !model_actions.len().is_multiple_of(k) {
        return Err(PlanError::Problem(format!(
            "plan has {} values, not a multiple of the action size {k}",
            model_actions.len()
        )));
    }
    if !model_actions.iter().all(|v| v.is_finite()) {
        return Err(PlanError::Problem("plan has non-finite actions".into()));
    }
    let env_actions = model.decode_actions(model_actions);
    let steps = model_actions.len() / k;
    if env_actions.len() != steps * CHUNK_ACTION_DIM {
        return Err(PlanError::Problem(format!(
            "{steps} model actions decode to {} env values, expected {}",
            env_actions.len(),
            steps * CHUNK_ACTION_DIM
        )));
    }
    let mut env = problem.env.make();
    env.set_state(&problem.start)?;
    let mut env_states = Vec::with_capacity(steps + 1);
    env_states.push(env.state());
    for chunk in env_actions.chunks_exact(CHUNK_ACTION_DIM) {
        env_states.push(step_chunk(env.as_mut(), chunk));
    }
    let final_state = env_states.last().cloned().unwrap_or_default();
    Ok(Execution {
        success: problem.env.is_success(&final_state, &problem.goal),
        final_distance: problem.env.goal_distance(&final_state, &problem.goal),
        final_state,
        env_states,
    })
}

/// How long a trial may run, in planner time only. At least one limit must be set; the trial stops at
/// whichever comes first (a time limit is checked after each iteration, so it may overshoot by one; a GRASP
/// sync inside that iteration stops at the limit, via `Planner::set_deadline`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Maximum iterations.
    pub max_iters: Option<usize>,
    /// Maximum planner time, seconds.
    pub max_seconds: Option<f64>,
}

impl Budget {
    /// A budget of `n` iterations.
    pub fn iters(n: usize) -> Budget {
        Budget {
            max_iters: Some(n),
            max_seconds: None,
        }
    }

    /// A budget of `s` seconds of planner time.
    pub fn seconds(s: f64) -> Budget {
        Budget {
            max_iters: None,
            max_seconds: Some(s),
        }
    }

    /// Checks that a limit is set and the time limit is a finite number > 0.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.max_iters.is_none() && self.max_seconds.is_none() {
            return Err(PlanError::InvalidParam {
                name: "budget",
                value: "none".into(),
                expected: "give a maximum number of iterations or seconds",
            });
        }
        if let Some(s) = self.max_seconds {
            if !(s.is_finite() && s > 0.0) {
                return Err(PlanError::InvalidParam {
                    name: "max_seconds",
                    value: s.to_string(),
                    expected: "must be a finite number > 0",
                });
            }
        }
        Ok(())
    }

    /// Whether `iters` iterations or `seconds` of planner time use the budget up.
    pub fn exhausted(&self, iters: usize, seconds: f64) -> bool {
        self.max_iters.is_some_and(|m| iters >= m) || self.max_seconds.is_some_and(|s| seconds >= s)
    }
}

/// How a trial checks and stops.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialOptions {
    /// Execute the current plan in the simulator every this many iterations (0 = only the final plan),
    /// until the first success. Not counted in planner time.
    pub check_every: usize,
    /// Stop at the first successful check (the benchmark's rule, as DINO-WM's evaluator). Off runs the full
    /// budget and judges the final plan.
    pub stop_on_success: bool,
}

/// The outcome of one trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// The final plan, executed open-loop, meets the env's success rule.
    pub success: bool,
    /// Env-unit distance of the final executed state to the goal (the quantity the success rule thresholds).
    pub final_distance: f32,
    /// ‖rollout_T(final actions) − g‖₂ in model space (goal-weighted: √Σ w_i (·)²).
    pub model_terminal_error: f32,
    /// Success *under the model*: the decoded terminal state of the model rollout meets the env's success
    /// rule (what the GRASP paper's metrics measure; `success` is the simulator's verdict).
    #[serde(default)]
    pub model_success: bool,
    /// Iterations run.
    pub iterations: usize,
    /// Planner compute time, seconds (checks excluded).
    pub planning_time_s: f64,
    /// Planner time at the first successful check (or at the end if only the final plan succeeded).
    pub time_to_success_s: Option<f64>,
    /// iterations / planning_time_s.
    pub iters_per_s: f64,
    /// "diverged at iteration k: reason" if the planner diverged (the final plan is then its last finite
    /// plan).
    pub diverged: Option<String>,
    /// Wall time spent on success checks, seconds (not in planning time).
    pub check_time_s: f64,
    /// The final plan in env units (flat 2-d env actions, FRAMESKIP per world-model step).
    pub env_actions: Vec<f32>,
    /// The final plan in model space [T × K].
    pub model_actions: Vec<f32>,
    /// The simulator's final state.
    pub final_state: Vec<f32>,
    /// The planner's last snapshot (not serialized).
    #[serde(skip)]
    pub last_snapshot: Option<Arc<Snapshot>>,
}

/// One trial with stop-on-success: builds the planner for `problem`, steps it until the budget is spent or a
/// check (every `check_every` iterations) succeeds, then judges the final plan. `on_snapshot` sees every
/// snapshot (its time is not counted).
pub fn run_trial(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    budget: Budget,
    check_every: usize,
    on_snapshot: impl FnMut(&Arc<Snapshot>),
) -> Result<TrialResult, PlanError> {
    let opts = TrialOptions {
        check_every,
        stop_on_success: true,
    };
    run_trial_with(problem, model, params, seed, budget, opts, on_snapshot)
}

/// [`run_trial`] with explicit options (e.g. run the full budget without stopping on success).
pub fn run_trial_with(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    budget: Budget,
    opts: TrialOptions,
    on_snapshot: impl FnMut(&Arc<Snapshot>),
) -> Result<TrialResult, PlanError> {
    let single = Parallel::single();
    run_trial_in(
        problem,
        model,
        params,
        seed,
        budget,
        opts,
        &single,
        on_snapshot,
    )
}

/// [`run_trial_with`] with the planner lent the caller's worker pool (same results for any pool; only
/// the planning time changes).
#[allow(clippy::too_many_arguments)]
pub fn run_trial_in(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    budget: Budget,
    opts: TrialOptions,
    parallel: &Parallel,
    mut on_snapshot: impl FnMut(&Arc<Snapshot>),
) -> Result<TrialResult, PlanError> {
    budget.validate()?;
    let mp = ModelProblem::from_problem(problem, model.as_ref())?;
    let mut planner = make_planner(params, &mp, model.clone(), seed)?;
    planner.set_parallel(parallel);
    let (mut iters, mut time_s, mut check_time_s) = (0usize, 0.0f64, 0.0f64);
    let mut time_to_success = None;
    let mut diverged = None;
    while !budget.exhausted(iters, time_s) {
        if let Some(max) = budget.max_seconds {
            // A budget too large for a Duration or an Instant (e.g. 1e308 s) sets no deadline.
            let deadline = std::time::Duration::try_from_secs_f64((max - time_s).max(0.0))
                .ok()
                .and_then(|left| std::time::Instant::now().checked_add(left));
            planner.set_deadline(deadline);
        }
        let snap = planner.step();
        time_s = snap.planner_time_s;
        if let Status::Diverged { iteration, reason } = &snap.status {
            diverged = Some(format!("diverged at iteration {iteration}: {reason}"));
            on_snapshot(&snap);
            break;
        }
        iters += 1;
        on_snapshot(&snap);
        drop(snap);
        if opts.check_every > 0
            && iters.is_multiple_of(opts.check_every)
            && time_to_success.is_none()
        {
            let started = std::time::Instant::now();
            let ok = execute_plan(problem, model.as_ref(), planner.actions())?.success;
            check_time_s += started.elapsed().as_secs_f64();
            if ok {
                time_to_success = Some(time_s);
                if opts.stop_on_success {
                    break;
                }
            }
        }
    }
    let model_actions = planner.actions().to_vec();
    let started = std::time::Instant::now();
    let exec = execute_plan(problem, model.as_ref(), &model_actions)?;
    check_time_s += started.elapsed().as_secs_f64();
    if exec.success && time_to_success.is_none() {
        time_to_success = Some(time_s);
    }
    let fin = rollout_final(model.as_ref(), &mp.start, &model_actions, 1, mp.horizon);
    let model_terminal_error = super::serial::wsq_dist(&fin, &mp.goal, &mp.weights()).sqrt();
    let model_success = problem
        .env
        .is_success(&model.decode_state(&fin), &problem.goal);
    Ok(TrialResult {
        success: exec.success,
        final_distance: exec.final_distance,
        model_terminal_error,
        model_success,
        iterations: iters,
        planning_time_s: time_s,
        time_to_success_s: time_to_success,
        iters_per_s: if time_s > 0.0 {
            iters as f64 / time_s
        } else {
            0.0
        },
        diverged,
        check_time_s,
        env_actions: model.decode_actions(&model_actions),
        model_actions,
        final_state: exec.final_state,
        last_snapshot: Some(planner.latest()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testkit::wall_linear_problem;
    use crate::plan::{GraspParams, PlannerKind};

    #[test]
    fn executing_a_plan_steps_the_simulator_per_chunk() {
        let (model, problem) = wall_linear_problem(3);
        // Chunk 0 moves +x by 2·(5·0.5) = 5 px, chunk 1 +y by 5 px, chunk 2 nothing.
        let mut acts = vec![0.0; 30];
        for i in 0..5 {
            acts[2 * i] = 0.5;
            acts[10 + 2 * i + 1] = 0.5;
        }
        let ex = execute_plan(&problem, model.as_ref(), &acts).unwrap();
        assert_eq!(ex.env_states.len(), 4);
        assert_eq!(ex.env_states[1], vec![17.0, 20.0]);
        assert_eq!(ex.final_state, vec![17.0, 25.0]);
        assert!(!ex.success);
        assert!((ex.final_distance - (9.0f32 + 225.0).sqrt()).abs() < 1e-4);
        assert!(execute_plan(&problem, model.as_ref(), &acts[..7]).is_err());
        let mut bad = acts.clone();
        bad[3] = f32::NAN;
        assert!(execute_plan(&problem, model.as_ref(), &bad).is_err());
    }

    #[test]
    fn every_planner_solves_an_open_room_wall_problem() {
        for kind in [
            PlannerKind::Grasp,
            PlannerKind::Cem,
            PlannerKind::GdAdam,
            PlannerKind::Latco,
        ] {
            let (model, problem) = wall_linear_problem(5);
            let params = kind.default_params();
            let mut seen = 0;
            let r = run_trial(&problem, model, &params, 1, Budget::iters(1000), 5, |_| {
                seen += 1
            })
            .unwrap();
            assert!(r.success, "{kind}: {r:?}");
            // The model is the simulator here, so the model agrees.
            assert!(r.model_success, "{kind}: {r:?}");
            assert_eq!(seen, r.iterations);
            assert!(r.iterations < 1000, "{kind} should stop on success");
            assert!(r.time_to_success_s.is_some() && r.diverged.is_none());
            assert!(r.final_distance < 4.5);
            assert_eq!(r.env_actions.len(), 5 * 10);
        }
    }

    #[test]
    fn full_budget_runs_and_bad_budgets_are_refused() {
        let (model, problem) = wall_linear_problem(5);
        let params = PlannerKind::Grasp.default_params();
        let opts = TrialOptions {
            check_every: 0,
            stop_on_success: false,
        };
        let r = run_trial_with(
            &problem,
            model.clone(),
            &params,
            1,
            Budget::iters(300),
            opts,
            |_| {},
        )
        .unwrap();
        assert_eq!(r.iterations, 300);
        assert!(r.iters_per_s > 0.0 && r.planning_time_s > 0.0);
        assert!(run_trial(
            &problem,
            model.clone(),
            &params,
            1,
            Budget::default(),
            1,
            |_| {}
        )
        .is_err());
        let bad = PlannerParams::Grasp(GraspParams {
            lr_states: -0.1,
            ..Default::default()
        });
        assert!(run_trial(
            &problem,
            model.clone(),
            &bad,
            1,
            Budget::iters(3),
            1,
            |_| {}
        )
        .is_err());
        // A seconds budget beyond any Duration or Instant runs on the iteration limit, without a deadline.
        let huge = Budget {
            max_iters: Some(4),
            max_seconds: Some(1e308),
        };
        let r = run_trial_with(&problem, model, &params, 1, huge, opts, |_| {}).unwrap();
        assert_eq!(r.iterations, 4);
    }

    #[test]
    fn a_time_limit_that_does_not_bite_changes_nothing_and_one_that_does_stops_a_sync() {
        let (model, problem) = wall_linear_problem(5);
        let params = PlannerParams::Grasp(GraspParams {
            sync_every: 2,
            sync_steps: 50,
            ..Default::default()
        });
        let opts = TrialOptions {
            check_every: 0,
            stop_on_success: false,
        };
        let run = |budget| {
            run_trial_with(&problem, model.clone(), &params, 1, budget, opts, |_| {}).unwrap()
        };
        let plain = run(Budget::iters(20));
        let capped = run(Budget {
            max_iters: Some(20),
            max_seconds: Some(1e6),
        });
        assert_eq!(plain.model_actions, capped.model_actions);
        assert_eq!(plain.iterations, capped.iterations);
        // One sync of a million steps would take minutes; the deadline ends it near the budget.
        let long = PlannerParams::Grasp(GraspParams {
            sync_every: 2,
            sync_steps: 1_000_000,
            ..Default::default()
        });
        let r = run_trial_with(
            &problem,
            model.clone(),
            &long,
            1,
            Budget::seconds(0.2),
            opts,
            |_| {},
        )
        .unwrap();
        assert!(r.planning_time_s < 1.0, "{}", r.planning_time_s);
    }

    #[test]
    fn divergence_is_reported_not_returned_as_nan() {
        let (model, problem) = wall_linear_problem(5);
        let params = PlannerParams::Grasp(GraspParams {
            lr_states: 1e36,
            ..Default::default()
        });
        let r = run_trial(&problem, model, &params, 1, Budget::iters(50), 0, |_| {}).unwrap();
        let msg = r.diverged.expect("should diverge");
        assert!(msg.starts_with("diverged at iteration "), "{msg}");
        assert!(r.model_actions.iter().all(|v| v.is_finite()));
    }
}
