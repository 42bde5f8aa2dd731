//! Push-T (spec §C.1): a kinematic disc pushes a T-shaped block on a 512×512 px table, y down, simulated with
//! rapier2d to pymunk's constants ([`physics`]), plus a scripted noisy pushing policy ([`policy`]) for training
//! data and problem generation.
//!
//! State (7-d, env units): `[agent_x, agent_y, block_x, block_y, block_θ mod 2π, agent_vx, agent_vy]`, px, px/s
//! and rad. The block pose (x, y, θ) maps a local point v to `R(θ)·v + (x, y)`: (x, y) is the block's local
//! origin (the top-centre of the bar), not its centre of gravity. One env step takes a **relative** action a:
//! the PD target is `agent + 100·a` and 10 substeps of 0.01 s follow, each `vel += (k_p·(target − pos) −
//! k_v·vel)·dt` then one physics step.
//!
//! Deviations and choices (see also [`physics`]): non-finite action components are treated as 0 and components are
//! clamped to ±[`MAX_ENV_ACTION`] (2000 px, far outside the table) so that no input can blow up the solver; the
//! spec otherwise applies no clipping, so the agent itself may leave the table under extreme actions (as in the
//! original, where the kinematic agent passes through walls). `set_state` follows the original `_set_state`:
//! it places the bodies and then runs one physics step of 0.01 s (agent moves by vel·0.01, overlaps start to
//! resolve), so `state()` right after `set_state(s)` equals `s` only when the agent is at rest and nothing
//! overlaps.

pub mod physics;
pub mod policy;
#[cfg(test)]
mod tests;

use std::f32::consts::{FRAC_PI_4, PI, TAU};

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::{Env, EnvError, EnvKind};
use physics::{PhysState, PushTWorld, SolverSettings, SUBSTEP_DT};
pub use policy::{PusherConfig, ScriptedPusher};

/// Agent disc radius (px).
pub const AGENT_RADIUS: f32 = 15.0;
/// The goal pose of the T block (x, y, θ) used by the original env.
pub const GOAL_POSE: [f32; 3] = [256.0, 256.0, FRAC_PI_4];
/// The block's two rectangles in local coordinates, `[x_min, x_max, y_min, y_max]`: the bar, then the stem.
pub const BLOCK_RECTS: [[f32; 4]; 2] = [[-60.0, 60.0, 0.0, 30.0], [-15.0, 15.0, 30.0, 120.0]];
/// Block mass.
pub const BLOCK_MASS: f32 = 1.0;
/// Block moment of inertia about its centre of gravity (px²): the original's 2 × moment_for_poly(1, bar).
pub const BLOCK_MOMENT: f32 = 3000.0;
/// Block centre of gravity in local coordinates: the mean of the two rectangle centroids (not area-weighted).
pub const BLOCK_CENTER_OF_GRAVITY: [f32; 2] = [0.0, 45.0];
/// PD position gain.
pub const K_P: f32 = 100.0;
/// PD velocity gain.
pub const K_V: f32 = 20.0;
/// px of target offset per unit of relative env action.
pub const ACTION_SCALE: f32 = 100.0;
/// Physics substeps per env step (sim_hz 100 / control_hz 10).
pub const SUBSTEPS: usize = 10;
/// Safety bound on each env action component (a 2000-px target offset); non-finite components count as 0.
pub const MAX_ENV_ACTION: f32 = 20.0;
/// Largest |value| `set_state` accepts (px, rad or px/s); anything beyond is rejected as invalid.
pub const MAX_STATE_ABS: f32 = 1.0e5;
/// Success threshold on ‖Δ(agent xy, block xy)‖ (px).
pub const SUCCESS_POS_TOL: f32 = 20.0;
/// Success threshold on the block's angle error (rad).
pub const SUCCESS_ANGLE_TOL: f32 = PI / 9.0;

/// The Push-T simulator.
pub struct PushT {
    world: PushTWorld,
    settings: SolverSettings,
}

impl PushT {
    /// A simulator with the original's initial layout: agent at (256, 400) at rest, block at (256, 300, 0).
    pub fn new() -> Self {
        Self::with_settings(SolverSettings::default())
    }

    /// Like [`PushT::new`] with explicit solver settings.
    pub fn with_settings(settings: SolverSettings) -> Self {
        let start = PhysState {
            agent_pos: [256.0, 400.0],
            agent_vel: [0.0; 2],
            block_pos: [256.0, 300.0],
            block_angle: 0.0,
        };
        Self {
            world: PushTWorld::new(&start, settings),
            settings,
        }
    }

    /// The state a random reset with `seed` starts from, before `set_state`'s physics step: agent x, y ~
    /// randint(50, 450), block x, y ~ randint(100, 400), θ = randn·2π − π (mod 2π), velocity 0.
    pub fn sample_reset_state(seed: u64) -> [f32; 7] {
        let mut rng = crate::util::rng_for(seed, "pusht-reset");
        let agent_x = rng.random_range(50..450) as f32;
        let agent_y = rng.random_range(50..450) as f32;
        let block_x = rng.random_range(100..400) as f32;
        let block_y = rng.random_range(100..400) as f32;
        let z: f32 = rng.sample(StandardNormal);
        let theta = wrap_angle(z * TAU - PI);
        [agent_x, agent_y, block_x, block_y, theta, 0.0, 0.0]
    }

