//! GRASP's and LatCo's per-iteration settings: the step sizes, noise, goal weight, state-gradient switch and
//! sync in force at iteration k, resolved from the params (schedules and ablation switches applied).

use super::{PlannerParams, StateStep, SyncMode};

/// Everything one iteration needs, resolved from the params in force at iteration k.
pub(crate) struct Settings {
    pub(crate) lr_s: f32,
    pub(crate) state_step: StateStep,
    pub(crate) lr_a: f32,
    pub(crate) noise: f32,
    pub(crate) gamma: f32,
    pub(crate) state_grad: bool,
    /// Some(mode, steps, lr) when a sync runs at the end of this iteration.
    pub(crate) sync: Option<(SyncMode, usize, f32)>,
    pub(crate) reset_after_sync: bool,
    pub(crate) rollout_every: usize,
    pub(crate) action_bound: f32,
}

pub(crate) fn settings(params: &PlannerParams, k: usize) -> Settings {
    match params {
        PlannerParams::Grasp(p) => {
            let period = p.sync_every.max(1);
            let frac = (k % period) as f32 / (period.saturating_sub(1)).max(1) as f32;
            let lerp = |a: f32, b: f32| a + (b - a) * frac;
            let (noise, gamma) = if p.schedule_decay {
                (
                    lerp(p.noise, p.noise_min),
                    lerp(p.goal_weight, p.goal_weight_min),
                )
            } else {
                (p.noise, p.goal_weight)
            };
            let due = p.sync_enabled && (k + 1).is_multiple_of(period) && k > 0;
            Settings {
                lr_s: p.lr_states,
                state_step: p.state_step,
                lr_a: p.lr_actions,
                noise: if p.noise_enabled { noise } else { 0.0 },
                gamma: if p.goal_shaping { gamma } else { 0.0 },
                state_grad: p.state_gradients,
                sync: due.then_some((p.sync_mode, p.sync_steps, p.sync_lr)),
                reset_after_sync: p.sync_resets_adam,
                rollout_every: p.rollout_every.max(1),
                action_bound: p.action_bound,
            }
        }
        PlannerParams::Latco(p) => Settings {
            lr_s: p.lr_states,
            state_step: StateStep::Adam,
            lr_a: p.lr_actions,
            noise: 0.0,
            gamma: 0.0,
            state_grad: true,
            sync: None,
            reset_after_sync: false,
            rollout_every: p.rollout_every.max(1),
            action_bound: p.action_bound,
        },
        // Constructors only accept GRASP or LatCo params.
        PlannerParams::Cem(_) | PlannerParams::Gd(_) => Settings {
            lr_s: 0.0,
            state_step: StateStep::Adam,
            lr_a: 0.0,
            noise: 0.0,
            gamma: 0.0,
            state_grad: false,
            sync: None,
            reset_after_sync: false,
            rollout_every: 1,
            action_bound: 0.0,
        },
    }
}
