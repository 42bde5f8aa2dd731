//! Every user action of the explorer as one [`AppCommand`] enum: its label, help text and keyboard shortcuts.
//! Keys, buttons and menu entries all send the same [`Invoke`] message, so the help overlay (F1 or ?) lists
//! exactly what the app does, and a unit test checks that no two commands share a shortcut.
//!
//! Shortcuts without Ctrl are ignored while a text field has keyboard focus (typing "2.5" into a slider's box
//! must not scrub the timeline), following the Rerun viewer's rule.

use bevy::input::keyboard::KeyCode;
use bevy::input::ButtonInput;
use bevy::prelude::*;

/// Modifier keys of a chord.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mods {
    /// Ctrl held.
    pub ctrl: bool,
    /// Shift held.
    pub shift: bool,
    /// Alt held.
    pub alt: bool,
}

impl Mods {
    /// No modifier.
    pub const NONE: Mods = Mods {
        ctrl: false,
        shift: false,
        alt: false,
    };
    /// Shift only.
    pub const SHIFT: Mods = Mods {
        ctrl: false,
        shift: true,
        alt: false,
    };
    /// Ctrl only.
    pub const CTRL: Mods = Mods {
        ctrl: true,
        shift: false,
        alt: false,
    };
    /// Ctrl+Shift.
    pub const CTRL_SHIFT: Mods = Mods {
        ctrl: true,
        shift: true,
        alt: false,
    };

    /// The modifiers currently held.
    pub fn held(keys: &ButtonInput<KeyCode>) -> Mods {
        Mods {
            ctrl: down(keys, [KeyCode::ControlLeft, KeyCode::ControlRight]),
            shift: down(keys, [KeyCode::ShiftLeft, KeyCode::ShiftRight]),
            alt: down(keys, [KeyCode::AltLeft, KeyCode::AltRight]),
        }
    }
}

/// A modifier counts as held if it is down or was released this frame (a quick chord may press and release
/// both keys between two frames of a slow, software-rendered window).
fn down(keys: &ButtonInput<KeyCode>, pair: [KeyCode; 2]) -> bool {
    keys.any_pressed(pair) || keys.any_just_released(pair)
}

/// One key with modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyChord {
    /// Modifiers that must be held (exactly).
    pub mods: Mods,
    /// The key.
    pub key: KeyCode,
}

const fn key(key: KeyCode) -> KeyChord {
    KeyChord {
        mods: Mods::NONE,
        key,
    }
}
const fn shift(key: KeyCode) -> KeyChord {
    KeyChord {
        mods: Mods::SHIFT,
        key,
    }
}
const fn ctrl(key: KeyCode) -> KeyChord {
    KeyChord {
        mods: Mods::CTRL,
        key,
    }
}
const fn ctrl_shift(key: KeyCode) -> KeyChord {
    KeyChord {
        mods: Mods::CTRL_SHIFT,
        key,
    }
}

/// A `&'static [KeyChord]` from const chord expressions.
macro_rules! chords {
    ($($c:expr),*) => {{
        const CHORDS: &[KeyChord] = &[$($c),*];
        CHORDS
    }};
}

impl KeyChord {
    /// Human-readable form, e.g. "Shift+←".
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.ctrl {
            s.push_str("Ctrl+");
        }
        if self.mods.alt {
            s.push_str("Alt+");
        }
        // "?" is Shift+/ on US layouts; show it as the user types it.
        if self.mods.shift && self.key == KeyCode::Slash {
            s.push('?');
            return s;
        }
        if self.mods.shift {
            s.push_str("Shift+");
        }
        s.push_str(&key_name(self.key));
        s
    }
}

