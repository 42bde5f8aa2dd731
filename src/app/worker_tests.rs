//! Worker protocol tests with the toy planner: start, pause/step/resume, params, panic recovery, divergence,
//! failed builds, latest-wins snapshots, thread restart.

use std::time::{Duration, Instant};

use super::*;
use crate::app::testutil::toy_builder;
use crate::env::EnvKind;
use crate::plan::{GraspParams, PlannerKind};

fn spec(seed: u64) -> RunSpec {
    RunSpec {
        horizon: 4,
        max_iterations: 1_000_000,
        ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, seed)
    }
}

/// Polls until `pred` holds on the collected events (2 s timeout).
fn wait_for(
    w: &WorkerHandle,
    events: &mut Vec<WorkerEvent>,
    pred: impl Fn(&[WorkerEvent]) -> bool,
) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        events.extend(w.drain_events());
        if pred(events) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn starts_streams_and_pauses() {
    let mut w = WorkerHandle::spawn(toy_builder()).unwrap();
    w.send(WorkerCommand::Start(Box::new(spec(1))));
    let mut ev = Vec::new();
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::Started(_)))));
    let WorkerEvent::Started(info) = &ev[0] else {
        panic!("first event {:?}", ev[0]);
    };
    let id = info.id;
    std::thread::sleep(Duration::from_millis(30));
    w.send(WorkerCommand::Pause);
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::Running(false)))));
    std::thread::sleep(Duration::from_millis(20));
    let snaps = w.drain_snapshots();
    assert!(!snaps.is_empty());
    assert!(snaps.iter().all(|s| s.session == id));
    // Iterations arrive in order (the queue may have dropped old ones, never reordered).
    assert!(snaps
        .windows(2)
        .all(|p| p[0].snapshot.iteration < p[1].snapshot.iteration));
    // Paused: nothing more arrives.
    std::thread::sleep(Duration::from_millis(30));
    assert!(w.drain_snapshots().is_empty());
    // One step while paused: exactly one snapshot, the next iteration.
    let last = snaps.last().unwrap().snapshot.iteration;
    w.send(WorkerCommand::Step);
    std::thread::sleep(Duration::from_millis(50));
    let one = w.drain_snapshots();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].snapshot.iteration, last + 1);
}

#[test]
fn params_are_applied_or_rejected() {
    let mut w = WorkerHandle::spawn(toy_builder()).unwrap();
    w.send(WorkerCommand::Start(Box::new(spec(1))));
    w.send(WorkerCommand::Pause);
    let p = PlannerParams::Grasp(GraspParams {
        noise: 0.05,
        ..GraspParams::default()
    });
    w.send(WorkerCommand::SetParams(p.clone()));
    w.send(WorkerCommand::SetParams(PlannerParams::Grasp(
        GraspParams {
            lr_states: -1.0,
            ..GraspParams::default()
        },
    )));
    let mut ev = Vec::new();
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::ParamsRejected(_)))));
    assert!(ev
        .iter()
        .any(|e| matches!(e, WorkerEvent::ParamsApplied { params, .. } if *params == p)));
    w.send(WorkerCommand::Step);
    std::thread::sleep(Duration::from_millis(50));
    let snaps = w.drain_snapshots();
    assert_eq!(snaps.last().unwrap().snapshot.params, p);
}

#[test]
fn a_planner_panic_is_reported_and_the_session_rebuilt() {
    let mut w = WorkerHandle::spawn(toy_builder()).unwrap();
    w.send(WorkerCommand::Start(Box::new(spec(666))));
    let mut ev = Vec::new();
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::Crashed { .. }))));
    let crash = ev
        .iter()
        .find_map(|e| match e {
            WorkerEvent::Crashed { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert!(crash.contains("exploded at 3"), "{crash}");
    // A second Started follows (rebuilt, paused), and the thread is alive.
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .filter(|e| matches!(e, WorkerEvent::Started(_)))
        .count()
        == 2));
    assert!(!w.ensure_alive());
    w.send(WorkerCommand::Step);
    std::thread::sleep(Duration::from_millis(50));
    assert!(!w.drain_snapshots().is_empty());
}

