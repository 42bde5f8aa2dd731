//! MPC mode in the app: the closed-loop settings the app plans with ([`app_mpc_settings`]), where a lane's
//! episode stands ([`MpcProgress`], sent by the worker whenever the MPC step changes) and the status-bar text
//! for it. The episode itself is the core's [`crate::plan::ClosedLoopPlanner`]; this module only describes it.

use crate::plan::mpc::MpcSettings;
use crate::plan::mpc_planner::ClosedLoopView;
use crate::plan::runner::Budget;

/// The app's closed-loop settings: execute 1 model step (5 env steps) per replan, a shrinking horizon, a first
/// plan of 300 iterations and 30 per replan (a H = 30 Push-T episode then takes about 1,200 iterations, a few
/// seconds to watch), stopping at the first success. Smaller than the CLI's 1000/100 so replans are visible.
pub fn app_mpc_settings() -> MpcSettings {
    MpcSettings {
        execute: 1,
        window: None,
        first: Budget::iters(300),
        replan: Budget::iters(30),
        stop_on_success: true,
        ..MpcSettings::default()
    }
}

/// Where a lane's closed-loop episode stands.
#[derive(Clone, Debug, PartialEq)]
pub struct MpcProgress {
    /// Session id.
    pub session: u64,
    /// The episode as the planner reports it.
    pub view: ClosedLoopView,
}

impl MpcProgress {
    /// The MPC step whose plan was being optimized at episode iteration `iteration`.
    pub fn step_at(&self, iteration: usize) -> usize {
        let starts = &self.view.plan_starts;
        starts.iter().rposition(|&s| s <= iteration).unwrap_or(0)
    }

    /// The simulator state plan `step` started from (env units), if known.
    pub fn start_state(&self, step: usize) -> Option<&[f32]> {
        self.view
            .executed_env_states
            .get(
                self.view
                    .executed_at(step)
                    .min(self.view.executed_env_states.len().saturating_sub(1)),
            )
            .map(|s| s.as_slice())
    }

    /// The verdict: "success at step s", "failure" or "running".
    pub fn verdict(&self) -> String {
        match (self.view.success_step, self.view.done) {
            (Some(s), _) => format!("success at step {s}"),
            (None, true) => "failure".into(),
            (None, false) => "running".into(),
        }
    }

    /// The status-bar text, e.g. "MPC step 3, 3/30 executed · running".
    pub fn status_line(&self) -> String {
        format!(
            "MPC step {}, {}/{} executed · {}",
            // A finished episode reports the step after its last plan; show the last plan's.
            if self.view.done {
                self.view
                    .step
                    .min(self.view.plan_starts.len().saturating_sub(1))
            } else {
                self.view.step
            },
            self.view.executed,
            self.view.deadline,
            self.verdict()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(starts: Vec<usize>, success: Option<usize>, done: bool) -> MpcProgress {
        let n = starts.len();
        MpcProgress {
            session: 1,
            view: ClosedLoopView {
                step: n - 1,
                plan_starts: starts,
                plan_executed: (0..n).collect(),
                executed_env_states: (0..n).map(|i| vec![i as f32]).collect(),
                done,
                success_step: success,
                executed: n - 1,
                deadline: 10,
                result: None,
            },
        }
    }

    #[test]
    fn steps_are_found_from_plan_starts() {
        let p = progress(vec![0, 300, 330], None, false);
        assert_eq!(p.step_at(0), 0);
        assert_eq!(p.step_at(299), 0);
        assert_eq!(p.step_at(300), 1);
        assert_eq!(p.step_at(1000), 2);
        assert_eq!(p.start_state(1), Some(&[1.0][..]));
        assert_eq!(p.start_state(9), Some(&[2.0][..]));
        assert_eq!(p.status_line(), "MPC step 2, 2/10 executed · running");
    }

    #[test]
    fn plans_that_execute_several_steps_start_at_their_own_state() {
        // Three plans executing 3 model steps each: one executed state per model step.
        let mut p = progress(vec![0, 300, 330], None, false);
        p.view.plan_executed = vec![0, 3, 6];
        p.view.executed_env_states = (0..7).map(|i| vec![i as f32]).collect();
        p.view.executed = 6;
        assert_eq!(p.start_state(1), Some(&[3.0][..]));
        assert_eq!(p.start_state(2), Some(&[6.0][..]));
        assert_eq!(p.view.executed_at(5), 6);
        // A finished episode names its last plan, not the one after it.
        p.view.step = 3;
        p.view.done = true;
        assert!(
            p.status_line().starts_with("MPC step 2, 6/10"),
            "{}",
            p.status_line()
        );
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            progress(vec![0], Some(4), true).verdict(),
            "success at step 4"
        );
        assert_eq!(progress(vec![0], None, true).verdict(), "failure");
        assert!(app_mpc_settings().validate(30).is_ok());
    }
}

#[cfg(test)]
#[path = "mpc_tests.rs"]
mod app_tests;
