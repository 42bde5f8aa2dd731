//! Making world models hold up under planning (Parthasarathy et al. 2025, "Closing the train-test gap in
//! world models for gradient-based planning"). Online world modeling lives here because it needs planners:
//! rounds of plan with the current model → execute in the simulator → add the transitions → fine-tune
//! ([`finetune`], one round of planning in `online.rs`). The planner-visited gap (`gap.rs`) measures what
//! this is for: how far the model's rollout of a planner's own plan is from the simulator's. `model/` never
//! imports this module; the multi-step and adversarial losses themselves are in `model/loss.rs`.

pub mod gap;
pub mod online;

use std::sync::Arc;

use rand::seq::SliceRandom;

use crate::model::data::Episode;
use crate::model::fast::MlpModel;
use crate::model::train::{fit_from, ModelData, TrainConfig, TrainError, TrainEvent};
use crate::model::WorldModel;
use crate::plan::{PlanError, PlannerParams};
use crate::util::rng_for;
pub use online::{draw_problem, plan_and_execute, GoalSource, OnlineRollout, FINETUNE_SEED_BASE};

/// Online fine-tuning settings.
#[derive(Clone, Debug)]
pub struct FinetuneConfig {
    /// The planner that proposes actions (the reference: GD with Adam, lr 0.3).
    pub planner: PlannerParams,
    /// Planner iterations per problem; ≥ 1, default 100 (the reference).
    pub plan_iters: usize,
    /// Planning horizon in model steps; ≥ 1, default 5 (the reference).
    pub horizon: usize,
    /// Where starts and goals come from; default [`GoalSource::Data`].
    pub goals: GoalSource,
    /// Rounds of plan → execute → fine-tune; ≥ 1, default 10.
    pub rounds: usize,
    /// Problems planned per round; ≥ 1, default 50 (every 10th is held out for validation).
    pub problems: usize,
    /// Training epochs per round over the round's mix; ≥ 1, default 2.
    pub epochs: usize,
    /// Fraction of each round's training transitions drawn from the original training data (the rest are
    /// all online transitions so far), in [0, 1); default 0.5.
    pub old_frac: f64,
    /// Optimizer and loss settings of each round (lr, batch, rollout steps, adversarial radii); `epochs`
    /// and `seed` are set per round.
    pub train: TrainConfig,
    /// Seed of problems, planners and training.
    pub seed: u64,
}

/// What one round did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RoundStats {
    /// 1-based round.
    pub round: usize,
    /// Fraction of this round's plans (made with the model before the round's training) that succeed in
    /// the simulator.
    pub success: f64,
    /// Median distance between the model's and the simulator's final state on those plans (env units, the
    /// success rule's distance).
    pub median_final_gap: f64,
    /// Online transitions collected so far.
    pub online_transitions: usize,
    /// Transitions trained on this round (online + old).
    pub train_transitions: usize,
    /// Validation loss of the kept weights.
    pub val_loss: f64,
}

/// Progress of [`finetune`].
#[derive(Clone, Copy, Debug)]
pub enum FinetuneEvent {
    /// Planning in round `round` (0-based): `done` of `total` problems.
    Planned {
        /// 0-based round.
        round: usize,
        /// Problems planned so far.
        done: usize,
        /// Problems per round.
        total: usize,
    },
    /// Training started in round `round` with `batches` minibatches to run.
    Training {
        /// 0-based round.
        round: usize,
        /// Minibatches of the round.
        batches: usize,
    },
    /// A training event of the current round.
    Train(TrainEvent),
}

