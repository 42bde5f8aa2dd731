//! Runs as files. Save writes the main lane's kept snapshots as a run file (`plan::runfile`, the same format
//! `plan --save-run` writes); open reads one (from the Files panel or `app --open F`) into a lane without a
//! worker, to scrub with no optimizer; export writes the selected iteration's plan in env units (actions
//! per env step, decoded virtual states, residuals) as JSON or CSV. Save and open run on a background
//! thread and report back as a one-line message.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};
use serde::Serialize;

use crate::bench::settings_source::SettingsSource;
use crate::model::WorldModel;
use crate::plan::mpc_planner::ClosedLoopView;
use crate::plan::runfile::{read_run, ModelInfo, RunHeader, RunWriter};
use crate::plan::{ModelProblem, Snapshot};

use super::commands::AppCommand;
use super::lanes::{Lane, Lanes};
use super::mpc::MpcProgress;
use super::mpc_files::{renumber_segments, write_segments};
use super::timeline::TimelineRes;
use super::ui::UiState;
use super::worker::{RunSpec, SessionInfo};

/// An opened run: the session, its snapshots (numbered across replans) and, for a closed-loop run, the
/// episode.
pub type OpenedRun = (SessionInfo, Vec<Arc<Snapshot>>, Option<ClosedLoopView>);

/// A finished background file job.
#[allow(clippy::large_enum_variant)] // sent once per file operation; boxing buys nothing
pub enum FileDone {
    /// Saved (path) or failed (message).
    Saved(Result<PathBuf, String>),
    /// Opened: the session and its snapshots, or a message.
    Opened(Result<OpenedRun, String>),
}

/// Background file jobs and their results.
pub struct FileJobs {
    tx: Sender<FileDone>,
    rx: Receiver<FileDone>,
}

impl Default for FileJobs {
    fn default() -> Self {
        let (tx, rx) = unbounded();
        FileJobs { tx, rx }
    }
}

impl FileJobs {
    /// Saves a run in the background.
    pub fn save(
        &self,
        path: PathBuf,
        info: Arc<SessionInfo>,
        snaps: Vec<Arc<Snapshot>>,
        mpc: Option<ClosedLoopView>,
    ) {
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let r = save_run(&path, &info, &snaps, mpc.as_ref()).map(|()| path);
            tx.send(FileDone::Saved(r)).ok();
        });
    }

    /// Opens a run in the background.
    pub fn open(&self, path: PathBuf) {
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            tx.send(FileDone::Opened(open_run(&path))).ok();
        });
    }

    /// Finished jobs.
    pub fn done(&self) -> Vec<FileDone> {
        self.rx.try_iter().collect()
    }
}

/// Writes `snaps` of a session as a run file; a closed-loop session (with its episode `mpc`) as MPC
/// segments, ending with the episode line once the episode is over.
pub fn save_run(
    path: &Path,
    info: &SessionInfo,
    snaps: &[Arc<Snapshot>],
    mpc: Option<&ClosedLoopView>,
) -> Result<(), String> {
    let model_problem = ModelProblem::from_problem(&info.problem, info.model.as_ref())
        .map_err(|e| e.to_string())?;
    let mut header = RunHeader::new(
        info.spec.planner.name(),
        info.params.clone(),
        info.spec.seed,
        info.problem.clone(),
        model_problem,
        ModelInfo {
            path: None,
            state_dim: info.model.state_dim(),
            action_dim: info.model.action_dim(),
        },
        1,
    );
    header.settings = Some(info.spec.settings_label());
    if let (Some(settings), Some(view)) = (&info.spec.mpc, mpc) {
        header.mpc = Some(settings.clone());
        let mut w = RunWriter::create(path, &header).map_err(|e| e.to_string())?;
        write_segments(&mut w, snaps, view, settings).map_err(|e| e.to_string())?;
        return match &view.result {
            Some(r) => w.finish_mpc(None, r),
            None => w.finish(None, None),
        }
        .map_err(|e| e.to_string());
    }
    let mut w = RunWriter::create(path, &header).map_err(|e| e.to_string())?;
    for s in snaps {
        w.write_snapshot(s).map_err(|e| e.to_string())?;
    }
    w.finish(None, None).map_err(|e| e.to_string())
}

