//! Planner settings: one struct per planner, each field documenting meaning, range and default (spec §A.8,
//! §B), and their checks. The named presets built from them live in [`super::presets`].

pub use super::presets::PlannerKind;

use serde::{Deserialize, Serialize};

use super::PlanError;

/// Default |a| bound in normalized action units (data std): 3 covers the scripted/expert data the shipped
/// models were trained on (Push-T reference plans peak near 3.3) while keeping optimizers out of the region
/// where the models are unconstrained. Not in the GRASP paper or DINO-WM; 0 turns it off.
pub const DEFAULT_ACTION_BOUND: f32 = 3.0;

/// How GRASP's periodic full-rollout sync refines the actions (spec §A.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// J_sync Adam steps on ‖rollout_T(a) − g‖² through the serial rollout (reference behaviour).
    Gd,
    /// J_sync CEM iterations around the current actions, variance from rollout/virtual-state deviation.
    Cem,
}

/// How GRASP moves its virtual states each iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateStep {
    /// Adam on the states with rate `lr_states` (the reference port [L]).
    #[default]
    Adam,
    /// The paper's plain gradient step s ← s − η_s ∇_s L on the loss summed over state dims (Eq. 11), with
    /// η_s = `lr_states` in (0, 1]. Without state gradients η_s = ½ sets every s_{t+1} to F(s̄_t, a_t): an exact
    /// Jacobi sweep of the dynamics.
    Gradient,
}

impl StateStep {
    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            StateStep::Adam => "adam",
            StateStep::Gradient => "gradient",
        }
    }
}

/// GRASP settings (spec §A). Defaults follow the author's reference port [L] with K_sync = 50.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GraspParams {
    /// Learning rate of the virtual states: Adam's rate (> 0, default 0.1), or η_s in (0, 1] of a plain
    /// gradient step (`state_step = gradient`; ½ = exact Jacobi sweep).
    pub lr_states: f32,
    /// How the virtual states move: Adam (default, [L]) or the paper's plain gradient step.
    pub state_step: StateStep,
    /// Adam learning rate of the actions. > 0, default 0.01 ([L] code; its yaml uses 0.005).
    pub lr_actions: f32,
    /// Std σ of the Gaussian noise added to the virtual states after each state step (not scaled by the
    /// learning rate; model-space units). ≥ 0, default 0.005 ([L] yaml).
    pub noise: f32,
    /// Weight γ of the dense goal term Σ_t mean_d (F(s̄_t,a_t) − g)². ≥ 0, default 1.0.
    pub goal_weight: f32,
    /// Run the sync every K_sync iterations (trigger `(k+1) % K_sync == 0 && k > 0`). ≥ 1, default 50.
    pub sync_every: usize,
    /// Steps per sync (Adam steps for `Gd`, CEM iterations for `Cem`). ≥ 1, default 10.
    pub sync_steps: usize,
    /// Adam learning rate of a GD sync. > 0, default 0.05.
    pub sync_lr: f32,
    /// GD or CEM sync. Default GD.
    pub sync_mode: SyncMode,
    /// Reset the main Adam's moments (states and actions) after each sync, as the reference re-creates its
    /// optimizer. Default on.
    pub sync_resets_adam: bool,
    /// Samples per CEM-sync iteration. ≥ 2, default 64.
    pub cem_sync_samples: usize,
    /// Elites per CEM-sync iteration. 1..samples, default 8.
    pub cem_sync_topk: usize,
    /// CEM sync: initial per-step variance = `cem_sync_var_scale` · (rollout − virtual-state deviation) +
    /// `cem_sync_var_min`. ≥ 0, default 1.0 ([L]).
    pub cem_sync_var_scale: f32,
    /// CEM sync: variance floor added at every CEM-sync iteration. > 0, default 0.01 ([L]).
    pub cem_sync_var_min: f32,
    /// Sync on/off (off = the "no sync" ablation). Default on.
    pub sync_enabled: bool,
    /// State noise on/off (off = the "no noise" ablation). Default on.
    pub noise_enabled: bool,
    /// Allow gradients through the state inputs of F (the "allow state gradients" ablation). Default off
    /// (stop-gradient on s̄_t, as in Eq. 10).
    pub state_gradients: bool,
    /// Dense goal shaping on/off (off sets γ to 0). Default on.
    pub goal_shaping: bool,
    /// Linear decay of σ and γ within each sync period (spec §A.7): at iteration k the fraction
    /// f = (k mod K_sync) / max(K_sync − 1, 1) moves σ from `noise` to `noise_min` and γ from `goal_weight`
    /// to `goal_weight_min` ([L] starts σ at 0.1: pass `noise = 0.1` to match). Default off.
    pub schedule_decay: bool,
    /// γ at the end of each sync period when `schedule_decay` is on. ≥ 0, default 0.0.
    pub goal_weight_min: f32,
    /// σ at the end of each sync period when `schedule_decay` is on. ≥ 0, default 0.0.
    pub noise_min: f32,
    /// Std ε of Gaussian noise on the initial straight-line virtual states. ≥ 0, default 0 ([L]).
    pub init_noise: f32,
    /// Cadence of the serial model rollout reported in snapshots (`rollout`, `loss.terminal`): every
    /// `rollout_every` iterations and always on sync iterations; in between a snapshot repeats the last one
    /// (see `Snapshot::rollout_iteration`). It costs T batch-1 forwards, comparable to the whole batched
    /// iteration, so it is not done every time. ≥ 1, default 10.
    pub rollout_every: usize,
    /// Box bound on every normalized action, |a| ≤ bound (projected after each update; 0 = none). Our MLP
    /// world models extrapolate badly outside the data, so unbounded optimizers exploit them. ≥ 0,
    /// default 3 (see `DEFAULT_ACTION_BOUND`).
    pub action_bound: f32,
    /// Weight λ of the ensemble-disagreement penalty (docs/trust.md): adds λ/(D(M−1)) Σ_t Σ_m
    /// ‖w ⊙ (F_m(s̄_t, a_t) − F(s̄_t, a_t))‖² over the other members m to the lifted loss, so actions stay where
    /// the members agree. Needs an ensemble model. ≥ 0, default 0 (off).
    pub trust_penalty: f32,
}

