//! Headless, anti-aliased rasterizer of a [`Scene`] with tiny-skia, and PNG output.
//!
//! The scene's world rectangle is fitted into the image preserving aspect ratio and centred; the margin shows
//! the background colour. [`View`] is that world→pixel mapping, exposed so overlays (the recorder's ghosts,
//! residual segments, HUD anchors) can be drawn onto the same pixmap in the same coordinates with
//! [`draw_shapes`]. Widths and radii are world units, scaled by the view.

use std::path::Path;

use tiny_skia::{FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::scene::{Rgba, Scene, Shape};

/// Largest accepted image side, px.
pub const MAX_SIDE: u32 = 16_384;

/// Rendering failures.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Zero or oversized image dimensions.
    #[error("image size {width}x{height} is invalid (each side must be 1..={MAX_SIDE} px)")]
    Size { width: u32, height: u32 },
    /// A world rectangle that is empty, inverted or not finite.
    #[error("scene bounds {0:?} are not a finite, non-empty rectangle")]
    Bounds([f32; 4]),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// Writing the file failed.
    #[error("cannot write {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The world→pixel mapping of a scene fitted into a `width`×`height` image (aspect preserved, centred).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    /// World rectangle [min_x, min_y, max_x, max_y].
    pub bounds: [f32; 4],
    /// True when world y grows downward on screen.
    pub y_down: bool,
    /// Pixels per world unit.
    pub scale: f32,
    /// Pixel position of the world rectangle's top-left screen corner.
    pub offset: [f32; 2],
    /// Image width, px.
    pub width: u32,
    /// Image height, px.
    pub height: u32,
}

impl View {
    /// Fits `bounds` into a `width`×`height` image.
    pub fn fit(
        bounds: [f32; 4],
        y_down: bool,
        width: u32,
        height: u32,
    ) -> Result<View, RenderError> {
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(RenderError::Size { width, height });
        }
        let (bw, bh) = (bounds[2] - bounds[0], bounds[3] - bounds[1]);
        if !(bw.is_finite() && bh.is_finite() && bw > 0.0 && bh > 0.0) {
            return Err(RenderError::Bounds(bounds));
        }
        let scale = (width as f32 / bw).min(height as f32 / bh);
        let offset = [
            (width as f32 - bw * scale) / 2.0,
            (height as f32 - bh * scale) / 2.0,
        ];
        Ok(View {
            bounds,
            y_down,
            scale,
            offset,
            width,
            height,
        })
    }

    /// The view of `scene` in a `width`×`height` image.
    pub fn for_scene(scene: &Scene, width: u32, height: u32) -> Result<View, RenderError> {
        View::fit(scene.bounds, scene.y_down, width, height)
    }

    /// Pixel coordinates (x right, y down) of world point `p`.
    pub fn pixel_from_world(&self, p: [f32; 2]) -> (f32, f32) {
        let x = self.offset[0] + (p[0] - self.bounds[0]) * self.scale;
        let y = if self.y_down {
            self.offset[1] + (p[1] - self.bounds[1]) * self.scale
        } else {
            self.offset[1] + (self.bounds[3] - p[1]) * self.scale
        };
        (x, y)
    }

    /// World point under pixel (x, y).
    pub fn world_from_pixel(&self, x: f32, y: f32) -> [f32; 2] {
        let wx = self.bounds[0] + (x - self.offset[0]) / self.scale;
        let wy = if self.y_down {
            self.bounds[1] + (y - self.offset[1]) / self.scale
        } else {
            self.bounds[3] - (y - self.offset[1]) / self.scale
        };
        [wx, wy]
    }
}

/// Pixel coordinates of world point `p` when `scene` is rendered at `width`×`height`.
pub fn world_to_pixel(
    scene: &Scene,
    width: u32,
    height: u32,
    p: [f32; 2],
) -> Result<(f32, f32), RenderError> {
    Ok(View::for_scene(scene, width, height)?.pixel_from_world(p))
}