/// Reads a run file and loads the model to decode it with.
pub fn open_run(path: &Path) -> Result<OpenedRun, String> {
    let mut run = read_run(path).map_err(|e| e.to_string())?;
    let mpc = renumber_segments(&mut run);
    let h = run.header;
    let model_path = h.model.path.as_ref().map(PathBuf::from);
    let (model, trust) =
        crate::model::trust_model::load_model_with_trust(h.problem.env, model_path.as_deref())
            .map_err(|e| format!("cannot decode {}: {e}", path.display()))?;
    let model: Arc<dyn crate::model::WorldModel> = Arc::new(model);
    if model.state_dim() != h.model.state_dim || model.action_dim() != h.model.action_dim {
        return Err(format!(
            "{}: the run's model has D = {}, K = {} but the loaded {} model has D = {}, K = {}",
            path.display(),
            h.model.state_dim,
            h.model.action_dim,
            h.problem.env,
            model.state_dim(),
            model.action_dim()
        ));
    }
    let planner = h.planner.parse().map_err(|e: String| e)?;
    let mut snaps: Vec<Arc<Snapshot>> = run.snapshots.into_iter().map(Arc::new).collect();
    snaps.sort_by_key(|s| s.iteration);
    snaps.dedup_by_key(|s| s.iteration);
    // Closed-loop plans have the remaining horizon (shrinking) or the window (receding).
    let horizon_ok = |t: usize| match (&mpc, &h.mpc) {
        (None, _) => t == h.problem.horizon,
        (Some(_), Some(m)) if m.window.is_some() => Some(t) == m.window,
        (Some(_), _) => (1..=h.problem.horizon).contains(&t),
    };
    if let Some(bad) = snaps
        .iter()
        .find(|s| s.state_dim != model.state_dim() || !horizon_ok(s.horizon))
    {
        return Err(format!(
            "{}: snapshot {} does not match the header (D {}, T {})",
            path.display(),
            bad.iteration,
            bad.state_dim,
            bad.horizon
        ));
    }
    let spec = RunSpec {
        horizon: h.problem.horizon,
        params: Some(h.params.clone()),
        settings: h
            .settings
            .as_deref()
            .and_then(SettingsSource::parse)
            .unwrap_or_default(),
        problem: Some(h.problem.clone()),
        mpc: mpc.as_ref().and(h.mpc.clone()),
        ..RunSpec::new(h.problem.env, planner, h.seed)
    };
    Ok((
        SessionInfo {
            id: 0,
            spec,
            problem: h.problem,
            model,
            params: h.params,
            trust,
        },
        snaps,
        mpc,
    ))
}

/// The selected plan in env units.
#[derive(Debug, Serialize)]
pub struct PlanExport {
    /// Env name.
    pub env: String,
    /// Planner preset.
    pub planner: String,
    /// Horizon T (world-model steps).
    pub horizon: usize,
    /// Seed.
    pub seed: u64,
    /// Iteration exported.
    pub iteration: usize,
    /// Phase of that iteration.
    pub phase: String,
    /// Start state (env units).
    pub start: Vec<f32>,
    /// Goal state (env units).
    pub goal: Vec<f32>,
    /// Env actions, one [ax, ay] per env step (5 per world-model step).
    pub env_actions: Vec<[f32; 2]>,
    /// Virtual states s_0..s_T decoded to env units.
    pub states: Vec<Vec<f32>>,
    /// ‖F(s̄_t, a_t) − s_{t+1}‖ per step (model space).
    pub residuals: Vec<f32>,
}

/// Builds the export of `snap`.
pub fn plan_export(info: &SessionInfo, model: &dyn WorldModel, snap: &Snapshot) -> PlanExport {
    let env_actions = model
        .decode_actions(&snap.actions)
        .chunks_exact(2)
        .map(|c| [c[0], c[1]])
        .collect();
    PlanExport {
        env: info.problem.env.name().into(),
        planner: info.spec.planner.name().into(),
        horizon: snap.horizon,
        seed: info.spec.seed,
        iteration: snap.iteration,
        phase: format!("{:?}", snap.phase).to_lowercase(),
        start: info.problem.start.clone(),
        goal: info.problem.goal.clone(),
        env_actions,
        states: (0..=snap.horizon)
            .map(|t| model.decode_state(snap.state(t)))
            .collect(),
        residuals: snap.residuals.clone(),
    }
}

