//! The per-trial CSV log (`trials.csv`): one row per finished trial, appended and flushed as each trial
//! completes, so an interrupted run loses nothing; reading it back for `--resume` and `bench merge` with
//! corruption detection.
//!
//! Crash semantics: a row is written with a single `write_all` then `sync_data`. If the process dies mid-write
//! the file ends without a newline; on resume that torn last line is dropped (its trial simply reruns) after
//! a warning. Anything else that does not parse — a bad header, a malformed or out-of-range row anywhere — is a
//! corrupt log: reading fails with the line number and the file is left untouched.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::protocol::TrialKey;
use super::BenchError;

/// One finished trial: its key, the budget it ran under, and the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// Contender label.
    pub planner: String,
    /// Horizon T (world-model steps).
    pub horizon: usize,
    /// Problem index i.
    pub problem: usize,
    /// Problem seed (run seed + i).
    pub problem_seed: u64,
    /// Reached the goal region when the plan was executed open-loop in the simulator.
    pub success: bool,
    /// Planner time at the first successful check, seconds (empty if never).
    pub time_to_success_s: Option<f64>,
    /// Planner time used, seconds (success checks excluded).
    pub planning_time_s: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Iterations per second of planner time.
    pub iters_per_s: f64,
    /// Final goal distance of the executed plan (env units, the quantity the success rule thresholds).
    pub final_distance: f64,
    /// ‖rollout_T(final plan) − g‖₂ of the world model, model space (how close the model thinks it got).
    pub model_terminal_error: f64,
    /// Iteration budget of the trial (empty if none).
    pub max_iters: Option<usize>,
    /// Planner-time budget of the trial, seconds (empty if none).
    pub max_seconds: Option<f64>,
    /// Success check interval, iterations.
    pub check_every: usize,
    /// Why the optimizer diverged (empty if it did not).
    pub diverged: Option<String>,
    /// The env's success rule held on the decoded terminal state of the final plan's model rollout (MPC:
    /// the first plan's): success *under the model*. Empty in logs written before it was recorded.
    #[serde(default)]
    pub model_success: Option<bool>,
}

/// Column names, in order; a log whose header is neither this nor [`LEGACY_COLUMNS`] is rejected.
pub const HEADER: [&str; 16] = [
    "planner",
    "horizon",
    "problem",
    "problem_seed",
    "success",
    "time_to_success_s",
    "planning_time_s",
    "iterations",
    "iters_per_s",
    "final_distance",
    "model_terminal_error",
    "max_iters",
    "max_seconds",
    "check_every",
    "diverged",
    "model_success",
];

/// Columns of logs written before `model_success` existed (its first 15 columns); still read, and
/// rewritten in the current format when a run is resumed.
pub const LEGACY_COLUMNS: usize = 15;

/// What a finished trial measured, open-loop or closed-loop; [`TrialRecord::new`] adds where it ran.
#[derive(Clone, Debug)]
pub struct TrialOutcome {
    /// The success rule held (open loop: the final plan; MPC: at any replanning point).
    pub success: bool,
    /// Planner time to the first success (dropped unless `success`).
    pub time_to_success_s: Option<f64>,
    /// Planner time over the trial.
    pub planning_time_s: f64,
    /// Iterations over the trial.
    pub iterations: usize,
    /// Env-unit distance of the final state to the goal.
    pub final_distance: f32,
    /// ‖rollout_T − g‖ under the model (MPC: the first plan's).
    pub model_terminal_error: f32,
    /// "diverged at …" if the planner diverged.
    pub diverged: Option<String>,
    /// Success under the model (open loop: the final plan; MPC: the first plan).
    pub model_success: bool,
}

impl TrialRecord {
    /// The row of `outcome` for trial `key` on problem seed `seed` under `budget`.
    pub fn new(
        key: &TrialKey,
        seed: u64,
        budget: super::protocol::TrialBudget,
        check_every: usize,
        outcome: TrialOutcome,
    ) -> TrialRecord {
        let o = outcome;
        TrialRecord {
            planner: key.planner.clone(),
            horizon: key.horizon,
            problem: key.problem,
            problem_seed: seed,
            success: o.success,
            time_to_success_s: if o.success { o.time_to_success_s } else { None },
            planning_time_s: o.planning_time_s,
            iterations: o.iterations,
            iters_per_s: if o.planning_time_s > 0.0 {
                o.iterations as f64 / o.planning_time_s
            } else {
                0.0
            },
            final_distance: f64::from(o.final_distance),
            model_terminal_error: f64::from(o.model_terminal_error),
            max_iters: budget.max_iters,
            max_seconds: budget.max_seconds,
            check_every,
            diverged: o.diverged,
            model_success: Some(o.model_success),
        }
    }

    /// The trial this row belongs to.
    pub fn key(&self) -> TrialKey {
        TrialKey {
            planner: self.planner.clone(),
            horizon: self.horizon,
            problem: self.problem,
        }
    }

