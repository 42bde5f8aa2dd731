//! Planners as stepwise optimizers. A caller builds one from a [`ModelProblem`] and a world model, then calls
//! [`Planner::step`] once per iteration; each call returns a [`Snapshot`] that the app, the recorder and the
//! benchmark consume alike. Planners never sleep, print, do I/O or spawn threads; a caller that wants a
//! planner to use several cores owns a [`Parallel`] pool and lends it with [`Planner::set_parallel`].

pub mod adam;
pub mod cem;
mod cem_batch;
mod emit;
pub mod gd;
pub mod grasp;
mod grasp_settings;
mod grasp_sync;
mod grasp_trust;
pub mod latco;
pub mod mpc;
pub mod mpc_planner;
pub mod mpc_settings;
pub mod parallel;
pub mod params;
pub mod presets;
pub mod runfile;
pub mod runner;
pub mod serial;
#[cfg(test)]
pub(crate) mod testkit;
pub mod trust;
pub mod warm;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::env::Problem;
use crate::model::WorldModel;

pub use parallel::Parallel;
pub use params::{
    CemParams, GdParams, GraspParams, LatcoParams, PlannerKind, PlannerParams, StateStep, SyncMode,
};
pub use warm::WarmStart;

/// A planning problem in model space: fixed start s_0 and goal g (encoded, normalized) and horizon T in
/// world-model steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelProblem {
    /// s_0, model space [D].
    pub start: Vec<f32>,
    /// g, model space [D].
    pub goal: Vec<f32>,
    /// T, world-model steps (each FRAMESKIP env steps).
    pub horizon: usize,
    /// Weight w_i ≥ 0 of each state dim in every goal cost (GRASP's goal term and sync, CEM's and GD's
    /// terminal cost, the terminal error): costs use Σ_i w_i (x_i − g_i)². Empty = all 1. In GRASP and
    /// LatCo the dims of s_T with weight 0 are free variables rather than pinned to g. `from_problem` sets
    /// [`default_goal_weights`] (DINO-WM's objective: PointMaze ignores velocity).
    #[serde(default)]
    pub goal_weights: Vec<f32>,
}

/// The goal weights `ModelProblem::from_problem` uses: DINO-WM's planning objective compares image latents
/// (+ α·proprio), so velocity counts only where proprio does (spec §A.12: Push-T α = 1, PointMaze α = 0):
/// PointMaze [1, 1, 0, 0] (position only); Push-T and Wall all 1.
pub fn default_goal_weights(env: crate::env::EnvKind, state_dim: usize) -> Vec<f32> {
    match env {
        crate::env::EnvKind::Pointmaze if state_dim == 4 => vec![1.0, 1.0, 0.0, 0.0],
        _ => vec![1.0; state_dim],
    }
}

impl ModelProblem {
    /// Encodes an env-unit problem with the model's state codec and checks that it fits the model.
    pub fn from_problem(
        problem: &Problem,
        model: &dyn WorldModel,
    ) -> Result<ModelProblem, PlanError> {
        if let Some(env) = model.env() {
            if env != problem.env {
                return Err(PlanError::Problem(format!(
                    "the world model is for {env}, the problem is {}",
                    problem.env
                )));
            }
        }
        let want = problem.env.state_dim();
        for (what, s) in [("start", &problem.start), ("goal", &problem.goal)] {
            if s.len() != want {
                return Err(PlanError::Problem(format!(
                    "{what} has {} values, {} states have {want}",
                    s.len(),
                    problem.env
                )));
            }
        }
        let mp = ModelProblem {
            start: model.encode_state(&problem.start),
            goal: model.encode_state(&problem.goal),
            horizon: problem.horizon,
            goal_weights: default_goal_weights(problem.env, model.state_dim()),
        };
        mp.check(model)?;
        Ok(mp)
    }

