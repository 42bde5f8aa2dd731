//! `grasp-explorer plan`: plan one problem with one planner preset (grasp, cem, gd, gd-adam, latco or a GRASP
//! ablation such as grasp-nosync), judge the final plan by executing it open-loop in the simulator, and print
//! the result as text or one JSON object (`--json`). Flags override any planner setting; one that does not
//! apply to the chosen planner is a usage error. `--out` writes the final plan, `--save-run` the whole run
//! (docs/run-format.md). Exit codes: 2 for bad flag values, 1 for runtime failures, including divergence
//! (the result is still printed first).

use std::path::PathBuf;

use anyhow::Context as _;

use grasp_explorer::env::{EnvKind, Problem, ENV_ACTION_DIM};
use grasp_explorer::model::{io::default_model_path, load_for_env, WorldModel};
use grasp_explorer::plan::runfile::{self, RunHeader, RunWriter};
use grasp_explorer::plan::runner::{run_trial_with, Budget, TrialOptions, TrialResult};
use grasp_explorer::plan::{ModelProblem, PlanError, PlannerKind, PlannerParams, SyncMode};
use grasp_explorer::util::write_atomic;

use super::usage;

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: String,
    /// Planner preset: grasp, grasp-nosync, grasp-sync100, grasp-nonoise, grasp-stategrad, grasp-cemsync,
    /// grasp-nogoal, cem, gd, gd-adam, latco.
    #[arg(long, default_value = "grasp")]
    pub planner: String,
    /// Horizon H in world-model steps (each 5 env steps), ≥ 1.
    #[arg(long, allow_negative_numbers = true)]
    pub horizon: i64,
    /// Problem and planner seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Iteration budget (default: 1000 for grasp/gd/latco, 30 for cem, unless --budget-s is given).
    #[arg(long, allow_negative_numbers = true)]
    pub iters: Option<i64>,
    /// Planner-time budget in seconds (checks excluded).
    #[arg(long, allow_negative_numbers = true)]
    pub budget_s: Option<f64>,
    /// Execute the current plan in the simulator every K iterations to time the first success (0 = only the
    /// final plan). Not counted in planning time.
    #[arg(long, default_value_t = 10)]
    pub check_every: usize,
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
    #[command(flatten)]
    pub overrides: Overrides,
}

