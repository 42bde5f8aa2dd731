//! The Bevy explorer app: watch a planner optimize Push-T (or PointMaze, Wall) through its world model,
//! scrub the history of iterations, change settings live, drag the start and goal, compare two planners,
//! save, open and export runs, and record the window.
//!
//! One small plugin per concern, wired together in [`run`]:
//! - `commands`: every action as one enum with its shortcuts (and the clash test);
//! - `worker`: the planner thread and its channel protocol; `session`: building planners from specs;
//!   `lanes`: one worker + history + status per compared planner; `rate`: iterations/s;
//! - `history`: the memory-bounded snapshot store; `timeline` / `timeline_ui`: cursor, playback, scrub bar;
//! - `view`: cameras, fitting, pan/zoom; `draw`, `envdraw`, `overlay_build`, `overlay`, `ribbon`: the scene
//!   and overlays (the ribbon is a custom WGSL shader, `shaders/ribbon.wgsl`); `simulate`: simulator
//!   rollouts off the UI thread; `manip`: dragging start and goal;
//! - `mpc`: closed-loop MPC mode (settings, where the episode stands, its status line); `mpc_files`: MPC runs
//!   in save/open;
//! - `ui`, `controls`, `plots`: the egui panels; `files`: save/open/export; `capture`: frame statistics
//!   and the screenshot test hook; `recording`: in-app video recording (R, `--record`).
//!
//! The UI never waits on the planner: workers send snapshots over bounded channels that drop the oldest
//! when the UI lags, and every file, simulator and encoder job runs on its own thread.

pub mod capture;
pub mod commands;
pub mod controls;
pub mod draw;
pub mod envdraw;
pub mod files;
pub mod history;
pub mod lanes;
pub mod manip;
pub mod mpc;
pub mod mpc_files;
pub mod overlay;
pub mod overlay_build;
pub mod params_diff;
pub mod plots;
pub mod rate;
pub mod recording;
pub mod ribbon;
pub mod run_spec;
pub mod session;
pub mod simulate;
pub mod timeline;
pub mod timeline_ui;
pub mod ui;
pub mod view;
pub mod worker;

#[cfg(test)]
mod testutil;

use std::path::PathBuf;

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_egui::{EguiGlobalSettings, EguiPlugin};
use bevy_pancam::PanCamPlugin;

use crate::env::EnvKind;
use crate::plan::PlannerKind;

use self::capture::CaptureConfig;
use self::history::HistoryConfig;
use self::lanes::{Lane, Lanes};
use self::worker::RunSpec;
use crate::bench::settings_source::{self, SettingsSource};

/// What the app opens with.
#[derive(Clone, Debug, PartialEq)]
pub struct AppConfig {
    /// Environment. Default Push-T.
    pub env: EnvKind,
    /// Planner preset (None = the env's measured best GRASP, [`settings_source::opening`]).
    pub planner: Option<PlannerKind>,
    /// Where its settings come from (None = the opening choice's, or preset defaults for a named planner).
    pub settings: Option<SettingsSource>,
    /// Horizon (None = the env's default, [`RunSpec::default_horizon`]).
    pub horizon: Option<usize>,
    /// Problem and planner seed. Default 0.
    pub seed: u64,
    /// Start comparing against this planner.
    pub compare: Option<PlannerKind>,
    /// Start in closed-loop MPC mode with [`mpc::app_mpc_settings`]. Default off.
    pub mpc: bool,
    /// Open this run file (scrub only, no optimizer).
    pub open: Option<PathBuf>,
    /// Test hook: write the window to this PNG after `exit_after` frames, then exit.
    pub screenshot: Option<PathBuf>,
    /// Test hook: frames to render before exiting.
    pub exit_after: Option<u64>,
    /// Start recording the window to this file at launch (stopped and finished at `exit_after`).
    pub record: Option<PathBuf>,
    /// Window size in logical pixels. Default 1280×800.
    pub window: (u32, u32),
    /// History memory settings.
    pub history: HistoryConfig,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            env: EnvKind::Pusht,
            planner: None,
            settings: None,
            horizon: None,
            seed: 0,
            compare: None,
            mpc: false,
            open: None,
            screenshot: None,
            exit_after: None,
            record: None,
            window: (1280, 800),
            history: HistoryConfig::default(),
        }
    }
}

impl AppConfig {
    /// The run the main lane starts with: without a planner, the env's measured best GRASP
    /// ([`settings_source::opening`]); a named planner starts from its preset defaults unless `settings` says
    /// otherwise.
    pub fn start_spec(&self) -> RunSpec {
        let (planner, settings) = match self.planner {
            Some(p) => (p, self.settings.unwrap_or_default()),
            None => {
                let (p, s) = settings_source::opening(self.env);
                (p, self.settings.unwrap_or(s))
            }
        };
        RunSpec {
            settings,
            horizon: self
                .horizon
                .unwrap_or_else(|| RunSpec::default_horizon(self.env)),
            mpc: self.mpc.then(mpc::app_mpc_settings),
            ..RunSpec::new(self.env, planner, self.seed)
        }
    }
}

/// Why the app could not run.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No X display to open a window on.
    #[error("{0}")]
    NoDisplay(String),
    /// A run file could not be opened.
    #[error("{0}")]
    Open(String),
    /// The app exited with an error (e.g. the screenshot could not be written).
    #[error("the app exited with an error (code {0})")]
    Exit(u8),
}