    /// Internal consistency: finite non-negative times, a success time iff success.
    fn check(&self) -> Result<(), String> {
        let finite_nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} = {v} is not a finite number >= 0"))
            }
        };
        finite_nonneg("planning_time_s", self.planning_time_s)?;
        finite_nonneg("iters_per_s", self.iters_per_s)?;
        match (self.success, self.time_to_success_s) {
            (true, Some(t)) => finite_nonneg("time_to_success_s", t),
            (false, None) => Ok(()),
            (true, None) => Err("success without time_to_success_s".into()),
            (false, Some(_)) => Err("time_to_success_s without success".into()),
        }
    }
}

/// Serializes one record as a CSV line (with newline).
fn row_bytes(rec: &TrialRecord) -> Result<Vec<u8>, BenchError> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.serialize(rec)
        .map_err(|e| BenchError::Internal(format!("serializing a trial row: {e}")))?;
    w.into_inner()
        .map_err(|e| BenchError::Internal(format!("serializing a trial row: {e}")))
}

/// The log's header line (with newline).
pub fn header_line() -> String {
    format!("{}\n", HEADER.join(","))
}

/// The header line of a legacy log (with newline).
fn legacy_header_line() -> String {
    format!("{}\n", HEADER[..LEGACY_COLUMNS].join(","))
}

/// An open log, appending one flushed row per trial.
pub struct TrialLog {
    file: File,
    path: PathBuf,
}

impl TrialLog {
    /// Creates a new log holding only the header (atomically), then opens it for appending. Fails if the
    /// file exists.
    pub fn create(path: &Path) -> Result<Self, BenchError> {
        if path.exists() {
            return Err(BenchError::Config(format!(
                "{} already exists",
                path.display()
            )));
        }
        crate::util::write_atomic(path, header_line().as_bytes())
            .map_err(|e| BenchError::io(path, e))?;
        Self::open_existing(path)
    }

    /// Writes a complete log (header plus `records`) atomically and opens it for appending.
    pub fn rewrite(path: &Path, records: &[TrialRecord]) -> Result<Self, BenchError> {
        let mut bytes = header_line().into_bytes();
        for r in records {
            bytes.extend(row_bytes(r)?);
        }
        crate::util::write_atomic(path, &bytes).map_err(|e| BenchError::io(path, e))?;
        Self::open_existing(path)
    }

    /// Opens an existing, well-formed log (ending in a newline) for appending.
    pub fn open_existing(path: &Path) -> Result<Self, BenchError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| BenchError::io(path, e))?;
        Ok(TrialLog {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one row and flushes it to disk before returning.
    pub fn append(&mut self, rec: &TrialRecord) -> Result<(), BenchError> {
        let bytes = row_bytes(rec)?;
        self.file
            .write_all(&bytes)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| BenchError::io(&self.path, e))
    }
}

/// A log read back from disk.
#[derive(Debug)]
pub struct LoadedLog {
    /// Every complete row, in file order.
    pub records: Vec<TrialRecord>,
    /// The text of a torn last line (no newline, does not parse) that was ignored, if any.
    pub torn_tail: Option<String>,
    /// The log has the legacy header (no `model_success` column); appending needs a rewrite first.
    pub legacy: bool,
}

/// Reads and checks a log (LF or CRLF line ends, e.g. after a Windows editor). Never modifies the file.
pub fn read_log(path: &Path) -> Result<LoadedLog, BenchError> {
    let bytes = lf_only(std::fs::read(path).map_err(|e| BenchError::io(path, e))?);
    let corrupt = |line: usize, msg: String| BenchError::Corrupt {
        path: path.to_path_buf(),
        line,
        msg,
    };
    let (current, legacy_header) = (header_line(), legacy_header_line());
    let legacy = bytes.starts_with(legacy_header.as_bytes());
    let (header, columns) = if legacy {
        (legacy_header, &HEADER[..LEGACY_COLUMNS])
    } else {
        (current, &HEADER[..])
    };
    if !bytes.starts_with(header.as_bytes()) {
        let first = String::from_utf8_lossy(bytes.split(|b| *b == b'\n').next().unwrap_or(&[]))
            .into_owned();
        return Err(corrupt(
            1,
            format!("header is '{first}', expected '{}'", header.trim_end()),
        ));
    }
    // A last line without newline is either a complete row (e.g. hand-edited) or a torn write.
    let (body, tail) = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(nl) if nl + 1 < bytes.len() => (&bytes[..=nl], Some(&bytes[nl + 1..])),
        _ => (&bytes[..], None),
    };
    let mut records = parse_rows(body, columns).map_err(|(line, msg)| corrupt(line, msg))?;
    let mut torn_tail = None;
    if let Some(tail) = tail {
        let mut with_header = header.clone().into_bytes();
        with_header.extend_from_slice(tail);
        with_header.push(b'\n');
        match parse_rows(&with_header, columns) {
            Ok(mut rows) if rows.len() == 1 => records.append(&mut rows),
            _ => torn_tail = Some(String::from_utf8_lossy(tail).into_owned()),
        }
    }
    Ok(LoadedLog {
        records,
        torn_tail,
        legacy,
    })
}

