//! Held-out accuracy of a world model against its simulator: one-step error and open-loop rollout error at
//! 1, 10, 40 and 80 model steps, in env units (Push-T px and rad), plus the fraction of rollouts that end within
//! the env's success tolerance of the simulator.

use std::collections::BTreeMap;

use serde::Serialize;

use super::data::{Episode, Source};
use super::fast::MlpModel;
use super::{Tape, WorldModel};
use crate::env::pusht::angle_error;
use crate::env::{EnvKind, CHUNK_ACTION_DIM};

/// Rollout lengths reported (model steps).
pub const HORIZONS: [usize; 4] = [1, 10, 40, 80];

/// Median, 90th percentile and mean of one error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stat {
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Mean.
    pub mean: f64,
}

impl Stat {
    /// Statistics of a sample (all zero when empty).
    pub fn of(mut v: Vec<f64>) -> Stat {
        if v.is_empty() {
            return Stat::default();
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Stat {
            median: q(0.5),
            p90: q(0.9),
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// Errors of all rollouts of one length.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HorizonStats {
    /// Model steps.
    pub steps: usize,
    /// Number of rollouts (start offsets over the held-out episodes).
    pub cases: usize,
    /// Error statistics by name (Push-T: agent_px, block_px, angle_rad, pos4_px; mazes: pos).
    pub errors: BTreeMap<String, Stat>,
    /// Fraction of rollouts ending within the success tolerance of the simulator's state.
    pub within_tolerance: f64,
}

/// The evaluation of one model on one set of episodes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// Env.
    pub env: EnvKind,
    /// Which episodes ("all" or a data source).
    pub subset: String,
    /// Episodes used.
    pub episodes: usize,
    /// One entry per length in [`HORIZONS`] (lengths longer than the episodes are skipped).
    pub horizons: Vec<HorizonStats>,
}

/// The position tolerance the success rule uses, and its unit.
pub fn tolerance(env: EnvKind) -> (f64, &'static str) {
    match env {
        EnvKind::Pusht => (20.0, "px"),
        EnvKind::Pointmaze => (0.5, "units"),
        EnvKind::Wall => (4.5, "px"),
    }
}

/// Named errors between a predicted and a true env state, and whether it is within tolerance.
fn errors(env: EnvKind, pred: &[f32], truth: &[f32]) -> (Vec<(&'static str, f64)>, bool) {
    let dist = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    match env {
        EnvKind::Pusht => {
            let agent = dist(&pred[..2], &truth[..2]);
            let block = dist(&pred[2..4], &truth[2..4]);
            let angle = f64::from(angle_error(pred[4], truth[4]));
            let pos4 = dist(&pred[..4], &truth[..4]);
            let ok = pos4 < 20.0 && angle < std::f64::consts::PI / 9.0;
            (
                vec![
                    ("agent_px", agent),
                    ("block_px", block),
                    ("angle_rad", angle),
                    ("pos4_px", pos4),
                ],
                ok,
            )
        }
        EnvKind::Pointmaze | EnvKind::Wall => {
            let pos = dist(&pred[..2], &truth[..2]);
            (vec![("pos", pos)], pos < tolerance(env).0)
        }
    }
}

/// Open-loop model rollouts of `steps` model steps from every `stride`-th start of every episode, batched.
/// Returns (predicted env states, true env states), each [cases][env dim].
pub fn rollouts(
    model: &MlpModel,
    episodes: &[Episode],
    steps: usize,
    stride: usize,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let env = model.info().env;
    let (ed, d, k) = (env.state_dim(), model.state_dim(), model.action_dim());
    let mut starts = Vec::new();
    for (e, ep) in episodes.iter().enumerate() {
        if ep.len() >= steps {
            for o in (0..=ep.len() - steps).step_by(stride.max(1)) {
                starts.push((e, o));
            }
        }
    }
    let n = starts.len();
    let mut env_s0 = Vec::with_capacity(n * ed);
    for &(e, o) in &starts {
        env_s0.extend_from_slice(&episodes[e].states[o * ed..(o + 1) * ed]);
    }
    let mut s = model.encode_state(&env_s0);
    let mut next = vec![0.0; n * d];
    let mut a = vec![0.0; n * k];
    let mut tape = Tape::default();
    for t in 0..steps {
        for (r, &(e, o)) in starts.iter().enumerate() {
            let src = (o + t) * CHUNK_ACTION_DIM;
            a[r * k..(r + 1) * k].copy_from_slice(
                &model.encode_actions(&episodes[e].actions[src..src + CHUNK_ACTION_DIM]),
            );
        }
        model.forward(&s, &a, &mut next, &mut tape);
        std::mem::swap(&mut s, &mut next);
    }
    let pred = model.decode_state(&s);
    let preds = pred.chunks_exact(ed).map(<[f32]>::to_vec).collect();
    let truths = starts
        .iter()
        .map(|&(e, o)| episodes[e].states[(o + steps) * ed..(o + steps + 1) * ed].to_vec())
        .collect();
    (preds, truths)
}

/// Evaluates `model` on `episodes` (optionally only those from `source`).
pub fn evaluate(model: &MlpModel, episodes: &[Episode], source: Option<Source>) -> EvalReport {
    let env = model.info().env;
    let eps: Vec<Episode> = episodes
        .iter()
        .filter(|e| source.is_none_or(|s| e.source == s))
        .cloned()
        .collect();
    let mut horizons = Vec::new();
    for steps in HORIZONS {
        let stride = if steps == 1 { 1 } else { 5 };
        let (preds, truths) = rollouts(model, &eps, steps, stride);
        if preds.is_empty() {
            continue;
        }
        let mut named: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut ok = 0usize;
        for (p, t) in preds.iter().zip(&truths) {
            let (errs, within) = errors(env, p, t);
            ok += usize::from(within);
            for (name, v) in errs {
                named.entry(name.to_string()).or_default().push(v);
            }
        }
        horizons.push(HorizonStats {
            steps,
            cases: preds.len(),
            errors: named.into_iter().map(|(k, v)| (k, Stat::of(v))).collect(),
            within_tolerance: ok as f64 / preds.len() as f64,
        });
    }
    EvalReport {
        env,
        subset: source.map_or("all".into(), |s| {
            serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        }),
        episodes: eps.len(),
        horizons,
    }
}

impl EvalReport {
    /// Flat figures for the training summary, e.g. `all.h10.pos4_px.median`.
    pub fn figures(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for h in &self.horizons {
            for (name, s) in &h.errors {
                out.insert(
                    format!("{}.h{}.{name}.median", self.subset, h.steps),
                    s.median,
                );
                out.insert(format!("{}.h{}.{name}.p90", self.subset, h.steps), s.p90);
            }
            out.insert(
                format!("{}.h{}.within_tolerance", self.subset, h.steps),
                h.within_tolerance,
            );
        }
        out
    }

    /// A human-readable table (one line per horizon).
    pub fn table(&self) -> String {
        let (tol, unit) = tolerance(self.env);
        let mut s = format!(
            "{} held-out episodes ({}), open-loop model vs simulator; median / p90:\n",
            self.episodes, self.subset
        );
        for h in &self.horizons {
            let errs: Vec<String> = h
                .errors
                .iter()
                .map(|(n, st)| format!("{n} {:.4} / {:.4}", st.median, st.p90))
                .collect();
            s.push_str(&format!(
                "  {:>2} steps ({} cases): {}; within tolerance ({tol} {unit}{}): {:.1}%\n",
                h.steps,
                h.cases,
                errs.join(", "),
                if self.env == EnvKind::Pusht {
                    ", π/9"
                } else {
                    ""
                },
                100.0 * h.within_tolerance
            ));
        }
        s
    }
}
