//! `grasp-explorer tune`: placeholder until its issue lands (owned by the tune work).

/// Arguments of `tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {}

/// Runs `tune`.
pub fn run(_args: TuneArgs) -> anyhow::Result<()> {
    anyhow::bail!("'tune' is not built yet")
}
