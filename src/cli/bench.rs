//! `grasp-explorer bench`: run the benchmark protocol (success rate and time-to-success against horizon) into
//! a run directory, resumable and shardable; `bench merge DIR...` combines shard directories.
//!
//! The flags shared with `tune` (env, planners, horizons, budget, model, output) live in [`CommonArgs`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::usage;
use grasp_explorer::bench::exec::{model_identity, Executor, CALIBRATION_SEED};
use grasp_explorer::bench::settings::{resolve, TunedSettings};
use grasp_explorer::bench::summary::machine_description;
use grasp_explorer::bench::{
    merge, BenchConfig, BenchError, BudgetPolicy, Contender, IterTable, Manifest, Session, Shard,
    Summary,
};
use grasp_explorer::env::EnvKind;
use grasp_explorer::plan::PlannerKind;

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

/// Flags shared by `bench` and `tune`.
#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: Option<String>,
    /// Comma-separated planner presets (grasp, cem, gd, latco, gd-adam, grasp-nosync, ...).
    #[arg(long, value_name = "LIST")]
    pub planners: Option<String>,
    /// Comma-separated horizons T in world-model steps.
    #[arg(long, value_name = "LIST")]
    pub horizons: Option<String>,
    /// Problems per (planner, horizon).
    #[arg(long)]
    pub problems: Option<usize>,
    /// Problem i uses seed SEED + i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Planner-time budget per trial in seconds, equal for all planners (default 30 unless --iters).
    #[arg(long, value_name = "SECONDS")]
    pub budget_s: Option<f64>,
    /// Iteration budget: N, or planner=N,..., or planner@H=N,... (with --budget-s: also a time cap).
    #[arg(long, value_name = "SPEC")]
    pub iters: Option<String>,
    /// Turn --budget-s into per-planner, per-horizon iteration counts measured to take that much planner time
    /// on this machine (deterministic trials with time-equal budgets).
    #[arg(long, requires = "budget_s", conflicts_with_all = ["iters", "budget_file"])]
    pub scale_iters: bool,
    /// Planner seconds spent measuring each iteration rate for --scale-iters.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub calibrate_s: f64,
    /// With --scale-iters: only measure, write the budget to --out/budget.json and stop.
    #[arg(long, requires = "scale_iters")]
    pub calibrate_only: bool,
    /// Use the budget in this file (written by --calibrate-only), e.g. the same for every shard.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["iters", "budget_s"])]
    pub budget_file: Option<PathBuf>,
    /// Success-check interval in iterations: N, or planner=N,... (default per planner: cem 1, gd 10,
    /// grasp/latco 25, or the tuned file's).
    #[arg(long, value_name = "SPEC")]
    pub check_every: Option<String>,
    /// World model file (default: the shipped model for the env).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Run directory (default: bench-out/<env>, or tune-out/<env> for tune).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --out, skipping finished trials (settings must match).
    #[arg(long)]
    pub resume: bool,
    /// Print the per-(planner, horizon) summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Converts a benchmark error: bad settings are usage errors (exit 2), the rest runtime errors (exit 1).
pub(crate) fn bench_err(e: BenchError) -> anyhow::Error {
    match e {
        BenchError::Config(m) => usage(m),
        other => anyhow::Error::new(other),
    }
}

/// The env named by --env.
pub(crate) fn parse_env(c: &CommonArgs) -> anyhow::Result<EnvKind> {
    let env = c
        .env
        .as_deref()
        .ok_or_else(|| usage("--env is required (pusht, pointmaze or wall)"))?;
    env.parse().map_err(usage)
}

