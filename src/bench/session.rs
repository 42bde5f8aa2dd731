//! A run's output directory and its lifecycle: create or resume (`run.json` + `trials.csv`), run the pending
//! trials through a caller-supplied executor while appending each row and refreshing the summary, and merge
//! the directories of several shards into one.
//!
//! Layout of a run directory: `run.json` (the manifest: config, shard, machine, command), `trials.csv` (one
//! row per finished trial), `summary.json`, `summary.md`, `success_rate.png`, `time_to_success.png`,
//! `success_over_time.csv` and `success_over_time_H<h>.png`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::plot::write_plots;
use super::protocol::{BenchConfig, Contender, Shard, TrialBudget, TrialKey};
use super::summary::{summarize, to_markdown, Summary};
use super::trial_log::{read_log, TrialLog, TrialRecord};
use super::BenchError;

/// Manifest file name.
pub const MANIFEST: &str = "run.json";
/// Trial log file name.
pub const TRIALS: &str = "trials.csv";
/// Manifest format version.
const FORMAT: u32 = 1;

/// What `run.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version (1).
    pub format: u32,
    /// "bench" or "tune".
    pub kind: String,
    /// The run's configuration; resume and merge require it to match exactly.
    pub config: BenchConfig,
    /// Which slice this directory holds.
    pub shard: Shard,
    /// Machines that produced the rows.
    pub machine: Vec<String>,
    /// The command line that started the run.
    pub command: String,
}

/// An open run directory ready to run its pending trials.
pub struct Session {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Rows already present (from a resumed run).
    pub done: Vec<TrialRecord>,
    log: TrialLog,
}

/// What to do with a torn last line or other notices: printed by the caller.
pub type Notices = Vec<String>;

/// Runs one trial: (contender, trial, problem seed, budget) → its row.
pub type TrialExecutor<'a> =
    dyn FnMut(&Contender, &TrialKey, u64, TrialBudget) -> Result<TrialRecord, BenchError> + 'a;

fn read_manifest(dir: &Path) -> Result<Manifest, BenchError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| BenchError::Corrupt {
        path: path.clone(),
        line: e.line(),
        msg: e.to_string(),
    })?;
    if m.format != FORMAT {
        return Err(BenchError::Corrupt {
            path,
            line: 1,
            msg: format!("format {} is not supported (expected {FORMAT})", m.format),
        });
    }
    Ok(m)
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), BenchError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| BenchError::Internal(format!("serializing {}: {e}", path.display())))?;
    crate::util::write_atomic(path, format!("{text}\n").as_bytes())
        .map_err(|e| BenchError::io(path, e))
}

/// Whether two configs run the same trials. `settings_source` only describes where the planner settings came
/// from (the `--tuned` path as typed, which differs between `./f.json` and `f.json` or across mounts); the
/// settings themselves are in the contenders, so it is left out.
fn same_run(a: &BenchConfig, b: &BenchConfig) -> bool {
    a == b || {
        let b = BenchConfig {
            settings_source: a.settings_source.clone(),
            ..b.clone()
        };
        *a == b
    }
}

/// Names the first top-level field where two configs differ (for resume/merge errors).
fn config_difference(a: &BenchConfig, b: &BenchConfig) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return "settings".into();
    };
    a.iter()
        .find(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| field_meaning(k))
        .unwrap_or_else(|| "settings".into())
}

/// A config field name as the user knows it (the flags that set it).
fn field_meaning(field: &str) -> String {
    match field {
        "contenders" => {
            "the planners, their order or settings (--planners, --ablations, --tuned, --mpc, --and-open-loop)"
                .into()
        }
        "horizons" => "--horizons".into(),
        "problems" => "--problems".into(),
        "seed" => "--seed".into(),
        "budget" => "the budget (--budget-s, --iters, --scale-iters, --budget-file)".into(),
        "env" => "--env".into(),
        "model" => "the world model (--model)".into(),
        "settings_source" => "the planner settings file (--tuned, --no-tuned)".into(),
        other => other.into(),
    }
}

/// Checks that `rec` is a trial of `config` in `shard`, run with the budget and cadence the config implies.
fn check_record(config: &BenchConfig, shard: Shard, rec: &TrialRecord) -> Result<(), String> {
    let key = rec.key();
    let contender = config
        .contender(&rec.planner)
        .ok_or_else(|| format!("unknown planner '{}' for this run", rec.planner))?;
    if !config.has_trial(&key) {
        return Err(format!("trial '{key}' is not part of this run"));
    }
    if !shard.owns(rec.problem) {
        return Err(format!(
            "trial '{key}' belongs to another shard than {shard}"
        ));
    }
    let seed = config
        .problem_seed(rec.problem)
        .map_err(|e| e.to_string())?;
    if rec.problem_seed != seed {
        return Err(format!(
            "trial '{key}' has seed {} (expected {seed})",
            rec.problem_seed
        ));
    }
    let b = config
        .budget
        .trial_budget(&rec.planner, rec.horizon)
        .map_err(|e| e.to_string())?;
    if (rec.max_iters, rec.max_seconds) != (b.max_iters, b.max_seconds)
        || rec.check_every != contender.check_every
    {
        return Err(format!(
            "trial '{key}' ran with another budget or check interval"
        ));
    }
    Ok(())
}

