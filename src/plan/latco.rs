//! The LatCo baseline as the GRASP paper adapts it (spec §B.3): the same lifted variables and straight-line
//! initialization as GRASP, minimizing Σ_t mean_d (F(s_t,a_t) − s_{t+1})² with s_0 fixed and s_T = g, with
//! full gradients through the states (no stop-grad), no goal shaping, no noise and no sync; Adam with separate
//! state/action rates. It runs on GRASP's lifted core ([`super::grasp::LiftedPlanner`]); the original LatCo's
//! Levenberg–Marquardt primal steps and dual multipliers are not reproduced (their constants are unknown,
//! spec §E.6).

use std::sync::Arc;

use super::grasp::LiftedPlanner;
use super::{LatcoParams, ModelProblem, PlanError, PlannerParams};
use crate::model::WorldModel;

/// A LatCo planner.
pub fn new_latco(
    problem: &ModelProblem,
    model: Arc<dyn WorldModel>,
    params: LatcoParams,
    seed: u64,
) -> Result<LiftedPlanner, PlanError> {
    LiftedPlanner::new(problem, model, PlannerParams::Latco(params), seed)
}
