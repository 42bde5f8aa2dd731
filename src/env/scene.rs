//! What to draw, as plain data: shapes in world units (the env's own state units) with colours from the spec.
//! The PNG renderer (`env::render`), the headless recorder and the Bevy app all draw from a `Scene`, so every
//! view of an env looks the same.

use serde::{Deserialize, Serialize};

use super::{pointmaze, pusht, wall, EnvKind};

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

// ---------------------------------------------------------------------------------------------------------
// Colours and sizes from spec §C (shared with the app and the recorder).

/// Push-T background (white).
pub const PUSHT_BACKGROUND: Rgba = Rgba::rgb(255, 255, 255);
/// Push-T goal T fill (LightGreen).
pub const PUSHT_GOAL: Rgba = Rgba::rgb(144, 238, 144);
/// Push-T block fill: 1.2 × LightSlateGray, clipped and truncated.
pub const PUSHT_BLOCK_FILL: Rgba = Rgba::rgb(142, 163, 183);
/// Push-T block outline (LightSlateGray), 2 px wide.
pub const PUSHT_BLOCK_OUTLINE: Rgba = Rgba::rgb(119, 136, 153);
/// Push-T agent disc (RoyalBlue).
pub const PUSHT_AGENT: Rgba = Rgba::rgb(65, 105, 225);
/// Push-T agent inner disc: 1.2 × RoyalBlue, clipped.
pub const PUSHT_AGENT_INNER: Rgba = Rgba::rgb(78, 126, 255);
/// Push-T walls (LightGray).
pub const PUSHT_WALL: Rgba = Rgba::rgb(211, 211, 211);
/// Push-T block outline width (px).
pub const PUSHT_OUTLINE_WIDTH: f32 = 2.0;
/// Push-T agent inner disc radius (px).
pub const PUSHT_AGENT_INNER_RADIUS: f32 = 11.0;
/// Push-T wall segments' radius (px): they are drawn 4 px wide.
pub const PUSHT_WALL_RADIUS: f32 = 2.0;
/// Push-T wall segments (px, y down), as in the original env.
pub const PUSHT_WALL_SEGMENTS: [[[f32; 2]; 2]; 4] = [
    [[5.0, 506.0], [5.0, 5.0]],
    [[5.0, 5.0], [506.0, 5.0]],
    [[506.0, 5.0], [506.0, 506.0]],
    [[5.0, 506.0], [506.0, 506.0]],
];

/// PointMaze ground checker, first colour: rgb (0.2, 0.3, 0.4).
pub const MAZE_CHECKER_A: Rgba = Rgba::rgb(51, 77, 102);
/// PointMaze ground checker, second colour: rgb (0.1, 0.2, 0.3).
pub const MAZE_CHECKER_B: Rgba = Rgba::rgb(26, 51, 77);
/// Side of one checker square in world units [I]: the 80-unit plane repeats the 2×2 checker texture 20 times.
pub const MAZE_CHECKER_SIZE: f32 = 2.0;
/// PointMaze walls: rgba (.7, .5, .3, 1).
pub const MAZE_WALL: Rgba = Rgba::rgb(179, 128, 77);
/// PointMaze agent marker site: rgba (0.3, 0.6, 0.3, 1).
pub const MAZE_AGENT: Rgba = Rgba::rgb(77, 153, 77);
/// PointMaze target material: rgba (.6, .3, .3, 1) (used for the goal marker).
pub const MAZE_GOAL: Rgba = Rgba::rgb(153, 77, 77);
/// Radius of the PointMaze agent and goal marker sites (the collision sphere is 0.1).
pub const MAZE_MARKER_RADIUS: f32 = 0.2;

/// Wall background (white).
pub const WALL_BACKGROUND: Rgba = Rgba::rgb(255, 255, 255);
/// Wall walls (black).
pub const WALL_WALL: Rgba = Rgba::rgb(0, 0, 0);
/// Wall dot (red; the original draws a Gaussian blob with red fixed at 255).
pub const WALL_DOT: Rgba = Rgba::rgb(255, 0, 0);
/// Wall goal marker: the spec gives no goal colour; we choose LightGreen, as Push-T's goal.
pub const WALL_GOAL: Rgba = Rgba::rgb(144, 238, 144);
/// Radius of the drawn Wall dot (px): the half-maximum radius σ·√(2 ln 2) ≈ 2.0 of the σ = 1.7 Gaussian.
pub const WALL_DOT_RADIUS: f32 = 2.0;

// ---------------------------------------------------------------------------------------------------------
// Per-env scene builders.