/// The export as CSV: one row per time step t = 0..T with the env-unit state, the five env actions of
/// chunk t and the residual (empty on the last row).
pub fn export_csv(e: &PlanExport) -> String {
    let d = e.states.first().map_or(0, Vec::len);
    let mut out = String::from("t");
    for j in 0..d {
        write!(out, ",s{j}").ok();
    }
    for j in 0..crate::env::FRAMESKIP {
        write!(out, ",a{j}_x,a{j}_y").ok();
    }
    out.push_str(",residual\n");
    for (t, s) in e.states.iter().enumerate() {
        write!(out, "{t}").ok();
        for v in s {
            write!(out, ",{v}").ok();
        }
        for j in 0..crate::env::FRAMESKIP {
            match e.env_actions.get(t * crate::env::FRAMESKIP + j) {
                Some([x, y]) if t < e.horizon => write!(out, ",{x},{y}").ok(),
                _ => write!(out, ",,").ok(),
            };
        }
        match e.residuals.get(t) {
            Some(r) => writeln!(out, ",{r}").ok(),
            None => writeln!(out, ",").ok(),
        };
    }
    out
}

/// Writes the export to `path` (.csv → CSV, else JSON) atomically.
pub fn write_export(path: &Path, e: &PlanExport) -> Result<(), String> {
    let csv = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("csv"));
    let bytes = if csv {
        export_csv(e).into_bytes()
    } else {
        serde_json::to_vec_pretty(e).map_err(|err| err.to_string())?
    };
    crate::util::write_atomic(path, &bytes).map_err(|err| format!("{}: {err}", path.display()))
}

/// Background file jobs as a resource.
#[derive(bevy::prelude::Resource, Default)]
pub struct FileJobsRes(pub FileJobs);

/// Replaces the lanes with one scrub-only lane holding an opened run.
pub fn show_opened(
    lanes: &mut Lanes,
    info: SessionInfo,
    snaps: Vec<Arc<Snapshot>>,
    mpc: Option<ClosedLoopView>,
) {
    let mut lane = Lane::empty(info.spec.clone(), lanes.history);
    lane.residual_scale = snaps
        .first()
        .map(|s| {
            s.residuals
                .iter()
                .copied()
                .filter(|r| r.is_finite())
                .fold(0.0, f32::max)
        })
        .unwrap_or(0.0);
    let mut prev = info.params.clone();
    for s in snaps {
        if s.params != prev {
            lane.history.mark_params(
                s.iteration,
                super::params_diff::describe_change(&prev, &s.params),
            );
            prev = s.params.clone();
        }
        lane.history.push(s);
    }
    lane.params = prev;
    let info = SessionInfo {
        id: OPENED_SESSION_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        ..info
    };
    lane.mpc = mpc.map(|view| MpcProgress {
        session: info.id,
        view,
    });
    lane.info = Some(Arc::new(info));
    lanes.lanes = vec![lane];
}

/// Session ids for opened runs (far above any worker's ids).
static OPENED_SESSION_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 62);

/// The export path with the extension the command asks for.
pub fn export_path(base: &str, csv: bool) -> PathBuf {
    PathBuf::from(base.trim()).with_extension(if csv { "csv" } else { "json" })
}

