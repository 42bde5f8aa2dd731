//! Capturing the window: frame-time statistics, the test hook (`--screenshot F.png --exit-after N`: render N
//! frames, wait until the plan and its overlays are on screen, write the PNG, print one summary line, exit),
//! and in-app recording (R): every 1/fps s a Bevy `Screenshot` of the window is taken, its observer hands the
//! image to an encoder thread over a bounded channel (a full channel drops the frame, never the UI), and the
//! thread crops it (window or scene only) and streams it into `record::VideoWriter`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};

use crate::record::VideoWriter;

use super::commands::AppCommand;
use super::lanes::Lanes;
use super::overlay::ViewState;
use super::timeline::TimelineRes;
use super::ui::UiState;
use super::view::SceneRect;

/// Recent frame times.
#[derive(Resource, Default, Debug)]
pub struct FrameStats {
    recent: std::collections::VecDeque<f32>,
    /// Frames rendered so far.
    pub frames: u64,
}

impl FrameStats {
    /// Records one frame time (seconds).
    pub fn record(&mut self, dt: f32) {
        self.frames += 1;
        if self.frames <= 5 {
            return; // start-up frames (pipeline compilation) are not representative
        }
        self.recent.push_back(dt * 1000.0);
        if self.recent.len() > 600 {
            self.recent.pop_front();
        }
    }

    fn quantile(&self, q: f32) -> f32 {
        if self.recent.is_empty() {
            return 0.0;
        }
        let mut v: Vec<f32> = self.recent.iter().copied().collect();
        v.sort_by(f32::total_cmp);
        v[((v.len() - 1) as f32 * q).round() as usize]
    }

    /// Median frame time of the last 600 frames, ms.
    pub fn median_ms(&self) -> f32 {
        self.quantile(0.5)
    }

    /// 95th percentile frame time, ms.
    pub fn p95_ms(&self) -> f32 {
        self.quantile(0.95)
    }
}

/// The `--screenshot`/`--exit-after` test hook.
#[derive(Resource, Default, Debug, Clone)]
pub struct CaptureConfig {
    /// Write the window to this PNG, then exit.
    pub screenshot: Option<PathBuf>,
    /// Frames to render before the screenshot / exit.
    pub exit_after: Option<u64>,
    /// Record the window to this file from the first frames on; finished before the exit.
    pub record: Option<PathBuf>,
}

/// How long the hook waits past N frames for the first plan and its simulator rollout before giving up.
pub const SCREENSHOT_WAIT: Duration = Duration::from_secs(120);

#[derive(Default)]
struct HookState {
    waiting_since: Option<Instant>,
    requested: bool,
    result: Arc<Mutex<Option<Result<PathBuf, String>>>>,
}