    /// Runs one env step and returns nothing; `Env::step` with a plain array.
    fn advance(&mut self, action: [f32; 2]) {
        let a = action.map(|c| {
            if c.is_finite() {
                c.clamp(-MAX_ENV_ACTION, MAX_ENV_ACTION)
            } else {
                0.0
            }
        });
        let start = self.world.state();
        let target = [
            start.agent_pos[0] + ACTION_SCALE * a[0],
            start.agent_pos[1] + ACTION_SCALE * a[1],
        ];
        let mut vel = start.agent_vel;
        for _ in 0..SUBSTEPS {
            let pos = self.world.agent_pos();
            for i in 0..2 {
                let acc = K_P * (target[i] - pos[i]) - K_V * vel[i];
                vel[i] += acc * SUBSTEP_DT;
            }
            self.world.substep(vel);
        }
    }
}

impl Default for PushT {
    fn default() -> Self {
        Self::new()
    }
}

impl Env for PushT {
    fn kind(&self) -> EnvKind {
        EnvKind::Pusht
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        let s = Self::sample_reset_state(seed);
        // The sampled state is finite and in range, so set_state cannot fail; fall back to placing it anyway.
        if self.set_state(&s).is_err() {
            self.world = PushTWorld::new(&phys_from_state(&s), self.settings);
        }
        self.state()
    }

    fn set_state(&mut self, state: &[f32]) -> Result<(), EnvError> {
        let expected = EnvKind::Pusht.state_dim();
        if state.len() != expected {
            return Err(EnvError::StateDim {
                env: EnvKind::Pusht,
                expected,
                got: state.len(),
            });
        }
        if let Some(i) = state.iter().position(|v| !v.is_finite()) {
            return Err(EnvError::InvalidState {
                env: EnvKind::Pusht,
                reason: format!("value {i} is not finite ({})", state[i]),
            });
        }
        if let Some(i) = state.iter().position(|v| v.abs() > MAX_STATE_ABS) {
            return Err(EnvError::InvalidState {
                env: EnvKind::Pusht,
                reason: format!("value {i} = {} is outside ±{MAX_STATE_ABS}", state[i]),
            });
        }
        let s = phys_from_state(state);
        self.world = PushTWorld::new(&s, self.settings);
        // The original `_set_state` ends with one physics step of 0.01 s (no PD update).
        self.world.substep(s.agent_vel);
        Ok(())
    }

    fn step(&mut self, action: [f32; 2]) {
        self.advance(action);
    }

    fn state(&self) -> Vec<f32> {
        let s = self.world.state();
        vec![
            s.agent_pos[0],
            s.agent_pos[1],
            s.block_pos[0],
            s.block_pos[1],
            wrap_angle(s.block_angle),
            s.agent_vel[0],
            s.agent_vel[1],
        ]
    }
}

/// The physical state encoded by a (length-checked) 7-d env state.
fn phys_from_state(state: &[f32]) -> PhysState {
    PhysState {
        agent_pos: [state[0], state[1]],
        agent_vel: [state[5], state[6]],
        block_pos: [state[2], state[3]],
        block_angle: state[4],
    }
}

/// `theta` wrapped into [0, 2π).
pub fn wrap_angle(theta: f32) -> f32 {
    let w = theta.rem_euclid(TAU);
    if w >= TAU {
        0.0
    } else {
        w
    }
}

/// Angle error min(|Δθ|, 2π − |Δθ|) for angles in any range (rad, in [0, π]).
pub fn angle_error(a: f32, b: f32) -> f32 {
    let d = wrap_angle(a - b);
    d.min(TAU - d)
}

/// The eval success rule: ‖goal[0:4] − state[0:4]‖ < 20 px and block angle error < π/9. States shorter than 5
/// values are never successful.
pub fn is_success(state: &[f32], goal: &[f32]) -> bool {
    if state.len() < 5 || goal.len() < 5 {
        return false;
    }
    let pos_err = state[..4]
        .iter()
        .zip(&goal[..4])
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f32>()
        .sqrt();
    pos_err < SUCCESS_POS_TOL && angle_error(state[4], goal[4]) < SUCCESS_ANGLE_TOL
}

/// World point of the block-local point `v` for block pose (x, y, θ): `R(θ)·v + (x, y)`.
pub fn world_from_block(pose: [f32; 3], v: [f32; 2]) -> [f32; 2] {
    let (s, c) = pose[2].sin_cos();
    [c * v[0] - s * v[1] + pose[0], s * v[0] + c * v[1] + pose[1]]
}

/// Block-local coordinates of the world point `p` for block pose (x, y, θ).
pub fn block_from_world(pose: [f32; 3], p: [f32; 2]) -> [f32; 2] {
    let (s, c) = pose[2].sin_cos();
    let d = [p[0] - pose[0], p[1] - pose[1]];
    [c * d[0] + s * d[1], -s * d[0] + c * d[1]]
}

/// Distance (px) from the world point `p` to the T block at `pose`; 0 inside the block.
pub fn distance_to_block(pose: [f32; 3], p: [f32; 2]) -> f32 {
    let q = block_from_world(pose, p);
    BLOCK_RECTS
        .iter()
        .map(|&[x0, x1, y0, y1]| {
            let dx = (x0 - q[0]).max(q[0] - x1).max(0.0);
            let dy = (y0 - q[1]).max(q[1] - y1).max(0.0);
            (dx * dx + dy * dy).sqrt()
        })
        .fold(f32::INFINITY, f32::min)
}

/// World-space corner lists (clockwise on screen) of the bar and the stem for block pose (x, y, θ).
pub fn block_polygons(x: f32, y: f32, theta: f32) -> [Vec<[f32; 2]>; 2] {
    BLOCK_RECTS.map(|[x0, x1, y0, y1]| {
        [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
            .iter()
            .map(|&v| world_from_block([x, y, theta], v))
            .collect()
    })
}
