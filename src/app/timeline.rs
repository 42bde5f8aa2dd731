//! Timeline state: which iteration is shown and how the cursor moves — paused, playing back the history like
//! a video, or following the live optimizer (Rerun's play states). Scrubbing only moves the cursor; the
//! optimizer keeps running. Plain data driven by [`AppCommand`]s and frame time, unit-tested without Bevy;
//! the egui panel that draws it lives in `timeline_ui`, the Bevy system that drives it at the bottom.

use bevy::prelude::*;

use super::commands::AppCommand;
use super::history::History;
use super::lanes::Lanes;

/// How the cursor moves by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayState {
    /// Stays where the user put it.
    Paused,
    /// Advances through the history at `speed` iterations per second.
    Playing,
    /// Sticks to the newest iteration as it arrives.
    Following,
}

/// Playback speeds offered (iterations per second), roughly 1-2-5 steps.
pub const SPEEDS: [f32; 11] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];

/// The whole playback state (one struct, like Rerun's `TimePanel` blueprint).
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// The iteration the user asked to see (the view shows the kept snapshot at or before it).
    pub cursor: usize,
    /// Paused, playing or following live.
    pub play: PlayState,
    /// Playback speed, iterations per second. > 0, default 50.
    pub speed: f32,
    /// Playback wraps to the first iteration at the end. Default on.
    pub looping: bool,
    /// Fractional iterations accumulated during playback.
    carry: f32,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            cursor: 0,
            play: PlayState::Following,
            speed: 50.0,
            looping: true,
            carry: 0.0,
        }
    }
}

impl Timeline {
    /// Applies a timeline command; returns false for commands that are not the timeline's.
    pub fn apply(&mut self, cmd: AppCommand, history: &History) -> bool {
        let (Some(first), Some(newest)) = (history.first(), history.newest()) else {
            return matches!(cmd, AppCommand::FollowLive) && {
                self.play = PlayState::Following;
                true
            };
        };
        match cmd {
            AppCommand::TogglePlay => {
                self.play = match self.play {
                    PlayState::Playing | PlayState::Following => PlayState::Paused,
                    PlayState::Paused => {
                        if self.cursor >= newest {
                            self.cursor = first;
                        }
                        self.carry = 0.0;
                        PlayState::Playing
                    }
                };
            }
            AppCommand::StepBack => self.step(history, -1),
            AppCommand::StepForward => self.step(history, 1),
            AppCommand::StepBack10 => self.step(history, -10),
            AppCommand::StepForward10 => self.step(history, 10),
            AppCommand::JumpStart => {
                self.play = PlayState::Paused;
                self.cursor = first;
            }
            AppCommand::JumpEnd => {
                self.play = PlayState::Paused;
                self.cursor = newest;
            }
            AppCommand::FollowLive => {
                self.play = PlayState::Following;
                self.cursor = newest;
            }
            _ => return false,
        }
        true
    }

    fn step(&mut self, history: &History, steps: isize) {
        self.play = PlayState::Paused;
        if let Some(it) = history.step_from(self.cursor, steps) {
            self.cursor = it;
        }
    }

    /// The user dragged the slider to `iteration`: pause playback there (the optimizer keeps running).
    pub fn scrub_to(&mut self, iteration: usize) {
        self.play = PlayState::Paused;
        self.cursor = iteration;
    }

    /// Advances by `dt` seconds of frame time.
    pub fn tick(&mut self, dt: f32, history: &History) {
        let (Some(first), Some(newest)) = (history.first(), history.newest()) else {
            return;
        };
        match self.play {
            PlayState::Paused => self.cursor = self.cursor.clamp(first, newest),
            PlayState::Following => self.cursor = newest,
            PlayState::Playing => {
                self.carry += dt.max(0.0) * self.speed;
                let whole = self.carry.floor();
                self.carry -= whole;
                let next = self.cursor.saturating_add(whole as usize);
                if next > newest {
                    if self.looping && newest > first {
                        self.cursor = first;
                    } else {
                        self.cursor = newest;
                        self.play = PlayState::Paused;
                    }
                } else {
                    self.cursor = next;
                }
            }
        }
    }