/// Reads and checks a directory's rows; `notices` collects warnings (e.g. a dropped torn line). The flag
/// says the file must be rewritten before appending (a torn line was dropped, or it has the legacy header).
fn load_rows(
    dir: &Path,
    m: &Manifest,
    notices: &mut Notices,
) -> Result<(Vec<TrialRecord>, bool), BenchError> {
    let path = dir.join(TRIALS);
    let loaded = read_log(&path)?;
    let mut seen = BTreeMap::new();
    for (i, rec) in loaded.records.iter().enumerate() {
        let corrupt = |msg: String| BenchError::Corrupt {
            path: path.clone(),
            line: i + 2,
            msg,
        };
        check_record(&m.config, m.shard, rec).map_err(corrupt)?;
        if let Some(first) = seen.insert(rec.key(), i + 2) {
            return Err(corrupt(format!(
                "trial '{}' appears twice (also on line {first})",
                rec.key()
            )));
        }
    }
    let rewrite = loaded.torn_tail.is_some() || loaded.legacy;
    if let Some(tail) = loaded.torn_tail {
        notices.push(format!(
            "{}: ignoring an incomplete last line from an interrupted write ({} bytes); that trial will run again",
            path.display(),
            tail.len()
        ));
    }
    Ok((loaded.records, rewrite))
}

impl Session {
    /// Opens `dir` for `manifest`: a fresh run, or with `resume` the continuation of the run already there
    /// (which must have the same config and shard). Errors without touching anything if `dir` holds a run
    /// and `resume` is off, or if it cannot be written.
    pub fn open(
        dir: &Path,
        manifest: Manifest,
        resume: bool,
        notices: &mut Notices,
    ) -> Result<Session, BenchError> {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
        let manifest_path = dir.join(MANIFEST);
        let trials_path = dir.join(TRIALS);
        let exists = manifest_path.exists() || trials_path.exists();
        if exists && !resume {
            return Err(BenchError::Config(format!(
                "{} already holds a run; pass --resume to continue it or choose another --out",
                dir.display()
            )));
        }
        if !exists {
            if resume {
                notices.push(format!(
                    "{}: nothing to resume, starting a new run",
                    dir.display()
                ));
            }
            write_json(&manifest_path, &manifest)?;
            let log = TrialLog::create(&trials_path)?;
            return Ok(Session {
                dir: dir.to_path_buf(),
                manifest,
                done: Vec::new(),
                log,
            });
        }
        let old = read_manifest(dir)?;
        if old.kind != manifest.kind || !same_run(&old.config, &manifest.config) {
            return Err(BenchError::Config(format!(
                "--resume: {} was started with different settings (changed: {}); rerun with the \
                 original settings or choose another --out",
                dir.display(),
                if old.kind != manifest.kind {
                    "kind".to_string()
                } else {
                    config_difference(&old.config, &manifest.config)
                }
            )));
        }
        if old.shard != manifest.shard {
            return Err(BenchError::Config(format!(
                "--resume: {} holds shard {}, not {}",
                dir.display(),
                old.shard,
                manifest.shard
            )));
        }
        let (done, rewrite) = load_rows(dir, &old, notices)?;
        let mut merged = old.clone();
        for m in &manifest.machine {
            if !merged.machine.contains(m) {
                merged.machine.push(m.clone());
            }
        }
        if merged != old {
            write_json(&manifest_path, &merged)?;
        }
        let ends_with_newline = std::fs::read(&trials_path)
            .map(|b| b.ends_with(b"\n"))
            .unwrap_or(false);
        let log = if rewrite || !ends_with_newline {
            TrialLog::rewrite(&trials_path, &done)?
        } else {
            TrialLog::open_existing(&trials_path)?
        };
        Ok(Session {
            dir: dir.to_path_buf(),
            manifest: merged,
            done,
            log,
        })
    }

    /// Trials of this shard without a row yet, in execution order.
    pub fn pending(&self) -> Vec<TrialKey> {
        let done: std::collections::BTreeSet<TrialKey> =
            self.done.iter().map(TrialRecord::key).collect();
        self.manifest
            .config
            .trials(self.manifest.shard)
            .into_iter()
            .filter(|k| !done.contains(k))
            .collect()
    }

