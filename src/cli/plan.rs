//! `grasp-explorer plan`: plan one problem with one planner preset (grasp, cem, gd, gd-adam, latco or a GRASP
//! ablation such as grasp-nosync), judge the final plan by executing it open-loop in the simulator, and print
//! the result as text or one JSON object (`--json`). `--tuned FILE` starts from settings chosen by `tune`
//! instead of the preset's; flags override any planner setting; one that does not apply to the chosen planner
//! is a usage error. `--out` writes the final plan, `--save-run` the whole run
//! (docs/run-format.md). Exit codes: 2 for bad flag values, 1 for runtime failures, including divergence
//! (the result is still printed first).

use std::path::PathBuf;

use anyhow::Context as _;

use grasp_explorer::bench::settings::resolve;
use grasp_explorer::env::{EnvKind, Problem, ENV_ACTION_DIM};
use grasp_explorer::model::trust_model::load_planning_model;
use grasp_explorer::model::{io::default_model_path, WorldModel};
use grasp_explorer::plan::runfile::{self, RunHeader, RunWriter};
use grasp_explorer::plan::runner::{run_trial_in, Budget, TrialOptions, TrialResult};
use grasp_explorer::plan::{ModelProblem, PlanError, PlannerKind, PlannerParams};
use grasp_explorer::util::limits::MAX_HORIZON;
use grasp_explorer::util::write_atomic;

use super::{trust, usage};

#[path = "plan_mpc.rs"]
mod closed_loop;
#[path = "plan_overrides.rs"]
mod overrides;
use overrides::count;
pub use overrides::{apply_overrides, Overrides};

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: String,
    /// Planner preset: grasp, grasp-nosync, grasp-sync100, grasp-nonoise, grasp-stategrad, grasp-cemsync,
    /// grasp-nogoal, grasp-jacobi, cem, gd, gd-adam, latco.
    #[arg(long, default_value = "grasp")]
    pub planner: String,
    /// Horizon H in world-model steps (each 5 env steps), ≥ 1.
    #[arg(long)]
    pub horizon: i64,
    /// Problem and planner seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Iteration budget (default: 1000 for grasp/gd/latco, 30 for cem, unless --budget-s is given).
    #[arg(long)]
    pub iters: Option<i64>,
    /// Planner-time budget in seconds (checks excluded).
    #[arg(long)]
    pub budget_s: Option<f64>,
    /// Execute the current plan in the simulator every K iterations to time the first success (0 = only the
    /// final plan). Not counted in planning time. Default 10, or the `--tuned` file's interval.
    #[arg(long)]
    pub check_every: Option<usize>,
    /// Stop at the first successful check instead of running the whole budget.
    #[arg(long)]
    pub stop_on_success: bool,
    /// World-model file (default: the shipped model for the env).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the final plan (env actions, virtual states, model rollout, simulator states) as JSON.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the run (header + snapshots + result, JSON lines; docs/run-format.md).
    #[arg(long)]
    pub save_run: Option<PathBuf>,
    /// With --save-run: keep every K-th snapshot (plus every sync, a divergence and the last).
    #[arg(long, default_value_t = 1)]
    pub save_every: usize,
    /// Start from the settings `tune` chose for this planner (e.g. assets/tuned/pusht-h10.json) instead of the
    /// preset defaults; setting flags still override them.
    #[arg(long, value_name = "FILE")]
    pub tuned: Option<PathBuf>,
    /// Planner threads (CEM splits its samples over them; plans are the same for any count). Default: all
    /// cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// The disagreement (env units) up to which a plan step is trusted; the report then gives the trust
    /// horizon beside the members' disagreement and the simulator's divergence. Default: the threshold
    /// calibrated for the ensemble (its `.trust.json`). Needs an ensemble: the --model file, or the shipped
    /// ensemble around the shipped model.
    #[arg(long, allow_hyphen_values = true)]
    pub trust_threshold: Option<f32>,
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(flatten)]
    pub mpc: super::mpc_args::MpcArgs,
}

/// Success-check interval of `plan` when neither `--check-every` nor a `--tuned` file gives one.
const DEFAULT_CHECK_EVERY: usize = 10;

