//! Wall-Single (spec §C.3): a point "dot" in a 65×65 px image moves between two rooms through a door in a
//! vertical middle wall. State = (x, y) in pixels (x = column, y = row, y down); one step moves by 2·a.
//!
//! Collisions follow DINO-WM's `check_wall_intersect` rule for rule, including its quirks: the door-edge
//! early returns with their (+0.5, ∓0.5) offsets, the "other axis always +0.5" offset after a face hit, the clamp
//! to the room box with its 0.3 inset, and the sign-product ≤ 0.1 line-crossing test. One deliberate deviation:
//! where the original's line formula divides by zero (a purely vertical or horizontal move meeting a line it
//! runs along or across) it produces NaN; we use the geometric limit (the crossing point of the segment itself).
//! Arithmetic is f64 inside a step; the state is stored as f32, so a step is a pure function of the f32 state.

use rand::Rng as _;

use super::{Env, EnvError, EnvKind};
use crate::util::rng_for;

/// Image side in pixels.
pub const IMG_SIZE: f64 = 65.0;
/// `border_wall_loc`: the border walls are the one-pixel lines at index `BORDER_WALL_LOC − 1` and
/// `IMG_SIZE − BORDER_WALL_LOC`.
pub const BORDER_WALL_LOC: f64 = 5.0;
/// Index of the left and top border line (4).
pub const BORDER_MIN: f64 = BORDER_WALL_LOC - 1.0;
/// Index of the right and bottom border line (60).
pub const BORDER_MAX: f64 = IMG_SIZE - BORDER_WALL_LOC;
/// Middle wall width in pixels; the blocked columns are `wall_x ± WALL_WIDTH / 2` (integer half, 3).
pub const WALL_WIDTH: f64 = 6.0;
/// Half the door opening: rows `door_y ± DOOR_SPACE` are open.
pub const DOOR_SPACE: f64 = 4.0;
/// Displacement per unit action: next = pos + STEP_SCALE·a.
pub const STEP_SCALE: f64 = 2.0;
/// Success radius in pixels: ‖Δxy‖ < 4.5.
pub const SUCCESS_RADIUS: f32 = 4.5;
/// Standard deviation of the rendered Gaussian dot, px.
pub const DOT_STD: f64 = 1.7;

/// Offset added to a wall hit (the original's "noise", made deterministic there too).
const HIT_OFFSET: f64 = 0.5;
/// Inset applied when a hit result lands on a room bound.
const BOUND_INSET: f64 = 0.3;

/// Where the middle wall and its door are. DINO-WM's "single" dataset has one fixed layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WallLayout {
    /// Column of the middle wall's centre, px (default 32; the blocked columns are 29..=35).
    pub wall_x: f64,
    /// Row of the door's centre, px (default 30; the open rows are 26..=34).
    pub door_y: f64,
}

impl Default for WallLayout {
    fn default() -> Self {
        WallLayout {
            wall_x: 32.0,
            door_y: 30.0,
        }
    }
}

impl WallLayout {
    /// Column of the middle wall's left face (wall_x − 3).
    pub fn left_face(&self) -> f64 {
        self.wall_x - (WALL_WIDTH / 2.0).floor()
    }
    /// Column of the middle wall's right face (wall_x + 3).
    pub fn right_face(&self) -> f64 {
        self.wall_x + (WALL_WIDTH / 2.0).floor()
    }
    /// Lowest open door row (door_y − 4).
    pub fn door_min(&self) -> f64 {
        self.door_y - DOOR_SPACE
    }
    /// Highest open door row (door_y + 4).
    pub fn door_max(&self) -> f64 {
        self.door_y + DOOR_SPACE
    }
}

/// torch.sign: −1, 0 or +1 (f64::signum maps 0 to +1, which would change the crossing test).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The y where the line through p1, p2 meets the vertical line x = `wall_x` (original: y = a·w + b).
fn line_y_at(p1: [f64; 2], p2: [f64; 2], wall_x: f64) -> f64 {
    let d = [p2[0] - p1[0], p2[1] - p1[1]];
    if d[0] == 0.0 {
        return p1[1]; // the original yields NaN here; the segment itself lies on the line
    }
    let a = d[1] / d[0];
    let b = p1[1] - a * p1[0];
    a * wall_x + b
}

/// The x where the line through p1, p2 meets the horizontal line y = `wall_y` (original: x = (w − b)/a).
fn line_x_at(p1: [f64; 2], p2: [f64; 2], wall_y: f64) -> f64 {
    let d = [p2[0] - p1[0], p2[1] - p1[1]];
    if d[0] == 0.0 || d[1] == 0.0 {
        return p1[0]; // the original yields NaN (vertical move) or divides by a zero slope; use the limit
    }
    let a = d[1] / d[0];
    let b = p1[1] - a * p1[0];
    (wall_y - b) / a
}

