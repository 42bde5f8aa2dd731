//! Direct manipulation: drag the start or the goal to pose a new problem. Push-T has three handles per state
//! (the agent disc, the T block, and a rotation knob past the block's stem); PointMaze and Wall have the
//! point. While a handle is dragged the camera's pan is off and the view previews the new pose; on release
//! the lanes restart on the posed problem (an invalid pose is reported by the worker in the status line).

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_pancam::PanCam;

use crate::env::pusht::{distance_to_block, world_from_block, AGENT_RADIUS};
use crate::env::{EnvKind, Problem};

use super::commands::EguiFocus;
use super::draw::Frame;
use super::envdraw::{env_scene, unit};
use super::lanes::Lanes;
use super::timeline::TimelineRes;
use super::view::LaneCamera;
use super::worker::RunSpec;

/// Which state a handle moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The start state.
    Start,
    /// The goal state.
    Goal,
}

/// Which part of the state a handle moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Push-T agent disc, or the PointMaze/Wall point.
    Agent,
    /// Push-T block position.
    Block,
    /// Push-T block angle.
    Rotate,
}

/// A grabbed handle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Handle {
    /// Start or goal.
    pub which: Which,
    /// Which part.
    pub part: Part,
}

/// Block-local point of the Push-T rotation knob (past the stem's end).
pub const KNOB_LOCAL: [f32; 2] = [0.0, 140.0];

