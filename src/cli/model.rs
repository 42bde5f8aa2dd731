//! `grasp-explorer model`: inspect world models. `model eval` measures held-out one-step and open-loop rollout
//! errors against the simulator at 1/10/40/80 steps and the planner-visited gap (each planner's own plans on
//! tuning problems, model vs simulator; `finetune::gap`), and draws both; `model info` prints a file's
//! metadata.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use grasp_explorer::bench::protocol::TUNING_SEED_BASE;
use grasp_explorer::bench::settings::{resolve, TunedSettings};
use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::finetune::gap::{planner_gap, PlannerGap};
use grasp_explorer::model::data::{self, DataConfig, Source};
use grasp_explorer::model::eval::evaluate;
use grasp_explorer::model::eval::tolerance;
use grasp_explorer::model::io::{default_model_path, load_env_model, load_model};
use grasp_explorer::model::plot::rollout_png;
use grasp_explorer::model::WorldModel;
use grasp_explorer::plan::PlannerKind;

use super::usage;

#[path = "model_trust.rs"]
mod trust;

/// Arguments of `model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// `model` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Held-out accuracy against the simulator: one-step and open-loop errors at 1, 10 and 40 model steps.
    Eval(EvalArgs),
    /// Print a model file's metadata (env, dims, layers, activation, training summary; an ensemble: every
    /// member's, with the designated one).
    Info(InfoArgs),
    /// Calibrate an ensemble's trust threshold on tuning problems (docs/trust.md).
    Trust(trust::TrustArgs),
}

/// Arguments of `model eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: EnvKind,
    /// Model file (default: the shipped model for the env).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Held-out episodes to generate.
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
    /// Model steps per held-out episode (80-step errors need ≥ 80).
    #[arg(long, default_value_t = 100)]
    pub episode_len: usize,
    /// Planners whose own plans measure the planner-visited gap, comma-separated ("none" to skip).
    #[arg(long, default_value = "grasp,cem,gd")]
    pub gap_planners: String,
    /// Tuning problems per planner for the gap (seeds from 10^12, never evaluation seeds).
    #[arg(long, default_value_t = 10)]
    pub gap_problems: usize,
    /// Horizon of the gap problems (default: Push-T 50, PointMaze 100, Wall 100).
    #[arg(long)]
    pub gap_horizon: Option<usize>,
    /// Planner iterations per gap problem (default: each planner's default, GRASP/GD 1000, CEM 30).
    #[arg(long)]
    pub gap_iters: Option<usize>,
    /// Use presets instead of the shipped tuned settings (assets/tuned/<env>.json) for the gap planners.
    #[arg(long, conflicts_with = "gap_tuned")]
    pub gap_presets: bool,
    /// Settings file for the gap planners instead of the shipped one (written by `tune`; e.g. the first
    /// study's docs/results/<env>-tune/tuned.json, with which docs/models.md's gap tables were measured).
    #[arg(long, value_name = "FILE")]
    pub gap_tuned: Option<std::path::PathBuf>,
    /// Seed of the held-out episodes (a stream separate from training data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of simulator vs model rollouts (40 steps) of six held-out episodes, and next to it
    /// <stem>-gap-<planner>.png of six gap problems per planner (each planner's plan, simulator vs model).
    #[arg(long)]
    pub png: Option<PathBuf>,
}

