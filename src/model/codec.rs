//! Conversion between env units and a world model's normalized spaces.
//!
//! A model-space state is `(features(env_state) − state_mean) / state_std`. The features are the env state
//! itself except for Push-T, whose block angle θ becomes (cos θ, sin θ) so the model space has no 2π wrap:
//! Push-T env `[ax, ay, bx, by, θ, avx, avy]` → features `[ax, ay, bx, by, cos θ, sin θ, avx, avy]`. Decoding
//! recovers θ = atan2(sin, cos) mapped to [0, 2π). cos and sin are not centred and share one scale (√½) so the
//! unit circle keeps its shape in model space. A model-space action chunk is `(env_chunk − action_mean) /
//! action_std` per component (10 values: 5 low-level 2-d actions, statistics tiled over the 5).

use serde::{Deserialize, Serialize};

use crate::env::{EnvKind, CHUNK_ACTION_DIM, ENV_ACTION_DIM};

/// Push-T action mean of DINO-WM's `pusht_noise` dataset (relative actions / 100, spec §C.1).
pub const PUSHT_ACTION_MEAN: [f32; 2] = [-0.0087, 0.0068];
/// Push-T action std of DINO-WM's `pusht_noise` dataset (spec §C.1): a normalized 1 is ~20 px of target offset.
pub const PUSHT_ACTION_STD: [f32; 2] = [0.2019, 0.2002];
/// The shared scale of Push-T's (cos θ, sin θ) features: the std of cos of a uniform angle.
pub const ANGLE_FEATURE_STD: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// Smallest std used for normalization (a constant feature keeps scale 1 instead of dividing by ~0).
const MIN_STD: f32 = 1e-6;

/// Dimension of the feature (and model-space) state for an env: the env state dim, +1 for Push-T's cos/sin.
pub fn model_state_dim(env: EnvKind) -> usize {
    match env {
        EnvKind::Pusht => 8,
        EnvKind::Pointmaze | EnvKind::Wall => env.state_dim(),
    }
}

/// Writes the un-normalized features of one env state (len `env.state_dim()`) into `out` (len model dim).
pub fn features_from_env(env: EnvKind, env_state: &[f32], out: &mut [f32]) {
    match env {
        EnvKind::Pusht => {
            out[..4].copy_from_slice(&env_state[..4]);
            out[4] = env_state[4].cos();
            out[5] = env_state[4].sin();
            out[6] = env_state[5];
            out[7] = env_state[6];
        }
        EnvKind::Pointmaze | EnvKind::Wall => out.copy_from_slice(env_state),
    }
}

/// Inverse of [`features_from_env`]: Push-T's angle is atan2(sin, cos) in [0, 2π).
pub fn env_from_features(env: EnvKind, feats: &[f32], out: &mut [f32]) {
    match env {
        EnvKind::Pusht => {
            out[..4].copy_from_slice(&feats[..4]);
            out[4] = feats[5].atan2(feats[4]).rem_euclid(std::f32::consts::TAU);
            // rem_euclid can round up to exactly 2π for tiny negative angles.
            if out[4] >= std::f32::consts::TAU {
                out[4] = 0.0;
            }
            out[5] = feats[6];
            out[6] = feats[7];
        }
        EnvKind::Pointmaze | EnvKind::Wall => out.copy_from_slice(feats),
    }
}

/// Normalization statistics of one model: everything needed to go between env units and model space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Codec {
    /// The env whose units are encoded.
    pub env: EnvKind,
    /// Per-feature mean [D] (Push-T cos/sin: 0).
    pub state_mean: Vec<f32>,
    /// Per-feature std [D] (Push-T cos/sin: √½).
    pub state_std: Vec<f32>,
    /// Per-component action mean over one chunk [K = 10] (the 2-d statistics tiled 5 times).
    pub action_mean: Vec<f32>,
    /// Per-component action std over one chunk [K = 10].
    pub action_std: Vec<f32>,
}

fn mean_std(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (mut n, mut s, mut s2) = (0f64, 0f64, 0f64);
    for v in values {
        n += 1.0;
        s += f64::from(v);
        s2 += f64::from(v) * f64::from(v);
    }
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let mean = s / n;
    let std = (s2 / n - mean * mean).max(0.0).sqrt() as f32;
    (mean as f32, if std < MIN_STD { 1.0 } else { std })
}

impl Codec {
    /// Fits the statistics to data: `env_states` is [N × env dim], `env_actions` is [M × 2] low-level actions.
    /// Push-T actions use DINO-WM's published statistics instead (so planner settings tuned on them transfer).
    pub fn fit(env: EnvKind, env_states: &[f32], env_actions: &[f32]) -> Codec {
        let (ed, d) = (env.state_dim(), model_state_dim(env));
        let feats: Vec<f32> = env_states
            .chunks_exact(ed)
            .flat_map(|s| {
                let mut f = vec![0.0; d];
                features_from_env(env, s, &mut f);
                f
            })
            .collect();
        let mut state_mean = vec![0.0; d];
        let mut state_std = vec![1.0; d];
        for i in 0..d {
            let (m, s) = mean_std(feats.iter().skip(i).step_by(d).copied());
            state_mean[i] = m;
            state_std[i] = s;
        }
        if env == EnvKind::Pusht {
            for i in 4..6 {
                state_mean[i] = 0.0;
                state_std[i] = ANGLE_FEATURE_STD;
            }
        }
        let (mut am, mut asd) = ([0.0; 2], [1.0; 2]);
        if env == EnvKind::Pusht {
            am = PUSHT_ACTION_MEAN;
            asd = PUSHT_ACTION_STD;
        } else {
            for i in 0..ENV_ACTION_DIM {
                (am[i], asd[i]) = mean_std(env_actions.iter().skip(i).step_by(2).copied());
            }
        }
        let action_mean = (0..CHUNK_ACTION_DIM).map(|j| am[j % 2]).collect();
        let action_std = (0..CHUNK_ACTION_DIM).map(|j| asd[j % 2]).collect();
        Codec {
            env,
            state_mean,
            state_std,
            action_mean,
            action_std,
        }
    }