/// Planner setting overrides (each applies to the planners named in its help).
#[derive(Debug, Default, clap::Args)]
pub struct Overrides {
    /// [grasp, latco] Adam learning rate of the virtual states (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub lr_states: Option<f32>,
    /// [grasp, latco] Adam learning rate of the actions (default 0.01).
    #[arg(long, allow_negative_numbers = true)]
    pub lr_actions: Option<f32>,
    /// [grasp] State noise σ added after each step (default 0.005).
    #[arg(long, allow_negative_numbers = true)]
    pub noise: Option<f32>,
    /// [grasp] Goal-shaping weight γ (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub goal_weight: Option<f32>,
    /// [grasp] Sync every K iterations (default 50).
    #[arg(long, allow_negative_numbers = true)]
    pub sync_every: Option<i64>,
    /// [grasp] Steps per sync (default 10; CEM-sync iterations for --sync-mode cem).
    #[arg(long, allow_negative_numbers = true)]
    pub sync_steps: Option<i64>,
    /// [grasp] Adam learning rate of a GD sync (default 0.05).
    #[arg(long, allow_negative_numbers = true)]
    pub sync_lr: Option<f32>,
    /// [grasp] Sync mode: gd or cem.
    #[arg(long)]
    pub sync_mode: Option<String>,
    /// [grasp] Samples per CEM-sync iteration (default 64).
    #[arg(long, allow_negative_numbers = true)]
    pub cem_sync_samples: Option<i64>,
    /// [grasp] Elites per CEM-sync iteration (default 8).
    #[arg(long, allow_negative_numbers = true)]
    pub cem_sync_topk: Option<i64>,
    /// [grasp] CEM-sync variance scale on the rollout/virtual-state deviation (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub cem_sync_var_scale: Option<f32>,
    /// [grasp] CEM-sync variance floor (default 0.01).
    #[arg(long, allow_negative_numbers = true)]
    pub cem_sync_var_min: Option<f32>,
    /// [grasp] Turn the sync off.
    #[arg(long)]
    pub no_sync: bool,
    /// [grasp] Keep the main Adam moments across syncs (the reference resets them).
    #[arg(long)]
    pub no_sync_reset: bool,
    /// [grasp] Turn the state noise off.
    #[arg(long)]
    pub no_noise: bool,
    /// [grasp] Allow gradients through the state inputs (no stop-grad).
    #[arg(long)]
    pub state_grads: bool,
    /// [grasp] Turn dense goal shaping off (γ = 0).
    #[arg(long)]
    pub no_goal_shaping: bool,
    /// [grasp] Decay σ and γ linearly within each sync period.
    #[arg(long)]
    pub schedule_decay: bool,
    /// [grasp] γ at the end of each period with --schedule-decay (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub goal_weight_min: Option<f32>,
    /// [grasp] σ at the end of each period with --schedule-decay (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub noise_min: Option<f32>,
    /// [grasp] Std of noise on the initial straight-line states (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub init_noise: Option<f32>,
    /// [grasp, latco] Serial rollout (terminal error) every K iterations in snapshots (default 10).
    #[arg(long, allow_negative_numbers = true)]
    pub rollout_every: Option<i64>,
    /// [cem] Samples per iteration (default 300).
    #[arg(long, allow_negative_numbers = true)]
    pub samples: Option<i64>,
    /// [cem] Elites (default 30).
    #[arg(long, allow_negative_numbers = true)]
    pub topk: Option<i64>,
    /// [cem, gd] Initial action std (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub init_std: Option<f32>,
    /// [cem] Floor on the elite std (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub min_std: Option<f32>,
    /// [gd] Learning rate (default 1 for SGD, 0.1 for gd-adam).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f32>,
    /// [gd] Action noise std after each step (default 0.003).
    #[arg(long, allow_negative_numbers = true)]
    pub action_noise: Option<f32>,
    /// [gd] Use Adam instead of SGD.
    #[arg(long)]
    pub adam: bool,
    /// [all] Bound |a| on normalized actions (default 3; 0 = none).
    #[arg(long, allow_negative_numbers = true)]
    pub action_bound: Option<f32>,
}

fn count(name: &str, v: i64) -> anyhow::Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| usage(format!("--{name} must be an integer >= 1, got {v}")))
}