    /// Checks horizon ≥ 1, dimensions against the model, and finite values.
    pub fn check(&self, model: &dyn WorldModel) -> Result<(), PlanError> {
        if self.horizon == 0 {
            return Err(PlanError::Problem("horizon must be at least 1".into()));
        }
        let d = model.state_dim();
        for (what, s) in [("start", &self.start), ("goal", &self.goal)] {
            if s.len() != d {
                return Err(PlanError::Problem(format!(
                    "model-space {what} has {} values, the model's state has {d}",
                    s.len()
                )));
            }
            if !s.iter().all(|v| v.is_finite()) {
                return Err(PlanError::Problem(format!("{what} is not finite")));
            }
        }
        let w = &self.goal_weights;
        if !w.is_empty()
            && (w.len() != d
                || !w.iter().all(|v| v.is_finite() && *v >= 0.0)
                || !w.iter().any(|v| *v > 0.0))
        {
            return Err(PlanError::Problem(format!(
                "goal weights must be {d} finite values >= 0, not all 0 (or none)"
            )));
        }
        Ok(())
    }

    /// The goal weights resolved to one per state dim.
    pub fn weights(&self) -> Vec<f32> {
        if self.goal_weights.is_empty() {
            vec![1.0; self.goal.len()]
        } else {
            self.goal_weights.clone()
        }
    }
}

/// Builds the planner `params` selects (GRASP, CEM, GD or LatCo) at its initialization for `problem`.
/// Same seed, same problem, same params: bit-identical snapshots.
pub fn make_planner(
    params: &PlannerParams,
    problem: &ModelProblem,
    model: Arc<dyn WorldModel>,
    seed: u64,
) -> Result<Box<dyn Planner>, PlanError> {
    make_planner_warm(params, problem, model, seed, None)
}

/// [`make_planner`] starting from `warm`'s variables instead of the planner's own initialization (MPC):
/// s_0 is always the problem's start and the goal dims of s_T the goal; actions are clamped to the bound.
/// Parts of `warm` a planner does not use are ignored (states for CEM/GD, std for all but CEM).
pub fn make_planner_warm(
    params: &PlannerParams,
    problem: &ModelProblem,
    model: Arc<dyn WorldModel>,
    seed: u64,
    warm: Option<&WarmStart>,
) -> Result<Box<dyn Planner>, PlanError> {
    check_size(params, problem.horizon)?;
    if let Some(w) = warm {
        w.check(problem.horizon, model.state_dim(), model.action_dim())?;
    }
    Ok(match params {
        PlannerParams::Grasp(_) | PlannerParams::Latco(_) => Box::new(
            grasp::LiftedPlanner::with_warm(problem, model, params.clone(), seed, warm)?,
        ),
        PlannerParams::Cem(p) => Box::new(cem::CemPlanner::with_warm(
            problem,
            model,
            p.clone(),
            seed,
            warm,
        )?),
        PlannerParams::Gd(p) => Box::new(gd::GdPlanner::with_warm(
            problem,
            model,
            p.clone(),
            seed,
            warm,
        )?),
    })
}

/// Checks the horizon and the population sizes against `util::limits` before any buffer is allocated:
/// T ≤ `MAX_HORIZON`, and for CEM (and GRASP's CEM sync) samples × T ≤ `MAX_SAMPLE_STEPS`.
pub fn check_size(params: &PlannerParams, horizon: usize) -> Result<(), PlanError> {
    use crate::util::limits::{check_usize, MAX_HORIZON, MAX_SAMPLE_STEPS};
    check_usize("horizon", horizon, MAX_HORIZON)?;
    let samples = match params {
        PlannerParams::Cem(p) => p.samples,
        PlannerParams::Grasp(p) if p.sync_mode == SyncMode::Cem => p.cem_sync_samples,
        _ => return Ok(()),
    };
    check_usize(
        "samples × horizon",
        samples.saturating_mul(horizon),
        MAX_SAMPLE_STEPS,
    )?;
    Ok(())
}

