//! Builds the draw layers of one lane from plain inputs — the problem, the world model (to decode model-space
//! states), the shown snapshot, the simulator rollout — with the shared palette: the env, ghost virtual
//! states coloured by t, model and simulator rollouts, the residual ribbon, one-step predictions with
//! residual segments, and the start/goal handles with the sync flash. Pure: no Bevy world, unit-tested.

use crate::env::scene::{Rgba, Shape};
use crate::env::{EnvKind, Problem};
use crate::model::WorldModel;
use crate::plan::Snapshot;
use crate::record::palette;

use super::draw::{Frame, MeshBuf};
use super::envdraw::{anchors, env_scene, ghost_shapes, unit};

/// Which overlays are drawn (each toggled by a command).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OverlayToggles {
    /// Ghost virtual states s_1..s_{T−1}.
    pub ghosts: bool,
    /// One-step predictions and residual segments.
    pub predictions: bool,
    /// Serial model rollout of the current actions.
    pub model_rollout: bool,
    /// Simulator rollout of the current actions.
    pub sim_rollout: bool,
    /// Residual-coloured ribbon along the virtual states.
    pub ribbon: bool,
    /// Sync flash.
    pub sync_flash: bool,
}

impl Default for OverlayToggles {
    fn default() -> Self {
        OverlayToggles {
            ghosts: true,
            predictions: true,
            model_rollout: true,
            sim_rollout: true,
            ribbon: true,
            sync_flash: true,
        }
    }
}

/// The draw layers, back to front.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// Env background, goal, walls and the bodies at the shown state.
    Env = 0,
    /// Ghost virtual states.
    Ghosts = 1,
    /// Model and simulator rollouts.
    Rollouts = 2,
    /// The residual ribbon (custom shader).
    Ribbon = 3,
    /// Predictions and residual segments.
    Residuals = 4,
    /// Start/goal handles, sync flash, divergence frame.
    Handles = 5,
}

impl Layer {
    /// Every layer, back to front.
    pub const ALL: [Layer; 6] = [
        Layer::Env,
        Layer::Ghosts,
        Layer::Rollouts,
        Layer::Ribbon,
        Layer::Residuals,
        Layer::Handles,
    ];
}

/// Everything one lane's picture depends on.
pub struct LaneDraw<'a> {
    /// The problem (start and goal possibly replaced by a drag preview).
    pub problem: &'a Problem,
    /// Model for decoding snapshots.
    pub model: &'a dyn WorldModel,
    /// The snapshot shown (None before the first one arrives).
    pub snapshot: Option<&'a Snapshot>,
    /// Simulator states of the shown plan (every env step), if computed.
    pub sim_states: Option<&'a [Vec<f32>]>,
    /// Env state to draw the bodies at instead of the start (execute animation).
    pub animated: Option<&'a [f32]>,
    /// MPC mode: the simulator states executed up to the shown plan (start first, the last is the plan's
    /// s_0 and the "now" the bodies and the start handle are drawn at); drawn solid in
    /// [`palette::EXECUTED`]. Empty in open loop.
    pub executed: &'a [Vec<f32>],
    /// Overlays on.
    pub toggles: OverlayToggles,
    /// Residual drawn darkest red.
    pub residual_scale: f32,
    /// Sync flash intensity 0–1.
    pub flash: f32,
    /// The planner diverged.
    pub diverged: bool,
    /// Steps 1..=k the ensemble trusts (None: no trust model); ghosts and the model rollout past step k are
    /// drawn faded and a [`palette::TRUST_END`] ring marks step k.
    pub trust_horizon: Option<usize>,
}

/// Radius of ghost marker dots, reference pixels.
pub const MARKER_RADIUS: f32 = 4.5;

