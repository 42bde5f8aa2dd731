//! PointMaze U-maze (spec §C.2, D4RL maze2d-umaze as used by DINO-WM): a point mass of radius 0.1 driven by
//! two motors through a U-shaped corridor. State = [qpos_x, qpos_y, qvel_x, qvel_y] in qpos coordinates
//! (world = qpos + 1.2).
//!
//! Dynamics of one env step (MuJoCo `MazeEnv.step` with frame_skip 5):
//! 1. clip the action to [−1, 1] and the velocity to [−5, 5] (per component);
//! 2. five substeps of dt = 0.01 of MuJoCo's Euler integrator. Euler treats joint damping b implicitly: it solves
//!    (M + dt·B)·qacc = F − B·v, then v′ = v + dt·qacc, which simplifies to v′ = (v + dt·F/m) / (1 + dt·b/m)
//!    with F = 100·u (gear 100), m = 1000·(4/3)π·0.1³ and b = 1; the position then advances semi-implicitly,
//!    q′ = q + dt·v′;
//! 3. walls are solid: the position update is an exact swept test of the disc against the wall boxes
//!    ([`super::sweep`]); at contact the disc stops, loses its normal velocity and slides (frictionless,
//!    condim 1). MuJoCo's soft contacts allow a little penetration; ours allow none, a deliberate difference.
//!
//! Arithmetic is f64 inside a step and the state is stored as f32, so a step is a pure function of the state.

use rand::Rng as _;

use super::sweep::{self, Aabb};
use super::{Env, EnvError, EnvKind};
use crate::util::{rng_for, Rng};

/// Radius of the point's collision sphere.
pub const RADIUS: f64 = 0.1;
/// Point mass: density 1000 × sphere volume (4/3)π·0.1³ ≈ 4.18879.
pub const MASS: f64 = 1000.0 * 4.0 / 3.0 * std::f64::consts::PI * 0.001;
/// Motor gear: force = GEAR · u.
pub const GEAR: f64 = 100.0;
/// Joint damping coefficient b.
pub const DAMPING: f64 = 1.0;
/// MuJoCo timestep.
pub const DT: f64 = 0.01;
/// Substeps per env step (frame_skip).
pub const SUBSTEPS: usize = 5;
/// Velocity bound applied before each env step.
pub const VEL_CLIP: f64 = 5.0;
/// World position = qpos + WORLD_OFFSET (the particle body sits at (1.2, 1.2)).
pub const WORLD_OFFSET: f64 = 1.2;
/// Success radius: ‖Δxy‖ < 0.5.
pub const SUCCESS_RADIUS: f32 = 0.5;
/// Bound of the sampled start/goal velocities (the dataset's STATE_RANGES).
pub const SAMPLE_VEL: f64 = 5.226_255_4;
/// The maze rows: the row index w maps to world x = w + 1, the column index h to world y = h + 1.
pub const U_MAZE: [&str; 5] = ["#####", "#GOO#", "###O#", "#OOO#", "#####"];
/// Half-extent of a wall cell box.
pub const CELL_HALF: f64 = 0.5;

/// The qpos range the maze's interior (free space plus the inner wall) spans in each axis.
pub const INTERIOR: [f64; 2] = [0.3, 3.3];

/// Every wall cell of the U-maze as a box in qpos coordinates (centre = (w + 1, h + 1) − 1.2, half 0.5).
pub fn wall_boxes() -> Vec<Aabb> {
    let mut out = Vec::new();
    for (w, row) in U_MAZE.iter().enumerate() {
        for (h, tile) in row.bytes().enumerate() {
            if tile == b'#' {
                out.push(Aabb {
                    center: [w as f64 + 1.0 - WORLD_OFFSET, h as f64 + 1.0 - WORLD_OFFSET],
                    half: [CELL_HALF, CELL_HALF],
                });
            }
        }
    }
    out
}

/// One env step of the pure dynamics: `state` = [x, y, vx, vy], `action` = motor commands (clipped here).
pub fn step_state(state: [f32; 4], action: [f32; 2], boxes: &[Aabb]) -> [f32; 4] {
    let u = [
        clip(f64::from(action[0]), 1.0),
        clip(f64::from(action[1]), 1.0),
    ];
    let mut pos = [f64::from(state[0]), f64::from(state[1])];
    let mut vel = [
        clip(f64::from(state[2]), VEL_CLIP),
        clip(f64::from(state[3]), VEL_CLIP),
    ];
    sweep::push_out(&mut pos, RADIUS, boxes);
    let denom = 1.0 + DT * DAMPING / MASS;
    for _ in 0..SUBSTEPS {
        for i in 0..2 {
            vel[i] = (vel[i] + DT * GEAR * u[i] / MASS) / denom;
        }
        sweep::move_disc(&mut pos, &mut vel, DT, RADIUS, boxes);
    }
    [pos[0] as f32, pos[1] as f32, vel[0] as f32, vel[1] as f32]
}

/// Clamps to [−bound, bound]; NaN actions count as 0 so one bad value cannot poison the state.
fn clip(x: f64, bound: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(-bound, bound)
    }
}

