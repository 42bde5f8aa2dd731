//! `grasp-explorer bench` / `bench merge` / `tune` end to end through the binary, with real planners on the Wall
//! simulator and a tiny untrained world model (the mechanics under test do not need a good model): a small
//! bench produces every file, an interrupted-and-resumed run and a two-shard merge reproduce the summary of an
//! uninterrupted run, tune writes a settings file that bench reads, and bad input fails with a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grasp_explorer::env::EnvKind;
use grasp_explorer::model::info::Activation;
use grasp_explorer::model::{io, mlp};

const BIN: &str = env!("CARGO_BIN_EXE_grasp-explorer");

/// A tiny untrained Wall model saved under `dir`.
fn tiny_model(dir: &Path) -> PathBuf {
    let path = dir.join("wall.safetensors");
    let m = mlp::untrained(EnvKind::Wall, &[16], Activation::Tanh, 5).unwrap();
    io::save_model(&m, &path).unwrap();
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `bench` on Wall with the tiny model: grasp and cem, H=4, fixed iterations (deterministic outcomes).
fn bench(model: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp,cem",
        "--horizons",
        "4",
        "--problems",
        "3",
        "--seed",
        "11",
        "--iters",
        "grasp=30,cem=3",
        "--check-every",
        "grasp=10,cem=1",
        "--no-tuned",
        "--model",
    ];
    args.push(model.to_str().unwrap());
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    run(&args)
}

/// The outcome fields of summary.json cells that do not depend on timing.
fn outcome(dir: &Path) -> Vec<serde_json::Value> {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    s["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let keep = [
                "planner",
                "horizon",
                "problems",
                "successes",
                "success_rate",
                "ci_low",
                "ci_high",
                "median_final_distance",
                "median_model_terminal_error",
            ];
            keep.iter()
                .map(|k| (k.to_string(), c[*k].clone()))
                .collect()
        })
        .collect()
}

