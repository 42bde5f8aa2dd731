//! Overlay colours and colormaps shared by the headless recorder and the app, so a recorded video and the live
//! window show a planner the same way. Plain constants and functions over [`Rgba`]; no Bevy, no drawing.
//!
//! Conventions (used by `record::overlay` and the app's overlays):
//! - virtual state s̄_t is a translucent "ghost" of the env's bodies coloured by [`time_color`] (viridis:
//!   dark purple at t = 0 through teal to yellow at t = T), with a small opaque marker dot of the same colour;
//! - a dynamics residual is a segment from F(s̄_t, a_t) to s̄_{t+1} coloured by [`residual_color`] (a warm
//!   turbo ramp: yellow = small, dark red = large);
//! - the serial model rollout of the current actions is a [`MODEL_ROLLOUT`] polyline, the simulator rollout of
//!   the same actions a [`SIM_ROLLOUT`] polyline;
//! - a sync iteration flashes the frame border in [`SYNC_FLASH`], fading out (over 0.2 s in recordings);
//! - start and goal are ringed in [`START_MARKER`] and [`GOAL_MARKER`].

use crate::env::scene::Rgba;

/// Alpha of a ghost body's fill (0–255); `env::scene::body_shapes` outlines it at twice this.
pub const GHOST_FILL_ALPHA: u8 = 70;
/// Serial model rollout of the current actions (magenta, as MJPC draws its nominal plan).
pub const MODEL_ROLLOUT: Rgba = Rgba::rgb(230, 0, 230);
/// Simulator rollout of the current actions, executed open-loop (cyan-teal).
pub const SIM_ROLLOUT: Rgba = Rgba::rgb(0, 170, 190);
/// The simulator trajectory actually executed by closed-loop (MPC) control.
pub const EXECUTED: Rgba = Rgba::rgb(20, 70, 235);
/// Marker of the start state s_0.
pub const START_MARKER: Rgba = Rgba::rgb(40, 40, 40);
/// Marker of the goal g.
pub const GOAL_MARKER: Rgba = Rgba::rgb(20, 150, 60);
/// Frame border and label flashed on a sync iteration (amber).
pub const SYNC_FLASH: Rgba = Rgba::rgb(255, 176, 0);
/// Colour of a planner that diverged (label and border).
pub const DIVERGED: Rgba = Rgba::rgb(220, 30, 30);
/// The ring on the last step the ensemble trusts (the trust horizon), and the threshold line in its plot.
pub const TRUST_END: Rgba = Rgba::rgb(250, 60, 120);
/// Alpha (0–255) of ghosts, markers and the model rollout past the trust horizon (drawn faded).
pub const UNTRUSTED_ALPHA: u8 = 40;
/// Heads-up text.
pub const HUD_TEXT: Rgba = Rgba::rgb(245, 245, 245);
/// Heads-up background strip and loss-plot panel (translucent near-black).
pub const HUD_BACKGROUND: Rgba = Rgba(16, 16, 24, 190);
/// Loss-plot axes and frame.
pub const PLOT_AXIS: Rgba = Rgba::rgb(150, 150, 160);
/// Loss-plot curve of the dynamics term Σ‖F(s̄_t,a_t) − s_{t+1}‖².
pub const LOSS_DYNAMICS: Rgba = Rgba::rgb(255, 120, 60);
/// Loss-plot curve of the goal term Σ‖F(s̄_t,a_t) − g‖².
pub const LOSS_GOAL: Rgba = Rgba::rgb(90, 170, 255);
/// Loss-plot curve of the terminal distance ‖rollout_T(a) − g‖.
pub const LOSS_TERMINAL: Rgba = Rgba::rgb(120, 230, 120);
/// Loss-plot cursor marking the current iteration.
pub const PLOT_CURSOR: Rgba = Rgba::rgb(255, 255, 255);

/// Viridis at 11 evenly spaced stops (matplotlib's values), interpolated linearly in sRGB by [`viridis`].
const VIRIDIS: [[u8; 3]; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x24, 0x75],
    [0x41, 0x44, 0x87],
    [0x35, 0x5f, 0x8d],
    [0x2a, 0x78, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x22, 0xa8, 0x84],
    [0x44, 0xbf, 0x70],
    [0x7a, 0xd1, 0x51],
    [0xbd, 0xdf, 0x26],
    [0xfd, 0xe7, 0x25],
];

/// Viridis colormap at `x` ∈ [0, 1] (clamped; NaN maps to 0): dark purple → teal → yellow.
pub fn viridis(x: f32) -> Rgba {
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    let pos = x * (VIRIDIS.len() - 1) as f32;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f32;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |c: usize| (f32::from(a[c]) + (f32::from(b[c]) - f32::from(a[c])) * f).round() as u8;
    Rgba::rgb(mix(0), mix(1), mix(2))
}