/// Builds all layers.
pub fn build_layers(d: &LaneDraw<'_>) -> [MeshBuf; 6] {
    let kind = d.problem.env;
    let now: &[f32] = d.executed.last().unwrap_or(&d.problem.start);
    let shown = d.animated.unwrap_or(now);
    let scene = env_scene(kind, shown, &d.problem.goal);
    let frame = Frame {
        y_down: scene.y_down,
    };
    let u = unit(scene.bounds);
    let mut layers: [MeshBuf; 6] = std::array::from_fn(|_| MeshBuf::new(frame));

    let [x0, y0, x1, y1] = scene.bounds;
    layers[0].fill_polygon(&[[x0, y0], [x1, y0], [x1, y1], [x0, y1]], scene.background);
    layers[0].scene(&scene);

    if let Some(s) = d.snapshot {
        let decode = |m: &[f32]| d.model.decode_state(m);
        let t_max = s.horizon;
        let trusted = d.trust_horizon.map_or(t_max, |k| k.min(t_max));
        if d.toggles.ghosts {
            ghosts(&mut layers[1], kind, s, &decode, trusted, u);
        }
        if d.toggles.model_rollout && !s.rollout.is_empty() {
            let path: Vec<Vec<f32>> = (0..=t_max).map(|t| decode(s.rollout_state(t))).collect();
            // The trusted part solid, the rest (sharing step k so the line is unbroken) faded.
            trajectory(
                &mut layers[2],
                kind,
                &path[..=trusted],
                palette::MODEL_ROLLOUT,
                u,
            );
            if trusted < t_max {
                let faded = palette::MODEL_ROLLOUT.with_alpha(palette::UNTRUSTED_ALPHA * 2);
                trajectory(&mut layers[2], kind, &path[trusted..], faded, u);
            }
        }
        if let Some(k) = d.trust_horizon.filter(|&k| k < t_max) {
            // Where trust ends: on the model rollout (the plan's prediction) or, without one, the virtual state.
            let at = if s.rollout.is_empty() {
                decode(s.state(k))
            } else {
                decode(s.rollout_state(k))
            };
            for p in anchors(kind, &at) {
                let ring = super::draw::circle_points(p, 12.0 * u);
                layers[5].polyline(&ring, palette::TRUST_END, 3.0 * u, true);
                layers[5].disc(p, 2.5 * u, palette::TRUST_END);
            }
        }
        if d.toggles.sim_rollout {
            if let Some(states) = d.sim_states {
                trajectory(&mut layers[2], kind, states, palette::SIM_ROLLOUT, u);
            }
        }
        if d.toggles.ribbon {
            let path: Vec<[f32; 2]> = (0..=t_max)
                .map(|t| anchors(kind, &decode(s.state(t)))[0])
                .collect();
            let levels: Vec<f32> = (0..=t_max)
                .map(|t| {
                    let r = s.residuals.get(t.saturating_sub(1)).copied().unwrap_or(0.0);
                    palette::residual_level(r, d.residual_scale)
                })
                .collect();
            layers[3].ribbon(&path, &levels, 7.0 * u);
        }
        if d.toggles.predictions {
            residuals(&mut layers[4], kind, s, &decode, d.residual_scale, u);
        }
    }

    if d.executed.len() > 1 {
        executed(&mut layers[2], kind, d.executed, u);
    }
    handles(&mut layers[5], kind, now, &d.problem.goal, u);
    let border = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    if d.diverged {
        layers[5].polyline(&border, palette::DIVERGED, 5.0 * u, true);
    } else if d.toggles.sync_flash && d.flash > 0.0 {
        let a = (d.flash.clamp(0.0, 1.0) * 230.0) as u8;
        layers[5].polyline(&border, palette::SYNC_FLASH.with_alpha(a), 5.0 * u, true);
    }
    layers
}

/// Ghost virtual states s_1..s_{T−1}; those past step `trusted` faded.
fn ghosts(
    m: &mut MeshBuf,
    kind: EnvKind,
    s: &Snapshot,
    decode: &dyn Fn(&[f32]) -> Vec<f32>,
    trusted: usize,
    u: f32,
) {
    let t_max = s.horizon;
    let states: Vec<Vec<f32>> = (1..t_max).map(|t| decode(s.state(t))).collect();
    for (t, state) in (1..t_max).zip(&states) {
        let color = palette::time_color(t, t_max);
        let fill = if t > trusted {
            palette::UNTRUSTED_ALPHA / 2
        } else {
            palette::GHOST_FILL_ALPHA
        };
        for shape in ghost_shapes(kind, state, color.with_alpha(fill)) {
            m.shape(&shape);
        }
    }
    // Opaque marker dots on top so the time colouring reads even where ghosts overlap (faded past trust).
    for (t, state) in (1..t_max).zip(&states) {
        let color = palette::time_color(t, t_max);
        let color = if t > trusted {
            color.with_alpha(palette::UNTRUSTED_ALPHA)
        } else {
            color
        };
        for p in anchors(kind, state) {
            m.disc(p, MARKER_RADIUS * u, color);
        }
    }
}

