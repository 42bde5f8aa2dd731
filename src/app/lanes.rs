//! Lanes: one planner run each — its worker thread (none for a run opened from a file), its history and its
//! status. Lane 0 is the main run; lane 1 exists while comparing a second planner on the same problem. Every
//! frame [`pump_workers`] drains each worker's events and snapshots into the lane (never waiting), and the
//! optimizer commands (pause, step, new problem, compare) are turned into worker commands here.

use std::sync::Arc;
use std::time::Instant;

use bevy::prelude::*;

use crate::env::Problem;
use crate::plan::{PlannerKind, PlannerParams, Snapshot};

use super::commands::AppCommand;
use super::history::{History, HistoryConfig};
use super::mpc::{app_mpc_settings, MpcProgress};
use super::params_diff::describe_change;
use super::rate::RateMeter;
use super::worker::{
    RunSpec, SessionBuilder, SessionInfo, SnapshotMsg, WorkerCommand, WorkerEvent, WorkerHandle,
};

/// The largest finite value (0 for none): the residual drawn darkest red.
fn max_finite(values: &[f32]) -> f32 {
    values
        .iter()
        .copied()
        .filter(|r| r.is_finite())
        .fold(0.0, f32::max)
}

/// Why a lane is not simply running.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaneStatus {
    /// The planner diverged at this iteration (reason).
    pub diverged: Option<(usize, String)>,
    /// Last error or crash report, shown in the status line.
    pub message: Option<String>,
    /// `max_iterations` reached.
    pub finished: bool,
    /// The worker thread had to be restarted this many times.
    pub restarts: usize,
}

/// One planner run.
pub struct Lane {
    /// The planner thread (None: a run opened from a file, scrub-only).
    pub worker: Option<WorkerHandle>,
    /// What was last asked of the worker.
    pub spec: RunSpec,
    /// The session being shown.
    pub info: Option<Arc<SessionInfo>>,
    /// Kept snapshots.
    pub history: History,
    /// The worker is iterating.
    pub running: bool,
    /// Divergence, errors, crashes.
    pub status: LaneStatus,
    /// Worker iterations per second.
    pub rate: RateMeter,
    /// Residual drawn darkest red: the largest residual of the session's first snapshot.
    pub residual_scale: f32,
    /// Parameters in force (what the sliders show).
    pub params: PlannerParams,
    /// Where the closed-loop episode stands (None: open loop, or no report yet).
    pub mpc: Option<MpcProgress>,
    pending: Vec<SnapshotMsg>,
}

impl Lane {
    /// A lane with a worker started on `spec`.
    pub fn spawn(builder: SessionBuilder, spec: RunSpec, config: HistoryConfig) -> Lane {
        let mut lane = Lane::empty(spec.clone(), config);
        match WorkerHandle::spawn(builder) {
            Ok(mut w) => {
                w.send(WorkerCommand::Start(Box::new(spec)));
                lane.worker = Some(w);
            }
            Err(e) => lane.status.message = Some(format!("cannot start the planner thread: {e}")),
        }
        lane
    }

    /// A lane without a worker (for opened run files).
    pub fn empty(spec: RunSpec, config: HistoryConfig) -> Lane {
        let params = spec.start_params();
        Lane {
            worker: None,
            spec,
            info: None,
            history: History::new(config),
            running: false,
            status: LaneStatus::default(),
            rate: RateMeter::default(),
            residual_scale: 0.0,
            params,
            mpc: None,
            pending: Vec::new(),
        }
    }

    /// Sends a command to the worker, if any.
    pub fn send(&mut self, cmd: WorkerCommand) {
        if let Some(w) = self.worker.as_mut() {
            w.send(cmd);
        }
    }

    /// Starts `spec` (a new problem or new settings): clears the history when the session arrives.
    pub fn start(&mut self, spec: RunSpec) {
        self.spec = spec.clone();
        self.status = LaneStatus {
            restarts: self.status.restarts,
            ..LaneStatus::default()
        };
        self.send(WorkerCommand::Start(Box::new(spec)));
    }

    /// Sets parameters live.
    pub fn set_params(&mut self, params: PlannerParams) {
        self.spec.params = Some(params.clone());
        self.send(WorkerCommand::SetParams(params));
    }

    /// MPC mode: the real state the plan shown at `iteration` started from (env units).
    pub fn mpc_start_state(&self, iteration: usize) -> Option<&[f32]> {
        let p = self.mpc.as_ref()?;
        p.start_state(p.step_at(iteration))
    }

    /// MPC mode: the executed states up to the plan shown at `iteration` (start first; all of them at the
    /// newest iteration of a finished episode); empty in open loop.
    pub fn mpc_executed_until(&self, iteration: usize) -> &[Vec<f32>] {
        match self.mpc.as_ref() {
            Some(p) => {
                let states = &p.view.executed_env_states;
                // At the end of a finished episode the last plan's executed steps are shown too.
                let end = p.view.done && self.history.newest().is_some_and(|n| iteration >= n);
                let n = if end {
                    states.len()
                } else {
                    p.view.executed_at(p.step_at(iteration)) + 1
                };
                &states[..n.min(states.len())]
            }
            None => &[],
        }
    }