/// DINO-WM's validity rule for sampled positions (qpos): an arm, or the connector at the top.
pub fn sample_valid(x: f64, y: f64) -> bool {
    ((0.5..=1.1).contains(&x) || (2.5..=3.1).contains(&x)) && (0.5..=3.1).contains(&y)
        || (1.1 < x && x < 2.5) && (2.5..=3.1).contains(&y)
}

/// One random state (DINO-WM `generate_state`): rejection-sample x, y ~ U[0.5, 3.1] until valid, then
/// velocities ~ U[−5.2262554, 5.2262554].
pub fn sample_state(rng: &mut Rng) -> [f32; 4] {
    let (x, y) = loop {
        let x = rng.random_range(0.5..3.1);
        let y = rng.random_range(0.5..3.1);
        if sample_valid(x, y) {
            break (x, y);
        }
    };
    let vx = rng.random_range(-SAMPLE_VEL..SAMPLE_VEL);
    let vy = rng.random_range(-SAMPLE_VEL..SAMPLE_VEL);
    [x as f32, y as f32, vx as f32, vy as f32]
}

/// Start and goal, drawn in that order from one RNG stream of `seed` (the goal velocity is drawn too).
pub fn sample_start_goal(seed: u64) -> ([f32; 4], [f32; 4]) {
    let mut rng = rng_for(seed, "pointmaze-start-goal");
    let start = sample_state(&mut rng);
    let goal = sample_state(&mut rng);
    (start, goal)
}

/// Success: ‖goal[0:2] − state[0:2]‖ < 0.5 (velocity ignored).
pub fn is_success(state: &[f32], goal: &[f32]) -> bool {
    if state.len() < 2 || goal.len() < 2 {
        return false;
    }
    let (dx, dy) = (state[0] - goal[0], state[1] - goal[1]);
    (dx * dx + dy * dy).sqrt() < SUCCESS_RADIUS
}

/// How far a set state may overlap a wall before it is rejected (smaller overlaps are pushed out at the next
/// step).
pub const SET_STATE_TOLERANCE: f64 = 1e-3;

/// Why `state` is not a valid PointMaze state, if it is not: non-finite, outside the maze, or overlapping a wall
/// by more than [`SET_STATE_TOLERANCE`].
pub fn state_problem(state: &[f32], boxes: &[Aabb]) -> Option<String> {
    if state.iter().any(|v| !v.is_finite()) {
        return Some(format!("{state:?} is not finite"));
    }
    let p = [f64::from(state[0]), f64::from(state[1])];
    let inside = |v: f64| (INTERIOR[0]..=INTERIOR[1]).contains(&v);
    if !inside(p[0]) || !inside(p[1]) {
        return Some(format!("position ({}, {}) is outside the maze", p[0], p[1]));
    }
    if sweep::clearance(p, RADIUS, boxes) < -SET_STATE_TOLERANCE {
        return Some(format!(
            "position ({}, {}) overlaps a wall (the point has radius {RADIUS})",
            p[0], p[1]
        ));
    }
    None
}

/// The PointMaze simulator.
#[derive(Clone, Debug)]
pub struct PointMaze {
    boxes: Vec<Aabb>,
    state: [f32; 4],
}

impl Default for PointMaze {
    fn default() -> Self {
        Self::new()
    }
}

impl PointMaze {
    /// A U-maze with the point at the seed-0 start.
    pub fn new() -> Self {
        PointMaze {
            boxes: wall_boxes(),
            state: sample_start_goal(0).0,
        }
    }

    /// The wall boxes (qpos coordinates).
    pub fn boxes(&self) -> &[Aabb] {
        &self.boxes
    }
}

impl Env for PointMaze {
    fn kind(&self) -> EnvKind {
        EnvKind::Pointmaze
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.state = sample_start_goal(seed).0;
        self.state()
    }

    fn set_state(&mut self, state: &[f32]) -> Result<(), EnvError> {
        let expected = self.kind().state_dim();
        if state.len() != expected {
            return Err(EnvError::StateDim {
                env: self.kind(),
                expected,
                got: state.len(),
            });
        }
        if let Some(reason) = state_problem(state, &self.boxes) {
            return Err(EnvError::InvalidState {
                env: self.kind(),
                reason,
            });
        }
        self.state = [state[0], state[1], state[2], state[3]];
        Ok(())
    }

    fn step(&mut self, action: [f32; 2]) {
        self.state = step_state(self.state, action, &self.boxes);
    }

