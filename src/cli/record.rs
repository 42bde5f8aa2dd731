//! `grasp-explorer record`: placeholder until its issue lands (owned by the record work).

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {}

/// Runs `record`.
pub fn run(_args: RecordArgs) -> anyhow::Result<()> {
    anyhow::bail!("'record' is not built yet")
}
