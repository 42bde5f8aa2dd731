//! What a saved world model says about itself: the metadata stored as JSON in its safetensors file (env,
//! dimensions, layer shapes, activation, normalization statistics, training summary and a format version).
//! docs/model-format.md describes every field for readers outside Rust.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codec::Codec;
use crate::env::EnvKind;

/// The `format` string every model file carries.
pub const FORMAT_NAME: &str = "grasp-explorer-world-model";
/// The metadata format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The hidden-layer nonlinearity. Smooth, so action gradients are informative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// x · sigmoid(x) = x / (1 + e^{−x}).
    Silu,
    /// tanh(x).
    Tanh,
}

impl Activation {
    /// The lowercase name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Silu => "silu",
            Activation::Tanh => "tanh",
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "silu" => Ok(Activation::Silu),
            "tanh" => Ok(Activation::Tanh),
            _ => Err(format!("unknown activation '{s}': expected silu or tanh")),
        }
    }
}

/// Every statistic that maps env units to the network's inputs and its outputs back to states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Feature mean [D]; model state = (features − state_mean) / state_std.
    pub state_mean: Vec<f32>,
    /// Feature std [D].
    pub state_std: Vec<f32>,
    /// Action mean per chunk component [K].
    pub action_mean: Vec<f32>,
    /// Action std per chunk component [K].
    pub action_std: Vec<f32>,
    /// Mean of the model-space state change s′ − s [D].
    pub delta_mean: Vec<f32>,
    /// Std of the model-space state change [D]; s′ = s + delta_mean + delta_std ⊙ net(s, a).
    pub delta_std: Vec<f32>,
}

/// How a model was trained and what it achieved on held-out data (free-form figures by name).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// The command line that produced the file.
    pub command: String,
    /// Data/initialization seed.
    pub seed: u64,
    /// Transitions generated (train + validation).
    pub samples: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Epoch (1-based) whose weights were kept (lowest validation loss).
    pub best_epoch: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Peak Adam learning rate.
    pub lr: f64,
    /// Training loss (MSE of the normalized change) of the last epoch.
    pub train_loss: f64,
    /// Validation loss of the kept epoch.
    pub val_loss: f64,
    /// Wall-clock seconds of data generation + training.
    pub seconds: f64,
    /// Held-out evaluation figures (e.g. `one_step.block_px.median`).
    #[serde(default)]
    pub eval: BTreeMap<String, f64>,
}

/// The metadata of one world-model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] at write time.
    pub format_version: u32,
    /// The env the model was trained on.
    pub env: EnvKind,
    /// Env-unit state dimension (Push-T 7, PointMaze 4, Wall 2).
    pub env_state_dim: usize,
    /// Model-space state dimension D (Push-T 8: θ as cos, sin).
    pub state_dim: usize,
    /// Model-space action dimension K (10 = frameskip × 2).
    pub action_dim: usize,
    /// Env steps per model step (5).
    pub frameskip: usize,
    /// Names of the D state features in order.
    pub state_features: Vec<String>,
    /// [out, in] of each linear layer, input first; tensors `layers.{i}.weight` [out, in], `layers.{i}.bias`.
    pub layers: Vec<[usize; 2]>,
    /// Nonlinearity after every layer but the last.
    pub activation: Activation,
    /// Normalization statistics.
    pub normalization: Normalization,
    /// Training record, if trained by `grasp-explorer train`.
    #[serde(default)]
    pub training: Option<TrainingSummary>,
}

/// The feature names of an env's model-space state.
pub fn state_feature_names(env: EnvKind) -> Vec<String> {
    let names: &[&str] = match env {
        EnvKind::Pusht => &[
            "agent_x",
            "agent_y",
            "block_x",
            "block_y",
            "cos_block_angle",
            "sin_block_angle",
            "agent_vx",
            "agent_vy",
        ],
        EnvKind::Pointmaze => &["qpos_x", "qpos_y", "qvel_x", "qvel_y"],
        EnvKind::Wall => &["x", "y"],
    };
    names.iter().map(|s| s.to_string()).collect()
}

impl ModelInfo {
    /// Metadata for a fresh model: layer shapes from `hidden` widths, stats from `codec` and the deltas.
    pub fn new(
        codec: &Codec,
        hidden: &[usize],
        activation: Activation,
        delta_mean: Vec<f32>,
        delta_std: Vec<f32>,
    ) -> ModelInfo {
        let (d, k) = (codec.state_dim(), codec.action_mean.len());
        let mut dims = vec![d + k];
        dims.extend_from_slice(hidden);
        dims.push(d);
        ModelInfo {
            format: FORMAT_NAME.to_string(),
            format_version: FORMAT_VERSION,
            env: codec.env,
            env_state_dim: codec.env.state_dim(),
            state_dim: d,
            action_dim: k,
            frameskip: crate::env::FRAMESKIP,
            state_features: state_feature_names(codec.env),
            layers: dims.windows(2).map(|w| [w[1], w[0]]).collect(),
            activation,
            normalization: Normalization {
                state_mean: codec.state_mean.clone(),
                state_std: codec.state_std.clone(),
                action_mean: codec.action_mean.clone(),
                action_std: codec.action_std.clone(),
                delta_mean,
                delta_std,
            },
            training: None,
        }
    }

    /// The codec these statistics define.
    pub fn codec(&self) -> Codec {
        let n = &self.normalization;
        Codec {
            env: self.env,
            state_mean: n.state_mean.clone(),
            state_std: n.state_std.clone(),
            action_mean: n.action_mean.clone(),
            action_std: n.action_std.clone(),
        }
    }

    /// Hidden-layer widths.
    pub fn hidden(&self) -> Vec<usize> {
        self.layers[..self.layers.len().saturating_sub(1)]
            .iter()
            .map(|l| l[0])
            .collect()
    }
}
