//! The egui layer: one system lays out every panel in order (status bar on top, controls left, plots right,
//! timeline bottom), hands the remaining rectangle to the scene cameras, and draws the floating pieces —
//! help overlay (F1 or ?), execute verdict, recording indicator, messages. It also records whether egui owns
//! the keyboard or pointer so shortcuts and camera panning stand aside.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{egui, EguiContexts, EguiPrimaryContextPass};

use crate::plan::Phase;

use super::capture::FrameStats;
use super::commands::{AppCommand, EguiFocus};
use super::controls::{controls_ui, ControlsState};
use super::lanes::Lanes;
use super::overlay::{Overlays, ViewState};
use super::plots::plots_ui;
use super::recording::Recorder;
use super::timeline::TimelineRes;
use super::timeline_ui::timeline_ui;
use super::view::SceneRect;

/// A message shown in the status bar for a while.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    /// Text (one line).
    pub text: String,
    /// An error (red) or information.
    pub error: bool,
    /// Seconds left.
    pub ttl: f32,
}

/// UI state that is not the timeline's or the lanes'.
#[derive(Resource, Default)]
pub struct UiState {
    /// Side panel state.
    pub controls: ControlsState,
    /// Help overlay open.
    pub help: bool,
    /// Messages.
    pub toasts: Vec<Toast>,
}

impl UiState {
    /// Shows `text` for a few seconds.
    pub fn toast(&mut self, text: impl Into<String>, error: bool) {
        let text = text.into();
        self.toasts.retain(|t| t.text != text);
        self.toasts.push(Toast {
            text,
            error,
            ttl: if error { 10.0 } else { 6.0 },
        });
    }
}

/// Everything the panels read or change.
#[derive(SystemParam)]
pub struct Panels<'w> {
    lanes: ResMut<'w, Lanes>,
    timeline: ResMut<'w, TimelineRes>,
    overlays: ResMut<'w, Overlays>,
    ui: ResMut<'w, UiState>,
    view: Res<'w, ViewState>,
    rect: ResMut<'w, SceneRect>,
    stats: Res<'w, FrameStats>,
    recorder: Res<'w, Recorder>,
    focus: ResMut<'w, EguiFocus>,
    time: Res<'w, Time>,
}

