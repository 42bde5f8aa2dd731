//! `plan --mpc`: one closed-loop episode (plan, execute the first steps in the simulator, replan from the real
//! state, warm-started) printed as text or one JSON object, with `--save-run` writing the MPC structure
//! (a segment line per plan, docs/run-format.md) and `--out` the executed trajectory.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use grasp_explorer::env::{EnvKind, Problem, ENV_ACTION_DIM};
use grasp_explorer::model::WorldModel;
use grasp_explorer::plan::mpc::{run_mpc_trusting, MpcPlan, MpcResult, MpcSettings};
use grasp_explorer::plan::runfile::{MpcSegment, RunHeader, RunWriter};
use grasp_explorer::plan::{PlanError, PlannerKind, PlannerParams, Snapshot};
use grasp_explorer::util::write_atomic;

use super::usage;

/// What the closed-loop run needs from `plan`'s arguments.
pub struct ClosedLoop<'a> {
    pub env: EnvKind,
    pub kind: PlannerKind,
    pub seed: u64,
    pub params: &'a PlannerParams,
    pub mpc: &'a MpcSettings,
    pub model_path: String,
    pub json: bool,
    pub out: Option<&'a Path>,
    pub save_run: Option<(RunHeader, &'a Path)>,
    /// Planner threads lent to every plan.
    pub parallel: grasp_explorer::plan::Parallel,
    /// `--mpc-execute trust`: execute each plan up to its trust horizon.
    pub trust: Option<grasp_explorer::plan::mpc::TrustExecution>,
}

/// The `--json` object of an MPC episode.
#[derive(serde::Serialize)]
struct MpcReport<'a> {
    env: &'a str,
    planner: &'a str,
    mode: &'static str,
    horizon: usize,
    seed: u64,
    success: bool,
    final_success: bool,
    success_step: Option<usize>,
    final_distance: f32,
    replans: usize,
    mpc_steps: &'a [MpcPlan],
    executed_env_states: &'a [Vec<f32>],
    iterations: usize,
    planning_time_s: f64,
    time_to_success_s: Option<f64>,
    overhead_s: f64,
    diverged: Option<&'a str>,
    model: &'a str,
    params: &'a PlannerParams,
    mpc: &'a MpcSettings,
    /// `--mpc-execute trust`: the trust threshold deciding how many steps each plan executes.
    #[serde(skip_serializing_if = "Option::is_none")]
    adaptive_threshold: Option<f32>,
}

/// Runs the episode, writes the files asked for and prints the result; divergence is an error after printing.
pub fn run(
    problem: &Problem,
    model: Arc<dyn WorldModel>,
    cl: ClosedLoop<'_>,
) -> anyhow::Result<()> {
    let mut writer = match &cl.save_run {
        Some((header, path)) => Some(
            RunWriter::create(path, header)
                .with_context(|| format!("--save-run {}", path.display()))?,
        ),
        None => None,
    };
    let mut write_err = None;
    let mut current: Option<usize> = None;
    let mut last: Option<Arc<Snapshot>> = None;
    let adaptive_threshold = cl.trust.as_ref().map(|t| t.threshold);
    let result = run_mpc_trusting(
        problem,
        model.clone(),
        cl.params,
        cl.seed,
        cl.mpc,
        &cl.parallel,
        cl.trust.clone(),
        |view, snap| {
            let Some(w) = writer.as_mut() else { return };
            if write_err.is_some() {
                return;
            }
            let seg = (current != Some(view.step)).then(|| MpcSegment {
                step: view.step,
                executed: view.executed,
                horizon: snap.horizon,
                executed_env_states: view.executed_env_states.to_vec(),
            });
            let written = match &seg {
                Some(seg) => w.begin_segment(last.as_deref(), seg),
                None => Ok(()),
            }
            .and_then(|()| w.offer(snap));
            current = Some(view.step);
            last = Some(snap.clone());
            if let Err(e) = written {
                write_err = Some(e);
            }
        },
    )
    .map_err(|e| match e {
        PlanError::InvalidParam { .. } => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    if let Some(e) = write_err {
        return Err(e).context("--save-run");
    }
    if let Some(w) = writer {
        w.finish_mpc(result.last_snapshot.as_deref(), &result)
            .context("--save-run")?;
    }
    if let Some(path) = cl.out {
        write_episode(path, problem, cl.kind, &result)?;
    }
    if cl.json {
        let report = MpcReport {
            env: cl.env.name(),
            planner: cl.kind.name(),
            mode: "mpc",
            horizon: problem.horizon,
            seed: cl.seed,
            success: result.success,
            final_success: result.final_success,
            success_step: result.success_step,
            final_distance: result.final_distance,
            replans: result.replans(),
            mpc_steps: &result.plans,
            executed_env_states: &result.executed_env_states,
            iterations: result.iterations,
            planning_time_s: result.planning_time_s,
            time_to_success_s: result.time_to_success_s,
            overhead_s: result.overhead_s,
            diverged: result.diverged.as_deref(),
            model: &cl.model_path,
            params: cl.params,
            mpc: cl.mpc,
            adaptive_threshold,
        };
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(problem, cl.kind, cl.seed, &result);
    }
    if let Some(msg) = result.diverged {
        anyhow::bail!("{msg} (episode stopped; its last state was judged)");
    }
    Ok(())
}

fn print_text(problem: &Problem, kind: PlannerKind, seed: u64, r: &MpcResult) {
    let verdict = match r.success_step {
        Some(s) => format!("success at step {s}"),
        None => "failure".into(),
    };
    outln!(
        "{} H={} seed={seed} {kind} (MPC): {verdict} (final distance {:.3}, {} replans)",
        problem.env,
        problem.horizon,
        r.final_distance,
        r.replans()
    );
    let first = match r.time_to_success_s {
        Some(t) => format!("; success after {t:.3} s planner time"),
        None => String::new(),
    };
    outln!(
        "{} iterations in {:.3} s planner time over {} plans, loop overhead {:.3} s{first}",
        r.iterations,
        r.planning_time_s,
        r.plans.len(),
        r.overhead_s
    );
    if let Some(d) = &r.diverged {
        outln!("{d}");
    }
}

/// The `--out` file of an MPC episode: what was executed, in env units.
#[derive(serde::Serialize)]
struct EpisodeFile<'a> {
    env: &'a str,
    planner: &'a str,
    mode: &'static str,
    horizon: usize,
    seed: u64,
    start: &'a [f32],
    goal: &'a [f32],
    success: bool,
    success_step: Option<usize>,
    final_distance: f32,
    /// Executed [x, y] env actions, 5 per model step.
    env_actions: Vec<Vec<f32>>,
    /// Simulator states after each executed model step (start first).
    sim_states: &'a [Vec<f32>],
}

fn write_episode(
    path: &Path,
    problem: &Problem,
    kind: PlannerKind,
    r: &MpcResult,
) -> anyhow::Result<()> {
    let doc = EpisodeFile {
        env: problem.env.name(),
        planner: kind.name(),
        mode: "mpc",
        horizon: problem.horizon,
        seed: problem.seed,
        start: &problem.start,
        goal: &problem.goal,
        success: r.success,
        success_step: r.success_step,
        final_distance: r.final_distance,
        env_actions: r
            .env_actions
            .chunks(ENV_ACTION_DIM)
            .map(|c| c.to_vec())
            .collect(),
        sim_states: &r.executed_env_states,
    };
    let text = serde_json::to_string(&doc)? + "\n";
    write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
