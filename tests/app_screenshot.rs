//! The explorer window for real: the binary runs under `xvfb-run` with Mesa's software renderer, renders N
//! frames with GRASP optimizing Push-T on the shipped model, writes a screenshot through the app's test hook
//! and exits 0. The PNG must show the env (Push-T's goal green and agent blue) and the overlays (ghost
//! virtual states in the time colours). Also: no display → one line and exit 1; bad values → exit 2.
//!
//! Nothing is skipped silently: without `xvfb-run` the window test fails and says what to install.
#![cfg(feature = "app")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use grasp_explorer::env::Rgba;
use grasp_explorer::record::palette;

const BIN: &str = env!("CARGO_BIN_EXE_grasp-explorer");

/// Runs `cmd`, killing it after `limit`.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        tx.send(child.wait_with_output()).ok();
    });
    loop {
        if let Ok(out) = rx.try_recv() {
            return out.expect("wait");
        }
        if start.elapsed() > limit {
            Command::new("kill").arg(pid.to_string()).status().ok();
            panic!("{BIN} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn xvfb_run() -> String {
    let found = Command::new("sh")
        .args(["-c", "command -v xvfb-run"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "xvfb-run is not installed: the window test needs it. Install the runtime packages listed in \
         scripts/setup.sh (Debian: apt-get install -y --no-install-recommends xvfb xauth mesa-vulkan-drivers \
         libvulkan1 libxkbcommon-x11-0)"
    );
    "xvfb-run".into()
}

fn read_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn count_near(px: &[[u8; 3]], colors: &[Rgba], tol: i32) -> usize {
    px.iter()
        .filter(|p| {
            colors.iter().any(|c| {
                (i32::from(p[0]) - i32::from(c.0)).abs() <= tol
                    && (i32::from(p[1]) - i32::from(c.1)).abs() <= tol
                    && (i32::from(p[2]) - i32::from(c.2)).abs() <= tol
            })
        })
        .count()
}

#[test]
fn window_screenshot_shows_pusht_and_ghosts() {
    let xvfb = xvfb_run();
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("app.png");
    let mut cmd = Command::new(xvfb);
    cmd.args([
        "-a",
        "-s",
        "-screen 0 1280x800x24",
        BIN,
        "app",
        "--env",
        "pusht",
        "--planner",
        "grasp",
    ])
    .args([
        "--horizon",
        "20",
        "--seed",
        "3",
        "--exit-after",
        "20",
        "--size",
        "1280x800",
    ])
    .arg("--screenshot")
    .arg(&shot)
    .env_remove("WAYLAND_DISPLAY");
    let out = run_with_timeout(cmd, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("frame time median"),
        "no summary line:\n{stdout}"
    );
    let (w, h, px) = read_png(&shot);
    assert_eq!((w, h), (1280, 800));
    // The env: Push-T's goal T (LightGreen) and the agent (RoyalBlue) as the spec colours them.
    let goal = count_near(&px, &[Rgba::rgb(144, 238, 144)], 4);
    let agent = count_near(&px, &[Rgba::rgb(65, 105, 225)], 4);
    assert!(goal > 500, "goal green pixels: {goal}");
    assert!(agent > 100, "agent blue pixels: {agent}");
    // The overlays: opaque ghost markers in the time colours of a T = 20 plan.
    let ghost_colors: Vec<Rgba> = (1..20).map(|t| palette::time_color(t, 20)).collect();
    let ghosts = count_near(&px, &ghost_colors, 3);
    assert!(ghosts > 200, "ghost-coloured pixels: {ghosts}");
}

#[test]
fn without_a_display_it_says_so_in_one_line_and_exits_1() {
    let out = Command::new(BIN)
        .args(["app", "--exit-after", "1"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
}

#[test]
fn bad_values_are_usage_errors() {
    for args in [
        vec!["app", "--horizon", "0"],
        vec!["app", "--env", "moon"],
        vec!["app", "--screenshot", "x.jpg", "--exit-after", "3"],
        vec!["app", "--size", "10x10"],
    ] {
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
