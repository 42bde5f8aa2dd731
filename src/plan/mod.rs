//! Planners as stepwise optimizers. A caller builds one from a [`ModelProblem`] and a world model, then calls
//! [`Planner::step`] once per iteration; each call returns a [`Snapshot`] that the app, the recorder and the
//! benchmark consume alike. Planners never sleep, print, do I/O or spawn threads.

pub mod params;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use params::{
    CemParams, GdParams, GraspParams, LatcoParams, PlannerKind, PlannerParams, SyncMode,
};

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

/// The loss terms of one iteration (model space, sums over time and dims).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossTerms {
    /// Σ_t ‖F(s̄_t, a_t) − s_{t+1}‖².
    pub dynamics: f32,
    /// Σ_t ‖F(s̄_t, a_t) − g‖² (unweighted by γ).
    pub goal: f32,
    /// ‖rollout_T(a) − g‖ of the serial model rollout of the current actions (a distance, not squared).
    pub terminal: f32,
}

/// Whether the optimizer is healthy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Status {
    /// Iterating normally.
    Running,
    /// Non-finite loss, states or actions appeared; the planner stopped and keeps its last finite plan.
    Diverged { iteration: usize, reason: String },
}

/// Everything a view shows about one iteration. Model space throughout; decode with the world model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Iteration index (0-based; the snapshot is taken after the iteration's update).
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
    /// Serial model rollout of the current actions [(T+1) × D].
    pub rollout: Vec<f32>,
    /// Loss terms.
    pub loss: LossTerms,
    /// Parameters in force for this iteration.
    pub params: PlannerParams,
    /// Cumulative planner compute time up to and including this iteration, seconds.
    pub planner_time_s: f64,
    /// Healthy or diverged.
    pub status: Status,
}

impl Snapshot {
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
    /// The current plan: normalized actions [T × K].
    fn actions(&self) -> &[f32];
    /// Iterations done so far.
    fn iteration(&self) -> usize;
}
