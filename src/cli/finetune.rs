//! `grasp-explorer finetune`: online world modeling. Starting from a model file, rounds of plan (the chosen
//! planner, problems from the training distribution) → execute in the simulator → add the transitions →
//! fine-tune, with a progress bar per round; the result is written only at the end (atomically), so an
//! interrupted run leaves no output and the input model is never touched.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use grasp_explorer::env::EnvKind;
use grasp_explorer::finetune::{finetune, FinetuneConfig, FinetuneEvent, GoalSource};
use grasp_explorer::model::data::{self, DataConfig, Source};
use grasp_explorer::model::eval::evaluate;
use grasp_explorer::model::info::TrainingSummary;
use grasp_explorer::model::io::{default_model_path, load_env_model, save_model};
use grasp_explorer::model::train::{TrainConfig, TrainEvent};
use grasp_explorer::plan::{GdParams, PlannerKind, PlannerParams};

use super::progress::progress_bar;
use super::train::parse_adversarial;
use super::usage;

/// Arguments of `finetune`.
#[derive(Debug, clap::Args)]
pub struct FinetuneArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: EnvKind,
    /// Model to start from (default: the shipped model for the env). Never modified.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output model file (written once, at the end).
    #[arg(long)]
    pub out: PathBuf,
    /// Planner that proposes the actions: gd (Adam, lr 0.3, as the reference), grasp, cem or any preset.
    #[arg(long, default_value = "gd")]
    pub planner: String,
    /// Start the planner from the settings `tune` chose for it (e.g. assets/tuned/wall.json), so the online
    /// data comes from the planner the benchmarks run; without it GD uses the reference's Adam lr 0.3 and other
    /// planners their presets.
    #[arg(long)]
    pub tuned: Option<PathBuf>,
    /// Planner iterations per problem.
    #[arg(long, default_value_t = 100)]
    pub iters: usize,
    /// Planning horizon in model steps.
    #[arg(long, default_value_t = 5)]
    pub horizon: usize,
    /// Where starts and goals come from: data (a training-data episode's state H steps ahead) or problems
    /// (the benchmark's start/goal samplers on a seed range disjoint from evaluation and tuning).
    #[arg(long, default_value = "data")]
    pub goals: String,
    /// Rounds of plan → execute → fine-tune.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Problems planned per round (every 10th held out for validation).
    #[arg(long, default_value_t = 50)]
    pub problems: usize,
    /// Training epochs per round over the round's data mix.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Fraction of each round's training transitions taken from the original training distribution, [0, 1).
    #[arg(long, default_value_t = 0.5)]
    pub old_frac: f64,
    /// Transitions of original training-distribution data to generate for the mix and validation.
    #[arg(long, default_value_t = 100_000)]
    pub old_samples: usize,
    /// Peak Adam learning rate of each round (cosine-decayed within the round).
    #[arg(long, default_value_t = 3e-4)]
    pub lr: f64,
    /// Minibatch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Model steps unrolled per training segment (≤ --horizon).
    #[arg(long, default_value_t = 1)]
    pub rollout_steps: usize,
    /// Adversarial box radii λs,λa (as `train --adversarial`); 0,0 = off.
    #[arg(long, default_value = "0,0", allow_hyphen_values = true)]
    pub adversarial: String,
    /// Seed of data, problems, planners and training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// The planner settings for `--planner`: the `--tuned` file's entry when given; else GD uses Adam with lr 0.3
/// (the reference's choice) and other presets their defaults.
fn planner_params(
    env: EnvKind,
    name: &str,
    tuned: Option<&PathBuf>,
) -> anyhow::Result<PlannerParams> {
    let kind: PlannerKind = name
        .parse()
        .map_err(|e: String| usage(format!("--planner: {e}")))?;
    if tuned.is_some() {
        return Ok(super::plan::base_params(env, kind, tuned)?.0);
    }
    Ok(match kind {
        PlannerKind::Gd => PlannerParams::Gd(GdParams {
            adam: true,
            lr: 0.3,
            ..GdParams::default()
        }),
        k => k.default_params(),
    })
}

