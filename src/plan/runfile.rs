//! Run files: one optimization run as JSON lines (format in docs/run-format.md). Line 1 is a header (format
//! name and version, problem in env and model units, planner preset, params, seed, model info), then one
//! snapshot per line (every one, or every k-th plus all sync iterations, a divergence and the last), then
//! optionally an end line with the trial result. Each line is a JSON object whose `kind` says which.
//! A closed-loop (MPC) run (version 2) has an `mpc` line before each plan's snapshots — the MPC step, the
//! executed steps so far and the simulator trajectory — and ends with an `mpc_end` line holding the episode.
//! Written to a temp file and renamed into place when finished.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mpc::{MpcResult, MpcSettings};
use super::runner::TrialResult;
use super::{ModelProblem, Phase, PlannerParams, Snapshot, Status};
use crate::env::Problem;
use crate::util::{commit_temp, create_temp, discard_temp};

/// Value of the header's `format` field.
pub const FORMAT: &str = "grasp-explorer-run";
/// Current format version (2 added MPC runs; version-1 files read unchanged).
pub const VERSION: u32 = 2;

/// Errors reading or writing run files.
#[derive(Debug, thiserror::Error)]
pub enum RunFileError {
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A line that is not valid for the format.
    #[error("{path} line {line}: {msg}")]
    Parse {
        path: String,
        line: usize,
        msg: String,
    },
}

/// Which model planned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Weights file, if loaded from one.
    pub path: Option<String>,
    /// State dimension D.
    pub state_dim: usize,
    /// Action dimension K.
    pub action_dim: usize,
}

/// The first line of a run file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// Planner preset name (e.g. "grasp", "grasp-nosync", "cem").
    pub planner: String,
    /// Parameters at the start of the run (each snapshot carries those in force).
    pub params: PlannerParams,
    /// Planner seed.
    pub seed: u64,
    /// The problem in env units.
    pub problem: Problem,
    /// The problem in model space.
    pub model_problem: ModelProblem,
    /// The model.
    pub model: ModelInfo,
    /// Snapshot cadence (1 = every snapshot).
    pub save_every: usize,
    /// Writer's version string.
    pub tool: String,
    /// The MPC settings of a closed-loop run; absent for open-loop runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpc: Option<MpcSettings>,
    /// Where the starting settings came from ("preset defaults", "tuned …"); absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
}

impl RunHeader {
    /// A header with the current format, version and tool version.
    pub fn new(
        planner: &str,
        params: PlannerParams,
        seed: u64,
        problem: Problem,
        model_problem: ModelProblem,
        model: ModelInfo,
        save_every: usize,
    ) -> RunHeader {
        RunHeader {
            format: FORMAT.into(),
            version: VERSION,
            planner: planner.into(),
            params,
            seed,
            problem,
            model_problem,
            model,
            save_every: save_every.max(1),
            tool: format!("grasp-explorer {}", env!("CARGO_PKG_VERSION")),
            mpc: None,
            settings: None,
        }
    }
}

/// One line of a run file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RunLine {
    /// The header (first line; boxed, it is by far the largest line).
    Header(Box<RunHeader>),
    /// One snapshot.
    Snapshot(Snapshot),
    /// The trial result (last line, optional).
    End(TrialResult),
    /// The start of one MPC plan; the snapshots that follow belong to it.
    Mpc(MpcSegment),
    /// The closed-loop episode (last line of an MPC run, optional).
    #[serde(rename = "mpc_end")]
    MpcEnd(MpcResult),
}

/// Where one plan of an MPC run starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MpcSegment {
    /// MPC step j (0 = the first plan).
    pub step: usize,
    /// Model steps executed before this plan.
    pub executed: usize,
    /// This plan's horizon.
    pub horizon: usize,
    /// Simulator states so far, env units (start first; the last is this plan's s_0).
    pub executed_env_states: Vec<Vec<f32>>,
}

