//! Test helpers for the planners: a small nonlinear model with an exact VJP, linear test problems, and
//! snapshot comparison without timings.

use std::sync::Arc;

use super::{ModelProblem, Snapshot};
use crate::env::EnvKind;
use crate::model::linear::LinearModel;
use crate::model::{Tape, WorldModel};

/// s′ = 0.9 s + tanh(W s + B a) with fixed pseudo-random W, B: smooth, nonlinear in both inputs.
pub struct TanhModel {
    pub d: usize,
    pub k: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

impl TanhModel {
    pub fn new(d: usize, k: usize) -> Self {
        let f = |i: usize| (i as f32 * 1.37 + 0.3).sin() * 0.6;
        TanhModel {
            d,
            k,
            w: (0..d * d).map(|i| 0.5 * f(i)).collect(),
            b: (0..d * k).map(|i| f(i + 100)).collect(),
        }
    }
}

impl WorldModel for TanhModel {
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
        tape.bufs.resize(1, Vec::new());
        tape.bufs[0].resize(n * d, 0.0);
        for r in 0..n {
            for i in 0..d {
                let mut z = 0.0;
                for j in 0..d {
                    z += self.w[i * d + j] * states[r * d + j];
                }
                for j in 0..k {
                    z += self.b[i * k + j] * actions[r * k + j];
                }
                let h = z.tanh();
                tape.bufs[0][r * d + i] = h;
                out[r * d + i] = 0.9 * states[r * d + i] + h;
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
        let gz: Vec<f32> = (0..n * d)
            .map(|i| grad_out[i] * (1.0 - tape.bufs[0][i] * tape.bufs[0][i]))
            .collect();
        if let Some(gs) = grad_states {
            for r in 0..n {
                for j in 0..d {
                    let mut v = 0.9 * grad_out[r * d + j];
                    for i in 0..d {
                        v += self.w[i * d + j] * gz[r * d + i];
                    }
                    gs[r * d + j] = v;
                }
            }
        }
        if let Some(ga) = grad_actions {
            for r in 0..n {
                for j in 0..k {
                    ga[r * k + j] = (0..d).map(|i| self.b[i * k + j] * gz[r * d + i]).sum();
                }
            }
        }
    }
    fn encode_state(&self, s: &[f32]) -> Vec<f32> {
        s.to_vec()
    }
    fn decode_state(&self, s: &[f32]) -> Vec<f32> {
        s.to_vec()
    }
    fn encode_actions(&self, a: &[f32]) -> Vec<f32> {
        a.to_vec()
    }
    fn decode_actions(&self, a: &[f32]) -> Vec<f32> {
        a.to_vec()
    }
}

/// The linear test system (D = 4, K = 4) and a problem on it whose goal is reachable in `horizon` steps.
pub fn linear_problem(horizon: usize) -> (Arc<dyn WorldModel>, ModelProblem) {
    let m = LinearModel::test_system(4, 4);
    let problem = ModelProblem {
        start: vec![0.5, -0.5, 0.2, 0.0],
        goal: vec![-0.4, 0.6, 0.3, -0.5],
        horizon,
        goal_weights: Vec::new(),
    };
    (Arc::new(m), problem)
}

/// Snapshot equality ignoring the planner time.
pub fn same_except_time(a: &Snapshot, b: &Snapshot) -> bool {
    let mut a = a.clone();
    a.planner_time_s = b.planner_time_s;
    &a == b
}

/// A linear model that is exactly the Wall env's free-space dynamics in env units (s′ = s + 2 Σ of the five
/// 2-d actions of a chunk), with identity codecs, and a problem inside the left room.
pub fn wall_linear_problem(horizon: usize) -> (Arc<dyn WorldModel>, crate::env::Problem) {
    let (d, k) = (2, crate::env::CHUNK_ACTION_DIM);
    let mut a = vec![0.0; d * d];
    a[0] = 1.0;
    a[3] = 1.0;
    let mut b = vec![0.0; d * k];
    for j in 0..k {
        b[(j % 2) * k + j] = 2.0;
    }
    let model = LinearModel { d, k, a, b };
    let problem = crate::env::Problem {
        env: EnvKind::Wall,
        start: vec![12.0, 20.0],
        goal: vec![20.0, 40.0],
        horizon,
        seed: 0,
        reference_actions: None,
    };
    (Arc::new(model), problem)
}
