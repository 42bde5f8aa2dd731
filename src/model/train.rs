//! Training a world model with candle: Adam on minibatches of the MSE between the network output and the
//! normalized state change ((s′ − s) − delta_mean) / delta_std, a cosine learning-rate decay, a held-out
//! validation set, and the best (lowest validation loss) weights kept. Works on model-space data so tests
//! can train on analytic systems; `cli/train.rs` feeds it simulator episodes.

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;

use super::codec::Codec;
use super::fast::{Dense, MlpModel};
use super::info::{Activation, ModelInfo};
use super::mlp::CandleMlp;
use crate::util::rng_for;

/// Network and optimizer settings.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Hidden-layer widths; default [256, 256] (chosen by measurement, docs/models.md).
    pub hidden: Vec<usize>,
    /// Hidden nonlinearity; default SiLU.
    pub activation: Activation,
    /// Passes over the training set; ≥ 1.
    pub epochs: usize,
    /// Minibatch size; ≥ 1, default 256.
    pub batch: usize,
    /// Peak Adam learning rate; > 0, default 1e-3.
    pub lr: f64,
    /// Final learning rate as a fraction of `lr` (cosine decay over the epochs); [0, 1], default 0.02.
    pub lr_final_frac: f64,
    /// Seed of initialization and minibatch order.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            hidden: vec![256, 256],
            activation: Activation::Silu,
            epochs: 40,
            batch: 256,
            lr: 1e-3,
            lr_final_frac: 0.02,
            seed: 0,
        }
    }
}

/// Model-space transitions: states [N × D], actions [N × K], next states [N × D].
#[derive(Clone, Debug, Default)]
pub struct ModelData {
    /// s.
    pub states: Vec<f32>,
    /// a.
    pub actions: Vec<f32>,
    /// s′.
    pub next: Vec<f32>,
}

/// Something that happened during training (for progress display).
#[derive(Clone, Copy, Debug)]
pub enum TrainEvent {
    /// A minibatch finished.
    Batch {
        /// 0-based epoch.
        epoch: usize,
        /// Minibatch loss.
        loss: f64,
    },
    /// An epoch finished.
    Epoch(EpochStats),
}

/// Losses after one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean minibatch loss over the epoch.
    pub train_loss: f64,
    /// Validation loss (MSE of the normalized change).
    pub val_loss: f64,
    /// Whether this epoch's weights are the best so far (and kept).
    pub best: bool,
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Too little data.
    #[error("not enough training data: {0}")]
    NoData(String),
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {0} (non-finite loss); try a smaller --lr")]
    Diverged(usize),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// The trained weights did not form a valid model.
    #[error("invalid trained model: {0}")]
    Invalid(String),
}

/// Mean and std (floored) of the per-dim change s′ − s.
fn delta_stats(d: usize, data: &ModelData) -> (Vec<f32>, Vec<f32>) {
    let n = (data.states.len() / d).max(1) as f64;
    let (mut s, mut s2) = (vec![0f64; d], vec![0f64; d]);
    for (i, (a, b)) in data.states.iter().zip(&data.next).enumerate() {
        let v = f64::from(b - a);
        s[i % d] += v;
        s2[i % d] += v * v;
    }
    let mean: Vec<f32> = s.iter().map(|v| (v / n) as f32).collect();
    let std = (0..d)
        .map(|i| {
            let var = s2[i] / n - (s[i] / n).powi(2);
            (var.max(0.0).sqrt() as f32).max(1e-4)
        })
        .collect();
    (mean, std)
}

/// Network inputs [N × (D+K)] and targets [N × D].
fn xy(d: usize, k: usize, data: &ModelData, dm: &[f32], ds: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let n = data.states.len() / d;
    let mut x = Vec::with_capacity(n * (d + k));
    let mut y = Vec::with_capacity(n * d);
    for r in 0..n {
        x.extend_from_slice(&data.states[r * d..(r + 1) * d]);
        x.extend_from_slice(&data.actions[r * k..(r + 1) * k]);
        for i in 0..d {
            y.push((data.next[r * d + i] - data.states[r * d + i] - dm[i]) / ds[i]);
        }
    }
    (x, y)
}

fn mse(net: &CandleMlp, x: &[f32], y: &[f32], w: usize, d: usize) -> candle_core::Result<f64> {
    let n = y.len() / d;
    let mut total = 0.0;
    for start in (0..n).step_by(4096) {
        let m = (n - start).min(4096);
        let xt = Tensor::from_slice(&x[start * w..(start + m) * w], (m, w), &Device::Cpu)?;
        let yt = Tensor::from_slice(&y[start * d..(start + m) * d], (m, d), &Device::Cpu)?;
        let diff = (net.forward(&xt)? - yt)?;
        total += f64::from(diff.sqr()?.sum_all()?.to_scalar::<f32>()?);
    }
    Ok(total / (n * d).max(1) as f64)
}

