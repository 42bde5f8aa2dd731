//! Building [`Snapshot`]s cheaply: a planner keeps its latest snapshot in an `Arc`; when the caller has
//! already dropped its copy, the next snapshot is written into the same allocation (no heap traffic), else a
//! fresh one is allocated. Callers that keep every snapshot pay one allocation per vector per iteration.

use std::sync::Arc;

use super::{InForce, LossTerms, Phase, PlannerParams, Snapshot, Status};

/// Borrowed contents of one snapshot.
pub(crate) struct Parts<'a> {
    pub iteration: usize,
    pub phase: Phase,
    pub horizon: usize,
    pub state_dim: usize,
    pub action_dim: usize,
    pub states: &'a [f32],
    pub actions: &'a [f32],
    pub predictions: &'a [f32],
    pub residuals: &'a [f32],
    pub rollout: &'a [f32],
    pub rollout_iteration: usize,
    pub loss: LossTerms,
    pub in_force: InForce,
    pub params: &'a PlannerParams,
    pub planner_time_s: f64,
}

fn copy_into(dst: &mut Vec<f32>, src: &[f32]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// Writes `p` into `slot` (reusing its allocation when no one else holds it) and returns a shared copy.
pub(crate) fn emit(slot: &mut Arc<Snapshot>, p: Parts<'_>) -> Arc<Snapshot> {
    if let Some(s) = Arc::get_mut(slot) {
        s.iteration = p.iteration;
        s.phase = p.phase;
        s.horizon = p.horizon;
        s.state_dim = p.state_dim;
        s.action_dim = p.action_dim;
        copy_into(&mut s.states, p.states);
        copy_into(&mut s.actions, p.actions);
        copy_into(&mut s.predictions, p.predictions);
        copy_into(&mut s.residuals, p.residuals);
        copy_into(&mut s.rollout, p.rollout);
        s.rollout_iteration = p.rollout_iteration;
        s.loss = p.loss;
        s.in_force = p.in_force;
        s.params = p.params.clone();
        s.planner_time_s = p.planner_time_s;
        s.status = Status::Running;
    } else {
        *slot = Arc::new(Snapshot {
            iteration: p.iteration,
            phase: p.phase,
            horizon: p.horizon,
            state_dim: p.state_dim,
            action_dim: p.action_dim,
            states: p.states.to_vec(),
            actions: p.actions.to_vec(),
            predictions: p.predictions.to_vec(),
            residuals: p.residuals.to_vec(),
            rollout: p.rollout.to_vec(),
            rollout_iteration: p.rollout_iteration,
            loss: p.loss,
            in_force: p.in_force,
            params: p.params.clone(),
            planner_time_s: p.planner_time_s,
            status: Status::Running,
        });
    }
    slot.clone()
}

/// The snapshot a planner returns when iteration `iteration` diverged: the last finite snapshot's contents
/// (the plan the planner keeps) with the iteration, time and a `Diverged` status.
pub(crate) fn diverged(
    slot: &mut Arc<Snapshot>,
    iteration: usize,
    reason: String,
    planner_time_s: f64,
) -> Arc<Snapshot> {
    let mut s = (**slot).clone();
    s.iteration = iteration;
    s.planner_time_s = planner_time_s;
    s.status = Status::Diverged { iteration, reason };
    *slot = Arc::new(s);
    slot.clone()
}
