//! The explorer window for real: the binary runs under `xvfb-run` with Mesa's software renderer, renders N
//! frames, writes a screenshot through the app's test hook and exits 0. Live: GRASP optimizing Push-T on the
//! shipped model (walls and ghost markers on screen, the worker ran). Opened: a run saved by `plan` shows
//! the env's colours (goal T, walls) and the ghost virtual states. MPC: a saved closed-loop run draws its
//! executed trajectory, longer for the whole episode than for its first plans; `app --mpc` runs live. Also:
//! no display → one line and exit 1; bad values → exit 2.
//!
//! Nothing is skipped silently: without `xvfb-run` the window test fails and says what to install.
#![cfg(feature = "app")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use grasp_explorer::env::scene::{PUSHT_GOAL, PUSHT_WALL};
use grasp_explorer::env::Rgba;
use grasp_explorer::record::palette;
use grasp_explorer::record::probe::{decode_frames, probe};

const BIN: &str = env!("CARGO_BIN_EXE_grasp-explorer");

/// Serializes the tests that start an X server.
static WINDOW_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Counter for the X display number each window test starts searching from.
static NEXT_SERVER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

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

/// Runs the app under `xvfb-run` with `args` plus a 1280×800 window and `--screenshot`; returns its stdout and
/// the screenshot's pixels after checking the exit status, the summary line and the PNG's size.
fn run_window(args: &[&str], dir: &Path) -> (String, Vec<[u8; 3]>) {
    run_window_with(args, dir, &[])
}

/// [`run_window`] with extra environment variables for the app.
fn run_window_with(
    args: &[&str],
    dir: &Path,
    envs: &[(&str, &std::ffi::OsStr)],
) -> (String, Vec<[u8; 3]>) {
    // One window at a time: parallel `xvfb-run -a` can pick the same display number, and the loser's app then
    // fails to open the display (seen in CI). A poisoned lock (an earlier window test failed) is still a lock.
    let _one_window = WINDOW_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let xvfb = xvfb_run();
    let shot = dir.join("app.png");
    // Each window starts its search for a free display at a fresh number, so it never reuses the display the
    // previous test's server has just released; and if the X server still was not ready (XOpenDisplayFailed,
    // seen once in CI between two sequential window tests), the launch is retried. Only the display server's
    // start-up is retried: any other failure fails the test at once.
    let mut out = None;
    let mut server_logs = String::new();
    let log_dir = tempfile::tempdir().expect("a temp dir for the X server's log");
    for attempt in 0..4 {
        let server = 100 + 10 * NEXT_SERVER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let server_log = log_dir.path().join(format!("xvfb-{server}.log"));
        let mut cmd = Command::new(&xvfb);
        cmd.args([
            "-a",
            "-n",
            &server.to_string(),
            "-e",
            server_log.to_str().expect("a UTF-8 temp path"),
            "-s",
            "-screen 0 1280x800x24",
            BIN,
            "app",
        ])
        .args(args)
        .args(["--size", "1280x800", "--screenshot"])
        .arg(&shot)
        .envs(envs.iter().copied())
        .env_remove("WAYLAND_DISPLAY");
        let o = run_with_timeout(cmd, Duration::from_secs(600));
        let err = String::from_utf8_lossy(&o.stderr);
        let display_failed =
            err.contains("XOpenDisplayFailed") || err.contains("XOpenDisplay failed");
        out = Some(o);
        if !display_failed {
            break;
        }
        let log = std::fs::read_to_string(&server_log).unwrap_or_default();
        server_logs.push_str(&format!(
            "--- Xvfb :{server}+ (attempt {attempt}) ---\n{log}\n"
        ));
        eprintln!("attempt {attempt}: the X server was not ready (XOpenDisplayFailed); retrying");
        std::thread::sleep(Duration::from_secs(1 << attempt));
    }
    let out = out.expect("at least one attempt");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}\n{server_logs}",
        out.status
    );
    assert!(
        stdout.contains("frame time median"),
        "no summary line:\n{stdout}"
    );
    let (w, h, px) = read_png(&shot);
    assert_eq!((w, h), (1280, 800));
    (stdout, px)
}

