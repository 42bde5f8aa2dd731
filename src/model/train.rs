//! Training a world model with candle: Adam on minibatches of the MSE between the network output and the
//! normalized state change ((s′ − s) − delta_mean) / delta_std, a cosine learning-rate decay, a held-out
//! validation set, and the best (lowest validation loss) weights kept. Optionally the loss unrolls the model
//! over N-step segments and/or trains on adversarially perturbed inputs (`loss.rs`), and training can start
//! from an existing model (fine-tuning keeps its normalization). Works on model-space data so tests can train
//! on analytic systems; `cli/train.rs` and `finetune/` feed it simulator episodes.

use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::seq::SliceRandom;

use super::codec::Codec;
use super::data::{segment_left, transitions, Episode};
use super::fast::{Dense, MlpModel};
use super::info::{Activation, ModelInfo};
use super::loss::{fgsm, gather, rollout_loss, AdvRadius, DeltaNorm};
use super::mlp::CandleMlp;
use super::WorldModel;
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
    /// Model steps unrolled per training segment: 1 = the one-step loss; N > 1 sums the losses of a rollout
    /// teacher-forced at step 1 and free-running after. ≥ 1 and ≤ the segment length, default 1.
    pub rollout_steps: usize,
    /// Weight of the free-running steps 2..=N of the rollout loss relative to step 1; finite, ≥ 0, default 1
    /// (a plain sum). Below 1 the one-step fit stays in charge while the rollout still counts.
    pub rollout_weight: f32,
    /// Adversarial box radius of the state inputs in units of their per-dim std (λ_s); 0 = off. Finite,
    /// ≥ 0, default 0 (the reference uses 0.02–0.05).
    pub adv_state: f32,
    /// Adversarial box radius of the action inputs in units of their per-dim std (λ_a); 0 = off. Finite,
    /// ≥ 0, default 0 (the reference uses 0.02).
    pub adv_action: f32,
}

impl TrainConfig {
    /// Whether inputs are perturbed adversarially.
    pub fn adversarial(&self) -> bool {
        self.adv_state > 0.0 || self.adv_action > 0.0
    }
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
            rollout_steps: 1,
            rollout_weight: 1.0,
            adv_state: 0.0,
            adv_action: 0.0,
        }
    }
}

/// Model-space transitions: states [N × D], actions [N × K], next states [N × D], in segment order.
#[derive(Clone, Debug, Default)]
pub struct ModelData {
    /// s.
    pub states: Vec<f32>,
    /// a.
    pub actions: Vec<f32>,
    /// s′.
    pub next: Vec<f32>,
    /// Per transition, how many transitions remain in its segment counting itself (1 = the segment's last;
    /// the next row continues the segment while this is > 1). Empty = every transition stands alone.
    pub seg_left: Vec<u32>,
}

impl ModelData {
    /// The model-space transitions of simulator episodes (env units), each episode one segment.
    pub fn from_episodes(codec: &Codec, env: crate::env::EnvKind, episodes: &[Episode]) -> Self {
        let (s, a, s2) = transitions(env, episodes);
        ModelData {
            states: codec.encode_states(&s),
            actions: codec.encode_actions(&a),
            next: codec.encode_states(&s2),
            seg_left: segment_left(episodes),
        }
    }

    /// Number of transitions, given the state dim.
    pub fn len(&self, d: usize) -> usize {
        self.states.len() / d.max(1)
    }

    /// Appends another data set's transitions (its segments stay segments).
    pub fn extend(&mut self, other: &ModelData, d: usize) {
        let fill = |v: &mut Vec<u32>, n: usize| v.extend(std::iter::repeat_n(1, n));
        if self.seg_left.is_empty() {
            let n = self.len(d);
            fill(&mut self.seg_left, n);
        }
        if other.seg_left.is_empty() {
            fill(&mut self.seg_left, other.len(d));
        } else {
            self.seg_left.extend_from_slice(&other.seg_left);
        }
        self.states.extend_from_slice(&other.states);
        self.actions.extend_from_slice(&other.actions);
        self.next.extend_from_slice(&other.next);
    }

