//! In-app recording (R): every 1/fps s a Bevy `Screenshot` of the window is taken, its observer hands the image
//! to an encoder thread over a bounded channel (a full channel drops the frame, never the UI), and the thread
//! crops it (window or scene only) and streams it into `record::VideoWriter`, holding each frame until the
//! next so the video keeps the window's pace. Stopping waits (briefly) for screenshots still in flight, and a
//! recording still running when the app exits is finished before the process ends. `--record F` presses
//! Record at launch and, with `--exit-after`, finishes the file before the app exits.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};

use crate::record::VideoWriter;

use super::capture::{rgba_of, CaptureConfig, FrameStats, SCREENSHOT_WAIT};
use super::commands::AppCommand;
use super::ui::UiState;
use super::view::SceneRect;

/// How long a stop waits for screenshots already requested (they arrive a frame or two later).
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How long the app waits at exit for a running recording's file to be finished.
const EXIT_WAIT: Duration = Duration::from_secs(30);

#[allow(clippy::large_enum_variant)] // one message per frame through a channel; boxing buys nothing
enum EncoderMsg {
    /// A captured window and its frame slot: round(seconds since the start × fps) when it was requested.
    Frame(Image, u64),
    /// Stop at this slot.
    Finish(u64),
}

/// What an encoder thread reports when it ends: the recording's id and its outcome.
type Outcome = (u64, Result<String, String>);

/// Frame periods a frame captured at slot `from` stays on screen until the next one at slot `to` (≥ 1).
fn periods_between(from: u64, to: u64) -> u32 {
    u32::try_from(to.saturating_sub(from).max(1)).unwrap_or(u32::MAX)
}

/// A recording in progress.
struct Active {
    id: u64,
    tx: Sender<EncoderMsg>,
    fps: u32,
    started: Instant,
    last_capture: Option<Instant>,
    path: PathBuf,
    dropped: Arc<AtomicU64>,
    /// Screenshots requested whose image has not reached the encoder channel yet.
    in_flight: Arc<AtomicUsize>,
    /// Record was pressed again: the slot to end at and when. No new captures; `Finish` goes out once the
    /// screenshots in flight have landed (or after [`STOP_GRACE`]).
    stopping: Option<(u64, Instant)>,
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
    done_tx: Sender<Outcome>,
    done_rx: Receiver<Outcome>,
    /// Frame rate of recordings (slots per second; a slower window holds frames longer). 1–60, default 20.
    pub fps: u32,
    next_id: u64,
    /// Outcomes of finished recordings, oldest first ("recorded N frames to …" or why it failed).
    finished: Vec<Outcome>,
    cli: CliRecord,
}

/// Progress of `--record`.
#[derive(Default)]
struct CliRecord {
    started: bool,
    /// The recording whose outcome the exit waits for (None: not known yet), and since when.
    waiting: Option<(Option<u64>, Instant)>,
    done: bool,
}

impl Default for Recorder {
    fn default() -> Self {
        let (done_tx, done_rx) = unbounded();
        Recorder {
            active: None,
            done_tx,
            done_rx,
            fps: 20,
            next_id: 0,
            finished: Vec::new(),
            cli: CliRecord::default(),
        }
    }
}

impl Recorder {
    /// `--record`: the file is finished and its outcome printed.
    pub fn cli_finished(&self) -> bool {
        self.cli.done
    }

    /// "REC 3.2 s to path" while recording, "finishing path…" while stopping.
    pub fn status_text(&self) -> Option<String> {
        self.active.as_ref().map(|a| match a.stopping {
            Some(_) => format!("finishing {}…", a.path.display()),
            None => format!(
                "REC {:.1} s to {}",
                a.started.elapsed().as_secs_f32(),
                a.path.display()
            ),
        })
    }

    /// The outcome of recording `id`, once its encoder has ended.
    fn outcome(&self, id: u64) -> Option<&Result<String, String>> {
        self.finished.iter().find(|(i, _)| *i == id).map(|(_, r)| r)
    }

    /// Takes the encoder threads' reports: toasts each, drops an `active` whose encoder already ended
    /// (it failed), and keeps the outcome.
    fn collect_outcomes(&mut self, mut toast: impl FnMut(String, bool)) {
        for (id, result) in self.done_rx.try_iter().collect::<Vec<_>>() {
            match &result {
                Ok(text) => toast(text.clone(), false),
                Err(e) => toast(format!("recording failed: {e}"), true),
            }
            if self.active.as_ref().is_some_and(|a| a.id == id) {
                self.active = None;
            }
            self.finished.push((id, result));
        }
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
    id: u64,
    done: Sender<Outcome>,
) -> Active {
    let (min, size) = record_region(window, scene.as_ref());
    let (tx, rx) = bounded::<EncoderMsg>(4);
    let p = path.clone();
    let thread_done = done.clone();
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
            thread_done.send((id, result)).ok();
        })
        .map_err(|e| {
            done.send((id, Err(format!("cannot start the encoder thread: {e}"))))
                .ok()
        })
        .ok();
    Active {
        id,
        tx,
        fps,
        started: Instant::now(),
        last_capture: None,
        path,
        dropped: Arc::new(AtomicU64::new(0)),
        in_flight: Arc::new(AtomicUsize::new(0)),
        stopping: None,
    }
}

