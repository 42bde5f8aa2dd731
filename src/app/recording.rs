//! In-app recording (R): every 1/fps s a Bevy `Screenshot` of the window is taken, its observer hands the image
//! to an encoder thread over a bounded channel (a full channel drops the frame, never the UI), and the thread
//! crops it (window or scene only) and streams it into `record::VideoWriter`, holding each frame until the
//! next so the video keeps the window's pace. `--record F` presses Record at launch and, with `--exit-after`,
//! finishes the file before the app exits.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};

use crate::record::VideoWriter;

use super::capture::{rgba_of, CaptureConfig, FrameStats, SCREENSHOT_WAIT};
use super::commands::AppCommand;
use super::ui::UiState;
use super::view::SceneRect;

#[allow(clippy::large_enum_variant)] // one message per frame through a channel; boxing buys nothing
enum EncoderMsg {
    /// A captured window and its frame slot: round(seconds since the start × fps) when it was requested.
    Frame(Image, u64),
    /// Stop at this slot.
    Finish(u64),
}

/// Frame periods a frame captured at slot `from` stays on screen until the next one at slot `to` (≥ 1).
fn periods_between(from: u64, to: u64) -> u32 {
    u32::try_from(to.saturating_sub(from).max(1)).unwrap_or(u32::MAX)
}

/// A running recording.
struct Active {
    tx: Sender<EncoderMsg>,
    fps: u32,
    started: Instant,
    last_capture: Option<Instant>,
    path: PathBuf,
    dropped: Arc<Mutex<u64>>,
}

impl Active {
    /// The frame slot of now: round(seconds since the start × fps).
    fn slot_now(&self) -> u64 {
        (self.started.elapsed().as_secs_f64() * f64::from(self.fps)).round() as u64
    }
}

/// In-app recording state.
#[derive(Resource)]
pub struct Recorder {
    active: Option<Active>,
    done_tx: Sender<Result<String, String>>,
    done_rx: Receiver<Result<String, String>>,
    /// Highest frame rate of recordings (lower when the window draws fewer frames). 1–60, default 20.
    pub fps: u32,
    /// The outcome of the last finished recording ("recorded N frames to …" or why it failed).
    pub finished: Option<Result<String, String>>,
    /// `--record`: the recording was started / the file is finished and reported.
    cli: (bool, bool),
    /// `--record`: the stop was requested.
    stop_sent: bool,
}

impl Default for Recorder {
    fn default() -> Self {
        let (done_tx, done_rx) = unbounded();
        Recorder {
            active: None,
            done_tx,
            done_rx,
            fps: 20,
            finished: None,
            cli: (false, false),
            stop_sent: false,
        }
    }
}

impl Recorder {
    /// `--record`: the file is finished and its outcome printed.
    pub fn cli_finished(&self) -> bool {
        self.cli.1
    }

    /// "REC 3.2 s to path" while recording.
    pub fn status_text(&self) -> Option<String> {
        self.active.as_ref().map(|a| {
            format!(
                "REC {:.1} s to {}",
                a.started.elapsed().as_secs_f32(),
                a.path.display()
            )
        })
    }
}

/// Region of the window to record and the (even) output size.
fn record_region(window: UVec2, scene: Option<&SceneRect>) -> (UVec2, UVec2) {
    let (min, size) = match scene {
        Some(r) if r.size.x >= 2 && r.size.y >= 2 => (r.min, r.size),
        _ => (UVec2::ZERO, window),
    };
    (min, UVec2::new(size.x & !1, size.y & !1))
}

fn crop(image: &Image, min: UVec2, size: UVec2) -> Result<Vec<u8>, String> {
    let (w, h, rgba) = rgba_of(image)?;
    let mut out = vec![0u8; (size.x * size.y * 4) as usize];
    for y in 0..size.y {
        let sy = y + min.y;
        if sy >= h {
            break;
        }
        let row_w = size.x.min(w.saturating_sub(min.x));
        let src = ((sy * w + min.x) * 4) as usize;
        let dst = (y * size.x * 4) as usize;
        out[dst..dst + (row_w * 4) as usize]
            .copy_from_slice(&rgba[src..src + (row_w * 4) as usize]);
    }
    Ok(out)
}

fn start_recording(
    path: PathBuf,
    window: UVec2,
    scene: Option<SceneRect>,
    fps: u32,
    done: Sender<Result<String, String>>,
) -> Active {
    let (min, size) = record_region(window, scene.as_ref());
    let (tx, rx) = bounded::<EncoderMsg>(4);
    let p = path.clone();
    std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            let result = (|| {
                let mut writer =
                    VideoWriter::create(&p, size.x, size.y, fps).map_err(|e| e.to_string())?;
                // Each frame is written when the next arrives, held for the slots in between, so frames
                // the window could not capture (or the bounded channel dropped) keep the video's pace
                // equal to the wall clock instead of speeding it up.
                let mut pending: Option<(Vec<u8>, u64)> = None;
                let mut end = None;
                while let Ok(msg) = rx.recv() {
                    match msg {
                        EncoderMsg::Frame(img, slot) => {
                            let rgba = crop(&img, min, size)?;
                            if let Some((prev, at)) = pending.take() {
                                writer
                                    .push_frame_for(&prev, periods_between(at, slot))
                                    .map_err(|e| e.to_string())?;
                            }
                            pending = Some((rgba, slot));
                        }
                        EncoderMsg::Finish(slot) => {
                            end = Some(slot);
                            break;
                        }
                    }
                }
                if let Some((prev, at)) = pending {
                    let to = end.unwrap_or(at + 1);
                    writer
                        .push_frame_for(&prev, periods_between(at, to))
                        .map_err(|e| e.to_string())?;
                }
                let frames = writer.frames();
                let out = writer.finish().map_err(|e| e.to_string())?;
                Ok(format!("recorded {frames} frames to {}", out.display()))
            })();
            done.send(result).ok();
        })
        .ok();
    Active {
        tx,
        fps,
        started: Instant::now(),
        last_capture: None,
        path,
        dropped: Arc::new(Mutex::new(0)),
    }
}