/// `check_vertical_wall_intersect`: the crossing of segment p1→p2 with the line x = `wall_x`, unless it lies in
/// the door (`hole_y` ± 4).
fn vertical_hit(p1: [f64; 2], p2: [f64; 2], wall_x: f64, hole_y: Option<f64>) -> Option<[f64; 2]> {
    if sign(p1[0] - wall_x) * sign(p2[0] - wall_x) > 0.1 {
        return None;
    }
    let y = line_y_at(p1, p2, wall_x);
    match hole_y {
        Some(h) if !(y < h - DOOR_SPACE || y > h + DOOR_SPACE) => None,
        _ => Some([wall_x, y]),
    }
}

/// `check_horizontal_wall_intersect` with no hole (the borders and door edges): the crossing with y = `wall_y`.
fn horizontal_hit(p1: [f64; 2], p2: [f64; 2], wall_y: f64) -> Option<[f64; 2]> {
    if sign(p1[1] - wall_y) * sign(p2[1] - wall_y) > 0.1 {
        return None;
    }
    Some([line_x_at(p1, p2, wall_y), wall_y])
}

/// Where the dot ends when moving from `p1` towards `p2` (`check_wall_intersect` applied to the free move).
pub fn resolve_move(layout: &WallLayout, p1: [f64; 2], p2: [f64; 2]) -> [f64; 2] {
    let (left_face, right_face) = (layout.left_face(), layout.right_face());
    let (door_min, door_max) = (layout.door_min(), layout.door_max());
    let within_wall = |x: f64| left_face <= x && x <= right_face;

    // 1. Crossing a door edge (the wall's end faces) while inside the wall's columns: stop just inside the door.
    if p2[1] - p1[1] > 0.0 && p2[1] > door_max && p1[1] < door_max {
        if let Some(hit) = horizontal_hit(p1, p2, door_max).filter(|h| within_wall(h[0])) {
            return [hit[0] + HIT_OFFSET, hit[1] - HIT_OFFSET];
        }
    }
    if p2[1] - p1[1] < 0.0 && p2[1] < door_min && p1[1] > door_min {
        if let Some(hit) = horizontal_hit(p1, p2, door_min).filter(|h| within_wall(h[0])) {
            return [hit[0] + HIT_OFFSET, hit[1] + HIT_OFFSET];
        }
    }

    // 2. Vertical faces of the room p1 is in (by which side of the wall centre it is), then the horizontal borders.
    let (mut left, mut left_hole, mut right, mut right_hole) = (BORDER_MIN, None, BORDER_MAX, None);
    if layout.wall_x > p1[0] {
        (right, right_hole) = (left_face, Some(layout.door_y));
    } else {
        (left, left_hole) = (right_face, Some(layout.door_y));
    }
    let (top, bottom) = (BORDER_MIN, BORDER_MAX);
    let vertical =
        vertical_hit(p1, p2, left, left_hole).or_else(|| vertical_hit(p1, p2, right, right_hole));
    let horizontal = horizontal_hit(p1, p2, top).or_else(|| horizontal_hit(p1, p2, bottom));
    let dist = |q: [f64; 2]| ((p1[0] - q[0]).powi(2) + (p1[1] - q[1]).powi(2)).sqrt();

    // 3. The earliest hit (ties go to the horizontal one); the quirk: the other axis always gets +0.5.
    let vertical_result = |v: [f64; 2]| [v[0] + HIT_OFFSET * sign(p1[0] - v[0]), v[1] + HIT_OFFSET];
    let horizontal_result =
        |h: [f64; 2]| [h[0] + HIT_OFFSET, h[1] + HIT_OFFSET * sign(p1[1] - h[1])];
    let mut q = match (vertical, horizontal) {
        (Some(v), Some(h)) if dist(v) < dist(h) => vertical_result(v),
        (_, Some(h)) => horizontal_result(h),
        (Some(v), None) => vertical_result(v),
        (None, None) => return p2,
    };

    // 4. Clamp to the room box; a result on a bound moves 0.3 inside.
    q[0] = q[0].clamp(left, right);
    q[1] = q[1].clamp(top, bottom);
    if q[0] <= left {
        q[0] = left + BOUND_INSET;
    }
    if q[0] >= right {
        q[0] = right - BOUND_INSET;
    }
    if q[1] <= top {
        q[1] = top + BOUND_INSET;
    }
    if q[1] >= bottom {
        q[1] = bottom - BOUND_INSET;
    }
    q
}

