//! Simulated environments (Push-T, PointMaze U-maze, Wall) to the constants of spec §C, the `Env` contract
//! every simulator implements, and the shared notions built on it: frameskip chunks, success, `Problem`s.
//!
//! States are in env units (Push-T: px and rad, y down; PointMaze: MuJoCo qpos/qvel; Wall: px, y down). One
//! `Env::step` takes one 2-d low-level action; one world-model step is [`FRAMESKIP`] env steps whose actions are
//! concatenated into a chunk a ∈ R^10 in order `[a1x, a1y, a2x, a2y, …]`.

pub mod pointmaze;
pub mod policies;
pub mod problem;
pub mod pusht;
pub mod render;
pub mod scene;
pub mod sweep;
pub mod wall;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use problem::Problem;
pub use scene::{Rgba, Scene, Shape};

/// Env steps per world-model step (DINO-WM frameskip).
pub const FRAMESKIP: usize = 5;
/// Dimension of one low-level env action.
pub const ENV_ACTION_DIM: usize = 2;
/// Dimension of one world-model action chunk (FRAMESKIP env actions concatenated).
pub const CHUNK_ACTION_DIM: usize = FRAMESKIP * ENV_ACTION_DIM;

/// Errors from the simulators.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// A state vector of the wrong length for this env.
    #[error("{env} state must have {expected} values, got {got}")]
    StateDim {
        env: EnvKind,
        expected: usize,
        got: usize,
    },
    /// A state that is not finite or lies outside the env's free space.
    #[error("invalid {env} state: {reason}")]
    InvalidState { env: EnvKind, reason: String },
    /// An action list whose length is not a multiple of the action size.
    #[error("{what}: expected a multiple of {multiple} values, got {got}")]
    ActionLength {
        what: String,
        multiple: usize,
        got: usize,
    },
}

/// Which environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    /// Push-T: a disc pushes a T-shaped block to a goal pose (spec §C.1).
    Pusht,
    /// PointMaze U-maze: a point mass driven by motor forces (spec §C.2).
    Pointmaze,
    /// Wall: a dot moves between two rooms through a door (spec §C.3).
    Wall,
}

impl EnvKind {
    /// Every env, in display order.
    pub const ALL: [EnvKind; 3] = [EnvKind::Pusht, EnvKind::Pointmaze, EnvKind::Wall];

    /// The lowercase name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            EnvKind::Pusht => "pusht",
            EnvKind::Pointmaze => "pointmaze",
            EnvKind::Wall => "wall",
        }
    }

    /// Length of the env-unit state vector.
    pub fn state_dim(self) -> usize {
        match self {
            EnvKind::Pusht => 7,
            EnvKind::Pointmaze => 4,
            EnvKind::Wall => 2,
        }
    }

    /// A fresh simulator of this kind.
    pub fn make(self) -> Box<dyn Env> {
        match self {
            EnvKind::Pusht => Box::new(pusht::PushT::new()),
            EnvKind::Pointmaze => Box::new(pointmaze::PointMaze::new()),
            EnvKind::Wall => Box::new(wall::Wall::new()),
        }
    }

    /// The env's success rule (spec §C): Push-T ‖Δ(agent, block) xy‖ < 20 px and angle error < π/9;
    /// PointMaze ‖Δxy‖ < 0.5; Wall ‖Δxy‖ < 4.5 px.
    pub fn is_success(self, state: &[f32], goal: &[f32]) -> bool {
        match self {
            EnvKind::Pusht => pusht::is_success(state, goal),
            EnvKind::Pointmaze => pointmaze::is_success(state, goal),
            EnvKind::Wall => wall::is_success(state, goal),
        }
    }

    /// The position distance the success rule thresholds (Push-T: over agent and block xy jointly).
    pub fn goal_distance(self, state: &[f32], goal: &[f32]) -> f32 {
        let n = match self {
            EnvKind::Pusht => 4,
            EnvKind::Pointmaze | EnvKind::Wall => 2,
        };
        state[..n]
            .iter()
            .zip(&goal[..n])
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }
}

impl fmt::Display for EnvKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EnvKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EnvKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown env '{s}': expected one of pusht, pointmaze, wall"))
    }
}

/// A simulator. Deterministic: the same seed and actions give bit-identical states.
pub trait Env: Send {
    /// Which env this is.
    fn kind(&self) -> EnvKind;
    /// Random reset per the spec's ranges, deterministic in `seed`; returns the new state.
    fn reset(&mut self, seed: u64) -> Vec<f32>;
    /// Sets the full state (env units). Errors on a wrong length or a non-finite / invalid state.
    fn set_state(&mut self, state: &[f32]) -> Result<(), EnvError>;
    /// Advances one env step with one low-level action (env units).
    fn step(&mut self, action: [f32; 2]);
    /// The current state (env units).
    fn state(&self) -> Vec<f32>;
}

/// Runs one world-model step: FRAMESKIP env steps with the chunk's actions in order. `chunk` has
/// CHUNK_ACTION_DIM values. Returns the state after the chunk.
pub fn step_chunk(env: &mut dyn Env, chunk: &[f32]) -> Vec<f32> {
    for a in chunk.chunks_exact(ENV_ACTION_DIM) {
        env.step([a[0], a[1]]);
    }
    env.state()
}

/// Rolls a whole plan out in the simulator from `start`. `env_actions` is a flat list of 2-d env actions.
/// Returns every state visited, starting with `start` (len = env_actions.len() / 2 + 1).
pub fn rollout_env(
    kind: EnvKind,
    start: &[f32],
    env_actions: &[f32],
) -> Result<Vec<Vec<f32>>, EnvError> {
    if !env_actions.len().is_multiple_of(ENV_ACTION_DIM) {
        return Err(EnvError::ActionLength {
            what: "env actions".into(),
            multiple: ENV_ACTION_DIM,
            got: env_actions.len(),
        });
    }
    let mut env = kind.make();
    env.set_state(start)?;
    let mut out = Vec::with_capacity(env_actions.len() / ENV_ACTION_DIM + 1);
    out.push(env.state());
    for a in env_actions.chunks_exact(ENV_ACTION_DIM) {
        env.step([a[0], a[1]]);
        out.push(env.state());
    }
    Ok(out)
}