impl Default for GraspParams {
    fn default() -> Self {
        GraspParams {
            lr_states: 0.1,
            state_step: StateStep::Adam,
            lr_actions: 0.01,
            noise: 0.005,
            goal_weight: 1.0,
            sync_every: 50,
            sync_steps: 10,
            sync_lr: 0.05,
            sync_mode: SyncMode::Gd,
            sync_resets_adam: true,
            cem_sync_samples: 64,
            cem_sync_topk: 8,
            cem_sync_var_scale: 1.0,
            cem_sync_var_min: 0.01,
            sync_enabled: true,
            noise_enabled: true,
            state_gradients: false,
            goal_shaping: true,
            schedule_decay: false,
            goal_weight_min: 0.0,
            noise_min: 0.0,
            init_noise: 0.0,
            rollout_every: 10,
            action_bound: DEFAULT_ACTION_BOUND,
            trust_penalty: 0.0,
        }
    }
}

/// CEM settings (spec §B.1, DINO-WM).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CemParams {
    /// Samples per iteration (sample 0 is the mean). ≥ 2, default 300.
    pub samples: usize,
    /// Elites kept. 1..samples, default 30.
    pub topk: usize,
    /// Initial std σ₀ in normalized action space. > 0, default 1.0.
    pub init_std: f32,
    /// Floor on the elite std (0 = none, as in DINO-WM). ≥ 0, default 0.
    pub min_std: f32,
    /// Box bound on every normalized action, |a| ≤ bound (samples clipped; 0 = none). Our MLP
    /// world models extrapolate badly outside the data, so unbounded optimizers exploit them. ≥ 0,
    /// default 3 (see `DEFAULT_ACTION_BOUND`).
    pub action_bound: f32,
    /// Weight λ of the ensemble-disagreement penalty (docs/trust.md): each sample's cost gains
    /// λ/(T(M−1)) Σ_t Σ_m ‖w ⊙ (s_t^m − s_t)‖² over the other members' rollouts m, so plans stay where the
    /// members agree. Costs M rollouts per sample. Needs an ensemble model. ≥ 0, default 0 (off).
    pub trust_penalty: f32,
}

impl Default for CemParams {
    fn default() -> Self {
        CemParams {
            samples: 300,
            topk: 30,
            init_std: 1.0,
            min_std: 0.0,
            action_bound: DEFAULT_ACTION_BOUND,
            trust_penalty: 0.0,
        }
    }
}