    fn state(&self) -> Vec<f32> {
        self.state.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_match_the_spec_free_space() {
        let boxes = wall_boxes();
        assert_eq!(boxes.len(), 18);
        // Free-space centres of each region are clear by 0.4; the inner wall block centre is inside a box.
        for p in [[0.8, 1.8], [2.8, 1.8], [1.8, 2.8]] {
            assert!(
                (sweep::clearance(p, RADIUS, &boxes) - 0.4).abs() < 1e-12,
                "{p:?}"
            );
        }
        assert!(sweep::clearance([1.8, 1.3], RADIUS, &boxes) < 0.0);
    }

    #[test]
    fn free_motion_matches_the_implicit_euler_formula() {
        let boxes = wall_boxes();
        let s = step_state([0.8, 1.8, 0.5, -0.25], [0.3, 0.0], &boxes);
        let (mut x, mut v) = (0.8f64, 0.5f64);
        for _ in 0..SUBSTEPS {
            v = (v + DT * 30.0 / MASS) / (1.0 + DT / MASS);
            x += DT * v;
        }
        assert!((f64::from(s[0]) - x).abs() < 1e-6 && (f64::from(s[2]) - v).abs() < 1e-6);
        assert!(
            s[3] > -0.25 && s[3] < 0.0,
            "damping shrinks the free velocity: {}",
            s[3]
        );
    }

    #[test]
    fn velocity_and_action_are_clipped_before_the_step() {
        let boxes = wall_boxes();
        // Coasting (u = 0) from |v| = 50 behaves exactly like coasting from the clipped 5; u = 7 acts like 1.
        let a = step_state([1.8, 2.8, 50.0, 0.0], [0.0, 0.0], &boxes);
        let b = step_state([1.8, 2.8, 5.0, 0.0], [0.0, 0.0], &boxes);
        assert_eq!(a, b);
        let c = step_state([1.8, 2.8, 0.0, 0.0], [7.0, -9.0], &boxes);
        let d = step_state([1.8, 2.8, 0.0, 0.0], [1.0, -1.0], &boxes);
        assert_eq!(c, d);
        // Within one env step the speed can exceed 5 only by the 5 substeps of thrust: < 5 + 5·dt·100/m.
        let e = step_state([0.8, 0.8, 5.0, 5.0], [1.0, 1.0], &boxes);
        let bound = (VEL_CLIP + SUBSTEPS as f64 * DT * GEAR / MASS) as f32;
        assert!(e[2] <= bound && e[3] <= bound);
    }

    #[test]
    fn random_rollouts_never_enter_a_wall() {
        let boxes = wall_boxes();
        for seed in 0..1000u64 {
            let (start, _) = sample_start_goal(seed);
            let mut s = start;
            let mut rng = rng_for(seed, "maze-test-actions");
            let mut a = [0.0f32; 2];
            for _ in 0..60 {
                // Smooth random actions, sometimes saturated, so the point hits walls at speed.
                for ai in &mut a {
                    *ai = (0.7 * *ai + rng.random_range(-1.5..1.5f32)).clamp(-2.0, 2.0);
                }
                s = step_state(s, a, &boxes);
                let p = [f64::from(s[0]), f64::from(s[1])];
                for b in &boxes {
                    assert!(
                        b.distance(p) >= RADIUS - 1e-4,
                        "seed {seed}: {s:?} inside {b:?}"
                    );
                }
                assert!(s.iter().all(|v| v.is_finite()));
                assert!(state_problem(&s, &boxes).is_none(), "{s:?}");
            }
        }
    }

    #[test]
    fn a_point_driven_into_a_wall_rests_against_it() {
        let boxes = wall_boxes();
        // Push left from the left arm: the wall face is at qpos x = 0.3, so the centre rests at 0.4.
        let mut s = [0.8, 1.8, 0.0, 0.0];
        for _ in 0..40 {
            s = step_state(s, [-1.0, 0.0], &boxes);
        }
        assert!((f64::from(s[0]) - 0.4).abs() < 1e-5, "{s:?}");
        assert_eq!(s[2], 0.0);
    }

    #[test]
    fn sampling_is_valid_and_deterministic() {
        for seed in 0..300 {
            let (s, g) = sample_start_goal(seed);
            for st in [s, g] {
                let p = [f64::from(st[0]), f64::from(st[1])];
                assert!(
                    sweep::clearance(p, RADIUS, &wall_boxes()) >= 0.1 - 1e-6,
                    "{st:?}"
                );
                assert!(st[2].abs() <= SAMPLE_VEL as f32 && st[3].abs() <= SAMPLE_VEL as f32);
                assert!(state_problem(&st, &wall_boxes()).is_none());
            }
            assert_eq!(sample_start_goal(seed), (s, g));
            assert_ne!(s, g);
        }
    }

    #[test]
    fn set_state_rejects_bad_states() {
        let mut env = PointMaze::new();
        assert!(env.set_state(&[1.0, 1.0, 0.0]).is_err());
        assert!(env.set_state(&[f32::INFINITY, 1.0, 0.0, 0.0]).is_err());
        assert!(env.set_state(&[1.8, 1.3, 0.0, 0.0]).is_err()); // inner wall
        assert!(env.set_state(&[5.0, 1.3, 0.0, 0.0]).is_err()); // outside the maze
        assert!(env.set_state(&[0.8, 1.8, 9.0, -9.0]).is_ok());
    }

    #[test]
    fn success_threshold() {
        assert!(is_success(&[1.0, 1.0, 3.0, 3.0], &[1.3, 1.3, -3.0, 0.0]));
        assert!(!is_success(&[1.0, 1.0, 0.0, 0.0], &[1.5, 1.0, 0.0, 0.0]));
    }
}
