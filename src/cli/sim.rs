//! `grasp-explorer sim`: roll a simulator from a problem's start (or a given state) with a policy or a file of
//! actions; print the final state and whether it meets the problem's goal; optionally write the final scene as a
//! PNG and every visited state as JSON lines.
//!
//! The problem is `Problem::generate(env, --horizon (default 10), --seed)`; its goal is what success is judged
//! against. Policies: `random` = smooth random actions (AR(1), see `env::policies`); `scripted` = Push-T's
//! scripted pusher, or a noisy goal seeker for PointMaze (routes through the U's connector) and Wall (routes
//! through the door). Exit codes: 2 for bad flag values (unknown env or policy, steps ≤ 0, a bad `--state`,
//! `--steps` beyond the actions given), 1 for file problems (unreadable or corrupt `--actions`, unwritable
//! outputs).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use grasp_explorer::env::policies::{Policy, PolicyKind};
use grasp_explorer::env::{render, scene, EnvKind, Problem, Rgba, Shape};
use grasp_explorer::record::palette;
use grasp_explorer::util::write_atomic_with;

use super::usage;

/// Largest accepted `--steps`, so a typo cannot start an hours-long run.
pub const MAX_STEPS: i64 = 1_000_000;
/// Side of the `--png` image, px.
pub const PNG_SIZE: u32 = 512;

/// Arguments of `sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: String,
    /// Problem seed (start, goal, and the policy's randomness).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Env steps to run (≥ 1). Required unless --actions is given (then defaults to all of its actions).
    #[arg(long)]
    pub steps: Option<i64>,
    /// Policy: random (smooth random actions) or scripted (pusher / goal seeker). Default scripted.
    #[arg(long, conflicts_with = "actions")]
    pub policy: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the final scene (start ghost, goal, trajectory, final bodies) as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Start from this state (comma-separated env-unit values) instead of the problem's start.
    #[arg(long, allow_hyphen_values = true)]
    pub state: Option<String>,
    /// Replay env actions from a file: a JSON array of [x, y] pairs or of numbers, or CSV with two columns.
    #[arg(long)]
    pub actions: Option<PathBuf>,
    /// Write every visited state as JSON lines ({"t", "action", "state"}).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Problem horizon in world-model steps (Push-T goals are 5·H pusher steps from the start).
    #[arg(long, default_value_t = 10)]
    pub horizon: usize,
}

/// The `--json` output.
#[derive(Debug, Serialize)]
struct SimReport {
    env: EnvKind,
    seed: u64,
    horizon: usize,
    steps: usize,
    policy: String,
    start: Vec<f32>,
    final_state: Vec<f32>,
    goal: Vec<f32>,
    distance: f32,
    success: bool,
}

/// One `--trace` line.
#[derive(Debug, Serialize)]
struct TraceLine<'a> {
    t: usize,
    action: Option<[f32; 2]>,
    state: &'a [f32],
}

