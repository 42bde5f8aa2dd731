//! `grasp-explorer sim` end to end: the success path (text, JSON, trace, PNG with the env's colours), action
//! replay from each file format, and every class of bad input with its exit code and one-line error.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_grasp-explorer");

fn sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("sim")
        .args(args)
        .output()
        .expect("run grasp-explorer")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(stdout(o).trim()).expect("one JSON object")
}

/// Asserts the run failed with `code` and a single `error: …` line on stderr (no panic, no usage dump).
fn assert_fails(o: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("error:") && err.contains(needle), "{err}");
}

/// Opaque RGB colours present in a PNG.
fn colours(path: &Path) -> std::collections::HashSet<(u8, u8, u8)> {
    let p = tiny_skia::Pixmap::load_png(path).expect("a readable PNG");
    assert_eq!((p.width(), p.height()), (512, 512));
    p.pixels()
        .iter()
        .map(|c| c.demultiply())
        .map(|c| (c.red(), c.green(), c.blue()))
        .collect()
}

#[test]
fn wall_scripted_run_succeeds_with_json_trace_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let (png, trace) = (dir.path().join("w.png"), dir.path().join("t.jsonl"));
    let o = sim(&[
        "--env",
        "wall",
        "--seed",
        "0",
        "--steps",
        "200",
        "--policy",
        "scripted",
        "--json",
        "--png",
        png.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let v = json(&o);
    assert_eq!(v["env"], "wall");
    assert_eq!(v["steps"], 200);
    assert_eq!(v["success"], true, "{v}");
    assert!(v["distance"].as_f64().unwrap() < 4.5);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 201);
    assert_eq!(lines[0]["action"], serde_json::Value::Null);
    assert_eq!(lines[200]["state"], v["final_state"]);
    let c = colours(&png);
    for want in [(255, 255, 255), (0, 0, 0), (255, 0, 0)] {
        assert!(c.contains(&want), "missing {want:?}");
    }
}

#[test]
fn pusht_and_pointmaze_pngs_carry_the_spec_colours() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("p.png");
    let o = sim(&[
        "--env",
        "pusht",
        "--steps",
        "30",
        "--png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("distance to goal"));
    let c = colours(&png);
    // LightGreen goal, block fill, RoyalBlue agent, its inner disc, LightGray walls.
    for want in [
        (144, 238, 144),
        (142, 163, 183),
        (65, 105, 225),
        (78, 126, 255),
        (211, 211, 211),
    ] {
        assert!(c.contains(&want), "missing {want:?}");
    }
    let o = sim(&[
        "--env",
        "pointmaze",
        "--steps",
        "30",
        "--png",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let c = colours(&png);
    for want in [(179, 128, 77), (77, 153, 77), (51, 77, 102), (26, 51, 77)] {
        assert!(c.contains(&want), "missing {want:?}");
    }
}

#[test]
fn runs_are_deterministic_and_state_overrides_the_start() {
    let args = [
        "--env",
        "pointmaze",
        "--seed",
        "3",
        "--steps",
        "40",
        "--policy",
        "random",
        "--json",
    ];
    assert_eq!(stdout(&sim(&args)), stdout(&sim(&args)));
    let v = json(&sim(&[
        "--env",
        "pointmaze",
        "--steps",
        "5",
        "--state",
        "0.8,1.8,0,-1",
        "--json",
    ]));
    assert_eq!(v["start"], serde_json::json!([0.8, 1.8, 0.0, -1.0]));
}

#[test]
fn actions_replay_from_json_pairs_flat_json_and_csv_alike() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("a.json", "[[1.0, 0.5], [0.5, -1.0], [-0.25, 2.0]]"),
        ("b.json", "[1.0, 0.5, 0.5, -1.0, -0.25, 2.0]"),
        ("c.csv", "ax,ay\n1.0,0.5\n0.5,-1.0\n\n-0.25, 2.0\n"),
    ];
    let mut finals = Vec::new();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let v = json(&sim(&[
            "--env",
            "wall",
            "--actions",
            path.to_str().unwrap(),
            "--json",
        ]));
        assert_eq!(v["steps"], 3);
        assert_eq!(v["policy"], "actions");
        finals.push(v["final_state"].clone());
    }
    assert_eq!(finals[0], finals[1]);
    assert_eq!(finals[0], finals[2]);
    // The first action from the seed-0 start (8.142629, 24.54423) moves by 2·a; the rest follow the same rule.
    let x = finals[0][0].as_f64().unwrap();
    assert!(
        (x - (8.142629 + 2.0 * (1.0 + 0.5 - 0.25))).abs() < 1e-3,
        "{x}"
    );
    // --steps may take a prefix of the actions.
    let path = dir.path().join("a.json");
    let v = json(&sim(&[
        "--env",
        "wall",
        "--actions",
        path.to_str().unwrap(),
        "--steps",
        "1",
        "--json",
    ]));
    assert_eq!(v["steps"], 1);
}