/// A whole run file in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The header.
    pub header: RunHeader,
    /// Snapshots in file order.
    pub snapshots: Vec<Snapshot>,
    /// The result, if the run finished normally.
    pub result: Option<TrialResult>,
    /// MPC runs: each plan's segment and the index in `snapshots` of its first snapshot.
    pub segments: Vec<(usize, MpcSegment)>,
    /// MPC runs: the episode, if it finished normally.
    pub mpc_result: Option<MpcResult>,
}

/// Streams a run to disk.
pub struct RunWriter {
    out: Option<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    save_every: usize,
    last_written: Option<usize>,
}

impl RunWriter {
    /// Starts a run file at `path` (written to a temp file until [`RunWriter::finish`]).
    pub fn create(path: &Path, header: &RunHeader) -> Result<RunWriter, RunFileError> {
        let io = |source| RunFileError::Io {
            path: path.display().to_string(),
            source,
        };
        if path.is_dir() {
            return Err(io(std::io::Error::other("it is a directory")));
        }
        let (tmp, file) = create_temp(path).map_err(io)?;
        let mut w = RunWriter {
            out: Some(BufWriter::new(file)),
            tmp,
            path: path.to_path_buf(),
            save_every: header.save_every.max(1),
            last_written: None,
        };
        w.line(&RunLine::Header(Box::new(header.clone())))?;
        Ok(w)
    }

    fn line(&mut self, line: &RunLine) -> Result<(), RunFileError> {
        let path = self.path.display().to_string();
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        serde_json::to_writer(&mut *out, line).map_err(|e| RunFileError::Parse {
            path: path.clone(),
            line: 0,
            msg: e.to_string(),
        })?;
        out.write_all(b"\n")
            .map_err(|source| RunFileError::Io { path, source })
    }

    /// Writes `snap` if the cadence keeps it: every `save_every`-th iteration, every sync iteration and a
    /// divergence.
    pub fn offer(&mut self, snap: &Snapshot) -> Result<(), RunFileError> {
        let keep = snap.iteration.is_multiple_of(self.save_every)
            || snap.phase == Phase::Sync
            || matches!(snap.status, Status::Diverged { .. });
        if keep {
            self.write_snapshot(snap)?;
        }
        Ok(())
    }

    /// Starts MPC plan `seg`: writes the previous plan's `last` snapshot if the cadence skipped it, then the
    /// segment line; the cadence restarts with the new plan's iterations.
    pub fn begin_segment(
        &mut self,
        last: Option<&Snapshot>,
        seg: &MpcSegment,
    ) -> Result<(), RunFileError> {
        if let Some(s) = last {
            if self.last_written != Some(s.iteration) {
                self.write_snapshot(s)?;
            }
        }
        self.last_written = None;
        self.line(&RunLine::Mpc(seg.clone()))
    }

    /// Writes the MPC episode line, then finishes like [`RunWriter::finish`].
    pub fn finish_mpc(
        mut self,
        last: Option<&Snapshot>,
        result: &MpcResult,
    ) -> Result<(), RunFileError> {
        if let Some(s) = last {
            if self.last_written != Some(s.iteration) {
                self.write_snapshot(s)?;
            }
        }
        self.line(&RunLine::MpcEnd(result.clone()))?;
        self.finish(None, None)
    }

    /// Writes `snap` unconditionally.
    pub fn write_snapshot(&mut self, snap: &Snapshot) -> Result<(), RunFileError> {
        self.line(&RunLine::Snapshot(snap.clone()))?;
        self.last_written = Some(snap.iteration);
        Ok(())
    }

    /// Writes `last` if the cadence skipped it, then the result line (if any), and moves the file into place.
    pub fn finish(
        mut self,
        last: Option<&Snapshot>,
        result: Option<&TrialResult>,
    ) -> Result<(), RunFileError> {
        if let Some(s) = last {
            if self.last_written != Some(s.iteration) {
                self.write_snapshot(s)?;
            }
        }
        if let Some(r) = result {
            self.line(&RunLine::End(r.clone()))?;
        }
        let io = |source| RunFileError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        let file = match out.into_inner() {
            Ok(f) => f,
            Err(e) => {
                discard_temp(&self.tmp);
                return Err(io(e.into_error()));
            }
        };
        commit_temp(&self.tmp, file, &self.path).map_err(io)
    }
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            drop(out);
            discard_temp(&self.tmp);
        }
    }
}