fn key_name(key: KeyCode) -> String {
    match key {
        KeyCode::Space => "Space".into(),
        KeyCode::ArrowLeft => "←".into(),
        KeyCode::ArrowRight => "→".into(),
        KeyCode::ArrowUp => "↑".into(),
        KeyCode::ArrowDown => "↓".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Slash => "/".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::Period => ".".into(),
        KeyCode::Comma => ",".into(),
        other => {
            let dbg = format!("{other:?}");
            dbg.strip_prefix("Key")
                .or_else(|| dbg.strip_prefix("Digit"))
                .unwrap_or(&dbg)
                .to_string()
        }
    }
}

/// Every action a user can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Message)]
pub enum AppCommand {
    /// Timeline: play/pause playback of the history.
    TogglePlay,
    /// Timeline: one iteration back.
    StepBack,
    /// Timeline: one iteration forward.
    StepForward,
    /// Timeline: ten iterations back.
    StepBack10,
    /// Timeline: ten iterations forward.
    StepForward10,
    /// Timeline: first iteration.
    JumpStart,
    /// Timeline: newest iteration.
    JumpEnd,
    /// Timeline: follow the live optimizer.
    FollowLive,
    /// Optimizer: pause or resume.
    ToggleOptimizer,
    /// Optimizer: run exactly one iteration (while paused).
    SingleIteration,
    /// Optimizer: a new problem from the next seed.
    NewProblem,
    /// Optimizer: restart the current problem from iteration 0.
    RestartProblem,
    /// Execute the selected iteration's plan in the simulator and animate it.
    Execute,
    /// Record the window to a video (start/stop).
    ToggleRecord,
    /// Compare with a second planner on the same problem.
    ToggleCompare,
    /// Closed-loop MPC mode on or off (restarts the session).
    ToggleMpc,
    /// Overlay: ghost virtual states.
    ToggleGhosts,
    /// Overlay: one-step predictions and residual segments.
    TogglePredictions,
    /// Overlay: model rollout of the current actions.
    ToggleModelRollout,
    /// Overlay: simulator rollout of the current actions.
    ToggleSimRollout,
    /// Overlay: residual-coloured trajectory ribbon (shader).
    ToggleRibbon,
    /// Overlay: sync flash.
    ToggleSyncFlash,
    /// View: fit the camera to the env.
    FitView,
    /// Files: save the run.
    SaveRun,
    /// Files: open a run file (path in the Files panel).
    OpenRun,
    /// Files: export the selected plan as JSON.
    ExportJson,
    /// Files: export the selected plan as CSV.
    ExportCsv,
    /// Show or hide the help overlay.
    ToggleHelp,
}

impl AppCommand {
    /// Every command, in help-overlay order.
    pub const ALL: [AppCommand; 28] = [
        AppCommand::TogglePlay,
        AppCommand::StepBack,
        AppCommand::StepForward,
        AppCommand::StepBack10,
        AppCommand::StepForward10,
        AppCommand::JumpStart,
        AppCommand::JumpEnd,
        AppCommand::FollowLive,
        AppCommand::ToggleOptimizer,
        AppCommand::SingleIteration,
        AppCommand::NewProblem,
        AppCommand::RestartProblem,
        AppCommand::Execute,
        AppCommand::ToggleRecord,
        AppCommand::ToggleCompare,
        AppCommand::ToggleMpc,
        AppCommand::ToggleGhosts,
        AppCommand::TogglePredictions,
        AppCommand::ToggleModelRollout,
        AppCommand::ToggleSimRollout,
        AppCommand::ToggleRibbon,
        AppCommand::ToggleSyncFlash,
        AppCommand::FitView,
        AppCommand::SaveRun,
        AppCommand::OpenRun,
        AppCommand::ExportJson,
        AppCommand::ExportCsv,
        AppCommand::ToggleHelp,
    ];

