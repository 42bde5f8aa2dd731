//! A picture of simulator vs model rollouts of the same actions (`grasp-explorer model eval --png`): one panel
//! per held-out episode, drawn in world coordinates with tiny-skia.
//!
//! Colours: simulator paths dark (agent navy, Push-T block CoG dark grey), model paths warm (agent orange,
//! block red); Push-T also outlines the final T of the simulator (grey) and of the model (red). Walls are light
//! grey, the start is a green dot.

use tiny_skia::{Color, Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::data::Episode;
use super::eval::rollouts;
use super::fast::MlpModel;
use crate::env::pusht::block_polygons;
use crate::env::wall::{WallLayout, BORDER_MAX, BORDER_MIN};
use crate::env::{pointmaze, EnvKind};

/// Panel edge in pixels.
const PANEL: u32 = 320;
/// Panels per row.
const COLS: usize = 3;

/// World rectangle [x0, y0, x1, y1] shown in each panel.
fn world_box(env: EnvKind) -> [f32; 4] {
    match env {
        EnvKind::Pusht => [0.0, 0.0, 512.0, 512.0],
        EnvKind::Pointmaze => [-0.3, -0.3, 3.9, 3.9],
        EnvKind::Wall => [0.0, 0.0, 65.0, 65.0],
    }
}

fn paint(rgb: [u8; 3]) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(rgb[0], rgb[1], rgb[2], 255));
    p.anti_alias = true;
    p
}

/// Draws up to 6 episodes' `steps`-step open-loop rollouts; returns PNG bytes.
pub fn rollout_png(
    model: &MlpModel,
    episodes: &[Episode],
    steps: usize,
) -> Result<Vec<u8>, String> {
    let env = model.info().env;
    let ed = env.state_dim();
    let eps: Vec<&Episode> = episodes
        .iter()
        .filter(|e| e.len() >= steps)
        .take(6)
        .collect();
    if eps.is_empty() {
        return Err(format!("no held-out episode has {steps} steps"));
    }
    let rows = eps.len().div_ceil(COLS);
    let mut pix =
        Pixmap::new(PANEL * COLS as u32, PANEL * rows as u32).ok_or("cannot allocate the image")?;
    pix.fill(Color::WHITE);
    let [x0, y0, x1, y1] = world_box(env);
    let scale = PANEL as f32 / (x1 - x0).max(y1 - y0);
    for (i, ep) in eps.iter().enumerate() {
        let (ox, oy) = (
            (i % COLS) as f32 * PANEL as f32,
            (i / COLS) as f32 * PANEL as f32,
        );
        // Pointmaze qpos has y up on the usual maze plots; keep y down for all (screen = world).
        let tf = Transform::from_row(scale, 0.0, 0.0, scale, ox - x0 * scale, oy - y0 * scale);
        draw_walls(&mut pix, env, tf);
        // Model path: one rollout per prefix length, from the episode's start.
        let single = std::slice::from_ref(*ep);
        let mut model_states = vec![ep.states[..ed].to_vec()];
        for t in 1..=steps {
            let (p, _) = rollouts(model, single, t, usize::MAX);
            model_states.extend(p.into_iter().take(1));
        }
        let sim_states: Vec<Vec<f32>> = (0..=steps)
            .map(|t| ep.states[t * ed..(t + 1) * ed].to_vec())
            .collect();
        let width = 2.0 / scale;
        let tracks: &[(usize, [u8; 3], [u8; 3])] = match env {
            EnvKind::Pusht => &[
                (0, [20, 40, 120], [255, 140, 0]),
                (2, [70, 70, 70], [220, 30, 30]),
            ],
            _ => &[(0, [20, 20, 20], [220, 30, 30])],
        };
        for &(off, sim_rgb, model_rgb) in tracks {
            stroke_path(&mut pix, &sim_states, off, sim_rgb, width, tf);
            stroke_path(&mut pix, &model_states, off, model_rgb, width, tf);
        }
        if env == EnvKind::Pusht {
            for (s, rgb) in [
                (&sim_states[steps], [120, 120, 120]),
                (&model_states[steps], [220, 30, 30]),
            ] {
                for poly in block_polygons(s[2], s[3], s[4]) {
                    let mut pb = PathBuilder::new();
                    pb.move_to(poly[0][0], poly[0][1]);
                    for v in &poly[1..] {
                        pb.line_to(v[0], v[1]);
                    }
                    pb.close();
                    if let Some(path) = pb.finish() {
                        let st = Stroke {
                            width,
                            ..Stroke::default()
                        };
                        pix.stroke_path(&path, &paint(rgb), &st, tf, None);
                    }
                }
            }
        }
        let s0 = &sim_states[0];
        if let Some(c) = PathBuilder::from_circle(s0[0], s0[1], 4.0 / scale) {
            pix.fill_path(
                &c,
                &paint([30, 170, 60]),
                tiny_skia::FillRule::Winding,
                tf,
                None,
            );
        }
        // Panel frame.
        if let Some(r) = Rect::from_xywh(ox, oy, PANEL as f32, PANEL as f32) {
            let path = PathBuilder::from_rect(r);
            let st = Stroke {
                width: 1.0,
                ..Stroke::default()
            };
            pix.stroke_path(
                &path,
                &paint([180, 180, 180]),
                &st,
                Transform::identity(),
                None,
            );
        }
    }
    pix.encode_png().map_err(|e| e.to_string())
}

fn stroke_path(
    pix: &mut Pixmap,
    states: &[Vec<f32>],
    off: usize,
    rgb: [u8; 3],
    width: f32,
    tf: Transform,
) {
    let mut pb = PathBuilder::new();
    pb.move_to(states[0][off], states[0][off + 1]);
    for s in &states[1..] {
        pb.line_to(s[off], s[off + 1]);
    }
    if let Some(path) = pb.finish() {
        let st = Stroke {
            width,
            ..Stroke::default()
        };
        pix.stroke_path(&path, &paint(rgb), &st, tf, None);
    }
}

fn draw_walls(pix: &mut Pixmap, env: EnvKind, tf: Transform) {
    let grey = paint([215, 215, 215]);
    let mut rect = |x0: f32, y0: f32, x1: f32, y1: f32| {
        if let Some(r) = Rect::from_ltrb(x0, y0, x1, y1) {
            pix.fill_rect(r, &grey, tf, None);
        }
    };
    match env {
        EnvKind::Pusht => {
            for [a, b, c, d] in [
                [0.0, 0.0, 512.0, 7.0],
                [0.0, 504.0, 512.0, 512.0],
                [0.0, 0.0, 7.0, 512.0],
                [504.0, 0.0, 512.0, 512.0],
            ] {
                rect(a, b, c, d);
            }
        }
        EnvKind::Pointmaze => {
            for b in pointmaze::wall_boxes() {
                let (c, h) = (b.center, b.half);
                rect(
                    (c[0] - h[0]) as f32,
                    (c[1] - h[1]) as f32,
                    (c[0] + h[0]) as f32,
                    (c[1] + h[1]) as f32,
                );
            }
        }
        EnvKind::Wall => {
            let l = WallLayout::default();
            let (lo, hi) = (BORDER_MIN as f32, BORDER_MAX as f32);
            rect(0.0, 0.0, 65.0, lo);
            rect(0.0, hi, 65.0, 65.0);
            rect(0.0, 0.0, lo, 65.0);
            rect(hi, 0.0, 65.0, 65.0);
            let (wl, wr) = (l.left_face() as f32, l.right_face() as f32);
            rect(wl, lo, wr, l.door_min() as f32);
            rect(wl, l.door_max() as f32, wr, hi);
        }
    }
}
