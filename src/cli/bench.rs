//! `grasp-explorer bench`: placeholder until its issue lands (owned by the bench work).

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `bench`.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("'bench' is not built yet")
}
