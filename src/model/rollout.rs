//! Serial model rollouts s_{t+1} = F(s_t, a_t) for N plans at once, and their vector-Jacobian product with
//! respect to the actions (backprop through time), used by GD, LatCo's checks, GRASP's sync and CEM.

use super::{Tape, WorldModel};

/// Everything a rollout's VJP needs: one tape per time step and the visited states.
#[derive(Clone, Debug, Default)]
pub struct RolloutTape {
    /// Tape of step t's batched forward.
    pub steps: Vec<Tape>,
    /// Number of parallel rollouts N.
    pub n: usize,
    /// Horizon T.
    pub horizon: usize,
}

/// Rolls N plans forward from the same `s0` ([D]). `actions` is [N × T × K] (plan-major). Returns all states
/// [(T+1) × N × D] (time-major: `states[t]` is the N states at time t) and records tapes for `rollout_vjp`.
pub fn rollout(
    model: &dyn WorldModel,
    s0: &[f32],
    actions: &[f32],
    n: usize,
    horizon: usize,
    tape: &mut RolloutTape,
) -> Vec<f32> {
    let (d, k) = (model.state_dim(), model.action_dim());
    debug_assert_eq!(actions.len(), n * horizon * k);
    let mut states = vec![0.0; (horizon + 1) * n * d];
    for r in 0..n {
        states[r * d..(r + 1) * d].copy_from_slice(s0);
    }
    tape.steps.resize_with(horizon, Tape::default);
    tape.n = n;
    tape.horizon = horizon;
    let mut a_t = vec![0.0; n * k];
    for t in 0..horizon {
        for r in 0..n {
            let src = (r * horizon + t) * k;
            a_t[r * k..(r + 1) * k].copy_from_slice(&actions[src..src + k]);
        }
        let (done, rest) = states.split_at_mut((t + 1) * n * d);
        let s_t = &done[t * n * d..];
        model.forward(s_t, &a_t, &mut rest[..n * d], &mut tape.steps[t]);
    }
    states
}

/// The final states [N × D] of `rollout`, without a tape for the gradient.
pub fn rollout_final(
    model: &dyn WorldModel,
    s0: &[f32],
    actions: &[f32],
    n: usize,
    horizon: usize,
) -> Vec<f32> {
    let d = model.state_dim();
    let mut tape = RolloutTape::default();
    let states = rollout(model, s0, actions, n, horizon, &mut tape);
    states[horizon * n * d..].to_vec()
}

/// VJP of the final states of a recorded rollout: given dL/ds_T ([N × D]), returns dL/da ([N × T × K]).
pub fn rollout_vjp(model: &dyn WorldModel, tape: &RolloutTape, grad_final: &[f32]) -> Vec<f32> {
    let (d, k, n, horizon) = (model.state_dim(), model.action_dim(), tape.n, tape.horizon);
    let mut grad_actions = vec![0.0; n * horizon * k];
    let mut g_s = grad_final.to_vec();
    let mut g_prev = vec![0.0; n * d];
    let mut g_a = vec![0.0; n * k];
    for t in (0..horizon).rev() {
        model.vjp(&tape.steps[t], &g_s, Some(&mut g_prev), Some(&mut g_a));
        for r in 0..n {
            let dst = (r * horizon + t) * k;
            grad_actions[dst..dst + k].copy_from_slice(&g_a[r * k..(r + 1) * k]);
        }
        std::mem::swap(&mut g_s, &mut g_prev);
    }
    grad_actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linear::LinearModel;

    #[test]
    fn rollout_equals_repeated_predict() {
        let m = LinearModel::test_system(3, 2);
        let s0 = [0.5, -1.0, 2.0];
        let acts: Vec<f32> = (0..8).map(|i| (i as f32 * 0.7).sin()).collect();
        let states = rollout(&m, &s0, &acts, 1, 4, &mut RolloutTape::default());
        let mut s = s0.to_vec();
        for t in 0..4 {
            s = m.predict(&s, &acts[t * 2..t * 2 + 2]);
            assert_eq!(&states[(t + 1) * 3..(t + 2) * 3], s.as_slice());
        }
    }

    #[test]
    fn rollout_vjp_matches_finite_differences() {
        let m = LinearModel::test_system(3, 2);
        let s0 = [0.5, -1.0, 2.0];
        let goal = [1.0, 0.0, -1.0];
        let acts: Vec<f32> = (0..12).map(|i| (i as f32 * 0.3).cos()).collect();
        let loss = |a: &[f32]| -> f64 {
            let f = rollout_final(&m, &s0, a, 2, 3);
            f.iter()
                .enumerate()
                .map(|(i, v)| ((v - goal[i % 3]) as f64).powi(2))
                .sum()
        };
        let mut tape = RolloutTape::default();
        let states = rollout(&m, &s0, &acts, 2, 3, &mut tape);
        let fin = &states[3 * 2 * 3..];
        let g: Vec<f32> = fin
            .iter()
            .enumerate()
            .map(|(i, v)| 2.0 * (v - goal[i % 3]))
            .collect();
        let grad = rollout_vjp(&m, &tape, &g);
        for i in 0..acts.len() {
            let mut p = acts.clone();
            p[i] += 1e-2;
            let mut q = acts.clone();
            q[i] -= 1e-2;
            let fd = (loss(&p) - loss(&q)) / 2e-2;
            assert!(
                (fd - grad[i] as f64).abs() < 1e-3,
                "i={i} fd={fd} an={}",
                grad[i]
            );
        }
    }
}
