//! Exact swept collision of a moving disc against solid axis-aligned boxes, used by PointMaze.
//!
//! A disc of radius r touches a box exactly when its centre enters the box's Minkowski sum with the disc: the
//! union of the box widened by r in x, the box widened by r in y, and four discs of radius r at its corners.
//! The centre's motion is a segment, so the first contact is the earliest entry of that segment into any of
//! those six convex pieces (ray–slab and ray–circle tests, closed form). On contact the centre stops there,
//! steps back a tiny `SKIN` along the contact normal, loses its normal velocity (frictionless, MuJoCo condim 1)
//! and slides on with the rest of the displacement. Hand-written because it is ~100 lines, exact, allocation-free
//! and bit-deterministic, where a general physics engine would add tolerances and state for one point mass.

/// Gap left between the disc and a wall after a contact, in world units. It is larger than the rounding of a
/// position to f32 at maze scale (~1.2e-7), so stored f32 states never penetrate.
pub const SKIN: f64 = 1e-6;
/// Contacts resolved per move (a disc in a concave corner needs two); beyond that the disc stays at rest.
const MAX_CONTACTS: usize = 4;

/// A solid axis-aligned box: centre and half-extents.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    /// Centre (x, y).
    pub center: [f64; 2],
    /// Half-extents (hx, hy), both > 0.
    pub half: [f64; 2],
}

impl Aabb {
    /// Euclidean distance from `p` to the box (0 inside).
    pub fn distance(&self, p: [f64; 2]) -> f64 {
        self.distance_sq(p).sqrt()
    }

    /// Squared distance from `p` to the box (0 inside).
    pub fn distance_sq(&self, p: [f64; 2]) -> f64 {
        let dx = ((p[0] - self.center[0]).abs() - self.half[0]).max(0.0);
        let dy = ((p[1] - self.center[1]).abs() - self.half[1]).max(0.0);
        dx * dx + dy * dy
    }

    /// The point of the box nearest to `p`.
    fn closest_point(&self, p: [f64; 2]) -> [f64; 2] {
        [
            p[0].clamp(self.center[0] - self.half[0], self.center[0] + self.half[0]),
            p[1].clamp(self.center[1] - self.half[1], self.center[1] + self.half[1]),
        ]
    }
}

/// A contact: fraction t ∈ [0, 1] of the displacement at which it happens, and the unit normal out of the wall.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hit {
    t: f64,
    normal: [f64; 2],
}

fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

/// First entry of p + t·d, t ∈ [0, 1], into the closed rectangle [lo, hi] while moving against its surface.
fn ray_rect(p: [f64; 2], d: [f64; 2], lo: [f64; 2], hi: [f64; 2]) -> Option<Hit> {
    let (mut t_enter, mut t_exit) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut normal = [0.0; 2];
    for axis in 0..2 {
        if d[axis] == 0.0 {
            if p[axis] < lo[axis] || p[axis] > hi[axis] {
                return None;
            }
            continue;
        }
        let (mut t0, mut t1) = (
            (lo[axis] - p[axis]) / d[axis],
            (hi[axis] - p[axis]) / d[axis],
        );
        let mut side = -1.0;
        if t0 > t1 {
            std::mem::swap(&mut t0, &mut t1);
            side = 1.0;
        }
        if t0 > t_enter {
            t_enter = t0;
            normal = [0.0; 2];
            normal[axis] = side;
        }
        t_exit = t_exit.min(t1);
    }
    if t_enter > t_exit || t_exit <= 0.0 || t_enter > 1.0 || dot(d, normal) >= 0.0 {
        return None;
    }
    Some(Hit {
        t: t_enter.max(0.0),
        normal,
    })
}

/// First entry of p + t·d, t ∈ [0, 1], into the disc of radius r at c while moving towards its centre.
fn ray_circle(p: [f64; 2], d: [f64; 2], c: [f64; 2], r: f64) -> Option<Hit> {
    let m = [p[0] - c[0], p[1] - c[1]];
    let (a, b, cc) = (dot(d, d), dot(m, d), dot(m, m) - r * r);
    if a == 0.0 || b >= 0.0 {
        return None; // not moving, or moving away from the centre
    }
    let t = if cc <= 0.0 {
        0.0 // already touching or (by rounding) slightly inside
    } else {
        let disc = b * b - a * cc;
        if disc < 0.0 {
            return None;
        }
        (-b - disc.sqrt()) / a
    };
    if t > 1.0 {
        return None;
    }
    let q = [m[0] + t * d[0], m[1] + t * d[1]];
    let len = dot(q, q).sqrt();
    if len == 0.0 {
        return None;
    }
    Some(Hit {
        t,
        normal: [q[0] / len, q[1] / len],
    })
}