/// World rectangle shown for each env: Push-T the 512² table, PointMaze the maze's outer walls in qpos
/// coordinates, Wall the 65² image (pixel centres at integers, so pixel i spans [i − 0.5, i + 0.5]).
pub fn bounds(kind: EnvKind) -> [f32; 4] {
    match kind {
        EnvKind::Pusht => [0.0, 0.0, 512.0, 512.0],
        EnvKind::Pointmaze => {
            let lo = (0.5 - pointmaze::WORLD_OFFSET) as f32;
            let hi = (5.5 - pointmaze::WORLD_OFFSET) as f32;
            [lo, lo, hi, hi]
        }
        EnvKind::Wall => {
            let hi = wall::IMG_SIZE as f32 - 0.5;
            [-0.5, -0.5, hi, hi]
        }
    }
}

/// The env drawn at `state`: static layout, the goal (if any) in the spec's goal colour, then the bodies.
/// A Push-T goal is drawn at the goal *state's* block pose (plus a light disc where the agent must be), not at
/// the original env's fixed [`pusht::GOAL_POSE`]: our problems' goals are states, as in DINO-WM.
pub fn scene(kind: EnvKind, state: &[f32], goal: Option<&[f32]>) -> Scene {
    let (background, mut shapes) = match kind {
        EnvKind::Pusht => (PUSHT_BACKGROUND, pusht_layout()),
        EnvKind::Pointmaze => (MAZE_CHECKER_A, maze_layout()),
        EnvKind::Wall => (WALL_BACKGROUND, wall_layout()),
    };
    if let Some(goal) = goal {
        shapes.extend(goal_shapes(kind, goal));
    }
    shapes.extend(env_body_shapes(kind, state));
    Scene {
        bounds: bounds(kind),
        y_down: kind != EnvKind::Pointmaze,
        background,
        shapes,
    }
}

/// The bodies of `state` in one colour, for ghost overlays: Push-T the T block and the agent disc, the mazes
/// the agent's marker disc. Outlines use the same colour at twice the alpha. Empty for a malformed state.
pub fn body_shapes(kind: EnvKind, state: &[f32], color: Rgba) -> Vec<Shape> {
    let stroke = color.with_alpha(color.3.saturating_mul(2));
    let mut out = Vec::new();
    match kind {
        EnvKind::Pusht => {
            if let Some(pose) = block_pose(state) {
                for points in pusht::block_polygons(pose[0], pose[1], pose[2]) {
                    out.push(Shape::Polygon {
                        points,
                        fill: Some(color),
                        stroke: Some((stroke, PUSHT_OUTLINE_WIDTH)),
                    });
                }
            }
            if let Some(center) = xy(state, 0) {
                out.push(disc(center, pusht::AGENT_RADIUS, color));
            }
        }
        EnvKind::Pointmaze | EnvKind::Wall => {
            if let Some(center) = xy(state, 0) {
                out.push(disc(center, agent_radius(kind), color));
            }
        }
    }
    out
}

/// A polyline through the agent positions of `states` (state[0..2] in every env); malformed states are skipped.
pub fn trajectory_shape(kind: EnvKind, states: &[Vec<f32>], color: Rgba, width: f32) -> Shape {
    let _ = kind; // every env keeps the agent position in state[0..2]
    Shape::Polyline {
        points: states.iter().filter_map(|s| xy(s, 0)).collect(),
        color,
        width,
    }
}

/// Radius the agent is drawn with (world units): Push-T 15 px, PointMaze the 0.2 marker, Wall 2 px.
pub fn agent_radius(kind: EnvKind) -> f32 {
    match kind {
        EnvKind::Pusht => pusht::AGENT_RADIUS,
        EnvKind::Pointmaze => MAZE_MARKER_RADIUS,
        EnvKind::Wall => WALL_DOT_RADIUS,
    }
}

/// state[i..i + 2] when present and finite.
fn xy(state: &[f32], i: usize) -> Option<[f32; 2]> {
    let p = [*state.get(i)?, *state.get(i + 1)?];
    p.iter().all(|v| v.is_finite()).then_some(p)
}

/// The Push-T block pose state[2..5] when present and finite.
fn block_pose(state: &[f32]) -> Option<[f32; 3]> {
    let p = [*state.get(2)?, *state.get(3)?, *state.get(4)?];
    p.iter().all(|v| v.is_finite()).then_some(p)
}

fn disc(center: [f32; 2], radius: f32, fill: Rgba) -> Shape {
    Shape::Circle {
        center,
        radius,
        fill: Some(fill),
        stroke: None,
    }
}

