//! Headless recording throughput: `cargo bench --no-default-features --bench record`.
//!
//! For each env (Wall, PointMaze and Push-T; the shipped world model when present, else the analytic
//! `LinearModel`, named in the output) it runs GRASP for the frames first (planner time is not measured here),
//! then times turning those snapshots into a 512×512 video:
//! - `draw`: snapshot → RGBA frame only (env picture, ghosts, residuals, model and simulator rollouts, HUD, plot);
//! - `draw without sim rollout`: the same without executing the plan in the simulator each frame;
//! - `mp4`/`gif` `inline`: draw and encode on one thread;
//! - `mp4`/`gif` `overlap`: draw on this thread while a `BackgroundWriter` encodes (queue of 4 frames).
//!
//! `RECORD_BENCH_ENV=wall` limits the run to one env.
//!
//! Prints `<env> <case>: <frames> frames in <s> s = <fps> frames/s`. Faster than real time at 30 fps means
//! above 30 frames/s. Videos go to a temp directory and are deleted.

use std::sync::Arc;
use std::time::Instant;

use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::linear::LinearModel;
use grasp_explorer::model::{self, WorldModel};
use grasp_explorer::plan::{make_planner, ModelProblem, PlannerKind, Snapshot};
use grasp_explorer::record::frames::{compose, Overlays, PanelFrame, PanelRenderer};
use grasp_explorer::record::hud::LossHistory;
use grasp_explorer::record::{BackgroundWriter, VideoWriter};

const SIDE: u32 = 512;
const FRAMES: usize = 150;
const HORIZON: usize = 50;

/// GRASP snapshots of one problem, and the loss history after each.
fn snapshots(
    env: EnvKind,
    model: &Arc<dyn WorldModel>,
) -> (Problem, Vec<(Arc<Snapshot>, LossHistory)>) {
    let problem = Problem::generate(env, HORIZON, 0).expect("problem");
    let mp = ModelProblem::from_problem(&problem, model.as_ref()).expect("model problem");
    let params = PlannerKind::Grasp.default_params();
    let mut planner = make_planner(&params, &mp, model.clone(), 0).expect("planner");
    let mut history = LossHistory::default();
    let mut out = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let snap = planner.step();
        history.push(&snap);
        out.push((snap, history.clone()));
    }
    (problem, out)
}

/// CPU time of the calling thread so far, seconds (Linux `/proc/thread-self/schedstat`; None elsewhere).
fn thread_cpu_s() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

/// Prints wall-clock frames/s and, when `cpu_s` is known, frames per CPU-second of this thread (what one
/// free core would sustain; steady when other processes share the machine).
fn report(env: EnvKind, case: &str, secs: f64, cpu_s: Option<f64>) {
    let cpu = cpu_s.map_or(String::new(), |c| {
        format!(
            ", {:.1} frames per CPU-second of this thread",
            FRAMES as f64 / c
        )
    });
    println!(
        "{env} {case}: {FRAMES} frames in {secs:.3} s = {:.1} frames/s{cpu}",
        FRAMES as f64 / secs
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let only: Option<EnvKind> = std::env::var("RECORD_BENCH_ENV")
        .ok()
        .and_then(|e| e.parse().ok());
    for env in EnvKind::ALL
        .into_iter()
        .filter(|e| only.is_none_or(|o| o == *e))
    {
        let (model, model_name): (Arc<dyn WorldModel>, String) =
            match model::load_for_env(env, None) {
                Ok(m) => (m, "shipped model".into()),
                Err(_) => (
                    Arc::new(LinearModel::test_system(env.state_dim(), 10)),
                    "LinearModel (no shipped model)".into(),
                ),
            };
        println!("# {env}: GRASP H={HORIZON}, {model_name}, {SIDE}x{SIDE}");
        let (problem, snaps) = snapshots(env, &model);
        let panel = || {
            PanelRenderer::new(
                &problem,
                model.clone(),
                "grasp",
                SIDE,
                SIDE,
                Overlays::default(),
            )
            .expect("panel")
        };
        let frame_of = |p: &mut PanelRenderer,
                        (snap, history): &(Arc<Snapshot>, LossHistory),
                        buf: &mut [u8]| {
            let f = PanelFrame {
                snapshot: snap,
                history,
                max_iteration: FRAMES - 1,
                flash: 0.0,
            };
            compose(&[p.render(&f)], buf);
        };

        let mut p = panel();
        let mut buf = vec![0u8; (SIDE * SIDE * 4) as usize];
        frame_of(&mut p, &snaps[0], &mut buf); // warm-up
        let (t0, c0) = (Instant::now(), thread_cpu_s());
        for s in &snaps {
            frame_of(&mut p, s, &mut buf);
        }
        let cpu = thread_cpu_s().zip(c0).map(|(c1, c0)| c1 - c0);
        report(env, "draw", t0.elapsed().as_secs_f64(), cpu);
        let no_sim = Overlays {
            sim_rollout: false,
            ..Overlays::default()
        };
        let mut q = PanelRenderer::new(&problem, model.clone(), "grasp", SIDE, SIDE, no_sim)
            .expect("panel");
        let (t0, c0) = (Instant::now(), thread_cpu_s());
        for s in &snaps {
            frame_of(&mut q, s, &mut buf);
        }
        let cpu = thread_cpu_s().zip(c0).map(|(c1, c0)| c1 - c0);
        report(
            env,
            "draw without sim rollout",
            t0.elapsed().as_secs_f64(),
            cpu,
        );

        for ext in ["mp4", "gif"] {
            let path = dir.path().join(format!("{env}.{ext}"));
            let mut p = panel();
            let (t0, c0) = (Instant::now(), thread_cpu_s());
            let mut w = VideoWriter::create(&path, SIDE, SIDE, 30).expect("writer");
            for s in &snaps {
                frame_of(&mut p, s, &mut buf);
                w.push_frame(&buf).expect("push");
            }
            w.finish().expect("finish");
            let cpu = thread_cpu_s().zip(c0).map(|(c1, c0)| c1 - c0);
            report(
                env,
                &format!("{ext} inline"),
                t0.elapsed().as_secs_f64(),
                cpu,
            );
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

            let mut p = panel();
            let t0 = Instant::now();
            let mut bg = BackgroundWriter::spawn(
                VideoWriter::create(&path, SIDE, SIDE, 30).expect("writer"),
                4,
            )
            .expect("thread");
            for s in &snaps {
                let mut b = bg.buffer();
                frame_of(&mut p, s, &mut b);
                bg.push_frame(b).expect("push");
            }
            let done = bg.finish().expect("finish");
            report(
                env,
                &format!("{ext} overlap"),
                t0.elapsed().as_secs_f64(),
                None,
            );
            println!(
                "{env} {ext}: {:.0} kB for {FRAMES} frames; encoder busy {:.3} s",
                size as f64 / 1000.0,
                done.encode_time.as_secs_f64()
            );
        }
    }
}
