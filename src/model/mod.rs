//! World models F(s, a) → s′ and the contract planners use: batched forward with a caller-owned activation
//! [`Tape`], vector-Jacobian products with respect to states and actions, serial rollouts with their VJP
//! ([`rollout`]), and converters between env units and the model's normalized spaces.
//!
//! Planners work only in model space (normalized, encoded states; normalized action chunks), so their
//! hyper-parameters transfer across envs. `linear` holds an analytic model s′ = A s + B a used by tests.

pub mod checks;
pub mod codec;
pub mod data;
pub mod ensemble;
pub mod eval;
pub mod fast;
pub mod info;
pub mod io;
pub mod kernels;
pub mod linear;
pub mod loss;
pub mod mlp;
pub mod plot;
pub mod rollout;
pub mod train;
pub mod trust_model;

use std::path::Path;
use std::sync::Arc;

use crate::env::EnvKind;

pub use fast::MlpModel;
pub use info::ModelInfo;
pub use io::ModelError;

/// Loads the world model for `env` (from `path_override`, else [`io::default_model_path`]), ready to share
/// between planners and threads. Errors are one line, e.g. a missing default model names the train command.
pub fn load_for_env(
    env: EnvKind,
    path_override: Option<&Path>,
) -> Result<Arc<dyn WorldModel>, ModelError> {
    Ok(Arc::new(io::load_env_model(env, path_override)?))
}

/// Scratch space for one batched forward pass: the activations a VJP needs. Owned by the caller so that
/// repeated calls reuse allocations and the model itself stays immutable and shareable across threads.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    /// Batch size of the recorded forward pass.
    pub batch: usize,
    /// Model-specific buffers (e.g. each layer's input and pre-activation).
    pub bufs: Vec<Vec<f32>>,
}

/// A learned (or analytic) one-step dynamics model in normalized model space.
///
/// Shapes are row-major flat slices: `states` is [B × state_dim], `actions` is [B × action_dim],
/// `out` is [B × state_dim]; B is `states.len() / state_dim`.
pub trait WorldModel: Send + Sync {
    /// The env this model was trained for (None for analytic test models).
    fn env(&self) -> Option<EnvKind>;
    /// Dimension D of the model-space state.
    fn state_dim(&self) -> usize;
    /// Dimension K of a model-space action (one normalized chunk).
    fn action_dim(&self) -> usize;
    /// Batched prediction s′ = F(s, a), recording what `vjp` needs into `tape`.
    fn forward(&self, states: &[f32], actions: &[f32], out: &mut [f32], tape: &mut Tape);
    /// Batched prediction like `forward`, but `scratch` keeps only what the pass itself needs, not what a
    /// VJP needs (so it must not be passed to `vjp`): for rollouts that are never differentiated (CEM).
    /// Same outputs as `forward`, bit for bit. Default: `forward`.
    fn forward_no_grad(
        &self,
        states: &[f32],
        actions: &[f32],
        out: &mut [f32],
        scratch: &mut Tape,
    ) {
        self.forward(states, actions, out, scratch);
    }
    /// Vector-Jacobian product of the last `forward` recorded in `tape`: given dL/ds′ (`grad_out`,
    /// [B × D]), writes (overwrites) dL/ds into `grad_states` and dL/da into `grad_actions` when given.
    fn vjp(
        &self,
        tape: &Tape,
        grad_out: &[f32],
        grad_states: Option<&mut [f32]>,
        grad_actions: Option<&mut [f32]>,
    );
    /// Env-unit state → model-space state.
    fn encode_state(&self, env_state: &[f32]) -> Vec<f32>;
    /// Model-space state → env-unit state.
    fn decode_state(&self, model_state: &[f32]) -> Vec<f32>;
    /// Flat env actions (a multiple of one chunk's worth) → flat normalized model actions.
    fn encode_actions(&self, env_actions: &[f32]) -> Vec<f32>;
    /// Flat normalized model actions → flat env actions (what the simulator executes).
    fn decode_actions(&self, model_actions: &[f32]) -> Vec<f32>;

    /// The ensemble this model plans as the designated member of, if it is one (planners' disagreement
    /// penalty and adaptive MPC read the other members through it). Default: none.
    fn ensemble(&self) -> Option<&ensemble::Ensemble> {
        None
    }

    /// Convenience: batched prediction without keeping a tape.
    fn predict(&self, states: &[f32], actions: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; states.len()];
        let mut tape = Tape::default();
        self.forward(states, actions, &mut out, &mut tape);
        out
    }
}