/// Which part of the optimization produced a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// A GRASP stochastic iteration (or a LatCo iteration).
    Stochastic,
    /// A GRASP iteration that ended with a full-rollout sync.
    Sync,
    /// A CEM iteration.
    Cem,
    /// A GD-through-rollout iteration.
    Gd,
}

/// The loss terms at a snapshot's variables (model space). Convention, as the reference code: squared errors
/// are averaged over the D state dims and summed over time, so `dynamics` = Σ_t residual_t² / D.
/// Shooting planners (CEM, GD) have no dynamics gaps (`dynamics` = 0) and report `goal` over their rollout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// Σ_t mean_d (F(s̄_t, a_t) − s_{t+1})².
    pub dynamics: f32,
    /// Σ_t mean_d (F(s̄_t, a_t) − g)² (unweighted by γ).
    pub goal: f32,
    /// ‖rollout_T(a) − g‖₂ of the serial model rollout of the current actions (a Euclidean distance over
    /// the D dims, not squared, not averaged); computed at `Snapshot::rollout_iteration`.
    pub terminal: f32,
    /// The objective the planner minimizes: GRASP/LatCo `dynamics + γ·goal` (γ in force; plus the
    /// ensemble-disagreement penalty when `trust_penalty` > 0), GD/CEM the terminal loss mean_d (rollout_T − g)²
    /// (CEM ranks samples by that plus its own disagreement penalty).
    #[serde(default)]
    pub total: f32,
}

/// Values in force after schedules and switches (GRASP: σ and γ actually used this iteration; GD: action
/// noise; zero where not applicable).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InForce {
    /// State (GRASP) or action (GD) noise std used.
    pub noise: f32,
    /// Goal weight γ used (GRASP).
    pub goal_weight: f32,
}

/// Whether the optimizer is healthy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Iterating normally.
    Running,
    /// Non-finite loss, states or actions appeared at `iteration` (e.g. a huge learning rate); the planner
    /// stopped, restored the variables from before that iteration, and its snapshot shows that last finite
    /// plan. Further `step` calls return the same snapshot.
    Diverged { iteration: usize, reason: String },
}

/// Everything a view shows about one iteration. Model space throughout; decode with the world model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Iteration index (0-based; the snapshot is taken after the iteration's update, and everything in it —
    /// predictions, residuals, loss — is evaluated at the variables it shows).
    pub iteration: usize,
    /// What this iteration did.
    pub phase: Phase,
    /// Horizon T.
    pub horizon: usize,
    /// State dimension D.
    pub state_dim: usize,
    /// Action dimension K.
    pub action_dim: usize,
    /// s_0 … s_T [(T+1) × D]: s_0 fixed, virtual states s_1..s_{T−1}, s_T = goal for GRASP/LatCo; the model
    /// rollout of the current actions for shooting planners (CEM, GD).
    pub states: Vec<f32>,
    /// a_0 … a_{T−1} [T × K], normalized.
    pub actions: Vec<f32>,
    /// One-step predictions F(s̄_t, a_t) [T × D].
    pub predictions: Vec<f32>,
    /// ‖F(s̄_t, a_t) − s_{t+1}‖ for t = 0..T−1 [T].
    pub residuals: Vec<f32>,
    /// Serial model rollout [(T+1) × D] of the actions at iteration `rollout_iteration`.
    pub rollout: Vec<f32>,
    /// Iteration at which `rollout` and `loss.terminal` were computed: GRASP/LatCo recompute them every
    /// `rollout_every` iterations and on every sync; CEM and GD every iteration.
    #[serde(default)]
    pub rollout_iteration: usize,
    /// Loss terms.
    pub loss: LossTerms,
    /// Noise and goal weight actually used (after schedules and switches).
    #[serde(default)]
    pub in_force: InForce,
    /// Parameters in force for this iteration.
    pub params: PlannerParams,
    /// Cumulative planner compute time up to and including this iteration, seconds.
    pub planner_time_s: f64,
    /// Healthy or diverged.
    pub status: Status,
}