/// Pixels in the time colours of a T = `horizon` plan's ghost markers.
fn ghost_pixels(px: &[[u8; 3]], horizon: usize) -> usize {
    let colors: Vec<Rgba> = (1..horizon)
        .map(|t| palette::time_color(t, horizon))
        .collect();
    count_near(px, &colors, 3)
}

/// The Push-T arena's walls and the ghost markers of a T = `horizon` plan are on screen.
fn assert_walls_and_ghosts(px: &[[u8; 3]], horizon: usize) {
    let walls = count_near(px, &[PUSHT_WALL], 4);
    assert!(walls > 3000, "Push-T wall pixels: {walls}");
    let ghosts = ghost_pixels(px, horizon);
    assert!(ghosts > 200, "ghost-coloured pixels: {ghosts}");
}

/// A models directory (for `GRASP_EXPLORER_MODELS`) holding copies of the shipped single models only, no
/// ensembles: the app then draws no trust horizon.
fn single_models(dir: &Path) -> std::path::PathBuf {
    let models = dir.join("models");
    std::fs::create_dir(&models).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    for env in ["pusht", "pointmaze", "wall"] {
        let f = format!("{env}.safetensors");
        std::fs::copy(shipped.join(&f), models.join(&f)).unwrap();
    }
    models
}

/// The live optimizer in the window. Where the ghosts are after N frames depends on how many iterations the
/// worker managed in that wall time, so this checks only what holds at any iteration: the arena's walls,
/// the ghost markers, and a worker that ran. It runs without the shipped ensembles: ghosts past the trust
/// horizon are drawn faded, so how many show in full colour would depend on the plan (the trust drawing has
/// its own test below).
#[test]
fn window_screenshot_shows_pusht_and_ghosts() {
    let dir = tempfile::tempdir().unwrap();
    let models = single_models(dir.path());
    let (stdout, px) = run_window_with(
        &[
            "--env",
            "pusht",
            "--planner",
            "grasp",
            "--horizon",
            "20",
            "--seed",
            "3",
            "--exit-after",
            "20",
        ],
        dir.path(),
        &[("GRASP_EXPLORER_MODELS", models.as_os_str())],
    );
    // "…; worker 1612 it/s, 2799 iterations; screenshot …"
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let iterations: usize = words
        .windows(2)
        .find(|w| w[1].starts_with("iterations"))
        .and_then(|w| w[0].parse().ok())
        .unwrap_or_else(|| panic!("no iteration count in the summary:\n{stdout}"));
    assert!(iterations > 0, "the worker ran no iterations:\n{stdout}");
    assert_walls_and_ghosts(&px, 20);
}

/// With a calibrated ensemble next to the model (here a quickly trained one whose designated member is the
/// shipped Wall model, and a threshold far below its members' disagreement), the window rings the step
/// where trust ends in [`palette::TRUST_END`]; without one it draws no such ring.
#[test]
fn the_window_marks_where_the_ensembles_trust_ends() {
    let dir = tempfile::tempdir().unwrap();
    let models = single_models(dir.path());
    let ens = models.join("wall-ensemble.safetensors");
    let out = Command::new(BIN)
        .args([
            "train",
            "--env",
            "wall",
            "--ensemble",
            "2",
            "--samples",
            "1000",
        ])
        .args(["--epochs", "1", "--designated-model"])
        .arg(models.join("wall.safetensors"))
        .arg("--out")
        .arg(&ens)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        models.join("wall-ensemble.trust.json"),
        r#"{"env": "wall", "threshold": 0.01}"#,
    )
    .unwrap();
    let args = [
        "--env",
        "wall",
        "--planner",
        "grasp",
        "--horizon",
        "20",
        "--seed",
        "1",
        "--exit-after",
        "30",
    ];
    let ring = |px: &[[u8; 3]]| count_near(px, &[palette::TRUST_END], 6);
    let (_, with) = run_window_with(
        &args,
        dir.path(),
        &[("GRASP_EXPLORER_MODELS", models.as_os_str())],
    );
    std::fs::remove_file(&ens).unwrap();
    let (_, without) = run_window_with(
        &args,
        dir.path(),
        &[("GRASP_EXPLORER_MODELS", models.as_os_str())],
    );
    let (a, b) = (ring(&with), ring(&without));
    assert!(
        a > 150 && a > 5 * b.max(1),
        "trust-ring pixels: {a} with the ensemble, {b} without"
    );
}