/// The planner settings and check interval to start from: the preset's, or the tuned file's entry for `kind`.
pub(super) fn base_params(
    env: EnvKind,
    kind: PlannerKind,
    tuned: Option<&PathBuf>,
) -> anyhow::Result<(PlannerParams, usize)> {
    let Some(path) = tuned else {
        return Ok((kind.default_params(), DEFAULT_CHECK_EVERY));
    };
    let t = super::limits::read_tuned("--tuned", path, env)?;
    super::limits::check_tuned_covers("--tuned", &t, &[kind], path)?;
    let (params, check_every, _) = resolve(kind, Some(&t))?;
    Ok((params, check_every))
}

/// Runs `plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let env: EnvKind = args.env.parse().map_err(usage)?;
    let kind: PlannerKind = args.planner.parse().map_err(usage)?;
    let horizon = super::limits::bound("--horizon", count("horizon", args.horizon)?, MAX_HORIZON)?;
    let (base, tuned_check_every) = base_params(env, kind, args.tuned.as_ref())?;
    let params = apply_overrides(base.clone(), &args.overrides)?;
    let check_every = args.check_every.unwrap_or(tuned_check_every);
    let max_iters = match args.iters {
        Some(n) => Some(count("iters", n)?),
        None if args.budget_s.is_some() => None,
        None => Some(params.default_iterations()),
    };
    if let Some(s) = args.budget_s {
        if !(s.is_finite() && s > 0.0) {
            return Err(usage(format!("--budget-s must be a number > 0, got {s}")));
        }
    }
    if args.save_every == 0 {
        return Err(usage("--save-every must be >= 1"));
    }
    let budget = Budget {
        max_iters,
        max_seconds: args.budget_s,
    };
    // `--mpc-execute trust`: the settings execute one step, the ensemble decides how many (below).
    let trust_exec = args.mpc.trust_execution();
    let mpc = args.mpc.settings(horizon, budget)?;
    super::limits::check_outputs(&[
        ("--out", args.out.as_deref()),
        ("--save-run", args.save_run.as_deref()),
    ])?;
    if let Some(t) = args.trust_threshold {
        trust::check_threshold(t)?;
        if args.mpc.mpc && !trust_exec {
            return Err(usage(
                "--trust-threshold with --mpc applies to --mpc-execute trust (the closed-loop report has no trust figures)",
            ));
        }
    }
    let problem = Problem::generate(env, horizon, args.seed).map_err(|e| usage(e.to_string()))?;
    // The shipped ensemble (or an ensemble --model) plans as its designated member, bit for bit; its other
    // members give the trust figures, the disagreement penalty and adaptive MPC.
    let wants_ensemble =
        params.trust_penalty() > 0.0 || trust_exec || args.trust_threshold.is_some();
    let planning = load_planning_model(env, args.model.as_deref(), true, wants_ensemble)?;
    if let Some(note) = &planning.note {
        eprintln!("note: {note}");
    }
    let needs_threshold = trust_exec || args.trust_threshold.is_some();
    let trust_threshold = match trust::threshold_for(args.trust_threshold, &planning, env) {
        // Nothing needs a threshold: a broken calibration only costs the report its trust horizon.
        Err(e) if !needs_threshold => {
            eprintln!("note: {}; no trust horizon", super::one_line(&e));
            None
        }
        other => other?,
    };
    let model = planning.model.clone();
    let ensemble = planning.ensemble.as_ref().map(|(e, _)| e.as_ref());
    let model_path = args
        .model
        .clone()
        .unwrap_or_else(|| default_model_path(env));
    // Recorded in a saved run's header, as the app records its settings selector.
    let mut settings_label = match &args.tuned {
        Some(p) => format!("tuned ({})", p.display()),
        None => "preset defaults".to_string(),
    };
    if params != base {
        settings_label.push_str(" + flags");
    }
    if let Some(mpc) = &mpc {
        let save_run = match &args.save_run {
            Some(path) => {
                let mp = ModelProblem::from_problem(&problem, model.as_ref())?;
                let info = runfile::ModelInfo {
                    path: Some(model_path.display().to_string()),
                    state_dim: model.state_dim(),
                    action_dim: model.action_dim(),
                };
                let mut header = RunHeader::new(
                    kind.name(),
                    params.clone(),
                    args.seed,
                    problem.clone(),
                    mp,
                    info,
                    args.save_every,
                );
                header.mpc = Some(mpc.clone());
                header.settings = Some(settings_label.clone());
                Some((header, path.as_path()))
            }
            None => None,
        };
        let cl = closed_loop::ClosedLoop {
            env,
            kind,
            seed: args.seed,
            params: &params,
            mpc,
            model_path: model_path.display().to_string(),
            json: args.json,
            out: args.out.as_deref(),
            save_run,
            parallel: super::planner_pool(args.threads)?,
            trust: if trust_exec {
                Some(trust::adaptive(&planning, env, args.trust_threshold)?)
            } else {
                None
            },
        };
        return closed_loop::run(&problem, model, cl);
    }
    let mut writer = match &args.save_run {
        Some(path) => {
            let mp = ModelProblem::from_problem(&problem, model.as_ref())?;
            let info = runfile::ModelInfo {
                path: Some(model_path.display().to_string()),
                state_dim: model.state_dim(),
                action_dim: model.action_dim(),
            };
            let mut header = RunHeader::new(
                kind.name(),
                params.clone(),
                args.seed,
                problem.clone(),
                mp,
                info,
                args.save_every,
            );
            header.settings = Some(settings_label);
            Some(
                RunWriter::create(path, &header)
                    .with_context(|| format!("--save-run {}", path.display()))?,
            )
        }
        None => None,
    };
    let mut write_err = None;
    let opts = TrialOptions {
        check_every,
        stop_on_success: args.stop_on_success,
    };
    let parallel = super::planner_pool(args.threads)?;
    let cpu_before = grasp_explorer::util::cpu::thread_cpu_seconds();
    let result = run_trial_in(
        &problem,
        model.clone(),
        &params,
        args.seed,
        budget,
        opts,
        &parallel,
        |snap| {
            if let (Some(w), None) = (writer.as_mut(), write_err.as_ref()) {
                if let Err(e) = w.offer(snap) {
                    write_err = Some(e);
                }
            }
        },
    )
    .map_err(|e| match e {
        PlanError::InvalidParam { .. } | PlanError::Limit(_) => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    let cpu_s = cpu_before
        .zip(grasp_explorer::util::cpu::thread_cpu_seconds())
        .map(|(a, b)| b - a);
    if let Some(w) = writer {
        w.finish(result.last_snapshot.as_deref(), Some(&result))?;
    }
    if let Some(path) = &args.out {
        write_plan(path, &problem, model.as_ref(), kind, &result)?;
    }
    let trust = match ensemble {
        Some(e) => Some(grasp_explorer::plan::trust::trust_report(
            &problem,
            e,
            &result.model_actions,
            trust_threshold,
        )?),
        None => None,
    };
    let report = PlanReport {
        env: env.name(),
        planner: kind.name(),
        horizon,
        seed: args.seed,
        success: result.success,
        final_distance: result.final_distance,
        model_terminal_error: result.model_terminal_error,
        model_success: result.model_success,
        median_residual: result.last_snapshot.as_deref().map(median_residual),
        cpu_s,
        iterations: result.iterations,
        planning_time_s: result.planning_time_s,
        time_to_success_s: result.time_to_success_s,
        iters_per_s: result.iters_per_s,
        diverged: result.diverged.as_deref(),
        check_every,
        stop_on_success: args.stop_on_success,
        check_time_s: result.check_time_s,
        model: model_path.display().to_string(),
        params: &params,
        trust: trust.as_ref(),
    };
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(env, kind, horizon, args.seed, &result);
        if let Some(t) = &trust {
            outln!("{}", trust::describe(t, horizon));
        }
    }
    if let Some(msg) = result.diverged {
        anyhow::bail!("{msg} (plan stopped; the last finite plan was judged)");
    }
    if !(result.final_distance.is_finite() && result.model_terminal_error.is_finite()) {
        anyhow::bail!(
            "the result is not finite (final distance {}, model terminal error {}): the model's rollout overflows",
            result.final_distance,
            result.model_terminal_error
        );
    }
    Ok(())
}