impl Snapshot {
    /// A placeholder with no data (replaced by a planner's first snapshot at construction).
    pub(crate) fn empty(params: PlannerParams) -> Snapshot {
        Snapshot {
            iteration: 0,
            phase: Phase::Stochastic,
            horizon: 0,
            state_dim: 0,
            action_dim: 0,
            states: Vec::new(),
            actions: Vec::new(),
            predictions: Vec::new(),
            residuals: Vec::new(),
            rollout: Vec::new(),
            rollout_iteration: 0,
            loss: LossTerms::default(),
            in_force: InForce::default(),
            params,
            planner_time_s: 0.0,
            status: Status::Running,
        }
    }

    /// State t (model space).
    pub fn state(&self, t: usize) -> &[f32] {
        &self.states[t * self.state_dim..(t + 1) * self.state_dim]
    }
    /// Action t (normalized).
    pub fn action(&self, t: usize) -> &[f32] {
        &self.actions[t * self.action_dim..(t + 1) * self.action_dim]
    }
    /// Prediction F(s̄_t, a_t) (model space).
    pub fn prediction(&self, t: usize) -> &[f32] {
        &self.predictions[t * self.state_dim..(t + 1) * self.state_dim]
    }
    /// Rollout state t (model space).
    pub fn rollout_state(&self, t: usize) -> &[f32] {
        &self.rollout[t * self.state_dim..(t + 1) * self.state_dim]
    }
}

/// Errors from building or reconfiguring planners.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A parameter out of its documented range.
    #[error("invalid parameter {name} = {value}: {expected}")]
    InvalidParam {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    /// Parameters for a different planner than the one running.
    #[error("parameters for {got} given to a {planner} planner")]
    WrongParams {
        planner: &'static str,
        got: &'static str,
    },
    /// Problem and model disagree on dimensions, or the horizon is zero.
    #[error("problem does not fit the model: {0}")]
    Problem(String),
    /// A size beyond its documented bound (`util::limits`).
    #[error(transparent)]
    Limit(#[from] crate::util::limits::LimitError),
    /// The simulator rejected a state or plan while executing it.
    #[error("executing the plan: {0}")]
    Env(#[from] crate::env::EnvError),
}

/// A stepwise planner.
pub trait Planner: Send {
    /// Runs one iteration and returns its snapshot. After divergence it returns the diverged snapshot again
    /// without changing the plan.
    fn step(&mut self) -> Arc<Snapshot>;
    /// Replaces the parameters; they take effect at the next iteration.
    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError>;
    /// The parameters currently in force.
    fn params(&self) -> PlannerParams;
    /// Lends the planner the caller's worker pool for its next iterations (plans are bit-identical for any
    /// pool). Default: ignored — the planner runs on the calling thread (all but CEM, whose sample batch is
    /// the only work large enough to split).
    fn set_parallel(&mut self, _parallel: &Parallel) {}
    /// The current plan: normalized actions [T × K].
    fn actions(&self) -> &[f32];
    /// Iterations done so far.
    fn iteration(&self) -> usize;
    /// The most recent snapshot; before the first step, the initialization (iteration 0, planner time 0).
    fn latest(&self) -> Arc<Snapshot>;
    /// The current variables as plain data, to warm-start another planner ([`make_planner_warm`]).
    fn warm_start(&self) -> WarmStart;
    /// For a closed-loop episode ([`mpc_planner::ClosedLoopPlanner`]): where it stands. None for plain planners.
    fn closed_loop(&self) -> Option<mpc_planner::ClosedLoopView> {
        None
    }
    /// For a closed-loop episode: its (MPC step, done) without copying the episode (cheap enough to poll
    /// every iteration). None for plain planners.
    fn closed_loop_step(&self) -> Option<(usize, bool)> {
        None
    }
    /// A wall-clock time after which long inner loops (GRASP's sync) stop early, so a seconds budget holds
    /// inside one iteration; `None` (the default) = no deadline. Results are unchanged while it is not hit.
    fn set_deadline(&mut self, _deadline: Option<std::time::Instant>) {}
}