/// Runs `sim`.
pub fn run(args: SimArgs) -> anyhow::Result<()> {
    let env: EnvKind = args.env.parse().map_err(usage)?;
    if args.horizon == 0 {
        return Err(usage("--horizon must be at least 1"));
    }
    super::limits::bound(
        "--horizon",
        args.horizon,
        grasp_explorer::util::limits::MAX_HORIZON,
    )?;
    let problem =
        Problem::generate(env, args.horizon, args.seed).map_err(|e| usage(e.to_string()))?;
    let start = match &args.state {
        Some(text) => parse_state(env, text)?,
        None => problem.start.clone(),
    };
    let file_actions = match &args.actions {
        Some(path) => Some(read_actions(path)?),
        None => None,
    };
    let steps = resolve_steps(args.steps, file_actions.as_deref(), args.actions.as_deref())?;
    let policy_kind: PolicyKind = match &args.policy {
        Some(p) => p.parse().map_err(usage)?,
        None => PolicyKind::Scripted,
    };
    let policy_name = match (&file_actions, &args.policy) {
        (Some(_), _) => "actions".to_string(),
        (None, Some(p)) => p.trim().to_ascii_lowercase(),
        (None, None) => "scripted".to_string(),
    };

    let mut sim = env.make();
    sim.set_state(&start)
        .map_err(|e| usage(format!("--state: {e}")))?;
    let mut policy = Policy::new(policy_kind, env, &problem.goal, args.seed);
    let mut states = Vec::with_capacity(steps + 1);
    let mut actions = Vec::with_capacity(steps);
    states.push(sim.state());
    for t in 0..steps {
        let a = match &file_actions {
            Some(list) => list[t],
            None => policy.act(&sim.state()),
        };
        sim.step(a);
        actions.push(a);
        states.push(sim.state());
    }
    let final_state = states.last().cloned().unwrap_or_default();
    let distance = env.goal_distance(&final_state, &problem.goal);
    let success = env.is_success(&final_state, &problem.goal);

    if let Some(path) = &args.trace {
        write_trace(path, &states, &actions)?;
    }
    if let Some(path) = &args.png {
        write_png(env, path, &states, &problem.goal)?;
    }
    let report = SimReport {
        env,
        seed: args.seed,
        horizon: args.horizon,
        steps,
        policy: policy_name,
        start,
        final_state,
        goal: problem.goal.clone(),
        distance,
        success,
    };
    if args.json {
        outln!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

fn print_text(r: &SimReport) {
    let fmt = |v: &[f32]| {
        let parts: Vec<String> = v.iter().map(|x| format!("{x:.3}")).collect();
        format!("[{}]", parts.join(", "))
    };
    outln!(
        "{} seed {} (horizon {}): {} steps, policy {}",
        r.env,
        r.seed,
        r.horizon,
        r.steps,
        r.policy
    );
    outln!("start  {}", fmt(&r.start));
    outln!("final  {}", fmt(&r.final_state));
    outln!("goal   {}", fmt(&r.goal));
    outln!(
        "distance to goal {:.3}: {}",
        r.distance,
        if r.success { "success" } else { "not reached" }
    );
}

/// Parses `--state` ("x,y,…") and checks its length against the env.
fn parse_state(env: EnvKind, text: &str) -> anyhow::Result<Vec<f32>> {
    let values: Result<Vec<f32>, _> = text.split(',').map(|s| s.trim().parse::<f32>()).collect();
    let values = values.map_err(|_| {
        usage(format!(
            "--state '{text}' is not a comma-separated list of numbers"
        ))
    })?;
    if values.len() != env.state_dim() {
        return Err(usage(format!(
            "--state has {} values; a {env} state has {}",
            values.len(),
            env.state_dim()
        )));
    }
    Ok(values)
}

/// The number of steps to run, from `--steps` and the actions file.
fn resolve_steps(
    steps: Option<i64>,
    actions: Option<&[[f32; 2]]>,
    path: Option<&Path>,
) -> anyhow::Result<usize> {
    if let Some(n) = steps {
        if n <= 0 {
            return Err(usage(format!("--steps must be at least 1, got {n}")));
        }
        if n > MAX_STEPS {
            return Err(usage(format!(
                "--steps must be at most {MAX_STEPS}, got {n}"
            )));
        }
    }
    match (steps, actions) {
        (Some(n), Some(list)) if n as usize > list.len() => Err(usage(format!(
            "--steps {n} exceeds the {} actions in {}",
            list.len(),
            path.map(|p| p.display().to_string()).unwrap_or_default()
        ))),
        (Some(n), _) => Ok(n as usize),
        (None, Some(list)) => Ok(list.len()),
        (None, None) => Err(usage("--steps is required unless --actions is given")),
    }
}

/// Reads env actions from a JSON array ([[x, y], …] or [x, y, x, y, …]) or a two-column CSV (an optional header
/// line, `#` comments).
pub fn read_actions(path: &Path) -> anyhow::Result<Vec<[f32; 2]>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read actions file {}", path.display()))?;
    let parsed = if text.trim_start().starts_with('[') {
        parse_json_actions(&text)
    } else {
        parse_csv_actions(&text)
    };
    let actions = parsed.with_context(|| format!("corrupt actions file {}", path.display()))?;
    if actions.is_empty() {
        anyhow::bail!("actions file {} holds no actions", path.display());
    }
    if let Some(i) = actions
        .iter()
        .position(|a| !a.iter().all(|v| v.is_finite()))
    {
        anyhow::bail!("actions file {}: action {i} is not finite", path.display());
    }
    Ok(actions)
}

fn parse_json_actions(text: &str) -> anyhow::Result<Vec<[f32; 2]>> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let Some(items) = value.as_array() else {
        anyhow::bail!("expected a JSON array");
    };
    if items.iter().all(|v| v.is_number()) {
        let flat: Vec<f32> = items
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| v as f32)
            .collect();
        if !flat.len().is_multiple_of(2) {
            anyhow::bail!(
                "{} numbers is not a whole number of [x, y] actions",
                flat.len()
            );
        }
        return Ok(flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v.as_array().map(|p| p.as_slice()) {
            Some([x, y]) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => Ok([x as f32, y as f32]),
                _ => anyhow::bail!("action {i} is not a pair of numbers"),
            },
            _ => anyhow::bail!(
                "action {i} is not an [x, y] pair (expected pairs or a flat list of numbers)"
            ),
        })
        .collect()
}

