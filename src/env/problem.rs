//! Planning problems (placeholder until the envs issue lands).

use serde::{Deserialize, Serialize};

use super::EnvKind;

/// A planning problem in env units: start, goal, horizon in world-model steps, and the seed it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Which env.
    pub env: EnvKind,
    /// Start state (env units).
    pub start: Vec<f32>,
    /// Goal state (env units).
    pub goal: Vec<f32>,
    /// Horizon T in world-model steps.
    pub horizon: usize,
    /// Seed it was generated from.
    pub seed: u64,
}
