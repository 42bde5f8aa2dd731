//! `grasp-explorer train` and `grasp-explorer model` end to end: a tiny training run, evaluation with JSON and
//! PNG output, and one-line errors with the right exit codes for bad models and bad values.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grasp-explorer"))
}

#[test]
fn tiny_train_then_eval_and_info() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("w.safetensors");
    let out = bin()
        .args([
            "train",
            "--env",
            "wall",
            "--samples",
            "1000",
            "--epochs",
            "2",
            "--hidden",
            "16",
        ])
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("10 steps") && stdout.contains("within tolerance"),
        "{stdout}"
    );

    let png = dir.path().join("e.png");
    let out = bin()
        .args([
            "model",
            "eval",
            "--env",
            "wall",
            "--episodes",
            "6",
            "--gap-problems",
            "2",
            "--gap-planners",
            "gd,cem",
            "--gap-iters",
            "5",
            "--json",
            "--model",
        ])
        .arg(&model)
        .arg("--png")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &v["reports"][0]["horizons"];
    assert_eq!(h[1]["steps"], 10);
    assert!(h[1]["errors"]["pos"]["median"].as_f64().unwrap() >= 0.0);
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
    assert_eq!(h[3]["steps"], 80, "80-step errors on 100-step episodes");
    let gaps = v["planner_gap"].as_array().unwrap();
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[0]["planner"], "gd");
    assert_eq!(gaps[0]["horizon"], 100);
    assert_eq!(gaps[1]["per_step_median"].as_array().unwrap().len(), 101);
    assert_eq!(
        gaps[1]["per_step_median"][0], 0.0,
        "both rollouts start at the start"
    );
    for p in ["e-gap-gd.png", "e-gap-cem.png"] {
        assert_eq!(&std::fs::read(dir.path().join(p)).unwrap()[1..4], b"PNG");
    }

    let out = bin()
        .args(["model", "info", "--model"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["env"], "wall");
    assert_eq!(info["layers"][0], serde_json::json!([16, 12]));
}

#[test]
fn bad_models_and_values_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.safetensors");
    let out = bin()
        .args(["model", "eval", "--env", "pusht", "--model"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no world model at") && err.contains("grasp-explorer train --env pusht"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"definitely not safetensors").unwrap();
    let out = bin()
        .args(["model", "eval", "--env", "pusht", "--model"])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a valid world-model file"), "{err}");

    let out = bin()
        .args(["train", "--env", "wall", "--samples", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin().args(["train", "--env", "moon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unwritable_model_path_fails_before_training() {
    let o = bin()
        .args([
            "train",
            "--env",
            "wall",
            "--out",
            "no/such/dir/w.safetensors",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write the model to no/such/dir"),
        "{err}"
    );
    assert!(!err.contains("data:"), "no data was generated first: {err}");
}
