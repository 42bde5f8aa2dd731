//! A whole recording: run one or more planners on one problem in lock-step (iteration i of every lane per
//! step), render the chosen iterations as frames (one panel per planner, side by side) and stream them into a
//! video file, encoding on a background thread while the next frame is planned and drawn.
//!
//! Which iterations become frames: every `every`-th (0, k, 2k, …), every iteration where some lane synced
//! (so the sync flash is never skipped), and each lane's last iteration; then the last frame is held for
//! `hold_frames` more frames. Lanes whose budget is spent keep showing their final snapshot.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_skia::Pixmap;

use super::encode::{BackgroundWriter, VideoFormat, VideoWriter};
use super::frames::{compose, Overlays, PanelFrame, PanelRenderer};
use super::hud::LossHistory;
use super::RecordError;
use crate::env::Problem;
use crate::model::WorldModel;
use crate::plan::{make_planner, ModelProblem, Parallel, Phase, Planner, PlannerParams, Snapshot};

/// One planner in a recording.
#[derive(Clone, Debug)]
pub struct Lane {
    /// Name shown in the HUD (e.g. the preset name).
    pub label: String,
    /// Its parameters.
    pub params: PlannerParams,
    /// Iterations to run, ≥ 1.
    pub iterations: usize,
}

/// What to record.
#[derive(Clone, Debug)]
pub struct RecordSpec {
    /// The problem every lane plans.
    pub problem: Problem,
    /// Planners, drawn left to right; at least one.
    pub lanes: Vec<Lane>,
    /// Planner seed (the same for every lane).
    pub seed: u64,
    /// Record every `every`-th iteration (≥ 1), plus syncs and each lane's last.
    pub every: usize,
    /// Width of one panel, px (the video is `lanes.len()` panels wide).
    pub panel_width: u32,
    /// Height of the video, px.
    pub panel_height: u32,
    /// Video frame rate, frames per second (≥ 1).
    pub fps: u32,
    /// Extra copies of the last frame at the end (e.g. one second's worth), ≥ 0.
    pub hold_frames: usize,
    /// What each panel shows.
    pub overlays: Overlays,
    /// Frames queued for the encoder thread; 0 encodes on the calling thread (no overlap).
    pub queue: usize,
}

/// Progress after each planner iteration.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Iterations done (the slowest lane's count).
    pub iteration: usize,
    /// Iterations in total (the longest lane's budget).
    pub total: usize,
    /// Frames produced so far.
    pub frames: u64,
}

/// What a finished recording reports.
#[derive(Clone, Debug)]
pub struct RecordSummary {
    /// The video's final path.
    pub path: std::path::PathBuf,
    /// Frames in the video.
    pub frames: u64,
    /// Video width and height, px.
    pub size: (u32, u32),
    /// Wall time of the whole recording, s.
    pub elapsed: Duration,
    /// Time inside planner steps, s.
    pub plan_time: Duration,
    /// Time drawing frames, s.
    pub render_time: Duration,
    /// Time the calling thread spent handing frames over (waiting on a full queue, or encoding inline).
    pub push_time: Duration,
    /// Time the encoder spent encoding and writing (on its own thread when `queue` > 0).
    pub encode_time: Duration,
    /// Each lane's final snapshot.
    pub finals: Vec<Arc<Snapshot>>,
}

impl RecordSummary {
    /// Frames per second of the recording excluding planner time: frames / (elapsed − plan time).
    pub fn recording_fps(&self) -> f64 {
        let secs = self.elapsed.saturating_sub(self.plan_time).as_secs_f64();
        if secs > 0.0 {
            self.frames as f64 / secs
        } else {
            f64::INFINITY
        }
    }
}

/// Checks a spec without doing any work: lanes, budgets, sizes and the output format.
pub fn validate(spec: &RecordSpec, out: &Path) -> Result<VideoFormat, RecordError> {
    if spec.lanes.is_empty() {
        return Err(RecordError::Invalid("no planner to record".into()));
    }
    if spec.every == 0 {
        return Err(RecordError::Invalid("--every must be at least 1".into()));
    }
    if let Some(l) = spec.lanes.iter().find(|l| l.iterations == 0) {
        return Err(RecordError::Invalid(format!(
            "{}: iterations must be at least 1",
            l.label
        )));
    }
    for l in &spec.lanes {
        l.params.validate()?;
    }
    let format = VideoFormat::from_path(out)?;
    format.check(video_width(spec)?, spec.panel_height, spec.fps)?;
    Ok(format)
}

pub(super) fn video_width(spec: &RecordSpec) -> Result<u32, RecordError> {
    u32::try_from(spec.lanes.len())
        .ok()
        .and_then(|n| spec.panel_width.checked_mul(n))
        .ok_or_else(|| RecordError::Invalid("the video would be too wide".into()))
}