/// Where the rotation knob of `state` is drawn (Push-T only).
pub fn rotation_knob(kind: EnvKind, state: &[f32]) -> Option<[f32; 2]> {
    (kind == EnvKind::Pusht && state.len() >= 5)
        .then(|| world_from_block([state[2], state[3], state[4]], KNOB_LOCAL))
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// The handle under world point `p`, if any (knobs first, then agents, then blocks; start before goal).
pub fn hit(problem: &Problem, p: [f32; 2], u: f32) -> Option<Handle> {
    let kind = problem.env;
    let states = [(Which::Start, &problem.start), (Which::Goal, &problem.goal)];
    if kind == EnvKind::Pusht {
        for (which, s) in states {
            if rotation_knob(kind, s).is_some_and(|k| dist(k, p) <= 9.0 * u) {
                return Some(Handle {
                    which,
                    part: Part::Rotate,
                });
            }
        }
        for (which, s) in states {
            if dist([s[0], s[1]], p) <= AGENT_RADIUS {
                return Some(Handle {
                    which,
                    part: Part::Agent,
                });
            }
        }
        for (which, s) in states {
            if distance_to_block([s[2], s[3], s[4]], p) <= 0.0 {
                return Some(Handle {
                    which,
                    part: Part::Block,
                });
            }
        }
        return None;
    }
    states
        .into_iter()
        .find(|(_, s)| dist([s[0], s[1]], p) <= 12.0 * u)
        .map(|(which, _)| Handle {
            which,
            part: Part::Agent,
        })
}

/// Moves `handle` of `problem` so that the grabbed point follows the pointer from `from` to `to`.
/// Velocities of a posed state are zero.
pub fn drag(problem: &mut Problem, handle: Handle, from: [f32; 2], to: [f32; 2]) {
    let s = match handle.which {
        Which::Start => &mut problem.start,
        Which::Goal => &mut problem.goal,
    };
    let (dx, dy) = (to[0] - from[0], to[1] - from[1]);
    match (problem.env, handle.part) {
        (EnvKind::Pusht, Part::Agent) => {
            s[0] += dx;
            s[1] += dy;
        }
        (EnvKind::Pusht, Part::Block) => {
            s[2] += dx;
            s[3] += dy;
        }
        (EnvKind::Pusht, Part::Rotate) => {
            let knob_angle = KNOB_LOCAL[1].atan2(KNOB_LOCAL[0]);
            let theta = (to[1] - s[3]).atan2(to[0] - s[2]) - knob_angle;
            s[4] = theta.rem_euclid(std::f32::consts::TAU);
        }
        (_, _) => {
            s[0] += dx;
            s[1] += dy;
        }
    }
    let vel_from = match problem.env {
        EnvKind::Pusht => 5,
        EnvKind::Pointmaze => 2,
        EnvKind::Wall => s.len(),
    };
    for v in s.iter_mut().skip(vel_from) {
        *v = 0.0;
    }
}

/// The drag in progress and the posed problem awaiting its session.
#[derive(Resource, Default)]
pub struct DragState {
    /// Grabbed handle and the last pointer position (env world units).
    pub active: Option<(Handle, [f32; 2])>,
    /// The problem as posed so far (shown instead of the lane's problem).
    pub preview: Option<Problem>,
    /// Session id of the main lane when the pose was submitted (preview is dropped once it changes).
    pub submitted_from: Option<u64>,
}

/// Pointer position in env world units for the main lane's camera.
fn pointer_world(
    window: &Window,
    cameras: &Query<(&Camera, &GlobalTransform, &LaneCamera)>,
    frame: Frame,
) -> Option<[f32; 2]> {
    let cursor = window.cursor_position()?;
    let (camera, transform, _) = cameras.iter().find(|(_, _, l)| l.0 == 0)?;
    let p = camera.viewport_to_world_2d(transform, cursor).ok()?;
    Some(frame.world_from_bevy([p.x, p.y]))
}

/// Grabs, drags and releases handles.
#[allow(clippy::too_many_arguments)]
pub fn manipulate(
    buttons: Res<ButtonInput<MouseButton>>,
    window: Single<&Window, With<PrimaryWindow>>,
    cameras: Query<(&Camera, &GlobalTransform, &LaneCamera)>,
    focus: Res<EguiFocus>,
    timeline: Option<Res<TimelineRes>>,
    mut lanes: ResMut<Lanes>,
    mut state: ResMut<DragState>,
) {
    let Some(main) = lanes.main() else { return };
    let current_id = main.info.as_ref().map(|i| i.id);
    if state.submitted_from.is_some()
        && (current_id != state.submitted_from || main.status.message.is_some())
    {
        state.preview = None;
        state.submitted_from = None;
    }
    let Some(info) = main.info.clone() else {
        return;
    };
    if main.worker.is_none() {
        return; // an opened run file: nothing to re-plan
    }
    let scene = env_scene(info.problem.env, &info.problem.start, &info.problem.goal);
    let frame = Frame {
        y_down: scene.y_down,
    };
    let Some(p) = pointer_world(&window, &cameras, frame) else {
        return;
    };
    if buttons.just_pressed(MouseButton::Left) && !focus.pointer {
        let problem = state
            .preview
            .clone()
            .unwrap_or_else(|| info.problem.clone());
        // In MPC mode the start handle stands at the real state of the plan shown: grab it there (and a
        // dragged start restarts the episode from where it is dropped; the goal keeps the problem's start).
        let now = timeline.and_then(|t| main.mpc_start_state(t.0.cursor));
        let shown = match (&state.preview, now) {
            (None, Some(now)) => Problem {
                start: now.to_vec(),
                ..info.problem.clone()
            },
            _ => problem.clone(),
        };
        let u = unit(scene.bounds);
        if let Some(h) = hit(&shown, p, u).filter(|h| h.which == Which::Start) {
            state.active = Some((h, p));
            state.preview = Some(shown);
        } else if let Some(h) = hit(&problem, p, u).filter(|h| h.which == Which::Goal) {
            state.active = Some((h, p));
            state.preview = Some(problem);
        }
    }
    if let Some((h, last)) = state.active {
        if let Some(preview) = state.preview.as_mut() {
            drag(preview, h, last, p);
        }
        state.active = Some((h, p));
        if !buttons.pressed(MouseButton::Left) {
            state.active = None;
            if let Some(problem) = state.preview.clone() {
                let spec = RunSpec {
                    problem: Some(problem),
                    ..main_spec(&lanes)
                };
                state.submitted_from = current_id;
                lanes.start_all(spec);
            }
        }
    }
}

/// Camera panning and zooming only while the pointer is on the scene and no handle is dragged.
pub fn gate_pancam(focus: Res<EguiFocus>, drag: Res<DragState>, mut pancams: Query<&mut PanCam>) {
    let enabled = !focus.pointer && drag.active.is_none();
    for mut pc in &mut pancams {
        if pc.enabled != enabled {
            pc.enabled = enabled;
        }
    }
}

/// Registers dragging, before the camera moves.
pub fn manip_plugin(app: &mut App) {
    app.init_resource::<DragState>().add_systems(
        Update,
        (manipulate, gate_pancam)
            .chain()
            .before(bevy_pancam::PanCamSystems),
    );
}

fn main_spec(lanes: &Lanes) -> RunSpec {
    lanes
        .main()
        .map(|l| l.spec.clone())
        .unwrap_or_else(|| RunSpec::new(EnvKind::Pusht, crate::plan::PlannerKind::Grasp, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pusht() -> Problem {
        Problem {
            env: EnvKind::Pusht,
            start: vec![100.0, 100.0, 300.0, 300.0, 0.0, 5.0, 5.0],
            goal: vec![256.0, 400.0, 256.0, 256.0, 0.7, 0.0, 0.0],
            horizon: 10,
            seed: 0,
            reference_actions: None,
        }
    }

    #[test]
    fn handles_are_found_and_dragged() {
        let mut p = pusht();
        let h = hit(&p, [102.0, 98.0], 1.0).unwrap();
        assert_eq!(
            h,
            Handle {
                which: Which::Start,
                part: Part::Agent
            }
        );
        drag(&mut p, h, [102.0, 98.0], [152.0, 108.0]);
        assert_eq!(&p.start[..2], &[150.0, 110.0]);
        assert_eq!(&p.start[5..], &[0.0, 0.0], "posed velocities are zero");
        // Inside the start block's bar.
        let h = hit(&p, [300.0, 310.0], 1.0).unwrap();
        assert_eq!(h.part, Part::Block);
        // The knob rotates the block to point the stem at the pointer.
        let knob = rotation_knob(EnvKind::Pusht, &p.goal).unwrap();
        let h = hit(&p, knob, 1.0).unwrap();
        assert_eq!(
            h,
            Handle {
                which: Which::Goal,
                part: Part::Rotate
            }
        );
        drag(&mut p, h, knob, [256.0 + 100.0, 256.0]);
        let after = rotation_knob(EnvKind::Pusht, &p.goal).unwrap();
        assert!(
            (after[1] - 256.0).abs() < 1e-3 && after[0] > 256.0,
            "{after:?}"
        );
        assert!(hit(&p, [10.0, 500.0], 1.0).is_none());
    }

    #[test]
    fn maze_point_drags() {
        let mut p = Problem {
            env: EnvKind::Pointmaze,
            start: vec![0.8, 0.8, 1.0, -1.0],
            goal: vec![3.0, 3.0, 0.0, 0.0],
            horizon: 5,
            seed: 0,
            reference_actions: None,
        };
        let h = hit(&p, [0.81, 0.79], 0.01).unwrap();
        drag(&mut p, h, [0.81, 0.79], [0.91, 0.89]);
        assert!((p.start[0] - 0.9).abs() < 1e-5 && p.start[2] == 0.0);
    }
}
