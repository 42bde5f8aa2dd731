//! Planner overlays drawn over an env picture, in env units through the picture's [`View`]: ghost virtual
//! states coloured by time, dynamics-residual segments, rollout trajectories, start/goal rings and the sync
//! flash. Colours come from [`palette`]; shapes go through `env::render`, so they match the env's own drawing.
//!
//! The conventions are the app's (`app::overlay_build`), so a recording looks like the window: sizes are in
//! "reference pixels" — 1/512 of the env's larger world side ([`reference_unit`]) — so overlays keep their
//! proportions in every env and at any frame size; ghosts for t = 1..T−1 with an opaque marker on every anchor
//! (agent, and block for Push-T); residual segments F(s̄_t, a_t) → s̄_{t+1} with a ring at the prediction;
//! trajectories through each anchor ending in an outline of the final pose.

use tiny_skia::Pixmap;

use super::palette;
use crate::env::render::{draw_shape, View};
use crate::env::scene::{body_shapes, Rgba, Shape};
use crate::env::EnvKind;

/// Radius of a ghost's marker dot, reference px.
pub const MARKER_RADIUS: f32 = 4.5;
/// Width of residual segments, reference px.
pub const RESIDUAL_WIDTH: f32 = 2.0;
/// Radius of the ring at a prediction F(s̄_t, a_t), reference px (its line is 1.2 wide).
pub const PREDICTION_RING: f32 = 3.0;
/// Width of trajectory lines, reference px.
pub const TRAJECTORY_WIDTH: f32 = 2.5;
/// Width of the final-pose outline at a trajectory's end, reference px.
pub const OUTLINE_WIDTH: f32 = 2.0;
/// Radius of the start and goal rings, reference px (line 2 wide).
pub const HANDLE_RING: f32 = 9.0;
/// Visible width of the sync-flash border, reference px.
pub const FLASH_WIDTH: f32 = 5.0;
/// Visible width of the divergence border, reference px.
pub const DIVERGED_WIDTH: f32 = 4.0;

/// World units per reference pixel of a scene with `bounds`: its larger side / 512.
pub fn reference_unit(bounds: [f32; 4]) -> f32 {
    ((bounds[2] - bounds[0]).max(bounds[3] - bounds[1]) / 512.0).max(1e-6)
}

/// Points that trajectories and residual segments connect: Push-T [agent xy, block xy], the others [xy].
/// Missing values are NaN (such points are not drawn).
pub fn anchor_points(kind: EnvKind, env_state: &[f32]) -> Vec<[f32; 2]> {
    let get = |i: usize| env_state.get(i).copied().unwrap_or(f32::NAN);
    match kind {
        EnvKind::Pusht => vec![[get(0), get(1)], [get(2), get(3)]],
        EnvKind::Pointmaze | EnvKind::Wall => vec![[get(0), get(1)]],
    }
}

fn finite(p: [f32; 2]) -> bool {
    p[0].is_finite() && p[1].is_finite()
}

fn disc(center: [f32; 2], radius: f32, color: Rgba) -> Shape {
    Shape::Circle {
        center,
        radius,
        fill: Some(color),
        stroke: None,
    }
}

fn ring(center: [f32; 2], radius: f32, color: Rgba, width: f32) -> Shape {
    Shape::Circle {
        center,
        radius,
        fill: None,
        stroke: Some((color, width)),
    }
}

/// Ghosts of the virtual states s̄_1..s̄_{T−1} (`env_states` holds s̄_0..s̄_T): translucent bodies in
/// [`palette::time_color`], then an opaque marker dot on every anchor so the time colouring reads where
/// ghosts overlap. `u` is [`reference_unit`].
pub fn draw_ghosts(
    pixmap: &mut Pixmap,
    view: &View,
    kind: EnvKind,
    env_states: &[Vec<f32>],
    u: f32,
) {
    let t_max = env_states.len().saturating_sub(1);
    let virtual_states = || env_states.iter().enumerate().take(t_max).skip(1);
    for (t, state) in virtual_states() {
        let color = palette::time_color(t, t_max).with_alpha(palette::GHOST_FILL_ALPHA);
        for shape in body_shapes(kind, state, color) {
            draw_shape(pixmap, view, &shape);
        }
    }
    for (t, state) in virtual_states() {
        let color = palette::time_color(t, t_max);
        for p in anchor_points(kind, state)
            .into_iter()
            .filter(|p| finite(*p))
        {
            draw_shape(pixmap, view, &disc(p, MARKER_RADIUS * u, color));
        }
    }
}