/// First contact of a disc of radius `r` at `p` moving by `d` with one box.
fn sweep_box(p: [f64; 2], d: [f64; 2], b: &Aabb, r: f64) -> Option<Hit> {
    let [cx, cy] = b.center;
    let [hx, hy] = b.half;
    let pieces = [
        ray_rect(p, d, [cx - hx - r, cy - hy], [cx + hx + r, cy + hy]),
        ray_rect(p, d, [cx - hx, cy - hy - r], [cx + hx, cy + hy + r]),
        ray_circle(p, d, [cx - hx, cy - hy], r),
        ray_circle(p, d, [cx + hx, cy - hy], r),
        ray_circle(p, d, [cx - hx, cy + hy], r),
        ray_circle(p, d, [cx + hx, cy + hy], r),
    ];
    earliest(pieces.into_iter().flatten())
}

fn earliest(hits: impl Iterator<Item = Hit>) -> Option<Hit> {
    hits.fold(None, |best: Option<Hit>, h| match best {
        Some(b) if b.t <= h.t => Some(b),
        _ => Some(h),
    })
}

/// Moves a disc (centre `pos`, radius `r`, velocity `vel`) for `dt` among solid `boxes`: stops at contacts,
/// removes the velocity component into each wall it touches and slides along it. Never ends closer than
/// r + SKIN/2 to any box if it started at least r away.
pub fn move_disc(pos: &mut [f64; 2], vel: &mut [f64; 2], dt: f64, r: f64, boxes: &[Aabb]) {
    let mut d = [vel[0] * dt, vel[1] * dt];
    for _ in 0..MAX_CONTACTS {
        // Broad phase: only boxes within reach of this move can be touched.
        let reach = r + dot(d, d).sqrt() + SKIN;
        let candidates = boxes
            .iter()
            .filter(|b| b.distance_sq(*pos) <= reach * reach);
        let Some(hit) = earliest(candidates.filter_map(|b| sweep_box(*pos, d, b, r))) else {
            pos[0] += d[0];
            pos[1] += d[1];
            return;
        };
        let n = hit.normal;
        pos[0] += d[0] * hit.t + n[0] * SKIN;
        pos[1] += d[1] * hit.t + n[1] * SKIN;
        let vn = dot(*vel, n);
        if vn < 0.0 {
            vel[0] -= vn * n[0];
            vel[1] -= vn * n[1];
        }
        let rest = [d[0] * (1.0 - hit.t), d[1] * (1.0 - hit.t)];
        let rn = dot(rest, n).min(0.0);
        d = [rest[0] - rn * n[0], rest[1] - rn * n[1]];
    }
}

/// Pushes a disc centre that overlaps a box (e.g. a state set slightly inside a wall) out to distance r + SKIN
/// along the shortest way out of each box it overlaps.
pub fn push_out(pos: &mut [f64; 2], r: f64, boxes: &[Aabb]) {
    for b in boxes {
        let q = b.closest_point(*pos);
        let v = [pos[0] - q[0], pos[1] - q[1]];
        let dist = dot(v, v).sqrt();
        if dist >= r {
            continue;
        }
        if dist > 0.0 {
            *pos = [
                q[0] + v[0] / dist * (r + SKIN),
                q[1] + v[1] / dist * (r + SKIN),
            ];
        } else {
            // Centre inside the box: leave through the nearest face.
            let rel = [pos[0] - b.center[0], pos[1] - b.center[1]];
            let gap = [b.half[0] - rel[0].abs(), b.half[1] - rel[1].abs()];
            let axis = usize::from(gap[1] < gap[0]);
            let side = if rel[axis] >= 0.0 { 1.0 } else { -1.0 };
            pos[axis] = b.center[axis] + side * (b.half[axis] + r + SKIN);
        }
    }
}

