//! The planner thread. It owns one planner and its world model; the UI talks to it only through channels:
//! [`WorkerCommand`]s in (unbounded; rare), control [`WorkerEvent`]s out (unbounded; rare) and snapshots out
//! over a bounded channel that never blocks the worker: when the UI lags and the channel is full, the worker
//! drops the oldest queued snapshot itself (it holds a receiver clone), so the newest always gets through.
//!
//! A planner panic is caught, reported as [`WorkerEvent::Crashed`], and the session is rebuilt from its spec
//! and left paused; divergence is reported once and pauses the worker. If the thread dies anyway, the UI side
//! ([`WorkerHandle::ensure_alive`]) starts a new one, so the window never dies with it.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TryRecvError, TrySendError};

use crate::env::Problem;
use crate::model::trust_model::TrustLookup;
use crate::model::WorldModel;
use crate::plan::{Phase, Planner, PlannerParams, Snapshot, Status};

use super::mpc::MpcProgress;
pub use super::run_spec::RunSpec;

/// A built session as the UI sees it: the problem in env units and the model to decode snapshots with.
pub struct SessionInfo {
    /// Increasing id; snapshots carry it so stale ones are recognised.
    pub id: u64,
    /// What was asked for.
    pub spec: RunSpec,
    /// The problem actually planned (env units).
    pub problem: Problem,
    /// The world model (decode states and actions to env units).
    pub model: Arc<dyn WorldModel>,
    /// Parameters in force at the start.
    pub params: PlannerParams,
    /// The shipped ensemble for this model, if any, and why not if one is shipped but unusable.
    pub trust: TrustLookup,
}

impl std::fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionInfo")
            .field("id", &self.id)
            .field("spec", &self.spec)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

/// A planner ready to iterate, with what the UI needs to know about it.
pub struct Session {
    /// Problem, model and parameters (id is assigned by the worker).
    pub info: SessionInfo,
    /// The planner.
    pub planner: Box<dyn Planner>,
}

/// Builds a session from a spec (the real one loads the shipped model; tests pass a toy).
pub type SessionBuilder = Arc<dyn Fn(&RunSpec) -> Result<Session, String> + Send + Sync>;

/// Commands to the worker.
#[derive(Clone, Debug)]
pub enum WorkerCommand {
    /// Build a new session and start iterating.
    Start(Box<RunSpec>),
    /// Replace the parameters (from the next iteration).
    SetParams(PlannerParams),
    /// Stop iterating (the session stays).
    Pause,
    /// Continue iterating.
    Resume,
    /// One iteration, then paused.
    Step,
    /// End the thread.
    Shutdown,
}

/// Control events from the worker (never dropped).
#[derive(Debug)]
pub enum WorkerEvent {
    /// A session was built; snapshots with this id follow.
    Started(Arc<SessionInfo>),
    /// The spec could not be built (bad params, missing model …); the previous session, if any, is gone.
    Failed(String),
    /// New parameters take effect at `iteration`.
    ParamsApplied {
        /// Session id.
        session: u64,
        /// First iteration run with them.
        iteration: usize,
        /// The parameters.
        params: PlannerParams,
    },
    /// Parameters were rejected.
    ParamsRejected(String),
    /// Running or paused now.
    Running(bool),
    /// The planner diverged; the worker paused.
    Diverged {
        /// Session id.
        session: u64,
        /// Iteration of divergence.
        iteration: usize,
        /// Why.
        reason: String,
    },
    /// The planner panicked; the session was rebuilt from its spec and is paused.
    Crashed {
        /// Session id that crashed.
        session: u64,
        /// Panic message.
        message: String,
    },
    /// `max_iterations` reached; paused.
    Finished {
        /// Session id.
        session: u64,
    },
    /// A closed-loop episode moved to a new MPC step (or ended): sent once per step, before that step's
    /// snapshots.
    Mpc(Box<MpcProgress>),
    /// A snapshot the full queue would have dropped but the timeline must keep (iteration 0 or a sync),
    /// delivered out of order through the control channel.
    Kept(SnapshotMsg),
}

/// One snapshot of a session.
#[derive(Clone, Debug)]
pub struct SnapshotMsg {
    /// Session id.
    pub session: u64,
    /// The snapshot.
    pub snapshot: Arc<Snapshot>,
    /// Never dropped by a full queue (rerouted like iteration 0 and syncs): in MPC mode the last snapshot of
    /// a plan and the first of the next, which the replan ticks, plots and saved segments are built from.
    pub keep: bool,
}

/// Snapshots queued at most (≈ 1 s at 4k iterations/s; the UI drains every frame).
pub const SNAPSHOT_QUEUE: usize = 4096;

