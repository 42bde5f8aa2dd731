//! Flags and steps shared by `bench` and `tune`: parsing lists, budgets and check intervals into the protocol's
//! types, loading the model, calibrating `--scale-iters`, running a session with a progress bar, printing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::cli::usage;
use grasp_explorer::bench::exec::{model_identity, Executor, CALIBRATION_SEED};
use grasp_explorer::bench::summary::machine_description;
use grasp_explorer::bench::{
    BenchConfig, BenchError, BudgetPolicy, Contender, IterTable, Manifest, Session, Summary,
};
use grasp_explorer::env::EnvKind;
use grasp_explorer::util::limits;

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
    /// Problem i uses seed SEED + i (`tune`: tuning seed 10^12 + SEED + i).
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
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
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
    /// Closed-loop flags: with --mpc every contender runs as an MPC episode (labelled `<planner>+mpc`).
    #[command(flatten)]
    pub mpc: crate::cli::mpc_args::MpcArgs,
    /// [--mpc-execute trust] The ensemble disagreement (env units) up to which a plan step is trusted.
    /// Default: the threshold calibrated for the ensemble (its `.trust.json`).
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub trust_threshold: Option<f32>,
}

/// Converts a benchmark error: bad settings are usage errors (exit 2), the rest runtime errors (exit 1).
pub fn bench_err(e: BenchError) -> anyhow::Error {
    match e {
        BenchError::Config(m) => usage(m),
        other => anyhow::Error::new(other),
    }
}

/// The env named by --env.
pub fn parse_env(c: &CommonArgs) -> anyhow::Result<EnvKind> {
    let env = c
        .env
        .as_deref()
        .ok_or_else(|| usage("--env is required (pusht, pointmaze or wall)"))?;
    env.parse().map_err(usage)
}

/// Parses a comma-separated list with `parse`, rejecting empty lists and entries.
pub fn parse_list<T>(
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
pub fn parse_horizons(c: &CommonArgs) -> anyhow::Result<Vec<usize>> {
    let text = c
        .horizons
        .as_deref()
        .ok_or_else(|| usage("--horizons is required, e.g. 40,50"))?;
    parse_list("--horizons", text, |s| {
        s.parse::<usize>()
            .ok()
            .filter(|h| *h > 0)
            .ok_or_else(|| format!("--horizons: '{s}' is not a positive integer"))
            .and_then(|h| {
                limits::check_usize("--horizons", h, limits::MAX_HORIZON)
                    .map(|()| h)
                    .map_err(|e| e.to_string())
            })
    })
}

/// Parses --problems (required, ≥ 1) unless `default` is given.
pub fn parse_problems(c: &CommonArgs, default: Option<usize>) -> anyhow::Result<usize> {
    match c.problems.or(default) {
        None => Err(usage("--problems is required")),
        Some(0) => Err(usage("--problems must be at least 1")),
        Some(n) => crate::cli::limits::bound("--problems", n, limits::MAX_PROBLEMS),
    }
}

/// Applies --check-every to the contenders.
pub fn apply_check_every(c: &CommonArgs, contenders: &mut [Contender]) -> anyhow::Result<()> {
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
pub fn parse_budget(c: &CommonArgs) -> anyhow::Result<BudgetPolicy> {
    if c.scale_iters && !(c.calibrate_s.is_finite() && c.calibrate_s > 0.0) {
        return Err(usage(format!(
            "--calibrate-s {} must be a finite number > 0",
            c.calibrate_s
        )));
    }
    if let Some(path) = &c.budget_file {
        let mut v = read_budget_json(path)?;
        if let serde_json::Value::Object(m) = &mut v {
            for k in ORIGIN_KEYS {
                m.remove(k);
            }
        }
        let policy: BudgetPolicy = serde_json::from_value(v)
            .with_context(|| format!("{} is not a budget file", path.display()))?;
        check_budget_file(&policy)
            .map_err(|m| usage(format!("--budget-file {}: {m}", path.display())))?;
        return Ok(policy);
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
            equal_time_s: None,
        },
        (None, s) => BudgetPolicy::Time {
            seconds: s.unwrap_or(30.0),
        },
    })
}

