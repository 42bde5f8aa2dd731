//! Planner overlays drawn over an env picture, in env units through the picture's [`View`]: ghost virtual
//! states coloured by time, dynamics-residual segments, rollout paths, and the sync flash. Colours and
//! conventions come from [`palette`]; shapes go through `env::render`, so they match the env's own drawing.
//!
//! Sizes are given in pixels (and converted to world units with the view's scale) so overlays read the same
//! at any frame size and in any env.

use tiny_skia::Pixmap;

use super::palette;
use crate::env::render::{draw_shape, View};
use crate::env::scene::{body_shapes, Rgba, Shape};
use crate::env::EnvKind;

/// Pixel sizes of the overlays, derived from the frame size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverlaySizes {
    /// Radius of a ghost's marker dot, px.
    pub marker: f32,
    /// Width of residual segments, px.
    pub residual: f32,
    /// Width of rollout paths, px.
    pub path: f32,
    /// Width of the sync-flash border, px.
    pub border: f32,
}

impl OverlaySizes {
    /// Sizes for a panel whose smaller side is `side` px (values at 512 px: marker 3, residual 2, path 2,
    /// border 6).
    pub fn for_side(side: u32) -> OverlaySizes {
        let k = (side as f32 / 512.0).max(0.25);
        OverlaySizes {
            marker: (3.0 * k).max(2.5),
            residual: (2.0 * k).max(1.0),
            path: (2.0 * k).max(1.0),
            border: (6.0 * k).max(2.0).round(),
        }
    }
}

/// Largest number of full ghost bodies drawn per frame (evenly spaced over t); every t still gets its marker
/// dot. Push-T's T block is large, and 50 translucent blocks would bury the picture.
pub const MAX_GHOST_BODIES: usize = 12;

/// The agent position (state[0..2]) and, for Push-T, the block position (state[2..4]) of an env state: the
/// points residual segments connect. Non-finite points are dropped.
pub fn anchor_points(kind: EnvKind, env_state: &[f32]) -> Vec<[f32; 2]> {
    let n = if kind == EnvKind::Pusht { 2 } else { 1 };
    (0..n)
        .filter_map(|i| {
            let p = [*env_state.get(2 * i)?, *env_state.get(2 * i + 1)?];
            p.iter().all(|v| v.is_finite()).then_some(p)
        })
        .collect()
}

