//! Capturing the window: frame-time statistics and the test hook (`--screenshot F.png --exit-after N`: render
//! N frames, wait until the plan and its overlays are on screen — and until a `--record` video is finished —
//! write the PNG, print one summary line, exit). In-app recording lives in [`super::recording`].

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bevy::image::Image;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};

use super::lanes::Lanes;
use super::overlay::ViewState;
use super::recording::Recorder;
use super::timeline::TimelineRes;

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
    if stats.frames < n || (config.record.is_some() && !recorder.cli_finished()) {
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

/// Frame statistics and the screenshot hook.
pub fn capture_plugin(app: &mut App) {
    app.init_resource::<FrameStats>()
        .add_systems(Update, screenshot_hook);
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn png_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.png");
        write_png(&p, 2, 1, &[255, 0, 0, 255, 0, 255, 0, 255]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(write_png(Path::new("/nonexistent/x.png"), 1, 1, &[0; 4]).is_err());
    }
}