/// Rows of trials.csv without the timing columns.
fn rows(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("trials.csv")).unwrap();
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // Drop time_to_success_s, planning_time_s, iters_per_s (columns 5, 6, 8).
            f.iter()
                .enumerate()
                .filter(|(i, _)| ![5, 6, 8].contains(i))
                .map(|(_, v)| *v)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn tiny_bench_writes_every_file_and_resume_and_shards_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let full = tmp.path().join("full");
    let o = bench(&model, &full, &["--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "run.json",
        "trials.csv",
        "summary.json",
        "summary.md",
        "success_rate.png",
        "time_to_success.png",
    ] {
        assert!(full.join(f).is_file(), "missing {f}");
    }
    assert_eq!(
        std::fs::read_to_string(full.join("trials.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 6
    );
    let cells: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(cells.as_array().unwrap().len(), 2);
    for k in [
        "success_rate",
        "ci_low",
        "ci_high",
        "median_time_to_success_s",
        "problems",
    ] {
        assert!(cells[0].get(k).is_some(), "--json lacks {k}");
    }
    let md = std::fs::read_to_string(full.join("summary.md")).unwrap();
    assert!(
        md.contains("fixed iterations") && md.contains("| 4 |"),
        "{md}"
    );

    // Interrupted run: keep the header and 2 rows plus half a row, then --resume.
    let part = tmp.path().join("part");
    std::fs::create_dir_all(&part).unwrap();
    std::fs::copy(full.join("run.json"), part.join("run.json")).unwrap();
    let text = std::fs::read_to_string(full.join("trials.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let cut = format!(
        "{}\n{}\n{}\n{}",
        lines[0],
        lines[1],
        lines[2],
        &lines[3][..lines[3].len() / 2]
    );
    std::fs::write(part.join("trials.csv"), cut).unwrap();
    let o = bench(&model, &part, &[]);
    assert_eq!(o.status.code(), Some(2), "without --resume: {}", stderr(&o));
    assert!(stderr(&o).contains("--resume"));
    let o = bench(&model, &part, &["--resume"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("incomplete last line"),
        "{}",
        stderr(&o)
    );
    assert_eq!(rows(&part), rows(&full));
    assert_eq!(outcome(&part), outcome(&full));

    // Two shards merged equal the unsharded run.
    let shards: Vec<PathBuf> = (0..2)
        .map(|i| tmp.path().join(format!("shard{i}")))
        .collect();
    for (i, d) in shards.iter().enumerate() {
        let o = bench(&model, d, &["--shard", &format!("{i}/2")]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merged = tmp.path().join("merged");
    let o = run(&[
        "bench",
        "merge",
        shards[0].to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(rows(&merged), rows(&full));
    assert_eq!(outcome(&merged), outcome(&full));
    assert!(merged.join("success_rate.png").is_file());

    // A corrupt row on --resume: clear error, file untouched.
    let bad = std::fs::read_to_string(full.join("trials.csv"))
        .unwrap()
        .replacen(",4,", ",four,", 1);
    std::fs::write(full.join("trials.csv"), &bad).unwrap();
    let o = bench(&model, &full, &["--resume"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("corrupt at line 2"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(full.join("trials.csv")).unwrap(),
        bad
    );
}

#[test]
fn scaled_iterations_are_calibrated_once_and_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let m = model.to_str().unwrap();
    let calib = tmp.path().join("calib");
    let o = run(&[
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp,gd",
        "--horizons",
        "4",
        "--problems",
        "2",
        "--budget-s",
        "0.05",
        "--scale-iters",
        "--calibrate-s",
        "0.05",
        "--calibrate-only",
        "--no-tuned",
        "--model",
        m,
        "--out",
        calib.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let budget = calib.join("budget.json");
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&budget).unwrap()).unwrap();
    assert_eq!(b["mode"], "iters");
    assert!(b["table"]["per_cell"]["grasp@4"].as_u64().unwrap() >= 1);
    // A bench of the calibrated cells with budget file `file` and `model`, into `out`.
    let with_budget = |file: &Path, model: &str, out: &Path| {
        run(&[
            "bench",
            "--env",
            "wall",
            "--planners",
            "grasp,gd",
            "--horizons",
            "4",
            "--problems",
            "2",
            "--budget-file",
            file.to_str().unwrap(),
            "--no-tuned",
            "--model",
            model,
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = tmp.path().join("run");
    let o = with_budget(&budget, m, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("iterations scaled to equal planner time"),
        "{md}"
    );
    assert!(md.contains("calibrated CPU seconds"), "{md}");
    // The file records what it was calibrated on.
    assert_eq!(b["env"], "wall");
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let other_model = other.join("wall.safetensors");
    let m2 = mlp::untrained(EnvKind::Wall, &[8], Activation::Tanh, 6).unwrap();
    io::save_model(&m2, &other_model).unwrap();
    let refused = tmp.path().join("refused");
    let o = with_budget(&budget, other_model.to_str().unwrap(), &refused);
    // Other weights: the run goes on (equal iterations), and says so.
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("calibrated with the world model"),
        "{}",
        stderr(&o)
    );
    // Another env is refused before anything is written.
    let pm = tmp.path().join("pm.json");
    let text = std::fs::read_to_string(&budget)
        .unwrap()
        .replace("\"env\": \"wall\"", "\"env\": \"pointmaze\"");
    std::fs::write(&pm, text).unwrap();
    let refused2 = tmp.path().join("refused2");
    let o = with_budget(&pm, m, &refused2);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("calibrated on pointmaze, not wall"),
        "{}",
        stderr(&o)
    );
    assert!(!refused2.exists(), "nothing written for a refused run");
}

#[test]
fn tune_writes_settings_that_bench_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let grid = tmp.path().join("grid.json");
    std::fs::write(&grid, r#"{"grasp": {"lr_actions": [0.01, 0.03]}}"#).unwrap();
    let settings = tmp.path().join("tuned.json");
    let out = tmp.path().join("tune");
    let o = run(&[
        "tune",
        "--env",
        "wall",
        "--planners",
        "grasp",
        "--horizons",
        "4",
        "--problems",
        "2",
        "--iters",
        "20",
        "--grid",
        grid.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--write",
        settings.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert!(t["tuning_seeds"]["first"].as_u64().unwrap() >= 1_000_000_000_000);
    let lr = t["planners"]["grasp"]["params"]["lr_actions"]
        .as_f64()
        .unwrap();
    assert!((lr - 0.01).abs() < 1e-6 || (lr - 0.03).abs() < 1e-6);
    let bout = tmp.path().join("b");
    let o = run(&[
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp-nosync",
        "--horizons",
        "4",
        "--problems",
        "1",
        "--iters",
        "5",
        "--tuned",
        settings.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--out",
        bout.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bout.join("run.json")).unwrap()).unwrap();
    let p = &m["config"]["contenders"][0]["params"];
    assert_eq!(p["sync_enabled"], serde_json::json!(false));
    assert!((p["lr_actions"].as_f64().unwrap() - lr).abs() < 1e-6);
}

#[test]
fn bad_input_fails_with_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tiny_model(tmp.path());
    let m = model.to_str().unwrap();
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    let base = [
        "bench", "--env", "wall", "--model", m, "--out", o, "--iters", "3",
    ];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--planners", "", "--horizons", "4", "--problems", "1"],
            2,
            "--planners is empty",
        ),
        (
            vec!["--planners", "grasp", "--horizons", ",", "--problems", "1"],
            2,
            "--horizons",
        ),
        (
            vec!["--planners", "warp", "--horizons", "4", "--problems", "1"],
            2,
            "unknown planner 'warp'",
        ),
        (
            vec!["--planners", "grasp", "--horizons", "4", "--problems", "0"],
            2,
            "--problems must be at least 1",
        ),
        (
            vec![
                "--planners",
                "grasp,grasp",
                "--horizons",
                "4",
                "--problems",
                "1",
            ],
            2,
            "listed twice",
        ),
        (
            vec![
                "--planners",
                "grasp",
                "--horizons",
                "4",
                "--problems",
                "1",
                "--shard",
                "2/2",
            ],
            2,
            "--shard",
        ),
        (
            vec![
                "--planners",
                "grasp",
                "--horizons",
                "4,4",
                "--problems",
                "1",
            ],
            2,
            "listed twice",
        ),
        (
            vec![
                "--planners",
                "grasp",
                "--horizons",
                "4",
                "--problems",
                "1",
                "--mpc",
                "--mpc-execute",
                "5",
            ],
            2,
            "mpc_execute",
        ),
        (
            vec![
                "--planners",
                "grasp",
                "--horizons",
                "4",
                "--problems",
                "1",
                "--tuned",
                concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tuned/pointmaze.json"),
            ],
            2,
            "not wall; use settings tuned on wall",
        ),
        (
            vec![
                "--planners",
                "grasp",
                "--horizons",
                "4",
                "--problems",
                "1",
                "--tuned",
                "/nonexistent/tuned.json",
            ],
            1,
            "expected a settings file written by `tune`",
        ),
    ];
    for (extra, code, msg) in cases {
        let mut args = base.to_vec();
        args.extend(extra);
        let r = run(&args);
        assert_eq!(r.status.code(), Some(code), "{args:?}: {}", stderr(&r));
        assert!(stderr(&r).contains(msg), "{args:?}: {}", stderr(&r));
        assert_eq!(
            stderr(&r).lines().count(),
            1,
            "one-line error: {}",
            stderr(&r)
        );
        assert!(
            !out.exists(),
            "{args:?}: a refused run leaves no --out behind"
        );
    }
    let r = run(&[
        "bench",
        "--env",
        "mars",
        "--planners",
        "grasp",
        "--horizons",
        "4",
        "--problems",
        "1",
    ]);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("unknown env 'mars'"));
    // An unwritable --out (a path below a regular file).
    let file = tmp.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let below = file.join("sub");
    let r = run(&[
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp",
        "--horizons",
        "4",
        "--problems",
        "1",
        "--iters",
        "3",
        "--model",
        m,
        "--out",
        below.to_str().unwrap(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("cannot create directory"),
        "{}",
        stderr(&r)
    );
}
