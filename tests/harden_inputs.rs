//! Hardening, inputs (issue 15): every size flag has a bound checked before allocation; missing arguments are
//! named; model files with unusable statistics, wrong metadata or overflowing outputs are refused or reported
//! as errors (never a NaN result with exit 0); settings files are validated in full; `--budget-s` holds
//! inside a GRASP sync; CRLF trial logs resume.

mod common;

use std::time::Duration;

use common::Safetensors;
use common::{
    cmd, edited_model, files_in, one_line_error, run, run_limited, shipped_model, stderr,
};

const HUGE: &str = "99999999999";

#[test]
fn unbounded_sizes_are_usage_errors_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("r.gif");
    let gif = gif.to_str().unwrap();
    let out = dir.path().join("b");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["plan", "--env", "wall", "--iters", "5", "--horizon", HUGE],
            "--horizon",
        ),
        (
            vec![
                "plan",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "5",
                "--planner",
                "cem",
                "--samples",
                HUGE,
            ],
            "--samples",
        ),
        (
            vec![
                "plan",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "5",
                "--cem-sync-samples",
                HUGE,
            ],
            "--cem-sync-samples",
        ),
        (
            vec![
                "plan",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "5",
                "--sync-steps",
                HUGE,
            ],
            "--sync-steps",
        ),
        (
            vec![
                "record",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "2",
                "--out",
                gif,
                "--queue",
                HUGE,
            ],
            "--queue",
        ),
        (
            vec!["sim", "--env", "pusht", "--steps", "10", "--horizon", HUGE],
            "--horizon",
        ),
        (
            vec![
                "sim",
                "--env",
                "pusht",
                "--steps",
                "10",
                "--horizon",
                "1000000",
            ],
            "--horizon",
        ),
        (
            vec![
                "bench",
                "--env",
                "wall",
                "--planners",
                "grasp",
                "--horizons",
                HUGE,
                "--problems",
                "1",
                "--iters",
                "3",
                "--out",
                out,
            ],
            "--horizons",
        ),
        (
            vec![
                "bench",
                "--env",
                "wall",
                "--planners",
                "grasp",
                "--horizons",
                "3",
                "--problems",
                HUGE,
                "--iters",
                "3",
                "--out",
                out,
            ],
            "--problems",
        ),
        (
            vec!["train", "--env", "wall", "--samples", HUGE, "--out", gif],
            "--samples",
        ),
    ];
    for (args, flag) in cases {
        let (o, took) = run_limited(cmd(&args), Duration::from_secs(30));
        let line = one_line_error(&o, 2);
        assert!(
            line.contains(flag) && line.contains("at most"),
            "{args:?}: {line}"
        );
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
    }
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    // samples × horizon is bounded too.
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "1000",
        "--iters",
        "1",
        "--planner",
        "cem",
        "--samples",
        "100000",
    ]);
    let line = one_line_error(&o, 2);
    assert!(line.contains("samples × horizon"), "{line}");
}