/// Save / open / export commands and their background results.
pub fn file_commands(
    mut cmds: bevy::prelude::MessageReader<AppCommand>,
    mut lanes: bevy::prelude::ResMut<Lanes>,
    mut timeline: bevy::prelude::ResMut<TimelineRes>,
    mut ui: bevy::prelude::ResMut<UiState>,
    jobs: bevy::prelude::Res<FileJobsRes>,
) {
    for c in cmds.read() {
        match c {
            AppCommand::SaveRun => {
                let Some(main) = lanes.main() else { continue };
                let Some(info) = main.info.clone() else {
                    ui.toast("nothing to save yet", true);
                    continue;
                };
                let path = PathBuf::from(ui.controls.run_path.trim());
                let snaps = main.history.snapshots().to_vec();
                ui.toast(
                    format!("saving {} iterations to {}…", snaps.len(), path.display()),
                    false,
                );
                let mpc = main.mpc.as_ref().map(|m| m.view.clone());
                jobs.0.save(path, info, snaps, mpc);
            }
            AppCommand::OpenRun => {
                let path = PathBuf::from(ui.controls.run_path.trim());
                ui.toast(format!("opening {}…", path.display()), false);
                jobs.0.open(path);
            }
            AppCommand::ExportJson | AppCommand::ExportCsv => {
                let csv = *c == AppCommand::ExportCsv;
                let path = export_path(&ui.controls.export_path, csv);
                let Some(main) = lanes.main() else { continue };
                let (Some(info), Some(snap)) = (main.info.as_ref(), main.at(timeline.0.cursor))
                else {
                    ui.toast("no plan to export yet", true);
                    continue;
                };
                let mut e = plan_export(info, info.model.as_ref(), snap);
                // MPC mode: the shown plan starts from the real state its replan observed.
                if let Some(now) = main.mpc_start_state(snap.iteration) {
                    e.start = now.to_vec();
                }
                match write_export(&path, &e) {
                    Ok(()) => ui.toast(
                        format!(
                            "iteration {} exported to {}",
                            snap.iteration,
                            path.display()
                        ),
                        false,
                    ),
                    Err(err) => ui.toast(err, true),
                }
            }
            _ => {}
        }
    }
    for done in jobs.0.done() {
        match done {
            FileDone::Saved(Ok(p)) => ui.toast(format!("saved {}", p.display()), false),
            FileDone::Saved(Err(e)) | FileDone::Opened(Err(e)) => ui.toast(e, true),
            FileDone::Opened(Ok((info, snaps, mpc))) => {
                let n = snaps.len();
                // A closed-loop run opens at its end, with the whole executed trajectory drawn.
                let jump = if mpc.is_some() {
                    AppCommand::JumpEnd
                } else {
                    AppCommand::JumpStart
                };
                show_opened(&mut lanes, info, snaps, mpc);
                timeline.0.apply(jump, &lanes.lanes[0].history);
                ui.toast(format!("opened a run with {n} iterations (no optimizer; New problem to plan again)"), false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testutil::{snapshot, toy_builder};
    use crate::plan::{Phase, PlannerKind};

    #[test]
    fn export_has_one_row_per_state_and_actions_per_env_step() {
        let spec = RunSpec {
            horizon: 3,
            ..RunSpec::new(crate::env::EnvKind::Wall, PlannerKind::Grasp, 1)
        };
        let session = (toy_builder())(&spec).unwrap();
        // The toy model has K = 2; export works on whatever the model decodes.
        let snap = snapshot(7, Phase::Sync, 3, 2);
        let e = plan_export(&session.info, session.info.model.as_ref(), &snap);
        assert_eq!(e.states.len(), 4);
        assert_eq!(e.iteration, 7);
        assert_eq!(e.phase, "sync");
        let csv = export_csv(&e);
        assert_eq!(csv.lines().count(), 5);
        assert!(csv.starts_with("t,s0,s1,a0_x,a0_y"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        write_export(&p, &e).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["horizon"], 3);
        assert!(write_export(Path::new("/nonexistent-dir/x.csv"), &e).is_err());
    }

    #[test]
    fn a_saved_run_keeps_where_its_settings_came_from() {
        use crate::app::testutil::linear_wall_builder;
        use crate::bench::settings_source::SettingsSource;
        let spec = RunSpec {
            horizon: 3,
            settings: SettingsSource::Tuned,
            ..RunSpec::new(crate::env::EnvKind::Wall, PlannerKind::Grasp, 2)
        };
        let mut session = (linear_wall_builder())(&spec).unwrap();
        let snaps: Vec<_> = (0..3).map(|_| session.planner.step()).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        save_run(&path, &session.info, &snaps, None).unwrap();
        let run = crate::plan::runfile::read_run(&path).unwrap();
        assert_eq!(run.header.settings.as_deref(), Some("tuned"));
        let (info, _, _) = open_run(&path).unwrap();
        assert_eq!(info.spec.settings, SettingsSource::Tuned);
    }

    #[test]
    fn opening_a_missing_file_is_one_line() {
        let err = open_run(Path::new("/nonexistent/run.jsonl")).unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }
}
