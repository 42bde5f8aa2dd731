//! The training objectives of `train.rs` on one minibatch, as candle graphs: the multi-step rollout loss
//! (teacher-forced first step, free-running after; [`rollout_loss`]) and the adversarial input perturbation
//! of Parthasarathy et al. 2025 ("Closing the train-test gap in world models for gradient-based planning":
//! one FGSM step from a uniform random start inside a box around the state and action inputs; [`fgsm`]).
//!
//! Units: every per-step loss is the mean over the batch and the D state dims of the squared error in units
//! of the delta std, ((ŝ_j − s_j) / delta_std)². For step 1 that equals the one-step MSE of the normalized
//! change, net(s, a) − ((s′ − s) − delta_mean) / delta_std, which is how it is computed, so the loss with one
//! step is today's one-step loss. Per-step losses are summed.

use candle_core::{Device, Tensor, Var};
use rand::Rng as _;

use super::mlp::CandleMlp;
use crate::util::Rng;

/// One minibatch of N-step segments in model space.
pub struct Batch {
    /// s_0 of each segment [B × D].
    pub start: Tensor,
    /// a_j of each segment, one [B × K] tensor per step j < N.
    pub actions: Vec<Tensor>,
    /// s_{j+1} of each segment, one [B × D] tensor per step j < N.
    pub next: Vec<Tensor>,
}

/// Gathers the segments that start at transition rows `rows` (each followed by `steps − 1` rows of the same
/// segment) from flat model-space arrays: `states`/`next` [N × d], `actions` [N × k].
pub fn gather(
    rows: &[usize],
    steps: usize,
    (states, actions, next): (&[f32], &[f32], &[f32]),
    d: usize,
    k: usize,
) -> candle_core::Result<Batch> {
    let b = rows.len();
    let dev = Device::Cpu;
    let mut s0 = Vec::with_capacity(b * d);
    for &r in rows {
        s0.extend_from_slice(&states[r * d..(r + 1) * d]);
    }
    let (mut acts, mut nexts) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for j in 0..steps {
        let (mut a, mut n) = (Vec::with_capacity(b * k), Vec::with_capacity(b * d));
        for &r in rows {
            let t = r + j;
            a.extend_from_slice(&actions[t * k..(t + 1) * k]);
            n.extend_from_slice(&next[t * d..(t + 1) * d]);
        }
        acts.push(Tensor::from_vec(a, (b, k), &dev)?);
        nexts.push(Tensor::from_vec(n, (b, d), &dev)?);
    }
    Ok(Batch {
        start: Tensor::from_vec(s0, (b, d), &dev)?,
        actions: acts,
        next: nexts,
    })
}

/// Delta normalization as tensors: (delta_mean [D], delta_std [D]).
pub struct DeltaNorm {
    /// Mean of the model-space change.
    pub mean: Tensor,
    /// Std of the model-space change (floored).
    pub std: Tensor,
}

impl DeltaNorm {
    /// From per-dim vectors.
    pub fn new(mean: &[f32], std: &[f32]) -> candle_core::Result<Self> {
        Ok(DeltaNorm {
            mean: Tensor::from_slice(mean, mean.len(), &Device::Cpu)?,
            std: Tensor::from_slice(std, std.len(), &Device::Cpu)?,
        })
    }
}

/// The summed N-step loss of `net` on `batch` with the inputs moved by `delta_s` (added to s_0) and
/// `delta_a` (added to each a_j, one per step), both optional. Targets stay the clean next states, so with a
/// state perturbation step 1's residual target is s′ − (s_0 + δ_s). The free-running steps (2..=N) are
/// weighted by `free_weight` (1 = a plain sum; smaller keeps the one-step fit in charge).
pub fn rollout_loss(
    net: &CandleMlp,
    norm: &DeltaNorm,
    batch: &Batch,
    delta_s: Option<&Tensor>,
    delta_a: Option<&[Tensor]>,
    free_weight: f32,
) -> candle_core::Result<Tensor> {
    let mut s = match delta_s {
        Some(ds) => (&batch.start + ds)?,
        None => batch.start.clone(),
    };
    let mut total: Option<Tensor> = None;
    for (j, (a, next)) in batch.actions.iter().zip(&batch.next).enumerate() {
        let a = match delta_a {
            Some(da) => (a + &da[j])?,
            None => a.clone(),
        };
        let y = net.forward(&Tensor::cat(&[&s, &a], 1)?)?;
        let step = if j == 0 {
            let target = (next - &s)?
                .broadcast_sub(&norm.mean)?
                .broadcast_div(&norm.std)?;
            (&y - target)?.sqr()?.mean_all()?
        } else {
            let pred = (&s + y.broadcast_mul(&norm.std)?.broadcast_add(&norm.mean)?)?;
            let err = (&pred - next)?.broadcast_div(&norm.std)?;
            s = pred;
            (err.sqr()?.mean_all()? * f64::from(free_weight))?
        };
        if j == 0 {
            s = (&s + y.broadcast_mul(&norm.std)?.broadcast_add(&norm.mean)?)?;
        }
        total = Some(match total {
            Some(t) => (t + step)?,
            None => step,
        });
    }
    total.ok_or_else(|| candle_core::Error::Msg("a batch needs at least one step".into()))
}