/// What a budget file written by `--calibrate-only` records besides the budget: the env and world model it
/// was measured on (older files lack them).
const ORIGIN_KEYS: [&str; 2] = ["env", "model"];

fn read_budget_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a budget file", path.display()))
}

/// The text of a budget file: the budget, and the env and world model (`model` as in run.json) it was
/// calibrated on.
pub fn budget_file_text(
    policy: &BudgetPolicy,
    env: EnvKind,
    model: &str,
) -> anyhow::Result<String> {
    let mut v = serde_json::to_value(policy)?;
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("env".into(), env.name().into());
        m.insert("model".into(), model.into());
    }
    Ok(format!("{}\n", serde_json::to_string_pretty(&v)?))
}

/// Refuses a `--budget-file` calibrated on another env (its counts stand for time on another task), and notes
/// one calibrated with other model weights (compared by size and hash, not file name): the model-selection
/// scripts give candidate models one calibration on purpose, so iteration counts, not seconds, are equal.
/// Files without the record are taken as they are.
pub fn check_budget_origin(c: &CommonArgs, env: EnvKind, model: &str) -> anyhow::Result<()> {
    let Some(path) = &c.budget_file else {
        return Ok(());
    };
    let v = read_budget_json(path)?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    if let Some(e) = field("env").filter(|e| e != env.name()) {
        return Err(usage(format!(
            "--budget-file {} was calibrated on {e}, not {env}; calibrate this run's own with \
             --scale-iters --calibrate-only",
            path.display()
        )));
    }
    // "name (N bytes, fnv1a64 H)": the weights are the part in brackets.
    let weights = |id: &str| {
        id.split_once(" (")
            .map_or(id.to_string(), |(_, w)| w.to_string())
    };
    if let Some(m) = field("model").filter(|m| weights(m) != weights(model)) {
        eprintln!(
            "note: --budget-file {} was calibrated with the world model {m}; this run uses {model}, so its \
             counts are equal iterations, not equal time",
            path.display()
        );
    }
    Ok(())
}

