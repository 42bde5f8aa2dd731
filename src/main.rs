//! The `grasp-explorer` binary: with no arguments it opens the explorer app; subcommands do everything else
//! headless (simulate, train, plan, bench, tune, record).

mod cli;

fn main() {
    let parsed = cli::parse_args();
    let result = cli::run(parsed);
    if let Err(err) = result {
        eprintln!("error: {}", cli::one_line(&err));
        std::process::exit(cli::exit_code(&err));
    }
}