/// The dynamics residuals of one snapshot, decoded to env units.
#[derive(Clone, Copy, Debug)]
pub struct Residuals<'a> {
    /// F(s̄_t, a_t) for t = 0..T−1, env units.
    pub env_predictions: &'a [Vec<f32>],
    /// s̄_0 … s̄_T, env units.
    pub env_states: &'a [Vec<f32>],
    /// ‖F(s̄_t, a_t) − s̄_{t+1}‖ in model space, t = 0..T−1.
    pub residuals: &'a [f32],
    /// The residual drawn darkest red ([`palette::residual_color`]); 0 draws every residual yellow.
    pub scale: f32,
}

/// Residual segments from F(s̄_t, a_t) to s̄_{t+1} between matching anchors, coloured by the model-space
/// residual, with a small ring at the prediction.
pub fn draw_residuals(
    pixmap: &mut Pixmap,
    view: &View,
    kind: EnvKind,
    res: &Residuals<'_>,
    u: f32,
) {
    for (t, pred) in res.env_predictions.iter().enumerate() {
        let Some(next) = res.env_states.get(t + 1) else {
            continue;
        };
        let r = res.residuals.get(t).copied().unwrap_or(f32::NAN);
        let color = palette::residual_color(r, res.scale);
        for (p, q) in anchor_points(kind, pred)
            .into_iter()
            .zip(anchor_points(kind, next))
        {
            if !(finite(p) && finite(q)) {
                continue;
            }
            let segment = Shape::Polyline {
                points: vec![p, q],
                color,
                width: RESIDUAL_WIDTH * u,
            };
            draw_shape(pixmap, view, &segment);
            draw_shape(pixmap, view, &ring(p, PREDICTION_RING * u, color, 1.2 * u));
        }
    }
}

/// A trajectory through each anchor of `env_states` in `color`, and the last state's bodies outlined in the
/// same colour (where the plan ends up, against the goal).
pub fn draw_trajectory(
    pixmap: &mut Pixmap,
    view: &View,
    kind: EnvKind,
    env_states: &[Vec<f32>],
    color: Rgba,
    u: f32,
) {
    let Some(last) = env_states.last() else {
        return;
    };
    for a in 0..anchor_points(kind, last).len() {
        let points: Vec<[f32; 2]> = env_states
            .iter()
            .filter_map(|s| {
                anchor_points(kind, s)
                    .get(a)
                    .copied()
                    .filter(|p| finite(*p))
            })
            .collect();
        if points.len() >= 2 {
            let line = Shape::Polyline {
                points,
                color,
                width: TRAJECTORY_WIDTH * u,
            };
            draw_shape(pixmap, view, &line);
        }
    }
    for shape in body_shapes(kind, last, color) {
        draw_shape(pixmap, view, &outline_only(shape, color, OUTLINE_WIDTH * u));
    }
}

/// Rings around the anchors of the start ([`palette::START_MARKER`]) and the goal ([`palette::GOAL_MARKER`]).
pub fn draw_handles(
    pixmap: &mut Pixmap,
    view: &View,
    kind: EnvKind,
    start: &[f32],
    goal: &[f32],
    u: f32,
) {
    for (state, color) in [(start, palette::START_MARKER), (goal, palette::GOAL_MARKER)] {
        for p in anchor_points(kind, state)
            .into_iter()
            .filter(|p| finite(*p))
        {
            draw_shape(pixmap, view, &ring(p, HANDLE_RING * u, color, 2.0 * u));
        }
    }
}

/// `shape` with its fill removed and its outline in `color` at `width` (world units).
fn outline_only(shape: Shape, color: Rgba, width: f32) -> Shape {
    match shape {
        Shape::Polygon { points, .. } => Shape::Polygon {
            points,
            fill: None,
            stroke: Some((color, width)),
        },
        Shape::Circle { center, radius, .. } => ring(center, radius, color, width),
        Shape::Polyline { points, .. } => Shape::Polyline {
            points,
            color,
            width,
        },
    }
}