    /// The snapshot at (or before) `iteration`.
    pub fn at(&self, iteration: usize) -> Option<&Arc<Snapshot>> {
        self.history.at(iteration)
    }

    /// Drains the worker: events first, then snapshots (snapshots of a session whose `Started` has not been
    /// read yet wait in `pending`).
    pub fn pump(&mut self, now: Instant) {
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        if worker.ensure_alive() {
            self.status.restarts += 1;
            self.status.message = Some("the planner thread died and was restarted".into());
        }
        let events = worker.drain_events();
        let snaps = worker.drain_snapshots();
        for ev in events {
            self.apply_event(ev);
        }
        self.pending.extend(snaps);
        let current = self.info.as_ref().map(|i| i.id);
        let pending = std::mem::take(&mut self.pending);
        for msg in pending {
            match current {
                Some(id) if msg.session == id => {
                    if self.history.is_empty() {
                        self.residual_scale = max_finite(&msg.snapshot.residuals);
                    }
                    self.rate.record(now, msg.snapshot.iteration);
                    self.history.push(msg.snapshot);
                }
                Some(id) if msg.session < id => {}
                _ => self.pending.push(msg),
            }
        }
    }

    fn apply_event(&mut self, ev: WorkerEvent) {
        match ev {
            WorkerEvent::Started(info) => {
                self.history.clear();
                self.rate.clear();
                self.residual_scale = 0.0;
                self.params = info.params.clone();
                self.status.diverged = None;
                self.status.finished = false;
                self.mpc = None;
                self.info = Some(info);
            }
            WorkerEvent::Failed(msg) => {
                self.status.message = Some(msg);
                self.running = false;
            }
            WorkerEvent::ParamsApplied {
                session,
                iteration,
                params,
            } => {
                if self.info.as_ref().is_some_and(|i| i.id == session) {
                    let what = describe_change(&self.params, &params);
                    self.history.mark_params(iteration, what);
                    self.params = params;
                }
            }
            WorkerEvent::ParamsRejected(msg) => self.status.message = Some(msg),
            WorkerEvent::Running(r) => self.running = r,
            WorkerEvent::Diverged {
                iteration, reason, ..
            } => {
                self.status.message = Some(format!(
                    "diverged at iteration {iteration}: {reason}; the last finite plan is kept (Backspace restarts)"
                ));
                self.status.diverged = Some((iteration, reason));
            }
            WorkerEvent::Crashed { message, .. } => {
                self.status.message = Some(format!(
                    "planner panicked ({message}); restarted the problem — press P to run"
                ));
            }
            WorkerEvent::Finished { .. } => self.status.finished = true,
            WorkerEvent::Mpc(p) => {
                if self.info.as_ref().is_some_and(|i| i.id == p.session) {
                    self.mpc = Some(*p);
                }
            }
            WorkerEvent::Kept(msg) => {
                if self.info.as_ref().is_some_and(|i| i.id == msg.session) {
                    if self.history.is_empty() {
                        self.residual_scale = max_finite(&msg.snapshot.residuals);
                    }
                    self.history.insert(msg.snapshot);
                }
            }
        }
    }
}

/// All lanes plus what is needed to start new ones.
#[derive(Resource)]
pub struct Lanes {
    /// Lane 0 = main run; lane 1 = comparison.
    pub lanes: Vec<Lane>,
    /// Builds sessions for new workers.
    pub builder: SessionBuilder,
    /// History memory settings for new lanes.
    pub history: HistoryConfig,
    /// Planner of the comparison lane.
    pub compare_planner: PlannerKind,
}

impl Lanes {
    /// The main lane.
    pub fn main(&self) -> Option<&Lane> {
        self.lanes.first()
    }

    /// The main lane, mutably.
    pub fn main_mut(&mut self) -> Option<&mut Lane> {
        self.lanes.first_mut()
    }

    /// Whether a comparison lane runs.
    pub fn comparing(&self) -> bool {
        self.lanes.len() > 1
    }

    /// Starts (or stops) comparing `compare_planner` against the main lane on the same problem.
    pub fn toggle_compare(&mut self) {
        if self.lanes.len() > 1 {
            self.lanes.truncate(1);
            return;
        }
        let Some(main) = self.main() else { return };
        let problem: Option<Problem> = main.info.as_ref().map(|i| i.problem.clone());
        let spec = RunSpec {
            planner: self.compare_planner,
            params: None,
            problem,
            ..main.spec.clone()
        };
        let lane = Lane::spawn(self.builder.clone(), spec, self.history);
        self.lanes.push(lane);
    }