/// A saved run opens in the window (no optimizer): deterministic content, so the env's own colours are
/// checked too — Push-T's goal T (LightGreen) and walls — along with the ghosts of the opened snapshot.
#[test]
fn a_saved_run_opens_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.jsonl");
    let plan = Command::new(BIN)
        .args(["plan", "--env", "pusht", "--horizon", "20", "--seed", "3"])
        .args(["--iters", "30", "--check-every", "0", "--save-run"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let (stdout, px) = run_window(
        &["--open", run.to_str().unwrap(), "--exit-after", "10"],
        dir.path(),
    );
    assert!(stdout.contains("30 iterations"), "{stdout}");
    let goal = count_near(&px, &[PUSHT_GOAL], 4);
    assert!(goal > 500, "goal green pixels: {goal}");
    assert_walls_and_ghosts(&px, 20);
}

/// Pixels in the closed-loop executed-trajectory colour.
fn executed_pixels(px: &[[u8; 3]]) -> usize {
    count_near(px, &[palette::EXECUTED], 3)
}

/// A closed-loop run saved by `plan --mpc --save-run` opens at its end with the executed trajectory drawn;
/// the same file cut short after four of its plans (an episode interrupted there) draws less of it. Both
/// pictures are deterministic (no optimizer), so the comparison is exact about which is longer.
#[test]
fn a_saved_mpc_run_shows_its_executed_trajectory_growing() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("mpc.jsonl");
    let plan = Command::new(BIN)
        .args(["plan", "--env", "pusht", "--horizon", "12", "--seed", "3"])
        .args(["--mpc", "--mpc-first-iters", "30", "--mpc-iters", "10"])
        .arg("--save-run")
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let text = std::fs::read_to_string(&run).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let segments: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"kind\":\"mpc\""))
        .map(|(i, _)| i)
        .collect();
    assert!(segments.len() >= 6, "{} plans", segments.len());
    // The first four plans only: everything before the fifth segment line.
    let short = dir.path().join("short.jsonl");
    std::fs::write(&short, lines[..segments[4]].join("\n") + "\n").unwrap();

    let (_, full_px) = run_window(
        &["--open", run.to_str().unwrap(), "--exit-after", "10"],
        dir.path(),
    );
    let (_, short_px) = run_window(
        &["--open", short.to_str().unwrap(), "--exit-after", "10"],
        dir.path(),
    );
    let (full, cut) = (executed_pixels(&full_px), executed_pixels(&short_px));
    assert!(
        cut > 100,
        "executed-trajectory pixels after four plans: {cut}"
    );
    assert!(
        full > cut,
        "the whole episode draws more executed trajectory ({full}) than its first four plans ({cut})"
    );
    let walls = count_near(&full_px, &[PUSHT_WALL], 4);
    assert!(walls > 3000, "Push-T wall pixels: {walls}");
}

/// `app --mpc`: the live closed-loop episode in the window. How far it gets in N frames depends on the
/// machine, so the executed trajectory is asserted only once the summary shows the worker got past the
/// first plan (its 300 iterations and one replan): from then on, at the live cursor, it is on screen.
#[test]
fn the_app_runs_a_live_mpc_episode() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, px) = run_window(
        &[
            "--env",
            "pusht",
            "--horizon",
            "12",
            "--seed",
            "3",
            "--mpc",
            "--exit-after",
            "60",
        ],
        dir.path(),
    );
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let iterations: usize = words
        .windows(2)
        .find(|w| w[1].starts_with("iterations"))
        .and_then(|w| w[0].parse().ok())
        .unwrap_or_else(|| panic!("no iteration count in the summary:\n{stdout}"));
    assert!(iterations > 0, "the worker ran no iterations:\n{stdout}");
    if iterations > 400 {
        let n = executed_pixels(&px);
        assert!(
            n > 50,
            "{iterations} iterations but {n} executed-trajectory pixels"
        );
    }
}