fn trajectory(m: &mut MeshBuf, kind: EnvKind, states: &[Vec<f32>], color: Rgba, u: f32) {
    let Some(last) = states.last() else { return };
    let n_anchors = anchors(kind, last).len();
    for a in 0..n_anchors {
        let path: Vec<[f32; 2]> = states.iter().map(|s| anchors(kind, s)[a]).collect();
        m.polyline(&path, color, 2.5 * u, false);
    }
    // The final pose as an outline, so a terminal miss is visible against the goal.
    for shape in ghost_shapes(kind, last, color) {
        match &shape {
            Shape::Polygon { points, .. } => m.polyline(points, color, 2.0 * u, true),
            Shape::Circle { center, radius, .. } => {
                let ring = super::draw::circle_points(*center, *radius);
                m.polyline(&ring, color, 2.0 * u, true);
            }
            Shape::Polyline { .. } => m.shape(&shape),
        }
    }
}

fn residuals(
    m: &mut MeshBuf,
    kind: EnvKind,
    s: &Snapshot,
    decode: &dyn Fn(&[f32]) -> Vec<f32>,
    scale: f32,
    u: f32,
) {
    for t in 0..s.horizon {
        let pred = decode(s.prediction(t));
        let next = decode(s.state(t + 1));
        let r = s.residuals.get(t).copied().unwrap_or(f32::NAN);
        let color = palette::residual_color(r, scale);
        for (p, q) in anchors(kind, &pred).into_iter().zip(anchors(kind, &next)) {
            m.segment(p, q, color, 2.0 * u);
            let ring = super::draw::circle_points(p, 3.0 * u);
            m.polyline(&ring, color, 1.2 * u, true);
        }
    }
}

/// The executed closed-loop trajectory: a thick solid line through every executed state's anchors, with a
/// dot at each replanning point.
fn executed(m: &mut MeshBuf, kind: EnvKind, states: &[Vec<f32>], u: f32) {
    let Some(last) = states.last() else { return };
    for a in 0..anchors(kind, last).len() {
        let path: Vec<[f32; 2]> = states.iter().map(|s| anchors(kind, s)[a]).collect();
        m.polyline(&path, palette::EXECUTED, 4.0 * u, false);
        for p in &path {
            m.disc(*p, 3.5 * u, palette::EXECUTED);
        }
    }
}

