//! `grasp-explorer record`: run one planner (or several side by side, `--planners grasp,cem`) on one problem
//! without a window and write the optimization as a video: the env, ghost virtual states, residual segments,
//! model and simulator rollouts, sync flashes, a heads-up line and a loss plot. MP4 (H.264) or GIF by the
//! extension of `--out`.
//!
//! Planner settings are the benchmark's (the shipped `assets/tuned/<env>.json`, else preset defaults), so a
//! recording shows what `bench` measures. Exit codes: 2 for bad flag values (unknown env or planner, a bad
//! `--size`, zero `--fps`/`--every`/`--iters`, an extension other than .mp4/.gif, sizes beyond their limits),
//! 1 for runtime failures (missing model, unwritable output, a full disk, a planner that diverged: the video
//! up to there is still written). Nothing is left at `--out` unless recording succeeds.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use grasp_explorer::bench::settings::{resolve, TunedSettings};
use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model;
use grasp_explorer::plan::{PlannerKind, Status};
use grasp_explorer::record::{self, Lane, Overlays, RecordError, RecordSpec};

use super::usage;
use grasp_explorer::util::limits;

/// Largest accepted `--iters`, so a typo cannot start an hours-long recording.
pub const MAX_ITERS: usize = 1_000_000;

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: String,
    /// Planner preset (grasp, cem, gd, latco, grasp-nosync, ...).
    #[arg(long, default_value = "grasp", conflicts_with = "planners")]
    pub planner: String,
    /// Comma-separated presets drawn side by side on the same problem (e.g. grasp,cem).
    #[arg(long, value_name = "LIST")]
    pub planners: Option<String>,
    /// Horizon T in world-model steps.
    #[arg(long, default_value_t = 50)]
    pub horizon: usize,
    /// Problem and planner seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output video: .mp4 (H.264) or .gif.
    #[arg(long)]
    pub out: PathBuf,
    /// Video frames per second (1..=240; GIF at most 50).
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Size of one planner's panel, WIDTHxHEIGHT px (MP4 needs even numbers). Side-by-side videos are one
    /// panel wide per planner.
    #[arg(long, default_value = "512x512", value_name = "WxH")]
    pub size: String,
    /// Record every K-th iteration (sync iterations and each planner's last are always recorded).
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub every: usize,
    /// Iterations per planner (default: the preset's budget, e.g. GRASP 1000, CEM 30).
    #[arg(long, value_name = "N")]
    pub iters: Option<usize>,
    /// Seconds to hold the last frame at the end.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub hold: f64,
    /// World-model weights (default: the shipped model for the env).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Ignore tuned settings; run every planner with its preset defaults.
    #[arg(long)]
    pub no_tuned: bool,
    /// Do not draw the simulator rollout of the current plan (it costs 5·T env steps per frame).
    #[arg(long)]
    pub no_sim: bool,
    /// Do not draw the loss plot.
    #[arg(long)]
    pub no_plot: bool,
    /// Frames queued for the encoder thread (0 = encode on the planning thread, no overlap).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub queue: usize,
    /// Print a JSON summary on stdout instead of a line on stderr.
    #[arg(long)]
    pub json: bool,
    /// Planner threads (CEM splits its samples over them; the video is the same for any count). Default:
    /// all cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Closed loop: record the MPC episode (executed trajectory and the current plan); one planner only.
    #[command(flatten)]
    pub mpc: super::mpc_args::MpcArgs,
    /// [--mpc-execute trust] The ensemble disagreement (env units) up to which a plan step is trusted.
    /// Default: the threshold calibrated for the ensemble (its `.trust.json`).
    #[arg(long, value_name = "X", allow_hyphen_values = true)]
    pub trust_threshold: Option<f32>,
}

/// What `record --mpc --json` adds.
#[derive(Debug, Serialize)]
struct MpcSummary {
    success: bool,
    success_step: Option<usize>,
    final_distance: f32,
    replans: usize,
    iterations: usize,
}

/// What `record --json` prints.
#[derive(Debug, Serialize)]
struct Summary {
    out: String,
    env: String,
    planners: Vec<String>,
    horizon: usize,
    seed: u64,
    frames: u64,
    width: u32,
    height: u32,
    fps: u32,
    video_seconds: f64,
    iterations: Vec<usize>,
    final_terminal: Vec<f32>,
    elapsed_s: f64,
    plan_s: f64,
    render_s: f64,
    encode_s: f64,
    recording_fps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    mpc: Option<MpcSummary>,
}