#[test]
fn a_tuned_files_sizes_and_format_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let shipped: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/tuned/wall.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p.display().to_string()
    };
    let mut huge = shipped.clone();
    huge["planners"]["cem"]["params"]["samples"] = serde_json::json!(99_999_999_999u64);
    let f = write("huge.json", &huge);
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--planner",
        "cem",
        "--horizon",
        "3",
        "--iters",
        "1",
        "--tuned",
        &f,
    ]);
    let line = one_line_error(&o, 1);
    assert!(line.contains("samples must be at most"), "{line}");
    let mut newer = shipped.clone();
    newer["format"] = serde_json::json!(2);
    let f = write("newer.json", &newer);
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "3",
        "--iters",
        "1",
        "--tuned",
        &f,
    ]);
    let line = one_line_error(&o, 1);
    assert!(line.contains("format 2"), "{line}");
    // bench --tuned lacking a planner refuses like plan --tuned.
    let mut only_cem = shipped.clone();
    only_cem["planners"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "cem");
    let f = write("cem-only.json", &only_cem);
    let out = dir.path().join("b").display().to_string();
    for args in [
        vec![
            "plan",
            "--env",
            "wall",
            "--horizon",
            "3",
            "--iters",
            "1",
            "--tuned",
            &f,
        ],
        vec![
            "bench",
            "--env",
            "wall",
            "--planners",
            "grasp",
            "--horizons",
            "3",
            "--problems",
            "1",
            "--iters",
            "3",
            "--tuned",
            &f,
            "--out",
            &out,
        ],
    ] {
        let line = one_line_error(&run(&args), 2);
        assert!(
            line.contains("no settings for planner grasp"),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn budget_and_grid_files_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let budget = dir.path().join("budget.json");
    std::fs::write(
        &budget,
        r#"{"mode":"iters","table":{"default":null,"per_planner":{"grasp":0},"per_cell":{}},"time_cap_s":null,"scaled_from":null}"#,
    )
    .unwrap();
    let out = dir.path().join("b").display().to_string();
    let o = run(&[
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp",
        "--horizons",
        "3",
        "--problems",
        "1",
        "--budget-file",
        budget.to_str().unwrap(),
        "--out",
        &out,
    ]);
    let line = one_line_error(&o, 2);
    assert!(
        line.contains("--budget-file") && line.contains("at least 1"),
        "{line}"
    );
    let grid = dir.path().join("grid.json");
    std::fs::write(
        &grid,
        r#"{"grasp": {"lr_actions": [0.01]}, "cem": {"topk": [10]}}"#,
    )
    .unwrap();
    let o = run(&[
        "tune",
        "--env",
        "wall",
        "--planners",
        "grasp",
        "--horizons",
        "3",
        "--problems",
        "1",
        "--iters",
        "3",
        "--grid",
        grid.to_str().unwrap(),
        "--out",
        &out,
    ]);
    let line = one_line_error(&o, 2);
    assert!(
        line.contains("'cem'") && line.contains("not being tuned"),
        "{line}"
    );
}

#[test]
fn missing_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["plan", "--env", "wall"], "--horizon"),
        (vec!["record", "--env", "wall"], "--out"),
        (vec!["sim", "--steps", "5"], "--env"),
        (vec!["app", "--screenshot", "s.png"], "--exit-after"),
        (
            vec![
                "bench",
                "--env",
                "wall",
                "--planners",
                "grasp",
                "--horizons",
                "3",
                "--problems",
                "1",
                "--budget-s",
                "1",
                "--calibrate-only",
                "--out",
                &out,
            ],
            "--scale-iters",
        ),
    ];
    for (args, flag) in cases {
        let line = one_line_error(&run(&args), 2);
        assert!(line.contains(flag), "{args:?}: {line}");
    }
}

#[test]
fn model_files_with_unusable_metadata_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "delta-std",
            Box::new(|i| i["normalization"]["delta_std"][0] = 3e38.into()),
            "delta_std",
        ),
        (
            "state-std",
            Box::new(|i| i["normalization"]["state_std"][1] = 1e-45.into()),
            "state_std",
        ),
        (
            "frameskip0",
            Box::new(|i| i["frameskip"] = 0.into()),
            "frameskip",
        ),
        (
            "frameskip7",
            Box::new(|i| i["frameskip"] = 7.into()),
            "frameskip",
        ),
        (
            "features",
            Box::new(|i| i["state_features"].as_array_mut().unwrap().push("z".into())),
            "state_features",
        ),
        (
            "format",
            Box::new(|i| i["format"] = "other-format".into()),
            "'format'",
        ),
    ];
    for (name, edit, what) in cases {
        let p = edited_model(dir.path(), "wall", &format!("{name}.safetensors"), edit);
        let p = p.to_str().unwrap();
        for args in [
            vec![
                "model",
                "eval",
                "--env",
                "wall",
                "--gap-problems",
                "0",
                "--episodes",
                "1",
                "--model",
                p,
            ],
            vec![
                "plan",
                "--env",
                "wall",
                "--horizon",
                "3",
                "--iters",
                "3",
                "--model",
                p,
            ],
        ] {
            let line = one_line_error(&run(&args), 1);
            assert!(line.contains(what), "{name} {args:?}: {line}");
        }
    }
    // A file that never ends is capped.
    let (o, took) = run_limited(
        cmd(&[
            "plan",
            "--env",
            "wall",
            "--horizon",
            "3",
            "--iters",
            "3",
            "--model",
            "/dev/zero",
        ]),
        Duration::from_secs(60),
    );
    let line = one_line_error(&o, 1);
    assert!(line.contains("MiB limit"), "{line}");
    assert!(took < Duration::from_secs(30), "{took:?}");
}