fn record_system(
    mut commands: Commands,
    mut cmds: MessageReader<AppCommand>,
    mut recorder: ResMut<Recorder>,
    mut ui: ResMut<UiState>,
    rect: Res<SceneRect>,
    window: Single<&Window>,
) {
    recorder.collect_outcomes(|text, error| ui.toast(text, error));
    if cmds.read().any(|c| *c == AppCommand::ToggleRecord) {
        match recorder.active.as_mut() {
            Some(a) if a.stopping.is_none() => {
                a.stopping = Some((a.slot_now(), Instant::now()));
                let dropped = a.dropped.load(Ordering::Relaxed);
                let text = format!("finishing {} ({dropped} frames dropped)…", a.path.display());
                ui.toast(text, false);
            }
            Some(_) => {} // already finishing
            None => {
                let path = PathBuf::from(ui.controls.record_path.trim());
                let scene = ui.controls.record_scene_only.then_some(*rect);
                let size = UVec2::new(window.physical_width(), window.physical_height());
                let fps = recorder.fps.clamp(1, 60);
                let id = recorder.next_id;
                recorder.next_id += 1;
                let done = recorder.done_tx.clone();
                recorder.active = Some(start_recording(path, size, scene, fps, id, done));
            }
        }
    }
    let Some(a) = recorder.active.as_mut() else {
        return;
    };
    if let Some((slot, since)) = a.stopping {
        // Finish once the screenshots already asked for have landed (or give up on them after a grace).
        if a.in_flight.load(Ordering::Acquire) > 0 && since.elapsed() < STOP_GRACE {
            return;
        }
        match a.tx.try_send(EncoderMsg::Finish(slot)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => recorder.active = None,
            Err(TrySendError::Full(_)) => {} // the encoder is busy: try again next frame
        }
        return;
    }
    let due = a
        .last_capture
        .is_none_or(|t| t.elapsed().as_secs_f32() >= 1.0 / a.fps as f32);
    if !due {
        return;
    }
    a.last_capture = Some(Instant::now());
    let slot = a.slot_now();
    let tx = a.tx.clone();
    let dropped = a.dropped.clone();
    let in_flight = a.in_flight.clone();
    in_flight.fetch_add(1, Ordering::AcqRel);
    commands
        .spawn(Screenshot::primary_window())
        .observe(move |ev: On<ScreenshotCaptured>| {
            if let Err(TrySendError::Full(_)) =
                tx.try_send(EncoderMsg::Frame(ev.image.clone(), slot))
            {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
}

/// `--record`: presses Record (the R key's command) on the first frame; at `--exit-after` frames presses it
/// again (unless the user already stopped it) and waits for the encoder to finish that recording, printing
/// its outcome (an error, or no outcome within the screenshot wait, exits 1).
fn cli_record_system(
    config: Res<CaptureConfig>,
    stats: Res<FrameStats>,
    mut recorder: ResMut<Recorder>,
    mut ui: ResMut<UiState>,
    mut cmds: MessageWriter<AppCommand>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(path) = &config.record else { return };
    if recorder.cli.done || stats.frames == 0 {
        return;
    }
    if !recorder.cli.started {
        ui.controls.record_path = path.display().to_string();
        cmds.write(AppCommand::ToggleRecord);
        recorder.cli.started = true;
        return;
    }
    if config.exit_after.is_none_or(|n| stats.frames < n) {
        return;
    }
    let (id, since) = match recorder.cli.waiting {
        Some((Some(id), since)) => (id, since),
        waiting => {
            let since = waiting.map_or_else(Instant::now, |(_, t)| t);
            // The recording to wait for: the running one (stopped now), else the last one started.
            let id = match recorder.active.as_ref() {
                Some(a) => {
                    if a.stopping.is_none() {
                        cmds.write(AppCommand::ToggleRecord);
                    }
                    Some(a.id)
                }
                None => recorder.next_id.checked_sub(1),
            };
            recorder.cli.waiting = Some((id, since));
            match id {
                Some(id) => (id, since),
                None if since.elapsed() > SCREENSHOT_WAIT => {
                    eprintln!("error: the recording never started");
                    recorder.cli.done = true;
                    exit.write(AppExit::error());
                    return;
                }
                None => return, // the start command has not been read yet
            }
        }
    };
    match recorder.outcome(id).cloned() {
        Some(Ok(text)) => {
            println!("{text}");
            recorder.cli.done = true;
        }
        Some(Err(e)) => {
            eprintln!("error: recording failed: {e}");
            recorder.cli.done = true;
            exit.write(AppExit::error());
        }
        None if since.elapsed() > SCREENSHOT_WAIT => {
            eprintln!("error: the recording was not finished within {SCREENSHOT_WAIT:?}");
            recorder.cli.done = true;
            exit.write(AppExit::error());
        }
        None => {}
    }
}

/// On exit (window closed, Ctrl+Q, the test hook), a recording still running is finished — frames in flight
/// are given up — and the app waits up to [`EXIT_WAIT`] for the file, so what was recorded is not lost.
fn finish_on_exit(mut exits: MessageReader<AppExit>, mut recorder: ResMut<Recorder>) {
    if exits.read().next().is_none() {
        return;
    }
    let Some(a) = recorder.active.take() else {
        return;
    };
    let slot = a.stopping.map_or_else(|| a.slot_now(), |(s, _)| s);
    if a.tx
        .send_timeout(EncoderMsg::Finish(slot), EXIT_WAIT)
        .is_err()
    {
        return;
    }
    let deadline = Instant::now() + EXIT_WAIT;
    while let Ok((id, result)) = recorder
        .done_rx
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
    {
        if id == a.id {
            match result {
                Ok(text) => println!("{text}"),
                Err(e) => eprintln!("error: recording failed: {e}"),
            }
            return;
        }
    }
    eprintln!(
        "error: the recording {} was not finished at exit",
        a.path.display()
    );
}

/// In-app recording and `--record`.
pub fn recording_plugin(app: &mut App) {
    app.init_resource::<Recorder>()
        .add_systems(Update, (record_system, cli_record_system))
        .add_systems(Last, finish_on_exit);
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
