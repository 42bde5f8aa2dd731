//! Recording a closed-loop (MPC) episode: one planner's episode from [`crate::plan::mpc::run_mpc`], drawn as it
//! goes — the env at the current real state, the executed simulator trajectory growing (solid), the current
//! plan's ghosts and rollouts from that state, and the MPC step in the heads-up line.
//!
//! Frames: within each plan every `every`-th iteration and every sync, plus each plan's last iteration (the
//! plan that was executed), then the final frame held for `hold_frames`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::encode::{BackgroundWriter, VideoWriter};
use super::frames::{compose, PanelFrame, PanelRenderer};
use super::hud::LossHistory;
use super::session::{push, validate, video_width, Output, Progress, RecordSpec, RecordSummary};
use super::RecordError;
use crate::model::WorldModel;
use crate::plan::mpc::{run_mpc_trusting, MpcResult, MpcSettings, TrustExecution};
use crate::plan::{Phase, Snapshot};

/// Draws and hands over frames while the episode runs.
struct Drawer {
    panel: PanelRenderer,
    history: LossHistory,
    output: Output,
    buf_len: usize,
    label: String,
    step: Option<usize>,
    pending: Option<Arc<Snapshot>>,
    every: usize,
    flash: f32,
    flash_step: f32,
    frames: u64,
    render_time: Duration,
    push_time: Duration,
    last_frame: Option<Vec<u8>>,
}

impl Drawer {
    fn draw(&mut self, snap: &Snapshot) -> Result<(), RecordError> {
        let t0 = Instant::now();
        if snap.phase == Phase::Sync {
            self.flash = 1.0;
        }
        let frame = PanelFrame {
            snapshot: snap,
            history: &self.history,
            max_iteration: snap.iteration.max(1),
            flash: self.flash,
        };
        let pm = self.panel.render(&frame);
        self.flash = (self.flash - self.flash_step).max(0.0);
        let mut buf = match &self.output {
            Output::Threaded(bg) => bg.buffer(),
            Output::Direct(_) => vec![0; self.buf_len],
        };
        compose(std::slice::from_ref(&pm), &mut buf);
        self.render_time += t0.elapsed();
        let t1 = Instant::now();
        self.last_frame = Some(buf.clone());
        push(&mut self.output, buf)?;
        self.push_time += t1.elapsed();
        self.frames += 1;
        Ok(())
    }

    fn offer(
        &mut self,
        step: usize,
        executed: &[Vec<f32>],
        snap: &Arc<Snapshot>,
    ) -> Result<(), RecordError> {
        if self.step != Some(step) {
            if let Some(p) = self.pending.take() {
                self.draw(&p)?;
            }
            self.panel.set_executed(executed)?;
            self.panel
                .set_label(&format!("{} mpc {}", self.label, step));
            self.history = LossHistory::default();
            self.step = Some(step);
        }
        self.history.push(snap);
        if snap.iteration.is_multiple_of(self.every) || snap.phase == Phase::Sync {
            self.draw(snap)?;
            self.pending = None;
        } else {
            self.pending = Some(snap.clone());
        }
        Ok(())
    }
}