/// A budget file holds the same values the flags would accept: counts ≥ 1, times finite and > 0.
fn check_budget_file(policy: &BudgetPolicy) -> Result<(), String> {
    let seconds_ok = |s: f64| s.is_finite() && s > 0.0;
    match policy {
        BudgetPolicy::Time { seconds } if !seconds_ok(*seconds) => Err(format!(
            "seconds must be a finite number > 0, got {seconds}"
        )),
        BudgetPolicy::Time { .. } => Ok(()),
        BudgetPolicy::Iters {
            table, time_cap_s, ..
        } => {
            let entries = table
                .default
                .iter()
                .map(|n| ("default".to_string(), *n))
                .chain(table.per_planner.iter().map(|(k, n)| (k.clone(), *n)))
                .chain(table.per_cell.iter().map(|(k, n)| (k.clone(), *n)));
            for (k, n) in entries {
                if n == 0 {
                    return Err(format!("iterations for {k} must be at least 1, got 0"));
                }
            }
            match time_cap_s {
                Some(s) if !seconds_ok(*s) => {
                    Err(format!("time_cap_s must be a finite number > 0, got {s}"))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Checks everything cheap in `config` before anything is written or calibrated; with `--scale-iters` the
/// budget is still to be measured, so a placeholder stands for it (the measured one is checked later).
pub fn validate_before_writing(config: &BenchConfig, scale_iters: bool) -> anyhow::Result<()> {
    let placeholder;
    let cheap = if scale_iters {
        placeholder = BenchConfig {
            budget: BudgetPolicy::Time { seconds: 1.0 },
            ..config.clone()
        };
        &placeholder
    } else {
        config
    };
    cheap.validate().map_err(bench_err)
}

/// Creates `dir` and proves it is writable before any long work starts.
pub fn check_writable(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create directory", dir.display()))?;
    grasp_explorer::util::check_can_write(&dir.join("write-test"))
        .with_context(|| format!("--out {}: not writable", dir.display()))
}

/// The command line as run, for provenance.
pub fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(a) = args.first_mut() {
        *a = "grasp-explorer".into();
    }
    args.join(" ")
}

/// The planning model of a run, its identity string, and the ensemble and threshold of adaptive MPC.
pub struct RunModel {
    /// What the planners use (an ensemble when a contender needs one; it plans as its designated member).
    pub model: std::sync::Arc<dyn grasp_explorer::model::WorldModel>,
    /// The identity (`model_identity`) of the file that holds it.
    pub id: String,
    /// Set when a contender executes adaptively (`--mpc-execute trust`).
    pub trust: Option<grasp_explorer::plan::mpc::TrustExecution>,
}

/// Loads the model (as an ensemble when a contender has a disagreement penalty or executes adaptively: the
/// --model ensemble, or the shipped one around the shipped model) and its identity string. Every adaptive
/// contender's spec gets the threshold it runs with, so the run's settings say it: `--trust-threshold`
/// (overriding a tuned file's), else its own (a tuned file's or a grid point's), else the ensemble's
/// calibration.
pub fn load_model(
    env: EnvKind,
    c: &CommonArgs,
    contenders: &mut [Contender],
) -> anyhow::Result<RunModel> {
    let adaptive = contenders
        .iter()
        .any(|k| k.mpc.as_ref().is_some_and(|m| m.trust));
    let penalty = contenders.iter().any(|k| k.params.trust_penalty() > 0.0);
    if let Some(t) = c.trust_threshold {
        if !adaptive {
            return Err(usage(
                "--trust-threshold applies to --mpc --mpc-execute trust",
            ));
        }
        crate::cli::trust::check_threshold(t)?;
    }
    let planning = grasp_explorer::model::trust_model::load_planning_model(
        env,
        c.model.as_deref(),
        false,
        adaptive || penalty,
    )?;
    let trust = if adaptive {
        let t = crate::cli::trust::adaptive(&planning, env, c.trust_threshold)?;
        for spec in contenders.iter_mut().filter_map(|k| k.mpc.as_mut()) {
            if spec.trust {
                spec.trust_threshold = c
                    .trust_threshold
                    .or(spec.trust_threshold)
                    .or(Some(t.threshold));
            }
        }
        Some(t)
    } else {
        None
    };
    let path = c
        .model
        .clone()
        .unwrap_or_else(|| grasp_explorer::model::io::default_model_path(env));
    Ok(RunModel {
        id: model_identity(planning.identity_path(&path)).map_err(bench_err)?,
        model: planning.model,
        trust,
    })
}

/// Calibrates --scale-iters (or adopts the budget of the run being resumed, so the trials stay identical).
pub fn scaled_budget(
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
                if let BudgetPolicy::Iters {
                    equal_time_s: Some(t),
                    ..
                } = m.config.budget
                {
                    if t != budget_s {
                        return Err(usage(format!(
                            "--resume: {} was calibrated for --budget-s {t}, not {budget_s}",
                            out.display()
                        )));
                    }
                    eprintln!("resuming with the iteration counts calibrated when the run started");
                    return Ok(m.config.budget);
                }
            }
        }
    }
    if !(c.calibrate_s.is_finite() && c.calibrate_s > 0.0) {
        return Err(usage(format!(
            "--calibrate-s {} must be a finite number > 0",
            c.calibrate_s
        )));
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
                eprintln!("  {label} H={h}: {rate:.1} iterations per CPU second");
            },
        )
        .map_err(bench_err)?;
    Ok(BudgetPolicy::Iters {
        table,
        time_cap_s: None,
        scaled_from: Some(format!(
            "{budget_s} CPU s × iterations per CPU second of the planner thread, measured over {} s per \
             planner and horizon on problem seed {CALIBRATION_SEED}, on {}",
            c.calibrate_s,
            machine_description()
        )),
        equal_time_s: Some(budget_s),
    })
}

/// Runs a session with a progress bar; returns the summary.
pub fn run_session(session: &mut Session, exec: &mut Executor) -> anyhow::Result<Summary> {
    let total = session.manifest.config.trials(session.manifest.shard).len() as u64;
    let pb = crate::cli::progress::progress_bar(total, "trials");
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
pub fn print_summary(s: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(&s.cells)?);
    } else {
        let md = grasp_explorer::bench::summary::to_markdown(s);
        let table: String = md
            .split("\n## Planner settings")
            .next()
            .unwrap_or(&md)
            .to_string();
        outln!("{table}");
    }
    Ok(())
}