/// Runs `record`.
pub fn run(args: RecordArgs) -> anyhow::Result<()> {
    let env: EnvKind = args.env.parse().map_err(usage)?;
    let kinds = parse_planners(args.planners.as_deref().unwrap_or(&args.planner))?;
    let (width, height) = parse_size(&args.size)?;
    if args.horizon == 0 {
        return Err(usage("--horizon must be at least 1"));
    }
    super::limits::bound("--horizon", args.horizon, limits::MAX_HORIZON)?;
    super::limits::bound("--queue", args.queue, limits::MAX_QUEUE)?;
    if args.fps == 0 {
        return Err(usage("--fps must be at least 1"));
    }
    if args.every == 0 {
        return Err(usage("--every must be at least 1"));
    }
    if let Some(n) = args.iters {
        if n == 0 || n > MAX_ITERS {
            return Err(usage(format!(
                "--iters must be in 1..={MAX_ITERS}, got {n}"
            )));
        }
    }
    if !(args.hold.is_finite() && (0.0..=60.0).contains(&args.hold)) {
        return Err(usage(format!(
            "--hold must be between 0 and 60 seconds, got {}",
            args.hold
        )));
    }
    record::VideoFormat::from_path(&args.out)
        .and_then(|f| f.check(width.saturating_mul(kinds.len() as u32), height, args.fps))
        .map_err(|e| usage(e.to_string()))?;

    let tuned = if args.no_tuned {
        None
    } else {
        Some(TunedSettings::shipped(env)?)
    };
    let mut lanes = Vec::with_capacity(kinds.len());
    for kind in &kinds {
        let (params, _, _) = resolve(*kind, tuned.as_ref())?;
        let iterations = args.iters.unwrap_or_else(|| params.default_iterations());
        lanes.push(Lane {
            label: kind.name().to_string(),
            params,
            iterations,
        });
    }
    let problem =
        Problem::generate(env, args.horizon, args.seed).map_err(|e| usage(e.to_string()))?;
    // `--mpc-execute trust`: the settings execute one step, the ensemble decides how many. A lane with a
    // disagreement penalty (a tuned file's) plans with the ensemble too.
    let trust_exec = args.mpc.trust_execution();
    let penalty = lanes.iter().any(|l| l.params.trust_penalty() > 0.0);
    if let Some(t) = args.trust_threshold {
        if !trust_exec {
            return Err(usage(
                "--trust-threshold applies to --mpc --mpc-execute trust",
            ));
        }
        super::trust::check_threshold(t)?;
    }
    let planning = model::trust_model::load_planning_model(
        env,
        args.model.as_deref(),
        false,
        trust_exec || penalty,
    )?;
    let trust = if trust_exec {
        Some(super::trust::adaptive(
            &planning,
            env,
            args.trust_threshold,
        )?)
    } else {
        None
    };
    let model = planning.model;
    let spec = RecordSpec {
        problem,
        lanes,
        seed: args.seed,
        every: args.every,
        panel_width: width,
        panel_height: height,
        fps: args.fps,
        hold_frames: (args.hold * f64::from(args.fps)).round() as usize,
        overlays: Overlays {
            sim_rollout: !args.no_sim,
            loss_plot: !args.no_plot,
            ..Overlays::default()
        },
        queue: args.queue,
    };

    let open_loop = grasp_explorer::plan::runner::Budget::iters(spec.lanes[0].iterations);
    let mpc = args.mpc.settings(args.horizon, open_loop)?;
    if mpc.is_some() && kinds.len() > 1 {
        return Err(usage(
            "record --mpc takes one planner (--planner), not a list",
        ));
    }
    let total = spec.lanes.iter().map(|l| l.iterations).max().unwrap_or(0) as u64;
    let pb = super::progress::progress_bar(total, "iterations");
    pb.enable_steady_tick(Duration::from_millis(250));
    let parallel = super::planner_pool(args.threads)?;
    let on_progress = |p: &record::Progress| {
        pb.set_length(p.total.max(p.iteration) as u64);
        pb.set_position(p.iteration as u64);
        pb.set_message(format!("{} frames", p.frames));
    };
    let (result, episode) = match &mpc {
        Some(m) => {
            match record::record_mpc(&spec, m, trust, model, &args.out, &parallel, on_progress) {
                Ok((s, ep)) => (Ok(s), Some(ep)),
                Err(e) => (Err(e), None),
            }
        }
        None => (
            record::record_in(&spec, model, &args.out, &parallel, on_progress),
            None,
        ),
    };
    pb.finish_and_clear();
    let s = result.map_err(|e| match e {
        RecordError::UnknownFormat { .. }
        | RecordError::InvalidSize { .. }
        | RecordError::InvalidFps { .. }
        | RecordError::Invalid(_) => usage(e.to_string()),
        other => anyhow::Error::new(other),
    })?;

    let summary = Summary {
        out: s.path.display().to_string(),
        env: env.name().to_string(),
        planners: kinds.iter().map(|k| k.name().to_string()).collect(),
        horizon: args.horizon,
        seed: args.seed,
        frames: s.frames,
        width: s.size.0,
        height: s.size.1,
        fps: args.fps,
        video_seconds: s.frames as f64 / f64::from(args.fps),
        iterations: s.finals.iter().map(|f| f.iteration + 1).collect(),
        final_terminal: s.finals.iter().map(|f| f.loss.terminal).collect(),
        elapsed_s: s.elapsed.as_secs_f64(),
        plan_s: s.plan_time.as_secs_f64(),
        render_s: s.render_time.as_secs_f64(),
        encode_s: s.encode_time.as_secs_f64(),
        recording_fps: s.recording_fps(),
        mpc: episode.as_ref().map(|ep| MpcSummary {
            success: ep.success,
            success_step: ep.success_step,
            final_distance: ep.final_distance,
            replans: ep.replans(),
            iterations: ep.iterations,
        }),
    };
    let diverged = s
        .finals
        .iter()
        .zip(&kinds)
        .find_map(|(f, k)| match &f.status {
            Status::Diverged { iteration, reason } => {
                Some(format!("{k} diverged at iteration {iteration}: {reason}"))
            }
            Status::Running if !f.loss.terminal.is_finite() => {
                Some(format!("{k} ended with a non-finite terminal error"))
            }
            Status::Running => None,
        });
    if args.json {
        outln!("{}", serde_json::to_string(&summary)?);
    } else {
        eprintln!(
            "wrote {}: {} frames {}x{} at {} fps ({:.1} s of video) in {:.1} s; {:.0} frames/s excluding planning \
             (planning {:.1} s, drawing {:.1} s, encoding {:.1} s)",
            summary.out,
            summary.frames,
            summary.width,
            summary.height,
            summary.fps,
            summary.video_seconds,
            summary.elapsed_s,
            summary.recording_fps,
            summary.plan_s,
            summary.render_s,
            summary.encode_s,
        );
        if let Some(m) = &summary.mpc {
            eprintln!(
                "closed loop: {} after {} replans (final distance {:.3})",
                match m.success_step {
                    Some(k) => format!("success at step {k}"),
                    None => "failure".into(),
                },
                m.replans,
                m.final_distance
            );
        }
    }
    if let Some(ep) = episode {
        if let Some(msg) = ep.diverged {
            anyhow::bail!("{msg} (recorded up to there)");
        }
    }
    if let Some(msg) = diverged {
        anyhow::bail!("{msg} (the video shows the run up to there)");
    }
    Ok(())
}

