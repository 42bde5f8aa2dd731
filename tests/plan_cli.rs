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

#[test]
fn tuned_settings_must_fit_the_env_and_the_planner() {
    let tuned = [
        "--horizon",
        "4",
        "--iters",
        "5",
        "--tuned",
        "assets/tuned/pusht-h10.json",
    ];
    let o = plan(&[&["--env", "wall"][..], &tuned].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("for pusht, not wall"), "{}", stderr(&o));
    let o = plan(&[&["--env", "pusht", "--planner", "cem"][..], &tuned].concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no settings for planner cem"),
        "{}",
        stderr(&o)
    );
    let o = plan(&[
        "--env",
        "pusht",
        "--horizon",
        "4",
        "--tuned",
        "no/such.json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no/such.json"), "{}", stderr(&o));
    let o = plan(&[
        "--env",
        "pusht",
        "--horizon",
        "4",
        "--tuned",
        "assets/grids/pusht-h10.json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected a file written by `tune`"),
        "{}",
        stderr(&o)
    );
    let o = plan(&[&["--env", "pusht", "--json"][..], &tuned].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["params"]["sync_every"], 10,
        "the tuned settings are in force"
    );
    assert_eq!(v["params"]["sync_steps"], 30);
    assert_eq!(v["check_every"], 25, "and the file's check interval");
}
