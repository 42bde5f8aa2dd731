//! `grasp-explorer plan` end to end on the shipped Wall model: the JSON contract, usage errors (exit 2),
//! divergence (exit 1 with a clear message), and the run/plan files.

use std::process::{Command, Output};

fn plan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grasp-explorer"))
        .arg("plan")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run grasp-explorer")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn json_output_has_the_contract_fields() {
    let o = plan(&[
        "--env",
        "wall",
        "--horizon",
        "4",
        "--seed",
        "1",
        "--iters",
        "30",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "env",
        "planner",
        "horizon",
        "seed",
        "success",
        "final_distance",
        "model_terminal_error",
        "iterations",
        "planning_time_s",
        "time_to_success_s",
        "iters_per_s",
        "diverged",
        "params",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["iterations"], 30);
    assert_eq!(v["planner"], "grasp");
    assert!(v["diverged"].is_null());
}

#[test]
fn bad_values_are_usage_errors() {
    for args in [
        &["--env", "wall", "--horizon", "0", "--seed", "1"][..],
        &["--env", "wall", "--horizon", "4", "--lr-states", "-0.1"],
        &["--env", "wall", "--horizon", "4", "--planner", "nope"],
        &["--env", "nowhere", "--horizon", "4"],
        &["--env", "wall", "--horizon", "4", "--samples", "10"],
        &["--env", "wall", "--horizon", "4", "--iters", "0"],
        &[
            "--env",
            "wall",
            "--horizon",
            "4",
            "--planner",
            "cem",
            "--topk",
            "500",
        ],
        &["--env", "wall", "--horizon", "4", "--sync-mode", "fast"],
    ] {
        let o = plan(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.starts_with("error:") && e.lines().count() == 1,
            "{args:?}: {e}"
        );
    }
}

#[test]
fn divergence_is_reported_with_exit_code_1() {
    let o = plan(&[
        "--env",
        "wall",
        "--horizon",
        "4",
        "--iters",
        "50",
        "--lr-states",
        "1e30",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("diverged at iteration"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["diverged"]
        .as_str()
        .unwrap()
        .starts_with("diverged at iteration"));
}

#[test]
fn run_and_plan_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run.jsonl");
    let out = dir.path().join("plan.json");
    let o = plan(&[
        "--env",
        "wall",
        "--horizon",
        "3",
        "--planner",
        "grasp-nonoise",
        "--iters",
        "60",
        "--save-run",
        run.to_str().unwrap(),
        "--save-every",
        "20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&run).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["kind"], "header");
    assert_eq!(lines[0]["planner"], "grasp-nonoise");
    let iters: Vec<u64> = lines
        .iter()
        .filter(|l| l["kind"] == "snapshot")
        .map(|l| l["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iters, vec![0, 20, 40, 49, 59]);
    assert_eq!(lines.last().unwrap()["kind"], "end");
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(p["env_actions"].as_array().unwrap().len(), 15);
    assert_eq!(p["sim_states"].as_array().unwrap().len(), 4);
    assert_eq!(p["virtual_states"].as_array().unwrap().len(), 4);
}

/// Runs `plan` with whitespace-separated `args` and checks it fails with `code` and a message holding `needle`.
fn fails_with(args: &str, code: i32, needle: &str) {
    let o = plan(&args.split_whitespace().collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(code), "{args}: {}", stderr(&o));
    assert!(stderr(&o).contains(needle), "{args}: {}", stderr(&o));
}

#[test]
fn tuned_settings_must_fit_the_env_and_the_planner() {
    let tuned = "--horizon 4 --iters 5 --tuned assets/tuned/pusht-h10.json";
    fails_with(&format!("--env wall {tuned}"), 2, "for pusht, not wall");
    fails_with(
        &format!("--env pusht --planner cem {tuned}"),
        2,
        "no settings for planner cem",
    );
    fails_with(
        "--env pusht --horizon 4 --tuned no/such.json",
        1,
        "no/such.json",
    );
    let grid = "--env pusht --horizon 4 --tuned assets/grids/pusht-h10.json";
    fails_with(grid, 1, "expected a settings file written by `tune`");
    let unwritable = "--env wall --horizon 4 --out no/such/dir/plan.json";
    fails_with(
        unwritable,
        1,
        "--out no/such/dir/plan.json: cannot write there",
    );
    let args = format!("--env pusht --json {tuned}");
    let o = plan(&args.split_whitespace().collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["params"]["sync_every"], 10,
        "the tuned settings are in force"
    );
    assert_eq!(v["params"]["sync_steps"], 30);
    assert_eq!(v["check_every"], 25, "and the file's check interval");
}