fn status_ui(ui: &mut egui::Ui, p: &Panels<'_>) {
    let Some(main) = p.lanes.main() else { return };
    ui.horizontal_wrapped(|ui| {
        let cursor = p.timeline.0.cursor;
        for (i, lane) in p.lanes.lanes.iter().enumerate() {
            if i > 0 {
                ui.separator();
            }
            let snap = lane.at(cursor);
            let phase = snap.map_or("–".to_string(), |s| {
                format!("{:?}", s.phase).to_lowercase()
            });
            let state = if lane.worker.is_none() {
                "file (no optimizer)"
            } else if lane.status.diverged.is_some() {
                "diverged"
            } else if lane.status.finished {
                "finished"
            } else if lane.running {
                "running"
            } else {
                "paused"
            };
            let rate = lane.rate.rate(std::time::Instant::now());
            ui.strong(lane.spec.planner.name())
                .on_hover_text("planner preset · where its starting settings came from");
            ui.monospace(lane.spec.settings_label());
            ui.monospace(format!(
                "it {} · {phase} · {rate:.0} it/s · {state}",
                snap.map_or(0, |s| s.iteration)
            ));
            if let Some(t) = lane.info.as_ref().and_then(|info| p.view.trust(i, info.id)) {
                let c = if t.trust_horizon >= t.horizon() {
                    egui::Color32::from_rgb(120, 230, 120)
                } else {
                    trust_color()
                };
                ui.colored_label(c, t.status_line()).on_hover_text(format!(
                    "the ensemble's members agree within {:.2} (env units) up to this step",
                    t.threshold
                ));
            }
            if let Some(s) = snap.filter(|s| s.phase == Phase::Sync) {
                ui.colored_label(
                    egui::Color32::from_rgb(255, 176, 0),
                    format!("SYNC @{}", s.iteration),
                );
            }
            if let Some(m) = &lane.mpc {
                let c = match (m.view.success_step, m.view.done) {
                    (Some(_), _) => egui::Color32::from_rgb(120, 230, 120),
                    (None, true) => egui::Color32::from_rgb(255, 110, 110),
                    (None, false) => egui::Color32::from_rgb(120, 160, 255),
                };
                ui.colored_label(c, m.status_line());
            } else if lane.spec.mpc.is_some() {
                ui.monospace("MPC (starting)");
            }
            if let Some((it, _)) = &lane.status.diverged {
                ui.colored_label(
                    egui::Color32::from_rgb(220, 30, 30),
                    format!("diverged at {it}"),
                );
            }
        }
        ui.separator();
        ui.monospace(format!(
            "frame {:.1} ms (p95 {:.1}) · kept {} of {} ({:.0} MB)",
            p.stats.median_ms(),
            p.stats.p95_ms(),
            main.history.len(),
            main.history.received(),
            main.history.bytes() as f64 / 1048576.0
        ));
        if let Some(rec) = p.recorder.status_text() {
            ui.colored_label(egui::Color32::from_rgb(230, 40, 40), rec);
        }
    });
    for t in &p.ui.toasts {
        let c = if t.error {
            egui::Color32::from_rgb(255, 110, 110)
        } else {
            egui::Color32::from_rgb(170, 220, 170)
        };
        ui.colored_label(c, &t.text);
    }
    for lane in &p.lanes.lanes {
        if let Some(m) = &lane.status.message {
            ui.colored_label(egui::Color32::from_rgb(255, 110, 110), m);
        }
        if let Some(m) = lane.info.as_ref().and_then(|i| i.trust.problem.as_ref()) {
            ui.colored_label(
                egui::Color32::from_rgb(255, 110, 110),
                format!("no trust horizon: {m}"),
            );
        }
    }
}

fn trust_color() -> egui::Color32 {
    let c = crate::record::palette::TRUST_END;
    egui::Color32::from_rgb(c.0, c.1, c.2)
}

fn help_ui(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Help — keys and actions")
        .open(open)
        .collapsible(false)
        .resizable(true)
        .default_width(520.0)
        .show(ctx, |ui| {
            egui::Grid::new("help").striped(true).show(ui, |ui| {
                for cmd in AppCommand::ALL {
                    ui.monospace(cmd.shortcut_text());
                    ui.label(cmd.label());
                    ui.label(egui::RichText::new(cmd.help()).small());
                    ui.end_row();
                }
            });
            ui.separator();
            ui.label("Mouse: drag empty space to pan, wheel to zoom; drag the start (dark rings) or goal (green rings) to pose a problem; on Push-T the small disc past the T's stem rotates it.");
            ui.label("Keys without Ctrl are ignored while a text field has focus.");
        });
}

fn verdict_ui(ctx: &egui::Context, view: &ViewState, rect: egui::Rect) {
    let Some(ex) = view.execution.as_ref().filter(|e| e.done()) else {
        return;
    };
    let r = &ex.result;
    let (text, color) = if r.success {
        (
            format!("SUCCESS — final distance {:.2}", r.final_distance),
            egui::Color32::from_rgb(60, 200, 90),
        )
    } else {
        (
            format!("MISS — final distance {:.2}", r.final_distance),
            egui::Color32::from_rgb(240, 80, 60),
        )
    };
    egui::Area::new("verdict".into())
        .fixed_pos(rect.center_top() + egui::vec2(-120.0, 12.0))
        .show(ctx, |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.label(egui::RichText::new(text).size(20.0).color(color));
            });
        });
}

