//! The side panel driven through egui's accessibility tree (egui_kittest), as a user clicks it.
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::Harness;

use super::*;
use crate::plan::GraspParams;

/// A harness around `params_ui` over GRASP defaults; the bool records whether an edit asked to apply.
fn grasp_panel() -> Harness<'static, (PlannerParams, bool)> {
    Harness::new_ui_state(
        |ui, state: &mut (PlannerParams, bool)| {
            state.1 |= params_ui(ui, &mut state.0);
        },
        (PlannerParams::Grasp(GraspParams::default()), false),
    )
}

/// The GRASP settings in the panel's state.
fn grasp(state: &(PlannerParams, bool)) -> &GraspParams {
    match &state.0 {
        PlannerParams::Grasp(p) => p,
        other => panic!("expected GRASP params, got {other:?}"),
    }
}

#[test]
fn switches_flip_the_grasp_ablations_and_apply_at_once() {
    let mut h = grasp_panel();
    h.run();
    assert!(!h.state().1, "nothing edited yet");
    for label in ["noise", "sync", "stop-grad on states", "dense goal shaping"] {
        h.get_by_label(label).click();
        h.run();
    }
    let p = grasp(h.state());
    assert!(h.state().1, "a click applies immediately");
    assert!(!p.noise_enabled && !p.sync_enabled && !p.goal_shaping);
    assert!(
        p.state_gradients,
        "unticking stop-grad turns state gradients on"
    );
}

#[test]
fn state_step_radio_selects_the_gradient_step() {
    let mut h = grasp_panel();
    h.run();
    h.get_by_label("gradient").click();
    h.run();
    assert!(h.state().1);
    assert_eq!(grasp(h.state()).state_step, StateStep::Gradient);
}

#[test]
fn sync_mode_radio_selects_cem_sync() {
    let mut h = grasp_panel();
    h.run();
    assert_eq!(grasp(h.state()).sync_mode, SyncMode::Gd);
    h.get_by_label("CEM").click();
    h.run();
    assert_eq!(grasp(h.state()).sync_mode, SyncMode::Cem);
    assert!(h.state().1);
}

#[test]
fn the_mpc_switch_sends_the_mpc_command_and_shows_the_mode() {
    use crate::app::history::HistoryConfig;
    use crate::app::lanes::Lane;
    type State = (Lanes, ControlsState, OverlayToggles, Vec<AppCommand>);
    let lanes = |mpc: bool| Lanes {
        lanes: vec![Lane::empty(
            RunSpec {
                mpc: mpc.then(crate::app::mpc::app_mpc_settings),
                ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, 1)
            },
            HistoryConfig::default(),
        )],
        builder: crate::app::testutil::toy_builder(),
        history: HistoryConfig::default(),
        compare_planner: PlannerKind::Cem,
    };
    let harness = |mpc: bool| {
        Harness::new_ui_state(
            |ui, s: &mut State| {
                let (lanes, controls, overlays, out) = s;
                egui::ScrollArea::vertical()
                    .show(ui, |ui| controls_ui(ui, lanes, controls, overlays, out));
            },
            (
                lanes(mpc),
                ControlsState::default(),
                OverlayToggles::default(),
                Vec::new(),
            ),
        )
    };
    let mut h = harness(false);
    h.run();
    h.get_by_label("MPC: closed loop (M)").click();
    h.run();
    assert_eq!(h.state().3, vec![AppCommand::ToggleMpc]);
    // In MPC mode the switch is on; clicking it asks to go back to open loop (the same command).
    let mut h = harness(true);
    h.run();
    let node = h.get_by_label("MPC: closed loop (M)");
    assert_eq!(
        node.accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    node.click();
    h.run();
    assert_eq!(h.state().3, vec![AppCommand::ToggleMpc]);
}

#[test]
fn the_settings_selector_restarts_with_the_tuned_settings() {
    use crate::app::history::HistoryConfig;
    use crate::app::lanes::Lane;
    use crate::bench::settings_source::params_for;
    type State = (Lanes, ControlsState, OverlayToggles, Vec<AppCommand>);
    let lanes = Lanes {
        lanes: vec![Lane::empty(
            RunSpec::new(EnvKind::Pusht, PlannerKind::Grasp, 1),
            HistoryConfig::default(),
        )],
        builder: crate::app::testutil::toy_builder(),
        history: HistoryConfig::default(),
        compare_planner: PlannerKind::Cem,
    };
    let mut h = Harness::new_ui_state(
        |ui, s: &mut State| {
            let (lanes, controls, overlays, out) = s;
            egui::ScrollArea::vertical()
                .show(ui, |ui| controls_ui(ui, lanes, controls, overlays, out));
        },
        (
            lanes,
            ControlsState::default(),
            OverlayToggles::default(),
            Vec::new(),
        ),
    );
    h.run();
    let main = |h: &Harness<'_, State>| h.state().0.main().unwrap().spec.clone();
    assert_eq!(main(&h).settings, SettingsSource::Preset);
    h.get_by_label("settings").click();
    h.run();
    h.get_by_label("tuned").click();
    h.run();
    let spec = main(&h);
    assert_eq!(spec.settings, SettingsSource::Tuned);
    assert_eq!(
        spec.params, None,
        "a new source starts from its own settings"
    );
    // Push-T's tuned GRASP differs from the reference defaults (Wall's and PointMaze's coincide with them).
    let tuned = params_for(EnvKind::Pusht, PlannerKind::Grasp, SettingsSource::Tuned).0;
    assert_eq!(spec.start_params(), tuned);
    assert_ne!(tuned, PlannerKind::Grasp.default_params());
}