    /// One speed step faster (`up`) or slower through [`SPEEDS`].
    pub fn change_speed(&mut self, up: bool) {
        let idx = SPEEDS
            .iter()
            .position(|&s| s >= self.speed)
            .unwrap_or(SPEEDS.len() - 1);
        let idx = if up {
            (idx + 1).min(SPEEDS.len() - 1)
        } else {
            idx.saturating_sub(1)
        };
        self.speed = SPEEDS[idx];
    }
}

/// The app's timeline (one, shared by all lanes; stepping follows the main lane's history).
#[derive(Resource, Clone, Debug, Default)]
pub struct TimelineRes(pub Timeline);

fn timeline_system(
    time: Res<Time>,
    mut cmds: MessageReader<AppCommand>,
    lanes: Res<Lanes>,
    mut timeline: ResMut<TimelineRes>,
) {
    let Some(history) = lanes.main().map(|l| &l.history) else {
        return;
    };
    for c in cmds.read() {
        timeline.0.apply(*c, history);
    }
    timeline.0.tick(time.delta_secs(), history);
}

/// The system set that moves the cursor (after the workers are drained, before the scene is built).
#[derive(SystemSet, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimelineSystems;

/// Moves the cursor every frame.
pub fn timeline_plugin(app: &mut App) {
    app.init_resource::<TimelineRes>()
        .add_systems(Update, timeline_system.in_set(TimelineSystems));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::history::HistoryConfig;
    use crate::app::testutil::snapshot;
    use crate::plan::Phase;
    use std::sync::Arc;

    fn history(n: usize) -> History {
        let mut h = History::new(HistoryConfig::default());
        for i in 0..n {
            h.push(Arc::new(snapshot(i, Phase::Stochastic, 4, 2)));
        }
        h
    }

    #[test]
    fn follows_live_until_the_user_scrubs() {
        let mut h = history(10);
        let mut t = Timeline::default();
        t.tick(0.016, &h);
        assert_eq!(t.cursor, 9);
        t.apply(AppCommand::JumpStart, &h);
        assert_eq!((t.cursor, t.play), (0, PlayState::Paused));
        h.push(Arc::new(snapshot(10, Phase::Stochastic, 4, 2)));
        t.tick(0.016, &h);
        assert_eq!(
            t.cursor, 0,
            "scrubbed cursor must not move while the optimizer runs"
        );
        t.apply(AppCommand::FollowLive, &h);
        assert_eq!(t.cursor, 10);
    }

    #[test]
    fn keys_step_one_and_ten_and_clamp() {
        let h = history(30);
        let mut t = Timeline::default();
        t.scrub_to(5);
        t.apply(AppCommand::StepForward, &h);
        assert_eq!(t.cursor, 6);
        t.apply(AppCommand::StepForward10, &h);
        assert_eq!(t.cursor, 16);
        t.apply(AppCommand::StepBack10, &h);
        t.apply(AppCommand::StepBack10, &h);
        assert_eq!(t.cursor, 0);
        t.apply(AppCommand::StepBack, &h);
        assert_eq!(t.cursor, 0);
        t.apply(AppCommand::JumpEnd, &h);
        assert_eq!(t.cursor, 29);
        assert!(!t.apply(AppCommand::ToggleGhosts, &h));
    }

    #[test]
    fn playback_advances_at_speed_and_loops() {
        let h = history(100);
        let mut t = Timeline {
            speed: 10.0,
            ..Timeline::default()
        };
        t.apply(AppCommand::JumpStart, &h);
        t.apply(AppCommand::TogglePlay, &h);
        assert_eq!(t.play, PlayState::Playing);
        for _ in 0..10 {
            t.tick(0.1, &h);
        }
        assert_eq!(t.cursor, 10);
        t.scrub_to(99);
        t.play = PlayState::Playing;
        t.tick(0.2, &h);
        assert_eq!(t.cursor, 0, "loops to the start");
        t.looping = false;
        t.scrub_to(99);
        t.play = PlayState::Playing;
        t.tick(0.2, &h);
        assert_eq!((t.cursor, t.play), (99, PlayState::Paused));
        // Space at the end restarts from the beginning.
        t.apply(AppCommand::TogglePlay, &h);
        assert_eq!((t.cursor, t.play), (0, PlayState::Playing));
        t.change_speed(true);
        assert_eq!(t.speed, 20.0);
        t.change_speed(false);
        t.change_speed(false);
        assert_eq!(t.speed, 5.0);
    }
}