/// Encodes an RGBA8 image as an RGB PNG file (atomically).
pub fn write_png(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<(), String> {
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    crate::util::write_atomic_with(path, |f| {
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(std::io::Error::other)?;
        w.write_image_data(&rgb).map_err(std::io::Error::other)?;
        w.finish().map_err(std::io::Error::other)
    })
    .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// RGBA8 bytes and size of a captured image.
pub fn rgba_of(image: &Image) -> Result<(u32, u32, Vec<u8>), String> {
    let dynamic = image
        .clone()
        .try_into_dynamic()
        .map_err(|e| format!("unreadable screenshot: {e}"))?;
    let rgba = dynamic.to_rgba8();
    let (w, h) = rgba.dimensions();
    Ok((w, h, rgba.into_raw()))
}

#[allow(clippy::too_many_arguments)]
fn screenshot_hook(
    mut commands: Commands,
    config: Res<CaptureConfig>,
    time: Res<Time<Real>>,
    mut stats: ResMut<FrameStats>,
    lanes: Res<Lanes>,
    mut timeline: ResMut<TimelineRes>,
    view: Res<ViewState>,
    mut hook: Local<HookState>,
    recorder: Res<Recorder>,
    mut exit: MessageWriter<AppExit>,
) {
    stats.record(time.delta_secs());
    let Some(n) = config.exit_after else { return };
    if stats.frames < n || (config.record.is_some() && !recorder.cli.1) {
        return;
    }
    let Some(path) = config.screenshot.clone() else {
        print_summary(&stats, &lanes, None);
        exit.write(AppExit::Success);
        return;
    };
    // A session that could not even be built (no model, bad problem) will never show a plan: say why.
    if let Some(msg) = lanes
        .main()
        .filter(|l| l.info.is_none())
        .and_then(|l| l.status.message.clone())
    {
        eprintln!("error: {msg}");
        exit.write(AppExit::error());
        return;
    }
    if hook.waiting_since.is_none() {
        // Hold the cursor still (the optimizer keeps running) so the simulator rollout can catch up with it.
        timeline.0.play = super::timeline::PlayState::Paused;
    }
    let since = *hook.waiting_since.get_or_insert_with(Instant::now);
    if !hook.requested {
        // Wait until the plan and its simulator rollout are drawn, so the picture shows what users see.
        let shown = lanes.main().and_then(|l| {
            let info = l.info.as_ref()?;
            let s = l.at(timeline.0.cursor)?;
            Some((info.id, s.iteration))
        });
        let ready = shown.is_some_and(|(sess, it)| {
            view.sim_results[0]
                .as_ref()
                .is_some_and(|r| r.session == sess && r.iteration == it)
        });
        let timed_out = since.elapsed() > SCREENSHOT_WAIT;
        if !(ready || timed_out) {
            return;
        }
        if timed_out {
            warn!(
                "no plan on screen after {:?}; taking the screenshot anyway",
                SCREENSHOT_WAIT
            );
        }
        hook.requested = true;
        let slot = hook.result.clone();
        commands
            .spawn(Screenshot::primary_window())
            .observe(move |ev: On<ScreenshotCaptured>| {
                let r = rgba_of(&ev.image)
                    .and_then(|(w, h, rgba)| write_png(&path, w, h, &rgba))
                    .map(|()| path.clone());
                if let Ok(mut s) = slot.lock() {
                    *s = Some(r);
                }
            });
        return;
    }
    let done = hook.result.lock().ok().and_then(|mut s| s.take());
    match done {
        Some(Ok(p)) => {
            print_summary(&stats, &lanes, Some(&p));
            exit.write(AppExit::Success);
        }
        Some(Err(e)) => {
            eprintln!("error: {e}");
            exit.write(AppExit::error());
        }
        None if since.elapsed() > SCREENSHOT_WAIT * 2 => {
            eprintln!("error: the screenshot never arrived");
            exit.write(AppExit::error());
        }
        None => {}
    }
}

fn print_summary(stats: &FrameStats, lanes: &Lanes, path: Option<&Path>) {
    let lane = lanes.main();
    let rate = lane.map_or(0.0, |l| l.rate.rate(Instant::now()));
    let iters = lane.and_then(|l| l.history.newest()).map_or(0, |i| i + 1);
    let mut line = format!(
        "grasp-explorer app: {} frames, frame time median {:.1} ms, p95 {:.1} ms; worker {:.0} it/s, {} iterations",
        stats.frames,
        stats.median_ms(),
        stats.p95_ms(),
        rate,
        iters
    );
    if let Some((ui_ms, planner_s)) = thread_cpu() {
        line.push_str(&format!(
            "; CPU {:.1} ms per frame outside the planner, planner thread {:.1} s",
            ui_ms / stats.frames.max(1) as f64,
            planner_s
        ));
    }
    if let Some(p) = path {
        line.push_str(&format!("; screenshot {}", p.display()));
    }
    println!("{line}");
}

/// CPU time of this process so far from /proc (Linux): milliseconds outside the planner threads, and
/// seconds inside them. Separates what rendering costs from what the optimizer costs on a busy machine,
/// where wall-clock frame times depend on everything else running.
fn thread_cpu() -> Option<(f64, f64)> {
    let ticks_per_s = 100.0; // USER_HZ, fixed at 100 on Linux
    let (mut other, mut planner) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // comm is in parentheses and may contain spaces; fields after it are space-separated.
        let (head, tail) = stat.rsplit_once(')')?;
        let comm = head.split_once('(')?.1;
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        if comm == "planner" {
            planner += utime + stime;
        } else {
            other += utime + stime;
        }
    }
    Some((
        other as f64 / ticks_per_s * 1000.0,
        planner as f64 / ticks_per_s,
    ))
}

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

/// Frame statistics, the screenshot hook and recording.
pub fn capture_plugin(app: &mut App) {
    app.init_resource::<FrameStats>()
        .init_resource::<Recorder>()
        .add_systems(Update, (screenshot_hook, record_system, cli_record_system));
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
    fn frame_stats_quantiles() {
        let mut s = FrameStats::default();
        for i in 0..105 {
            s.record(if i < 5 { 10.0 } else { (i - 4) as f32 / 1000.0 });
        }
        assert_eq!(s.frames, 105);
        assert!((s.median_ms() - 50.0).abs() <= 1.0, "{}", s.median_ms());
        assert!((s.p95_ms() - 95.0).abs() <= 1.0);
    }

    #[test]
    fn png_is_written_atomically_and_region_is_even() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.png");
        write_png(&p, 2, 1, &[255, 0, 0, 255, 0, 255, 0, 255]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(write_png(Path::new("/nonexistent/x.png"), 1, 1, &[0; 4]).is_err());
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
