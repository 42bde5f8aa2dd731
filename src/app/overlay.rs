//! The scene in the window: one mesh entity per (lane, layer), rebuilt from `overlay_build` whenever what it
//! shows changes — the selected iteration, the overlay toggles, a new simulator rollout, the execute
//! animation or a drag preview. Also owns the simulator thread requests, the sync flash and the "execute"
//! animation with its success/miss verdict.

use std::sync::Arc;

use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;

use crate::model::trust_model::PlanTrust;
use crate::plan::Phase;

use super::commands::AppCommand;
use super::lanes::Lanes;
use super::manip::DragState;
use super::overlay_build::{build_layers, LaneDraw, Layer, OverlayToggles};
use super::ribbon::RibbonMaterial;
use super::simulate::{SimRequest, SimResult, SimThread};
use super::timeline::TimelineRes;
use super::view::MAX_LANES;

/// Overlay switches (a resource so commands and checkboxes share it).
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overlays(pub OverlayToggles);

/// One (lane, layer) mesh entity.
#[derive(Component, Clone, Copy, Debug)]
pub struct LayerMesh {
    /// Lane index.
    pub lane: usize,
    /// Layer.
    pub layer: Layer,
}

/// The execute animation of one lane's plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    /// Lane.
    pub lane: usize,
    /// Simulator result being animated.
    pub result: SimResult,
    /// Seconds since the animation started.
    pub elapsed: f32,
}

/// Env steps shown per second while executing.
pub const EXECUTE_STEPS_PER_S: f32 = 50.0;
/// Seconds the verdict stays after the animation ends.
pub const VERDICT_HOLD_S: f32 = 4.0;
/// Seconds a sync flash takes to fade.
pub const FLASH_FADE_S: f32 = 0.6;

/// Per-lane view state: simulator results, flash, execute animation.
#[derive(Resource, Default)]
pub struct ViewState {
    /// Background simulator (None if its thread could not start).
    pub sim: Option<SimThread>,
    /// Newest simulator result per lane.
    pub sim_results: [Option<SimResult>; MAX_LANES],
    /// What was last requested per lane (session, iteration, start state bits — MPC plans start elsewhere).
    requested: [Option<(u64, usize, Vec<u32>)>; MAX_LANES],
    /// Flash intensity per lane.
    pub flash: [f32; MAX_LANES],
    /// Iteration shown last frame per lane (for detecting passed syncs).
    last_shown: [Option<(u64, usize)>; MAX_LANES],
    /// The running execute animation.
    pub execution: Option<Execution>,
    /// Execute was asked before the simulator result was ready.
    execute_pending: bool,
    /// Last built draw key per lane.
    keys: [Option<DrawKey>; MAX_LANES],
}

impl ViewState {
    /// The ensemble's verdict on the plan lane `lane` shows for session `session` (its newest simulator
    /// answer; None without a trust model or before the answer arrives).
    pub fn trust(&self, lane: usize, session: u64) -> Option<&PlanTrust> {
        self.sim_results
            .get(lane)?
            .as_ref()
            .filter(|r| r.session == session && r.error.is_none())?
            .trust
            .as_ref()
    }
}

#[derive(Clone, Debug, PartialEq)]
struct DrawKey {
    session: u64,
    iteration: Option<usize>,
    toggles: OverlayToggles,
    /// The simulator answer drawn: session, iteration and its start state's bits (MPC replans start elsewhere).
    sim: Option<(u64, usize, Vec<u32>)>,
    anim_step: Option<usize>,
    preview: Option<Vec<u32>>,
    flash: u8,
    diverged: bool,
    executed: usize,
}

fn spawn_layers(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut colors: ResMut<Assets<ColorMaterial>>,
    mut ribbons: ResMut<Assets<RibbonMaterial>>,
) {
    let plain = colors.add(ColorMaterial::default());
    for lane in 0..MAX_LANES {
        // One ribbon material per lane: its uniform carries that lane's sync flash.
        let ribbon = ribbons.add(RibbonMaterial::default());
        for layer in Layer::ALL {
            let mesh = meshes.add(Mesh::from(Rectangle::new(0.0, 0.0)));
            let mut e = commands.spawn((
                Mesh2d(mesh),
                Transform::from_xyz(0.0, 0.0, layer as u8 as f32),
                RenderLayers::layer(lane),
                LayerMesh { lane, layer },
            ));
            if layer == Layer::Ribbon {
                e.insert(MeshMaterial2d(ribbon.clone()));
            } else {
                e.insert(MeshMaterial2d(plain.clone()));
            }
        }
    }
}