    /// The rows at which an N-step segment can start (N rows of one segment from there).
    pub fn starts(&self, d: usize, steps: usize) -> Vec<usize> {
        let n = self.len(d);
        if self.seg_left.is_empty() {
            return if steps <= 1 {
                (0..n).collect()
            } else {
                Vec::new()
            };
        }
        (0..n)
            .filter(|&r| self.seg_left[r] as usize >= steps.max(1))
            .collect()
    }
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

/// The mean N-step loss of `net` over the segments starting at `starts` (chunks of 4096, no perturbation).
fn mean_loss(
    net: &CandleMlp,
    norm: &DeltaNorm,
    data: &ModelData,
    starts: &[usize],
    steps: usize,
    free_weight: f32,
    (d, k): (usize, usize),
) -> candle_core::Result<f64> {
    let mut total = 0.0;
    for rows in starts.chunks(4096) {
        let batch = gather(rows, steps, (&data.states, &data.actions, &data.next), d, k)?;
        let l: f32 = rollout_loss(net, norm, &batch, None, None, free_weight)?.to_scalar()?;
        total += f64::from(l) * rows.len() as f64;
    }
    Ok(total / starts.len().max(1) as f64)
}

/// Trains a fresh model for `codec`'s env on model-space data; returns the best-validation model and the
/// final epoch's statistics plus the kept epoch.
pub fn fit(
    codec: &Codec,
    train: &ModelData,
    val: &ModelData,
    cfg: &TrainConfig,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<(MlpModel, EpochStats, EpochStats), TrainError> {
    fit_from(codec, None, train, val, cfg, on_event)
}

/// [`fit`], starting from `init`'s weights when given (fine-tuning: its layer sizes, activation and delta
/// normalization are kept and `cfg.hidden`/`cfg.activation` are ignored; the data must be encoded with
/// `init`'s codec, which `codec` then is).
pub fn fit_from(
    codec: &Codec,
    init: Option<&MlpModel>,
    train: &ModelData,
    val: &ModelData,
    cfg: &TrainConfig,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<(MlpModel, EpochStats, EpochStats), TrainError> {
    let (d, k) = (codec.state_dim(), codec.action_mean.len());
    let steps = cfg.rollout_steps.max(1);
    let starts = train.starts(d, steps);
    let val_starts = val.starts(d, steps);
    if starts.len() < 2 || val_starts.is_empty() {
        return Err(TrainError::NoData(format!(
            "{} training and {} validation segments of {steps} steps",
            starts.len(),
            val_starts.len()
        )));
    }
    let radius_ok = |r: f32| r.is_finite() && r >= 0.0;
    if !radius_ok(cfg.adv_state) || !radius_ok(cfg.adv_action) {
        return Err(TrainError::NoData(format!(
            "adversarial radii must be finite and >= 0, got {} and {}",
            cfg.adv_state, cfg.adv_action
        )));
    }
    let (net, hidden, activation, dm, ds) = match init {
        Some(m) => {
            let n = &m.info().normalization;
            let act = m.info().activation;
            (
                CandleMlp::from_dense(m.layers(), act)?,
                m.info().hidden(),
                act,
                n.delta_mean.clone(),
                n.delta_std.clone(),
            )
        }
        None => {
            let (dm, ds) = delta_stats(d, train);
            let mut dims = vec![d + k];
            dims.extend_from_slice(&cfg.hidden);
            dims.push(d);
            let net = CandleMlp::new(&dims, cfg.activation, cfg.seed)?;
            (net, cfg.hidden.clone(), cfg.activation, dm, ds)
        }
    };
    if init.is_some_and(|m| m.state_dim() != d || m.action_dim() != k) {
        return Err(TrainError::Invalid(
            "the starting model's dims do not match the data".into(),
        ));
    }
    let norm = DeltaNorm::new(&dm, &ds)?;
    let mut opt = AdamW::new(
        net.vars(),
        ParamsAdamW {
            lr: cfg.lr,
            weight_decay: 0.0,
            ..Default::default()
        },
    )?;
    let mut rng = rng_for(cfg.seed, "train-batches");
    let mut adv_rng = rng_for(cfg.seed, "train-adversarial");
    let mut radius: Option<AdvRadius> = None;
    let mut order = starts;
    let batch = cfg.batch.clamp(1, order.len());
    let steps_per_epoch = order.len().div_ceil(batch);
    let total_steps = (steps_per_epoch * cfg.epochs.max(1)) as f64;
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
            let b = gather(
                idx,
                steps,
                (&train.states, &train.actions, &train.next),
                d,
                k,
            )?;
            let loss = if cfg.adversarial() {
                if radius.is_none() {
                    radius = Some(AdvRadius::from_batch(&b, cfg.adv_state, cfg.adv_action)?);
                }
                let r = radius.as_ref().expect("set above");
                let p = fgsm(&net, &norm, &b, r, cfg.rollout_weight, &mut adv_rng)?;
                rollout_loss(
                    &net,
                    &norm,
                    &b,
                    Some(&p.state),
                    Some(&p.actions),
                    cfg.rollout_weight,
                )?
            } else {
                rollout_loss(&net, &norm, &b, None, None, cfg.rollout_weight)?
            };
            let lv = f64::from(loss.to_scalar::<f32>()?);
            if !lv.is_finite() {
                return Err(TrainError::Diverged(epoch + 1));
            }
            opt.backward_step(&loss)?;
            sum += lv;
            on_event(TrainEvent::Batch { epoch, loss: lv });
        }
        let val_loss = mean_loss(
            &net,
            &norm,
            val,
            &val_starts,
            steps,
            cfg.rollout_weight,
            (d, k),
        )?;
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
    let info = ModelInfo::new(codec, &hidden, activation, dm, ds);
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
            seg_left: Vec::new(),
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