pub(super) enum Output {
    Direct(VideoWriter),
    Threaded(BackgroundWriter),
}

struct LaneState {
    planner: Box<dyn Planner>,
    panel: PanelRenderer,
    history: LossHistory,
    last: Arc<Snapshot>,
    flash: f32,
}

/// Records `spec` with `model` into `out` (`.mp4` or `.gif`), calling `on_progress` after every iteration.
/// Nothing appears at `out` unless the whole recording succeeds.
pub fn record(
    spec: &RecordSpec,
    model: Arc<dyn WorldModel>,
    out: &Path,
    on_progress: impl FnMut(&Progress),
) -> Result<RecordSummary, RecordError> {
    record_in(spec, model, out, &Parallel::single(), on_progress)
}

/// [`record`] with every lane's planner lent the caller's worker pool (the same video for any pool).
pub fn record_in(
    spec: &RecordSpec,
    model: Arc<dyn WorldModel>,
    out: &Path,
    parallel: &Parallel,
    mut on_progress: impl FnMut(&Progress),
) -> Result<RecordSummary, RecordError> {
    let started = Instant::now();
    validate(spec, out)?;
    let (width, height) = (video_width(spec)?, spec.panel_height);
    let writer = VideoWriter::create(out, width, height, spec.fps)?;
    let mp = ModelProblem::from_problem(&spec.problem, model.as_ref())?;
    let mut lanes = Vec::with_capacity(spec.lanes.len());
    for lane in &spec.lanes {
        let mut planner = make_planner(&lane.params, &mp, model.clone(), spec.seed)?;
        planner.set_parallel(parallel);
        let panel = PanelRenderer::new(
            &spec.problem,
            model.clone(),
            &lane.label,
            spec.panel_width,
            spec.panel_height,
            spec.overlays,
        )?;
        let last = planner.latest();
        lanes.push(LaneState {
            planner,
            panel,
            history: LossHistory::default(),
            last,
            flash: 0.0,
        });
    }
    let mut output = if spec.queue > 0 {
        Output::Threaded(BackgroundWriter::spawn(writer, spec.queue)?)
    } else {
        Output::Direct(writer)
    };
    // The flash fades over a fifth of a second of video.
    let flash_step = 1.0 / (spec.fps as f32 / 5.0).max(1.0);
    let total = spec.lanes.iter().map(|l| l.iterations).max().unwrap_or(0);
    let (mut plan_time, mut render_time, mut push_time) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut frames = 0u64;
    let mut last_frame: Option<Vec<u8>> = None;
    for i in 0..total {
        let mut selected = i % spec.every == 0 || i + 1 == total;
        for (lane, ls) in spec.lanes.iter().zip(lanes.iter_mut()) {
            if i >= lane.iterations {
                continue;
            }
            let t0 = Instant::now();
            let snap = ls.planner.step();
            plan_time += t0.elapsed();
            ls.history.push(&snap);
            selected |= snap.phase == Phase::Sync || i + 1 == lane.iterations;
            ls.last = snap;
        }
        if selected {
            let t0 = Instant::now();
            let panels: Vec<Pixmap> = lanes
                .iter_mut()
                .map(|ls| {
                    if ls.last.phase == Phase::Sync && ls.last.iteration == i {
                        ls.flash = 1.0;
                    }
                    let frame = PanelFrame {
                        snapshot: &ls.last,
                        history: &ls.history,
                        max_iteration: total.saturating_sub(1),
                        flash: ls.flash,
                    };
                    let pm = ls.panel.render(&frame);
                    ls.flash = (ls.flash - flash_step).max(0.0);
                    pm
                })
                .collect();
            let mut buf = match &output {
                Output::Threaded(bg) => bg.buffer(),
                Output::Direct(_) => vec![0; width as usize * height as usize * 4],
            };
            compose(&panels, &mut buf);
            render_time += t0.elapsed();
            let t1 = Instant::now();
            if i + 1 == total && spec.hold_frames > 0 {
                last_frame = Some(buf.clone());
            }
            push(&mut output, buf)?;
            push_time += t1.elapsed();
            frames += 1;
        }
        on_progress(&Progress {
            iteration: i + 1,
            total,
            frames,
        });
    }
    if let Some(last) = last_frame {
        let t1 = Instant::now();
        for _ in 0..spec.hold_frames {
            push(&mut output, last.clone())?;
            frames += 1;
        }
        push_time += t1.elapsed();
    }
    let t1 = Instant::now();
    let (path, encode_time) = match output {
        Output::Direct(w) => {
            let encode = w.encode_time();
            let path = w.finish()?;
            (path, encode + t1.elapsed())
        }
        Output::Threaded(bg) => {
            let done = bg.finish()?;
            (done.path, done.encode_time)
        }
    };
    push_time += t1.elapsed();
    Ok(RecordSummary {
        path,
        frames,
        size: (width, height),
        elapsed: started.elapsed(),
        plan_time,
        render_time,
        push_time,
        encode_time,
        finals: lanes.into_iter().map(|l| l.last).collect(),
    })
}

