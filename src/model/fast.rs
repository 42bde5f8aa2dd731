//! [`MlpModel`]: the planner-facing world model. A hand-written MLP inference path (forward keeping its
//! activations in the caller's [`Tape`], state- and action-VJPs) over the dense-layer kernels in
//! [`super::kernels`] (bias, activation and its derivative fused into the product; single-threaded).
//!
//! Hand-written rather than candle because planners call it thousands of times a second on small batches:
//! candle's autograd costs ~1.3 ms per 50-row forward+VJP (docs/platform facts), mostly per-op overhead, while
//! the FLOPs take a fraction of that. candle still defines, trains and stores the weights (`mlp.rs`); a test
//! holds both paths equal to 1e-5.
//!
//! Math (model space): x = [s, a]; h₀ = x; hₗ = act(hₗ₋₁ Wₗᵀ + bₗ) for hidden layers; y = h_{L−1} W_Lᵀ + b_L;
//! s′ = s + delta_mean + delta_std ⊙ y.

use std::cell::RefCell;

use super::codec::Codec;
use super::info::{Activation, ModelInfo};
use super::kernels::{self, Epilogue, Packed};
use super::{Tape, WorldModel};
use crate::env::EnvKind;

/// One linear layer: `weight` is [out × in] row-major (PyTorch layout), `bias` is [out].
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input width.
    pub in_dim: usize,
    /// Output width.
    pub out_dim: usize,
    /// Weights, row-major [out × in].
    pub weight: Vec<f32>,
    /// Biases [out].
    pub bias: Vec<f32>,
}

/// A trained MLP world model with its metadata and codec. Immutable and cheap to share (`Arc`).
#[derive(Clone, Debug)]
pub struct MlpModel {
    info: ModelInfo,
    codec: Codec,
    layers: Vec<Dense>,
    /// Per layer, the weights packed for the kernels: forward Wᵀ [in × out] with the bias, backward
    /// W [out × in] (both rows padded to whole vectors).
    packed: Vec<(Packed, Packed)>,
}

impl MlpModel {
    /// Builds a model from metadata and layers, checking every shape and that all numbers are finite.
    /// The error is a one-line reason.
    pub fn new(info: ModelInfo, layers: Vec<Dense>) -> Result<MlpModel, String> {
        let (d, k) = (info.state_dim, info.action_dim);
        if info.env_state_dim != info.env.state_dim()
            || d != super::codec::model_state_dim(info.env)
            || k != crate::env::CHUNK_ACTION_DIM
        {
            return Err(format!(
                "dims (env state {}, state {d}, action {k}) do not fit env {}",
                info.env_state_dim, info.env
            ));
        }
        if layers.is_empty() || layers.len() != info.layers.len() {
            return Err(format!(
                "metadata lists {} layers, file has {}",
                info.layers.len(),
                layers.len()
            ));
        }
        let mut width = d + k;
        for (i, (l, shape)) in layers.iter().zip(&info.layers).enumerate() {
            if [l.out_dim, l.in_dim] != *shape || l.in_dim != width {
                return Err(format!(
                    "layer {i} is [{}, {}], expected [{}, {width}]",
                    l.out_dim, l.in_dim, shape[0]
                ));
            }
            if l.weight.len() != l.out_dim * l.in_dim || l.bias.len() != l.out_dim {
                return Err(format!("layer {i} has the wrong number of values"));
            }
            if l.weight.iter().chain(&l.bias).any(|v| !v.is_finite()) {
                return Err(format!(
                    "layer {i} contains non-finite weights (NaN or inf)"
                ));
            }
            width = l.out_dim;
        }
        if width != d {
            return Err(format!("last layer outputs {width} values, expected {d}"));
        }
        let codec = info.codec();
        codec.validate(d, k)?;
        let n = &info.normalization;
        if n.delta_mean.len() != d || n.delta_std.len() != d {
            return Err(format!("delta normalization must have {d} values"));
        }
        if n.delta_mean
            .iter()
            .chain(&n.delta_std)
            .any(|v| !v.is_finite())
        {
            return Err("delta normalization contains non-finite values".into());
        }
        let packed = layers
            .iter()
            .map(|l| {
                let (k, n) = (l.in_dim, l.out_dim);
                let fwd = Packed::new(k, n, |p, j| l.weight[j * k + p], &l.bias);
                let bwd = Packed::new(n, k, |j, p| l.weight[j * k + p], &[]);
                (fwd, bwd)
            })
            .collect();
        Ok(MlpModel {
            info,
            codec,
            layers,
            packed,
        })
    }