/// GD-through-the-rollout settings (spec §B.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GdParams {
    /// Learning rate. > 0, default 1.0 (SGD, DINO-WM).
    pub lr: f32,
    /// Std of Gaussian noise added to the actions after each step. ≥ 0, default 0.003.
    pub action_noise: f32,
    /// Use Adam instead of plain SGD. Default false.
    pub adam: bool,
    /// Std of the N(0, σ²) initial actions ("randn" init). ≥ 0, default 1.0.
    pub init_std: f32,
    /// Box bound on every normalized action, |a| ≤ bound (projected after each update; 0 = none). Our MLP
    /// world models extrapolate badly outside the data, so unbounded optimizers exploit them. ≥ 0,
    /// default 3 (see `DEFAULT_ACTION_BOUND`).
    pub action_bound: f32,
}

impl Default for GdParams {
    fn default() -> Self {
        GdParams {
            lr: 1.0,
            action_noise: 0.003,
            adam: false,
            init_std: 1.0,
            action_bound: DEFAULT_ACTION_BOUND,
        }
    }
}

/// LatCo-style lifted optimization (spec §B.3): states and actions jointly, full gradients, no noise/sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LatcoParams {
    /// Adam learning rate of the states. > 0, default 0.1.
    pub lr_states: f32,
    /// Adam learning rate of the actions. > 0, default 0.01.
    pub lr_actions: f32,
    /// Cadence of the serial rollout in snapshots, as `GraspParams::rollout_every`. ≥ 1, default 10.
    pub rollout_every: usize,
    /// Box bound on every normalized action, |a| ≤ bound (projected after each update; 0 = none). Our MLP
    /// world models extrapolate badly outside the data, so unbounded optimizers exploit them. ≥ 0,
    /// default 3 (see `DEFAULT_ACTION_BOUND`).
    pub action_bound: f32,
}

impl Default for LatcoParams {
    fn default() -> Self {
        LatcoParams {
            lr_states: 0.1,
            lr_actions: 0.01,
            rollout_every: 10,
            action_bound: DEFAULT_ACTION_BOUND,
        }
    }
}

/// Settings of whichever planner runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "planner", rename_all = "lowercase")]
pub enum PlannerParams {
    /// GRASP.
    Grasp(GraspParams),
    /// CEM.
    Cem(CemParams),
    /// GD through the serial rollout.
    Gd(GdParams),
    /// LatCo.
    Latco(LatcoParams),
}

impl PlannerParams {
    /// Default iteration budget when the caller gives none: GRASP, LatCo and GD 1000, CEM 30
    /// (DINO-WM's Push-T `opt_steps`).
    pub fn default_iterations(&self) -> usize {
        match self {
            PlannerParams::Cem(_) => 30,
            PlannerParams::Grasp(_) | PlannerParams::Gd(_) | PlannerParams::Latco(_) => 1000,
        }
    }

    /// The normalized action bound in force (0 = none).
    pub fn action_bound(&self) -> f32 {
        match self {
            PlannerParams::Grasp(p) => p.action_bound,
            PlannerParams::Cem(p) => p.action_bound,
            PlannerParams::Gd(p) => p.action_bound,
            PlannerParams::Latco(p) => p.action_bound,
        }
    }

    /// The ensemble-disagreement penalty weight in force (0 = off; only GRASP and CEM have one).
    pub fn trust_penalty(&self) -> f32 {
        match self {
            PlannerParams::Grasp(p) => p.trust_penalty,
            PlannerParams::Cem(p) => p.trust_penalty,
            PlannerParams::Gd(_) | PlannerParams::Latco(_) => 0.0,
        }
    }

    /// Checks what the settings need of the model: a disagreement penalty needs an ensemble.
    pub fn check_model(&self, model: &dyn crate::model::WorldModel) -> Result<(), PlanError> {
        let w = self.trust_penalty();
        if w > 0.0 && model.ensemble().is_none() {
            return Err(PlanError::InvalidParam {
                name: "trust_penalty",
                value: w.to_string(),
                expected: "needs an ensemble world model (`train --ensemble`, or the shipped \
                           assets/models/<env>-ensemble.safetensors); use 0 with a single model",
            });
        }
        Ok(())
    }

