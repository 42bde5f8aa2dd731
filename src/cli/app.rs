//! `grasp-explorer app` (and no arguments): opens the explorer window. Placeholder until the app lands.

/// Arguments of `app`.
#[derive(Debug, clap::Args)]
pub struct AppArgs {}

/// Runs `app`.
pub fn run(_args: AppArgs) -> anyhow::Result<()> {
    anyhow::bail!("the app is not built yet")
}

/// No subcommand: the app, or help when the app is not built yet.
pub fn run_default() -> anyhow::Result<()> {
    use clap::CommandFactory;
    super::Cli::command().print_help()?;
    Ok(())
}
