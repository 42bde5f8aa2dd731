//! The side panel: env, planner, horizon, seed and "new problem"; the running planner's settings as sliders
//! and switches applied live (each change becomes a parameter marker on the timeline); comparison; overlay
//! switches; files. Plain state struct plus `*_ui` functions, in the egui-demo style.

use bevy_egui::egui;

use crate::env::EnvKind;
use crate::plan::{PlannerKind, PlannerParams, StateStep, SyncMode};

use super::commands::AppCommand;
use super::lanes::Lanes;
use super::overlay_build::OverlayToggles;
use super::worker::RunSpec;
use crate::bench::settings_source::SettingsSource;

/// Editable state of the side panel.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlsState {
    /// Parameters being edited (reset to the lane's whenever those change).
    pub draft: Option<PlannerParams>,
    /// The lane's parameters when `draft` was last reset.
    pub seen: Option<PlannerParams>,
    /// Path for save/open.
    pub run_path: String,
    /// Path for plan exports (the extension picks JSON or CSV).
    pub export_path: String,
    /// Path for recordings (.mp4 or .gif).
    pub record_path: String,
    /// Record the scene only (no panels).
    pub record_scene_only: bool,
}

impl Default for ControlsState {
    fn default() -> Self {
        ControlsState {
            draft: None,
            seen: None,
            run_path: "grasp-run.jsonl".into(),
            export_path: "grasp-plan.json".into(),
            record_path: "grasp-recording.mp4".into(),
            record_scene_only: false,
        }
    }
}

/// True when a widget's edit should be applied now: a drag ended, a typed value was confirmed (focus left the
/// field), or a click changed it — never on every keystroke or drag step, so each edit is one timeline marker.
fn committed(r: &egui::Response) -> bool {
    r.drag_stopped() || r.lost_focus() || (r.changed() && !r.dragged() && !r.has_focus())
}