/// Median of a snapshot's per-step dynamics residuals (how far the virtual states are from a trajectory).
fn median_residual(s: &grasp_explorer::plan::Snapshot) -> f32 {
    let mut r: Vec<f32> = s
        .residuals
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if r.is_empty() {
        return 0.0;
    }
    r.sort_by(f32::total_cmp);
    r[r.len() / 2]
}

/// The `--json` object.
#[derive(serde::Serialize)]
struct PlanReport<'a> {
    env: &'a str,
    planner: &'a str,
    horizon: usize,
    seed: u64,
    success: bool,
    final_distance: f32,
    model_terminal_error: f32,
    /// The model rollout's decoded terminal state meets the env's success rule.
    model_success: bool,
    /// Median over steps of ‖F(s̄_t, a_t) − s_{t+1}‖ at the last iteration (0 for rollout planners).
    median_residual: Option<f32>,
    /// CPU seconds of the planning thread over the whole trial (planning, success checks, final rollout,
    /// `--save-run` writing; a `--threads` pool's CPU is not counted). Unlike `planning_time_s` it does not grow with other load.
    cpu_s: Option<f64>,
    iterations: usize,
    planning_time_s: f64,
    time_to_success_s: Option<f64>,
    iters_per_s: f64,
    diverged: Option<&'a str>,
    check_every: usize,
    stop_on_success: bool,
    check_time_s: f64,
    model: String,
    params: &'a PlannerParams,
    /// With an ensemble model: disagreement per step, trust horizon, divergence step (flattened in).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    trust: Option<&'a grasp_explorer::plan::trust::TrustReport>,
}

