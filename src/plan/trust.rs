//! How far a plan can be believed: an ensemble's per-step disagreement on the plan, the trust horizon it
//! implies, and — where a simulator is at hand — the truth it predicts (the first step at which the
//! designated member's rollout leaves the simulator's by more than the env's success tolerance), plus the
//! threshold calibration that makes the two agree on tuning problems.

use serde::Serialize;

use super::PlanError;
use crate::env::{step_chunk, Problem, CHUNK_ACTION_DIM};
use crate::model::ensemble::{divergence_step, trust_horizon, Ensemble};
use crate::model::eval::tolerance;
use crate::model::WorldModel;

/// What the ensemble and the simulator say about one plan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrustReport {
    /// d_t for t = 0..=H: the members' largest env-unit distance from the designated member.
    pub disagreement: Vec<f32>,
    /// Push-T: the members' largest block-angle difference per step, radians (left out elsewhere).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub angle_disagreement: Vec<f32>,
    /// The threshold the trust horizon used (None: none known, so no trust horizon).
    pub trust_threshold: Option<f32>,
    /// Steps 1..=k whose disagreement stays within the threshold ("trusted to step k of H").
    pub trust_horizon: Option<usize>,
    /// Steps 1..=k at which the designated member's rollout stays within the env's success tolerance of the
    /// simulator's (the truth the trust horizon estimates).
    pub divergence_step: usize,
}

/// The trust report of `model_actions` (model space, the problem's horizon) from the problem's start.
pub fn trust_report(
    problem: &Problem,
    ens: &Ensemble,
    model_actions: &[f32],
    threshold: Option<f32>,
) -> Result<TrustReport, PlanError> {
    let h = problem.horizon;
    let rollouts = ens.rollouts(&problem.start, model_actions, h);
    let d = crate::model::ensemble::disagreement(problem.env, &rollouts, ens.designated());
    let sim = simulate(problem, ens.designated_model(), model_actions)?;
    let tol = tolerance(problem.env).0 as f32;
    Ok(TrustReport {
        trust_horizon: threshold.map(|t| trust_horizon(&d.spread, t)),
        trust_threshold: threshold,
        divergence_step: divergence_step(problem.env, &rollouts[ens.designated()], &sim, tol),
        disagreement: d.spread,
        angle_disagreement: d.angle_spread,
    })
}

/// The simulator's states 0..=H under the plan's decoded actions.
fn simulate(
    problem: &Problem,
    model: &dyn WorldModel,
    model_actions: &[f32],
) -> Result<Vec<Vec<f32>>, PlanError> {
    let env_actions = model.decode_actions(model_actions);
    if env_actions.len() != problem.horizon * CHUNK_ACTION_DIM {
        return Err(PlanError::Problem(format!(
            "the plan decodes to {} action values, expected {}",
            env_actions.len(),
            problem.horizon * CHUNK_ACTION_DIM
        )));
    }
    let mut env = problem.env.make();
    env.set_state(&problem.start)?;
    let mut states = vec![problem.start.clone()];
    for chunk in env_actions.chunks_exact(CHUNK_ACTION_DIM) {
        states.push(step_chunk(env.as_mut(), chunk));
    }
    Ok(states)
}

/// The threshold that best predicts the truth on calibration plans: over every candidate (0, each observed
/// disagreement value, +∞), the one with the smallest mean |trust horizon − divergence step|; ties go to the
/// smaller threshold (the cautious one). `plans` holds (disagreement per step, divergence step) pairs.
pub fn calibrate(plans: &[(Vec<f32>, usize)]) -> Option<f32> {
    if plans.is_empty() {
        return None;
    }
    let mut candidates: Vec<f32> = plans
        .iter()
        .flat_map(|(d, _)| d.iter().copied().filter(|v| v.is_finite()))
        .chain([0.0, f32::INFINITY])
        .collect();
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let error = |t: f32| -> f64 {
        plans
            .iter()
            .map(|(d, truth)| (trust_horizon(d, t) as f64 - *truth as f64).abs())
            .sum::<f64>()
            / plans.len() as f64
    };
    let mut best = (f64::INFINITY, 0.0f32);
    for t in candidates {
        let e = error(t);
        if e < best.0 {
            best = (e, t);
        }
    }
    Some(best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_finds_the_threshold_that_matches_the_truth() {
        // Disagreement grows 1 per step; the truth is step 4 on every plan: thresholds in [4, 5) give 4.
        let d: Vec<f32> = (0..=10).map(|t| t as f32).collect();
        let t = calibrate(&[(d.clone(), 4), (d.clone(), 4)]).unwrap();
        assert_eq!(trust_horizon(&d, t), 4);
        assert_eq!(t, 4.0, "the smallest threshold that fits");
        // Never diverging → trust every step (the infinite threshold if nothing smaller fits).
        let t = calibrate(&[(d.clone(), 10)]).unwrap();
        assert_eq!(trust_horizon(&d, t), 10);
        assert!(calibrate(&[]).is_none());
    }
}
