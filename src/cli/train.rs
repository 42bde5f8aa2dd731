//! `grasp-explorer train`: placeholder until its issue lands (owned by the train work).

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {}

/// Runs `train`.
pub fn run(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("'train' is not built yet")
}