/// The UI's end of a worker: send commands, drain events and snapshots.
pub struct WorkerHandle {
    builder: SessionBuilder,
    commands: Sender<WorkerCommand>,
    events: Receiver<WorkerEvent>,
    snapshots: Receiver<SnapshotMsg>,
    thread: Option<JoinHandle<()>>,
    last_spec: Option<RunSpec>,
    /// Threads started (1 + restarts after a thread death).
    pub generation: usize,
}

impl WorkerHandle {
    /// Starts a worker thread with no session.
    pub fn spawn(builder: SessionBuilder) -> std::io::Result<Self> {
        let (commands, events, snapshots, thread) = start_thread(builder.clone(), 0)?;
        Ok(WorkerHandle {
            builder,
            commands,
            events,
            snapshots,
            thread: Some(thread),
            last_spec: None,
            generation: 1,
        })
    }

    /// Sends a command (remembering `Start` specs for a restart).
    pub fn send(&mut self, cmd: WorkerCommand) {
        if let WorkerCommand::Start(spec) = &cmd {
            self.last_spec = Some((**spec).clone());
        }
        if self.commands.send(cmd).is_err() {
            bevy::log::warn!("planner thread gone; restarting it");
            self.ensure_alive();
        }
    }

    /// All control events queued now.
    pub fn drain_events(&self) -> Vec<WorkerEvent> {
        self.events.try_iter().collect()
    }

    /// All snapshots queued now.
    pub fn drain_snapshots(&self) -> Vec<SnapshotMsg> {
        self.snapshots.try_iter().collect()
    }

    /// If the thread has died (it should not: panics are caught inside), starts a new one and restarts the
    /// last spec. Returns true when a restart happened.
    pub fn ensure_alive(&mut self) -> bool {
        let dead = self.thread.as_ref().is_none_or(|t| t.is_finished());
        if !dead {
            return false;
        }
        let Ok((commands, events, snapshots, thread)) =
            start_thread(self.builder.clone(), self.generation as u64 * 1_000_000)
        else {
            return false;
        };
        self.commands = commands;
        self.events = events;
        self.snapshots = snapshots;
        self.thread = Some(thread);
        self.generation += 1;
        if let Some(spec) = self.last_spec.clone() {
            self.commands
                .send(WorkerCommand::Start(Box::new(spec)))
                .ok();
        }
        true
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.commands.send(WorkerCommand::Shutdown).ok();
        if let Some(t) = self.thread.take() {
            t.join().ok();
        }
    }
}

type Channels = (
    Sender<WorkerCommand>,
    Receiver<WorkerEvent>,
    Receiver<SnapshotMsg>,
    JoinHandle<()>,
);

fn start_thread(builder: SessionBuilder, first_id: u64) -> std::io::Result<Channels> {
    let (cmd_tx, cmd_rx) = unbounded();
    let (ev_tx, ev_rx) = unbounded();
    let (snap_tx, snap_rx) = bounded(SNAPSHOT_QUEUE);
    let drain = snap_rx.clone();
    let thread = std::thread::Builder::new()
        .name("planner".into())
        .spawn(move || {
            let mut w = Worker {
                builder,
                commands: cmd_rx,
                events: ev_tx,
                snapshots: snap_tx,
                drain,
                session: None,
                next_id: first_id,
                running: false,
            };
            w.run();
        })?;
    Ok((cmd_tx, ev_rx, snap_rx, thread))
}

struct Live {
    id: u64,
    spec: RunSpec,
    planner: Box<dyn Planner>,
    /// The (MPC step, done) last reported, for closed-loop sessions.
    mpc_reported: Option<(usize, bool)>,
    /// The next snapshot starts a new plan (keep it).
    keep_next: bool,
}

struct Worker {
    builder: SessionBuilder,
    commands: Receiver<WorkerCommand>,
    events: Sender<WorkerEvent>,
    snapshots: Sender<SnapshotMsg>,
    drain: Receiver<SnapshotMsg>,
    session: Option<Live>,
    next_id: u64,
    running: bool,
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

impl Worker {
    fn emit(&self, ev: WorkerEvent) {
        self.events.send(ev).ok();
    }

    fn run(&mut self) {
        loop {
            // Idle or paused: block for the next command. Running: take what is queued, then iterate.
            let cmd = if self.running && self.session.is_some() {
                match self.commands.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match self.commands.recv_timeout(Duration::from_millis(200)) {
                    Ok(c) => Some(c),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
                }
            };
            if let Some(cmd) = cmd {
                if !self.handle(cmd) {
                    return;
                }
                continue;
            }
            self.iterate();
        }
    }

    /// Handles one command; false = shut down.
    fn handle(&mut self, cmd: WorkerCommand) -> bool {
        match cmd {
            WorkerCommand::Start(spec) => {
                self.start(*spec, true);
            }
            WorkerCommand::SetParams(params) => self.set_params(params),
            WorkerCommand::Pause => self.set_running(false),
            WorkerCommand::Resume => self.set_running(true),
            WorkerCommand::Step => {
                self.set_running(false);
                self.iterate();
            }
            WorkerCommand::Shutdown => return false,
        }
        true
    }