#[test]
fn overflowing_models_are_errors_in_eval_plan_and_record() {
    let dir = tempfile::tempdir().unwrap();
    // Weights ×1000 and delta_std ×1e4 stay within the load-time ranges and give finite one-step
    // predictions from the env's starts, but a few steps further the outputs overflow.
    let mut st = Safetensors::parse(&std::fs::read(shipped_model("wall")).unwrap());
    st.scale_weights(1000.0);
    let mut info = st.info();
    for v in info["normalization"]["delta_std"].as_array_mut().unwrap() {
        *v = (v.as_f64().unwrap() * 1e4).into();
    }
    st.set_info(&info);
    let p = dir.path().join("overflow.safetensors");
    std::fs::write(&p, st.bytes()).unwrap();
    let p = p.to_str().unwrap();
    let o = run(&[
        "model",
        "eval",
        "--env",
        "wall",
        "--gap-problems",
        "0",
        "--episodes",
        "2",
        "--model",
        p,
        "--json",
    ]);
    let line = one_line_error(&o, 1);
    assert!(line.contains("not finite"), "{line}");
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--horizon",
        "10",
        "--iters",
        "20",
        "--model",
        p,
    ]);
    let line = one_line_error(&o, 1);
    assert!(line.contains("diverged"), "{line}");
    let gif = dir.path().join("r.gif");
    let o = run(&[
        "record",
        "--env",
        "wall",
        "--horizon",
        "10",
        "--iters",
        "20",
        "--size",
        "128x128",
        "--hold",
        "0",
        "--model",
        p,
        "--out",
        gif.to_str().unwrap(),
    ]);
    // The "wrote …" line comes first, as plan prints its result before the error.
    let line = common::last_line_error(&o, 1);
    assert!(line.contains("diverged"), "{line}");
}

#[test]
fn gd_init_std_overflow_names_the_flag() {
    let o = run(&[
        "plan",
        "--env",
        "wall",
        "--planner",
        "gd",
        "--horizon",
        "5",
        "--iters",
        "30",
        "--json",
        "--init-std",
        "3e38",
        "--action-bound",
        "0",
    ]);
    let line = one_line_error(&o, 2);
    assert!(line.contains("--init-std"), "{line}");
    assert!(o.stdout.is_empty());
}

#[test]
fn budget_seconds_hold_inside_a_grasp_sync() {
    let (o, took) = run_limited(
        cmd(&[
            "plan",
            "--env",
            "wall",
            "--horizon",
            "5",
            "--budget-s",
            "1",
            "--sync-every",
            "2",
            "--sync-steps",
            "200000",
            "--json",
        ]),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = v["planning_time_s"].as_f64().unwrap();
    assert!((0.9..2.0).contains(&t), "planning time {t} s");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn crlf_trial_logs_resume_and_errors_have_no_raw_cr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    let o = out.to_str().unwrap();
    let base = [
        "bench",
        "--env",
        "wall",
        "--planners",
        "grasp",
        "--horizons",
        "3",
        "--problems",
        "2",
        "--iters",
        "5",
        "--out",
        o,
    ];
    let first = run(&base);
    assert!(first.status.success(), "{}", stderr(&first));
    let csv = out.join("trials.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    // Drop the last trial so resume has one to run, and turn LF into CRLF.
    std::fs::write(&csv, rows[..rows.len() - 1].join("\r\n") + "\r\n").unwrap();
    let mut args = base.to_vec();
    args.push("--resume");
    let again = run(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    // A corrupt CRLF log: the error quotes the header without a raw CR.
    std::fs::write(&csv, "bogus,header\r\nrow\r\n").unwrap();
    let bad = run(&args);
    let line = one_line_error(&bad, 1);
    assert!(line.contains("bogus"), "{line}");
}