fn rect(x0: f32, y0: f32, x1: f32, y1: f32, fill: Rgba, seam: f32) -> Shape {
    Shape::Polygon {
        points: vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
        fill: Some(fill),
        // A hairline of the fill colour hides anti-aliasing seams between adjacent boxes.
        stroke: (seam > 0.0).then_some((fill, seam)),
    }
}

fn pusht_layout() -> Vec<Shape> {
    PUSHT_WALL_SEGMENTS
        .iter()
        .map(|seg| Shape::Polyline {
            points: seg.to_vec(),
            color: PUSHT_WALL,
            width: 2.0 * PUSHT_WALL_RADIUS,
        })
        .collect()
}

fn maze_layout() -> Vec<Shape> {
    let [x0, y0, x1, y1] = bounds(EnvKind::Pointmaze);
    let off = pointmaze::WORLD_OFFSET as f32;
    let s = MAZE_CHECKER_SIZE;
    let mut out = Vec::new();
    // Checker squares are aligned to world multiples of their size; clip them to the view.
    let (i0, i1) = (
        ((x0 + off) / s).floor() as i32,
        ((x1 + off) / s).ceil() as i32,
    );
    let (j0, j1) = (
        ((y0 + off) / s).floor() as i32,
        ((y1 + off) / s).ceil() as i32,
    );
    for i in i0..i1 {
        for j in j0..j1 {
            if (i + j).rem_euclid(2) == 1 {
                let (ax, ay) = ((i as f32 * s - off).max(x0), (j as f32 * s - off).max(y0));
                let (bx, by) = (
                    ((i + 1) as f32 * s - off).min(x1),
                    ((j + 1) as f32 * s - off).min(y1),
                );
                out.push(rect(ax, ay, bx, by, MAZE_CHECKER_B, 0.0));
            }
        }
    }
    for b in pointmaze::wall_boxes() {
        let (c, h) = (b.center.map(|v| v as f32), b.half.map(|v| v as f32));
        out.push(rect(
            c[0] - h[0],
            c[1] - h[1],
            c[0] + h[0],
            c[1] + h[1],
            MAZE_WALL,
            0.01,
        ));
    }
    out
}

fn wall_layout() -> Vec<Shape> {
    let layout = wall::WallLayout::default();
    let (lo, hi) = (-0.5f32, wall::IMG_SIZE as f32 - 0.5);
    let line = |i: f64| (i as f32 - 0.5, i as f32 + 0.5);
    let mut out = Vec::new();
    for i in [wall::BORDER_MIN, wall::BORDER_MAX] {
        let (a, b) = line(i);
        out.push(rect(a, lo, b, hi, WALL_WALL, 0.0)); // column
        out.push(rect(lo, a, hi, b, WALL_WALL, 0.0)); // row
    }
    let (wx0, wx1) = (
        layout.left_face() as f32 - 0.5,
        layout.right_face() as f32 + 0.5,
    );
    let (d0, d1) = (
        layout.door_min() as f32 - 0.5,
        layout.door_max() as f32 + 0.5,
    );
    out.push(rect(wx0, lo, wx1, d0, WALL_WALL, 0.0));
    out.push(rect(wx0, d1, wx1, hi, WALL_WALL, 0.0));
    out
}

fn goal_shapes(kind: EnvKind, goal: &[f32]) -> Vec<Shape> {
    match kind {
        EnvKind::Pusht => {
            // The problem's goal pose (DINO-WM goals are states); the original env's fixed region is GOAL_POSE.
            let mut out: Vec<Shape> = block_pose(goal)
                .map(|p| pusht::block_polygons(p[0], p[1], p[2]))
                .into_iter()
                .flatten()
                .map(|points| Shape::Polygon {
                    points,
                    fill: Some(PUSHT_GOAL),
                    stroke: None,
                })
                .collect();
            if let Some(center) = xy(goal, 0) {
                out.push(Shape::Circle {
                    center,
                    radius: pusht::AGENT_RADIUS,
                    fill: Some(PUSHT_GOAL.with_alpha(110)),
                    stroke: Some((PUSHT_GOAL, PUSHT_OUTLINE_WIDTH)),
                });
            }
            out
        }
        EnvKind::Pointmaze | EnvKind::Wall => {
            let (color, success) = if kind == EnvKind::Pointmaze {
                (MAZE_GOAL, pointmaze::SUCCESS_RADIUS)
            } else {
                (WALL_GOAL, wall::SUCCESS_RADIUS)
            };
            let Some(center) = xy(goal, 0) else {
                return Vec::new();
            };
            vec![
                Shape::Circle {
                    center,
                    radius: success,
                    fill: Some(color.with_alpha(60)),
                    stroke: Some((color, success * 0.06)),
                },
                disc(center, agent_radius(kind), color),
            ]
        }
    }
}