/// Trains a model for `codec`'s env on model-space data; returns the best-validation model and the final
/// epoch's statistics plus the kept epoch.
pub fn fit(
    codec: &Codec,
    train: &ModelData,
    val: &ModelData,
    cfg: &TrainConfig,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<(MlpModel, EpochStats, EpochStats), TrainError> {
    let (d, k) = (codec.state_dim(), codec.action_mean.len());
    let w = d + k;
    let n = train.states.len() / d;
    if n < 2 || val.states.len() < d {
        return Err(TrainError::NoData(format!(
            "{n} training and {} validation transitions",
            val.states.len() / d
        )));
    }
    let (dm, ds) = delta_stats(d, train);
    let (x, y) = xy(d, k, train, &dm, &ds);
    let (vx, vy) = xy(d, k, val, &dm, &ds);
    let mut dims = vec![w];
    dims.extend_from_slice(&cfg.hidden);
    dims.push(d);
    let net = CandleMlp::new(&dims, cfg.activation, cfg.seed)?;
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let mut rng = rng_for(cfg.seed, "train-batches");
    let mut order: Vec<usize> = (0..n).collect();
    let batch = cfg.batch.clamp(1, n);
    let steps_per_epoch = n.div_ceil(batch);
    let total_steps = (steps_per_epoch * cfg.epochs.max(1)) as f64;
    let (mut bx, mut by) = (Vec::new(), Vec::new());
    let mut best: Option<(Vec<Dense>, EpochStats)> = None;
    let mut last = None;
    let mut step = 0usize;
    for epoch in 0..cfg.epochs.max(1) {
        order.shuffle(&mut rng);
        let mut sum = 0.0;
        for idx in order.chunks(batch) {
            let frac = step as f64 / total_steps;
            let cos = 0.5 * (1.0 + (std::f64::consts::PI * frac).cos());
            opt.set_learning_rate(cfg.lr * (cfg.lr_final_frac + (1.0 - cfg.lr_final_frac) * cos));
            step += 1;
            bx.clear();
            by.clear();
            for &r in idx {
                bx.extend_from_slice(&x[r * w..(r + 1) * w]);
                by.extend_from_slice(&y[r * d..(r + 1) * d]);
            }
            let xt = Tensor::from_slice(&bx, (idx.len(), w), &Device::Cpu)?;
            let yt = Tensor::from_slice(&by, (idx.len(), d), &Device::Cpu)?;
            let loss = (net.forward(&xt)? - yt)?.sqr()?.mean_all()?;
            let lv = f64::from(loss.to_scalar::<f32>()?);
            if !lv.is_finite() {
                return Err(TrainError::Diverged(epoch + 1));
            }
            opt.backward_step(&loss)?;
            sum += lv;
            on_event(TrainEvent::Batch { epoch, loss: lv });
        }
        let val_loss = mse(&net, &vx, &vy, w, d)?;
        if !val_loss.is_finite() {
            return Err(TrainError::Diverged(epoch + 1));
        }
        let is_best = best.as_ref().is_none_or(|(_, b)| val_loss < b.val_loss);
        let stats = EpochStats {
            epoch: epoch + 1,
            train_loss: sum / steps_per_epoch as f64,
            val_loss,
            best: is_best,
        };
        if is_best {
            best = Some((net.to_dense()?, stats));
        }
        last = Some(stats);
        on_event(TrainEvent::Epoch(stats));
    }
    let (Some((layers, best_stats)), Some(last)) = (best, last) else {
        return Err(TrainError::NoData("no epochs ran".into()));
    };
    let info = ModelInfo::new(codec, &cfg.hidden, cfg.activation, dm, ds);
    let model = MlpModel::new(info, layers).map_err(TrainError::Invalid)?;
    Ok((model, last, best_stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvKind;
    use crate::model::linear::LinearModel;
    use crate::model::{Tape, WorldModel};
    use rand::Rng as _;
    use rand_distr::StandardNormal;

    fn sample(sys: &LinearModel, n: usize, seed: u64) -> ModelData {
        let mut rng = rng_for(seed, "linear-test");
        let states: Vec<f32> = (0..n * sys.d).map(|_| rng.sample(StandardNormal)).collect();
        let actions: Vec<f32> = (0..n * sys.k).map(|_| rng.sample(StandardNormal)).collect();
        let next = sys.predict(&states, &actions);
        ModelData {
            states,
            actions,
            next,
        }
    }

    /// A short training run on s′ = A s + B a recovers the map: held-out predictions and the action
    /// Jacobian (read through the VJP) match the true system.
    #[test]
    fn tiny_training_recovers_linear_system() {
        let sys = LinearModel::test_system(2, 10);
        let codec = Codec {
            env: EnvKind::Wall,
            state_mean: vec![0.0; 2],
            state_std: vec![1.0; 2],
            action_mean: vec![0.0; 10],
            action_std: vec![1.0; 10],
        };
        let cfg = TrainConfig {
            hidden: vec![32],
            epochs: 30,
            batch: 64,
            lr: 3e-3,
            seed: 1,
            ..TrainConfig::default()
        };
        let (train, val, test) = (
            sample(&sys, 3000, 1),
            sample(&sys, 300, 2),
            sample(&sys, 50, 3),
        );
        let (model, last, best) = fit(&codec, &train, &val, &cfg, &mut |_| {}).unwrap();
        assert!(best.val_loss <= last.val_loss);
        assert!(best.val_loss < 1e-3, "val loss {}", best.val_loss);
        let pred = model.predict(&test.states, &test.actions);
        let err = pred
            .iter()
            .zip(&test.next)
            .map(|(p, t)| (p - t).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 0.05, "max abs error {err}");
        let mut tape = Tape::default();
        let mut out = vec![0.0; 2];
        model.forward(&[0.2, -0.3], &[0.1; 10], &mut out, &mut tape);
        for i in 0..2 {
            let mut g = [0.0; 2];
            g[i] = 1.0;
            let mut ga = [0.0; 10];
            model.vjp(&tape, &g, None, Some(&mut ga));
            for (j, g) in ga.iter().enumerate() {
                assert!(
                    (g - sys.b[i * 10 + j]).abs() < 0.02,
                    "B[{i},{j}]: {g} vs {}",
                    sys.b[i * 10 + j]
                );
            }
        }
    }
}
