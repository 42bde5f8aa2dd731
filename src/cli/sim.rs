//! `grasp-explorer sim`: placeholder until its issue lands (owned by the sim work).

/// Arguments of `sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {}

/// Runs `sim`.
pub fn run(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("'sim' is not built yet")
}
