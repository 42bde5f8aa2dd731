//! Tessellation of [`Scene`] shapes into one vertex-coloured triangle mesh per layer: filled polygons (ear
//! clipping, so the non-convex T of Push-T is one polygon), discs, and polylines as quads. World units in, Bevy
//! world units out (y flipped for y-down pixel worlds), colours sRGB in, linear out.
//!
//! Hand-written rather than pulling a tessellation crate: scenes hold a few dozen small polygons (≤ 16
//! vertices) and this keeps the whole path in ~200 lines with no extra dependency.

use bevy::asset::RenderAssetUsages;
use bevy::color::{Color, ColorToComponents};
use bevy::mesh::{Indices, Mesh, PrimitiveTopology};

use crate::env::scene::{Rgba, Scene, Shape};

/// Maps env world coordinates to Bevy world coordinates (Bevy's y grows up).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frame {
    /// The env's y axis points down on screen.
    pub y_down: bool,
}

impl Frame {
    /// Bevy world position of an env world point.
    pub fn bevy_from_world(&self, p: [f32; 2]) -> [f32; 2] {
        if self.y_down {
            [p[0], -p[1]]
        } else {
            p
        }
    }

    /// Env world point of a Bevy world position.
    pub fn world_from_bevy(&self, p: [f32; 2]) -> [f32; 2] {
        self.bevy_from_world(p)
    }

    /// Bevy-space rectangle [min_x, min_y, max_x, max_y] of a scene's bounds.
    pub fn bevy_bounds(&self, bounds: [f32; 4]) -> [f32; 4] {
        let a = self.bevy_from_world([bounds[0], bounds[1]]);
        let b = self.bevy_from_world([bounds[2], bounds[3]]);
        [
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[0].max(b[0]),
            a[1].max(b[1]),
        ]
    }
}

/// Linear RGBA floats of an sRGB colour (what Bevy's vertex colours expect).
pub fn linear(c: Rgba) -> [f32; 4] {
    Color::srgba_u8(c.0, c.1, c.2, c.3)
        .to_linear()
        .to_f32_array()
}

/// Vertices and triangles of one layer.
#[derive(Clone, Debug, Default)]
pub struct MeshBuf {
    /// Bevy-space positions (z = 0).
    pub positions: Vec<[f32; 3]>,
    /// Linear RGBA per vertex.
    pub colors: Vec<[f32; 4]>,
    /// Per-vertex UV (used by the ribbon shader; zero elsewhere).
    pub uvs: Vec<[f32; 2]>,
    /// Triangle list.
    pub indices: Vec<u32>,
    /// Coordinate frame of the env.
    pub frame: Option<Frame>,
}

/// Segments of a circle outline or disc.
const CIRCLE_SEGMENTS: usize = 40;

impl MeshBuf {
    /// An empty buffer drawing in `frame`.
    pub fn new(frame: Frame) -> Self {
        MeshBuf {
            frame: Some(frame),
            ..Default::default()
        }
    }

    fn vertex(&mut self, p: [f32; 2], color: [f32; 4], uv: [f32; 2]) -> u32 {
        let f = self.frame.unwrap_or(Frame { y_down: false });
        let q = f.bevy_from_world(p);
        self.positions.push([q[0], q[1], 0.0]);
        self.colors.push(color);
        self.uvs.push(uv);
        (self.positions.len() - 1) as u32
    }

    /// Number of vertices.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// No vertex yet.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Adds every shape of a scene (the background is the camera's clear colour).
    pub fn scene(&mut self, scene: &Scene) {
        for s in &scene.shapes {
            self.shape(s);
        }
    }

    /// Adds one shape.
    pub fn shape(&mut self, shape: &Shape) {
        match shape {
            Shape::Polygon {
                points,
                fill,
                stroke,
            } => {
                if let Some(c) = fill {
                    self.fill_polygon(points, *c);
                }
                if let Some((c, w)) = stroke {
                    self.polyline(points, *c, *w, true);
                }
            }
            Shape::Circle {
                center,
                radius,
                fill,
                stroke,
            } => {
                if let Some(c) = fill {
                    self.disc(*center, *radius, *c);
                }
                if let Some((c, w)) = stroke {
                    let ring: Vec<[f32; 2]> = circle_points(*center, *radius);
                    self.polyline(&ring, *c, *w, true);
                }
            }
            Shape::Polyline {
                points,
                color,
                width,
            } => self.polyline(points, *color, *width, false),
        }
    }

