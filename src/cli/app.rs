//! `grasp-explorer app` (and no arguments): opens the explorer window. Without a display it says so in one
//! line and exits 1; `--screenshot F.png --exit-after N` renders N frames, writes the window to F.png and
//! exits 0 (the CI test hook); `--open F` scrubs a saved run (e.g. from `plan --save-run`) with no optimizer.

use anyhow::Context as _;
use std::path::PathBuf;

use grasp_explorer::bench::settings_source::SettingsSource;
use grasp_explorer::env::EnvKind;
use grasp_explorer::plan::PlannerKind;

/// Arguments of `app`.
#[derive(Debug, clap::Args)]
pub struct AppArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long, default_value = "pusht")]
    pub env: EnvKind,
    /// Planner: grasp (or a variant: grasp-jacobi, grasp-nosync, …), cem, gd, gd-adam, latco. Default: the
    /// env's measured best GRASP (docs/app.md, "Which GRASP the app opens with").
    #[arg(long)]
    pub planner: Option<PlannerKind>,
    /// Where the planner's settings come from: `preset` (its own defaults; grasp = the paper's reference) or
    /// `tuned` (assets/tuned/<env>.json, what `tune` chose for the tables). Default: the opening choice's,
    /// or `preset` with --planner.
    #[arg(long, value_parser = parse_settings)]
    pub settings: Option<SettingsSource>,
    /// Horizon in world-model steps (default: 30 on Push-T and PointMaze, 25 on Wall).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Problem and planner seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also run this planner on the same problem, side by side.
    #[arg(long)]
    pub compare: Option<PlannerKind>,
    /// Start in closed-loop MPC mode (the M key toggles it; settings in docs/app.md).
    #[arg(long, conflicts_with = "open")]
    pub mpc: bool,
    /// Open a saved run file to scrub (no optimizer).
    #[arg(long)]
    pub open: Option<PathBuf>,
    /// Write the window to this PNG after --exit-after frames (once the plan is on screen), then exit.
    #[arg(long, requires = "exit_after")]
    pub screenshot: Option<PathBuf>,
    /// Render this many frames, then exit (with --screenshot: then take the screenshot).
    #[arg(long)]
    pub exit_after: Option<u64>,
    /// Start recording the window to this .mp4 or .gif as soon as it opens (as the R key does); with
    /// --exit-after, the recording stops after that many frames and the file is finished before exit.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Window size, WIDTHxHEIGHT in logical pixels.
    #[arg(long, default_value = "1280x800", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Planner threads (CEM splits its samples over them). Default: all cores.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `--settings`: `preset` or `tuned`.
fn parse_settings(s: &str) -> Result<SettingsSource, String> {
    match s {
        "preset" => Ok(SettingsSource::Preset),
        "tuned" => Ok(SettingsSource::Tuned),
        _ => Err(format!("expected preset or tuned, got '{s}'")),
    }
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got '{s}'"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (200..=8192).contains(n))
            .ok_or_else(|| format!("window sides must be 200..=8192 pixels, got '{s}'"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Runs `app`.
pub fn run(args: AppArgs) -> anyhow::Result<()> {
    if args.horizon == Some(0) {
        return Err(super::usage("--horizon must be at least 1"));
    }
    if args.exit_after == Some(0) {
        return Err(super::usage("--exit-after must be at least 1"));
    }
    if let Some(p) = &args.screenshot {
        if !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")) {
            return Err(super::usage(format!(
                "--screenshot must name a .png file, got {}",
                p.display()
            )));
        }
    }
    if let Some(p) = &args.record {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("mp4" | "gif")) {
            return Err(super::usage(format!(
                "--record must name a .mp4 or .gif file, got {}",
                p.display()
            )));
        }
        // Checked before the window opens, so a typo does not cost a whole recording.
        grasp_explorer::util::check_can_write(p)
            .with_context(|| format!("cannot record to {}", p.display()))?;
    }
    open_window(args)
}

#[cfg(feature = "app")]
fn open_window(args: AppArgs) -> anyhow::Result<()> {
    grasp_explorer::app::session::set_planner_pool(super::planner_pool(args.threads)?);
    let config = grasp_explorer::app::AppConfig {
        env: args.env,
        planner: args.planner,
        settings: args.settings,
        horizon: args.horizon,
        seed: args.seed,
        compare: args.compare,
        mpc: args.mpc,
        open: args.open,
        screenshot: args.screenshot,
        exit_after: args.exit_after,
        record: args.record,
        window: args.size,
        ..Default::default()
    };
    grasp_explorer::app::run(config)?;
    Ok(())
}

#[cfg(not(feature = "app"))]
fn open_window(_args: AppArgs) -> anyhow::Result<()> {
    anyhow::bail!("this grasp-explorer was built without the `app` feature; rebuild with default features to open the window")
}

/// No subcommand: the app with its defaults (Push-T, the measured best GRASP preset, the shipped model).
pub fn run_default() -> anyhow::Result<()> {
    use clap::Parser as _;
    #[derive(clap::Parser)]
    struct Defaults {
        #[command(flatten)]
        args: AppArgs,
    }
    let d = Defaults::parse_from(["grasp-explorer"]);
    run(d.args)
}