fn record_system(
    mut commands: Commands,
    mut cmds: MessageReader<AppCommand>,
    mut recorder: ResMut<Recorder>,
    mut ui: ResMut<UiState>,
    rect: Res<SceneRect>,
    stats: Res<FrameStats>,
    window: Single<&Window>,
) {
    for msg in recorder.done_rx.try_iter().collect::<Vec<_>>() {
        match &msg {
            Ok(text) => ui.toast(text.clone(), false),
            Err(e) => ui.toast(format!("recording failed: {e}"), true),
        }
        recorder.finished = Some(msg);
    }
    if cmds.read().any(|c| *c == AppCommand::ToggleRecord) {
        if let Some(a) = recorder.active.take() {
            let dropped = a.dropped.lock().map_or(0, |d| *d);
            a.tx.send(EncoderMsg::Finish(a.slot_now())).ok();
            ui.toast(
                format!("finishing {} ({dropped} frames dropped)…", a.path.display()),
                false,
            );
        } else {
            let path = PathBuf::from(ui.controls.record_path.trim());
            let scene = ui.controls.record_scene_only.then_some(*rect);
            let size = UVec2::new(window.physical_width(), window.physical_height());
            // The video plays at the rate frames are actually captured (a software-rendered window may
            // draw fewer than `fps` frames a second), so playback speed matches what was on screen.
            let measured = 1000.0 / stats.median_ms().max(1.0);
            let fps = (measured.round() as u32).clamp(1, recorder.fps.clamp(1, 60));
            let done = recorder.done_tx.clone();
            recorder.active = Some(start_recording(path, size, scene, fps, done));
        }
    }
    let Some(a) = recorder.active.as_mut() else {
        return;
    };
    let fps = a.fps;
    let due = a
        .last_capture
        .is_none_or(|t| t.elapsed().as_secs_f32() >= 1.0 / fps as f32);
    if !due {
        return;
    }
    a.last_capture = Some(Instant::now());
    let slot = a.slot_now();
    let tx = a.tx.clone();
    let dropped = a.dropped.clone();
    commands
        .spawn(Screenshot::primary_window())
        .observe(move |ev: On<ScreenshotCaptured>| {
            if let Err(TrySendError::Full(_)) =
                tx.try_send(EncoderMsg::Frame(ev.image.clone(), slot))
            {
                if let Ok(mut d) = dropped.lock() {
                    *d += 1;
                }
            }
        });
}

/// `--record`: presses Record (the R key's command) on the first frame; at `--exit-after` frames presses it
/// again and waits for the encoder to finish the file, printing its outcome (an error exits 1).
fn cli_record_system(
    config: Res<CaptureConfig>,
    stats: Res<FrameStats>,
    mut recorder: ResMut<Recorder>,
    mut ui: ResMut<UiState>,
    mut cmds: MessageWriter<AppCommand>,
    mut exit: MessageWriter<AppExit>,
    mut stopped_at: Local<Option<Instant>>,
) {
    let Some(path) = &config.record else { return };
    let (started, done) = recorder.cli;
    if done || stats.frames == 0 {
        return;
    }
    if !started {
        ui.controls.record_path = path.display().to_string();
        cmds.write(AppCommand::ToggleRecord);
        recorder.cli.0 = true;
        return;
    }
    if config.exit_after.is_none_or(|n| stats.frames < n) {
        return;
    }
    if !recorder.stop_sent {
        // The start command is read by `record_system`; stop once the recording is running.
        if recorder.active.is_some() {
            cmds.write(AppCommand::ToggleRecord);
            recorder.stop_sent = true;
            *stopped_at = Some(Instant::now());
        }
        return;
    }
    match recorder.finished.clone() {
        Some(Ok(text)) => {
            println!("{text}");
            recorder.cli.1 = true;
        }
        Some(Err(e)) => {
            eprintln!("error: recording failed: {e}");
            recorder.cli.1 = true;
            exit.write(AppExit::error());
        }
        None if stopped_at.is_some_and(|t| t.elapsed() > SCREENSHOT_WAIT) => {
            eprintln!("error: the recording was not finished within {SCREENSHOT_WAIT:?}");
            recorder.cli.1 = true;
            exit.write(AppExit::error());
        }
        None => {}
    }
}

/// In-app recording and `--record`.
pub fn recording_plugin(app: &mut App) {
    app.init_resource::<Recorder>()
        .add_systems(Update, (record_system, cli_record_system));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_frames_span_the_slots_to_the_next_capture() {
        assert_eq!(periods_between(3, 4), 1);
        assert_eq!(periods_between(3, 7), 4);
        // Two captures in one slot (or out of order) still give each frame one period.
        assert_eq!(periods_between(5, 5), 1);
        assert_eq!(periods_between(6, 5), 1);
    }

    #[test]
    fn record_region_is_even_and_follows_the_scene() {
        let (min, size) = record_region(UVec2::new(1281, 801), None);
        assert_eq!((min, size), (UVec2::ZERO, UVec2::new(1280, 800)));
        let r = SceneRect {
            min: UVec2::new(300, 40),
            size: UVec2::new(601, 499),
        };
        assert_eq!(
            record_region(UVec2::new(1280, 800), Some(&r)),
            (r.min, UVec2::new(600, 498))
        );
    }
}
