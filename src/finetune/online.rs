//! One step of online world modeling (DAgger with the simulator as the expert): draw a planning problem from
//! the training distribution ([`draw_problem`]), plan it with the current model, execute the planned actions
//! in the simulator from the true start, and keep what the simulator did as a training episode
//! ([`plan_and_execute`]).
//!
//! Problems never come from the evaluation stream (`Problem::generate` with seeds 0, 1, …) nor from the
//! tuning stream (seeds ≥ `bench::protocol::TUNING_SEED_BASE` = 10¹² plus small offsets):
//! - [`GoalSource::Data`] (the reference's choice): a training-data episode (`model::data::episode`, the
//!   generator `train` uses, seeds from the `finetune-problems` stream) of H model steps; its first state is
//!   the start and its state H steps later the goal.
//! - [`GoalSource::Problems`]: `Problem::generate(env, H, FINETUNE_SEED_BASE + i)`, the benchmark's start/goal
//!   samplers on a third seed range (2⁶², far from both), for goals farther than data episodes reach in H
//!   steps (e.g. across the Wall's middle wall).

use std::sync::Arc;

use rand::Rng as _;

use crate::env::{step_chunk, EnvKind, Problem, CHUNK_ACTION_DIM};
use crate::model::data::{episode, Episode, Source};
use crate::model::WorldModel;
use crate::plan::runner::{run_trial_with, Budget, TrialOptions};
use crate::plan::{PlanError, PlannerParams};
use crate::util::Rng;

/// First problem seed of [`GoalSource::Problems`]: a third range, disjoint from evaluation seeds (< 10¹²)
/// and from the tuning seeds `tune` and the calibration use (10¹² + small offsets, 10¹² + 2⁴⁰).
pub const FINETUNE_SEED_BASE: u64 = 1 << 62;

/// Where online problems' starts and goals come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalSource {
    /// Start and the state H steps later on a training-data episode.
    Data,
    /// The benchmark's start/goal samplers on seeds from [`FINETUNE_SEED_BASE`].
    Problems,
}

impl std::str::FromStr for GoalSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "data" => Ok(GoalSource::Data),
            "problems" => Ok(GoalSource::Problems),
            _ => Err(format!(
                "unknown goal source '{s}': expected data or problems"
            )),
        }
    }
}

/// The `index`-th online problem of horizon `horizon` (model steps); `rng` draws data-episode seeds.
pub fn draw_problem(
    env: EnvKind,
    source: GoalSource,
    horizon: usize,
    index: u64,
    rng: &mut Rng,
) -> Result<Problem, PlanError> {
    let seed = FINETUNE_SEED_BASE + index;
    let problem = match source {
        GoalSource::Data => {
            let ep = episode(env, rng.random(), horizon, 0.0);
            let ed = env.state_dim();
            Problem {
                env,
                start: ep.states[..ed].to_vec(),
                goal: ep.states[horizon * ed..(horizon + 1) * ed].to_vec(),
                horizon,
                seed,
                reference_actions: Some(ep.actions),
            }
        }
        GoalSource::Problems => {
            Problem::generate(env, horizon, seed).map_err(|e| PlanError::Problem(e.to_string()))?
        }
    };
    Ok(problem)
}

/// What planning one online problem gave.
#[derive(Clone, Debug)]
pub struct OnlineRollout {
    /// The simulator's transitions under the planned actions, from the problem's start (source `Online`).
    pub episode: Episode,
    /// The model's predicted env states along the plan, start first (T+1 entries).
    pub model_states: Vec<Vec<f32>>,
    /// Whether the simulator's final state meets the env's success rule for the goal.
    pub success: bool,
}

/// Plans `problem` with `model` (`iters` iterations of `params`, seed `seed`, full budget, no early stop),
/// then executes the planned actions in a fresh simulator from the true start, one model step at a time.
pub fn plan_and_execute(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    params: &PlannerParams,
    iters: usize,
    seed: u64,
) -> Result<OnlineRollout, PlanError> {
    let opts = TrialOptions {
        check_every: 0,
        stop_on_success: false,
    };
    let r = run_trial_with(
        problem,
        model.clone(),
        params,
        seed,
        Budget::iters(iters),
        opts,
        |_| {},
    )?;
    let mut sim = problem.env.make();
    sim.set_state(&problem.start)?;
    let mut states = sim.state();
    for chunk in r.env_actions.chunks_exact(CHUNK_ACTION_DIM) {
        states.extend(step_chunk(sim.as_mut(), chunk));
    }
    let final_state = sim.state();
    let model_states = model_rollout(model.as_ref(), &problem.start, &r.model_actions);
    Ok(OnlineRollout {
        success: problem.env.is_success(&final_state, &problem.goal),
        episode: Episode {
            source: Source::Online,
            states,
            actions: r.env_actions,
        },
        model_states,
    })
}

/// The model's open-loop rollout of normalized `actions` [T × K] from env state `start`, decoded to env
/// states (start first).
pub fn model_rollout(model: &dyn WorldModel, start: &[f32], actions: &[f32]) -> Vec<Vec<f32>> {
    let k = model.action_dim();
    let mut s = model.encode_state(start);
    let mut out = vec![start.to_vec()];
    let mut next = vec![0.0; s.len()];
    let mut tape = crate::model::Tape::default();
    for a in actions.chunks_exact(k) {
        model.forward(&s, a, &mut next, &mut tape);
        std::mem::swap(&mut s, &mut next);
        out.push(model.decode_state(&s));
    }
    out
}