/// Why no window can open here, if so: `DISPLAY` unset, or a local X display that does not answer.
pub fn display_problem() -> Option<String> {
    let display = std::env::var("DISPLAY")
        .ok()
        .filter(|d| !d.trim().is_empty());
    let Some(d) = display else {
        return Some(
            "no display: DISPLAY is not set; run the app in a desktop session or under `xvfb-run -a`".into(),
        );
    };
    if let Some(rest) = d.strip_prefix(':') {
        let n = rest.split('.').next().unwrap_or("0");
        let socket = format!("/tmp/.X11-unix/X{n}");
        if std::os::unix::net::UnixStream::connect(&socket).is_err() {
            return Some(format!(
                "no display: cannot connect to X display {d} ({socket})"
            ));
        }
    }
    if !x_display_opens() {
        return Some(format!(
            "no display: the X server at {d} refused the connection (XOpenDisplay failed; check DISPLAY and XAUTHORITY)"
        ));
    }
    None
}

/// Whether Xlib can open (and close again) the display in `DISPLAY`, with the user's X authority, as winit
/// will. Without libX11 the question is left to winit (true). A server that was started a moment ago (e.g.
/// by `xvfb-run`) can refuse its first clients, so a refusal is retried for up to 3 s before it counts.
fn x_display_opens() -> bool {
    let Ok(xlib) = x11_dl::xlib::Xlib::open() else {
        return true;
    };
    for attempt in 0..30 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // SAFETY: XOpenDisplay with a null name reads DISPLAY; a non-null result is a valid connection that
        // is closed right away and not used otherwise.
        unsafe {
            let dpy = (xlib.XOpenDisplay)(std::ptr::null());
            if !dpy.is_null() {
                (xlib.XCloseDisplay)(dpy);
                return true;
            }
        }
    }
    false
}

/// Opens the window and runs until it is closed (or the test hook exits).
pub fn run(config: AppConfig) -> Result<(), AppError> {
    if let Some(why) = display_problem() {
        return Err(AppError::NoDisplay(why));
    }
    let opened = match &config.open {
        Some(p) => Some(files::open_run(p).map_err(AppError::Open)?),
        None => None,
    };
    let spec = config.start_spec();
    let builder = session::model_builder();
    let mut lanes = Lanes {
        lanes: Vec::new(),
        builder: builder.clone(),
        history: config.history,
        compare_planner: config.compare.unwrap_or(PlannerKind::Cem),
    };
    match opened {
        Some((info, snaps, mpc)) => {
            lanes
                .lanes
                .push(Lane::empty(info.spec.clone(), config.history));
            files::show_opened(&mut lanes, info, snaps, mpc);
        }
        None => {
            lanes.lanes.push(Lane::spawn(builder, spec, config.history));
            if config.compare.is_some() {
                lanes.toggle_compare();
            }
        }
    }
    let mut timeline = timeline::TimelineRes::default();
    if config.open.is_some() {
        timeline.0.play = timeline::PlayState::Paused;
        // A closed-loop run opens at its end, with the whole executed trajectory drawn.
        if let Some(main) = lanes.main().filter(|l| l.mpc.is_some()) {
            timeline
                .0
                .apply(commands::AppCommand::JumpEnd, &main.history);
        }
    }

    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "grasp-explorer".into(),
                    resolution: WindowResolution::new(config.window.0, config.window.1),
                    ..default()
                }),
                ..default()
            })
            .set(LogPlugin {
                filter: "warn,grasp_explorer=info,wgpu_hal=error,wgpu_core=error,naga=error".into(),
                ..default()
            }),
    )
    .add_plugins(EguiPlugin::default())
    .add_plugins(PanCamPlugin)
    .insert_resource(EguiGlobalSettings {
        auto_create_primary_context: false,
        ..default()
    })
    .insert_resource(lanes)
    .insert_resource(timeline)
    .insert_resource(CaptureConfig {
        screenshot: config.screenshot.clone(),
        exit_after: config.exit_after,
        record: config.record.clone(),
    })
    .init_resource::<files::FileJobsRes>()
    .add_plugins((
        commands::commands_plugin,
        ribbon::ribbon_plugin,
        view::view_plugin,
        timeline::timeline_plugin,
        overlay::overlay_plugin,
        manip::manip_plugin,
        ui::ui_plugin,
        capture::capture_plugin,
        recording::recording_plugin,
    ))
    .add_systems(
        Update,
        (
            lanes::pump_workers,
            lanes::optimizer_commands,
            files::file_commands,
        )
            .chain()
            .before(timeline::TimelineSystems),
    );
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(AppError::Exit(code.get())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_opens_with_each_envs_measured_grasp_and_a_named_planner_with_its_defaults() {
        for env in EnvKind::ALL {
            let spec = AppConfig {
                env,
                ..Default::default()
            }
            .start_spec();
            assert_eq!((spec.planner, spec.settings), settings_source::opening(env));
            assert_eq!(spec.horizon, RunSpec::default_horizon(env));
        }
        let spec = AppConfig {
            planner: Some(PlannerKind::Grasp),
            ..Default::default()
        }
        .start_spec();
        assert_eq!(
            (spec.planner, spec.settings),
            (PlannerKind::Grasp, SettingsSource::Preset)
        );
        assert_eq!(spec.start_params(), PlannerKind::Grasp.default_params());
        // `--settings` overrides the opening choice's source and keeps its planner.
        let spec = AppConfig {
            settings: Some(SettingsSource::Preset),
            ..Default::default()
        }
        .start_spec();
        let (opening_planner, opening_settings) = settings_source::opening(EnvKind::Pusht);
        assert_ne!(opening_settings, SettingsSource::Preset);
        assert_eq!(
            (spec.planner, spec.settings),
            (opening_planner, SettingsSource::Preset)
        );
        assert_eq!(spec.start_params(), opening_planner.default_params());
    }
}