/// Why fine-tuning failed.
#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    /// A setting out of range.
    #[error("{0}")]
    Config(String),
    /// Planning or executing a plan failed.
    #[error("planning: {0}")]
    Plan(#[from] PlanError),
    /// A round's training failed.
    #[error("fine-tuning: {0}")]
    Train(#[from] TrainError),
}

impl FinetuneConfig {
    /// Checks the ranges documented on the fields.
    pub fn validate(&self) -> Result<(), FinetuneError> {
        let bad = |m: &str| Err(FinetuneError::Config(m.into()));
        if self.rounds == 0 || self.problems == 0 || self.epochs == 0 {
            return bad("rounds, problems and epochs must be at least 1");
        }
        if self.plan_iters == 0 || self.horizon == 0 {
            return bad("planner iterations and horizon must be at least 1");
        }
        if !(0.0..1.0).contains(&self.old_frac) {
            return bad("the old-data fraction must be in [0, 1)");
        }
        if self.train.rollout_steps > self.horizon {
            return bad("rollout steps must not exceed the horizon (online segments are H steps)");
        }
        self.planner
            .validate()
            .map_err(|e| FinetuneError::Config(e.to_string()))
    }
}

/// Runs online fine-tuning from `model`. `old_train`/`old_val` are simulator episodes of the original
/// training distribution (mixed in per [`FinetuneConfig::old_frac`]; `old_val` always validates). Returns
/// the fine-tuned model and one [`RoundStats`] per round. Deterministic in `cfg.seed`.
pub fn finetune(
    model: MlpModel,
    old_train: &[Episode],
    old_val: &[Episode],
    cfg: &FinetuneConfig,
    on_event: &mut dyn FnMut(FinetuneEvent),
) -> Result<(MlpModel, Vec<RoundStats>), FinetuneError> {
    cfg.validate()?;
    let env = model
        .env()
        .ok_or_else(|| FinetuneError::Config("the model has no env".into()))?;
    let codec = model.info().codec();
    let d = codec.state_dim();
    let mut model = model;
    let mut problem_rng = rng_for(cfg.seed, "finetune-problems");
    let mut old_rng = rng_for(cfg.seed, "finetune-old-data");
    let (mut online_train, mut online_val): (Vec<Episode>, Vec<Episode>) = (Vec::new(), Vec::new());
    let mut stats = Vec::new();
    for round in 0..cfg.rounds {
        let shared: Arc<dyn WorldModel> = Arc::new(model.clone());
        let (mut wins, mut gaps) = (0usize, Vec::new());
        for i in 0..cfg.problems {
            let index = (round * cfg.problems + i) as u64;
            let problem = draw_problem(env, cfg.goals, cfg.horizon, index, &mut problem_rng)?;
            let r = plan_and_execute(
                &problem,
                shared.clone(),
                &cfg.planner,
                cfg.plan_iters,
                FINETUNE_SEED_BASE + index,
            )?;
            wins += usize::from(r.success);
            let ed = env.state_dim();
            let sim_final = &r.episode.states[r.episode.states.len() - ed..];
            if let Some(m) = r.model_states.last() {
                gaps.push(f64::from(env.goal_distance(m, sim_final)));
            }
            if i % 10 == 9 {
                online_val.push(r.episode);
            } else {
                online_train.push(r.episode);
            }
            on_event(FinetuneEvent::Planned {
                round,
                done: i + 1,
                total: cfg.problems,
            });
        }
        let new_n: usize = online_train.iter().map(Episode::len).sum();
        let want_old = (new_n as f64 * cfg.old_frac / (1.0 - cfg.old_frac)).round() as usize;
        let mut picks: Vec<usize> = (0..old_train.len()).collect();
        picks.shuffle(&mut old_rng);
        let mut mix: Vec<Episode> = online_train.clone();
        let mut old_n = 0;
        for &p in &picks {
            if old_n >= want_old {
                break;
            }
            old_n += old_train[p].len();
            mix.push(old_train[p].clone());
        }
        let train = ModelData::from_episodes(&codec, env, &mix);
        let mut val_eps = old_val.to_vec();
        val_eps.extend(online_val.iter().cloned());
        let val = ModelData::from_episodes(&codec, env, &val_eps);
        let tcfg = TrainConfig {
            epochs: cfg.epochs,
            seed: cfg.seed.wrapping_add(round as u64),
            ..cfg.train.clone()
        };
        let batches = train
            .starts(d, tcfg.rollout_steps)
            .len()
            .div_ceil(tcfg.batch.max(1))
            * tcfg.epochs;
        on_event(FinetuneEvent::Training { round, batches });
        let (next, _, best) = fit_from(&codec, Some(&model), &train, &val, &tcfg, &mut |e| {
            on_event(FinetuneEvent::Train(e))
        })?;
        model = next;
        gaps.sort_by(f64::total_cmp);
        stats.push(RoundStats {
            round: round + 1,
            success: wins as f64 / cfg.problems as f64,
            median_final_gap: gaps.get(gaps.len() / 2).copied().unwrap_or(0.0),
            online_transitions: new_n + online_val.iter().map(Episode::len).sum::<usize>(),
            train_transitions: train.len(d),
            val_loss: best.val_loss,
        });
    }
    Ok((model, stats))
}

#[cfg(test)]
mod tests;