/// Arguments of `model info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Environment whose default model to show (ignored with --model).
    #[arg(long, default_value = "pusht")]
    pub env: EnvKind,
    /// Model file.
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// Runs `model`.
pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Eval(a) => eval(a),
        ModelCommand::Info(a) => info(a),
        ModelCommand::Trust(a) => trust::run(a),
    }
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    if args.episodes == 0 || args.episodes > 100_000 {
        return Err(usage(format!(
            "--episodes must be in 1..=100000, got {}",
            args.episodes
        )));
    }
    if !(1..=1000).contains(&args.episode_len) {
        return Err(usage(format!(
            "--episode-len must be in 1..=1000, got {}",
            args.episode_len
        )));
    }
    let gap_kinds = gap_planners(&args.gap_planners)?;
    let gap_horizon = args.gap_horizon.unwrap_or(match args.env {
        EnvKind::Pusht => 50,
        _ => 100,
    });
    if gap_horizon == 0 || args.gap_iters == Some(0) || args.gap_problems > 10_000 {
        return Err(usage(
            "--gap-horizon and --gap-iters must be at least 1, --gap-problems at most 10000",
        ));
    }
    // The gap planners' settings, read before the long held-out evaluation so a bad file fails at once.
    let gap_tuned = match &args.gap_tuned {
        Some(path) => {
            let t = super::limits::read_tuned("--gap-tuned", path, args.env)?;
            super::limits::check_tuned_covers("--gap-tuned", &t, &gap_kinds, path)?;
            Some(t)
        }
        None if args.gap_presets => None,
        None => TunedSettings::shipped(args.env).ok(),
    };
    let model = load_env_model(args.env, args.model.as_deref())?;
    let cfg = DataConfig {
        samples: args.episodes * args.episode_len,
        episode_len: args.episode_len,
        // Salted so evaluation episodes never coincide with the training data of the same seed.
        seed: args.seed ^ 0x5eed_e7a1_0000_0000,
        threads: 2,
        directed_frac: 0.0,
    };
    let episodes = data::generate(args.env, &cfg, &|_| {});
    let mut reports = vec![evaluate(&model, &episodes, None)];
    if args.env == EnvKind::Pusht {
        reports.push(evaluate(&model, &episodes, Some(Source::Scripted)));
    }
    if let Some(at) = super::output::first_non_finite(&serde_json::to_value(&reports)?) {
        anyhow::bail!(
            "the model's predictions are not finite (reports{at}): its weights or statistics are unusable"
        );
    }
    if let Some(png) = &args.png {
        let mut shown: Vec<_> = episodes.clone();
        // Push-T: show contact-rich scripted episodes first.
        shown.sort_by_key(|e| e.source != Source::Scripted);
        let bytes = rollout_png(&model, &shown, 40).map_err(anyhow::Error::msg)?;
        grasp_explorer::util::write_atomic(png, &bytes)
            .with_context(|| format!("cannot write {}", png.display()))?;
    }
    let gaps = if args.gap_problems > 0 && !gap_kinds.is_empty() {
        gap_report(&args, &model, &gap_kinds, gap_horizon, gap_tuned.as_ref())?
    } else {
        Vec::new()
    };
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "env": args.env,
                "model": args.model.clone().unwrap_or_else(|| default_model_path(args.env)),
                "seed": args.seed,
                "reports": reports,
                "planner_gap": gaps,
            })
        );
    } else {
        for r in &reports {
            out!("{}", r.table());
        }
        if !gaps.is_empty() {
            outln!(
                "planner-visited gap on tuning problems (seeds {TUNING_SEED_BASE}..), model vs simulator on each \
                 planner's own plan:"
            );
            let unit = tolerance(args.env).1;
            for g in &gaps {
                outln!("{}", g.line(unit));
            }
        }
        if let Some(png) = &args.png {
            outln!(
                "wrote {} (simulator dark, model warm; Push-T agent navy/orange, block grey/red)",
                png.display()
            );
        }
    }
    Ok(())
}

/// Parses `--gap-planners`.
fn gap_planners(s: &str) -> anyhow::Result<Vec<PlannerKind>> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|n| {
            n.parse::<PlannerKind>()
                .map_err(|e| usage(format!("--gap-planners: {e}")))
        })
        .collect()
}

/// The planner-visited gap of every planner in `kinds` on the tuning problems; writes the gap PNGs.
fn gap_report(
    args: &EvalArgs,
    model: &grasp_explorer::model::fast::MlpModel,
    kinds: &[PlannerKind],
    horizon: usize,
    tuned: Option<&TunedSettings>,
) -> anyhow::Result<Vec<PlannerGap>> {
    let problems: Vec<Problem> = (0..args.gap_problems as u64)
        .map(|i| Problem::generate(args.env, horizon, TUNING_SEED_BASE + i))
        .collect::<Result<_, _>>()
        .context("generating the tuning problems")?;
    let shared: Arc<dyn WorldModel> = Arc::new(model.clone());
    let mut out = Vec::new();
    for &kind in kinds {
        let (params, _, _) = resolve(kind, tuned)?;
        let iters = args.gap_iters.unwrap_or(params.default_iterations());
        let pb = super::progress::progress_bar(problems.len() as u64, "problems");
        pb.set_message(format!("gap: {}", kind.name()));
        let (gap, rollouts) = planner_gap(
            &problems,
            shared.clone(),
            kind.name(),
            &params,
            iters,
            |i| pb.set_position(i as u64),
        )
        .with_context(|| format!("planning with {}", kind.name()))?;
        pb.finish_and_clear();
        if let Some(png) = &args.png {
            let eps: Vec<_> = rollouts.into_iter().map(|r| r.episode).collect();
            let bytes = rollout_png(model, &eps, horizon).map_err(anyhow::Error::msg)?;
            let path = gap_png_path(png, kind.name());
            grasp_explorer::util::write_atomic(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        out.push(gap);
    }
    Ok(out)
}

/// `<dir>/<stem>-gap-<planner>.png` next to `png`.
fn gap_png_path(png: &Path, planner: &str) -> PathBuf {
    let stem = png
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("model-eval");
    png.with_file_name(format!("{stem}-gap-{planner}.png"))
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let path = args.model.unwrap_or_else(|| default_model_path(args.env));
    let model = load_model(&path)?;
    match grasp_explorer::model::io::load_ensemble(&path) {
        // An ensemble: every member's metadata, with which one planners use.
        Ok(ens) => outln!("{}", serde_json::to_string_pretty(&ens.info())?),
        Err(_) => outln!("{}", serde_json::to_string_pretty(model.info())?),
    }
    Ok(())
}