/// Asks the simulator for the shown plans and collects its answers; updates flashes.
fn simulate_and_flash(
    time: Res<Time>,
    lanes: Res<Lanes>,
    timeline: Res<TimelineRes>,
    mut view: ResMut<ViewState>,
) {
    let dt = time.delta_secs();
    let view = view.as_mut();
    if let Some(sim) = view.sim.as_ref() {
        for r in sim.results() {
            let lane = r.lane;
            if lane < MAX_LANES {
                view.sim_results[lane] = Some(r);
            }
        }
    }
    for (i, lane) in lanes.lanes.iter().enumerate().take(MAX_LANES) {
        let (Some(info), Some(snap)) = (lane.info.as_ref(), lane.at(timeline.0.cursor)) else {
            continue;
        };
        // MPC mode: the shown plan starts from the real state its replan observed (part of the key, so a
        // rollout simulated before the lane learned of a replan is redone).
        let mut problem = info.problem.clone();
        if let Some(now) = lane.mpc_start_state(snap.iteration) {
            problem.start = now.to_vec();
        }
        let key = (
            info.id,
            snap.iteration,
            problem
                .start
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<u32>>(),
        );
        if view.requested[i].as_ref() != Some(&key) {
            if let Some(sim) = view.sim.as_ref() {
                sim.request(SimRequest {
                    lane: i,
                    session: info.id,
                    iteration: snap.iteration,
                    problem,
                    model: Arc::clone(&info.model),
                    actions: snap.actions.clone(),
                    trust: info.trust.model.clone(),
                });
            }
            view.requested[i] = Some(key);
        }
        // Flash: on a shown sync iteration, or a sync passed since last frame — but only while the cursor
        // moves slowly enough (≤ 10 iterations per frame) for a flash to mean one sync, not a strobe.
        let prev = view.last_shown[i]
            .filter(|(s, _)| *s == info.id)
            .map(|(_, it)| it);
        let passed_sync = match prev {
            Some(p) if p < snap.iteration && snap.iteration - p <= 10 => {
                lane.history.sync_between(p, snap.iteration)
            }
            _ => false,
        };
        view.flash[i] = if passed_sync || snap.phase == Phase::Sync {
            1.0
        } else {
            (view.flash[i] - dt / FLASH_FADE_S).max(0.0)
        };
        view.last_shown[i] = Some((info.id, snap.iteration));
    }
}

/// Starts the execute animation of lane 0's shown plan (or as soon as its simulator result arrives).
fn execute(
    time: Res<Time>,
    mut cmds: MessageReader<AppCommand>,
    lanes: Res<Lanes>,
    timeline: Res<TimelineRes>,
    mut view: ResMut<ViewState>,
) {
    if cmds.read().any(|c| *c == AppCommand::Execute) {
        view.execute_pending = true;
        view.execution = None;
    }
    let current = lanes
        .main()
        .and_then(|l| Some((l.info.as_ref()?.id, l.at(timeline.0.cursor)?.iteration)));
    if view.execute_pending {
        let ready = view.sim_results[0]
            .as_ref()
            .filter(|r| Some((r.session, r.iteration)) == current && r.error.is_none());
        if let Some(r) = ready.cloned() {
            view.execution = Some(Execution {
                lane: 0,
                result: r,
                elapsed: 0.0,
            });
            view.execute_pending = false;
        }
    }
    let dt = time.delta_secs();
    if let Some(ex) = view.execution.as_mut() {
        ex.elapsed += dt;
        let total = ex.result.env_states.len() as f32 / EXECUTE_STEPS_PER_S + VERDICT_HOLD_S;
        if ex.elapsed > total {
            view.execution = None;
        }
    }
}

impl Execution {
    /// Env step shown now (clamped to the last).
    pub fn step(&self) -> usize {
        ((self.elapsed * EXECUTE_STEPS_PER_S) as usize)
            .min(self.result.env_states.len().saturating_sub(1))
    }

    /// The animation has reached the final state.
    pub fn done(&self) -> bool {
        self.step() + 1 >= self.result.env_states.len()
    }
}