    /// The metadata (env, dims, layer sizes, activation, normalization, training summary).
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Mutable metadata (e.g. to attach a training summary before saving).
    pub fn info_mut(&mut self) -> &mut ModelInfo {
        &mut self.info
    }

    /// The env ↔ model-space codec.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// The layers, input first.
    pub fn layers(&self) -> &[Dense] {
        &self.layers
    }

    /// Number of parameters.
    pub fn num_params(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.weight.len() + l.bias.len())
            .sum()
    }
}

/// The hidden-layer epilogue: the activation, with its derivative into `deriv` when given.
fn hidden_epilogue(act: Activation, deriv: Option<&mut [f32]>) -> Epilogue<'_> {
    match (act, deriv) {
        (Activation::Silu, Some(d)) => Epilogue::SiluDeriv(d),
        (Activation::Silu, None) => Epilogue::Silu,
        (Activation::Tanh, Some(d)) => Epilogue::TanhDeriv(d),
        (Activation::Tanh, None) => Epilogue::Tanh,
    }
}

thread_local! {
    /// The VJP's two gradient buffers, reused across calls on this thread (no allocation per call).
    static VJP_SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl MlpModel {
    /// The forward pass into `tape` (x, then each hidden output; with `keep_deriv` also each activation's
    /// derivative, which the VJP needs).
    fn run_forward(
        &self,
        states: &[f32],
        actions: &[f32],
        out: &mut [f32],
        tape: &mut Tape,
        keep_deriv: bool,
    ) {
        let (d, k) = (self.info.state_dim, self.info.action_dim);
        let b = states.len() / d;
        let nl = self.layers.len();
        tape.batch = b;
        tape.bufs.resize_with(2 * nl - 1, Vec::new);
        let x = &mut tape.bufs[0];
        x.resize(b * (d + k), 0.0);
        for ((row, s), a) in x
            .chunks_exact_mut(d + k)
            .zip(states.chunks_exact(d))
            .zip(actions.chunks_exact(k))
        {
            row[..d].copy_from_slice(s);
            row[d..].copy_from_slice(a);
        }
        // bufs: [x, h₁, h₁′, h₂, h₂′, …]: each hidden layer's output and the activation's derivative.
        for (l, (layer, (fwd, _))) in self.layers[..nl - 1].iter().zip(&self.packed).enumerate() {
            let (before, after) = tape.bufs.split_at_mut(2 * l + 1);
            let input = &before[if l == 0 { 0 } else { 2 * l - 1 }];
            let (h, rest) = after.split_at_mut(1);
            let (h, deriv) = (&mut h[0], &mut rest[0]);
            h.resize(b * layer.out_dim, 0.0);
            let deriv = if keep_deriv {
                deriv.resize(b * layer.out_dim, 0.0);
                Some(&mut deriv[..])
            } else {
                None
            };
            kernels::gemm(
                input,
                b,
                fwd,
                h,
                hidden_epilogue(self.info.activation, deriv),
            );
        }
        let last_in = &tape.bufs[if nl == 1 { 0 } else { 2 * nl - 3 }];
        let out = &mut out[..b * d];
        kernels::gemm(last_in, b, &self.packed[nl - 1].0, out, Epilogue::Plain);
        let n = &self.info.normalization;
        for (o_row, s_row) in out.chunks_exact_mut(d).zip(states.chunks_exact(d)) {
            for i in 0..d {
                o_row[i] = s_row[i] + n.delta_mean[i] + n.delta_std[i] * o_row[i];
            }
        }
    }
}

impl WorldModel for MlpModel {
    fn env(&self) -> Option<EnvKind> {
        Some(self.info.env)
    }
    fn state_dim(&self) -> usize {
        self.info.state_dim
    }
    fn action_dim(&self) -> usize {
        self.info.action_dim
    }

    fn forward(&self, states: &[f32], actions: &[f32], out: &mut [f32], tape: &mut Tape) {
        self.run_forward(states, actions, out, tape, true);
    }

    fn forward_no_grad(
        &self,
        states: &[f32],
        actions: &[f32],
        out: &mut [f32],
        scratch: &mut Tape,
    ) {
        self.run_forward(states, actions, out, scratch, false);
    }

    fn vjp(
        &self,
        tape: &Tape,
        grad_out: &[f32],
        grad_states: Option<&mut [f32]>,
        grad_actions: Option<&mut [f32]>,
    ) {
        let (d, k, b) = (self.info.state_dim, self.info.action_dim, tape.batch);
        let nl = self.layers.len();
        let dstd = &self.info.normalization.delta_std;
        VJP_SCRATCH.with_borrow_mut(|(g, g_in)| {
            g.clear();
            g.extend(
                grad_out[..b * d]
                    .iter()
                    .enumerate()
                    .map(|(j, v)| v * dstd[j % d]),
            );
            for v in g.iter_mut() {
                if v.abs() < kernels::FLUSH_BELOW {
                    *v = 0.0;
                }
            }
            for l in (0..nl).rev() {
                let layer = &self.layers[l];
                g_in.resize(b * layer.in_dim, 0.0);
                let epi = if l > 0 {
                    Epilogue::MulFlush(&tape.bufs[2 * l])
                } else {
                    Epilogue::Plain
                };
                kernels::gemm(g, b, &self.packed[l].1, g_in, epi);
                std::mem::swap(g, g_in);
            }
            if let Some(gs) = grad_states {
                for ((o, gx), go) in gs
                    .chunks_exact_mut(d)
                    .zip(g.chunks_exact(d + k))
                    .zip(grad_out.chunks_exact(d))
                {
                    for i in 0..d {
                        o[i] = go[i] + gx[i];
                    }
                }
            }
            if let Some(ga) = grad_actions {
                for (o, gx) in ga.chunks_exact_mut(k).zip(g.chunks_exact(d + k)) {
                    o.copy_from_slice(&gx[d..]);
                }
            }
        });
    }

    fn encode_state(&self, env_state: &[f32]) -> Vec<f32> {
        self.codec.encode_states(env_state)
    }
    fn decode_state(&self, model_state: &[f32]) -> Vec<f32> {
        self.codec.decode_states(model_state)
    }
    fn encode_actions(&self, env_actions: &[f32]) -> Vec<f32> {
        self.codec.encode_actions(env_actions)
    }
    fn decode_actions(&self, model_actions: &[f32]) -> Vec<f32> {
        self.codec.decode_actions(model_actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mlp::untrained;
    use crate::model::rollout::{rollout, RolloutTape};

    fn inputs(b: usize, d: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
        let s = (0..b * d).map(|i| (i as f32 * 0.61).sin() * 1.3).collect();
        let a = (0..b * k).map(|i| (i as f32 * 0.37).cos()).collect();
        (s, a)
    }

    #[test]
    fn vjps_match_finite_differences() {
        for (act, b) in [
            (Activation::Silu, 3),
            (Activation::Silu, 9),
            (Activation::Tanh, 6),
        ] {
            let m = untrained(EnvKind::Pusht, &[32, 24], act, 5).unwrap();
            let (d, k) = (m.state_dim(), m.action_dim());
            let (s, a) = inputs(b, d, k);
            let w: Vec<f32> = (0..b * d).map(|i| (i as f32 * 1.7).sin()).collect();
            let loss = |s: &[f32], a: &[f32]| -> f64 {
                m.predict(s, a)
                    .iter()
                    .zip(&w)
                    .map(|(o, w)| f64::from(o * w))
                    .sum()
            };
            let mut tape = Tape::default();
            let mut out = vec![0.0; b * d];
            m.forward(&s, &a, &mut out, &mut tape);
            let (mut gs, mut ga) = (vec![0.0; b * d], vec![0.0; b * k]);
            m.vjp(&tape, &w, Some(&mut gs), Some(&mut ga));
            let eps = 1e-2;
            for i in 0..b * d {
                let (mut p, mut q) = (s.clone(), s.clone());
                p[i] += eps;
                q[i] -= eps;
                let fd = (loss(&p, &a) - loss(&q, &a)) / (2.0 * f64::from(eps));
                assert!(
                    (fd - f64::from(gs[i])).abs() < 2e-3,
                    "state {i}: fd {fd} vjp {}",
                    gs[i]
                );
            }
            for i in 0..b * k {
                let (mut p, mut q) = (a.clone(), a.clone());
                p[i] += eps;
                q[i] -= eps;
                let fd = (loss(&s, &p) - loss(&s, &q)) / (2.0 * f64::from(eps));
                assert!(
                    (fd - f64::from(ga[i])).abs() < 2e-3,
                    "action {i}: fd {fd} vjp {}",
                    ga[i]
                );
            }
        }
    }

    #[test]
    fn gemm_path_equals_row_path() {
        let m = untrained(EnvKind::Pointmaze, &[64, 64], Activation::Silu, 2).unwrap();
        let (d, k) = (m.state_dim(), m.action_dim());
        let b = 20;
        let (s, a) = inputs(b, d, k);
        let batched = m.predict(&s, &a);
        let mut tape = Tape::default();
        let mut out = vec![0.0; b * d];
        m.forward(&s, &a, &mut out, &mut tape);
        let g: Vec<f32> = (0..b * d).map(|i| (i as f32).cos()).collect();
        let mut ga = vec![0.0; b * k];
        m.vjp(&tape, &g, None, Some(&mut ga));
        for r in 0..b {
            let one = m.predict(&s[r * d..(r + 1) * d], &a[r * k..(r + 1) * k]);
            let mut t1 = Tape::default();
            let mut o1 = vec![0.0; d];
            m.forward(
                &s[r * d..(r + 1) * d],
                &a[r * k..(r + 1) * k],
                &mut o1,
                &mut t1,
            );
            let mut ga1 = vec![0.0; k];
            m.vjp(&t1, &g[r * d..(r + 1) * d], None, Some(&mut ga1));
            // Rows never depend on their batch (kernels module doc): equal bit for bit.
            assert_eq!(one, batched[r * d..(r + 1) * d]);
            assert_eq!(ga1, ga[r * k..(r + 1) * k]);
            let mut o2 = vec![0.0; d];
            m.forward_no_grad(
                &s[r * d..(r + 1) * d],
                &a[r * k..(r + 1) * k],
                &mut o2,
                &mut t1,
            );
            assert_eq!(o2, one);
        }
    }

    #[test]
    fn rollout_equals_repeated_predict() {
        let m = untrained(EnvKind::Pusht, &[32, 32], Activation::Silu, 9).unwrap();
        let (d, k, t) = (m.state_dim(), m.action_dim(), 6);
        let (s0, acts) = inputs(1, d, k * t);
        let states = rollout(&m, &s0, &acts, 1, t, &mut RolloutTape::default());
        let mut s = s0.clone();
        for step in 0..t {
            s = m.predict(&s, &acts[step * k..(step + 1) * k]);
            assert_eq!(&states[(step + 1) * d..(step + 2) * d], s.as_slice());
        }
    }

    #[test]
    fn rollout_vjp_matches_finite_differences() {
        use crate::model::rollout::{rollout_final, rollout_vjp};
        let m = untrained(EnvKind::Pointmaze, &[24, 24], Activation::Silu, 4).unwrap();
        let (d, k, n, t) = (m.state_dim(), m.action_dim(), 2, 4);
        let s0 = [0.3, -0.2, 0.5, 0.1];
        let (_, acts) = inputs(1, d, n * t * k);
        let w: Vec<f32> = (0..n * d).map(|i| (i as f32 * 0.9).cos()).collect();
        let loss = |a: &[f32]| -> f64 {
            let f = rollout_final(&m, &s0, a, n, t);
            f.iter().zip(&w).map(|(x, w)| f64::from(x * w)).sum()
        };
        let mut tape = RolloutTape::default();
        rollout(&m, &s0, &acts, n, t, &mut tape);
        let grad = rollout_vjp(&m, &tape, &w);
        for i in 0..acts.len() {
            let (mut p, mut q) = (acts.clone(), acts.clone());
            p[i] += 1e-2;
            q[i] -= 1e-2;
            let fd = (loss(&p) - loss(&q)) / 2e-2;
            assert!(
                (fd - f64::from(grad[i])).abs() < 2e-3,
                "{i}: fd {fd} vjp {}",
                grad[i]
            );
        }
    }

    #[test]
    fn new_rejects_bad_layers() {
        let m = untrained(EnvKind::Wall, &[8], Activation::Silu, 1).unwrap();
        let mut layers = m.layers().to_vec();
        layers[0].weight[3] = f32::NAN;
        let err = MlpModel::new(m.info().clone(), layers).unwrap_err();
        assert!(err.contains("non-finite"), "{err}");
        let mut layers = m.layers().to_vec();
        layers.pop();
        assert!(MlpModel::new(m.info().clone(), layers).is_err());
    }
}