/// The `--out` file: the final plan in env units (states decoded from model space).
#[derive(serde::Serialize)]
struct PlanFile<'a> {
    env: &'a str,
    planner: &'a str,
    horizon: usize,
    seed: u64,
    start: &'a [f32],
    goal: &'a [f32],
    success: bool,
    final_distance: f32,
    /// 5·H rows of [x, y] env actions.
    env_actions: Vec<Vec<f32>>,
    /// H rows of K normalized model actions.
    model_actions: Vec<Vec<f32>>,
    /// The planner's states s_0..s_H (GRASP/LatCo virtual states; CEM/GD their rollout), env units.
    virtual_states: Option<Vec<Vec<f32>>>,
    /// Serial model rollout of the final actions, env units.
    model_rollout: Vec<Vec<f32>>,
    /// Simulator states after each world-model step, env units.
    sim_states: Vec<Vec<f32>>,
}

fn print_text(env: EnvKind, kind: PlannerKind, horizon: usize, seed: u64, r: &TrialResult) {
    outln!(
        "{env} H={horizon} seed={seed} {kind}: {} (final distance {:.3}, model terminal error {:.4})",
        if r.success { "success" } else { "failure" },
        r.final_distance,
        r.model_terminal_error
    );
    let first = match r.time_to_success_s {
        Some(t) => format!("; first success at {t:.3} s"),
        None => String::new(),
    };
    outln!(
        "{} iterations in {:.3} s planner time ({:.0} it/s){first}",
        r.iterations,
        r.planning_time_s,
        r.iters_per_s
    );
    if let Some(d) = &r.diverged {
        outln!("{d}");
    }
}

fn rows(flat: &[f32], width: usize) -> Vec<Vec<f32>> {
    flat.chunks(width.max(1)).map(|c| c.to_vec()).collect()
}

fn write_plan(
    path: &std::path::Path,
    problem: &Problem,
    model: &dyn WorldModel,
    kind: PlannerKind,
    r: &TrialResult,
) -> anyhow::Result<()> {
    let (d, k) = (model.state_dim(), model.action_dim());
    let decode =
        |flat: &[f32]| -> Vec<Vec<f32>> { flat.chunks(d).map(|s| model.decode_state(s)).collect() };
    let snap = r.last_snapshot.as_deref();
    let exec = grasp_explorer::plan::runner::execute_plan(problem, model, &r.model_actions)?;
    let mp = ModelProblem::from_problem(problem, model)?;
    let rollout = grasp_explorer::model::rollout::rollout(
        model,
        &mp.start,
        &r.model_actions,
        1,
        problem.horizon,
        &mut Default::default(),
    );
    let doc = PlanFile {
        env: problem.env.name(),
        planner: kind.name(),
        horizon: problem.horizon,
        seed: problem.seed,
        start: &problem.start,
        goal: &problem.goal,
        success: r.success,
        final_distance: r.final_distance,
        env_actions: rows(&r.env_actions, ENV_ACTION_DIM),
        model_actions: rows(&r.model_actions, k),
        virtual_states: snap.map(|s| decode(&s.states)),
        model_rollout: decode(&rollout),
        sim_states: exec.env_states,
    };
    let text = serde_json::to_string(&doc)? + "\n";
    write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