/// Turbo colormap at `x` ∈ [0, 1] (clamped; NaN maps to 0): dark blue → blue → green → yellow → red. Google's published
/// polynomial fit of the turbo table (max error under 1 %), evaluated directly because a 256-entry table
/// would add nothing but bytes.
pub fn turbo(x: f32) -> Rgba {
    let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
    let poly = |c: [f32; 6]| c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * c[5]))));
    let r = poly([
        0.135_721_38,
        4.615_392_6,
        -42.660_324,
        132.131_08,
        -152.942_4,
        59.286_38,
    ]);
    let g = poly([
        0.091_402_61,
        2.194_188_4,
        4.842_966_6,
        -14.185_033,
        4.277_298_6,
        2.829_566,
    ]);
    let b = poly([
        0.106_673_3,
        12.641_946,
        -60.582_05,
        110.362_77,
        -89.903_11,
        27.348_25,
    ]);
    let to_u8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    Rgba::rgb(to_u8(r), to_u8(g), to_u8(b))
}

/// Colour of time index `t` of a plan with horizon `horizon` (t = 0 … horizon): viridis(t / horizon).
pub fn time_color(t: usize, horizon: usize) -> Rgba {
    if horizon == 0 {
        return viridis(0.0);
    }
    viridis(t as f32 / horizon as f32)
}

/// Colour of a dynamics residual of magnitude `residual` (model-space norm) relative to `scale` (the residual
/// drawn darkest-red; e.g. the largest residual of the first snapshot). Log-scaled over three decades below
/// `scale` onto the warm end of turbo (x ∈ [0.6, 1]): yellow ≈ `scale`/1000 or less, dark red ≥ `scale`.
pub fn residual_color(residual: f32, scale: f32) -> Rgba {
    turbo(0.6 + 0.4 * residual_level(residual, scale))
}

/// A residual's position on the colour ramp, 0 (≤ scale/1000 or non-finite scale) … 1 (≥ scale).
pub fn residual_level(residual: f32, scale: f32) -> f32 {
    if residual.is_infinite() && residual > 0.0 {
        return 1.0;
    }
    if residual.is_nan() || residual <= 0.0 || scale.is_nan() || scale <= 0.0 || scale.is_infinite()
    {
        return 0.0;
    }
    ((residual / scale).log10() / 3.0 + 1.0).clamp(0.0, 1.0)
}

/// `color` with its alpha replaced by `alpha`.
pub const fn with_alpha(color: Rgba, alpha: u8) -> Rgba {
    color.with_alpha(alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_hits_its_stops_and_clamps() {
        assert_eq!(viridis(0.0), Rgba::rgb(0x44, 0x01, 0x54));
        assert_eq!(viridis(1.0), Rgba::rgb(0xfd, 0xe7, 0x25));
        assert_eq!(viridis(0.5), Rgba::rgb(0x21, 0x91, 0x8c));
        assert_eq!(viridis(-3.0), viridis(0.0));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f32::NAN), viridis(0.0));
    }

    #[test]
    fn viridis_brightens_monotonically() {
        let luma =
            |c: Rgba| 0.2126 * f32::from(c.0) + 0.7152 * f32::from(c.1) + 0.0722 * f32::from(c.2);
        let mut prev = -1.0;
        for i in 0..=100 {
            let l = luma(viridis(i as f32 / 100.0));
            assert!(l >= prev - 0.5, "luma dropped at {i}: {l} < {prev}");
            prev = l;
        }
    }

    #[test]
    fn turbo_runs_blue_to_red() {
        let lo = turbo(0.15);
        let hi = turbo(1.0);
        assert!(
            lo.2 > lo.0 && lo.2 > lo.1,
            "turbo(0.15) should be blue: {lo:?}"
        );
        assert!(
            hi.0 > hi.2 && hi.0 > hi.1,
            "turbo(1) should be reddish: {hi:?}"
        );
        let mid = turbo(0.5);
        assert!(mid.1 > 150, "turbo(0.5) should be greenish: {mid:?}");
    }

    #[test]
    fn residual_ramp_is_log_scaled_and_safe() {
        assert_eq!(residual_level(1.0, 1.0), 1.0);
        assert_eq!(residual_level(10.0, 1.0), 1.0);
        assert!((residual_level(0.1, 1.0) - 2.0 / 3.0).abs() < 1e-5);
        assert_eq!(residual_level(1e-6, 1.0), 0.0);
        assert_eq!(residual_level(0.0, 1.0), 0.0);
        assert_eq!(residual_level(f32::NAN, 1.0), 0.0);
        assert_eq!(residual_level(1.0, 0.0), 0.0);
        assert_eq!(residual_level(f32::INFINITY, 1.0), 1.0);
        assert_ne!(residual_color(1.0, 1.0), residual_color(0.001, 1.0));
    }

    #[test]
    fn time_colors_span_the_map() {
        assert_eq!(time_color(0, 10), viridis(0.0));
        assert_eq!(time_color(10, 10), viridis(1.0));
        assert_eq!(time_color(3, 0), viridis(0.0));
    }
}