/// Reads a whole run file.
pub fn read_run(path: &Path) -> Result<Run, RunFileError> {
    let p = path.display().to_string();
    let file = File::open(path).map_err(|source| RunFileError::Io {
        path: p.clone(),
        source,
    })?;
    let parse_err = |line: usize, msg: String| RunFileError::Parse {
        path: p.clone(),
        line,
        msg,
    };
    let mut header = None;
    let mut snapshots = Vec::new();
    let mut result = None;
    let mut segments = Vec::new();
    let mut mpc_result = None;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|source| RunFileError::Io {
            path: p.clone(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: RunLine =
            serde_json::from_str(&line).map_err(|e| parse_err(n, e.to_string()))?;
        match (parsed, header.is_some()) {
            (RunLine::Header(h), false) => {
                if h.format != FORMAT {
                    return Err(parse_err(
                        n,
                        format!("not a run file (format '{}')", h.format),
                    ));
                }
                if h.version > VERSION {
                    return Err(parse_err(
                        n,
                        format!("format version {} is newer than {VERSION}", h.version),
                    ));
                }
                header = Some(*h);
            }
            (_, false) => return Err(parse_err(n, "the first line must be the header".into())),
            (RunLine::Header(_), true) => return Err(parse_err(n, "a second header".into())),
            (RunLine::Snapshot(s), true) => snapshots.push(s),
            (RunLine::End(r), true) => result = Some(r),
            (RunLine::Mpc(seg), true) => segments.push((snapshots.len(), seg)),
            (RunLine::MpcEnd(r), true) => mpc_result = Some(r),
        }
    }
    let header = header.ok_or_else(|| parse_err(1, "empty file".into()))?;
    Ok(Run {
        header,
        snapshots,
        result,
        segments,
        mpc_result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::runner::{run_trial, Budget};
    use crate::plan::testkit::{same_except_time, wall_linear_problem};
    use crate::plan::PlannerKind;

    #[test]
    fn a_run_round_trips_with_cadence_syncs_and_the_last_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let (model, problem) = wall_linear_problem(4);
        let params = PlannerKind::GraspNoNoise.default_params();
        let mp = ModelProblem::from_problem(&problem, model.as_ref()).unwrap();
        let info = ModelInfo {
            path: None,
            state_dim: 2,
            action_dim: 10,
        };
        let header = RunHeader::new(
            "grasp-nonoise",
            params.clone(),
            9,
            problem.clone(),
            mp,
            info,
            7,
        );
        let mut w = RunWriter::create(&path, &header).unwrap();
        let mut all = Vec::new();
        let result = run_trial(&problem, model, &params, 9, Budget::iters(60), 0, |s| {
            w.offer(s).unwrap();
            all.push((**s).clone());
        })
        .unwrap();
        assert!(!path.exists(), "only the temp file exists until finish");
        w.finish(all.last(), Some(&result)).unwrap();
        let run = read_run(&path).unwrap();
        assert_eq!(run.header, header);
        let got = run.result.clone().unwrap();
        assert_eq!(got.model_actions, result.model_actions);
        assert_eq!(got.success, result.success);
        let want: Vec<usize> = all
            .iter()
            .filter(|s| s.iteration % 7 == 0 || s.phase == Phase::Sync || s.iteration == 59)
            .map(|s| s.iteration)
            .collect();
        let got: Vec<usize> = run.snapshots.iter().map(|s| s.iteration).collect();
        assert_eq!(got, want);
        assert!(got.contains(&49));
        for s in &run.snapshots {
            // f32 data round-trips exactly; the f64 time to serde_json's parsing precision.
            assert!(same_except_time(s, &all[s.iteration]));
            assert!((s.planner_time_s - all[s.iteration].planner_time_s).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_files_give_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        std::fs::write(&p, "{\"kind\":\"snapshot\"}\n").unwrap();
        let e = read_run(&p).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        std::fs::write(&p, "not json\n").unwrap();
        assert!(read_run(&p).is_err());
        assert!(read_run(&dir.path().join("missing.jsonl")).is_err());
    }
}
