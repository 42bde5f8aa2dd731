//! `grasp-explorer finetune` and the new `train` flags end to end: a tiny fine-tune run that leaves its input
//! untouched, an interrupted run that leaves no output, and one-line errors (exit 2 naming the flag, exit 1
//! naming the file) for bad λ, zero rounds, unknown planners and a model of another env.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grasp-explorer"))
}

fn tiny_model(env: &str, path: &Path, extra: &[&str]) {
    let out = bin()
        .args(["train", "--env", env, "--samples", "1000", "--epochs", "1"])
        .args(["--hidden", "16", "--episode-len", "10"])
        .args(extra)
        .arg("--out")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails(args: &[&str], code: i32, needle: &str) {
    let out = bin().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn multistep_adversarial_train_then_finetune() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("w.safetensors");
    tiny_model(
        "wall",
        &base,
        &["--rollout-steps", "3", "--adversarial", "0.03,0.02"],
    );
    let before = std::fs::read(&base).unwrap();
    // Fine-tune the trained model adversarially (train --init-model).
    let ft = dir.path().join("w-adv.safetensors");
    let init = base.to_str().unwrap();
    tiny_model(
        "wall",
        &ft,
        &["--init-model", init, "--adversarial", "0.05,0"],
    );
    let out_path = dir.path().join("w-online.safetensors");
    let out = bin()
        .args([
            "finetune",
            "--env",
            "wall",
            "--rounds",
            "2",
            "--problems",
            "4",
        ])
        .args(["--iters", "3", "--old-samples", "1000", "--epochs", "1"])
        .args(["--rollout-steps", "2", "--model"])
        .arg(&base)
        .arg("--out")
        .arg(&out_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("round  2/2"), "{stderr}");
    assert_eq!(std::fs::read(&base).unwrap(), before, "input untouched");
    let info = bin()
        .args(["model", "info", "--model"])
        .arg(&out_path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["env"], "wall");
    assert!(v["training"]["command"]
        .as_str()
        .unwrap()
        .contains("finetune"));
}

#[test]
fn an_interrupted_finetune_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("w.safetensors");
    tiny_model("wall", &base, &[]);
    let before = std::fs::read(&base).unwrap();
    let out_path = dir.path().join("never.safetensors");
    let mut child = bin()
        .args([
            "finetune",
            "--env",
            "wall",
            "--rounds",
            "100000",
            "--problems",
            "50",
        ])
        .args(["--old-samples", "1000", "--model"])
        .arg(&base)
        .arg("--out")
        .arg(&out_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out_path.exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "only the input remains: {names:?}");
    assert_eq!(std::fs::read(&base).unwrap(), before);
}

#[test]
fn bad_values_name_the_flag_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let pusht = dir.path().join("p.safetensors");
    tiny_model("pusht", &pusht, &[]);
    let out = dir.path().join("o.safetensors");
    let o = out.to_str().unwrap();
    for lam in ["-0.1,0", "nan,0", "0.1", "0.1,inf"] {
        fails(
            &["train", "--env", "wall", "--adversarial", lam],
            2,
            "--adversarial",
        );
    }
    fails(
        &["train", "--env", "wall", "--rollout-steps", "0"],
        2,
        "--rollout-steps",
    );
    for w in ["-0.5", "nan", "inf"] {
        fails(
            &["train", "--env", "wall", "--rollout-weight", w],
            2,
            "--rollout-weight",
        );
    }
    fails(
        &["finetune", "--env", "wall", "--rounds", "0", "--out", o],
        2,
        "--rounds",
    );
    fails(
        &["finetune", "--env", "wall", "--planner", "nope", "--out", o],
        2,
        "--planner",
    );
    fails(
        &[
            "finetune",
            "--env",
            "wall",
            "--adversarial",
            "-1,0",
            "--out",
            o,
        ],
        2,
        "--adversarial",
    );
    let p = pusht.to_str().unwrap();
    fails(
        &["finetune", "--env", "wall", "--model", p, "--out", o],
        1,
        p,
    );
    fails(
        &["train", "--env", "wall", "--init-model", p, "--out", o],
        1,
        p,
    );
    assert!(!out.exists());
}
