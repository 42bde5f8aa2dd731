//! `grasp-explorer plan`: placeholder until its issue lands (owned by the plan work).

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

/// Runs `plan`.
pub fn run(_args: PlanArgs) -> anyhow::Result<()> {
    anyhow::bail!("'plan' is not built yet")
}