pub(super) fn push(output: &mut Output, frame: Vec<u8>) -> Result<(), RecordError> {
    match output {
        Output::Direct(w) => w.push_frame(&frame),
        Output::Threaded(bg) => bg.push_frame(frame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvKind;
    use crate::model::linear::LinearModel;
    use crate::plan::PlannerKind;
    use crate::record::probe::{decode_frames, probe};

    fn spec(lanes: Vec<Lane>, every: usize, hold: usize, queue: usize) -> RecordSpec {
        RecordSpec {
            problem: Problem::generate(EnvKind::Wall, 6, 2).unwrap(),
            lanes,
            seed: 5,
            every,
            panel_width: 96,
            panel_height: 64,
            fps: 10,
            hold_frames: hold,
            overlays: Overlays::default(),
            queue,
        }
    }

    fn lane(kind: PlannerKind, iterations: usize) -> Lane {
        Lane {
            label: kind.name().into(),
            params: kind.default_params(),
            iterations,
        }
    }

    fn model() -> Arc<dyn WorldModel> {
        Arc::new(LinearModel::test_system(2, 10))
    }

    #[test]
    fn frame_count_follows_every_syncs_and_hold() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.gif");
        // GRASP syncs every 5th iteration here (iterations 4 and 9); every 4: 0, 4, 8; last: 10. Hold 2.
        let mut g = lane(PlannerKind::Grasp, 11);
        if let PlannerParams::Grasp(p) = &mut g.params {
            p.sync_every = 5;
        }
        let mut seen = 0;
        let s = record(&spec(vec![g], 4, 2, 2), model(), &out, |p| {
            seen = p.iteration
        })
        .unwrap();
        assert_eq!(seen, 11);
        assert_eq!(
            s.frames,
            4 + 1 + 2,
            "iterations 0, 4, 8, 9 (sync), 10, then 2 held"
        );
        assert_eq!(probe(&out).unwrap().frames as u64, s.frames);
        assert_eq!(s.finals[0].iteration, 10);
        let frames = decode_frames(&out).unwrap();
        assert_eq!(frames[5], frames[6], "held frames repeat the last");
    }

    #[test]
    fn side_by_side_lanes_double_the_width_and_inline_encoding_matches() {
        let dir = tempfile::tempdir().unwrap();
        let lanes = vec![lane(PlannerKind::Grasp, 4), lane(PlannerKind::Cem, 2)];
        let a = dir.path().join("a.mp4");
        let b = dir.path().join("b.mp4");
        let sa = record(&spec(lanes.clone(), 1, 0, 3), model(), &a, |_| {}).unwrap();
        record(&spec(lanes, 1, 0, 0), model(), &b, |_| {}).unwrap();
        assert_eq!(sa.size, (192, 64));
        let info = probe(&a).unwrap();
        assert_eq!((info.width, info.height, info.frames), (192, 64, 4));
        assert_eq!(
            sa.finals[1].iteration, 1,
            "CEM stopped after its 2 iterations"
        );
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "deterministic either way"
        );
    }

    #[test]
    fn bad_specs_fail_before_any_file_appears() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.mp4");
        let cases = [
            (spec(vec![], 1, 0, 1), "no planner"),
            (
                spec(vec![lane(PlannerKind::Grasp, 0)], 1, 0, 1),
                "iterations",
            ),
            (spec(vec![lane(PlannerKind::Grasp, 3)], 0, 0, 1), "--every"),
            (
                RecordSpec {
                    fps: 0,
                    ..spec(vec![lane(PlannerKind::Grasp, 3)], 1, 0, 1)
                },
                "frame rate",
            ),
            (
                RecordSpec {
                    panel_width: 0,
                    ..spec(vec![lane(PlannerKind::Grasp, 3)], 1, 0, 1)
                },
                "size",
            ),
        ];
        for (s, needle) in cases {
            let e = record(&s, model(), &out, |_| {}).err().unwrap().to_string();
            assert!(e.contains(needle), "{e}");
        }
        let e = record(
            &spec(vec![lane(PlannerKind::Grasp, 3)], 1, 0, 1),
            model(),
            &dir.path().join("x.webm"),
            |_| {},
        );
        assert!(e.err().unwrap().to_string().contains(".mp4 or .gif"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
