//! A closed-loop episode behind the [`Planner`] interface, for views that drive planners one iteration at a time
//! (the app's worker): [`ClosedLoopPlanner`] steps an [`MpcEpisode`] and numbers its snapshots across replans
//! (iteration k of the episode, not of the current plan), so a timeline can scrub across replans. Where the
//! episode is — the MPC step, the iteration each plan started at, the executed simulator states — is read with
//! [`Planner::closed_loop`].

use std::sync::Arc;

use super::mpc::{MpcEpisode, MpcResult};
use super::{PlanError, Planner, PlannerParams, Snapshot, Status, WarmStart};

/// Where a closed-loop episode stands, for views.
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedLoopView {
    /// MPC step of the current plan (0 = the first plan).
    pub step: usize,
    /// Episode iteration at which each plan so far started (index = MPC step).
    pub plan_starts: Vec<usize>,
    /// Model steps executed before each plan so far (index = MPC step; its start state is
    /// `executed_env_states[plan_executed[step]]`).
    pub plan_executed: Vec<usize>,
    /// The simulator states executed so far (start first; the last is the current plan's s_0), env units.
    pub executed_env_states: Vec<Vec<f32>>,
    /// The episode has ended (success, deadline or divergence).
    pub done: bool,
    /// Success was seen at some replanning point, after this many executed steps.
    pub success_step: Option<usize>,
    /// Model steps executed so far.
    pub executed: usize,
    /// The deadline H.
    pub deadline: usize,
    /// The whole episode's outcome, once it is done (None while running).
    pub result: Option<Box<MpcResult>>,
}

impl ClosedLoopView {
    /// Model steps executed before plan `step` (the last known plan's for a later step).
    pub fn executed_at(&self, step: usize) -> usize {
        let i = step.min(self.plan_executed.len().saturating_sub(1));
        self.plan_executed.get(i).copied().unwrap_or(step)
    }
}

/// An [`MpcEpisode`] as a [`Planner`]: `step` runs one episode iteration; snapshots carry the episode's
/// iteration count; after the episode ends, `step` returns the last snapshot again.
pub struct ClosedLoopPlanner {
    episode: MpcEpisode,
    iteration: usize,
    time_s: f64,
    plan_starts: Vec<usize>,
    plan_executed: Vec<usize>,
    deadline: usize,
    last: Arc<Snapshot>,
}

impl ClosedLoopPlanner {
    /// Wraps a freshly started episode.
    pub fn new(episode: MpcEpisode, deadline: usize) -> Self {
        let last = episode.planner().latest();
        ClosedLoopPlanner {
            episode,
            iteration: 0,
            time_s: 0.0,
            plan_starts: vec![0],
            plan_executed: vec![0],
            deadline,
            last,
        }
    }

    /// The episode's outcome so far.
    pub fn result(&self) -> MpcResult {
        self.episode.result()
    }

    fn renumber(&mut self, snap: &Snapshot, plan_time_before: f64) -> Arc<Snapshot> {
        let mut s = snap.clone();
        s.iteration = self.iteration;
        s.planner_time_s = plan_time_before + snap.planner_time_s;
        if let Status::Diverged { reason, .. } = &s.status {
            s.status = Status::Diverged {
                iteration: self.iteration,
                reason: reason.clone(),
            };
        }
        Arc::new(s)
    }
}

impl Planner for ClosedLoopPlanner {
    fn step(&mut self) -> Arc<Snapshot> {
        if self.episode.done() {
            return self.last.clone();
        }
        let before = self.time_s;
        match self.episode.step() {
            Ok(tick) => {
                let snap = self.renumber(&tick.snapshot, before);
                if tick.executed {
                    // The next plan's clock starts at 0 again.
                    self.time_s = snap.planner_time_s;
                    if !self.episode.done() {
                        self.plan_starts.push(self.iteration + 1);
                        self.plan_executed.push(self.episode.executed());
                    }
                }
                self.iteration += 1;
                self.last = snap.clone();
                snap
            }
            Err(e) => {
                let mut s = (*self.last).clone();
                s.status = Status::Diverged {
                    iteration: self.iteration,
                    reason: format!("closed loop: {e}"),
                };
                self.last = Arc::new(s);
                self.last.clone()
            }
        }
    }

    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        self.episode.set_params(params)
    }

    fn set_parallel(&mut self, parallel: &crate::plan::Parallel) {
        self.episode.set_parallel(parallel);
    }

    fn params(&self) -> PlannerParams {
        self.episode.planner().params()
    }

    fn actions(&self) -> &[f32] {
        self.episode.planner().actions()
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn latest(&self) -> Arc<Snapshot> {
        self.last.clone()
    }

    fn warm_start(&self) -> WarmStart {
        self.episode.planner().warm_start()
    }

    fn closed_loop_step(&self) -> Option<(usize, bool)> {
        Some((self.episode.step_index(), self.episode.done()))
    }

    fn closed_loop(&self) -> Option<ClosedLoopView> {
        let r = self.episode.result();
        let done = self.episode.done();
        Some(ClosedLoopView {
            step: self.episode.step_index(),
            plan_starts: self.plan_starts.clone(),
            plan_executed: self.plan_executed.clone(),
            executed_env_states: self.episode.executed_env_states().to_vec(),
            done,
            success_step: r.success_step,
            executed: self.episode.executed(),
            deadline: self.deadline,
            result: done.then(|| Box::new(r)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::mpc::MpcSettings;
    use crate::plan::runner::Budget;
    use crate::plan::testkit::wall_linear_problem;
    use crate::plan::PlannerKind;

    #[test]
    fn snapshots_are_numbered_across_replans() {
        let (model, problem) = wall_linear_problem(3);
        let mpc = MpcSettings {
            first: Budget::iters(4),
            replan: Budget::iters(2),
            stop_on_success: false,
            ..Default::default()
        };
        let params = PlannerKind::Grasp.default_params();
        let ep = MpcEpisode::new(&problem, model, &params, 1, &mpc).unwrap();
        let mut p = ClosedLoopPlanner::new(ep, 3);
        let iters: Vec<usize> = (0..10).map(|_| p.step().iteration).collect();
        // 4 + 2 + 2 iterations, then the episode is over and the last snapshot repeats.
        assert_eq!(iters, vec![0, 1, 2, 3, 4, 5, 6, 7, 7, 7]);
        let v = p.closed_loop().unwrap();
        assert_eq!(v.plan_starts, vec![0, 4, 6]);
        assert!(v.done);
        assert_eq!(v.executed_env_states.len(), 4);
        assert_eq!(p.iteration(), 8);
        let times: Vec<f64> = (0..3).map(|_| p.latest().planner_time_s).collect();
        assert!(times.iter().all(|t| *t > 0.0));
    }
}
