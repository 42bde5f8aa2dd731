//! Closed-loop model-predictive control over any planner and env ([`run_mpc`]): plan from the problem's start,
//! execute the first `execute` world-model steps in the simulator, encode the simulator's new state, replan
//! warm-started from the unexecuted rest of the plan ([`super::warm`]), and repeat until the simulator reaches
//! the goal or the problem's deadline of H executed model steps. The horizon shrinks to the remaining steps by
//! default (the task's deadline stays the paper's "reach the goal within the planning horizon"), or stays a
//! fixed receding window.
//!
//! Success is judged in the simulator at every replanning point (DINO-WM and the train-test-gap paper count an
//! episode that reaches the goal at any of them); the final state's verdict is reported too. Timing: all
//! planner time over every replan is counted (from the snapshots); simulator steps, encoding, warm starts and
//! the callback are not, and the loop's own cost outside the planner is reported as `overhead_s`.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::runner::Budget;
use super::warm::WarmStart;
use super::{make_planner_warm, ModelProblem, PlanError, PlannerParams, Snapshot, Status};
use crate::env::{step_chunk, Problem, CHUNK_ACTION_DIM};
use crate::model::rollout::rollout_final;
use crate::model::WorldModel;

pub use super::mpc_settings::MpcSettings;

/// One plan of an episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MpcPlan {
    /// MPC step j (0 = the first plan).
    pub step: usize,
    /// Model steps executed before this plan.
    pub executed_before: usize,
    /// This plan's horizon.
    pub horizon: usize,
    /// Iterations run.
    pub iterations: usize,
    /// Planner time of this plan, seconds.
    pub planning_time_s: f64,
    /// ‖rollout_T − g‖₂ of the plan under the model (goal-weighted model space), when it was executed.
    pub model_terminal_error: f32,
    /// The env's success rule on the decoded terminal state of the plan's model rollout (success under the
    /// model; false in runs saved before it was recorded).
    #[serde(default)]
    pub model_success: bool,
    /// Model steps of it executed.
    pub executed: usize,
    /// Env-unit goal distance of the simulator state after them.
    pub distance_after: f32,
    /// The env's success rule on that state.
    pub success_after: bool,
}

/// The outcome of one closed-loop episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MpcResult {
    /// The simulator met the success rule at some replanning point.
    pub success: bool,
    /// The success rule on the episode's last state.
    pub final_success: bool,
    /// Model steps executed when success was first seen.
    pub success_step: Option<usize>,
    /// Env-unit goal distance of the last state.
    pub final_distance: f32,
    /// Every plan made, in order.
    pub plans: Vec<MpcPlan>,
    /// Simulator state after each executed model step, starting with the start state.
    pub executed_env_states: Vec<Vec<f32>>,
    /// Executed env actions (flat 2-d, FRAMESKIP per model step).
    pub env_actions: Vec<f32>,
    /// Iterations over all plans.
    pub iterations: usize,
    /// Planner time over all plans, seconds.
    pub planning_time_s: f64,
    /// Planner time over all plans up to the plan whose execution first met the success rule.
    pub time_to_success_s: Option<f64>,
    /// Wall time of the loop outside the planners and the callback (encoding, simulator, warm starts,
    /// planner construction), seconds.
    pub overhead_s: f64,
    /// "diverged at MPC step j, iteration k: reason" if a planner diverged (the episode ended there).
    pub diverged: Option<String>,
    /// The last plan's last snapshot (not serialized).
    #[serde(skip)]
    pub last_snapshot: Option<Arc<Snapshot>>,
}

impl MpcResult {
    /// Number of replans after the first plan.
    pub fn replans(&self) -> usize {
        self.plans.len().saturating_sub(1)
    }
}

/// Where the episode is, for callers watching its snapshots.
#[derive(Clone, Copy, Debug)]
pub struct MpcView<'a> {
    /// MPC step j of the plan the snapshot belongs to.
    pub step: usize,
    /// Model steps executed before that plan.
    pub executed: usize,
    /// The simulator states so far (start included).
    pub executed_env_states: &'a [Vec<f32>],
}

