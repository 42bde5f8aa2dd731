//! The world model's network in candle: the trainable definition (weights as candle `Var`s, seeded
//! initialization) and the training forward pass. Conversion to and from the inference layers ([`Dense`]) that
//! `fast.rs` runs and `io.rs` stores.

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng as _;

use super::fast::Dense;
use super::info::Activation;
use crate::util::rng_for;

/// A trainable MLP: linear layers with `activation` between them (none after the last).
pub struct CandleMlp {
    /// (weight [out × in], bias [out]) per layer, input first.
    pub params: Vec<(Var, Var)>,
    /// Hidden-layer nonlinearity.
    pub activation: Activation,
}

impl CandleMlp {
    /// A fresh network with layer widths `dims` (input, hidden…, output). Weights and biases are drawn
    /// U(−1/√in, 1/√in) (PyTorch's default) from `seed`, so initialization is deterministic.
    pub fn new(dims: &[usize], activation: Activation, seed: u64) -> candle_core::Result<Self> {
        let mut rng = rng_for(seed, "mlp-init");
        let mut layers = Vec::new();
        for w in dims.windows(2) {
            let (i, o) = (w[0], w[1]);
            let bound = 1.0 / (i as f32).sqrt();
            let weight: Vec<f32> = (0..i * o)
                .map(|_| rng.random_range(-bound..bound))
                .collect();
            let bias: Vec<f32> = (0..o).map(|_| rng.random_range(-bound..bound)).collect();
            layers.push(Dense {
                in_dim: i,
                out_dim: o,
                weight,
                bias,
            });
        }
        Self::from_dense(&layers, activation)
    }

    /// A network holding copies of `layers`.
    pub fn from_dense(layers: &[Dense], activation: Activation) -> candle_core::Result<Self> {
        let dev = Device::Cpu;
        let mut params = Vec::new();
        for l in layers {
            let w = Tensor::from_slice(&l.weight, (l.out_dim, l.in_dim), &dev)?;
            let b = Tensor::from_slice(&l.bias, l.out_dim, &dev)?;
            params.push((Var::from_tensor(&w)?, Var::from_tensor(&b)?));
        }
        Ok(CandleMlp { params, activation })
    }

    /// All trainable variables (for the optimizer).
    pub fn vars(&self) -> Vec<Var> {
        self.params
            .iter()
            .flat_map(|(w, b)| [w.clone(), b.clone()])
            .collect()
    }

    /// The raw network output y [B × out] for inputs x [B × in] (no state skip, no delta scaling).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.params.len() - 1;
        for (i, (w, b)) in self.params.iter().enumerate() {
            h = h
                .matmul(&w.as_tensor().t()?)?
                .broadcast_add(b.as_tensor())?;
            if i < last {
                h = match self.activation {
                    Activation::Silu => h.silu()?,
                    Activation::Tanh => h.tanh()?,
                };
            }
        }
        Ok(h)
    }

    /// Copies the current weights out as inference layers.
    pub fn to_dense(&self) -> candle_core::Result<Vec<Dense>> {
        self.params
            .iter()
            .map(|(w, b)| {
                let (o, i) = w.as_tensor().dims2()?;
                Ok(Dense {
                    in_dim: i,
                    out_dim: o,
                    weight: w
                        .as_tensor()
                        .to_dtype(DType::F32)?
                        .flatten_all()?
                        .to_vec1()?,
                    bias: b.as_tensor().to_vec1()?,
                })
            })
            .collect()
    }

    /// Overwrites the weights with `layers` (same shapes), e.g. to restore the best checkpoint.
    pub fn load_dense(&self, layers: &[Dense]) -> candle_core::Result<()> {
        for ((w, b), l) in self.params.iter().zip(layers) {
            w.set(&Tensor::from_slice(
                &l.weight,
                (l.out_dim, l.in_dim),
                &Device::Cpu,
            )?)?;
            b.set(&Tensor::from_slice(&l.bias, l.out_dim, &Device::Cpu)?)?;
        }
        Ok(())
    }
}

/// An untrained model for `env` with identity normalization (state and action stats 0/1, deltas 0/0.1):
/// for tests and benchmarks of the inference path.
pub fn untrained(
    env: crate::env::EnvKind,
    hidden: &[usize],
    activation: Activation,
    seed: u64,
) -> Result<super::MlpModel, String> {
    use super::codec::{model_state_dim, Codec};
    let d = model_state_dim(env);
    let k = crate::env::CHUNK_ACTION_DIM;
    let codec = Codec {
        env,
        state_mean: vec![0.0; d],
        state_std: vec![1.0; d],
        action_mean: vec![0.0; k],
        action_std: vec![1.0; k],
    };
    let info = super::info::ModelInfo::new(&codec, hidden, activation, vec![0.0; d], vec![0.1; d]);
    let mut dims = vec![d + k];
    dims.extend_from_slice(hidden);
    dims.push(d);
    let net = CandleMlp::new(&dims, activation, seed).map_err(|e| e.to_string())?;
    let layers = net.to_dense().map_err(|e| e.to_string())?;
    super::MlpModel::new(info, layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvKind;
    use crate::model::{Tape, WorldModel};

    /// The hand-written inference path and candle's autograd agree on predictions and both VJPs.
    #[test]
    fn fast_path_equals_candle() {
        for act in [Activation::Silu, Activation::Tanh] {
            let m = untrained(EnvKind::Pusht, &[48, 40, 32], act, 3).unwrap();
            let (d, k, b) = (m.state_dim(), m.action_dim(), 11);
            let s: Vec<f32> = (0..b * d).map(|i| (i as f32 * 0.3).sin() * 2.0).collect();
            let a: Vec<f32> = (0..b * k).map(|i| (i as f32 * 0.7).cos()).collect();
            let g: Vec<f32> = (0..b * d).map(|i| (i as f32 * 1.1).sin()).collect();
            let mut tape = Tape::default();
            let mut out = vec![0.0; b * d];
            m.forward(&s, &a, &mut out, &mut tape);
            let (mut gs, mut ga) = (vec![0.0; b * d], vec![0.0; b * k]);
            m.vjp(&tape, &g, Some(&mut gs), Some(&mut ga));

            let net = CandleMlp::from_dense(m.layers(), act).unwrap();
            let dev = Device::Cpu;
            let st = Var::from_slice(&s, (b, d), &dev).unwrap();
            let at = Var::from_slice(&a, (b, k), &dev).unwrap();
            let x = Tensor::cat(&[st.as_tensor(), at.as_tensor()], 1).unwrap();
            let n = &m.info().normalization;
            let dm = Tensor::from_slice(&n.delta_mean, d, &dev).unwrap();
            let ds = Tensor::from_slice(&n.delta_std, d, &dev).unwrap();
            let y = net.forward(&x).unwrap();
            let pred = (st.as_tensor() + y.broadcast_mul(&ds).unwrap().broadcast_add(&dm).unwrap())
                .unwrap();
            let gt = Tensor::from_slice(&g, (b, d), &dev).unwrap();
            let loss = (&pred * &gt).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let cp: Vec<f32> = pred.flatten_all().unwrap().to_vec1().unwrap();
            let cgs: Vec<f32> = grads
                .get(&st)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let cga: Vec<f32> = grads
                .get(&at)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (x, y) in [(&out, &cp), (&gs, &cgs), (&ga, &cga)] {
                for (u, v) in x.iter().zip(y.iter()) {
                    assert!((u - v).abs() < 1e-5, "{act:?}: {u} vs {v}");
                }
            }
        }
    }
}