#[test]
fn divergence_pauses_and_failed_builds_report() {
    let mut w = WorkerHandle::spawn(toy_builder()).unwrap();
    w.send(WorkerCommand::Start(Box::new(spec(777))));
    let mut ev = Vec::new();
    assert!(wait_for(&w, &mut ev, |e| e.iter().any(|e| matches!(
        e,
        WorkerEvent::Diverged { iteration: 2, .. }
    ))));
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::Running(false)))));
    let bad = RunSpec {
        horizon: 0,
        ..spec(1)
    };
    w.send(WorkerCommand::Start(Box::new(bad)));
    assert!(wait_for(&w, &mut ev, |e| e.iter().any(
        |e| matches!(e, WorkerEvent::Failed(m) if m.contains("horizon"))
    )));
}

#[test]
fn a_lagging_ui_gets_the_newest_snapshots_and_never_blocks_the_worker() {
    let mut w = WorkerHandle::spawn(toy_builder()).unwrap();
    w.send(WorkerCommand::Start(Box::new(spec(1))));
    // Do not drain for a while: the toy runs far more than SNAPSHOT_QUEUE iterations.
    let t0 = Instant::now();
    let mut newest_seen = 0;
    while t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(300));
        let snaps = w.drain_snapshots();
        let Some(last) = snaps.last() else { continue };
        if snaps.len() == SNAPSHOT_QUEUE && last.snapshot.iteration > SNAPSHOT_QUEUE + 10 {
            // The queue overflowed and the oldest were dropped: the first queued is not iteration 0.
            assert!(snaps[0].snapshot.iteration > 0);
            newest_seen = last.snapshot.iteration;
            break;
        }
    }
    assert!(newest_seen > 0, "worker never filled the queue");
    w.send(WorkerCommand::Pause);
}

#[test]
fn a_closed_loop_session_reports_each_mpc_step_and_finishes() {
    use crate::plan::mpc::MpcSettings;
    use crate::plan::runner::Budget;
    let mut w = WorkerHandle::spawn(crate::app::testutil::linear_wall_builder()).unwrap();
    let mpc = MpcSettings {
        first: Budget::iters(20),
        replan: Budget::iters(5),
        stop_on_success: false,
        ..MpcSettings::default()
    };
    w.send(WorkerCommand::Start(Box::new(RunSpec {
        horizon: 3,
        mpc: Some(mpc),
        ..spec(1)
    })));
    let mut ev = Vec::new();
    assert!(
        wait_for(&w, &mut ev, |e| e
            .iter()
            .any(|e| matches!(e, WorkerEvent::Finished { .. }))),
        "{ev:?}"
    );
    let steps: Vec<&MpcProgress> = ev
        .iter()
        .filter_map(|e| match e {
            WorkerEvent::Mpc(p) => Some(p.as_ref()),
            _ => None,
        })
        .collect();
    // One report per plan (steps 0, 1, 2) and one when the episode ends (step 3, done).
    let seen: Vec<(usize, bool)> = steps.iter().map(|p| (p.view.step, p.view.done)).collect();
    assert_eq!(seen, vec![(0, false), (1, false), (2, false), (3, true)]);
    let last = steps.last().unwrap();
    assert_eq!(last.view.plan_starts, vec![0, 20, 25]);
    assert_eq!(last.view.executed, 3);
    // The executed trajectory grows by one state per executed step, and the episode's result is attached.
    let lens: Vec<usize> = steps
        .iter()
        .map(|p| p.view.executed_env_states.len())
        .collect();
    assert_eq!(lens, vec![1, 2, 3, 4]);
    assert!(last.view.result.is_some());
    // The worker paused itself: no snapshot keeps repeating the finished episode.
    assert!(wait_for(&w, &mut ev, |e| e
        .iter()
        .any(|e| matches!(e, WorkerEvent::Running(false)))));
    let snaps = w.drain_snapshots();
    let newest = snaps.iter().map(|s| s.snapshot.iteration).max().unwrap();
    assert_eq!(newest, 29);
    // Each plan's last snapshot and the next plan's first are marked to survive a full queue.
    let kept: Vec<usize> = snaps
        .iter()
        .filter(|m| m.keep)
        .map(|m| m.snapshot.iteration)
        .collect();
    assert_eq!(kept, vec![19, 20, 24, 25, 29]);
}