/// A border of `width` px around the whole pixmap in `color` at opacity `level` ∈ [0, 1] (the sync flash, or
/// the divergence frame at 1; nothing at 0).
pub fn draw_border(pixmap: &mut Pixmap, level: f32, color: Rgba, width: f32) {
    if level.is_nan() || level <= 0.0 {
        return;
    }
    let c = color.with_alpha((level.min(1.0) * 255.0).round() as u8);
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    let b = width.round().max(1.0);
    super::hud::fill_rect(pixmap, 0.0, 0.0, w, b, c);
    super::hud::fill_rect(pixmap, 0.0, h - b, w, b, c);
    super::hud::fill_rect(pixmap, 0.0, b, b, h - 2.0 * b, c);
    super::hud::fill_rect(pixmap, w - b, b, b, h - 2.0 * b, c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::render::render;
    use crate::env::scene::scene;

    fn has_color(p: &Pixmap, c: Rgba, tol: i32) -> bool {
        p.data().chunks_exact(4).any(|q| {
            (i32::from(q[0]) - i32::from(c.0)).abs() <= tol
                && (i32::from(q[1]) - i32::from(c.1)).abs() <= tol
                && (i32::from(q[2]) - i32::from(c.2)).abs() <= tol
        })
    }

    #[test]
    fn anchors_follow_the_env() {
        assert_eq!(anchor_points(EnvKind::Wall, &[1.0, 2.0]), vec![[1.0, 2.0]]);
        let a = anchor_points(EnvKind::Pusht, &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
        assert_eq!(a, vec![[1.0, 2.0], [3.0, 4.0]]);
        assert!(!finite(anchor_points(EnvKind::Wall, &[1.0])[0]));
        assert!((reference_unit([0.0, 0.0, 512.0, 256.0]) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn overlays_draw_their_colours_on_every_env() {
        for kind in EnvKind::ALL {
            let bounds = crate::env::scene::bounds(kind);
            let [x0, y0, x1, y1] = bounds;
            let lerp = |f: f32| {
                let mut s = vec![0.0f32; kind.state_dim()];
                s[0] = x0 + (x1 - x0) * (0.25 + 0.5 * f);
                s[1] = y0 + (y1 - y0) * (0.3 + 0.4 * f);
                if kind == EnvKind::Pusht {
                    s[2] = 256.0;
                    s[3] = 256.0;
                }
                s
            };
            let states: Vec<Vec<f32>> = (0..=10).map(|t| lerp(t as f32 / 10.0)).collect();
            let preds: Vec<Vec<f32>> = states[1..]
                .iter()
                .map(|s| {
                    let mut p = s.clone();
                    p[0] += (x1 - x0) * 0.05;
                    p
                })
                .collect();
            let sc = scene(kind, &states[0], Some(&states[10]));
            let mut pm = render(&sc, 512, 512).unwrap();
            let view = View::for_scene(&sc, 512, 512).unwrap();
            let u = reference_unit(bounds);
            draw_ghosts(&mut pm, &view, kind, &states, u);
            assert!(
                has_color(&pm, palette::time_color(9, 10), 2),
                "{kind}: ghost marker colour"
            );
            let res = Residuals {
                env_predictions: &preds,
                env_states: &states,
                residuals: &[1.0; 10],
                scale: 1.0,
            };
            draw_residuals(&mut pm, &view, kind, &res, u);
            assert!(
                has_color(&pm, palette::residual_color(1.0, 1.0), 2),
                "{kind}: residual colour"
            );
            draw_trajectory(&mut pm, &view, kind, &states, palette::MODEL_ROLLOUT, u);
            assert!(
                has_color(&pm, palette::MODEL_ROLLOUT, 2),
                "{kind}: rollout colour"
            );
            draw_handles(&mut pm, &view, kind, &states[0], &states[10], u);
            assert!(has_color(&pm, palette::GOAL_MARKER, 2), "{kind}: goal ring");
            draw_border(&mut pm, 1.0, palette::SYNC_FLASH, 4.0);
            assert!(
                has_color(&pm, palette::SYNC_FLASH, 0),
                "{kind}: flash colour"
            );
        }
    }
}