/// Lays out all panels.
pub fn panels_system(
    mut contexts: EguiContexts,
    window: Single<&Window, With<PrimaryWindow>>,
    mut p: Panels,
    mut out: MessageWriter<AppCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let dt = p.time.delta_secs();
    p.ui.toasts.retain_mut(|t| {
        t.ttl -= dt;
        t.ttl > 0.0
    });
    let mut cmds: Vec<AppCommand> = Vec::new();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    egui::Panel::top("status").show(&mut root, |ui| status_ui(ui, &p));
    egui::Panel::bottom("timeline").show(&mut root, |ui| {
        let Panels {
            lanes, timeline, ..
        } = &mut p;
        if let Some(main) = lanes.main() {
            let replans = main
                .mpc
                .as_ref()
                .map_or(&[][..], |m| m.view.plan_starts.as_slice());
            timeline_ui(ui, &mut timeline.0, &main.history, replans, &mut cmds);
        }
    });
    egui::Panel::left("controls")
        .default_size(300.0)
        .resizable(true)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                let Panels {
                    lanes,
                    ui: state,
                    overlays,
                    ..
                } = &mut p;
                controls_ui(ui, lanes, &mut state.controls, &mut overlays.0, &mut cmds);
                ui.separator();
                if ui.button("Help (F1)").clicked() {
                    cmds.push(AppCommand::ToggleHelp);
                }
            });
        });
    egui::Panel::right("plots")
        .default_size(360.0)
        .resizable(true)
        .show(&mut root, |ui| {
            let cursor = p.timeline.0.cursor;
            let trust: Vec<_> = p
                .lanes
                .lanes
                .iter()
                .enumerate()
                .map(|(i, l)| l.info.as_ref().and_then(|info| p.view.trust(i, info.id)))
                .collect();
            if let Some(it) = plots_ui(ui, &p.lanes, &trust, cursor) {
                p.timeline.0.scrub_to(it);
            }
        });
    let free = root.available_rect_before_wrap();
    let scale = window.scale_factor();
    let min = (free.min.to_vec2() * scale).max(egui::Vec2::ZERO);
    let size = (free.size() * scale).max(egui::Vec2::ZERO);
    let rect = SceneRect {
        min: UVec2::new(min.x as u32, min.y as u32),
        size: UVec2::new(size.x as u32, size.y as u32),
    };
    if *p.rect != rect {
        *p.rect = rect;
    }
    for c in &cmds {
        if *c == AppCommand::ToggleHelp {
            p.ui.help = !p.ui.help;
        }
    }
    let mut help = p.ui.help;
    help_ui(&ctx, &mut help);
    p.ui.help = help;
    verdict_ui(&ctx, &p.view, free);
    p.focus.keyboard = ctx.text_edit_focused();
    // Our panels live on the background layer, so egui's own "pointer over egui" cannot see them: the
    // pointer belongs to egui when it is outside the free scene rectangle, over a window or popup, or
    // dragging a widget.
    let pointer = ctx.input(|i| i.pointer.hover_pos());
    p.focus.pointer = ctx.dragged_id().is_some()
        || pointer.is_some_and(|pos| {
            !free.contains(pos)
                || ctx
                    .layer_id_at(pos)
                    .is_some_and(|l| l.order != egui::Order::Background)
        });
    for c in cmds {
        if c != AppCommand::ToggleHelp {
            out.write(c);
        }
    }
    Ok(())
}

/// Help toggled by its shortcut.
fn help_shortcut(mut cmds: MessageReader<AppCommand>, mut ui: ResMut<UiState>) {
    for c in cmds.read() {
        if *c == AppCommand::ToggleHelp {
            ui.help = !ui.help;
        }
    }
}

/// Registers the panels.
pub fn ui_plugin(app: &mut App) {
    app.init_resource::<UiState>()
        .add_systems(Update, help_shortcut)
        .add_systems(EguiPrimaryContextPass, panels_system);
}