    /// The planner family's name.
    pub fn family(&self) -> &'static str {
        match self {
            PlannerParams::Grasp(_) => "grasp",
            PlannerParams::Cem(_) => "cem",
            PlannerParams::Gd(_) => "gd",
            PlannerParams::Latco(_) => "latco",
        }
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), PlanError> {
        use crate::util::limits::{check_usize, MAX_SAMPLES, MAX_SYNC_STEPS};
        fn pos(name: &'static str, v: f32) -> Result<(), PlanError> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(PlanError::InvalidParam {
                    name,
                    value: v.to_string(),
                    expected: "must be a finite number > 0",
                })
            }
        }
        fn nonneg(name: &'static str, v: f32) -> Result<(), PlanError> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(PlanError::InvalidParam {
                    name,
                    value: v.to_string(),
                    expected: "must be a finite number >= 0",
                })
            }
        }
        fn at_least(
            name: &'static str,
            v: usize,
            min: usize,
            expected: &'static str,
        ) -> Result<(), PlanError> {
            if v >= min {
                Ok(())
            } else {
                Err(PlanError::InvalidParam {
                    name,
                    value: v.to_string(),
                    expected,
                })
            }
        }
        match self {
            PlannerParams::Grasp(p) => {
                pos("lr_states", p.lr_states)?;
                if p.state_step == StateStep::Gradient && p.lr_states > 1.0 {
                    return Err(PlanError::InvalidParam {
                        name: "lr_states",
                        value: p.lr_states.to_string(),
                        expected:
                            "in (0, 1] with the gradient state step (0.5 = exact Jacobi sweep)",
                    });
                }
                pos("lr_actions", p.lr_actions)?;
                nonneg("noise", p.noise)?;
                nonneg("goal_weight", p.goal_weight)?;
                nonneg("goal_weight_min", p.goal_weight_min)?;
                nonneg("noise_min", p.noise_min)?;
                nonneg("init_noise", p.init_noise)?;
                nonneg("cem_sync_var_scale", p.cem_sync_var_scale)?;
                pos("cem_sync_var_min", p.cem_sync_var_min)?;
                at_least("rollout_every", p.rollout_every, 1, "must be >= 1")?;
                nonneg("action_bound", p.action_bound)?;
                nonneg("trust_penalty", p.trust_penalty)?;
                pos("sync_lr", p.sync_lr)?;
                at_least("sync_every", p.sync_every, 1, "must be >= 1")?;
                at_least("sync_steps", p.sync_steps, 1, "must be >= 1")?;
                at_least("cem_sync_samples", p.cem_sync_samples, 2, "must be >= 2")?;
                check_usize("sync_steps", p.sync_steps, MAX_SYNC_STEPS)?;
                check_usize("cem_sync_samples", p.cem_sync_samples, MAX_SAMPLES)?;
                at_least("cem_sync_topk", p.cem_sync_topk, 1, "must be >= 1")?;
                if p.cem_sync_topk > p.cem_sync_samples {
                    return Err(PlanError::InvalidParam {
                        name: "cem_sync_topk",
                        value: p.cem_sync_topk.to_string(),
                        expected: "must not exceed cem_sync_samples",
                    });
                }
                Ok(())
            }
            PlannerParams::Cem(p) => {
                at_least("samples", p.samples, 2, "must be >= 2")?;
                check_usize("samples", p.samples, MAX_SAMPLES)?;
                at_least("topk", p.topk, 1, "must be >= 1")?;
                if p.topk > p.samples {
                    return Err(PlanError::InvalidParam {
                        name: "topk",
                        value: p.topk.to_string(),
                        expected: "must not exceed samples",
                    });
                }
                pos("init_std", p.init_std)?;
                nonneg("action_bound", p.action_bound)?;
                nonneg("trust_penalty", p.trust_penalty)?;
                nonneg("min_std", p.min_std)
            }
            PlannerParams::Gd(p) => {
                pos("lr", p.lr)?;
                nonneg("action_noise", p.action_noise)?;
                nonneg("action_bound", p.action_bound)?;
                nonneg("init_std", p.init_std)
            }
            PlannerParams::Latco(p) => {
                pos("lr_states", p.lr_states)?;
                pos("lr_actions", p.lr_actions)?;
                nonneg("action_bound", p.action_bound)?;
                at_least("rollout_every", p.rollout_every, 1, "must be >= 1")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_are_rejected() {
        let bad = PlannerParams::Grasp(GraspParams {
            lr_states: -1.0,
            ..Default::default()
        });
        assert!(bad.validate().is_err());
        let bad = PlannerParams::Cem(CemParams {
            topk: 400,
            ..Default::default()
        });
        assert!(bad.validate().is_err());
        let bad = PlannerParams::Grasp(GraspParams {
            noise: f32::NAN,
            ..Default::default()
        });
        assert!(bad.validate().is_err());
    }
}