/// The bodies of `state` in the env's own colours (what [`scene`] draws last); empty for a malformed state.
pub fn env_body_shapes(kind: EnvKind, state: &[f32]) -> Vec<Shape> {
    let mut out = Vec::new();
    match kind {
        EnvKind::Pusht => {
            if let Some(pose) = block_pose(state) {
                for points in pusht::block_polygons(pose[0], pose[1], pose[2]) {
                    out.push(Shape::Polygon {
                        points,
                        fill: Some(PUSHT_BLOCK_FILL),
                        stroke: Some((PUSHT_BLOCK_OUTLINE, PUSHT_OUTLINE_WIDTH)),
                    });
                }
            }
            if let Some(c) = xy(state, 0) {
                out.push(disc(c, pusht::AGENT_RADIUS, PUSHT_AGENT));
                out.push(disc(c, PUSHT_AGENT_INNER_RADIUS, PUSHT_AGENT_INNER));
            }
        }
        EnvKind::Pointmaze => {
            out.extend(xy(state, 0).map(|c| disc(c, MAZE_MARKER_RADIUS, MAZE_AGENT)))
        }
        EnvKind::Wall => out.extend(xy(state, 0).map(|c| disc(c, WALL_DOT_RADIUS, WALL_DOT))),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fills(shapes: &[Shape]) -> Vec<Rgba> {
        shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Polygon { fill, .. } | Shape::Circle { fill, .. } => *fill,
                Shape::Polyline { .. } => None,
            })
            .collect()
    }

    #[test]
    fn pusht_scene_draws_walls_goal_block_and_agent_in_order() {
        let state = [100.0, 100.0, 300.0, 300.0, 0.5, 0.0, 0.0];
        let goal = [200.0, 200.0, 256.0, 256.0, 0.7, 0.0, 0.0];
        let s = scene(EnvKind::Pusht, &state, Some(&goal));
        assert!(s.y_down);
        assert_eq!(s.background, PUSHT_BACKGROUND);
        let f = fills(&s.shapes);
        let pos = |c: Rgba| f.iter().position(|x| *x == c).unwrap();
        assert!(
            pos(PUSHT_GOAL) < pos(PUSHT_BLOCK_FILL) && pos(PUSHT_BLOCK_FILL) < pos(PUSHT_AGENT)
        );
        assert_eq!(f.last(), Some(&PUSHT_AGENT_INNER));
        // The goal T sits at the goal state's pose.
        let Some(Shape::Polygon { points, .. }) = s
            .shapes
            .iter()
            .find(|s| fills(std::slice::from_ref(s)) == [PUSHT_GOAL])
        else {
            panic!("no goal polygon");
        };
        assert_eq!(points, &pusht::block_polygons(256.0, 256.0, 0.7)[0]);
    }

    #[test]
    fn maze_scene_is_y_up_with_walls_in_qpos_coordinates() {
        let s = scene(EnvKind::Pointmaze, &[0.8, 1.8, 0.0, 0.0], None);
        assert!(!s.y_down);
        assert_eq!(s.bounds, [-0.7, -0.7, 4.3, 4.3]);
        assert_eq!(
            fills(&s.shapes).iter().filter(|c| **c == MAZE_WALL).count(),
            18
        );
        assert_eq!(fills(&s.shapes).last(), Some(&MAZE_AGENT));
    }

    #[test]
    fn body_and_trajectory_shapes_follow_the_state() {
        let c = Rgba(1, 2, 3, 100);
        assert_eq!(
            body_shapes(EnvKind::Pusht, &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0], c).len(),
            3
        );
        let wall = body_shapes(EnvKind::Wall, &[10.0, 20.0], c);
        assert_eq!(
            wall,
            vec![Shape::Circle {
                center: [10.0, 20.0],
                radius: WALL_DOT_RADIUS,
                fill: Some(c),
                stroke: None
            }]
        );
        assert!(body_shapes(EnvKind::Pointmaze, &[f32::NAN, 1.0], c).is_empty());
        let states = vec![
            vec![1.0, 2.0, 0.0, 0.0],
            vec![3.0],
            vec![4.0, 5.0, 0.0, 0.0],
        ];
        let Shape::Polyline { points, .. } = trajectory_shape(EnvKind::Pointmaze, &states, c, 0.1)
        else {
            panic!("not a polyline");
        };
        assert_eq!(points, vec![[1.0, 2.0], [4.0, 5.0]]);
    }
}