    /// A filled simple polygon (either winding, convex or not).
    pub fn fill_polygon(&mut self, points: &[[f32; 2]], color: Rgba) {
        if points.len() < 3 {
            return;
        }
        let c = linear(color);
        let base = self.positions.len() as u32;
        for p in points {
            self.vertex(*p, c, [0.0, 0.0]);
        }
        for tri in triangulate(points) {
            self.indices.extend(tri.iter().map(|&i| base + i as u32));
        }
    }

    /// A filled disc.
    pub fn disc(&mut self, center: [f32; 2], radius: f32, color: Rgba) {
        let c = linear(color);
        let mid = self.vertex(center, c, [0.0, 0.0]);
        let ring = circle_points(center, radius);
        let first = self.positions.len() as u32;
        for p in &ring {
            self.vertex(*p, c, [0.0, 0.0]);
        }
        let n = ring.len() as u32;
        for i in 0..n {
            self.indices.extend([mid, first + i, first + (i + 1) % n]);
        }
    }

    /// A polyline of `width` world units (closed = back to the first point), one quad per segment plus a
    /// disc-like square cap at each joint so corners have no gaps.
    pub fn polyline(&mut self, points: &[[f32; 2]], color: Rgba, width: f32, closed: bool) {
        let n = points.len();
        if n < 2 || width.is_nan() || width <= 0.0 {
            return;
        }
        let segs = if closed { n } else { n - 1 };
        for i in 0..segs {
            self.segment(points[i], points[(i + 1) % n], color, width);
        }
    }

    /// One straight segment of `width` world units.
    pub fn segment(&mut self, a: [f32; 2], b: [f32; 2], color: Rgba, width: f32) {
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len.is_nan() || len <= 1e-9 || !len.is_finite() {
            return;
        }
        let h = width / 2.0;
        // Extend by half the width at both ends so consecutive segments overlap at joints.
        let (ux, uy) = (dx / len * h, dy / len * h);
        let (nx, ny) = (-uy, ux);
        let c = linear(color);
        let i0 = self.vertex([a[0] - ux + nx, a[1] - uy + ny], c, [0.0, 0.0]);
        self.vertex([a[0] - ux - nx, a[1] - uy - ny], c, [0.0, 0.0]);
        self.vertex([b[0] + ux - nx, b[1] + uy - ny], c, [0.0, 0.0]);
        self.vertex([b[0] + ux + nx, b[1] + uy + ny], c, [0.0, 0.0]);
        self.indices
            .extend([i0, i0 + 1, i0 + 2, i0, i0 + 2, i0 + 3]);
    }

    /// A ribbon along `points` for the residual shader: uv.x carries `levels[i]` (0–1 on the residual colour
    /// ramp), uv.y runs −1…1 across the ribbon, and the vertex colour's red channel carries the fraction of
    /// the path (for the shader's flowing time stripes).
    pub fn ribbon(&mut self, points: &[[f32; 2]], levels: &[f32], width: f32) {
        let n = points.len().min(levels.len());
        if n < 2 {
            return;
        }
        let h = width / 2.0;
        let base = self.positions.len() as u32;
        for i in 0..n {
            let prev = points[i.saturating_sub(1)];
            let next = points[(i + 1).min(n - 1)];
            let (dx, dy) = (next[0] - prev[0], next[1] - prev[1]);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (nx, ny) = (-dy / len * h, dx / len * h);
            let p = points[i];
            let frac = i as f32 / (n - 1) as f32;
            let c = [frac, 0.0, 0.0, 1.0];
            self.vertex([p[0] + nx, p[1] + ny], c, [levels[i], 1.0]);
            self.vertex([p[0] - nx, p[1] - ny], c, [levels[i], -1.0]);
        }
        for i in 0..(n as u32 - 1) {
            let a = base + 2 * i;
            self.indices.extend([a, a + 1, a + 3, a, a + 3, a + 2]);
        }
    }

    /// The Bevy mesh of this buffer (an empty buffer becomes one invisible degenerate triangle, so no GPU
    /// buffer is ever zero-sized).
    pub fn into_mesh(mut self) -> Mesh {
        if self.positions.is_empty() {
            self.positions = vec![[0.0; 3]; 3];
            self.colors = vec![[0.0; 4]; 3];
            self.uvs = vec![[0.0; 2]; 3];
            self.indices = vec![0, 1, 2];
        }
        let mut mesh = Mesh::new(
            PrimitiveTopology::TriangleList,
            RenderAssetUsages::RENDER_WORLD | RenderAssetUsages::MAIN_WORLD,
        );
        mesh.insert_attribute(Mesh::ATTRIBUTE_POSITION, self.positions);
        mesh.insert_attribute(
            Mesh::ATTRIBUTE_NORMAL,
            vec![[0.0f32, 0.0, 1.0]; self.colors.len()],
        );
        mesh.insert_attribute(Mesh::ATTRIBUTE_UV_0, self.uvs);
        mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, self.colors);
        mesh.insert_indices(Indices::U32(self.indices));
        mesh
    }
}