/// Renders `scene` into a new `width`×`height` pixmap.
pub fn render(scene: &Scene, width: u32, height: u32) -> Result<Pixmap, RenderError> {
    let view = View::for_scene(scene, width, height)?;
    let mut pixmap = Pixmap::new(width, height).ok_or(RenderError::Size { width, height })?;
    let Rgba(r, g, b, a) = scene.background;
    pixmap.fill(tiny_skia::Color::from_rgba8(r, g, b, a));
    draw_shapes(&mut pixmap, &view, &scene.shapes);
    Ok(pixmap)
}

/// Draws `shapes` in order onto `pixmap` through `view`. Shapes with non-finite or degenerate geometry are
/// skipped.
pub fn draw_shapes(pixmap: &mut Pixmap, view: &View, shapes: &[Shape]) {
    for shape in shapes {
        draw_shape(pixmap, view, shape);
    }
}

/// Draws one shape onto `pixmap` through `view`.
pub fn draw_shape(pixmap: &mut Pixmap, view: &View, shape: &Shape) {
    match shape {
        Shape::Polygon {
            points,
            fill,
            stroke,
        } => {
            let Some(path) = polyline_path(view, points, true) else {
                return;
            };
            if let Some(color) = fill {
                fill_path(pixmap, &path, *color);
            }
            if let Some((color, width)) = stroke {
                stroke_path(pixmap, &path, *color, width * view.scale);
            }
        }
        Shape::Circle {
            center,
            radius,
            fill,
            stroke,
        } => {
            let (cx, cy) = view.pixel_from_world(*center);
            let Some(path) = PathBuilder::from_circle(cx, cy, radius * view.scale) else {
                return;
            };
            if let Some(color) = fill {
                fill_path(pixmap, &path, *color);
            }
            if let Some((color, width)) = stroke {
                stroke_path(pixmap, &path, *color, width * view.scale);
            }
        }
        Shape::Polyline {
            points,
            color,
            width,
        } => {
            if let Some(path) = polyline_path(view, points, false) {
                stroke_path(pixmap, &path, *color, width * view.scale);
            }
        }
    }
}

fn polyline_path(view: &View, points: &[[f32; 2]], close: bool) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    for (i, p) in points.iter().enumerate() {
        let (x, y) = view.pixel_from_world(*p);
        if i == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    if close {
        pb.close();
    }
    pb.finish() // None for fewer than two points or non-finite coordinates
}

fn paint(color: Rgba) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(color.0, color.1, color.2, color.3);
    paint.anti_alias = true;
    paint
}

fn fill_path(pixmap: &mut Pixmap, path: &tiny_skia::Path, color: Rgba) {
    pixmap.fill_path(
        path,
        &paint(color),
        FillRule::Winding,
        Transform::identity(),
        None,
    );
}

fn stroke_path(pixmap: &mut Pixmap, path: &tiny_skia::Path, color: Rgba, width_px: f32) {
    if !(width_px.is_finite() && width_px > 0.0) {
        return;
    }
    let stroke = Stroke {
        width: width_px,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    };
    pixmap.stroke_path(path, &paint(color), &stroke, Transform::identity(), None);
}