/// The side panel's contents. Returns commands for buttons that duplicate shortcuts.
pub fn controls_ui(
    ui: &mut egui::Ui,
    lanes: &mut Lanes,
    state: &mut ControlsState,
    overlays: &mut OverlayToggles,
    out: &mut Vec<AppCommand>,
) {
    let Some(main) = lanes.main() else { return };
    let mut spec = main.spec.clone();
    let live = main.worker.is_some();
    let lane_params = main.params.clone();
    let mut restart = None;

    ui.heading("Problem");
    // Always enabled: on a run opened from a file, any of these starts planning again.
    ui.scope(|ui| {
        egui::ComboBox::from_label("env")
            .selected_text(spec.env.name())
            .show_ui(ui, |ui| {
                for env in EnvKind::ALL {
                    if ui.selectable_label(spec.env == env, env.name()).clicked() && env != spec.env
                    {
                        restart = Some(RunSpec {
                            horizon: RunSpec::default_horizon(env),
                            problem: None,
                            params: None,
                            settings: spec.settings,
                            mpc: spec.mpc.clone(),
                            ..RunSpec::new(env, spec.planner, spec.seed)
                        });
                    }
                }
            });
        egui::ComboBox::from_label("planner")
            .selected_text(spec.planner.name())
            .show_ui(ui, |ui| {
                for kind in PlannerKind::ALL {
                    if ui
                        .selectable_label(spec.planner == kind, kind.name())
                        .clicked()
                        && kind != spec.planner
                    {
                        restart = Some(RunSpec {
                            planner: kind,
                            params: None,
                            ..spec.clone()
                        });
                    }
                }
            });
        egui::ComboBox::from_label("settings")
            .selected_text(spec.settings.name())
            .show_ui(ui, |ui| {
                for source in SettingsSource::ALL {
                    if ui
                        .selectable_label(spec.settings == source, source.name())
                        .clicked()
                        && source != spec.settings
                    {
                        restart = Some(RunSpec {
                            settings: source,
                            params: None,
                            ..spec.clone()
                        });
                    }
                }
            })
            .response
            .on_hover_text(
                "preset defaults: the preset's own settings (grasp = the paper's reference); \
                 tuned: what `tune` chose for the benchmark tables (assets/tuned/<env>.json)",
            );
        ui.horizontal(|ui| {
            let r = ui.add(
                egui::DragValue::new(&mut spec.horizon)
                    .range(1..=200)
                    .prefix("H "),
            );
            if committed(&r) || r.lost_focus() {
                restart = Some(spec.clone());
            }
            let r = ui.add(egui::DragValue::new(&mut spec.seed).prefix("seed "));
            if committed(&r) || r.lost_focus() {
                restart = Some(RunSpec {
                    problem: None,
                    ..spec.clone()
                });
            }
        });
        ui.horizontal(|ui| {
            button(ui, AppCommand::NewProblem, "New problem", out);
            button(ui, AppCommand::RestartProblem, "Restart", out);
        });
        // The MPC switch: restarts the problem as a closed-loop episode (or back to open loop).
        let mut mpc_on = spec.mpc.is_some();
        let r = ui
            .checkbox(&mut mpc_on, "MPC: closed loop (M)")
            .on_hover_text(AppCommand::ToggleMpc.help());
        if r.changed() {
            out.push(AppCommand::ToggleMpc);
        }
        ui.horizontal(|ui| {
            let running = lanes.main().is_some_and(|l| l.running);
            button(
                ui,
                AppCommand::ToggleOptimizer,
                if running { "Pause" } else { "Resume" },
                out,
            );
            button(ui, AppCommand::SingleIteration, "Step", out);
            button(ui, AppCommand::Execute, "Execute", out);
        });
        ui.label(
            egui::RichText::new(
                "Drag the start (dark rings) or goal (green rings) to pose a problem.",
            )
            .small(),
        );
    });

    ui.separator();
    ui.heading(format!("{} settings", lane_params.family().to_uppercase()));
    if state.seen.as_ref() != Some(&lane_params) {
        state.draft = Some(lane_params.clone());
        state.seen = Some(lane_params.clone());
    }
    if let Some(draft) = state.draft.as_mut() {
        let apply = ui.add_enabled_ui(live, |ui| params_ui(ui, draft)).inner;
        if apply && *draft != lane_params {
            let p = draft.clone();
            if let Some(l) = lanes.main_mut() {
                l.set_params(p);
            }
        }
    }

    ui.separator();
    ui.heading("Compare");
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("compare_planner")
            .selected_text(lanes.compare_planner.name())
            .show_ui(ui, |ui| {
                for kind in PlannerKind::ALL {
                    ui.selectable_value(&mut lanes.compare_planner, kind, kind.name());
                }
            });
        let label = if lanes.comparing() {
            "Stop"
        } else {
            "Side by side"
        };
        ui.add_enabled_ui(live, |ui| button(ui, AppCommand::ToggleCompare, label, out));
    });

    ui.separator();
    ui.heading("Overlays");
    let OverlayToggles {
        ghosts,
        predictions,
        model_rollout,
        sim_rollout,
        ribbon,
        sync_flash,
    } = overlays;
    ui.checkbox(ghosts, "ghost virtual states (1)");
    ui.checkbox(predictions, "predictions + residuals (2)");
    ui.checkbox(model_rollout, "model rollout (3)");
    ui.checkbox(sim_rollout, "simulator rollout (4)");
    ui.checkbox(ribbon, "residual ribbon (5)");
    ui.checkbox(sync_flash, "sync flash (6)");

    ui.separator();
    ui.heading("Files");
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut state.run_path).desired_width(150.0));
        button(ui, AppCommand::SaveRun, "Save", out);
        button(ui, AppCommand::OpenRun, "Open", out);
    });
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut state.export_path).desired_width(150.0));
        button(ui, AppCommand::ExportJson, "JSON", out);
        button(ui, AppCommand::ExportCsv, "CSV", out);
    });
    ui.horizontal(|ui| {
        ui.add(egui::TextEdit::singleline(&mut state.record_path).desired_width(150.0));
        button(ui, AppCommand::ToggleRecord, "Record", out);
    });
    ui.checkbox(&mut state.record_scene_only, "record the scene only");

    if let Some(spec) = restart {
        lanes.start_all(spec);
    }
}

fn button(ui: &mut egui::Ui, cmd: AppCommand, text: &str, out: &mut Vec<AppCommand>) {
    let tip = format!("{} ({})", cmd.help(), cmd.shortcut_text());
    if ui.button(text).on_hover_text(tip).clicked() {
        out.push(cmd);
    }
}