/// Parses a comma-separated list of planner presets (at least one, no duplicates).
fn parse_planners(text: &str) -> anyhow::Result<Vec<PlannerKind>> {
    let mut kinds = Vec::new();
    for name in text.split(',') {
        let name = name.trim();
        if name.is_empty() {
            return Err(usage(format!("planner list '{text}' has an empty entry")));
        }
        let kind: PlannerKind = name.parse().map_err(usage)?;
        if kinds.contains(&kind) {
            return Err(usage(format!("planner '{name}' is listed twice")));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}

/// Parses `WIDTHxHEIGHT` (positive integers).
fn parse_size(text: &str) -> anyhow::Result<(u32, u32)> {
    let bad = || {
        usage(format!(
            "--size '{text}' must be WIDTHxHEIGHT in pixels, e.g. 512x512"
        ))
    };
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if w == 0 || h == 0 {
        return Err(usage(format!(
            "--size '{text}': width and height must be at least 1"
        )));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_planner_lists_parse() {
        assert_eq!(parse_size("512x384").unwrap(), (512, 384));
        assert_eq!(parse_size(" 64X32 ").unwrap(), (64, 32));
        for bad in ["512", "0x10", "axb", "10x", "-1x5"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_planners("grasp, cem").unwrap(),
            vec![PlannerKind::Grasp, PlannerKind::Cem]
        );
        assert!(parse_planners("grasp,,cem").is_err());
        assert!(parse_planners("grasp,grasp").is_err());
        assert!(parse_planners("nope").is_err());
    }
}
