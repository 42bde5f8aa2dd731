//! `grasp-explorer bench`: run the benchmark protocol (success rate and time-to-success against horizon) into
//! a run directory, resumable and shardable; `bench merge DIR...` combines shard directories.
//!
//! The flags shared with `tune` (env, planners, horizons, budget, model, output) live in [`CommonArgs`].

mod common;

use std::path::PathBuf;

use anyhow::Context;

use super::usage;
use grasp_explorer::bench::closed_loop::MPC_SUFFIX;
use grasp_explorer::bench::exec::Executor;
use grasp_explorer::bench::settings::{resolve, tuned_mpc, TunedSettings};
use grasp_explorer::bench::summary::machine_description;
use grasp_explorer::bench::{merge, BenchConfig, Contender, Manifest, Session, Shard};
use grasp_explorer::plan::PlannerKind;

pub(crate) use common::*;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// `merge`; without a subcommand, run a benchmark.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,
    /// Benchmark settings.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Also run the paper's GRASP ablations (grasp, grasp-nosync, grasp-sync100, grasp-nonoise,
    /// grasp-stategrad, grasp-cemsync).
    #[arg(long)]
    pub ablations: bool,
    /// Run only shard i of n (0-based, e.g. 3/10): the problems with index % n == i.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Planner settings file (default: the shipped assets/tuned/<env>.json).
    #[arg(long, value_name = "FILE", conflicts_with = "no_tuned")]
    pub tuned: Option<PathBuf>,
    /// Ignore tuned settings; run every planner with its preset defaults.
    #[arg(long)]
    pub no_tuned: bool,
    /// With --mpc: run every planner open-loop too (labels `grasp` and `grasp+mpc`), on the same problems.
    #[arg(long, requires = "mpc")]
    pub and_open_loop: bool,
}

/// Subcommands of `bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Combine run directories of shards (same settings, disjoint trials) into one run with summary and plots.
    Merge(MergeArgs),
}

/// Arguments of `bench merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Shard directories.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Output directory (must not already hold a run).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the per-(planner, horizon) summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(BenchCommand::Merge(m)) = args.command {
        let mut notices = Vec::new();
        let s = merge(&m.dirs, &m.out, &mut notices)
            .map_err(bench_err)
            .with_context(|| format!("merging into {}", m.out.display()));
        notices.iter().for_each(|n| eprintln!("warning: {n}"));
        let s = s?;
        eprintln!(
            "merged {} of {} trials into {}",
            s.trials_done,
            s.trials_expected,
            m.out.display()
        );
        return print_summary(&s, m.json);
    }
    let c = &args.common;
    let env = parse_env(c)?;
    let mut kinds: Vec<PlannerKind> = match &c.planners {
        Some(p) => parse_list("--planners", p, |s| s.parse())?,
        None if args.ablations => Vec::new(),
        None => {
            return Err(usage(
                "--planners is required (e.g. grasp,cem,gd) unless --ablations",
            ))
        }
    };
    if args.ablations {
        for k in PlannerKind::ABLATIONS {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    let horizons = parse_horizons(c)?;
    let problems = parse_problems(c, None)?;
    let shard: Shard = match &args.shard {
        Some(s) => s.parse().map_err(usage)?,
        None => Shard::ALL,
    };
    let mut budget = parse_budget(c)?;
    let (tuned, settings_source) = if args.no_tuned {
        (None, "preset defaults (--no-tuned)".to_string())
    } else if let Some(path) = &args.tuned {
        (
            Some(super::limits::read_tuned("--tuned", path, env)?),
            format!("{}", path.display()),
        )
    } else {
        let t = TunedSettings::shipped(env).map_err(bench_err)?;
        (Some(t), format!("shipped assets/tuned/{env}.json"))
    };
    if let Some(t) = &tuned {
        if t.env != env {
            return Err(usage(format!(
                "the settings file is for {}, not {env}",
                t.env
            )));
        }
        t.check_disjoint(c.seed, problems as u64)
            .map_err(bench_err)?;
        if let Some(path) = &args.tuned {
            super::limits::check_tuned_covers("--tuned", t, &kinds, path)?;
        }
    }
    let mut contenders = Vec::new();
    let mut sources = Vec::new();
    for k in &kinds {
        let (params, check_every, src) = resolve(*k, tuned.as_ref()).map_err(bench_err)?;
        sources.push(format!("{k}: {src}"));
        contenders.push(Contender {
            label: k.name().to_string(),
            kind: *k,
            params,
            check_every,
            mpc: None,
        });
    }
    apply_check_every(c, &mut contenders)?;
    c.mpc.spec()?;
    if c.mpc.mpc {
        let mut closed = Vec::new();
        for o in &contenders {
            let base = tuned_mpc(o.kind, tuned.as_ref()).unwrap_or_default();
            closed.push(Contender {
                label: format!("{}{MPC_SUFFIX}", o.label),
                mpc: c.mpc.spec_over(&base)?,
                ..o.clone()
            });
        }
        if !args.and_open_loop {
            contenders.clear();
        }
        contenders.extend(closed);
    }
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench-out/{env}")));
    let run_model = load_model(env, c, &mut contenders)?;
    check_budget_origin(c, env, &run_model.id)?;
    let mut exec = Executor::new(env, run_model.model);
    if let Some(t) = run_model.trust {
        exec.set_trust(t);
    }
    // Validate everything cheap before calibrating.
    let mut config = BenchConfig {
        env,
        contenders,
        horizons,
        problems,
        seed: c.seed,
        budget: budget.clone(),
        model: run_model.id,
        settings_source: format!("{settings_source} — {}", sources.join("; ")),
    };
    validate_before_writing(&config, c.scale_iters)?;
    config.check_evaluation_seeds().map_err(bench_err)?;
    check_writable(&out)?;
    if c.scale_iters {
        budget = scaled_budget(c, &mut exec, &config.contenders, &config.horizons, &out)?;
        config.budget = budget;
        config.validate().map_err(bench_err)?;
        if c.calibrate_only {
            let path = out.join("budget.json");
            let text = budget_file_text(&config.budget, env, &config.model)?;
            grasp_explorer::util::write_atomic(&path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} (pass it to every shard with --budget-file)",
                path.display()
            );
            outln!("{text}");
            return Ok(());
        }
    }
    let manifest = Manifest {
        format: 1,
        kind: "bench".into(),
        config,
        shard,
        machine: vec![machine_description()],
        command: command_line(),
    };
    let mut notices = Vec::new();
    let opened = Session::open(&out, manifest, c.resume, &mut notices);
    notices.iter().for_each(|n| eprintln!("note: {n}"));
    let mut session = opened.map_err(bench_err)?;
    eprintln!(
        "bench {env}: {} trials in shard {shard} ({} done), budget: {}",
        session.manifest.config.trials(shard).len(),
        session.done.len(),
        session.manifest.config.budget.describe()
    );
    if session.manifest.config.trials(shard).is_empty() {
        eprintln!(
            "note: shard {shard} owns no problems ({} problems go to shards below {}); it has nothing to run",
            session.manifest.config.problems,
            session.manifest.config.problems
        );
    }
    let s = run_session(&mut session, &mut exec)?;
    eprintln!(
        "results in {} (summary.md, summary.json, trials.csv, *.png)",
        out.display()
    );
    print_summary(&s, c.json)
}