/// `bytes` with every CRLF turned into LF (a lone CR is kept).
fn lf_only(bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.windows(2).any(|w| w == b"\r\n") {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// Parses header + rows with the given columns; errors carry the 1-based file line.
fn parse_rows(bytes: &[u8], columns: &[&str]) -> Result<Vec<TrialRecord>, (usize, String)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let mut out = Vec::new();
    for (i, row) in rdr.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| (line, e.to_string()))?;
        if row.len() != columns.len() {
            return Err((
                line,
                format!("{} fields, expected {}", row.len(), columns.len()),
            ));
        }
        let rec: TrialRecord = row
            .deserialize(Some(&csv::StringRecord::from(columns.to_vec())))
            .map_err(|e| (line, e.to_string()))?;
        rec.check().map_err(|m| (line, m))?;
        out.push(rec);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A plausible record for tests.
    pub(crate) fn record(planner: &str, horizon: usize, problem: usize, ok: bool) -> TrialRecord {
        TrialRecord {
            planner: planner.into(),
            horizon,
            problem,
            problem_seed: 100 + problem as u64,
            success: ok,
            time_to_success_s: ok.then_some(0.125 * (problem + 1) as f64),
            planning_time_s: 1.5,
            iterations: 40,
            iters_per_s: 26.666_666_666_666_668,
            final_distance: 3.25 + problem as f64,
            model_terminal_error: 0.1,
            max_iters: Some(40),
            max_seconds: None,
            check_every: 5,
            diverged: (problem == 2).then(|| "loss is NaN, at \"iteration\" 3".to_string()),
            model_success: Some(ok || problem == 1),
        }
    }

    #[test]
    fn a_legacy_log_without_model_success_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trials.csv");
        let rec = record("grasp", 10, 1, false);
        let row = String::from_utf8(row_bytes(&rec).unwrap()).unwrap();
        // The legacy row is today's row without its last field.
        let legacy_row = format!("{}\n", row.trim_end().rsplit_once(',').unwrap().0);
        std::fs::write(&p, format!("{}{legacy_row}", legacy_header_line())).unwrap();
        let loaded = read_log(&p).unwrap();
        assert!(loaded.legacy);
        let expected = TrialRecord {
            model_success: None,
            ..rec.clone()
        };
        assert_eq!(loaded.records, vec![expected]);
        // Mixing the formats is corruption, not a silent guess.
        std::fs::write(&p, format!("{}{row}", legacy_header_line())).unwrap();
        assert!(matches!(
            read_log(&p),
            Err(BenchError::Corrupt { line: 2, .. })
        ));
        std::fs::write(&p, format!("{}{legacy_row}", header_line())).unwrap();
        assert!(matches!(
            read_log(&p),
            Err(BenchError::Corrupt { line: 2, .. })
        ));
    }

    #[test]
    fn rows_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trials.csv");
        let recs: Vec<_> = (0..4).map(|i| record("grasp", 10, i, i % 2 == 0)).collect();
        let mut log = TrialLog::create(&p).unwrap();
        for r in &recs {
            log.append(r).unwrap();
        }
        drop(log);
        let loaded = read_log(&p).unwrap();
        assert_eq!(loaded.records, recs);
        assert!(loaded.torn_tail.is_none());
        assert!(TrialLog::create(&p).is_err());
    }

    #[test]
    fn a_torn_last_line_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trials.csv");
        let mut log = TrialLog::create(&p).unwrap();
        log.append(&record("cem", 10, 0, true)).unwrap();
        drop(log);
        let full = row_bytes(&record("cem", 10, 1, true)).unwrap();
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&full[..full.len() / 2]).unwrap();
        drop(f);
        let loaded = read_log(&p).unwrap();
        assert_eq!(loaded.records.len(), 1);
        assert!(loaded.torn_tail.is_some());
        // A complete last row that only lacks its newline is kept.
        let mut f = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        f.write_all(header_line().as_bytes()).unwrap();
        f.write_all(full.strip_suffix(b"\n").unwrap()).unwrap();
        drop(f);
        let loaded = read_log(&p).unwrap();
        assert_eq!(loaded.records, vec![record("cem", 10, 1, true)]);
        assert!(loaded.torn_tail.is_none());
    }

    #[test]
    fn corruption_is_an_error_with_a_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trials.csv");
        let good = String::from_utf8(row_bytes(&record("gd", 10, 0, false)).unwrap()).unwrap();
        let cases = [
            ("planner,horizon\n".to_string(), 1),
            (format!("{}{good}gd,ten,1\n{good}", header_line()), 3),
            (
                format!("{}{good}{}", header_line(), good.replace("false", "maybe")),
                3,
            ),
            (format!("{}{}", header_line(), good.replace(",,", ",7,")), 2),
            (String::new(), 1),
        ];
        for (text, line) in cases {
            std::fs::write(&p, &text).unwrap();
            let err = read_log(&p).unwrap_err();
            match &err {
                BenchError::Corrupt { line: l, .. } => assert_eq!(*l, line, "{err}"),
                other => panic!("expected Corrupt, got {other}"),
            }
            assert_eq!(
                std::fs::read_to_string(&p).unwrap(),
                text,
                "file must be untouched"
            );
        }
    }
}
