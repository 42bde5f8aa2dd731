//! `plan`'s planner-setting flags: one optional flag per setting of every planner family, applied onto a
//! preset's params; a flag for a family other than the chosen planner's is a usage error.

use grasp_explorer::plan::{PlannerParams, StateStep, SyncMode};

use super::super::limits::bound;
use super::super::usage;
use grasp_explorer::util::limits::{MAX_SAMPLES, MAX_SYNC_STEPS};

/// Planner setting overrides (each applies to the planners named in its help).
#[derive(Debug, Default, clap::Args)]
pub struct Overrides {
    /// [grasp, latco] Adam learning rate of the virtual states (default 0.1).
    #[arg(long)]
    pub lr_states: Option<f32>,
    /// [grasp, latco] Adam learning rate of the actions (default 0.01).
    #[arg(long)]
    pub lr_actions: Option<f32>,
    /// [grasp] How the virtual states move: adam (default) or gradient (plain step; --lr-states 0.5 is an
    /// exact Jacobi sweep).
    #[arg(long)]
    pub state_step: Option<String>,
    /// [grasp] State noise σ added after each step (default 0.005).
    #[arg(long)]
    pub noise: Option<f32>,
    /// [grasp] Goal-shaping weight γ (default 1).
    #[arg(long)]
    pub goal_weight: Option<f32>,
    /// [grasp] Sync every K iterations (default 50).
    #[arg(long)]
    pub sync_every: Option<i64>,
    /// [grasp] Steps per sync (default 10; CEM-sync iterations for --sync-mode cem).
    #[arg(long)]
    pub sync_steps: Option<i64>,
    /// [grasp] Adam learning rate of a GD sync (default 0.05).
    #[arg(long)]
    pub sync_lr: Option<f32>,
    /// [grasp] Sync mode: gd or cem.
    #[arg(long)]
    pub sync_mode: Option<String>,
    /// [grasp] Samples per CEM-sync iteration (default 64).
    #[arg(long)]
    pub cem_sync_samples: Option<i64>,
    /// [grasp] Elites per CEM-sync iteration (default 8).
    #[arg(long)]
    pub cem_sync_topk: Option<i64>,
    /// [grasp] CEM-sync variance scale on the rollout/virtual-state deviation (default 1).
    #[arg(long)]
    pub cem_sync_var_scale: Option<f32>,
    /// [grasp] CEM-sync variance floor (default 0.01).
    #[arg(long)]
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
    #[arg(long)]
    pub goal_weight_min: Option<f32>,
    /// [grasp] σ at the end of each period with --schedule-decay (default 0).
    #[arg(long)]
    pub noise_min: Option<f32>,
    /// [grasp] Std of noise on the initial straight-line states (default 0).
    #[arg(long)]
    pub init_noise: Option<f32>,
    /// [grasp, latco] Serial rollout (terminal error) every K iterations in snapshots (default 10).
    #[arg(long)]
    pub rollout_every: Option<i64>,
    /// [cem] Samples per iteration (default 300).
    #[arg(long)]
    pub samples: Option<i64>,
    /// [cem] Elites (default 30).
    #[arg(long)]
    pub topk: Option<i64>,
    /// [cem, gd] Initial action std (default 1).
    #[arg(long)]
    pub init_std: Option<f32>,
    /// [cem] Floor on the elite std (default 0).
    #[arg(long)]
    pub min_std: Option<f32>,
    /// [gd] Learning rate (default 1 for SGD, 0.1 for gd-adam).
    #[arg(long)]
    pub lr: Option<f32>,
    /// [gd] Action noise std after each step (default 0.003).
    #[arg(long)]
    pub action_noise: Option<f32>,
    /// [gd] Use Adam instead of SGD.
    #[arg(long)]
    pub adam: bool,
    /// [all] Bound |a| on normalized actions (default 3; 0 = none).
    #[arg(long)]
    pub action_bound: Option<f32>,
    /// [grasp, cem] Weight of the ensemble-disagreement penalty (default 0 = off): plans are pushed to where
    /// the ensemble's members agree. Uses the --model ensemble, or the shipped ensemble around the shipped
    /// model (docs/trust.md).
    #[arg(long, allow_hyphen_values = true)]
    pub trust_penalty: Option<f32>,
}

pub(super) fn count(name: &str, v: i64) -> anyhow::Result<usize> {
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
                p.sync_steps = bound("--sync-steps", count("sync-steps", v)?, MAX_SYNC_STEPS)?;
            }
            if let Some(v) = o.sync_lr {
                p.sync_lr = v;
            }
            if let Some(m) = &o.state_step {
                p.state_step = match m.to_ascii_lowercase().as_str() {
                    "adam" => StateStep::Adam,
                    "gradient" => StateStep::Gradient,
                    other => {
                        return Err(usage(format!(
                            "--state-step must be adam or gradient, got '{other}'"
                        )))
                    }
                };
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
                p.cem_sync_samples = bound(
                    "--cem-sync-samples",
                    count("cem-sync-samples", v)?,
                    MAX_SAMPLES,
                )?;
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
                p.samples = bound("--samples", count("samples", v)?, MAX_SAMPLES)?;
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
    if let Some(w) = o.trust_penalty {
        if !(w.is_finite() && w >= 0.0) {
            return Err(usage(format!(
                "--trust-penalty must be a finite number >= 0, got {w}"
            )));
        }
        match &mut params {
            PlannerParams::Grasp(p) => p.trust_penalty = w,
            PlannerParams::Cem(p) => p.trust_penalty = w,
            PlannerParams::Gd(_) | PlannerParams::Latco(_) => {}
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
        (o.state_step.is_some(), "--state-step"),
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
    flag(
        o.trust_penalty.is_some(),
        "--trust-penalty",
        &["grasp", "cem"],
    );
    flag(o.topk.is_some(), "--topk", &["cem"]);
    flag(o.min_std.is_some(), "--min-std", &["cem"]);
    flag(o.init_std.is_some(), "--init-std", &["cem", "gd"]);
    flag(o.lr.is_some(), "--lr", &["gd"]);
    flag(o.action_noise.is_some(), "--action-noise", &["gd"]);
    flag(o.adam, "--adam", &["gd"]);
    if !misplaced.is_empty() {
        let verb = if misplaced.len() == 1 { "does" } else { "do" };
        return Err(usage(format!(
            "{} {verb} not apply to the {family} planner",
            misplaced.join(", ")
        )));
    }
    params.validate().map_err(|e| usage(e.to_string()))?;
    Ok(params)
}