    /// Model-space state dimension D.
    pub fn state_dim(&self) -> usize {
        self.state_mean.len()
    }

    /// Env states (a multiple of the env state dim) → model-space states.
    pub fn encode_states(&self, env_states: &[f32]) -> Vec<f32> {
        let (ed, d) = (self.env.state_dim(), self.state_dim());
        let mut out = vec![0.0; env_states.len() / ed * d];
        for (s, o) in env_states.chunks_exact(ed).zip(out.chunks_exact_mut(d)) {
            features_from_env(self.env, s, o);
            for ((v, m), sd) in o.iter_mut().zip(&self.state_mean).zip(&self.state_std) {
                *v = (*v - m) / sd;
            }
        }
        out
    }

    /// Model-space states (a multiple of D) → env states.
    pub fn decode_states(&self, model_states: &[f32]) -> Vec<f32> {
        let (ed, d) = (self.env.state_dim(), self.state_dim());
        let mut out = vec![0.0; model_states.len() / d * ed];
        let mut f = vec![0.0; d];
        for (s, o) in model_states.chunks_exact(d).zip(out.chunks_exact_mut(ed)) {
            for i in 0..d {
                f[i] = s[i] * self.state_std[i] + self.state_mean[i];
            }
            env_from_features(self.env, &f, o);
        }
        out
    }

    /// Flat env actions (a multiple of 2; chunk position taken modulo 10) → normalized actions.
    pub fn encode_actions(&self, env_actions: &[f32]) -> Vec<f32> {
        let k = self.action_mean.len();
        env_actions
            .iter()
            .enumerate()
            .map(|(j, v)| (v - self.action_mean[j % k]) / self.action_std[j % k])
            .collect()
    }

    /// Normalized actions → flat env actions.
    pub fn decode_actions(&self, model_actions: &[f32]) -> Vec<f32> {
        let k = self.action_mean.len();
        model_actions
            .iter()
            .enumerate()
            .map(|(j, v)| v * self.action_std[j % k] + self.action_mean[j % k])
            .collect()
    }

    /// Checks lengths, finiteness and positivity; the reason is one line.
    pub fn validate(&self, state_dim: usize, action_dim: usize) -> Result<(), String> {
        if self.state_mean.len() != state_dim || self.state_std.len() != state_dim {
            return Err(format!(
                "state normalization has {}/{} values, expected {state_dim}",
                self.state_mean.len(),
                self.state_std.len()
            ));
        }
        if self.action_mean.len() != action_dim || self.action_std.len() != action_dim {
            return Err(format!(
                "action normalization has {}/{} values, expected {action_dim}",
                self.action_mean.len(),
                self.action_std.len()
            ));
        }
        let all = [
            &self.state_mean,
            &self.state_std,
            &self.action_mean,
            &self.action_std,
        ];
        if all.iter().any(|v| v.iter().any(|x| !x.is_finite())) {
            return Err("normalization statistics contain non-finite values".into());
        }
        if self
            .state_std
            .iter()
            .chain(&self.action_std)
            .any(|s| *s <= 0.0)
        {
            return Err("normalization std must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pusht_codec() -> Codec {
        let states = [
            100.0, 200.0, 250.0, 260.0, 0.3, 5.0, -3.0, //
            300.0, 120.0, 200.0, 300.0, 6.0, -10.0, 8.0,
        ];
        Codec::fit(EnvKind::Pusht, &states, &[0.1, -0.2, 0.3, 0.0])
    }

    #[test]
    fn pusht_round_trip_keeps_angle_in_range() {
        let c = pusht_codec();
        assert_eq!(c.state_mean[4], 0.0);
        assert_eq!(c.action_std[3], PUSHT_ACTION_STD[1]);
        for theta in [0.0f32, 0.5, 3.0, 6.2, 6.27] {
            let s = [120.0, 220.0, 260.0, 250.0, theta, 1.5, -2.5];
            let m = c.encode_states(&s);
            assert_eq!(m.len(), 8);
            let back = c.decode_states(&m);
            for i in 0..7 {
                let d = if i == 4 {
                    let e = (back[4] - s[4]).rem_euclid(std::f32::consts::TAU);
                    e.min(std::f32::consts::TAU - e)
                } else {
                    (back[i] - s[i]).abs()
                };
                assert!(d < 1e-4, "dim {i}: {} vs {}", back[i], s[i]);
            }
            assert!((0.0..std::f32::consts::TAU).contains(&back[4]));
        }
    }

    #[test]
    fn action_and_plain_state_round_trip() {
        let states = [1.0, 2.0, 0.5, -0.5, 2.0, 1.0, -1.0, 0.5];
        let acts: Vec<f32> = (0..20).map(|i| (i as f32 * 0.37).sin()).collect();
        let c = Codec::fit(EnvKind::Pointmaze, &states, &acts);
        let m = c.encode_states(&states);
        // Fitted stats normalize the data to zero mean, unit std.
        assert!((m[0] + m[4]).abs() < 1e-6 && (m[0].abs() - 1.0).abs() < 1e-5);
        for (a, b) in c.decode_states(&m).iter().zip(&states) {
            assert!((a - b).abs() < 1e-5);
        }
        let back = c.decode_actions(&c.encode_actions(&acts));
        for (a, b) in back.iter().zip(&acts) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!(c.validate(4, 10).is_ok());
        assert!(c.validate(5, 10).is_err());
    }
}