    /// Starts `spec` on the main lane, and the same problem on the comparison lane.
    pub fn start_all(&mut self, spec: RunSpec) {
        // A run opened from a file has no worker: planning again replaces it with a live lane.
        if self.main().is_some_and(|l| l.worker.is_none()) {
            self.lanes = vec![Lane::spawn(self.builder.clone(), spec, self.history)];
            return;
        }
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            if lane.worker.is_none() {
                continue;
            }
            let s = if i == 0 {
                spec.clone()
            } else {
                RunSpec {
                    planner: lane.spec.planner,
                    settings: lane.spec.settings,
                    params: lane.spec.params.clone(),
                    ..spec.clone()
                }
            };
            lane.start(s);
        }
    }

    /// The newest iteration over all lanes (the shared timeline's end).
    pub fn newest(&self) -> Option<usize> {
        self.lanes.iter().filter_map(|l| l.history.newest()).max()
    }
}

/// Drains every worker (runs first in `Update`).
pub fn pump_workers(mut lanes: ResMut<Lanes>) {
    let now = Instant::now();
    for lane in &mut lanes.lanes {
        lane.pump(now);
    }
}

/// Turns optimizer commands into worker commands.
pub fn optimizer_commands(mut cmds: MessageReader<AppCommand>, mut lanes: ResMut<Lanes>) {
    for cmd in cmds.read() {
        match cmd {
            AppCommand::ToggleOptimizer => {
                let run = !lanes.main().is_some_and(|l| l.running);
                for lane in &mut lanes.lanes {
                    lane.send(if run {
                        WorkerCommand::Resume
                    } else {
                        WorkerCommand::Pause
                    });
                }
            }
            AppCommand::SingleIteration => {
                for lane in &mut lanes.lanes {
                    lane.send(WorkerCommand::Step);
                }
            }
            AppCommand::NewProblem => {
                let Some(main) = lanes.main() else { continue };
                let spec = RunSpec {
                    seed: main.spec.seed.wrapping_add(1),
                    problem: None,
                    ..main.spec.clone()
                };
                lanes.start_all(spec);
            }
            AppCommand::RestartProblem => {
                let Some(main) = lanes.main() else { continue };
                let spec = main.spec.clone();
                lanes.start_all(spec);
            }
            AppCommand::ToggleCompare => lanes.toggle_compare(),
            AppCommand::ToggleMpc => {
                let Some(main) = lanes.main() else { continue };
                let mpc = match main.spec.mpc {
                    Some(_) => None,
                    None => Some(app_mpc_settings()),
                };
                let spec = RunSpec {
                    mpc,
                    ..main.spec.clone()
                };
                lanes.start_all(spec);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testutil::toy_builder;
    use crate::app::timeline::{PlayState, TimelineRes};
    use crate::env::EnvKind;

    /// The app's data path without a window: workers → lanes → history → timeline, driven by keys.
    #[test]
    fn headless_app_follows_the_worker_and_scrubs_with_keys() {
        let spec = RunSpec {
            horizon: 4,
            ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, 1)
        };
        let mut app = crate::app::testutil::headless_app(toy_builder(), spec);
        let t0 = std::time::Instant::now();
        while app.world().resource::<Lanes>().lanes[0].history.len() < 50 {
            assert!(t0.elapsed().as_secs() < 10, "no snapshots arrived");
            app.update();
        }
        let newest = app.world().resource::<Lanes>().newest().unwrap();
        let tl = &app.world().resource::<TimelineRes>().0;
        assert_eq!(tl.play, PlayState::Following);
        assert!(tl.cursor + 1000 >= newest);

        use crate::app::testutil::press;
        press(&mut app, KeyCode::Home);
        assert_eq!(app.world().resource::<TimelineRes>().0.cursor, 0);
        // Iteration 0 survives even though this toy outruns the snapshot queue (it is rerouted, not dropped).
        assert_eq!(
            app.world().resource::<Lanes>().lanes[0].history.first(),
            Some(0)
        );
        press(&mut app, KeyCode::ArrowRight);
        let second = app.world().resource::<Lanes>().lanes[0].history.snapshots()[1].iteration;
        let tl = &app.world().resource::<TimelineRes>().0;
        assert_eq!((tl.cursor, tl.play), (second, PlayState::Paused));
        // Pausing the optimizer (P) stops new snapshots; the scrubbed cursor never moved meanwhile.
        press(&mut app, KeyCode::KeyP);
        let t0 = std::time::Instant::now();
        while app.world().resource::<Lanes>().lanes[0].running {
            assert!(t0.elapsed().as_secs() < 5, "worker did not pause");
            app.update();
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        app.update();
        let n = app.world().resource::<Lanes>().lanes[0].history.received();
        std::thread::sleep(std::time::Duration::from_millis(30));
        app.update();
        assert_eq!(
            app.world().resource::<Lanes>().lanes[0].history.received(),
            n
        );
        assert_eq!(app.world().resource::<TimelineRes>().0.cursor, second);
    }
}