/// One env step from `pos` with action `a` (no clipping): the free move pos + 2·a, then the collision rule.
pub fn next_position(layout: &WallLayout, pos: [f64; 2], a: [f64; 2]) -> [f64; 2] {
    let p2 = [pos[0] + STEP_SCALE * a[0], pos[1] + STEP_SCALE * a[1]];
    resolve_move(layout, pos, p2)
}

/// Start and goal in opposite rooms (DINO-WM `generate_random_state`), deterministic in `seed`.
///
/// Draw order: start_x ~ U[7.4, 25.6], goal_x ~ U[38.4, 56.6], start_y, goal_y ~ U[7.4, 56.6], then a coin
/// that swaps the x's with probability 0.5. The x ranges come from the layout's wall faces with padding
/// 2·1.7 = 3.4; the border padding is 5 − 1 + 3.4 = 7.4.
pub fn sample_start_goal(layout: &WallLayout, seed: u64) -> ([f32; 2], [f32; 2]) {
    let mut rng = rng_for(seed, "wall-start-goal");
    let padding = 2.0 * DOT_STD;
    let border_padding = BORDER_WALL_LOC - 1.0 + padding;
    let (lo, hi) = (border_padding, IMG_SIZE - 1.0 - border_padding);
    let mut start_x = rng.random_range(lo..layout.left_face() - padding);
    let mut goal_x = rng.random_range(layout.right_face() + padding..hi);
    let start_y = rng.random_range(lo..hi);
    let goal_y = rng.random_range(lo..hi);
    if rng.random::<f64>() < 0.5 {
        std::mem::swap(&mut start_x, &mut goal_x);
    }
    (
        [start_x as f32, start_y as f32],
        [goal_x as f32, goal_y as f32],
    )
}

/// Success: ‖goal[0:2] − state[0:2]‖ < 4.5 px.
pub fn is_success(state: &[f32], goal: &[f32]) -> bool {
    if state.len() < 2 || goal.len() < 2 {
        return false;
    }
    let (dx, dy) = (state[0] - goal[0], state[1] - goal[1]);
    (dx * dx + dy * dy).sqrt() < SUCCESS_RADIUS
}

/// Why `state` is not a valid Wall state, if it is not: non-finite, outside the border box [4, 60]², or inside
/// the solid part of the middle wall.
pub fn state_problem(layout: &WallLayout, state: &[f32]) -> Option<String> {
    let (x, y) = (f64::from(state[0]), f64::from(state[1]));
    if !x.is_finite() || !y.is_finite() {
        return Some(format!("position ({x}, {y}) is not finite"));
    }
    let inside = |v: f64| (BORDER_MIN..=BORDER_MAX).contains(&v);
    if !inside(x) || !inside(y) {
        return Some(format!(
            "position ({x}, {y}) is outside the border walls [4, 60]"
        ));
    }
    let in_wall_columns = layout.left_face() < x && x < layout.right_face();
    let in_door = layout.door_min() <= y && y <= layout.door_max();
    if in_wall_columns && !in_door {
        return Some(format!("position ({x}, {y}) is inside the middle wall"));
    }
    None
}

/// The Wall simulator.
#[derive(Clone, Debug)]
pub struct Wall {
    layout: WallLayout,
    pos: [f32; 2],
}

impl Default for Wall {
    fn default() -> Self {
        Self::new()
    }
}

impl Wall {
    /// A Wall env with the default layout (wall at column 32, door at row 30), the dot at the default start.
    pub fn new() -> Self {
        Self::with_layout(WallLayout::default())
    }

    /// A Wall env with a given layout.
    pub fn with_layout(layout: WallLayout) -> Self {
        let (start, _) = sample_start_goal(&layout, 0);
        Wall { layout, pos: start }
    }

    /// The layout in use.
    pub fn layout(&self) -> WallLayout {
        self.layout
    }
}

impl Env for Wall {
    fn kind(&self) -> EnvKind {
        EnvKind::Wall
    }

    fn reset(&mut self, seed: u64) -> Vec<f32> {
        self.pos = sample_start_goal(&self.layout, seed).0;
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
        if let Some(reason) = state_problem(&self.layout, state) {
            return Err(EnvError::InvalidState {
                env: self.kind(),
                reason,
            });
        }
        self.pos = [state[0], state[1]];
        Ok(())
    }

    fn step(&mut self, action: [f32; 2]) {
        let pos = [f64::from(self.pos[0]), f64::from(self.pos[1])];
        let a = [f64::from(action[0]), f64::from(action[1])];
        let q = next_position(&self.layout, pos, a);
        self.pos = [q[0] as f32, q[1] as f32];
    }

    fn state(&self) -> Vec<f32> {
        self.pos.to_vec()
    }
}

#[cfg(test)]
#[path = "wall_tests.rs"]
mod tests;
