//! Allocation-free serial model rollouts for planners: N plans rolled from one s_0 step by step (each step
//! one batched forward over the N plans), with the tapes kept for backprop through time. The same maths as
//! `model::rollout`, but every buffer lives in a reusable workspace so a planner's hot loop never
//! allocates once warmed up.

use crate::model::{Tape, WorldModel};

/// Buffers of one serial rollout of N plans over T steps.
#[derive(Clone, Debug, Default)]
pub struct SerialRollout {
    n: usize,
    horizon: usize,
    d: usize,
    k: usize,
    /// States [(T+1) × N × D], time-major.
    states: Vec<f32>,
    /// Actions of step t for all plans [N × K], gathered per step.
    a_t: Vec<f32>,
    tapes: Vec<Tape>,
    g_s: Vec<f32>,
    g_prev: Vec<f32>,
    g_a: Vec<f32>,
}

impl SerialRollout {
    /// Rolls N plans (`actions` [N × T × K], plan-major) forward from `s0` ([D]), recording tapes.
    pub fn run(
        &mut self,
        model: &dyn WorldModel,
        s0: &[f32],
        actions: &[f32],
        n: usize,
        horizon: usize,
    ) {
        let (d, k) = (model.state_dim(), model.action_dim());
        debug_assert_eq!(actions.len(), n * horizon * k);
        self.n = n;
        self.horizon = horizon;
        self.d = d;
        self.k = k;
        self.states.resize((horizon + 1) * n * d, 0.0);
        self.a_t.resize(n * k, 0.0);
        if self.tapes.len() < horizon {
            self.tapes.resize_with(horizon, Tape::default);
        }
        for r in 0..n {
            self.states[r * d..(r + 1) * d].copy_from_slice(s0);
        }
        for t in 0..horizon {
            if n == 1 {
                self.a_t.copy_from_slice(&actions[t * k..(t + 1) * k]);
            } else {
                for r in 0..n {
                    let src = (r * horizon + t) * k;
                    self.a_t[r * k..(r + 1) * k].copy_from_slice(&actions[src..src + k]);
                }
            }
            let (done, rest) = self.states.split_at_mut((t + 1) * n * d);
            model.forward(
                &done[t * n * d..],
                &self.a_t,
                &mut rest[..n * d],
                &mut self.tapes[t],
            );
        }
    }

    /// All states of the last run, [(T+1) × N × D] time-major (for N = 1: the trajectory s_0..s_T).
    pub fn states(&self) -> &[f32] {
        &self.states[..(self.horizon + 1) * self.n * self.d]
    }

    /// Final states of the last run [N × D].
    pub fn final_states(&self) -> &[f32] {
        let w = self.n * self.d;
        &self.states[self.horizon * w..(self.horizon + 1) * w]
    }

    /// Backprop through the last run: given dL/ds_T ([N × D]) writes dL/da into `grad_actions`
    /// ([N × T × K], plan-major, overwritten).
    pub fn vjp(&mut self, model: &dyn WorldModel, grad_final: &[f32], grad_actions: &mut [f32]) {
        let (n, d, k, horizon) = (self.n, self.d, self.k, self.horizon);
        self.g_s.clear();
        self.g_s.extend_from_slice(grad_final);
        self.g_prev.resize(n * d, 0.0);
        self.g_a.resize(n * k, 0.0);
        for t in (0..horizon).rev() {
            model.vjp(
                &self.tapes[t],
                &self.g_s,
                Some(&mut self.g_prev),
                Some(&mut self.g_a),
            );
            for r in 0..n {
                let dst = (r * horizon + t) * k;
                grad_actions[dst..dst + k].copy_from_slice(&self.g_a[r * k..(r + 1) * k]);
            }
            std::mem::swap(&mut self.g_s, &mut self.g_prev);
        }
    }
}

/// Σ_i (x_i − y_i)².
pub fn sq_dist(x: &[f32], y: &[f32]) -> f32 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// Σ_i w_i (x_i − y_i)².
pub fn wsq_dist(x: &[f32], y: &[f32], w: &[f32]) -> f32 {
    x.iter()
        .zip(y)
        .zip(w)
        .map(|((a, b), w)| w * (a - b) * (a - b))
        .sum()
}

/// Clamps every value to [−bound, bound]; a bound of 0 (or less) means none.
pub fn clamp_abs(x: &mut [f32], bound: f32) {
    if bound > 0.0 {
        x.iter_mut().for_each(|v| *v = v.clamp(-bound, bound));
    }
}

/// True if every value is finite.
pub fn all_finite(x: &[f32]) -> bool {
    x.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linear::LinearModel;
    use crate::model::rollout::{rollout, rollout_vjp, RolloutTape};

    #[test]
    fn matches_model_rollout_and_its_vjp() {
        let m = LinearModel::test_system(3, 2);
        let s0 = [0.5, -1.0, 2.0];
        let acts: Vec<f32> = (0..12).map(|i| (i as f32 * 0.3).cos()).collect();
        let mut tape = RolloutTape::default();
        let want = rollout(&m, &s0, &acts, 2, 3, &mut tape);
        let mut w = SerialRollout::default();
        w.run(&m, &s0, &acts, 2, 3);
        assert_eq!(w.states(), want.as_slice());
        let g = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6];
        let want_g = rollout_vjp(&m, &tape, &g);
        let mut got = vec![0.0; 12];
        w.vjp(&m, &g, &mut got);
        assert_eq!(got, want_g);
        // Reuse with a different size.
        w.run(&m, &s0, &acts[..6], 1, 3);
        assert_eq!(w.states().len(), 12);
    }
}
