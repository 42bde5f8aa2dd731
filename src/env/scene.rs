//! What to draw, as plain data: shapes in world units (the env's own state units) with colours from the spec.
//! The PNG renderer (`env::render`), the headless recorder and the Bevy app all draw from a `Scene`, so every
//! view of an env looks the same.

use serde::{Deserialize, Serialize};

/// An sRGB colour with alpha, 0–255 per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

impl Rgba {
    /// An opaque colour.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Self {
        Rgba(r, g, b, 255)
    }
    /// The same colour with alpha `a`.
    pub const fn with_alpha(self, a: u8) -> Self {
        Rgba(self.0, self.1, self.2, a)
    }
}

/// One drawable primitive, in world units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    /// A closed polygon, optionally filled and/or outlined (`stroke` = colour and width in world units).
    Polygon {
        points: Vec<[f32; 2]>,
        fill: Option<Rgba>,
        stroke: Option<(Rgba, f32)>,
    },
    /// A disc.
    Circle {
        center: [f32; 2],
        radius: f32,
        fill: Option<Rgba>,
        stroke: Option<(Rgba, f32)>,
    },
    /// An open polyline of the given width (world units).
    Polyline {
        points: Vec<[f32; 2]>,
        color: Rgba,
        width: f32,
    },
}

/// A whole picture: the world rectangle to show, its background and shapes drawn in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// World-space rectangle to show: [min_x, min_y, max_x, max_y].
    pub bounds: [f32; 4],
    /// True when world y grows downward on screen (Push-T and Wall are pixel worlds with y down).
    pub y_down: bool,
    /// Background colour.
    pub background: Rgba,
    /// Shapes in draw order.
    pub shapes: Vec<Shape>,
}
