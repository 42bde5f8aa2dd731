//! Hand-computed cases for every branch of the Wall collision rule (layout: wall 32 → faces 29/35, door 26..=34,
//! borders 4 and 60). Each comment gives the arithmetic.

use super::*;

fn step(p: [f64; 2], a: [f64; 2]) -> [f64; 2] {
    next_position(&WallLayout::default(), p, a)
}

fn assert_close(got: [f64; 2], want: [f64; 2]) {
    assert!(
        (got[0] - want[0]).abs() < 1e-9 && (got[1] - want[1]).abs() < 1e-9,
        "got {got:?}, want {want:?}"
    );
}

#[test]
fn free_move_is_pos_plus_two_a() {
    assert_close(step([10.0, 10.0], [1.0, 0.5]), [12.0, 11.0]);
}

#[test]
fn crossing_door_top_edge_inside_wall_columns_stops_with_plus_half_minus_half() {
    // (31,32)→(32,36): a = 4, b = 32 − 124 = −92, x at y=34 is 126/4 = 31.5 ∈ [29,35] → (32.0, 33.5).
    assert_close(step([31.0, 32.0], [0.5, 2.0]), [32.0, 33.5]);
}

#[test]
fn crossing_door_bottom_edge_inside_wall_columns_stops_with_plus_half_plus_half() {
    // (33,28)→(32,24): a = 4, b = 28 − 132 = −104, x at y=26 is 130/4 = 32.5 → (33.0, 26.5).
    assert_close(step([33.0, 28.0], [-0.5, -2.0]), [33.0, 26.5]);
}

#[test]
fn crossing_door_edge_line_outside_wall_columns_is_free() {
    // (20,33)→(21,35): crosses y=34 at x = 20.5, not within [29,35]; nothing else is hit.
    assert_close(step([20.0, 33.0], [0.5, 1.0]), [21.0, 35.0]);
}

#[test]
fn purely_vertical_move_across_door_edge_uses_the_limit_not_nan() {
    // (32,30)→(32,36): the original's slope is infinite (NaN crossing); the limit x = 32 is within the wall.
    assert_close(step([32.0, 30.0], [0.0, 3.0]), [32.5, 33.5]);
}

#[test]
fn left_room_hitting_wall_face_gets_minus_half_and_quirky_plus_half_y() {
    // (27,10)→(31,12): face x = 29, a = 0.5, b = −3.5, y = 11 (not in door) → (29,11) + (−0.5, +0.5).
    assert_close(step([27.0, 10.0], [2.0, 1.0]), [28.5, 11.5]);
}

#[test]
fn right_room_hitting_wall_face_gets_plus_half_plus_half() {
    // (37,40)→(33,38): face x = 35, a = 0.5, b = 21.5, y = 39 → (35,39) + (+0.5, +0.5).
    assert_close(step([37.0, 40.0], [-2.0, -1.0]), [35.5, 39.5]);
}

#[test]
fn passing_through_the_door_is_free_both_ways() {
    // y = 30 is within the door rows 26..=34, so the face test returns no hit.
    assert_close(step([27.0, 30.0], [2.0, 0.0]), [31.0, 30.0]);
    assert_close(step([37.0, 30.0], [-2.0, 0.0]), [33.0, 30.0]);
    assert_close(step([33.0, 30.0], [2.0, 0.0]), [37.0, 30.0]);
}

#[test]
fn left_border_hit() {
    // (5,20)→(3,20): x = 4 at y = 20 → (4,20) + (+0.5, +0.5).
    assert_close(step([5.0, 20.0], [-1.0, 0.0]), [4.5, 20.5]);
}

#[test]
fn bottom_border_hit() {
    // (10,59)→(11,61): a = 2, b = 39, x at y=60 is 10.5 → (10.5,60) + (+0.5, −0.5).
    assert_close(step([10.0, 59.0], [0.5, 1.0]), [11.0, 59.5]);
}

