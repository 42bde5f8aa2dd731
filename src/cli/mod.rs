//! Command-line interface (clap derive): one module per subcommand, each with its `Args` struct and `run`.
//! Errors are `anyhow` here; a [`UsageError`] anywhere in the chain exits with code 2, anything else with 1.

use clap::{Parser, Subcommand};

pub mod app;
pub mod bench;
pub mod model;
pub mod plan;
pub mod progress;
pub mod record;
pub mod sim;
pub mod train;
pub mod tune;

/// A bad command-line value: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns a usage error (exit code 2) as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Exit code for an error: 2 for usage errors, 1 for runtime errors.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err
        .chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
    {
        2
    } else {
        1
    }
}

/// The error as one line: its messages joined by ": ", leaving out a cause that the message enclosing it
/// already ends with (many library errors print their I/O cause themselves and also expose it as `source`).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let msg = cause.to_string();
        if line.ends_with(&msg) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&msg);
    }
    line
}

/// grasp-explorer: watch GRASP and its baselines plan through learned world models.
#[derive(Debug, Parser)]
#[command(name = "grasp-explorer", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands. With none, the app opens.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the explorer window (the default with no subcommand).
    App(app::AppArgs),
    /// Roll a simulator with a policy or given actions; print the final state, write a PNG or trace.
    Sim(sim::SimArgs),
    /// Train a world model from simulator data.
    Train(train::TrainArgs),
    /// Inspect world models (`model eval`).
    Model(model::ModelArgs),
    /// Plan one problem with one planner; judge the plan in the simulator.
    Plan(plan::PlanArgs),
    /// Run the benchmark protocol: success rate and time-to-success against horizon.
    Bench(bench::BenchArgs),
    /// Sweep planner hyper-parameters on tuning seeds; write the chosen settings for `bench`.
    Tune(tune::TuneArgs),
    /// Record a video of an optimization run without a window.
    Record(record::RecordArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => app::run_default(),
        Some(Command::App(a)) => app::run(a),
        Some(Command::Sim(a)) => sim::run(a),
        Some(Command::Train(a)) => train::run(a),
        Some(Command::Model(a)) => model::run(a),
        Some(Command::Plan(a)) => plan::run(a),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Tune(a)) => tune::run(a),
        Some(Command::Record(a)) => record::run(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Quoting {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn one_line_drops_a_cause_already_quoted() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(Quoting {
            path: "/x.json".into(),
            source: io,
        });
        assert_eq!(one_line(&err), "/x.json: no such file");
        let wrapped = err.context("reading settings");
        assert_eq!(
            one_line(&wrapped),
            "reading settings: /x.json: no such file"
        );
    }
}