/// The planner seed of MPC step `step`: the episode's seed for the first plan (so it equals the open-loop plan),
/// a fixed derivation after.
pub fn replan_seed(seed: u64, step: usize) -> u64 {
    seed.wrapping_add((step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One closed-loop episode as a stepwise process (the app drives it one iteration at a time; [`run_mpc`] runs
/// it to the end). Each [`MpcEpisode::step`] runs one iteration of the current plan; when that plan's budget
/// is spent, the same call executes its first steps in the simulator, judges the state and builds the next
/// plan warm-started from the rest.
pub struct MpcEpisode {
    problem: Problem,
    model: Arc<dyn WorldModel>,
    params: PlannerParams,
    seed: u64,
    mpc: MpcSettings,
    env: Box<dyn crate::env::Env>,
    planner: Box<dyn super::Planner>,
    /// Iterations and planner time of the current plan.
    plan_iters: usize,
    plan_time_s: f64,
    executed: usize,
    executed_env_states: Vec<Vec<f32>>,
    env_actions: Vec<f32>,
    plans: Vec<MpcPlan>,
    iterations: usize,
    planning_time_s: f64,
    success_step: Option<usize>,
    time_to_success_s: Option<f64>,
    diverged: Option<String>,
    last_snapshot: Option<Arc<Snapshot>>,
    overhead_s: f64,
    done: bool,
    /// The pool lent to every plan's planner ([`MpcEpisode::set_parallel`]).
    parallel: super::Parallel,
    /// Adaptive execution ([`MpcEpisode::set_trust`]): an ensemble and a trust threshold.
    trust: Option<TrustExecution>,
}

/// Adaptive MPC (`--mpc-execute trust`): execute each plan up to its trust horizon — the leading steps on
/// which the ensemble's members agree within `threshold` env units (at least one step) — then replan.
#[derive(Clone, Debug)]
pub struct TrustExecution {
    /// The ensemble whose disagreement decides; its designated member should be the planning model.
    pub ensemble: Arc<crate::model::ensemble::Ensemble>,
    /// Disagreement threshold, env units.
    pub threshold: f32,
}

/// What one [`MpcEpisode::step`] did.
#[derive(Clone, Debug)]
pub struct MpcTick {
    /// The iteration's snapshot (model space, from the plan's own start).
    pub snapshot: Arc<Snapshot>,
    /// MPC step of the plan it belongs to.
    pub step: usize,
    /// Model steps executed before that plan.
    pub executed_before: usize,
    /// This call ended the plan: its first steps were executed (and a replan built unless the episode ended).
    pub executed: bool,
}

impl MpcEpisode {
    /// Starts an episode: checks the settings and builds the first plan from the problem's start.
    pub fn new(
        problem: &Problem,
        model: Arc<dyn WorldModel>,
        params: &PlannerParams,
        seed: u64,
        mpc: &MpcSettings,
    ) -> Result<MpcEpisode, PlanError> {
        let started = Instant::now();
        mpc.validate(problem.horizon)?;
        params.validate()?;
        let mut env = problem.env.make();
        env.set_state(&problem.start)?;
        let executed_env_states = vec![env.state()];
        let planner = Self::plan(
            problem,
            &model,
            params,
            seed,
            mpc,
            0,
            0,
            &executed_env_states,
            None,
        )?;
        Ok(MpcEpisode {
            problem: problem.clone(),
            model,
            params: params.clone(),
            seed,
            mpc: mpc.clone(),
            env,
            planner,
            plan_iters: 0,
            plan_time_s: 0.0,
            executed: 0,
            executed_env_states,
            env_actions: Vec::new(),
            plans: Vec::new(),
            iterations: 0,
            planning_time_s: 0.0,
            success_step: None,
            time_to_success_s: None,
            diverged: None,
            last_snapshot: None,
            overhead_s: started.elapsed().as_secs_f64(),
            done: false,
            parallel: super::Parallel::single(),
            trust: None,
        })
    }

    /// Executes each plan up to its trust horizon instead of `execute` steps (at least one).
    pub fn set_trust(&mut self, trust: TrustExecution) {
        self.trust = Some(trust);
    }

    /// Builds plan `step` from the last observed state, warm-started from `warm` shifted by the executed steps.
    #[allow(clippy::too_many_arguments)]
    fn plan(
        problem: &Problem,
        model: &Arc<dyn WorldModel>,
        params: &PlannerParams,
        seed: u64,
        mpc: &MpcSettings,
        step: usize,
        executed: usize,
        states: &[Vec<f32>],
        warm: Option<WarmStart>,
    ) -> Result<Box<dyn super::Planner>, PlanError> {
        let (d, k) = (model.state_dim(), model.action_dim());
        let horizon = mpc.window.unwrap_or(problem.horizon - executed);
        let sub = Problem {
            start: states.last().cloned().unwrap_or_default(),
            horizon,
            ..problem.clone()
        };
        let mp = ModelProblem::from_problem(&sub, model.as_ref())?;
        let init_std = match params {
            PlannerParams::Cem(p) => p.init_std,
            _ => 0.0,
        };
        let shifted = warm.map(|w| {
            let mut s = w.shifted(
                mpc.execute.min(w.horizon(k)),
                horizon,
                (d, k),
                &mp.goal,
                mpc.pad,
                init_std,
            );
            if mpc.reset_cem_std {
                s.std = None;
            }
            s
        });
        make_planner_warm(
            params,
            &mp,
            model.clone(),
            replan_seed(seed, step),
            shifted.as_ref(),
        )
    }

    /// Whether the episode has ended (success with stop-on-success, the deadline, or divergence).
    pub fn done(&self) -> bool {
        self.done
    }

    /// MPC step of the current plan.
    pub fn step_index(&self) -> usize {
        self.plans.len()
    }

    /// Model steps executed so far.
    pub fn executed(&self) -> usize {
        self.executed
    }

    /// The simulator states so far (start first).
    pub fn executed_env_states(&self) -> &[Vec<f32>] {
        &self.executed_env_states
    }

    /// The current plan's planner (its latest snapshot, parameters, actions).
    pub fn planner(&self) -> &dyn super::Planner {
        self.planner.as_ref()
    }

    /// Lends `parallel` to the current plan's planner and every later one (plans are the same for any pool).
    pub fn set_parallel(&mut self, parallel: &super::Parallel) {
        self.parallel = parallel.clone();
        self.planner.set_parallel(parallel);
    }

    /// Replaces the planner parameters, for the current plan (from its next iteration) and every later one.
    pub fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        self.planner.set_params(params.clone())?;
        self.params = params;
        Ok(())
    }

    /// Runs one iteration of the current plan (nothing once the episode is done: returns the last snapshot).
    pub fn step(&mut self) -> Result<MpcTick, PlanError> {
        let step = self.plans.len();
        let executed_before = self.executed;
        if self.done {
            return Ok(MpcTick {
                snapshot: self.planner.latest(),
                step,
                executed_before,
                executed: false,
            });
        }
        let snap = self.planner.step();
        if let Status::Diverged { iteration, reason } = &snap.status {
            self.diverged = Some(format!(
                "diverged at MPC step {step}, iteration {iteration}: {reason}"
            ));
            self.iterations += self.plan_iters;
            self.planning_time_s += snap.planner_time_s;
            self.last_snapshot = Some(snap.clone());
            self.done = true;
            return Ok(MpcTick {
                snapshot: snap,
                step,
                executed_before,
                executed: false,
            });
        }
        self.plan_iters += 1;
        self.plan_time_s = snap.planner_time_s;
        let budget = if step == 0 {
            self.mpc.first
        } else {
            self.mpc.replan
        };
        // A plan also ends where the episode's budget runs out (a replan never runs past it).
        let total_spent = self.mpc.total.is_some_and(|t| {
            t.exhausted(
                self.iterations + self.plan_iters,
                self.planning_time_s + self.plan_time_s,
            )
        });
        let ends = budget.exhausted(self.plan_iters, self.plan_time_s) || total_spent;
        if ends {
            let started = Instant::now();
            if let Err(e) = self.execute_and_replan(&snap) {
                // The episode cannot go on: it ends here, and says why.
                self.diverged = Some(format!("MPC step {step}: {e}"));
                self.done = true;
                return Err(e);
            }
            self.overhead_s += started.elapsed().as_secs_f64();
        }
        Ok(MpcTick {
            snapshot: snap,
            step,
            executed_before,
            executed: ends,
        })
    }

    /// The current plan's trust horizon from its real start under `t`'s ensemble and threshold.
    fn trusted_steps(&self, t: &TrustExecution, horizon: usize) -> usize {
        let start = self.executed_env_states.last().cloned().unwrap_or_default();
        let d = t
            .ensemble
            .disagreement(&start, self.planner.actions(), horizon);
        crate::model::ensemble::trust_horizon(&d.spread, t.threshold)
    }

    /// Whether the current plan reaches the goal under the model: its full model rollout from the plan's
    /// real start, decoded and judged by the env's success rule.
    fn model_success(&self, horizon: usize) -> bool {
        let start = self.executed_env_states.last().cloned().unwrap_or_default();
        let s0 = self.model.encode_state(&start);
        let fin = rollout_final(self.model.as_ref(), &s0, self.planner.actions(), 1, horizon);
        self.problem
            .env
            .is_success(&self.model.decode_state(&fin), &self.problem.goal)
    }

    /// Executes the current plan's first steps, judges the new state and builds the next plan.
    fn execute_and_replan(&mut self, last: &Arc<Snapshot>) -> Result<(), PlanError> {
        let (step, k) = (self.plans.len(), self.model.action_dim());
        let deadline = self.problem.horizon;
        self.iterations += self.plan_iters;
        self.planning_time_s += self.plan_time_s;
        let horizon = last.horizon;
        let steps = match &self.trust {
            Some(t) => self.trusted_steps(t, horizon).max(1),
            None => self.mpc.execute,
        };
        let run = steps.min(deadline - self.executed).min(horizon);
        let model_success = self.model_success(horizon);
        let env_chunk = self
            .model
            .decode_actions(&self.planner.actions()[..run * k]);
        if env_chunk.len() != run * CHUNK_ACTION_DIM || !env_chunk.iter().all(|v| v.is_finite()) {
            return Err(PlanError::Problem(format!(
                "MPC step {step}: the plan does not decode to {run} finite action chunks"
            )));
        }
        for chunk in env_chunk.chunks_exact(CHUNK_ACTION_DIM) {
            self.executed_env_states
                .push(step_chunk(self.env.as_mut(), chunk));
        }
        self.env_actions.extend_from_slice(&env_chunk);
        self.executed += run;
        let now = self.executed_env_states.last().cloned().unwrap_or_default();
        let goal = &self.problem.goal;
        let ok = self.problem.env.is_success(&now, goal);
        self.plans.push(MpcPlan {
            step,
            executed_before: self.executed - run,
            horizon,
            iterations: self.plan_iters,
            planning_time_s: self.plan_time_s,
            model_terminal_error: last.loss.terminal,
            model_success,
            executed: run,
            distance_after: self.problem.env.goal_distance(&now, goal),
            success_after: ok,
        });
        self.last_snapshot = Some(last.clone());
        if ok && self.success_step.is_none() {
            self.success_step = Some(self.executed);
            self.time_to_success_s = Some(self.planning_time_s);
        }
        if (ok && self.mpc.stop_on_success) || self.executed >= deadline {
            self.done = true;
            return Ok(());
        }
        let spent = |t: Budget| t.exhausted(self.iterations, self.planning_time_s);
        if self.mpc.total.is_some_and(spent) {
            // The episode's iterations are spent: the plan's remaining steps run open loop.
            self.execute_rest(run, horizon)?;
            self.done = true;
            return Ok(());
        }
        let warm = self.planner.warm_start();
        self.planner = Self::plan(
            &self.problem,
            &self.model,
            &self.params,
            self.seed,
            &self.mpc,
            step + 1,
            self.executed,
            &self.executed_env_states,
            Some(warm),
        )?;
        self.planner.set_parallel(&self.parallel);
        self.plan_iters = 0;
        self.plan_time_s = 0.0;
        Ok(())
    }

    /// Executes the current plan from its step `from` to the deadline (or the plan's end) one model step at a
    /// time without replanning, judging the success rule after each; the steps join the last plan's record.
    fn execute_rest(&mut self, from: usize, horizon: usize) -> Result<(), PlanError> {
        let k = self.model.action_dim();
        let end = horizon.min(from + self.problem.horizon - self.executed);
        let goal = &self.problem.goal;
        for j in from..end {
            let chunk = self
                .model
                .decode_actions(&self.planner.actions()[j * k..(j + 1) * k]);
            if chunk.len() != CHUNK_ACTION_DIM || !chunk.iter().all(|v| v.is_finite()) {
                return Err(PlanError::Problem(format!(
                    "MPC step {j} of the last plan does not decode to a finite action chunk"
                )));
            }
            self.executed_env_states
                .push(step_chunk(self.env.as_mut(), &chunk));
            self.env_actions.extend_from_slice(&chunk);
            self.executed += 1;
            let now = self.executed_env_states.last().cloned().unwrap_or_default();
            let ok = self.problem.env.is_success(&now, goal);
            if let Some(p) = self.plans.last_mut() {
                p.executed += 1;
                p.distance_after = self.problem.env.goal_distance(&now, goal);
                p.success_after = ok;
            }
            if ok && self.success_step.is_none() {
                self.success_step = Some(self.executed);
                self.time_to_success_s = Some(self.planning_time_s);
            }
            if ok && self.mpc.stop_on_success {
                break;
            }
        }
        Ok(())
    }

    /// The episode's outcome so far (final once [`MpcEpisode::done`]).
    pub fn result(&self) -> MpcResult {
        let last = self.executed_env_states.last().cloned().unwrap_or_default();
        let goal = &self.problem.goal;
        MpcResult {
            success: self.success_step.is_some(),
            final_success: self.problem.env.is_success(&last, goal),
            success_step: self.success_step,
            final_distance: self.problem.env.goal_distance(&last, goal),
            plans: self.plans.clone(),
            executed_env_states: self.executed_env_states.clone(),
            env_actions: self.env_actions.clone(),
            iterations: self.iterations,
            planning_time_s: self.planning_time_s,
            time_to_success_s: self.time_to_success_s,
            overhead_s: self.overhead_s,
            diverged: self.diverged.clone(),
            last_snapshot: self.last_snapshot.clone(),
        }
    }
}

/// Runs one closed-loop episode of `problem` (its horizon is the deadline) with the planner `params` selects.
/// `on_snapshot` sees every snapshot of every plan with where the episode is (its time is not counted).
pub fn run_mpc(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    mpc: &MpcSettings,
    on_snapshot: impl FnMut(MpcView<'_>, &Arc<Snapshot>),
) -> Result<MpcResult, PlanError> {
    let single = super::Parallel::single();
    run_mpc_in(problem, model, params, seed, mpc, &single, on_snapshot)
}

/// [`run_mpc`] with every plan's planner lent `parallel` (the same episode for any pool).
pub fn run_mpc_in(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    mpc: &MpcSettings,
    parallel: &super::Parallel,
    on_snapshot: impl FnMut(MpcView<'_>, &Arc<Snapshot>),
) -> Result<MpcResult, PlanError> {
    run_mpc_trusting(
        problem,
        model,
        params,
        seed,
        mpc,
        parallel,
        None,
        on_snapshot,
    )
}

/// [`run_mpc_in`], with adaptive execution when `trust` is given ([`MpcEpisode::set_trust`]).
#[allow(clippy::too_many_arguments)]
pub fn run_mpc_trusting(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    seed: u64,
    mpc: &MpcSettings,
    parallel: &super::Parallel,
    trust: Option<TrustExecution>,
    mut on_snapshot: impl FnMut(MpcView<'_>, &Arc<Snapshot>),
) -> Result<MpcResult, PlanError> {
    let mut ep = MpcEpisode::new(problem, model, params, seed, mpc)?;
    ep.set_parallel(parallel);
    if let Some(t) = trust {
        ep.set_trust(t);
    }
    while !ep.done() {
        let tick = ep.step()?;
        let view = MpcView {
            step: tick.step,
            executed: tick.executed_before,
            executed_env_states: &ep.executed_env_states[..=tick.executed_before],
        };
        on_snapshot(view, &tick.snapshot);
    }
    Ok(ep.result())
}

#[cfg(test)]
#[path = "mpc_tests.rs"]
mod tests;
