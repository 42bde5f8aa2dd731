//! Command-line interface (clap derive): one module per subcommand, each with its `Args` struct and `run`.
//! Errors are `anyhow` here; a [`UsageError`] anywhere in the chain exits with code 2, anything else with 1.

use clap::{Parser, Subcommand};

#[macro_use]
pub mod output;

pub mod app;
pub mod bench;
pub mod finetune;
pub mod limits;
pub mod model;
pub mod mpc_args;
pub mod plan;
pub mod progress;
pub mod record;
pub mod sim;
pub mod train;
pub mod trust;
pub mod tune;

/// A bad command-line value: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns a usage error (exit code 2) as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The planner pool for `--threads N` (default: all cores); 0 is a usage error.
pub fn planner_pool(threads: Option<usize>) -> anyhow::Result<grasp_explorer::plan::Parallel> {
    use grasp_explorer::plan::Parallel;
    let n = threads.unwrap_or_else(Parallel::available_cores);
    if n == 0 {
        return Err(usage("--threads must be >= 1"));
    }
    Ok(Parallel::new(n)?)
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
/// already ends with (many library errors print their I/O cause themselves and also expose it as `source`),
/// with control characters (a CR or newline quoted from a file) escaped, so it stays one line.
pub fn one_line(err: &anyhow::Error) -> String {
    escape_controls(&joined(err))
}

/// `text` with every control character written as an escape (`\r`, `\n`, `\u{1b}`).
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn joined(err: &anyhow::Error) -> String {
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

/// The command-line grammar, with every value-taking flag accepting a leading minus, so `--problems -1` reaches
/// the value check ("invalid value '-1'…") instead of being read as an unknown flag `-1`.
pub fn command() -> clap::Command {
    fn negatives_are_values(cmd: clap::Command) -> clap::Command {
        cmd.mut_args(|a| {
            if a.get_action().takes_values() {
                a.allow_negative_numbers(true)
            } else {
                a
            }
        })
        .mut_subcommands(negatives_are_values)
    }
    negatives_are_values(<Cli as clap::CommandFactory>::command())
}

/// Parses the process arguments. Help and version print as usual (exit 0); any other parse error becomes the
/// first line of clap's message plus a pointer to `--help`, exit 2.
pub fn parse_args() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| match e.kind() {
        clap::error::ErrorKind::DisplayHelp
        | clap::error::ErrorKind::DisplayVersion
        | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            eprintln!("{}", usage_line(&e));
            std::process::exit(2);
        }
    })
}

/// Parses `args` (program name first) with [`command`].
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches)
}

/// A clap parse error as one line: its first line (with the arguments it lists after a colon, e.g. the
/// missing required ones) and where to look for the grammar.
pub fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().skip_while(|l| l.trim().is_empty());
    let mut first = lines.next().unwrap_or("error: bad arguments").to_string();
    if first.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
            .map(str::trim)
            .collect();
        if !listed.is_empty() {
            first = format!("{first} {}", listed.join(", "));
        }
    }
    format!("{} (see --help)", escape_controls(&first))
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
    /// Online fine-tuning: plan with the model, execute in the simulator, train on what happened; in rounds.
    Finetune(finetune::FinetuneArgs),
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

/// Runs the parsed command line. Headless subcommands first install the SIGINT/SIGTERM handler that deletes
/// unfinished temp files (the app keeps the window toolkit's own handling).
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if !matches!(cli.command, None | Some(Command::App(_))) {
        grasp_explorer::util::atomic::install_signal_cleanup()
            .map_err(|e| anyhow::anyhow!("cannot install the signal handler: {e}"))?;
    }
    match cli.command {
        None => app::run_default(),
        Some(Command::App(a)) => app::run(a),
        Some(Command::Sim(a)) => sim::run(a),
        Some(Command::Train(a)) => train::run(a),
        Some(Command::Finetune(a)) => finetune::run(a),
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

    fn usage(args: &str) -> String {
        let argv = std::iter::once("grasp-explorer").chain(args.split_whitespace());
        match parse_from(argv) {
            Ok(cli) => panic!("{args} parsed: {cli:?}"),
            Err(e) => usage_line(&e),
        }
    }

    #[test]
    fn the_grammar_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn negative_values_get_a_one_line_value_error() {
        let line = usage("bench --env pusht --planners grasp --horizons 10 --problems -1");
        assert!(
            line.starts_with("error: invalid value '-1' for '--problems"),
            "{line}"
        );
        assert!(
            line.ends_with("(see --help)") && !line.contains('\n'),
            "{line}"
        );
        let line = usage("record --env wall --fps -3 --out x.mp4");
        assert!(line.contains("invalid value '-3'"), "{line}");
        let line = usage("plan --env wall --horizon 4 --bogus");
        assert!(line.contains("unexpected argument '--bogus'"), "{line}");
        // A list flag takes the minus as a value and leaves the check to its own parser.
        let cli = parse_from([
            "grasp-explorer",
            "bench",
            "--env",
            "pusht",
            "--horizons",
            "-10",
        ]);
        assert!(cli.is_ok(), "{:?}", cli.err());
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