fn parse_csv_actions(text: &str) -> anyhow::Result<Vec<[f32; 2]>> {
    let mut out = Vec::new();
    let lines = text.lines().enumerate().filter(|(_, l)| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    for (n, (i, line)) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let numbers: Option<Vec<f32>> = fields.iter().map(|f| f.parse::<f32>().ok()).collect();
        match (numbers, fields.len()) {
            (Some(v), 2) => out.push([v[0], v[1]]),
            (None, 2) if n == 0 => {} // header
            _ => anyhow::bail!(
                "line {}: expected two comma-separated numbers, got '{line}'",
                i + 1
            ),
        }
    }
    Ok(out)
}

fn write_trace(path: &Path, states: &[Vec<f32>], actions: &[[f32; 2]]) -> anyhow::Result<()> {
    use std::io::Write as _;
    write_atomic_with(path, |f| {
        let mut w = std::io::BufWriter::new(f);
        for (t, state) in states.iter().enumerate() {
            let line = TraceLine {
                t,
                action: t.checked_sub(1).map(|i| actions[i]),
                state,
            };
            serde_json::to_writer(&mut w, &line)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    })
    .with_context(|| format!("cannot write trace {}", path.display()))
}

/// The final scene: layout and goal, a ghost of the start, the trajectory, then the final bodies on top.
fn write_png(env: EnvKind, path: &Path, states: &[Vec<f32>], goal: &[f32]) -> anyhow::Result<()> {
    let (Some(first), Some(last)) = (states.first(), states.last()) else {
        return Ok(());
    };
    let mut picture = scene::scene(env, &[], Some(goal));
    let b = picture.bounds;
    let unit = (b[2] - b[0]).max(b[3] - b[1]) / PNG_SIZE as f32;
    // The start as a translucent ghost: dark on the light Push-T and Wall tables, light on the dark maze floor.
    let ghost_color = match env {
        EnvKind::Pointmaze => Rgba(255, 255, 255, 120),
        EnvKind::Pusht | EnvKind::Wall => palette::START_MARKER.with_alpha(70),
    };
    let ghost: Vec<Shape> = scene::body_shapes(env, first, ghost_color);
    picture.shapes.extend(ghost);
    picture.shapes.push(scene::trajectory_shape(
        env,
        states,
        palette::SIM_ROLLOUT,
        3.0 * unit,
    ));
    picture.shapes.extend(scene::env_body_shapes(env, last));
    let pixmap = render::render(&picture, PNG_SIZE, PNG_SIZE)?;
    Ok(render::save_png(&pixmap, path)?)
}