/// Applies the overrides to a preset's params; a flag for another planner family is a usage error.
pub fn apply_overrides(mut params: PlannerParams, o: &Overrides) -> anyhow::Result<PlannerParams> {
    let family = params.family();
    let mut misplaced: Vec<&str> = Vec::new();
    let mut flag = |set: bool, name: &'static str, ok: &[&str]| {
        if set && !ok.contains(&family) {
            misplaced.push(name);
        }
        set && ok.contains(&family)
    };
    let lifted = ["grasp", "latco"];
    let g = ["grasp"];
    match &mut params {
        PlannerParams::Grasp(p) => {
            if let Some(v) = o.lr_states {
                p.lr_states = v;
            }
            if let Some(v) = o.lr_actions {
                p.lr_actions = v;
            }
            if let Some(v) = o.noise {
                p.noise = v;
            }
            if let Some(v) = o.goal_weight {
                p.goal_weight = v;
            }
            if let Some(v) = o.sync_every {
                p.sync_every = count("sync-every", v)?;
            }
            if let Some(v) = o.sync_steps {
                p.sync_steps = count("sync-steps", v)?;
            }
            if let Some(v) = o.sync_lr {
                p.sync_lr = v;
            }
            if let Some(m) = &o.sync_mode {
                p.sync_mode = match m.to_ascii_lowercase().as_str() {
                    "gd" => SyncMode::Gd,
                    "cem" => SyncMode::Cem,
                    other => {
                        return Err(usage(format!(
                            "--sync-mode must be gd or cem, got '{other}'"
                        )))
                    }
                };
            }
            if let Some(v) = o.cem_sync_samples {
                p.cem_sync_samples = count("cem-sync-samples", v)?;
            }
            if let Some(v) = o.cem_sync_topk {
                p.cem_sync_topk = count("cem-sync-topk", v)?;
            }
            if let Some(v) = o.cem_sync_var_scale {
                p.cem_sync_var_scale = v;
            }
            if let Some(v) = o.cem_sync_var_min {
                p.cem_sync_var_min = v;
            }
            if o.no_sync {
                p.sync_enabled = false;
            }
            if o.no_sync_reset {
                p.sync_resets_adam = false;
            }
            if o.no_noise {
                p.noise_enabled = false;
            }
            if o.state_grads {
                p.state_gradients = true;
            }
            if o.no_goal_shaping {
                p.goal_shaping = false;
            }
            if o.schedule_decay {
                p.schedule_decay = true;
            }
            if let Some(v) = o.goal_weight_min {
                p.goal_weight_min = v;
            }
            if let Some(v) = o.noise_min {
                p.noise_min = v;
            }
            if let Some(v) = o.init_noise {
                p.init_noise = v;
            }
            if let Some(v) = o.rollout_every {
                p.rollout_every = count("rollout-every", v)?;
            }
        }
        PlannerParams::Latco(p) => {
            if let Some(v) = o.lr_states {
                p.lr_states = v;
            }
            if let Some(v) = o.lr_actions {
                p.lr_actions = v;
            }
            if let Some(v) = o.rollout_every {
                p.rollout_every = count("rollout-every", v)?;
            }
        }
        PlannerParams::Cem(p) => {
            if let Some(v) = o.samples {
                p.samples = count("samples", v)?;
            }
            if let Some(v) = o.topk {
                p.topk = count("topk", v)?;
            }
            if let Some(v) = o.init_std {
                p.init_std = v;
            }
            if let Some(v) = o.min_std {
                p.min_std = v;
            }
        }
        PlannerParams::Gd(p) => {
            if let Some(v) = o.lr {
                p.lr = v;
            }
            if let Some(v) = o.action_noise {
                p.action_noise = v;
            }
            if let Some(v) = o.init_std {
                p.init_std = v;
            }
            if o.adam {
                p.adam = true;
            }
        }
    }
    if let Some(b) = o.action_bound {
        match &mut params {
            PlannerParams::Grasp(p) => p.action_bound = b,
            PlannerParams::Cem(p) => p.action_bound = b,
            PlannerParams::Gd(p) => p.action_bound = b,
            PlannerParams::Latco(p) => p.action_bound = b,
        }
    }
    // Report flags given for another family.
    flag(o.lr_states.is_some(), "--lr-states", &lifted);
    flag(o.lr_actions.is_some(), "--lr-actions", &lifted);
    flag(o.rollout_every.is_some(), "--rollout-every", &lifted);
    for (set, name) in [
        (o.noise.is_some(), "--noise"),
        (o.goal_weight.is_some(), "--goal-weight"),
        (o.sync_every.is_some(), "--sync-every"),
        (o.sync_steps.is_some(), "--sync-steps"),
        (o.sync_lr.is_some(), "--sync-lr"),
        (o.sync_mode.is_some(), "--sync-mode"),
        (o.cem_sync_samples.is_some(), "--cem-sync-samples"),
        (o.cem_sync_topk.is_some(), "--cem-sync-topk"),
        (o.cem_sync_var_scale.is_some(), "--cem-sync-var-scale"),
        (o.cem_sync_var_min.is_some(), "--cem-sync-var-min"),
        (o.no_sync, "--no-sync"),
        (o.no_sync_reset, "--no-sync-reset"),
        (o.no_noise, "--no-noise"),
        (o.state_grads, "--state-grads"),
        (o.no_goal_shaping, "--no-goal-shaping"),
        (o.schedule_decay, "--schedule-decay"),
        (o.goal_weight_min.is_some(), "--goal-weight-min"),
        (o.noise_min.is_some(), "--noise-min"),
        (o.init_noise.is_some(), "--init-noise"),
    ] {
        flag(set, name, &g);
    }
    flag(o.samples.is_some(), "--samples", &["cem"]);
    flag(o.topk.is_some(), "--topk", &["cem"]);
    flag(o.min_std.is_some(), "--min-std", &["cem"]);
    flag(o.init_std.is_some(), "--init-std", &["cem", "gd"]);
    flag(o.lr.is_some(), "--lr", &["gd"]);
    flag(o.action_noise.is_some(), "--action-noise", &["gd"]);
    flag(o.adam, "--adam", &["gd"]);
    if !misplaced.is_empty() {
        return Err(usage(format!(
            "{} do(es) not apply to the {family} planner",
            misplaced.join(", ")
        )));
    }
    params.validate().map_err(|e| usage(e.to_string()))?;
    Ok(params)
}

