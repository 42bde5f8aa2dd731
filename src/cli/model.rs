//! `grasp-explorer model`: placeholder until its issue lands (owned by the model work).

/// Arguments of `model`.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {}

/// Runs `model`.
pub fn run(_args: ModelArgs) -> anyhow::Result<()> {
    anyhow::bail!("'model' is not built yet")
}