/// Parses a comma-separated list with `parse`, rejecting empty lists and entries.
pub(crate) fn parse_list<T>(
    flag: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<Vec<T>> {
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.iter().all(|s| s.is_empty()) {
        return Err(usage(format!("{flag} is empty")));
    }
    items
        .iter()
        .map(|s| {
            if s.is_empty() {
                Err(usage(format!("{flag} '{text}' has an empty entry")))
            } else {
                parse(s).map_err(usage)
            }
        })
        .collect()
}

/// Parses --horizons.
pub(crate) fn parse_horizons(c: &CommonArgs) -> anyhow::Result<Vec<usize>> {
    let text = c
        .horizons
        .as_deref()
        .ok_or_else(|| usage("--horizons is required, e.g. 40,50"))?;
    parse_list("--horizons", text, |s| {
        s.parse::<usize>()
            .ok()
            .filter(|h| *h > 0)
            .ok_or_else(|| format!("--horizons: '{s}' is not a positive integer"))
    })
}

/// Parses --problems (required, ≥ 1) unless `default` is given.
pub(crate) fn parse_problems(c: &CommonArgs, default: Option<usize>) -> anyhow::Result<usize> {
    match c.problems.or(default) {
        None => Err(usage("--problems is required")),
        Some(0) => Err(usage("--problems must be at least 1")),
        Some(n) => Ok(n),
    }
}

/// Applies --check-every to the contenders.
pub(crate) fn apply_check_every(
    c: &CommonArgs,
    contenders: &mut [Contender],
) -> anyhow::Result<()> {
    let Some(spec) = &c.check_every else {
        return Ok(());
    };
    let table: IterTable = spec
        .parse()
        .map_err(|e: String| usage(e.replace("--iters", "--check-every")))?;
    for k in table.per_planner.keys() {
        if !contenders
            .iter()
            .any(|x| x.kind.name() == k || x.label == *k)
        {
            return Err(usage(format!(
                "--check-every names '{k}', which is not being run"
            )));
        }
    }
    for x in contenders.iter_mut() {
        if let Some(n) = table
            .per_planner
            .get(x.kind.name())
            .or(table.default.as_ref())
        {
            x.check_every = *n;
        }
    }
    Ok(())
}

/// The budget from --budget-s / --iters / --budget-file (before any --scale-iters calibration).
pub(crate) fn parse_budget(c: &CommonArgs) -> anyhow::Result<BudgetPolicy> {
    if let Some(path) = &c.budget_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a budget file", path.display()));
    }
    if let Some(s) = c.budget_s {
        if !(s.is_finite() && s > 0.0) {
            return Err(usage(format!("--budget-s {s} must be a finite number > 0")));
        }
    }
    Ok(match (&c.iters, c.budget_s) {
        (Some(spec), cap) => BudgetPolicy::Iters {
            table: spec.parse().map_err(usage)?,
            time_cap_s: cap,
            scaled_from: None,
        },
        (None, s) => BudgetPolicy::Time {
            seconds: s.unwrap_or(30.0),
        },
    })
}

/// Creates `dir` and proves it is writable before any long work starts.
pub(crate) fn check_writable(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create directory", dir.display()))?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("--out {}: not writable", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// The command line as run, for provenance.
pub(crate) fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(a) = args.first_mut() {
        *a = "grasp-explorer".into();
    }
    args.join(" ")
}

/// Loads the model and its identity string.
pub(crate) fn load_model(
    env: EnvKind,
    c: &CommonArgs,
) -> anyhow::Result<(
    std::sync::Arc<dyn grasp_explorer::model::WorldModel>,
    String,
)> {
    let model = grasp_explorer::model::load_for_env(env, c.model.as_deref())?;
    let path = c
        .model
        .clone()
        .unwrap_or_else(|| grasp_explorer::model::io::default_model_path(env));
    Ok((model, model_identity(&path).map_err(bench_err)?))
}