/// Runs `plan`.
pub fn run(args: PlanArgs) -> anyhow::Result<()> {
    let env: EnvKind = args.env.parse().map_err(usage)?;
    let kind: PlannerKind = args.planner.parse().map_err(usage)?;
    let horizon = count("horizon", args.horizon)?;
    let params = apply_overrides(kind.default_params(), &args.overrides)?;
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
    let problem = Problem::generate(env, horizon, args.seed).map_err(|e| usage(e.to_string()))?;
    let model = load_for_env(env, args.model.as_deref())?;
    let model_path = args
        .model
        .clone()
        .unwrap_or_else(|| default_model_path(env));
    let mut writer = match &args.save_run {
        Some(path) => {
            let mp = ModelProblem::from_problem(&problem, model.as_ref())?;
            let info = runfile::ModelInfo {
                path: Some(model_path.display().to_string()),
                state_dim: model.state_dim(),
                action_dim: model.action_dim(),
            };
            let header = RunHeader::new(
                kind.name(),
                params.clone(),
                args.seed,
                problem.clone(),
                mp,
                info,
                args.save_every,
            );
            Some(RunWriter::create(path, &header)?)
        }
        None => None,
    };
    let mut write_err = None;
    let opts = TrialOptions {
        check_every: args.check_every,
        stop_on_success: args.stop_on_success,
    };
    let result = run_trial_with(
        &problem,
        model.clone(),
        &params,
        args.seed,
        budget,
        opts,
        |snap| {
            if let (Some(w), None) = (writer.as_mut(), write_err.as_ref()) {
                if let Err(e) = w.offer(snap) {
                    write_err = Some(e);
                }
            }
        },
    )
    .map_err(|e| match e {
        PlanError::InvalidParam { .. } => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    if let Some(e) = write_err {
        return Err(e.into());
    }
    if let Some(w) = writer {
        w.finish(result.last_snapshot.as_deref(), Some(&result))?;
    }
    if let Some(path) = &args.out {
        write_plan(path, &problem, model.as_ref(), kind, &result)?;
    }
    let report = PlanReport {
        env: env.name(),
        planner: kind.name(),
        horizon,
        seed: args.seed,
        success: result.success,
        final_distance: result.final_distance,
        model_terminal_error: result.model_terminal_error,
        iterations: result.iterations,
        planning_time_s: result.planning_time_s,
        time_to_success_s: result.time_to_success_s,
        iters_per_s: result.iters_per_s,
        diverged: result.diverged.as_deref(),
        check_every: args.check_every,
        stop_on_success: args.stop_on_success,
        check_time_s: result.check_time_s,
        model: model_path.display().to_string(),
        params: &params,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(env, kind, horizon, args.seed, &result);
    }
    if let Some(msg) = result.diverged {
        anyhow::bail!("{msg} (plan stopped; the last finite plan was judged)");
    }
    Ok(())
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
    println!(
        "{env} H={horizon} seed={seed} {kind}: {} (final distance {:.3}, model terminal error {:.4})",
        if r.success { "success" } else { "failure" },
        r.final_distance,
        r.model_terminal_error
    );
    let first = match r.time_to_success_s {
        Some(t) => format!("; first success at {t:.3} s"),
        None => String::new(),
    };
    println!(
        "{} iterations in {:.3} s planner time ({:.0} it/s){first}",
        r.iterations, r.planning_time_s, r.iters_per_s
    );
    if let Some(d) = &r.diverged {
        println!("{d}");
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