/// Smallest distance from `p` to any box minus `r` (negative when the disc overlaps a box).
pub fn clearance(p: [f64; 2], r: f64, boxes: &[Aabb]) -> f64 {
    boxes
        .iter()
        .map(|b| b.distance(p))
        .fold(f64::INFINITY, f64::min)
        - r
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Aabb = Aabb {
        center: [0.0, 0.0],
        half: [0.5, 0.5],
    };

    #[test]
    fn head_on_contact_stops_at_radius_and_kills_normal_velocity() {
        let (mut p, mut v) = ([-1.0, 0.0], [10.0, 0.0]);
        move_disc(&mut p, &mut v, 0.1, 0.1, &[UNIT]);
        assert!((p[0] - (-0.6 - SKIN)).abs() < 1e-12, "{p:?}");
        assert_eq!(v, [0.0, 0.0]);
    }

    #[test]
    fn oblique_contact_slides_along_the_face() {
        // Reaches x = −0.6 after half the step, then slides +y by the other half of the y displacement.
        let (mut p, mut v) = ([-1.0, 0.0], [8.0, 2.0]);
        move_disc(&mut p, &mut v, 0.1, 0.1, &[UNIT]);
        assert!((p[0] + 0.6 + SKIN).abs() < 1e-12, "{p:?}");
        assert!((p[1] - 0.2).abs() < 1e-12, "{p:?}");
        assert_eq!(v, [0.0, 2.0]);
    }

    #[test]
    fn corner_is_rounded() {
        // Aimed diagonally at the corner (0.5, 0.5): contact when the centre is r from it, along the diagonal.
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let (mut p, mut v) = ([1.5, 1.5], [-1.0, -1.0]);
        move_disc(&mut p, &mut v, 1.0, 0.1, &[UNIT]);
        let want = 0.5 + (0.1 + SKIN) * s;
        assert!(
            (p[0] - want).abs() < 1e-9 && (p[1] - want).abs() < 1e-9,
            "{p:?}"
        );
        // A path that clears the rounded corner but would clip a square-inflated box passes untouched.
        // (0.49, 0.69) → (0.69, 0.49) passes 0.127 from the corner, through the square's corner region.
        let (mut p, mut v) = ([0.49, 0.69], [1.0, -1.0]);
        move_disc(&mut p, &mut v, 0.2, 0.1, &[UNIT]);
        assert!(
            (p[0] - 0.69).abs() < 1e-12 && (p[1] - 0.49).abs() < 1e-12,
            "{p:?}"
        );
    }

    #[test]
    fn moving_away_or_tangent_at_contact_is_free() {
        let (mut p, mut v) = ([-0.6 - SKIN, 0.0], [-1.0, 0.0]);
        move_disc(&mut p, &mut v, 0.1, 0.1, &[UNIT]);
        assert!((p[0] + 0.7 + SKIN).abs() < 1e-12);
        let (mut p, mut v) = ([-0.6 - SKIN, -0.2], [0.0, 1.0]);
        move_disc(&mut p, &mut v, 0.3, 0.1, &[UNIT]);
        assert!((p[1] - 0.1).abs() < 1e-12 && v == [0.0, 1.0]);
    }

    #[test]
    fn concave_corner_stops_both_axes() {
        let walls = [
            UNIT,
            Aabb {
                center: [-1.0, -1.0],
                half: [1.5, 0.5],
            },
        ];
        // Floor top at y = −0.5, box left face at x = −0.5: the corner pocket is (−0.6, −0.4).
        let (mut p, mut v) = ([-1.0, 0.0], [5.0, -5.0]);
        move_disc(&mut p, &mut v, 0.2, 0.1, &walls);
        assert!(clearance(p, 0.1, &walls) > 0.0);
        assert!(
            (p[0] + 0.6).abs() < 1e-5 && (p[1] + 0.4).abs() < 1e-5,
            "{p:?}"
        );
        assert_eq!(v, [0.0, 0.0]);
    }

    #[test]
    fn push_out_leaves_overlapping_centres_outside() {
        let mut p = [-0.55, 0.1];
        push_out(&mut p, 0.1, &[UNIT]);
        assert!((p[0] + 0.6 + SKIN).abs() < 1e-12 && p[1] == 0.1);
        let mut p = [0.4, 0.0];
        push_out(&mut p, 0.1, &[UNIT]);
        assert!((p[0] - 0.6 - SKIN).abs() < 1e-12);
    }
}