/// Calibrates --scale-iters (or adopts the budget of the run being resumed, so the trials stay identical).
pub(crate) fn scaled_budget(
    c: &CommonArgs,
    exec: &mut Executor,
    contenders: &[Contender],
    horizons: &[usize],
    out: &Path,
) -> anyhow::Result<BudgetPolicy> {
    let budget_s = c.budget_s.unwrap_or(30.0);
    if c.resume {
        if let Ok(text) =
            std::fs::read_to_string(out.join(grasp_explorer::bench::session::MANIFEST))
        {
            if let Ok(m) = serde_json::from_str::<Manifest>(&text) {
                if matches!(
                    m.config.budget,
                    BudgetPolicy::Iters {
                        scaled_from: Some(_),
                        ..
                    }
                ) {
                    eprintln!("resuming with the iteration counts calibrated when the run started");
                    return Ok(m.config.budget);
                }
            }
        }
    }
    eprintln!(
        "measuring iteration rates ({} s per planner and horizon)...",
        c.calibrate_s
    );
    let table = exec
        .calibrate(
            contenders,
            horizons,
            budget_s,
            c.calibrate_s,
            |label, h, rate| {
                eprintln!("  {label} H={h}: {rate:.1} iterations/s");
            },
        )
        .map_err(bench_err)?;
    Ok(BudgetPolicy::Iters {
        table,
        time_cap_s: None,
        scaled_from: Some(format!(
            "{budget_s} s × iterations/s measured over {} s per planner and horizon on problem seed \
             {CALIBRATION_SEED}, on {}",
            c.calibrate_s,
            machine_description()
        )),
    })
}

/// Runs a session with a progress bar; returns the summary.
pub(crate) fn run_session(session: &mut Session, exec: &mut Executor) -> anyhow::Result<Summary> {
    let total = session.manifest.config.trials(session.manifest.shard).len() as u64;
    let pb = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} trials, ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb.set_position(session.done.len() as u64);
    pb.enable_steady_tick(Duration::from_millis(500));
    let mut on_row = |r: &grasp_explorer::bench::TrialRecord| {
        pb.inc(1);
        pb.set_message(format!(
            "last: {} H={} #{} {}",
            r.planner,
            r.horizon,
            r.problem,
            if r.success { "success" } else { "fail" }
        ));
    };
    let result = session.run(&mut |c, k, seed, b| exec.run(c, k, seed, b), &mut on_row);
    pb.finish_and_clear();
    result.map_err(bench_err)
}

/// Prints the summary: JSON cells on stdout with --json, else the Markdown tables.
pub(crate) fn print_summary(s: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&s.cells)?);
    } else {
        let md = grasp_explorer::bench::summary::to_markdown(s);
        let table: String = md
            .split("\n## Planner settings")
            .next()
            .unwrap_or(&md)
            .to_string();
        println!("{table}");
    }
    Ok(())
}

/// Runs `bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(BenchCommand::Merge(m)) = args.command {
        let mut notices = Vec::new();
        let s = merge(&m.dirs, &m.out, &mut notices).map_err(bench_err);
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
            Some(TunedSettings::read(path).map_err(bench_err)?),
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
        });
    }
    apply_check_every(c, &mut contenders)?;
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("bench-out/{env}")));
    check_writable(&out)?;
    let (model, model_id) = load_model(env, c)?;
    let mut exec = Executor::new(env, model);
    // Validate everything cheap before calibrating.
    let mut config = BenchConfig {
        env,
        contenders,
        horizons,
        problems,
        seed: c.seed,
        budget: budget.clone(),
        model: model_id,
        settings_source: format!("{settings_source} — {}", sources.join("; ")),
    };
    if !c.scale_iters {
        config.validate().map_err(bench_err)?;
    }
    config.check_evaluation_seeds().map_err(bench_err)?;
    if c.scale_iters {
        budget = scaled_budget(c, &mut exec, &config.contenders, &config.horizons, &out)?;
        config.budget = budget;
        config.validate().map_err(bench_err)?;
        if c.calibrate_only {
            let path = out.join("budget.json");
            let text = serde_json::to_string_pretty(&config.budget)?;
            grasp_explorer::util::write_atomic(&path, format!("{text}\n").as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote {} (pass it to every shard with --budget-file)",
                path.display()
            );
            println!("{text}");
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
    let s = run_session(&mut session, &mut exec)?;
    eprintln!(
        "results in {} (summary.md, summary.json, trials.csv, *.png)",
        out.display()
    );
    print_summary(&s, c.json)
}