#[test]
fn bad_flag_values_exit_2() {
    assert_fails(&sim(&["--env", "mars", "--steps", "5"]), 2, "unknown env");
    assert_fails(
        &sim(&["--env", "wall", "--steps", "5", "--policy", "lucky"]),
        2,
        "unknown policy",
    );
    assert_fails(&sim(&["--env", "wall", "--steps", "0"]), 2, "at least 1");
    assert_fails(&sim(&["--env", "wall", "--steps", "-4"]), 2, "at least 1");
    assert_fails(&sim(&["--env", "wall"]), 2, "--steps is required");
    assert_fails(
        &sim(&["--env", "wall", "--steps", "5", "--state", "1,2,3"]),
        2,
        "has 3 values",
    );
    assert_fails(
        &sim(&["--env", "wall", "--steps", "5", "--state", "1,x"]),
        2,
        "not a comma-separated",
    );
    assert_fails(
        &sim(&["--env", "wall", "--steps", "5", "--state", "32,10"]),
        2,
        "inside the middle wall",
    );
    assert_fails(
        &sim(&[
            "--env",
            "pointmaze",
            "--steps",
            "5",
            "--state",
            "1.8,1.3,0,0",
        ]),
        2,
        "overlaps a wall",
    );
    assert_fails(
        &sim(&["--env", "wall", "--steps", "5", "--horizon", "0"]),
        2,
        "horizon",
    );
}

#[test]
fn bad_files_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    assert_fails(
        &sim(&["--env", "wall", "--actions", missing.to_str().unwrap()]),
        1,
        "cannot read",
    );
    for (name, text, needle) in [
        ("bad.json", "[[1, 2], [3]", "corrupt"),
        ("odd.json", "[1, 2, 3]", "whole number"),
        ("mixed.json", "[[1, 2], \"x\"]", "not an [x, y] pair"),
        ("three.csv", "1,2,3\n", "two comma-separated"),
        ("empty.csv", "\n# nothing\n", "no actions"),
        ("nan.csv", "1,NaN\n", "not finite"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        assert_fails(
            &sim(&["--env", "wall", "--actions", path.to_str().unwrap()]),
            1,
            needle,
        );
    }
    let short = dir.path().join("short.json");
    std::fs::write(&short, "[[1, 0]]").unwrap();
    assert_fails(
        &sim(&[
            "--env",
            "wall",
            "--actions",
            short.to_str().unwrap(),
            "--steps",
            "2",
        ]),
        2,
        "exceeds",
    );
    let nowhere = "/nonexistent-dir-for-sim-test/out.png";
    assert_fails(
        &sim(&["--env", "wall", "--steps", "2", "--png", nowhere]),
        1,
        "cannot write",
    );
    assert_fails(
        &sim(&["--env", "wall", "--steps", "2", "--trace", nowhere]),
        1,
        "cannot write",
    );
    assert!(!Path::new(nowhere).exists());
}