#[test]
fn earliest_hit_wins_horizontal_first() {
    // (6,5)→(3,3): x=4 at y=11/3 (dist ≈ 2.40); y=4 at x=4.5 (dist ≈ 1.80) → (4.5,4) + (+0.5, +0.5).
    assert_close(step([6.0, 5.0], [-1.5, -1.0]), [5.0, 4.5]);
}

#[test]
fn earliest_hit_wins_vertical_first() {
    // (5,6)→(3,3): x=4 at y=4.5 (dist ≈ 1.80); y=4 at x=11/3 (dist ≈ 2.40) → (4,4.5) + (+0.5, +0.5).
    assert_close(step([5.0, 6.0], [-1.0, -1.5]), [4.5, 5.0]);
}

#[test]
fn quirk_offset_pushes_past_bound_then_clamp_and_inset() {
    // (5,59.8)→(3,59.8): hit (4,59.8) + (+0.5,+0.5) = (4.5,60.3) → clamp y to 60 → on the bound → 60 − 0.3.
    assert_close(step([5.0, 59.8], [-1.0, 0.0]), [4.5, 59.7]);
}

#[test]
fn clamp_and_inset_on_the_x_bound() {
    // (59.8,59)→(59.9,61): bottom hit at x = 59.85 → (60.35, 59.5) → clamp x to 60 → 60 − 0.3 = 59.7.
    assert_close(step([59.8, 59.0], [0.05, 1.0]), [59.7, 59.5]);
    // Purely vertical: the limit x = 59.8 → (60.3, 59.5) → 59.7 as well (the original gives NaN here).
    assert_close(step([59.8, 59.0], [0.0, 1.0]), [59.7, 59.5]);
}

#[test]
fn touching_a_line_counts_as_crossing() {
    // sign product 0 ≤ 0.1: starting on the left border and moving right still "hits" it: (4,20) + (0.5·0, 0.5)
    // → (4, 20.5) → on the left bound → 4.3.
    assert_close(step([4.0, 20.0], [1.0, 0.0]), [4.3, 20.5]);
}

#[test]
fn sampling_puts_start_and_goal_in_opposite_rooms_within_ranges() {
    let layout = WallLayout::default();
    let mut swapped = 0;
    for seed in 0..200 {
        let (s, g) = sample_start_goal(&layout, seed);
        let (left, right) = if s[0] < g[0] { (s, g) } else { (g, s) };
        if s[0] > g[0] {
            swapped += 1;
        }
        assert!((7.4..=25.6).contains(&left[0]), "{left:?}");
        assert!((38.4..=56.6).contains(&right[0]), "{right:?}");
        for p in [s, g] {
            assert!((7.4..=56.6).contains(&p[1]));
        }
        assert_eq!((s, g), sample_start_goal(&layout, seed));
    }
    assert!(
        (60..140).contains(&swapped),
        "swap coin looks biased: {swapped}/200"
    );
}

#[test]
fn success_threshold() {
    assert!(is_success(&[10.0, 10.0], &[14.0, 12.0])); // 4.47 < 4.5
    assert!(!is_success(&[10.0, 10.0], &[14.5, 10.0]));
}

#[test]
fn set_state_rejects_bad_states() {
    let mut env = Wall::new();
    assert!(env.set_state(&[10.0]).is_err());
    assert!(env.set_state(&[f32::NAN, 10.0]).is_err());
    assert!(env.set_state(&[2.0, 10.0]).is_err());
    assert!(env.set_state(&[32.0, 10.0]).is_err());
    assert!(env.set_state(&[32.0, 30.0]).is_ok());
}

#[test]
fn random_rollouts_stay_in_bounds_and_are_deterministic() {
    let run = |seed: u64| {
        let mut env = Wall::new();
        env.reset(seed);
        let mut rng = rng_for(seed, "test-actions");
        let mut states = Vec::new();
        for _ in 0..300 {
            let a = [
                rng.random_range(-3.0..3.0f32),
                rng.random_range(-3.0..3.0f32),
            ];
            env.step(a);
            let s = env.state();
            assert!(state_problem(&env.layout(), &s).is_none(), "{s:?}");
            states.push(s);
        }
        states
    };
    for seed in 0..20 {
        assert_eq!(run(seed), run(seed));
    }
}
