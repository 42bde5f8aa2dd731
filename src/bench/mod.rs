//! The benchmark protocol behind `grasp-explorer bench` and `tune`: which planners run on which problems under
//! what budget ([`protocol`]), the per-trial CSV log with resume and corruption detection ([`trial_log`]),
//! run directories, resume and shard merging ([`session`]), statistics ([`stats`]), reports
//! ([`summary`], [`plot`], the success-over-time curves [`curves`] and their plots [`curve_plot`], the
//! plots' legend strip [`legend`]), planner settings and tuned-settings files ([`settings`]), the tuning grid
//! ([`tune`]), the executor that runs one trial with a real planner and simulator (`exec`), and closed-loop
//! (MPC) trials under the same budget ([`closed_loop`]).

pub mod closed_loop;
pub mod curve_plot;
pub mod curves;
pub mod exec;
pub mod legend;
pub mod plot;
pub mod protocol;
pub mod session;
pub mod settings;
pub mod settings_source;
pub mod stats;
pub mod summary;
pub mod trial_log;
pub mod tune;

use std::path::{Path, PathBuf};

pub use protocol::{BenchConfig, BudgetPolicy, Contender, IterTable, Shard, TrialBudget, TrialKey};
pub use session::{merge, Manifest, Session};
pub use summary::{CellSummary, Summary};
pub use trial_log::TrialRecord;

/// Errors of the benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad settings: empty lists, unknown names, mismatched resume, overlapping shards.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file exists but does not parse or does not fit the run; nothing was changed.
    #[error("{path} is corrupt at line {line}: {msg} (the file was left unchanged)")]
    Corrupt {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    /// A trial could not run (problem generation, model, planner).
    #[error("{0}")]
    Trial(String),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BenchError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        BenchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