/// Box radii of the adversarial perturbation: ε_s = λ_s · std(s) and ε_a = λ_a · std(a), per model-space
/// dim, measured once on the first minibatch (as the reference code does).
#[derive(Clone, Debug, PartialEq)]
pub struct AdvRadius {
    /// ε per state dim [D].
    pub state: Vec<f32>,
    /// ε per action dim [K].
    pub action: Vec<f32>,
}

impl AdvRadius {
    /// Radii from a minibatch's states [B × D] and actions [B × K] (population std per dim).
    pub fn from_batch(batch: &Batch, lambda_s: f32, lambda_a: f32) -> candle_core::Result<Self> {
        let std = |t: &Tensor| -> candle_core::Result<Vec<f32>> {
            let mean = t.mean_keepdim(0)?;
            t.broadcast_sub(&mean)?
                .sqr()?
                .mean(0)?
                .sqrt()?
                .to_vec1::<f32>()
        };
        let s = std(&batch.start)?;
        let a = std(&batch.actions[0])?;
        Ok(AdvRadius {
            state: s.iter().map(|v| lambda_s * v).collect(),
            action: a.iter().map(|v| lambda_a * v).collect(),
        })
    }
}

/// A perturbation (δ_s [B × D], δ_a one [B × K] per step) inside the box of `radius`.
pub struct Perturbation {
    /// Added to s_0.
    pub state: Tensor,
    /// Added to each a_j.
    pub actions: Vec<Tensor>,
}

