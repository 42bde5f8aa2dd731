//! `grasp-explorer model`: inspect world models. `model eval` measures held-out one-step and open-loop rollout
//! errors against the simulator (and draws them); `model info` prints a file's metadata.

use std::path::PathBuf;

use anyhow::Context;

use grasp_explorer::env::EnvKind;
use grasp_explorer::model::data::{self, DataConfig, Source};
use grasp_explorer::model::eval::evaluate;
use grasp_explorer::model::io::{default_model_path, load_env_model, load_model};
use grasp_explorer::model::plot::rollout_png;

use super::usage;

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
    /// Print a model file's metadata (env, dims, layers, activation, training summary).
    Info(InfoArgs),
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
    /// Held-out episodes to generate (50 model steps each).
    #[arg(long, default_value_t = 100)]
    pub episodes: usize,
    /// Seed of the held-out episodes (a stream separate from training data).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Write a PNG of simulator vs model rollouts (40 steps) of six held-out episodes.
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
    }
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    if args.episodes == 0 || args.episodes > 100_000 {
        return Err(usage(format!(
            "--episodes must be in 1..=100000, got {}",
            args.episodes
        )));
    }
    let model = load_env_model(args.env, args.model.as_deref())?;
    let cfg = DataConfig {
        samples: args.episodes * 50,
        episode_len: 50,
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
    if args.json {
        outln!(
            "{}",
            serde_json::json!({
                "env": args.env,
                "model": args.model.clone().unwrap_or_else(|| default_model_path(args.env)),
                "seed": args.seed,
                "reports": reports,
            })
        );
    } else {
        for r in &reports {
            out!("{}", r.table());
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

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let path = args.model.unwrap_or_else(|| default_model_path(args.env));
    let model = load_model(&path)?;
    outln!("{}", serde_json::to_string_pretty(model.info())?);
    Ok(())
}
