//! CEM's hot loop: N sampled plans stored time-major ([T × N × K], so step t's actions for a run of samples
//! are one contiguous slice), rolled out keeping only the current states (`WorldModel::forward_no_grad`: no
//! tapes, so the working set stays in cache), one batched model call per step per chunk of samples, and
//! scored by the weighted squared distance of the final state to the goal. The samples are split into one
//! chunk per thread of the caller's [`Parallel`] pool; costs come back in sample order, so the result is the
//! same for every thread count (rows never depend on their batch in `model::kernels`).

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::parallel::Parallel;
use super::serial::wsq_dist;
use crate::model::{Tape, WorldModel};
use crate::util::Rng;

/// One chunk's rollout buffers.
#[derive(Clone, Debug, Default)]
struct Chunk {
    /// Samples lo..hi.
    lo: usize,
    hi: usize,
    cur: Vec<f32>,
    next: Vec<f32>,
    scratch: Tape,
    costs: Vec<f32>,
    /// With the disagreement penalty: the other ensemble members' current states, one buffer per member.
    others: Vec<Vec<f32>>,
    /// Per sample: Σ_t Σ_m ‖w ⊙ (s_t^m − s_t)‖² so far.
    spread: Vec<f32>,
}

/// N plans of T × K actions, time-major, and their costs.
#[derive(Clone, Debug, Default)]
pub struct SampleBatch {
    n: usize,
    horizon: usize,
    k: usize,
    /// [T × N × K]: element (t, i, c) is sample i's action component c at step t.
    samples: Vec<f32>,
    costs: Vec<f32>,
    chunks: Vec<Chunk>,
}

impl SampleBatch {
    /// Draws N plans: plan 0 is `mean` itself, plan i ≥ 1 is mean + std ⊙ z (z standard normal, drawn plan
    /// by plan, element by element in plan order), clamped to ±`bound` (no clamp if `bound` ≤ 0).
    #[allow(clippy::too_many_arguments)]
    pub fn draw(
        &mut self,
        mean: &[f32],
        std: &[f32],
        n: usize,
        horizon: usize,
        k: usize,
        bound: f32,
        rng: &mut Rng,
    ) {
        debug_assert_eq!(mean.len(), horizon * k);
        (self.n, self.horizon, self.k) = (n, horizon, k);
        self.samples.resize(horizon * n * k, 0.0);
        for t in 0..horizon {
            let at = t * n * k;
            self.samples[at..at + k].copy_from_slice(&mean[t * k..(t + 1) * k]);
        }
        for i in 1..n {
            for (j, (m, s)) in mean.iter().zip(std).enumerate() {
                let z: f32 = rng.sample(StandardNormal);
                let mut v = m + s * z;
                if bound > 0.0 {
                    v = v.clamp(-bound, bound);
                }
                let (t, c) = (j / k, j % k);
                self.samples[(t * n + i) * k + c] = v;
            }
        }
    }