/// One FGSM step: δ from U(−ε, ε) per element, then δ ← clamp(δ + 1.25 ε · sign(∇_δ loss), −ε, ε) — the
/// direction that increases the loss. Returns the perturbation (constants, no gradient).
pub fn fgsm(
    net: &CandleMlp,
    norm: &DeltaNorm,
    batch: &Batch,
    radius: &AdvRadius,
    free_weight: f32,
    rng: &mut Rng,
) -> candle_core::Result<Perturbation> {
    let dev = Device::Cpu;
    let (b, d) = batch.start.dims2()?;
    let k = radius.action.len();
    let uniform = |rng: &mut Rng, eps: &[f32], rows: usize| -> candle_core::Result<Var> {
        let v: Vec<f32> = (0..rows * eps.len())
            .map(|i| {
                let e = eps[i % eps.len()];
                if e > 0.0 {
                    rng.random_range(-e..=e)
                } else {
                    0.0
                }
            })
            .collect();
        Var::from_vec(v, (rows, eps.len()), &dev)
    };
    let ds = uniform(rng, &radius.state, b)?;
    let da: Vec<Var> = (0..batch.actions.len())
        .map(|_| uniform(rng, &radius.action, b))
        .collect::<candle_core::Result<_>>()?;
    let da_t: Vec<Tensor> = da.iter().map(|v| v.as_tensor().clone()).collect();
    let loss = rollout_loss(
        net,
        norm,
        batch,
        Some(ds.as_tensor()),
        Some(&da_t),
        free_weight,
    )?;
    let grads = loss.backward()?;
    let eps_s = Tensor::from_slice(&radius.state, d, &dev)?;
    let eps_a = Tensor::from_slice(&radius.action, k, &dev)?;
    let step = |v: &Var, eps: &Tensor| -> candle_core::Result<Tensor> {
        let t = v.as_tensor();
        let g = match grads.get(t) {
            Some(g) => g.sign()?,
            None => t.zeros_like()?,
        };
        let moved = (t + g.broadcast_mul(&(eps * 1.25)?)?)?;
        // clamp to [−ε, ε] per dim: min(max(x, −ε), ε).
        let lo = eps.neg()?;
        Ok(moved
            .broadcast_maximum(&lo)?
            .broadcast_minimum(eps)?
            .detach())
    };
    Ok(Perturbation {
        state: step(&ds, &eps_s)?,
        actions: da
            .iter()
            .map(|v| step(v, &eps_a))
            .collect::<candle_core::Result<_>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::info::Activation;
    use crate::util::rng_for;

    fn data(n: usize, d: usize, k: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let s: Vec<f32> = (0..n * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let a: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.91).cos()).collect();
        let n2: Vec<f32> = s.iter().map(|v| v * 0.9 + 0.05).collect();
        (s, a, n2)
    }

    /// With one step and no perturbation the loss is exactly the one-step MSE of the normalized change.
    #[test]
    fn one_step_rollout_loss_is_the_one_step_mse() {
        let (d, k) = (3, 4);
        let (s, a, n) = data(20, d, k);
        let net = CandleMlp::new(&[d + k, 16, d], Activation::Silu, 2).unwrap();
        let (dm, dsd) = (vec![0.01, -0.02, 0.0], vec![0.3, 0.5, 0.2]);
        let norm = DeltaNorm::new(&dm, &dsd).unwrap();
        let rows: Vec<usize> = (0..20).collect();
        let batch = gather(&rows, 1, (&s, &a, &n), d, k).unwrap();
        let got: f32 = rollout_loss(&net, &norm, &batch, None, None, 1.0)
            .unwrap()
            .to_scalar()
            .unwrap();
        // Today's formulation: x = [s, a], y = (s' − s − dm) / ds, mean((net(x) − y)²).
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for r in 0..20 {
            x.extend_from_slice(&s[r * d..(r + 1) * d]);
            x.extend_from_slice(&a[r * k..(r + 1) * k]);
            for i in 0..d {
                y.push((n[r * d + i] - s[r * d + i] - dm[i]) / dsd[i]);
            }
        }
        let xt = Tensor::from_slice(&x, (20, d + k), &Device::Cpu).unwrap();
        let yt = Tensor::from_slice(&y, (20, d), &Device::Cpu).unwrap();
        let want: f32 = (net.forward(&xt).unwrap() - yt)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!((got - want).abs() <= 1e-6 * want.abs(), "{got} vs {want}");
        // Two steps add a second, non-negative term.
        let batch2 = gather(&rows[..19], 2, (&s, &a, &n), d, k).unwrap();
        let two: f32 = rollout_loss(&net, &norm, &batch2, None, None, 1.0)
            .unwrap()
            .to_scalar()
            .unwrap();
        let one: f32 = rollout_loss(
            &net,
            &norm,
            &gather(&rows[..19], 1, (&s, &a, &n), d, k).unwrap(),
            None,
            None,
            1.0,
        )
        .unwrap()
        .to_scalar()
        .unwrap();
        assert!(two > one, "{two} vs {one}");
        // Weight 0 on the free-running steps leaves exactly the one-step loss (of the same segments); ½ is in
        // between.
        let loss2 = |w: f32| -> f32 {
            rollout_loss(&net, &norm, &batch2, None, None, w)
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        assert!(
            (loss2(0.0) - one).abs() <= 1e-6 * one.abs(),
            "{} vs {one}",
            loss2(0.0)
        );
        let half = loss2(0.5);
        assert!(one < half && half < two, "{one} < {half} < {two}");
    }

    /// The FGSM perturbation stays inside the box and raises the loss above the clean loss.
    #[test]
    fn fgsm_stays_in_the_box_and_raises_the_loss() {
        let (d, k) = (2, 10);
        let (s, a, n) = data(64, d, k);
        let net = CandleMlp::new(&[d + k, 32, d], Activation::Silu, 5).unwrap();
        let norm = DeltaNorm::new(&[0.0, 0.0], &[0.1, 0.1]).unwrap();
        let rows: Vec<usize> = (0..60).collect();
        for steps in [1, 3] {
            let batch = gather(&rows, steps, (&s, &a, &n), d, k).unwrap();
            let radius = AdvRadius::from_batch(&batch, 0.05, 0.02).unwrap();
            assert!(radius.state.iter().all(|e| *e > 0.0));
            let mut rng = rng_for(1, "fgsm-test");
            let p = fgsm(&net, &norm, &batch, &radius, 1.0, &mut rng).unwrap();
            let inside = |t: &Tensor, eps: &[f32]| {
                let v: Vec<Vec<f32>> = t.to_vec2().unwrap();
                v.iter().all(|row| {
                    row.iter()
                        .zip(eps)
                        .all(|(x, e)| x.abs() <= e * (1.0 + 1e-6))
                })
            };
            assert!(inside(&p.state, &radius.state));
            assert!(p.actions.iter().all(|t| inside(t, &radius.action)));
            let clean: f32 = rollout_loss(&net, &norm, &batch, None, None, 1.0)
                .unwrap()
                .to_scalar()
                .unwrap();
            let adv: f32 = rollout_loss(&net, &norm, &batch, Some(&p.state), Some(&p.actions), 1.0)
                .unwrap()
                .to_scalar()
                .unwrap();
            assert!(
                adv >= clean,
                "steps {steps}: adversarial {adv} < clean {clean}"
            );
        }
    }
}
