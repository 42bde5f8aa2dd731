//! GRASP's periodic full-rollout sync (spec §A.5, reference [L] behaviour): either J_sync Adam steps on
//! mean_d (rollout_T(a) − g)² through the serial rollout (a fresh Adam each sync, actions only), or J_sync CEM
//! iterations around the current actions with a per-step variance taken from how far the serial rollout
//! strays from the virtual states. Virtual states are never touched by a sync.

use std::time::Instant;

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::adam::Adam;
use super::cem::{elite_stats, top_elites};
use super::serial::{clamp_abs, sq_dist, wsq_dist, SerialRollout};
use crate::model::WorldModel;
use crate::util::Rng;

/// Buffers of the GD sync.
#[derive(Debug, Default)]
pub(crate) struct GdSync {
    adam: Option<Adam>,
    grad: Vec<f32>,
    grad_final: Vec<f32>,
    serial: SerialRollout,
}

impl GdSync {
    /// `steps` Adam(lr) steps on mean_d w_d (rollout_T(actions) − goal)², updating `actions` ([T × K]) in
    /// place, each projected onto |a| ≤ `bound` (0 = none). Stops early once `deadline` has passed.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        model: &dyn WorldModel,
        s0: &[f32],
        goal: &[f32],
        weights: &[f32],
        actions: &mut [f32],
        horizon: usize,
        steps: usize,
        lr: f32,
        bound: f32,
        deadline: Option<Instant>,
    ) {
        let d = model.state_dim();
        let adam = match &mut self.adam {
            Some(a) if a.len() == actions.len() => {
                a.reset();
                a
            }
            slot => slot.insert(Adam::new(actions.len())),
        };
        self.grad.resize(actions.len(), 0.0);
        self.grad_final.resize(d, 0.0);
        let c = 2.0 / d as f32;
        for _ in 0..steps {
            if past(deadline) {
                break;
            }
            self.serial.run(model, s0, actions, 1, horizon);
            for (((g, s), t), w) in self
                .grad_final
                .iter_mut()
                .zip(self.serial.final_states())
                .zip(goal)
                .zip(weights)
            {
                *g = c * w * (s - t);
            }
            self.serial.vjp(model, &self.grad_final, &mut self.grad);
            adam.step(actions, &self.grad, lr);
            clamp_abs(actions, bound);
        }
    }
}

/// Whether the planner-time deadline (set by a seconds budget) has passed.
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Settings of one CEM sync.
pub(crate) struct CemSyncSettings {
    pub iterations: usize,
    pub samples: usize,
    pub topk: usize,
    pub var_scale: f32,
    pub var_min: f32,
    /// |a| bound (0 = none).
    pub bound: f32,
}

/// Buffers of the CEM sync.
#[derive(Debug, Default)]
pub(crate) struct CemSync {
    serial: SerialRollout,
    samples: Vec<f32>,
    var_t: Vec<f32>,
    var_elem: Vec<f32>,
    mean: Vec<f32>,
    costs: Vec<f32>,
    order: Vec<usize>,
}

impl CemSync {
    /// CEM around `actions` ([T × K]) with per-step variance from the rollout/virtual-state deviation
    /// (`virtual_states` = s_1..s_{T−1}, [(T−1) × D]); writes the final mean back into `actions`. Stops
    /// early once `deadline` has passed.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        model: &dyn WorldModel,
        s0: &[f32],
        goal: &[f32],
        weights: &[f32],
        virtual_states: &[f32],
        actions: &mut [f32],
        horizon: usize,
        cfg: &CemSyncSettings,
        rng: &mut Rng,
        deadline: Option<Instant>,
    ) {
        let (d, k, t_len) = (model.state_dim(), model.action_dim(), horizon);
        // Per-step variance from the deviation of the serial rollout from the virtual states.
        self.serial.run(model, s0, actions, 1, horizon);
        let traj = self.serial.states();
        self.var_t.resize(t_len, 0.0);
        if t_len > 1 {
            let mut sum = 0.0;
            for t in 1..t_len {
                let dev = sq_dist(
                    &traj[t * d..(t + 1) * d],
                    &virtual_states[(t - 1) * d..t * d],
                ) / d as f32;
                self.var_t[t] = dev;
                sum += dev;
            }
            self.var_t[0] = sum / (t_len - 1) as f32;
            for v in &mut self.var_t {
                *v = cfg.var_scale * *v + cfg.var_min;
            }
        } else {
            let gap = wsq_dist(&traj[t_len * d..(t_len + 1) * d], goal, weights) / d as f32;
            self.var_t[0] = cfg.var_scale * gap + cfg.var_min;
        }
        let (n, topk) = (cfg.samples, cfg.topk.min(cfg.samples));
        let plan = t_len * k;
        self.mean.clear();
        self.mean.extend_from_slice(actions);
        self.samples.resize(n * plan, 0.0);
        self.costs.resize(n, 0.0);
        self.var_elem.resize(plan, 0.0);
        for _ in 0..cfg.iterations {
            if past(deadline) {
                break;
            }
            for i in 0..n {
                for t in 0..t_len {
                    let sd = self.var_t[t].sqrt();
                    for j in 0..k {
                        let z: f32 = rng.sample(StandardNormal);
                        self.samples[i * plan + t * k + j] = self.mean[t * k + j] + sd * z;
                    }
                }
            }
            clamp_abs(&mut self.samples, cfg.bound);
            self.serial.run(model, s0, &self.samples, n, horizon);
            for (i, c) in self.costs.iter_mut().enumerate() {
                *c = wsq_dist(
                    &self.serial.final_states()[i * d..(i + 1) * d],
                    goal,
                    weights,
                );
            }
            top_elites(&self.costs, topk, &mut self.order);
            elite_stats(
                &self.samples,
                plan,
                &self.order[..topk],
                &mut self.mean,
                &mut self.var_elem,
            );
            for t in 0..t_len {
                let v: f32 = self.var_elem[t * k..(t + 1) * k].iter().sum::<f32>() / k as f32;
                self.var_t[t] = v + cfg.var_min;
            }
        }
        actions.copy_from_slice(&self.mean);
    }
}