/// Rebuilds the meshes of lanes whose picture changed.
#[allow(clippy::too_many_arguments)]
fn rebuild(
    lanes: Res<Lanes>,
    timeline: Res<TimelineRes>,
    overlays: Res<Overlays>,
    drag: Res<DragState>,
    mut view: ResMut<ViewState>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut ribbons: ResMut<Assets<RibbonMaterial>>,
    layers: Query<(&LayerMesh, &Mesh2d, Option<&MeshMaterial2d<RibbonMaterial>>)>,
    mut visibility: Query<(&LayerMesh, &mut Visibility)>,
) {
    for (lm, mut vis) in &mut visibility {
        let want = if lm.lane < lanes.lanes.len() {
            Visibility::Inherited
        } else {
            Visibility::Hidden
        };
        vis.set_if_neq(want);
    }
    let view = view.as_mut();
    for (i, lane) in lanes.lanes.iter().enumerate().take(MAX_LANES) {
        let Some(info) = lane.info.as_ref() else {
            continue;
        };
        let snap = lane.at(timeline.0.cursor);
        // While following live the simulator answers a frame or two behind the cursor; show its newest
        // answer for this session (exact once the cursor stops).
        let sim = view.sim_results[i]
            .as_ref()
            .filter(|r| r.session == info.id && r.error.is_none());
        let anim = view.execution.as_ref().filter(|e| e.lane == i);
        let preview = if i == 0 { drag.preview.as_ref() } else { None };
        // A drag preview draws the bodies at the dragged start, not at the episode's real state.
        let executed = match (preview, snap) {
            (None, Some(s)) => lane.mpc_executed_until(s.iteration),
            _ => &[][..],
        };
        let key = DrawKey {
            session: info.id,
            iteration: snap.map(|s| s.iteration),
            toggles: overlays.0,
            sim: sim.map(|r| {
                let start = r.env_states.first().map_or(&[][..], Vec::as_slice);
                (
                    r.session,
                    r.iteration,
                    start.iter().map(|v| v.to_bits()).collect(),
                )
            }),
            anim_step: anim.map(Execution::step),
            preview: preview.map(|p| p.start.iter().chain(&p.goal).map(|v| v.to_bits()).collect()),
            flash: (view.flash[i] * 20.0) as u8,
            diverged: lane.status.diverged.is_some(),
            executed: executed.len(),
        };
        if view.keys[i].as_ref() == Some(&key) {
            continue;
        }
        let problem = preview.unwrap_or(&info.problem);
        let animated = anim.and_then(|e| e.result.env_states.get(e.step()).map(Vec::as_slice));
        let d = LaneDraw {
            problem,
            model: info.model.as_ref(),
            snapshot: snap.map(|s| s.as_ref()),
            sim_states: sim.map(|r| r.env_states.as_slice()),
            animated,
            executed,
            toggles: overlays.0,
            residual_scale: lane.residual_scale,
            flash: view.flash[i],
            diverged: lane.status.diverged.is_some(),
            trust_horizon: sim.and_then(|r| r.trust.as_ref()).map(|t| t.trust_horizon),
        };
        let built = build_layers(&d);
        for (lm, mesh, ribbon) in &layers {
            if lm.lane != i {
                continue;
            }
            let buf = built[lm.layer as usize].clone();
            meshes.insert(mesh.0.id(), buf.into_mesh()).ok();
            if let Some(r) = ribbon.and_then(|h| ribbons.get_mut(h.0.id())) {
                let mut r = r;
                r.params.y = if overlays.0.sync_flash {
                    view.flash[i]
                } else {
                    0.0
                };
            }
        }
        view.keys[i] = Some(key);
    }
}

/// Overlay toggles from commands.
fn toggle_overlays(mut cmds: MessageReader<AppCommand>, mut overlays: ResMut<Overlays>) {
    for c in cmds.read() {
        let t = &mut overlays.0;
        match c {
            AppCommand::ToggleGhosts => t.ghosts = !t.ghosts,
            AppCommand::TogglePredictions => t.predictions = !t.predictions,
            AppCommand::ToggleModelRollout => t.model_rollout = !t.model_rollout,
            AppCommand::ToggleSimRollout => t.sim_rollout = !t.sim_rollout,
            AppCommand::ToggleRibbon => t.ribbon = !t.ribbon,
            AppCommand::ToggleSyncFlash => t.sync_flash = !t.sync_flash,
            _ => {}
        }
    }
}

/// Spawns the layer entities and the simulator thread; rebuilds meshes every frame as needed.
pub fn overlay_plugin(app: &mut App) {
    let sim = match SimThread::spawn() {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("simulator thread did not start: {e}");
            None
        }
    };
    app.insert_resource(ViewState { sim, ..default() })
        .init_resource::<Overlays>()
        .add_systems(Startup, spawn_layers)
        .add_systems(
            Update,
            (toggle_overlays, simulate_and_flash, execute, rebuild)
                .chain()
                .after(super::timeline::TimelineSystems),
        );
}