    /// Short label for buttons and the help overlay.
    pub fn label(self) -> &'static str {
        match self {
            AppCommand::TogglePlay => "Play / pause timeline",
            AppCommand::StepBack => "Previous iteration",
            AppCommand::StepForward => "Next iteration",
            AppCommand::StepBack10 => "10 iterations back",
            AppCommand::StepForward10 => "10 iterations forward",
            AppCommand::JumpStart => "First iteration",
            AppCommand::JumpEnd => "Newest iteration",
            AppCommand::FollowLive => "Follow live",
            AppCommand::ToggleOptimizer => "Pause / resume optimizer",
            AppCommand::SingleIteration => "Single optimizer iteration",
            AppCommand::NewProblem => "New problem (next seed)",
            AppCommand::RestartProblem => "Restart problem",
            AppCommand::Execute => "Execute plan in simulator",
            AppCommand::ToggleRecord => "Record video",
            AppCommand::ToggleCompare => "Compare planners",
            AppCommand::ToggleMpc => "MPC mode (closed loop)",
            AppCommand::ToggleGhosts => "Ghost virtual states",
            AppCommand::TogglePredictions => "Predictions + residuals",
            AppCommand::ToggleModelRollout => "Model rollout",
            AppCommand::ToggleSimRollout => "Simulator rollout",
            AppCommand::ToggleRibbon => "Residual ribbon",
            AppCommand::ToggleSyncFlash => "Sync flash",
            AppCommand::FitView => "Fit view",
            AppCommand::SaveRun => "Save run",
            AppCommand::OpenRun => "Open run",
            AppCommand::ExportJson => "Export plan (JSON)",
            AppCommand::ExportCsv => "Export plan (CSV)",
            AppCommand::ToggleHelp => "Help",
        }
    }

    /// One-line explanation for tooltips and the help overlay.
    pub fn help(self) -> &'static str {
        match self {
            AppCommand::TogglePlay => "Play the recorded iterations like a video; again to pause",
            AppCommand::StepBack | AppCommand::StepForward => {
                "Move the timeline cursor by one iteration"
            }
            AppCommand::StepBack10 | AppCommand::StepForward10 => {
                "Move the timeline cursor by ten iterations"
            }
            AppCommand::JumpStart => "Show iteration 0",
            AppCommand::JumpEnd => "Show the newest iteration (without following)",
            AppCommand::FollowLive => {
                "Keep the cursor on the newest iteration as the optimizer runs"
            }
            AppCommand::ToggleOptimizer => {
                "Pause or resume the planner thread (the timeline stays live)"
            }
            AppCommand::SingleIteration => "Run one planner iteration, then stay paused",
            AppCommand::NewProblem => "Generate a new start and goal from the next seed",
            AppCommand::RestartProblem => "Start the same problem again with the current settings",
            AppCommand::Execute => {
                "Run the selected plan open-loop in the simulator and animate it"
            }
            AppCommand::ToggleRecord => "Start or stop recording the window to MP4/GIF",
            AppCommand::ToggleCompare => "Run a second planner on the same problem, side by side",
            AppCommand::ToggleMpc => {
                "Restart as a closed-loop episode: execute a step in the simulator, replan from the real state"
            }
            AppCommand::ToggleGhosts => "Virtual states s_1..s_{T-1}, coloured by time step",
            AppCommand::TogglePredictions => {
                "One-step predictions F(s_t, a_t) and residual segments to s_{t+1}"
            }
            AppCommand::ToggleModelRollout => "Serial world-model rollout of the current actions",
            AppCommand::ToggleSimRollout => "Simulator rollout of the current actions",
            AppCommand::ToggleRibbon => "Virtual-state path coloured by dynamics residual",
            AppCommand::ToggleSyncFlash => {
                "Flash the view when the selected iteration is a sync step"
            }
            AppCommand::FitView => "Fit the camera to the environment",
            AppCommand::SaveRun => {
                "Save the run (all kept iterations) to the path in the Files panel"
            }
            AppCommand::OpenRun => {
                "Open the run file named in the Files panel, to scrub without optimizing"
            }
            AppCommand::ExportJson => {
                "Write the selected iteration's env-unit actions and states as JSON"
            }
            AppCommand::ExportCsv => {
                "Write the selected iteration's env-unit actions and states as CSV"
            }
            AppCommand::ToggleHelp => "Show this list",
        }
    }

    /// Keyboard shortcuts.
    pub fn shortcuts(self) -> &'static [KeyChord] {
        use KeyCode as K;
        match self {
            AppCommand::TogglePlay => chords!(key(K::Space)),
            AppCommand::StepBack => chords!(key(K::ArrowLeft)),
            AppCommand::StepForward => chords!(key(K::ArrowRight)),
            AppCommand::StepBack10 => chords!(shift(K::ArrowLeft)),
            AppCommand::StepForward10 => chords!(shift(K::ArrowRight)),
            AppCommand::JumpStart => chords!(key(K::Home)),
            AppCommand::JumpEnd => chords!(key(K::End)),
            AppCommand::FollowLive => chords!(key(K::KeyF)),
            AppCommand::ToggleOptimizer => chords!(key(K::KeyP)),
            AppCommand::SingleIteration => chords!(key(K::KeyN)),
            AppCommand::NewProblem => chords!(ctrl(K::KeyN)),
            AppCommand::RestartProblem => chords!(key(K::Backspace)),
            AppCommand::Execute => chords!(key(K::KeyE)),
            AppCommand::ToggleRecord => chords!(key(K::KeyR)),
            AppCommand::ToggleCompare => chords!(key(K::KeyC)),
            AppCommand::ToggleMpc => chords!(key(K::KeyM)),
            AppCommand::ToggleGhosts => chords!(key(K::Digit1)),
            AppCommand::TogglePredictions => chords!(key(K::Digit2)),
            AppCommand::ToggleModelRollout => chords!(key(K::Digit3)),
            AppCommand::ToggleSimRollout => chords!(key(K::Digit4)),
            AppCommand::ToggleRibbon => chords!(key(K::Digit5)),
            AppCommand::ToggleSyncFlash => chords!(key(K::Digit6)),
            AppCommand::FitView => chords!(key(K::KeyZ)),
            AppCommand::SaveRun => chords!(ctrl(K::KeyS)),
            AppCommand::OpenRun => chords!(ctrl(K::KeyO)),
            AppCommand::ExportJson => chords!(ctrl(K::KeyE)),
            AppCommand::ExportCsv => chords!(ctrl_shift(K::KeyE)),
            AppCommand::ToggleHelp => chords!(key(K::F1), shift(K::Slash)),
        }
    }

    /// The shortcuts as text, e.g. "F1 / ?".
    pub fn shortcut_text(self) -> String {
        let labels: Vec<String> = self.shortcuts().iter().map(KeyChord::label).collect();
        labels.join(" / ")
    }

    /// The command a chord triggers, if any.
    pub fn for_chord(chord: KeyChord) -> Option<AppCommand> {
        AppCommand::ALL
            .into_iter()
            .find(|c| c.shortcuts().contains(&chord))
    }
}