    fn set_running(&mut self, running: bool) {
        if self.running != running {
            self.running = running;
            self.emit(WorkerEvent::Running(running));
        }
    }

    fn start(&mut self, spec: RunSpec, run: bool) {
        self.session = None;
        let builder = self.builder.clone();
        let built = catch_unwind(AssertUnwindSafe(|| builder(&spec)));
        let session = match built {
            Ok(Ok(s)) => s,
            Ok(Err(msg)) => {
                self.set_running(false);
                self.emit(WorkerEvent::Failed(msg));
                return;
            }
            Err(p) => {
                self.set_running(false);
                self.emit(WorkerEvent::Failed(format!(
                    "building the planner panicked: {}",
                    panic_text(p.as_ref())
                )));
                return;
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let mut info = session.info;
        info.id = id;
        info.spec = spec.clone();
        self.emit(WorkerEvent::Started(Arc::new(info)));
        self.session = Some(Live {
            id,
            spec,
            planner: session.planner,
            mpc_reported: None,
            keep_next: false,
        });
        self.report_mpc();
        self.set_running(run);
    }

    fn set_params(&mut self, params: PlannerParams) {
        let Some(live) = self.session.as_mut() else {
            return;
        };
        match live.planner.set_params(params.clone()) {
            Ok(()) => {
                live.spec.params = Some(params.clone());
                let ev = WorkerEvent::ParamsApplied {
                    session: live.id,
                    iteration: live.planner.iteration(),
                    params,
                };
                self.emit(ev);
            }
            Err(e) => self.emit(WorkerEvent::ParamsRejected(e.to_string())),
        }
    }

    fn iterate(&mut self) {
        let Some(live) = self.session.as_mut() else {
            return;
        };
        let id = live.id;
        let stepped = catch_unwind(AssertUnwindSafe(|| live.planner.step()));
        let snap = match stepped {
            Ok(s) => s,
            Err(p) => {
                let message = panic_text(p.as_ref());
                let spec = live.spec.clone();
                self.emit(WorkerEvent::Crashed {
                    session: id,
                    message,
                });
                // Rebuild the same problem with the same settings and wait for the user.
                self.start(spec, false);
                return;
            }
        };
        let diverged = match &snap.status {
            Status::Diverged { iteration, reason } => Some((*iteration, reason.clone())),
            Status::Running => None,
        };
        let finished = snap.iteration + 1 >= live.spec.max_iterations;
        let (episode_over, replanned) = self.report_mpc();
        let finished = finished || episode_over;
        let keep = match self.session.as_mut() {
            Some(live) => std::mem::replace(&mut live.keep_next, replanned) || replanned,
            None => replanned,
        };
        self.send_snapshot(SnapshotMsg {
            session: id,
            snapshot: snap,
            keep,
        });
        if let Some((iteration, reason)) = diverged {
            self.emit(WorkerEvent::Diverged {
                session: id,
                iteration,
                reason,
            });
            self.set_running(false);
        } else if finished && self.running {
            self.emit(WorkerEvent::Finished { session: id });
            self.set_running(false);
        }
    }

    /// For a closed-loop session, sends [`WorkerEvent::Mpc`] when the MPC step (or `done`) changed since the
    /// last report. Returns (the episode is over, it changed: the last snapshot ended a plan).
    fn report_mpc(&mut self) -> (bool, bool) {
        let Some(live) = self.session.as_mut() else {
            return (false, false);
        };
        let Some(key) = live.planner.closed_loop_step() else {
            return (false, false);
        };
        let done = key.1;
        let changed = live.mpc_reported.is_some_and(|old| old != key);
        if live.mpc_reported != Some(key) {
            live.mpc_reported = Some(key);
            let Some(view) = live.planner.closed_loop() else {
                return (false, changed);
            };
            let ev = WorkerEvent::Mpc(Box::new(MpcProgress {
                session: live.id,
                view,
            }));
            self.emit(ev);
        }
        (done, changed)
    }

    /// Latest wins: on a full queue, drop the oldest queued snapshot and retry; never wait. Iteration 0, sync
    /// and `keep` snapshots are not dropped but rerouted through the (rare, unbounded) control channel, so the
    /// timeline can always go back to the start, to every sync and to every replan.
    fn send_snapshot(&self, mut msg: SnapshotMsg) {
        for _ in 0..4 {
            match self.snapshots.try_send(msg) {
                Ok(()) => return,
                Err(TrySendError::Full(m)) => {
                    msg = m;
                    if let Ok(old) = self.drain.try_recv() {
                        if old.keep
                            || old.snapshot.iteration == 0
                            || old.snapshot.phase == Phase::Sync
                        {
                            self.emit(WorkerEvent::Kept(old));
                        }
                    }
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

#[cfg(test)]
#[path = "worker_tests.rs"]
mod tests;
