//! What the app draws of an env, in the env's own world units: the env's [`Scene`] at a state, "ghost" bodies
//! of a state in a given colour, and the anchor points (agent, block) that trajectories and residual
//! segments connect. Everything goes through `env::scene`, so the app, the PNG renderer and the recorder
//! draw an env the same way.

use crate::env::scene::{self, Rgba, Scene, Shape};
use crate::env::EnvKind;

/// The env drawn at `state` with `goal` (layout, goal region, bodies).
pub fn env_scene(kind: EnvKind, state: &[f32], goal: &[f32]) -> Scene {
    scene::scene(kind, state, Some(goal))
}

/// The bodies of `state` filled with `color` (its alpha is the fill's; outlines get twice the alpha).
pub fn ghost_shapes(kind: EnvKind, state: &[f32], color: Rgba) -> Vec<Shape> {
    scene::body_shapes(kind, state, color)
}

/// Points that trajectories connect, per state: Push-T [agent, block], PointMaze and Wall [position].
pub fn anchors(kind: EnvKind, state: &[f32]) -> Vec<[f32; 2]> {
    let get = |i: usize| state.get(i).copied().unwrap_or(f32::NAN);
    match kind {
        EnvKind::Pusht => vec![[get(0), get(1)], [get(2), get(3)]],
        EnvKind::Pointmaze | EnvKind::Wall => vec![[get(0), get(1)]],
    }
}

/// World units per "reference pixel" of an env (its bounds' larger side / 512), for line widths and
/// marker sizes that look the same in every env.
pub fn unit(bounds: [f32; 4]) -> f32 {
    ((bounds[2] - bounds[0]).max(bounds[3] - bounds[1]) / 512.0).max(1e-6)
}