/// Sliders and switches of a planner's settings; true when an edit should be applied now.
pub fn params_ui(ui: &mut egui::Ui, params: &mut PlannerParams) -> bool {
    let mut apply = false;
    let mut add = |ui: &mut egui::Ui, w: egui::Slider<'_>, tip: &str| {
        let r = ui.add(w).on_hover_text(tip);
        apply |= committed(&r);
    };
    match params {
        PlannerParams::Grasp(p) => {
            add(
                ui,
                egui::Slider::new(&mut p.noise, 0.0..=0.5)
                    .logarithmic(true)
                    .text("σ"),
                "state noise std after each step",
            );
            add(
                ui,
                egui::Slider::new(&mut p.sync_every, 1..=500)
                    .logarithmic(true)
                    .text("K_sync"),
                "sync every K iterations",
            );
            add(
                ui,
                egui::Slider::new(&mut p.sync_steps, 1..=100).text("J_sync"),
                "steps per sync",
            );
            add(
                ui,
                egui::Slider::new(&mut p.lr_states, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("lr_s"),
                "lr of the virtual states: Adam's rate, or η_s of the gradient step (0.5 = exact Jacobi sweep)",
            );
            add(
                ui,
                egui::Slider::new(&mut p.lr_actions, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("lr_a"),
                "Adam lr of the actions",
            );
            add(
                ui,
                egui::Slider::new(&mut p.goal_weight, 0.0..=10.0).text("γ"),
                "weight of the dense goal term",
            );
            add(
                ui,
                egui::Slider::new(&mut p.sync_lr, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("lr_sync"),
                "Adam lr of a GD sync",
            );
            ui.horizontal(|ui| {
                ui.label("state step");
                apply |= ui
                    .radio_value(&mut p.state_step, StateStep::Adam, "Adam")
                    .changed();
                apply |= ui
                    .radio_value(&mut p.state_step, StateStep::Gradient, "gradient")
                    .on_hover_text(
                        "the paper's plain step on the states; lr_s 0.5 puts each on F(s̄, a)",
                    )
                    .changed();
            });
            ui.horizontal(|ui| {
                ui.label("sync mode");
                apply |= ui
                    .radio_value(&mut p.sync_mode, SyncMode::Gd, "GD")
                    .changed();
                apply |= ui
                    .radio_value(&mut p.sync_mode, SyncMode::Cem, "CEM")
                    .changed();
            });
            apply |= ui.checkbox(&mut p.noise_enabled, "noise").changed();
            apply |= ui.checkbox(&mut p.sync_enabled, "sync").changed();
            let mut stop_grad = !p.state_gradients;
            if ui.checkbox(&mut stop_grad, "stop-grad on states").changed() {
                p.state_gradients = !stop_grad;
                apply = true;
            }
            apply |= ui
                .checkbox(&mut p.goal_shaping, "dense goal shaping")
                .changed();
        }
        PlannerParams::Cem(p) => {
            add(
                ui,
                egui::Slider::new(&mut p.samples, 2..=2000)
                    .logarithmic(true)
                    .text("samples"),
                "samples per iteration",
            );
            let max_k = p.samples.max(1);
            add(
                ui,
                egui::Slider::new(&mut p.topk, 1..=max_k).text("elites"),
                "elites kept",
            );
            add(
                ui,
                egui::Slider::new(&mut p.init_std, 1e-3..=3.0)
                    .logarithmic(true)
                    .text("σ₀"),
                "initial std",
            );
            add(
                ui,
                egui::Slider::new(&mut p.min_std, 0.0..=1.0).text("min σ"),
                "floor on the elite std",
            );
        }
        PlannerParams::Gd(p) => {
            add(
                ui,
                egui::Slider::new(&mut p.lr, 1e-4..=10.0)
                    .logarithmic(true)
                    .text("lr"),
                "learning rate",
            );
            add(
                ui,
                egui::Slider::new(&mut p.action_noise, 0.0..=0.5)
                    .logarithmic(true)
                    .text("action noise"),
                "noise on the actions after each step",
            );
            apply |= ui.checkbox(&mut p.adam, "Adam").changed();
        }
        PlannerParams::Latco(p) => {
            add(
                ui,
                egui::Slider::new(&mut p.lr_states, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("lr_s"),
                "Adam lr of the states",
            );
            add(
                ui,
                egui::Slider::new(&mut p.lr_actions, 1e-4..=1.0)
                    .logarithmic(true)
                    .text("lr_a"),
                "Adam lr of the actions",
            );
        }
    }
    apply
}

#[cfg(test)]
#[path = "controls_tests.rs"]
mod tests;