/// Records the closed-loop episode of `spec`'s single lane under `mpc` into `out` (executing each plan up
/// to its trust horizon when `trust` is given). Nothing appears at `out` unless the whole recording
/// succeeds. Returns the summary and the episode.
#[allow(clippy::too_many_arguments)]
pub fn record_mpc(
    spec: &RecordSpec,
    mpc: &MpcSettings,
    trust: Option<TrustExecution>,
    model: Arc<dyn WorldModel>,
    out: &Path,
    parallel: &crate::plan::Parallel,
    mut on_progress: impl FnMut(&Progress),
) -> Result<(RecordSummary, MpcResult), RecordError> {
    let started = Instant::now();
    validate(spec, out)?;
    let [lane] = spec.lanes.as_slice() else {
        return Err(RecordError::Invalid(
            "a closed-loop recording takes one planner".into(),
        ));
    };
    mpc.validate(spec.problem.horizon)?;
    let (width, height) = (video_width(spec)?, spec.panel_height);
    let writer = VideoWriter::create(out, width, height, spec.fps)?;
    let panel = PanelRenderer::new(
        &spec.problem,
        model.clone(),
        &lane.label,
        spec.panel_width,
        spec.panel_height,
        spec.overlays,
    )?;
    let output = if spec.queue > 0 {
        Output::Threaded(BackgroundWriter::spawn(writer, spec.queue)?)
    } else {
        Output::Direct(writer)
    };
    let mut d = Drawer {
        panel,
        history: LossHistory::default(),
        output,
        buf_len: width as usize * height as usize * 4,
        label: lane.label.clone(),
        step: None,
        pending: None,
        every: spec.every,
        flash: 0.0,
        flash_step: 1.0 / (spec.fps as f32 / 5.0).max(1.0),
        frames: 0,
        render_time: Duration::ZERO,
        push_time: Duration::ZERO,
        last_frame: None,
    };
    let total = mpc.first.max_iters.unwrap_or(0)
        + mpc.replan.max_iters.unwrap_or(0) * mpc.max_plans(spec.problem.horizon).saturating_sub(1);
    let (mut failed, mut done) = (None, 0usize);
    let episode = run_mpc_trusting(
        &spec.problem,
        model,
        &lane.params,
        spec.seed,
        mpc,
        parallel,
        trust,
        |view, snap| {
            if failed.is_some() {
                return;
            }
            if let Err(e) = d.offer(view.step, view.executed_env_states, snap) {
                failed = Some(e);
            }
            done += 1;
            on_progress(&Progress {
                iteration: done,
                total,
                frames: d.frames,
            });
        },
    )?;
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(p) = d.pending.take() {
        d.draw(&p)?;
    }
    // The final frame shows where the episode ended.
    d.panel.set_executed(&episode.executed_env_states)?;
    if let Some(last) = episode.last_snapshot.clone() {
        d.draw(&last)?;
    }
    if let Some(last) = d.last_frame.take() {
        let t1 = Instant::now();
        for _ in 0..spec.hold_frames {
            push(&mut d.output, last.clone())?;
            d.frames += 1;
        }
        d.push_time += t1.elapsed();
    }
    let t1 = Instant::now();
    let (path, encode_time) = match d.output {
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
    let summary = RecordSummary {
        path,
        frames: d.frames,
        size: (width, height),
        elapsed: started.elapsed(),
        plan_time: Duration::try_from_secs_f64(episode.planning_time_s).unwrap_or(Duration::MAX),
        render_time: d.render_time,
        push_time: d.push_time + t1.elapsed(),
        encode_time,
        finals: episode.last_snapshot.clone().into_iter().collect(),
    };
    Ok((summary, episode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvKind;
    use crate::plan::runner::Budget;
    use crate::plan::testkit::wall_linear_problem;
    use crate::plan::PlannerKind;
    use crate::record::probe::probe;
    use crate::record::{Lane, Overlays};

    #[test]
    fn an_episode_records_a_frame_per_kept_iteration_of_every_plan() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mpc.gif");
        let (model, problem) = wall_linear_problem(4);
        assert_eq!(problem.env, EnvKind::Wall);
        let spec = RecordSpec {
            problem,
            lanes: vec![Lane {
                label: "grasp".into(),
                params: PlannerKind::Grasp.default_params(),
                iterations: 1,
            }],
            seed: 1,
            every: 5,
            panel_width: 96,
            panel_height: 96,
            fps: 10,
            hold_frames: 2,
            overlays: Overlays::default(),
            queue: 2,
        };
        let mpc = MpcSettings {
            first: Budget::iters(10),
            replan: Budget::iters(5),
            stop_on_success: false,
            ..Default::default()
        };
        let (s, ep) = record_mpc(
            &spec,
            &mpc,
            None,
            model,
            &out,
            &crate::plan::Parallel::single(),
            |_| {},
        )
        .unwrap();
        assert_eq!(ep.plans.len(), 4);
        // Plan 0: iterations 0, 5 and its last (9); plans 1-3: iteration 0 and the last (4); the final
        // frame; two held.
        assert_eq!(s.frames, 3 + 3 * 2 + 1 + 2);
        assert_eq!(probe(&out).unwrap().frames as u64, s.frames);
        let two = RecordSpec {
            lanes: vec![spec.lanes[0].clone(), spec.lanes[0].clone()],
            ..spec.clone()
        };
        let (m2, _) = wall_linear_problem(4);
        let e = record_mpc(
            &two,
            &mpc,
            None,
            m2,
            &dir.path().join("x.gif"),
            &crate::plan::Parallel::single(),
            |_| {},
        );
        assert!(e.err().unwrap().to_string().contains("one planner"));
    }
}