    /// Runs every pending trial through `exec`, appending each row as it completes and refreshing
    /// `summary.json`/`summary.md`; `on_row` sees each new row. Writes the plots at the end.
    pub fn run(
        &mut self,
        exec: &mut TrialExecutor<'_>,
        on_row: &mut dyn FnMut(&TrialRecord),
    ) -> Result<Summary, BenchError> {
        let config = self.manifest.config.clone();
        for key in self.pending() {
            let contender = config
                .contender(&key.planner)
                .ok_or_else(|| BenchError::Internal(format!("no contender '{}'", key.planner)))?;
            let seed = config.problem_seed(key.problem)?;
            let budget = config.budget.trial_budget(&key.planner, key.horizon)?;
            let rec = exec(contender, &key, seed, budget)?;
            check_record(&config, self.manifest.shard, &rec)
                .map_err(|m| BenchError::Internal(format!("executor returned a bad row: {m}")))?;
            self.log.append(&rec)?;
            self.done.push(rec);
            on_row(self.done.last().unwrap_or_else(|| unreachable!()));
            self.write_summary(false)?;
        }
        self.write_summary(true)
    }

    /// Writes the summary files (and the plots when `plots`) for the rows so far.
    pub fn write_summary(&self, plots: bool) -> Result<Summary, BenchError> {
        let mut s = summarize(
            &self.manifest.config,
            &self.done,
            self.manifest.machine.clone(),
        );
        let shard = self.manifest.shard;
        if shard != Shard::ALL {
            s.shard = Some(super::summary::ShardProgress {
                shard: shard.to_string(),
                trials_expected: self.manifest.config.trials(shard).len(),
            });
        }
        write_reports(&self.dir, &s, &self.done, plots)?;
        Ok(s)
    }
}

/// Writes summary.json and summary.md (and, when `plots`, the PNG plots and the success-over-time curves of
/// `records`, CSV and PNG) into `dir`.
pub fn write_reports(
    dir: &Path,
    s: &Summary,
    records: &[TrialRecord],
    plots: bool,
) -> Result<(), BenchError> {
    write_json(&dir.join("summary.json"), s)?;
    let md_path = dir.join("summary.md");
    crate::util::write_atomic(&md_path, to_markdown(s).as_bytes())
        .map_err(|e| BenchError::io(&md_path, e))?;
    if plots {
        write_plots(s, dir)?;
        let curves = super::curves::success_over_time(&s.config, records);
        super::curves::write_csv(&curves, dir)?;
        super::curve_plot::write_curve_plots(&s.env, &curves, &s.title_status(), dir)?;
    }
    Ok(())
}

/// Merges shard directories into `out`: checks they share one config and do not overlap, writes the union of
/// their rows (in trial order) as a complete run directory with summary and plots. Source directories are not
/// modified; a torn last line in a source is ignored with a notice.
pub fn merge(dirs: &[PathBuf], out: &Path, notices: &mut Notices) -> Result<Summary, BenchError> {
    let Some(first) = dirs.first() else {
        return Err(BenchError::Config(
            "bench merge needs at least one directory".into(),
        ));
    };
    let out_abs = std::fs::canonicalize(out).ok();
    let reference = read_manifest(first)?;
    let mut rows: BTreeMap<TrialKey, (TrialRecord, PathBuf)> = BTreeMap::new();
    let mut machine: Vec<String> = Vec::new();
    for dir in dirs {
        if out_abs.is_some() && std::fs::canonicalize(dir).ok() == out_abs {
            return Err(BenchError::Config(format!(
                "the merge output {} must differ from the inputs",
                out.display()
            )));
        }
        let m = read_manifest(dir)?;
        if m.kind != reference.kind || !same_run(&reference.config, &m.config) {
            return Err(BenchError::Config(format!(
                "{} and {} are different runs (they differ in {})",
                first.display(),
                dir.display(),
                config_difference(&reference.config, &m.config)
            )));
        }
        for mach in &m.machine {
            if !machine.contains(mach) {
                machine.push(mach.clone());
            }
        }
        let (recs, _) = load_rows(dir, &m, notices)?;
        for rec in recs {
            if let Some((_, other)) = rows.get(&rec.key()) {
                return Err(BenchError::Config(format!(
                    "trial '{}' is in both {} and {} (overlapping shards)",
                    rec.key(),
                    other.display(),
                    dir.display()
                )));
            }
            rows.insert(rec.key(), (rec, dir.clone()));
        }
    }
    let config = reference.config.clone();
    let order = config.trials(Shard::ALL);
    let records: Vec<TrialRecord> = order
        .iter()
        .filter_map(|k| rows.get(k).map(|(r, _)| r.clone()))
        .collect();
    std::fs::create_dir_all(out).map_err(|e| BenchError::io(out, e))?;
    if out.join(MANIFEST).exists() || out.join(TRIALS).exists() {
        return Err(BenchError::Config(format!(
            "{} already holds a run; merge into an empty directory",
            out.display()
        )));
    }
    let manifest = Manifest {
        shard: Shard::ALL,
        machine: machine.clone(),
        command: format!("bench merge of {} directories", dirs.len()),
        ..reference
    };
    write_json(&out.join(MANIFEST), &manifest)?;
    TrialLog::rewrite(&out.join(TRIALS), &records)?;
    let s = summarize(&config, &records, machine);
    write_reports(out, &s, &records, true)?;
    Ok(s)
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