/// Recording from the app: `--record` presses Record (the command the R key sends) on the first frame and
/// again at `--exit-after`; the app exits only once the encoder thread has finished the MP4, which must parse
/// back with the window's size and decode to frames that show the Push-T walls.
#[test]
fn the_app_records_the_window_to_an_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("window.mp4");
    let launched = Instant::now();
    let (stdout, _) = run_window(
        &[
            "--env",
            "pusht",
            "--horizon",
            "10",
            "--exit-after",
            "15",
            "--record",
            video.to_str().unwrap(),
        ],
        dir.path(),
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("recorded "))
        .unwrap_or_else(|| panic!("no 'recorded N frames' line:\n{stdout}"));
    let frames: usize = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(frames >= 1, "{line}");
    let info = probe(&video).unwrap();
    assert_eq!((info.width, info.height), (1280, 800));
    assert_eq!(info.frames, frames, "{line}");
    // Frames are held until the next capture, so the video lasts about as long as the recording ran: at
    // least one 1/20 s period per frame, at most the process's whole run.
    let wall = launched.elapsed().as_secs_f64();
    assert!(
        info.duration_s >= frames as f64 / 20.0 - 1e-9 && info.duration_s <= wall,
        "video {:.2} s for {frames} frames, process ran {wall:.2} s",
        info.duration_s
    );
    let decoded = decode_frames(&video).unwrap();
    let last = decoded.last().unwrap();
    let walls = last
        .chunks_exact(4)
        .filter(|p| p[..3].iter().all(|&c| (i32::from(c) - 211).abs() <= 16))
        .count();
    assert!(
        walls > 3000,
        "Push-T wall pixels in the last frame: {walls}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "window.mp4" && n != "app.png")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Runs the app with no display at all and returns its stderr after checking exit code 1 and a single line.
fn headless_failure(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn without_a_display_it_says_so_in_one_line_and_exits_1() {
    let stderr = headless_failure(&["app", "--exit-after", "1"]);
    assert!(stderr.contains("no display"), "{stderr}");
}

#[test]
fn a_display_that_refuses_clients_is_one_line_not_a_panic() {
    // A live socket at a free display number whose "server" hangs up on every client.
    let n = (900..999)
        .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .expect("a free display number");
    std::fs::create_dir_all("/tmp/.X11-unix").ok();
    let socket = format!("/tmp/.X11-unix/X{n}");
    let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind a fake X socket");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    let out = Command::new(BIN)
        .args(["app", "--exit-after", "1"])
        .env("DISPLAY", format!(":{n}"))
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    std::fs::remove_file(&socket).ok();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("no display") && stderr.contains("refused"),
        "{stderr}"
    );
}

#[test]
fn recording_into_a_missing_directory_fails_before_the_window_opens() {
    let args = [
        "app",
        "--record",
        "/nonexistent-dir/x.mp4",
        "--exit-after",
        "3",
    ];
    let stderr = headless_failure(&args);
    assert!(stderr.contains("/nonexistent-dir"), "{stderr}");
}

#[test]
fn bad_values_are_usage_errors() {
    for args in [
        vec!["app", "--horizon", "0"],
        vec!["app", "--env", "moon"],
        vec!["app", "--screenshot", "x.jpg", "--exit-after", "3"],
        vec!["app", "--size", "10x10"],
        vec!["app", "--record", "x.avi", "--exit-after", "3"],
        vec!["app", "--mpc", "--open", "x.jsonl"],
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