/// Encodes `pixmap` as PNG and writes it to `path` atomically (temp file + rename).
pub fn save_png(pixmap: &Pixmap, path: &Path) -> Result<(), RenderError> {
    let bytes = pixmap
        .encode_png()
        .map_err(|e| RenderError::Encode(e.to_string()))?;
    crate::util::write_atomic(path, &bytes).map_err(|source| RenderError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::scene::{self, body_shapes};
    use crate::env::EnvKind;

    fn rgb_at(p: &Pixmap, x: u32, y: u32) -> (u8, u8, u8) {
        let c = p.pixel(x, y).unwrap().demultiply();
        (c.red(), c.green(), c.blue())
    }

    #[test]
    fn view_fits_preserving_aspect_and_flips_y() {
        let v = View::fit([0.0, 0.0, 2.0, 1.0], false, 200, 200).unwrap();
        assert_eq!(v.scale, 100.0);
        assert_eq!(v.pixel_from_world([0.0, 1.0]), (0.0, 50.0));
        assert_eq!(v.pixel_from_world([2.0, 0.0]), (200.0, 150.0));
        assert_eq!(v.world_from_pixel(100.0, 100.0), [1.0, 0.5]);
        let d = View::fit([0.0, 0.0, 2.0, 1.0], true, 200, 200).unwrap();
        assert_eq!(d.pixel_from_world([0.0, 1.0]), (0.0, 150.0));
    }

    #[test]
    fn bad_sizes_and_bounds_are_errors() {
        let s = scene::scene(EnvKind::Wall, &[10.0, 10.0], None);
        assert!(matches!(render(&s, 0, 10), Err(RenderError::Size { .. })));
        assert!(matches!(
            render(&s, 10, MAX_SIDE + 1),
            Err(RenderError::Size { .. })
        ));
        let mut bad = s.clone();
        bad.bounds = [0.0, 0.0, f32::NAN, 1.0];
        assert!(matches!(render(&bad, 10, 10), Err(RenderError::Bounds(_))));
    }

    #[test]
    fn wall_scene_has_white_background_black_walls_and_a_red_dot() {
        let s = scene::scene(EnvKind::Wall, &[15.0, 40.0], Some(&[50.0, 20.0]));
        let p = render(&s, 260, 260).unwrap();
        let v = View::for_scene(&s, 260, 260).unwrap();
        let at = |w: [f32; 2]| {
            let (x, y) = v.pixel_from_world(w);
            rgb_at(&p, x as u32, y as u32)
        };
        assert_eq!(at([10.0, 10.0]), (255, 255, 255));
        assert_eq!(at([32.0, 10.0]), (0, 0, 0)); // middle wall
        assert_eq!(at([32.0, 30.0]), (255, 255, 255)); // door
        assert_eq!(at([4.0, 30.0]), (0, 0, 0)); // border
        assert_eq!(at([15.0, 40.0]), (255, 0, 0)); // dot
    }

    #[test]
    fn maze_scene_has_walls_and_agent_colours() {
        let s = scene::scene(EnvKind::Pointmaze, &[0.8, 1.8, 0.0, 0.0], None);
        let p = render(&s, 200, 200).unwrap();
        let v = View::for_scene(&s, 200, 200).unwrap();
        let at = |w: [f32; 2]| {
            let (x, y) = v.pixel_from_world(w);
            rgb_at(&p, x as u32, y as u32)
        };
        let Rgba(r, g, b, _) = scene::MAZE_WALL;
        assert_eq!(at([1.8, 1.0]), (r, g, b)); // inner wall block
        let Rgba(r, g, b, _) = scene::MAZE_AGENT;
        assert_eq!(at([0.8, 1.8]), (r, g, b));
    }

    #[test]
    fn overlays_draw_through_the_same_view() {
        let s = scene::scene(EnvKind::Wall, &[15.0, 40.0], None);
        let mut p = render(&s, 130, 130).unwrap();
        let v = View::for_scene(&s, 130, 130).unwrap();
        draw_shapes(
            &mut p,
            &v,
            &body_shapes(EnvKind::Wall, &[50.0, 50.0], Rgba::rgb(0, 0, 255)),
        );
        let (x, y) = v.pixel_from_world([50.0, 50.0]);
        assert_eq!(rgb_at(&p, x as u32, y as u32), (0, 0, 255));
    }

    #[test]
    fn save_png_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        let s = scene::scene(EnvKind::Wall, &[15.0, 40.0], None);
        let p = render(&s, 64, 48).unwrap();
        save_png(&p, &path).unwrap();
        let back = Pixmap::load_png(&path).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
        assert!(save_png(&p, Path::new("/nonexistent-dir-xyz/x.png")).is_err());
    }
}