    /// Rolls every plan out from `s0` and scores it: cost_i = Σ_j w_j (s_T,i,j − g_j)², plus, with a
    /// disagreement penalty λ > 0 and an ensemble model, λ/(T(M−1)) Σ_t Σ_m Σ_j w_j (s^m_t,i,j − s_t,i,j)²
    /// over the other members' rollouts of the same plan. Splits the plans into one chunk per pool thread.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &mut self,
        model: &dyn WorldModel,
        s0: &[f32],
        goal: &[f32],
        weights: &[f32],
        penalty: f32,
        parallel: &Parallel,
    ) {
        let (n, horizon, k, d) = (self.n, self.horizon, self.k, model.state_dim());
        let others: Vec<&dyn WorldModel> = match model.ensemble() {
            Some(e) if penalty > 0.0 => e.others().map(|m| m as &dyn WorldModel).collect(),
            _ => Vec::new(),
        };
        let scale = if others.is_empty() {
            0.0
        } else {
            penalty / (horizon.max(1) * others.len()) as f32
        };
        let parts = parallel.threads().clamp(1, n.max(1));
        self.chunks.resize_with(parts, Chunk::default);
        for (p, c) in self.chunks.iter_mut().enumerate() {
            (c.lo, c.hi) = (p * n / parts, (p + 1) * n / parts);
        }
        let samples = &self.samples;
        parallel.for_each(&mut self.chunks, |c| {
            let rows = c.hi - c.lo;
            c.cur.clear();
            for _ in 0..rows {
                c.cur.extend_from_slice(s0);
            }
            c.next.resize(rows * d, 0.0);
            c.others.resize_with(others.len(), Vec::new);
            for o in &mut c.others {
                o.clone_from(&c.cur);
            }
            c.spread.clear();
            c.spread.resize(rows, 0.0);
            for t in 0..horizon {
                let a = &samples[(t * n + c.lo) * k..(t * n + c.hi) * k];
                model.forward_no_grad(&c.cur, a, &mut c.next, &mut c.scratch);
                std::mem::swap(&mut c.cur, &mut c.next);
                for (m, cur_m) in others.iter().zip(&mut c.others) {
                    m.forward_no_grad(cur_m, a, &mut c.next, &mut c.scratch);
                    std::mem::swap(cur_m, &mut c.next);
                    for ((sp, sm), s) in c
                        .spread
                        .iter_mut()
                        .zip(cur_m.chunks_exact(d))
                        .zip(c.cur.chunks_exact(d))
                    {
                        *sp += wsq_dist(sm, s, weights);
                    }
                }
            }
            c.costs.clear();
            c.costs.extend(
                c.cur
                    .chunks_exact(d)
                    .zip(&c.spread)
                    .map(|(s, sp)| wsq_dist(s, goal, weights) + scale * sp),
            );
        });
        self.costs.clear();
        for c in &self.chunks {
            self.costs.extend_from_slice(&c.costs);
        }
    }

    /// The costs of the last `evaluate`, in sample order.
    pub fn costs(&self) -> &[f32] {
        &self.costs
    }

    /// Mean and unbiased variance (0 for a single elite) per plan element over the `elites` (sample
    /// indices), summed in the order given: the same numbers as `cem::elite_stats` on plan-major samples.
    pub fn elite_stats(&self, elites: &[usize], mean: &mut [f32], var: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        let at = |e: usize, j: usize| self.samples[((j / k) * n + e) * k + j % k];
        let count = elites.len() as f32;
        for (j, m) in mean.iter_mut().enumerate() {
            let mut s = 0.0;
            for &e in elites {
                s += at(e, j);
            }
            *m = s / count;
        }
        var.iter_mut().for_each(|v| *v = 0.0);
        if elites.len() < 2 {
            return;
        }
        let denom = count - 1.0;
        for (j, (v, m)) in var.iter_mut().zip(mean.iter()).enumerate() {
            let mut s = 0.0;
            for &e in elites {
                let x = at(e, j);
                s += (x - m) * (x - m);
            }
            *v = s / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng_for;

    #[test]
    fn time_major_draws_and_stats_equal_the_plan_major_ones() {
        let (n, horizon, k) = (9, 4, 3);
        let plan = horizon * k;
        let mean: Vec<f32> = (0..plan).map(|i| (i as f32 * 0.4).sin()).collect();
        let std: Vec<f32> = (0..plan).map(|i| 0.2 + 0.1 * (i % 3) as f32).collect();
        let mut batch = SampleBatch::default();
        batch.draw(&mean, &std, n, horizon, k, 0.9, &mut rng_for(3, "cem"));
        // The plan-major draw CEM made before: the same stream, element by element in plan order.
        let mut rng = rng_for(3, "cem");
        let mut plan_major = mean.clone();
        for _ in 1..n {
            for j in 0..plan {
                let z: f32 = rng.sample(StandardNormal);
                plan_major.push((mean[j] + std[j] * z).clamp(-0.9, 0.9));
            }
        }
        for i in 0..n {
            for j in 0..plan {
                let (t, c) = (j / k, j % k);
                assert_eq!(batch.samples[(t * n + i) * k + c], plan_major[i * plan + j]);
            }
        }
        let elites = [4, 0, 7, 2];
        let (mut m1, mut v1, mut m2, mut v2) = (
            vec![0.0; plan],
            vec![0.0; plan],
            vec![0.0; plan],
            vec![0.0; plan],
        );
        batch.elite_stats(&elites, &mut m1, &mut v1);
        super::super::cem::elite_stats(&plan_major, plan, &elites, &mut m2, &mut v2);
        assert_eq!((m1, v1), (m2, v2));
    }

    /// A Wall ensemble of untrained members (seeds given; equal seeds give equal members).
    fn ensemble(seeds: &[u64]) -> crate::model::ensemble::Ensemble {
        use crate::model::info::Activation;
        use crate::model::mlp::untrained;
        let members = seeds
            .iter()
            .map(|&s| untrained(crate::env::EnvKind::Wall, &[16, 12], Activation::Silu, s).unwrap())
            .collect();
        crate::model::ensemble::Ensemble::new(members, 0, false).unwrap()
    }

    fn costs(model: &dyn WorldModel, penalty: f32, mean: &[f32], horizon: usize) -> Vec<f32> {
        let (d, k) = (model.state_dim(), model.action_dim());
        let std = vec![0.5; mean.len()];
        let mut batch = SampleBatch::default();
        batch.draw(mean, &std, 6, horizon, k, 3.0, &mut rng_for(5, "cem"));
        let s0 = vec![0.3; d];
        let goal = vec![-0.2; d];
        let weights: Vec<f32> = (0..d).map(|j| 1.0 + j as f32).collect();
        batch.evaluate(model, &s0, &goal, &weights, penalty, &Parallel::single());
        batch.costs().to_vec()
    }

    #[test]
    fn the_disagreement_penalty_adds_the_members_spread_and_nothing_when_they_agree() {
        let horizon = 4;
        let agree = ensemble(&[7, 7, 7]);
        let k = agree.action_dim();
        let mean: Vec<f32> = (0..horizon * k).map(|i| (i as f32 * 0.3).cos()).collect();
        let alone = costs(agree.designated_model(), 0.0, &mean, horizon);
        assert_eq!(
            costs(&agree, 5.0, &mean, horizon),
            alone,
            "identical members add nothing"
        );
        let differ = ensemble(&[7, 8, 9]);
        let plain = costs(&differ, 0.0, &mean, horizon);
        assert_eq!(plain, alone, "an ensemble plans as its designated member");
        let penalized = costs(&differ, 5.0, &mean, horizon);
        // Sample 0 is the mean itself: its penalty by hand, from the members' own rollouts.
        let d = differ.state_dim();
        let weights: Vec<f32> = (0..d).map(|j| 1.0 + j as f32).collect();
        let roll = |m: &dyn WorldModel| {
            let mut s = vec![0.3; d];
            let mut out = Vec::new();
            for t in 0..horizon {
                s = m.predict(&s, &mean[t * k..(t + 1) * k]);
                out.push(s.clone());
            }
            out
        };
        let reference = roll(differ.designated_model());
        let mut spread = 0.0f32;
        for m in differ.others() {
            for (a, b) in roll(m).iter().zip(&reference) {
                spread += wsq_dist(a, b, &weights);
            }
        }
        let expected = 5.0 * spread / (horizon * 2) as f32;
        assert!(expected > 0.0);
        let got = penalized[0] - plain[0];
        assert!(
            (got - expected).abs() <= 1e-4 * expected.max(1.0),
            "{got} vs {expected}"
        );
        assert!(penalized.iter().zip(&plain).all(|(p, q)| p > q));
    }
}