/// Points on a circle.
pub fn circle_points(center: [f32; 2], radius: f32) -> Vec<[f32; 2]> {
    (0..CIRCLE_SEGMENTS)
        .map(|i| {
            let a = i as f32 / CIRCLE_SEGMENTS as f32 * std::f32::consts::TAU;
            [center[0] + radius * a.cos(), center[1] + radius * a.sin()]
        })
        .collect()
}

fn signed_area(points: &[[f32; 2]]) -> f32 {
    let n = points.len();
    (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f32>()
        / 2.0
}

fn cross(o: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

fn in_triangle(p: [f32; 2], a: [f32; 2], b: [f32; 2], c: [f32; 2]) -> bool {
    cross(a, b, p) >= 0.0 && cross(b, c, p) >= 0.0 && cross(c, a, p) >= 0.0
}

/// Ear-clipping triangulation of a simple polygon; returns index triples into `points`. Degenerate input
/// (collinear runs, self-touching) falls back to a fan for what is left, so it always terminates.
pub fn triangulate(points: &[[f32; 2]]) -> Vec<[usize; 3]> {
    let n = points.len();
    if n < 3 {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..n).collect();
    if signed_area(points) < 0.0 {
        idx.reverse();
    }
    let mut out = Vec::with_capacity(n - 2);
    let mut guard = 0;
    while idx.len() > 3 && guard < n * n {
        guard += 1;
        let m = idx.len();
        let mut clipped = false;
        for i in 0..m {
            let (ia, ib, ic) = (idx[(i + m - 1) % m], idx[i], idx[(i + 1) % m]);
            let (a, b, c) = (points[ia], points[ib], points[ic]);
            if cross(a, b, c) <= 0.0 {
                continue; // reflex or degenerate corner
            }
            let blocked = idx
                .iter()
                .any(|&j| j != ia && j != ib && j != ic && in_triangle(points[j], a, b, c));
            if blocked {
                continue;
            }
            out.push([ia, ib, ic]);
            idx.remove(i);
            clipped = true;
            break;
        }
        if !clipped {
            break;
        }
    }
    for k in 1..idx.len().saturating_sub(1) {
        out.push([idx[0], idx[k], idx[k + 1]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area_of(points: &[[f32; 2]], tris: &[[usize; 3]]) -> f32 {
        tris.iter()
            .map(|t| cross(points[t[0]], points[t[1]], points[t[2]]).abs() / 2.0)
            .sum()
    }

    #[test]
    fn t_shape_triangulates_to_its_area() {
        // Push-T's T in local coordinates: bar 120×30 over a stem 30×90.
        let t = [
            [-60.0, 0.0],
            [60.0, 0.0],
            [60.0, 30.0],
            [15.0, 30.0],
            [15.0, 120.0],
            [-15.0, 120.0],
            [-15.0, 30.0],
            [-60.0, 30.0],
        ];
        let tris = triangulate(&t);
        assert_eq!(tris.len(), 6);
        assert!((area_of(&t, &tris) - (120.0 * 30.0 + 30.0 * 90.0)).abs() < 1e-3);
        let mut rev = t;
        rev.reverse();
        assert!((area_of(&rev, &triangulate(&rev)) - 6300.0).abs() < 1e-3);
    }

    #[test]
    fn shapes_produce_consistent_buffers() {
        let mut m = MeshBuf::new(Frame { y_down: true });
        m.disc([10.0, 20.0], 5.0, Rgba::rgb(65, 105, 225));
        m.polyline(
            &[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]],
            Rgba::rgb(0, 0, 0),
            1.0,
            false,
        );
        m.ribbon(&[[0.0, 0.0], [1.0, 0.0], [2.0, 1.0]], &[0.0, 0.5, 1.0], 0.2);
        assert_eq!(m.positions.len(), m.colors.len());
        assert_eq!(m.positions.len(), m.uvs.len());
        assert_eq!(m.indices.len() % 3, 0);
        assert!(m.indices.iter().all(|&i| (i as usize) < m.positions.len()));
        // y is flipped for y-down worlds.
        assert_eq!(m.positions[0], [10.0, -20.0, 0.0]);
        // Degenerate segments are skipped, not NaN.
        let before = m.len();
        m.segment([1.0, 1.0], [1.0, 1.0], Rgba::rgb(0, 0, 0), 1.0);
        m.segment([f32::NAN, 1.0], [1.0, 1.0], Rgba::rgb(0, 0, 0), 1.0);
        assert_eq!(m.len(), before);
    }
}
