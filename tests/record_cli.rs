//! `grasp-explorer record` end to end: short headless recordings with the shipped Wall model, read back with
//! the crate's own demuxer/decoders (no ffprobe needed), and the command's answers to bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grasp_explorer::env::scene::{Rgba, WALL_BACKGROUND, WALL_WALL};
use grasp_explorer::record::palette;
use grasp_explorer::record::probe::{decode_frames, probe};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grasp-explorer"))
}

fn model_present() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/wall.safetensors")
        .exists()
}

/// `record` on Wall, H = 10, seed 1, preset defaults (GRASP syncs every 50 iterations: none in these runs).
fn record(out: &Path, extra: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.args([
        "record",
        "--env",
        "wall",
        "--horizon",
        "10",
        "--seed",
        "1",
        "--no-tuned",
        "--out",
    ])
    .arg(out)
    .args(extra);
    cmd.output().expect("run grasp-explorer")
}

fn ok(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "record failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("--json prints one object")
}

fn near(frame: &[u8], c: Rgba, tol: i32) -> usize {
    frame
        .chunks_exact(4)
        .filter(|p| {
            (i32::from(p[0]) - i32::from(c.0)).abs() <= tol
                && (i32::from(p[1]) - i32::from(c.1)).abs() <= tol
                && (i32::from(p[2]) - i32::from(c.2)).abs() <= tol
        })
        .count()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn mp4_has_the_expected_frames_size_and_env_colours() {
    assert!(
        model_present(),
        "the shipped Wall model assets/models/wall.safetensors is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wall.mp4");
    let args = [
        "--iters", "12", "--size", "96x64", "--fps", "10", "--hold", "0", "--json",
    ];
    let summary = ok(&record(&out, &args));
    assert_eq!(summary["frames"], 12);
    assert_eq!(
        files_in(dir.path()),
        vec![out.clone()],
        "only the video, no temp file"
    );
    let info = probe(&out).unwrap();
    assert_eq!((info.width, info.height, info.frames), (96, 64, 12));
    assert!((info.duration_s - 1.2).abs() < 1e-6);
    let frames = decode_frames(&out).unwrap();
    assert_eq!(frames.len(), 12);
    // H.264 is lossy: the env's white floor and black walls survive within a few levels.
    assert!(near(&frames[11], WALL_BACKGROUND, 16) > 1000);
    assert!(near(&frames[11], WALL_WALL, 24) > 50);
}

#[test]
fn gif_has_the_expected_frames_and_shows_env_and_ghost_colours() {
    assert!(
        model_present(),
        "the shipped Wall model assets/models/wall.safetensors is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wall.gif");
    // Every 4th of 11 iterations (0, 4, 8) plus the last (10), then 0.2 s held at 10 fps = 2 frames.
    let args = [
        "--iters", "11", "--every", "4", "--size", "384x384", "--fps", "10", "--hold", "0.2",
        "--json",
    ];
    let summary = ok(&record(&out, &args));
    assert_eq!(summary["frames"], 6);
    let info = probe(&out).unwrap();
    assert_eq!((info.width, info.height, info.frames), (384, 384, 6));
    let frames = decode_frames(&out).unwrap();
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[4], frames[5], "the last frame is held");
    let f = &frames[3];
    assert!(near(f, WALL_BACKGROUND, 0) > 1000, "white floor");
    assert!(near(f, WALL_WALL, 0) > 100, "black walls");
    let ghosts: usize = (1..10)
        .map(|t| near(f, palette::time_color(t, 10), 10))
        .sum();
    assert!(ghosts > 0, "ghost marker colours");
    assert!(near(f, palette::HUD_TEXT, 10) > 0, "heads-up text");
}

#[test]
fn side_by_side_doubles_the_width() {
    assert!(
        model_present(),
        "the shipped Wall model assets/models/wall.safetensors is missing"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cmp.mp4");
    let args = [
        "--planners",
        "grasp,cem",
        "--iters",
        "3",
        "--size",
        "64x48",
        "--hold",
        "0",
        "--json",
    ];
    let summary = ok(&record(&out, &args));
    assert_eq!(summary["planners"], serde_json::json!(["grasp", "cem"]));
    let info = probe(&out).unwrap();
    assert_eq!((info.width, info.height, info.frames), (128, 48, 3));
}

#[test]
fn bad_input_gets_one_clear_line_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str], i32, &str); 7] = [
        ("v.avi", &[], 2, ".mp4 or .gif"),
        ("v.mp4", &["--fps", "0"], 2, "--fps"),
        ("v.mp4", &["--size", "0x64"], 2, "at least 1"),
        ("v.mp4", &["--size", "64by64"], 2, "WIDTHxHEIGHT"),
        ("v.mp4", &["--size", "65x64"], 2, "even"),
        ("v.gif", &["--fps", "60"], 2, "at most 50"),
        ("v.mp4", &["--planner", "nope"], 2, "unknown planner"),
    ];
    for (name, extra, code, needle) in cases {
        let o = record(&d.join(name), extra);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{name} {extra:?}: {err}");
        assert!(err.contains(needle), "{name} {extra:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let missing = d.join("no/such/dir/v.mp4");
    let o = record(&missing, &["--iters", "2"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write") || err.contains("no world model"),
        "{err}"
    );
    assert!(files_in(d).is_empty(), "nothing written: {:?}", files_in(d));
}
