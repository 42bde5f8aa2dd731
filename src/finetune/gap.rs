//! The planner-visited gap: for plans a planner finds with a model, how far the model's open-loop rollout
//! of the plan is from the simulator's, at the end and along the way, in env units (the distance the env's
//! success rule thresholds: Push-T agent and block xy jointly, the mazes' position). A model that planners
//! exploit shows a small model-side goal error and a large gap; `model eval` reports this per planner on
//! tuning problems (never evaluation seeds) next to the held-out errors.

use std::sync::Arc;

use serde::Serialize;

use super::online::{plan_and_execute, OnlineRollout};
use crate::env::{EnvKind, Problem};
use crate::model::eval::Stat;
use crate::model::WorldModel;
use crate::plan::{PlanError, PlannerParams};

/// One planner's gap over a set of problems.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannerGap {
    /// Planner name.
    pub planner: String,
    /// Horizon (model steps).
    pub horizon: usize,
    /// Problems planned.
    pub problems: usize,
    /// Iterations per plan.
    pub iters: usize,
    /// Plans that succeed in the simulator.
    pub success: usize,
    /// Plans whose model rollout meets the success rule for the goal.
    pub model_success: usize,
    /// Plans that succeed under the model but not in the simulator (the model was exploited).
    pub exploited: usize,
    /// Distance between the model's and the simulator's final state.
    pub final_gap: Stat,
    /// Per problem, the mean distance over steps 1..=T.
    pub mean_gap: Stat,
    /// Median over problems of the distance at each step 0..=T.
    pub per_step_median: Vec<f64>,
}

/// The gap and outcome of one planned problem.
fn measure(env: EnvKind, problem: &Problem, r: &OnlineRollout) -> (Vec<f64>, bool, bool) {
    let ed = env.state_dim();
    let gaps: Vec<f64> = r
        .model_states
        .iter()
        .zip(r.episode.states.chunks_exact(ed))
        .map(|(m, s)| f64::from(env.goal_distance(m, s)))
        .collect();
    let model_ok = r
        .model_states
        .last()
        .is_some_and(|m| env.is_success(m, &problem.goal));
    (gaps, r.success, model_ok)
}

/// Plans every problem with `params` for `iters` iterations (planner seed = problem seed) and measures the
/// gap. Also returns the rollouts (for pictures).
pub fn planner_gap(
    problems: &[Problem],
    model: Arc<dyn WorldModel>,
    name: &str,
    params: &PlannerParams,
    iters: usize,
    mut on_problem: impl FnMut(usize),
) -> Result<(PlannerGap, Vec<OnlineRollout>), PlanError> {
    let mut finals = Vec::new();
    let mut means = Vec::new();
    let mut per_step: Vec<Vec<f64>> = Vec::new();
    let (mut success, mut model_success, mut exploited) = (0, 0, 0);
    let mut rollouts = Vec::new();
    let mut horizon = 0;
    for (i, p) in problems.iter().enumerate() {
        let r = plan_and_execute(p, model.clone(), params, iters, p.seed)?;
        let (gaps, ok, model_ok) = measure(p.env, p, &r);
        horizon = p.horizon;
        success += usize::from(ok);
        model_success += usize::from(model_ok);
        exploited += usize::from(model_ok && !ok);
        finals.push(gaps.last().copied().unwrap_or(0.0));
        means.push(gaps.iter().skip(1).sum::<f64>() / (gaps.len() - 1).max(1) as f64);
        if per_step.len() < gaps.len() {
            per_step.resize(gaps.len(), Vec::new());
        }
        for (t, g) in gaps.iter().enumerate() {
            per_step[t].push(*g);
        }
        rollouts.push(r);
        on_problem(i + 1);
    }
    let gap = PlannerGap {
        planner: name.to_string(),
        horizon,
        problems: problems.len(),
        iters,
        success,
        model_success,
        exploited,
        final_gap: Stat::of(finals),
        mean_gap: Stat::of(means),
        per_step_median: per_step.into_iter().map(|v| Stat::of(v).median).collect(),
    };
    Ok((gap, rollouts))
}

impl PlannerGap {
    /// One human-readable line.
    pub fn line(&self, unit: &str) -> String {
        format!(
            "  {:<8} H={} x{} ({} iters): success {}/{}, under the model {}/{}, exploited {}; \
             final gap median {:.3} / p90 {:.3} {unit}, mean-along-plan median {:.3} {unit}",
            self.planner,
            self.horizon,
            self.problems,
            self.iters,
            self.success,
            self.problems,
            self.model_success,
            self.problems,
            self.exploited,
            self.final_gap.median,
            self.final_gap.p90,
            self.mean_gap.median
        )
    }
}
