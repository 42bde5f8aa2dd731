//! [`MpcSettings`]: how a closed-loop episode replans (steps executed per replan, receding window, the first
//! plan's and every replan's budget, the episode's total iteration budget, window padding, CEM's σ reset,
//! stopping at success), with its checks.

use serde::{Deserialize, Serialize};

use super::runner::Budget;
use super::warm::Pad;
use super::PlanError;

/// How an MPC episode replans. Defaults: execute 1 model step (5 env steps) per replan, shrinking horizon,
/// each replan 100 iterations, the first plan 1000, receding windows padded with zeros, stop at the first
/// success.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MpcSettings {
    /// World-model steps executed in the simulator before each replan, 1 ..= H. Default 1.
    pub execute: usize,
    /// Receding-window length in model steps, `execute` ..= H; None (default) = shrinking horizon
    /// (each replan plans the remaining H − executed steps).
    pub window: Option<usize>,
    /// Budget of the first plan (from the problem's start). Default 1000 iterations.
    pub first: Budget,
    /// Budget of every later replan. Default 100 iterations.
    pub replan: Budget,
    /// How a receding window fills its new last steps. Default zeros.
    pub pad: Pad,
    /// CEM only: restart σ at `init_std` on every replan instead of shifting it (DINO-WM's MPC). Default off.
    pub reset_cem_std: bool,
    /// End the episode at the first replanning point that meets the success rule. Default on; off executes
    /// the whole deadline and judges the final state.
    pub stop_on_success: bool,
    /// The episode's budget over all its plans (iterations and/or planner seconds summed over plans): a plan
    /// ends where it runs out, and then the plan's remaining steps are executed without replanning, the success
    /// rule judged after every model step (with a receding window the episode ends at the window's end). None
    /// (default): no cap, every replan gets its own budget.
    #[serde(default)]
    pub total: Option<Budget>,
}

impl Default for MpcSettings {
    fn default() -> Self {
        MpcSettings {
            execute: 1,
            window: None,
            first: Budget::iters(1000),
            replan: Budget::iters(100),
            pad: Pad::Zeros,
            reset_cem_std: false,
            stop_on_success: true,
            total: None,
        }
    }
}

impl MpcSettings {
    /// Checks the settings against a problem of horizon `horizon`.
    pub fn validate(&self, horizon: usize) -> Result<(), PlanError> {
        let bad = |name: &'static str, value: usize, expected: &'static str| {
            Err(PlanError::InvalidParam {
                name,
                value: value.to_string(),
                expected,
            })
        };
        if self.execute == 0 || self.execute > horizon {
            return bad(
                "mpc_execute",
                self.execute,
                "must be between 1 and the horizon",
            );
        }
        if let Some(w) = self.window {
            if w < self.execute || w > horizon {
                return bad(
                    "mpc_window",
                    w,
                    "must be between the executed steps and the horizon",
                );
            }
        }
        self.first.validate()?;
        self.replan.validate()?;
        if let Some(t) = self.total {
            t.validate()?;
            if t.max_iters == Some(0) {
                return bad("mpc_total_iters", 0, "must be >= 1");
            }
        }
        for (name, b) in [("mpc_first_iters", self.first), ("mpc_iters", self.replan)] {
            if b.max_iters == Some(0) {
                return bad(name, 0, "must be >= 1");
            }
        }
        Ok(())
    }

    /// How many plans an episode of horizon `horizon` makes at most (the first plan and every replan).
    pub fn max_plans(&self, horizon: usize) -> usize {
        horizon.div_ceil(self.execute.max(1))
    }
}