fn config(args: &FinetuneArgs) -> anyhow::Result<FinetuneConfig> {
    for (flag, v) in [
        ("--rounds", args.rounds),
        ("--problems", args.problems),
        ("--epochs", args.epochs),
        ("--iters", args.iters),
        ("--horizon", args.horizon),
        ("--batch", args.batch),
        ("--rollout-steps", args.rollout_steps),
    ] {
        if v == 0 {
            return Err(usage(format!("{flag} must be at least 1, got 0")));
        }
    }
    if args.rollout_steps > args.horizon {
        return Err(usage(format!(
            "--rollout-steps must be at most --horizon ({}), got {}",
            args.horizon, args.rollout_steps
        )));
    }
    if !(0.0..1.0).contains(&args.old_frac) {
        return Err(usage(format!(
            "--old-frac must be in [0, 1), got {}",
            args.old_frac
        )));
    }
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        return Err(usage(format!("--lr must be positive, got {}", args.lr)));
    }
    if args.old_samples < 1000 {
        return Err(usage(format!(
            "--old-samples must be at least 1000, got {}",
            args.old_samples
        )));
    }
    let goals: GoalSource = args
        .goals
        .parse()
        .map_err(|e: String| usage(format!("--goals: {e}")))?;
    let (adv_state, adv_action) = parse_adversarial(&args.adversarial)?;
    Ok(FinetuneConfig {
        planner: planner_params(args.env, &args.planner, args.tuned.as_ref())?,
        plan_iters: args.iters,
        horizon: args.horizon,
        goals,
        rounds: args.rounds,
        problems: args.problems,
        epochs: args.epochs,
        old_frac: args.old_frac,
        train: TrainConfig {
            batch: args.batch,
            lr: args.lr,
            rollout_steps: args.rollout_steps,
            adv_state,
            adv_action,
            ..TrainConfig::default()
        },
        seed: args.seed,
    })
}

/// Runs `finetune`.
pub fn run(args: FinetuneArgs) -> anyhow::Result<()> {
    let cfg = config(&args)?;
    let env = args.env;
    let input = args
        .model
        .clone()
        .unwrap_or_else(|| default_model_path(env));
    let model = load_env_model(env, Some(&input))?;
    grasp_explorer::util::check_can_write(&args.out)
        .with_context(|| format!("cannot write the model to {}", args.out.display()))?;
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // As in `train`: candle's thread pool costs more than it saves at minibatch 256 on 2 cores.
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let t0 = Instant::now();
    let data_cfg = DataConfig {
        samples: args.old_samples,
        episode_len: 50,
        // Salted: the mix is fresh training-distribution data, not the original training set.
        seed: args.seed ^ 0x0f1e_7e00_0000_0000,
        threads: 2,
        directed_frac: 0.0,
    };
    let old = data::generate(env, &data_cfg, &|_| {});
    let n_val = (old.len() / 10).max(1);
    let (old_train, old_val) = old.split_at(old.len() - n_val);
    eprintln!(
        "finetune {env}: {} old episodes for the mix, {} for validation ({:.1} s)",
        old_train.len(),
        old_val.len(),
        t0.elapsed().as_secs_f64()
    );
    let mut pb = progress_bar(args.problems as u64, "problems");
    let hidden = pb.is_hidden();
    let rounds = args.rounds;
    let (tuned, stats) = finetune(model, old_train, old_val, &cfg, &mut |e| match e {
        FinetuneEvent::Planned { round, done, total } => {
            if done == 1 {
                pb = progress_bar(total as u64, "problems");
                pb.set_message(format!("round {}/{rounds}: planning", round + 1));
            }
            pb.set_position(done as u64);
        }
        FinetuneEvent::Training { round, batches } => {
            pb.finish_and_clear();
            pb = progress_bar(batches as u64, "batches");
            pb.set_message(format!("round {}/{rounds}: training", round + 1));
        }
        FinetuneEvent::Train(TrainEvent::Batch { .. }) => pb.inc(1),
        FinetuneEvent::Train(TrainEvent::Epoch(_)) => {}
    })
    .context("fine-tuning failed")?;
    pb.finish_and_clear();
    for s in &stats {
        let line = format!(
            "round {:>2}/{rounds}: plans succeed {:.0}% in the simulator, median final model/sim gap {:.3}; \
             {} online transitions, trained on {}, val loss {:.3e}",
            s.round,
            100.0 * s.success,
            s.median_final_gap,
            s.online_transitions,
            s.train_transitions,
            s.val_loss
        );
        if hidden {
            eprintln!("{line}");
        } else {
            outln!("{line}");
        }
    }
    let mut model = tuned;
    let mut reports = vec![evaluate(&model, old_val, None)];
    if env == EnvKind::Pusht {
        reports.push(evaluate(&model, old_val, Some(Source::Scripted)));
    }
    let seconds = t0.elapsed().as_secs_f64();
    let last = stats.last().cloned();
    let mut summary = TrainingSummary {
        command: std::iter::once("grasp-explorer".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        seed: args.seed,
        samples: old.iter().map(|e| e.len()).sum::<usize>()
            + last.as_ref().map_or(0, |s| s.online_transitions),
        epochs: args.epochs * args.rounds,
        best_epoch: args.epochs * args.rounds,
        batch: args.batch,
        lr: args.lr,
        train_loss: 0.0,
        val_loss: last.as_ref().map_or(0.0, |s| s.val_loss),
        seconds,
        eval: Default::default(),
    };
    for r in &reports {
        summary.eval.extend(r.figures());
    }
    model.info_mut().training = Some(summary);
    save_model(&model, &args.out)?;
    for r in &reports {
        out!("{}", r.table());
    }
    outln!(
        "saved {} (fine-tuned from {} in {seconds:.0} s)",
        args.out.display(),
        input.display()
    );
    Ok(())
}