/// Ghosts of `env_states` (index = time t = 0..=T; t = 0, the real start, is skipped): translucent bodies
/// for up to [`MAX_GHOST_BODIES`] evenly spaced t, and an opaque marker dot of [`palette::time_color`] at
/// every t's agent position, outlined in dark grey so it reads on light and dark envs.
pub fn draw_ghosts(pixmap: &mut Pixmap, view: &View, kind: EnvKind, env_states: &[Vec<f32>], sizes: OverlaySizes) {
    let Some(horizon) = env_states.len().checked_sub(1) else {
        return;
    };
    if horizon == 0 {
        return;
    }
    let stride = horizon.div_ceil(MAX_GHOST_BODIES).max(1);
    for t in 1..=horizon {
        if t % stride == 0 || t == horizon {
            let color = palette::time_color(t, horizon).with_alpha(palette::GHOST_FILL_ALPHA);
            for shape in body_shapes(kind, &env_states[t], color) {
                draw_shape(pixmap, view, &shape);
            }
        }
    }
    let r = sizes.marker / view.scale;
    for (t, s) in env_states.iter().enumerate().skip(1) {
        let Some(&center) = anchor_points(kind, s).first() else {
            continue;
        };
        let shape = Shape::Circle {
            center,
            radius: r,
            fill: Some(palette::time_color(t, horizon)),
            stroke: Some((Rgba(40, 40, 40, 200), 0.75 / view.scale)),
        };
        draw_shape(pixmap, view, &shape);
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
    /// The residual drawn darkest red ([`palette::residual_color`]).
    pub scale: f32,
}

/// Residual segments from F(s̄_t, a_t) to s̄_{t+1} between matching anchor points, coloured by the model-space
/// residual. Segments shorter than half a pixel are skipped.
pub fn draw_residuals(pixmap: &mut Pixmap, view: &View, kind: EnvKind, res: &Residuals<'_>, sizes: OverlaySizes) {
    for (t, pred) in res.env_predictions.iter().enumerate() {
        let (Some(next), Some(&r)) = (res.env_states.get(t + 1), res.residuals.get(t)) else {
            continue;
        };
        let color = palette::residual_color(r, res.scale);
        for (a, b) in anchor_points(kind, pred).into_iter().zip(anchor_points(kind, next)) {
            let len_px = ((a[0] - b[0]).hypot(a[1] - b[1])) * view.scale;
            if len_px.is_nan() || len_px < 0.5 {
                continue;
            }
            let shape = Shape::Polyline {
                points: vec![a, b],
                color,
                width: sizes.residual / view.scale,
            };
            draw_shape(pixmap, view, &shape);
        }
    }
}

/// A path through the agent positions of `env_states` in `color`, with the last state's bodies outlined in
/// the same colour (where the path ends up).
pub fn draw_path(
    pixmap: &mut Pixmap,
    view: &View,
    kind: EnvKind,
    env_states: &[Vec<f32>],
    color: Rgba,
    sizes: OverlaySizes,
) {
    let points: Vec<[f32; 2]> = env_states
        .iter()
        .filter_map(|s| anchor_points(kind, s).first().copied())
        .collect();
    if points.len() >= 2 {
        let shape = Shape::Polyline {
            points,
            color,
            width: sizes.path / view.scale,
        };
        draw_shape(pixmap, view, &shape);
    }
    if let Some(last) = env_states.last() {
        for shape in body_shapes(kind, last, color.with_alpha(0)) {
            draw_shape(pixmap, view, &outline_only(shape, color, sizes.path / view.scale));
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
        Shape::Circle { center, radius, .. } => Shape::Circle {
            center,
            radius,
            fill: None,
            stroke: Some((color, width)),
        },
        Shape::Polyline { points, .. } => Shape::Polyline {
            points,
            color,
            width,
        },
    }
}

/// A border of `width` px around the whole pixmap in `color` at opacity `level` ∈ [0, 1] (the sync flash;
/// nothing at 0).
pub fn draw_flash(pixmap: &mut Pixmap, level: f32, color: Rgba, width: f32) {
    if level.is_nan() || level <= 0.0 {
        return;
    }
    let c = color.with_alpha((level.min(1.0) * 255.0).round() as u8);
    let (w, h) = (pixmap.width() as f32, pixmap.height() as f32);
    super::hud::fill_rect(pixmap, 0.0, 0.0, w, width, c);
    super::hud::fill_rect(pixmap, 0.0, h - width, w, width, c);
    super::hud::fill_rect(pixmap, 0.0, width, width, h - 2.0 * width, c);
    super::hud::fill_rect(pixmap, w - width, width, width, h - 2.0 * width, c);
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
        assert_eq!(anchor_points(EnvKind::Wall, &[1.0, 2.0]).len(), 1);
        assert_eq!(anchor_points(EnvKind::Pusht, &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0]).len(), 2);
        assert!(anchor_points(EnvKind::Wall, &[f32::NAN, 2.0]).is_empty());
        assert!(anchor_points(EnvKind::Wall, &[1.0]).is_empty());
    }

    #[test]
    fn overlays_draw_their_colours_on_every_env() {
        for kind in EnvKind::ALL {
            let [x0, y0, x1, y1] = crate::env::scene::bounds(kind);
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
            let mut pm = render(&sc, 128, 128).unwrap();
            let view = View::for_scene(&sc, 128, 128).unwrap();
            let sizes = OverlaySizes::for_side(128);
            draw_ghosts(&mut pm, &view, kind, &states, OverlaySizes { marker: 3.0, ..sizes });
            assert!(has_color(&pm, palette::time_color(10, 10), 2), "{kind}: last ghost colour");
            let res = Residuals {
                env_predictions: &preds,
                env_states: &states,
                residuals: &[1.0; 10],
                scale: 1.0,
            };
            draw_residuals(&mut pm, &view, kind, &res, OverlaySizes { residual: 3.0, ..sizes });
            assert!(has_color(&pm, palette::residual_color(1.0, 1.0), 2), "{kind}: residual colour");
            draw_path(&mut pm, &view, kind, &states, palette::MODEL_ROLLOUT, OverlaySizes { path: 3.0, ..sizes });
            assert!(has_color(&pm, palette::MODEL_ROLLOUT, 2), "{kind}: rollout colour");
            draw_flash(&mut pm, 1.0, palette::SYNC_FLASH, 4.0);
            assert!(has_color(&pm, palette::SYNC_FLASH, 0), "{kind}: flash colour");
        }
    }
}