/// Commands triggered by this frame's key presses. `text_focus`: a text field has keyboard focus, so chords
/// without Ctrl are left to it.
pub fn commands_from_keys(keys: &ButtonInput<KeyCode>, text_focus: bool) -> Vec<AppCommand> {
    let mods = Mods::held(keys);
    if text_focus && !mods.ctrl {
        return Vec::new();
    }
    keys.get_just_pressed()
        .filter_map(|&key| AppCommand::for_chord(KeyChord { mods, key }))
        .collect()
}

/// Whether egui currently owns the keyboard (a text field has focus). Written by the panels system.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct EguiFocus {
    /// A text field (or other keyboard widget) has focus.
    pub keyboard: bool,
    /// The pointer is over an egui panel or egui is dragging.
    pub pointer: bool,
}

fn keyboard_shortcuts(
    keys: Res<ButtonInput<KeyCode>>,
    focus: Res<EguiFocus>,
    mut out: MessageWriter<AppCommand>,
) {
    for cmd in commands_from_keys(&keys, focus.keyboard) {
        out.write(cmd);
    }
}

/// Registers the command message and the keyboard dispatcher.
pub fn commands_plugin(app: &mut App) {
    app.add_message::<AppCommand>()
        .init_resource::<EguiFocus>()
        .add_systems(
            PreUpdate,
            keyboard_shortcuts.after(bevy::input::InputSystems),
        );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn no_two_commands_share_a_shortcut() {
        let mut seen: HashMap<KeyChord, AppCommand> = HashMap::new();
        for cmd in AppCommand::ALL {
            assert!(!cmd.shortcuts().is_empty(), "{cmd:?} has no shortcut");
            for chord in cmd.shortcuts() {
                if let Some(other) = seen.insert(*chord, cmd) {
                    panic!("{} is bound to both {other:?} and {cmd:?}", chord.label());
                }
            }
        }
    }

    #[test]
    fn all_lists_every_command_once() {
        let mut set = std::collections::HashSet::new();
        for cmd in AppCommand::ALL {
            assert!(set.insert(cmd), "{cmd:?} listed twice");
            assert!(!cmd.label().is_empty() && !cmd.help().is_empty());
        }
    }

    #[test]
    fn issue_keys_are_bound() {
        let k = |m: Mods, key| AppCommand::for_chord(KeyChord { mods: m, key });
        assert_eq!(k(Mods::NONE, KeyCode::Space), Some(AppCommand::TogglePlay));
        assert_eq!(
            k(Mods::NONE, KeyCode::ArrowLeft),
            Some(AppCommand::StepBack)
        );
        assert_eq!(
            k(Mods::SHIFT, KeyCode::ArrowRight),
            Some(AppCommand::StepForward10)
        );
        assert_eq!(k(Mods::NONE, KeyCode::Home), Some(AppCommand::JumpStart));
        assert_eq!(k(Mods::NONE, KeyCode::End), Some(AppCommand::JumpEnd));
        assert_eq!(k(Mods::NONE, KeyCode::KeyF), Some(AppCommand::FollowLive));
        assert_eq!(k(Mods::NONE, KeyCode::KeyR), Some(AppCommand::ToggleRecord));
        assert_eq!(k(Mods::NONE, KeyCode::KeyM), Some(AppCommand::ToggleMpc));
        assert_eq!(k(Mods::NONE, KeyCode::F1), Some(AppCommand::ToggleHelp));
        assert_eq!(k(Mods::SHIFT, KeyCode::Slash), Some(AppCommand::ToggleHelp));
        assert_eq!(AppCommand::ToggleHelp.shortcut_text(), "F1 / ?");
        assert_eq!(AppCommand::StepBack10.shortcut_text(), "Shift+←");
    }

    #[test]
    fn keys_are_ignored_while_a_text_field_has_focus() {
        let mut keys = ButtonInput::<KeyCode>::default();
        keys.press(KeyCode::Space);
        assert_eq!(
            commands_from_keys(&keys, false),
            vec![AppCommand::TogglePlay]
        );
        assert!(commands_from_keys(&keys, true).is_empty());
        let mut keys = ButtonInput::<KeyCode>::default();
        keys.press(KeyCode::ControlLeft);
        keys.press(KeyCode::KeyS);
        assert_eq!(commands_from_keys(&keys, true), vec![AppCommand::SaveRun]);
    }

    #[test]
    fn shortcut_dispatch_runs_in_a_headless_app() {
        let mut app = App::new();
        app.init_resource::<ButtonInput<KeyCode>>();
        commands_plugin(&mut app);
        app.world_mut()
            .resource_mut::<ButtonInput<KeyCode>>()
            .press(KeyCode::ArrowRight);
        app.update();
        let msgs = app.world().resource::<Messages<AppCommand>>();
        let mut cursor = msgs.get_cursor();
        let got: Vec<AppCommand> = cursor.read(msgs).copied().collect();
        assert_eq!(got, vec![AppCommand::StepForward]);
    }
}
