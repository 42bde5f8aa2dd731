//! Placeholder simulator until the envs issue lands.

use super::{Env, EnvError, EnvKind};

/// Placeholder.
#[derive(Default)]
pub struct Wall {
    state: Vec<f32>,
}

impl Wall {
    /// Placeholder.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Placeholder.
pub fn is_success(state: &[f32], goal: &[f32]) -> bool {
    state == goal
}

impl Env for Wall {
    fn kind(&self) -> EnvKind {
        EnvKind::Wall
    }
    fn reset(&mut self, _seed: u64) -> Vec<f32> {
        self.state = vec![0.0; self.kind().state_dim()];
        self.state.clone()
    }
    fn set_state(&mut self, state: &[f32]) -> Result<(), EnvError> {
        self.state = state.to_vec();
        Ok(())
    }
    fn step(&mut self, _action: [f32; 2]) {}
    fn state(&self) -> Vec<f32> {
        self.state.clone()
    }
}