fn handles(m: &mut MeshBuf, kind: EnvKind, start: &[f32], goal: &[f32], u: f32) {
    for (state, color) in [(start, palette::START_MARKER), (goal, palette::GOAL_MARKER)] {
        for p in anchors(kind, state) {
            let ring = super::draw::circle_points(p, 9.0 * u);
            m.polyline(&ring, color, 2.0 * u, true);
        }
        if let Some(knob) = super::manip::rotation_knob(kind, state) {
            m.disc(knob, 5.0 * u, color);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testutil::snapshot;
    use crate::model::linear::LinearModel;
    use crate::plan::Phase;

    /// A linear 2-d model and a Wall problem from (10, 10) to (50, 50), H = 6.
    fn wall_case() -> (LinearModel, Problem) {
        let model = LinearModel::test_system(2, 2);
        let problem = Problem {
            env: EnvKind::Wall,
            start: vec![10.0, 10.0],
            goal: vec![50.0, 50.0],
            horizon: 6,
            seed: 0,
            reference_actions: None,
        };
        (model, problem)
    }

    /// A lane drawing with every overlay on, no flash, no simulator rollout and no trust horizon.
    fn plain<'a>(problem: &'a Problem, model: &'a LinearModel, snap: &'a Snapshot) -> LaneDraw<'a> {
        LaneDraw {
            problem,
            model,
            snapshot: Some(snap),
            sim_states: None,
            animated: None,
            executed: &[],
            toggles: OverlayToggles::default(),
            residual_scale: 1.0,
            flash: 0.0,
            diverged: false,
            trust_horizon: None,
        }
    }

    #[test]
    fn layers_carry_ghost_colours_and_valid_indices() {
        let (model, problem) = wall_case();
        let snap = snapshot(3, Phase::Sync, 6, 2);
        let d = LaneDraw {
            flash: 1.0,
            ..plain(&problem, &model, &snap)
        };
        let layers = build_layers(&d);
        for l in &layers {
            assert!(l.indices.iter().all(|&i| (i as usize) < l.positions.len()));
        }
        // Ghost marker dots use the time colours, opaque.
        let want = super::super::draw::linear(palette::time_color(3, 6));
        assert!(layers[Layer::Ghosts as usize].colors.contains(&want));
        assert!(!layers[Layer::Ribbon as usize].is_empty());
        assert!(!layers[Layer::Residuals as usize].is_empty());
        // The sync flash border is drawn.
        // Full flash intensity draws the border at alpha 230 (see `build_layers`).
        let flash = super::super::draw::linear(palette::SYNC_FLASH.with_alpha(230));
        assert!(layers[Layer::Handles as usize].colors.contains(&flash));
    }

    #[test]
    fn executed_trajectory_is_drawn_solid_and_moves_the_start() {
        let (model, problem) = wall_case();
        let snap = snapshot(3, Phase::Sync, 6, 2);
        let executed = vec![vec![10.0, 10.0], vec![14.0, 12.0], vec![18.0, 15.0]];
        let mut d = LaneDraw {
            executed: &executed,
            ..plain(&problem, &model, &snap)
        };
        let blue = super::super::draw::linear(palette::EXECUTED);
        let count = |layers: &[MeshBuf; 6]| {
            layers[Layer::Rollouts as usize]
                .colors
                .iter()
                .filter(|c| **c == blue)
                .count()
        };
        let closed = build_layers(&d);
        let n3 = count(&closed);
        assert!(n3 > 0);
        // The start handle is drawn at the current (last executed) state, not the problem's start.
        let handles_closed = closed[Layer::Handles as usize].positions.clone();
        d.executed = &executed[..2];
        let shorter = build_layers(&d);
        assert!(count(&shorter) < n3, "a longer executed path draws more");
        d.executed = &[];
        let open = build_layers(&d);
        assert_eq!(count(&open), 0);
        assert_ne!(open[Layer::Handles as usize].positions, handles_closed);
    }

    #[test]
    fn steps_past_the_trust_horizon_are_faded_and_the_end_is_ringed() {
        let (model, problem) = wall_case();
        let snap = snapshot(3, Phase::Sync, 6, 2);
        let mut d = plain(&problem, &model, &snap);
        let ring = super::super::draw::linear(palette::TRUST_END);
        let faded5 = super::super::draw::linear(
            palette::time_color(5, 6).with_alpha(palette::UNTRUSTED_ALPHA),
        );
        let solid5 = super::super::draw::linear(palette::time_color(5, 6));
        let none = build_layers(&d);
        assert!(!none[Layer::Handles as usize].colors.contains(&ring));
        assert!(none[Layer::Ghosts as usize].colors.contains(&solid5));
        d.trust_horizon = Some(2);
        let two = build_layers(&d);
        assert!(two[Layer::Handles as usize].colors.contains(&ring));
        let ghosts = &two[Layer::Ghosts as usize].colors;
        assert!(ghosts.contains(&faded5) && !ghosts.contains(&solid5));
        // Step 2 itself is trusted: drawn solid.
        let solid2 = super::super::draw::linear(palette::time_color(2, 6));
        assert!(ghosts.contains(&solid2));
        // Trusted to the end: no ring, nothing faded.
        d.trust_horizon = Some(6);
        let all = build_layers(&d);
        assert!(!all[Layer::Handles as usize].colors.contains(&ring));
        assert!(!all[Layer::Ghosts as usize].colors.contains(&faded5));
    }
}
