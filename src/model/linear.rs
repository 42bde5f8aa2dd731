//! An analytic linear world model s′ = A s + B a with identity codecs, for tests and for checking planners
//! against known solutions.

use super::{Tape, WorldModel};
use crate::env::EnvKind;

/// s′ = A s + B a, with A [D × D] and B [D × K] row-major.
#[derive(Clone, Debug)]
pub struct LinearModel {
    /// State dimension D.
    pub d: usize,
    /// Action dimension K.
    pub k: usize,
    /// A, row-major D × D.
    pub a: Vec<f32>,
    /// B, row-major D × K.
    pub b: Vec<f32>,
}

impl LinearModel {
    /// A lightly-coupled, stable, controllable test system: A = 0.95 I + 0.02·(shift), B has full row rank.
    pub fn test_system(d: usize, k: usize) -> Self {
        let mut a = vec![0.0; d * d];
        let mut b = vec![0.0; d * k];
        for i in 0..d {
            a[i * d + i] = 0.95;
            if i + 1 < d {
                a[i * d + i + 1] = 0.02;
            }
            for j in 0..k {
                b[i * k + j] = if j % d == i {
                    0.1
                } else {
                    0.01 * ((i + 2 * j) % 3) as f32
                };
            }
        }
        LinearModel { d, k, a, b }
    }
}

impl WorldModel for LinearModel {
    fn env(&self) -> Option<EnvKind> {
        None
    }
    fn state_dim(&self) -> usize {
        self.d
    }
    fn action_dim(&self) -> usize {
        self.k
    }
    fn forward(&self, states: &[f32], actions: &[f32], out: &mut [f32], tape: &mut Tape) {
        let (d, k) = (self.d, self.k);
        let n = states.len() / d;
        tape.batch = n;
        for r in 0..n {
            let s = &states[r * d..(r + 1) * d];
            let a = &actions[r * k..(r + 1) * k];
            for i in 0..d {
                let row_a = &self.a[i * d..(i + 1) * d];
                let row_b = &self.b[i * k..(i + 1) * k];
                let from_s: f32 = row_a.iter().zip(s).map(|(x, y)| x * y).sum();
                let from_a: f32 = row_b.iter().zip(a).map(|(x, y)| x * y).sum();
                out[r * d + i] = from_s + from_a;
            }
        }
    }
    fn vjp(
        &self,
        tape: &Tape,
        grad_out: &[f32],
        grad_states: Option<&mut [f32]>,
        grad_actions: Option<&mut [f32]>,
    ) {
        let (d, k, n) = (self.d, self.k, tape.batch);
        if let Some(gs) = grad_states {
            for r in 0..n {
                for j in 0..d {
                    gs[r * d + j] = (0..d)
                        .map(|i| self.a[i * d + j] * grad_out[r * d + i])
                        .sum();
                }
            }
        }
        if let Some(ga) = grad_actions {
            for r in 0..n {
                for j in 0..k {
                    ga[r * k + j] = (0..d)
                        .map(|i| self.b[i * k + j] * grad_out[r * d + i])
                        .sum();
                }
            }
        }
    }
    fn encode_state(&self, env_state: &[f32]) -> Vec<f32> {
        env_state.to_vec()
    }
    fn decode_state(&self, model_state: &[f32]) -> Vec<f32> {
        model_state.to_vec()
    }
    fn encode_actions(&self, env_actions: &[f32]) -> Vec<f32> {
        env_actions.to_vec()
    }
    fn decode_actions(&self, model_actions: &[f32]) -> Vec<f32> {
        model_actions.to_vec()
    }
}
