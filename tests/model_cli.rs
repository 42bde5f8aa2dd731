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
            "--gap-tuned",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/docs/results/wall-tune/tuned.json"
            ),
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

    // The gap planners' settings file is checked before the held-out evaluation: another env's, or one without
    // a gap planner, is a usage error, a missing one a runtime error, each one line.
    let pusht_settings = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tuned/pusht.json");
    let wall_settings = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/results/wall-tune/tuned.json"
    );
    for (file, code, says) in [
        (pusht_settings, 2, "the settings are for pusht, not wall"),
        (
            "no-such-settings.json",
            1,
            "cannot use --gap-tuned no-such-settings.json",
        ),
        (wall_settings, 2, "no settings for planner latco"),
    ] {
        let out = bin()
            .args([
                "model",
                "eval",
                "--env",
                "wall",
                "--gap-planners",
                "cem,latco",
            ])
            .args(["--gap-tuned", file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{file}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Presets and a settings file are two answers to one question.
    let out = bin()
        .args([
            "model",
            "eval",
            "--env",
            "wall",
            "--gap-presets",
            "--gap-tuned",
        ])
        .arg(wall_settings)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );

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

/// `--designated-model F`: member 0 is F unchanged, so the ensemble plans exactly as F does; the other
/// members are trained with F's normalization and shape. Without --ensemble it is a usage error.
#[test]
fn an_ensemble_around_a_given_model_plans_as_that_model() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("wall-one.safetensors");
    let ens = dir.path().join("wall-ens.safetensors");
    let common = [
        "train",
        "--env",
        "wall",
        "--samples",
        "1000",
        "--epochs",
        "1",
    ];
    let out = bin()
        .args(common)
        .args(["--hidden", "16,16"])
        .arg("--out")
        .arg(&single)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(common)
        .args([
            "--hidden",
            "16",
            "--seed",
            "7",
            "--ensemble",
            "3",
            "--designated-model",
        ])
        .arg(&single)
        .arg("--out")
        .arg(&ens)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let one = grasp_explorer::model::io::load_model(&single).unwrap();
    let e = grasp_explorer::model::io::load_ensemble(&ens).unwrap();
    assert_eq!(e.members().len(), 3);
    assert_eq!(e.designated_model().layers(), one.layers());
    assert_ne!(e.members()[1].layers(), one.layers());
    // The other members take the designated model's shape (--hidden 16 is ignored).
    assert_eq!(e.members()[1].info().hidden(), vec![16, 16]);
    assert_eq!(
        e.members()[1].info().normalization.state_mean,
        one.info().normalization.state_mean
    );
    let plan = |model: &std::path::Path| {
        let o = bin()
            .args([
                "plan",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "5",
                "--json",
                "--model",
            ])
            .arg(model)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["final_distance"].clone(),
            v["model_terminal_error"].clone(),
        )
    };
    assert_eq!(plan(&ens), plan(&single));
    let out = bin()
        .args(common)
        .arg("--designated-model")
        .arg(&single)
        .arg("--out")
        .arg(dir.path().join("x.safetensors"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--designated-model"));
}

#[test]
fn an_ensemble_trains_into_one_file_that_plans_and_loads_as_an_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wall-ens.safetensors");
    let train = |extra: &[&str]| {
        bin()
            .args([
                "train",
                "--env",
                "wall",
                "--samples",
                "1000",
                "--epochs",
                "1",
            ])
            .args(["--hidden", "16", "--seed", "3"])
            .args(extra)
            .arg("--out")
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = train(&["--ensemble", "3", "--bootstrap"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ensemble of 3 (bootstrap)"));
    let ens = grasp_explorer::model::io::load_ensemble(&file).unwrap();
    assert_eq!((ens.members().len(), ens.designated()), (3, 0));
    let seeds: Vec<u64> = ens
        .members()
        .iter()
        .map(|m| m.info().training.as_ref().unwrap().seed)
        .collect();
    assert_eq!(seeds, vec![3, 4, 5]);
    // Members differ (seeds, resamples), so they disagree on a plan; planning uses member 0.
    let d = ens.disagreement(&[30.0, 30.0], &[0.5; 50], 5);
    assert!(d.spread[5] > 0.0, "{:?}", d.spread);
    let plan = |extra: &[&str], model: &std::path::Path| {
        bin()
            .args([
                "plan",
                "--env",
                "wall",
                "--horizon",
                "5",
                "--iters",
                "5",
                "--json",
            ])
            .args(extra)
            .arg("--model")
            .arg(model)
            .output()
            .unwrap()
    };
    let out = plan(&["--trust-threshold", "0"], &file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["disagreement"].as_array().unwrap().len(), 6, "{j}");
    assert!(j["divergence_step"].as_u64().unwrap() <= 5);
    // Members disagree after step 0, so a zero threshold trusts no step.
    assert_eq!(j["trust_horizon"], 0, "{j}");
    let out = plan(&["--trust-threshold", "1e9"], &file);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["trust_horizon"], 5, "{j}");
    // A threshold needs an ensemble (the file is named, exit 1); a bad one is a usage error.
    let single = dir.path().join("wall.safetensors");
    let out = bin()
        .args([
            "train",
            "--env",
            "wall",
            "--samples",
            "1000",
            "--epochs",
            "1",
            "--hidden",
            "8",
        ])
        .arg("--out")
        .arg(&single)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = plan(&["--trust-threshold", "1"], &single);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an ensemble"));
    let out = plan(&[], &single);
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        j.get("trust_horizon").is_none(),
        "single models report no trust figures"
    );
    let out = plan(&["--trust-threshold", "-1"], &file);
    assert_eq!(out.status.code(), Some(2));
    // Closed loop reports no trust figures: a threshold there only applies to adaptive execution.
    let out = plan(&["--mpc", "--trust-threshold", "1"], &file);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mpc-execute trust"));
    // Adaptive MPC: a threshold nothing exceeds executes the first plan whole; a zero threshold one step
    // per plan (at least one step is always executed).
    let executed = |t: &str| -> Vec<u64> {
        let out = plan(
            &["--mpc", "--mpc-execute", "trust", "--trust-threshold", t],
            &file,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        j["mpc_steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["executed"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(executed("1e9"), vec![5]);
    let one_by_one = executed("0");
    assert!(one_by_one.iter().all(|k| *k == 1), "{one_by_one:?}");
    let out = plan(&["--mpc", "--mpc-execute", "trust"], &file);
    assert_eq!(
        out.status.code(),
        Some(2),
        "trust execution needs a threshold"
    );
    let out = plan(
        &["--mpc", "--mpc-execute", "trust", "--trust-threshold", "1"],
        &single,
    );
    assert_eq!(out.status.code(), Some(1), "and an ensemble");
    // The disagreement penalty plans with the members (GRASP and CEM); it needs an ensemble (exit 1, the
    // file named), a finite weight >= 0 and a planner that has it (exit 2).
    for planner in ["grasp", "cem"] {
        let out = plan(&["--planner", planner, "--trust-penalty", "2"], &file);
        assert!(
            out.status.success(),
            "{planner}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = plan(&["--planner", planner, "--trust-penalty", "2"], &single);
        assert_eq!(out.status.code(), Some(1), "{planner}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not an ensemble"));
    }
    for bad in [
        &["--trust-penalty", "-1"][..],
        &["--trust-penalty", "nan"],
        &["--planner", "gd", "--trust-penalty", "1"],
    ] {
        let out = plan(bad, &file);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--trust-penalty"));
    }
    // A calibration next to the ensemble is the default threshold, for plan and for adaptive MPC in bench.
    let calibration = file.with_extension("trust.json");
    std::fs::write(&calibration, r#"{"env": "wall", "threshold": 1e9}"#).unwrap();
    let out = plan(&[], &file);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["trust_horizon"], 5, "{j}");
    let bench_dir = dir.path().join("bench");
    let out = bin()
        .args([
            "bench",
            "--env",
            "wall",
            "--planners",
            "cem",
            "--horizons",
            "4",
        ])
        .args(["--problems", "1", "--iters", "3", "--no-tuned", "--json"])
        .args(["--mpc", "--mpc-execute", "trust", "--mpc-iters", "1"])
        .arg("--model")
        .arg(&file)
        .arg("--out")
        .arg(&bench_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(bench_dir.join("run.json")).unwrap();
    assert!(manifest.contains("\"trust\": true"), "{manifest}");
    assert!(
        manifest.contains("\"trust_threshold\": 1000000000.0"),
        "the calibrated threshold is recorded: {manifest}"
    );
    std::fs::remove_file(&calibration).unwrap();
    // `model trust` calibrates a threshold from the planners' plans on tuning problems, with the shipped
    // settings or a given file's; another env's file is a usage error before anything runs.
    let trust = |extra: &[&str]| {
        bin()
            .args(["model", "trust", "--env", "wall", "--planners", "gd"])
            .args([
                "--problems",
                "2",
                "--horizon",
                "5",
                "--iters",
                "3",
                "--json",
            ])
            .args(extra)
            .arg("--model")
            .arg(&file)
            .output()
            .unwrap()
    };
    let wall_settings = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/results/wall-tune/tuned.json"
    );
    for extra in [&[][..], &["--tuned", wall_settings]] {
        let out = trust(extra);
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(j["threshold"].as_f64().unwrap() >= 0.0, "{j}");
    }
    let out = trust(&[
        "--tuned",
        concat!(env!("CARGO_MANIFEST_DIR"), "/assets/tuned/pusht.json"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not wall") && err.trim().lines().count() == 1,
        "{err}"
    );
    // Same seed, same members (the files differ only in the recorded wall-clock seconds).
    std::fs::remove_file(&file).unwrap();
    assert!(train(&["--ensemble", "3", "--bootstrap"]).status.success());
    let again = grasp_explorer::model::io::load_ensemble(&file).unwrap();
    use grasp_explorer::model::WorldModel as _;
    for (a, b) in again.members().iter().zip(ens.members()) {
        assert_eq!(a.layers(), b.layers(), "training is deterministic by seed");
        assert_eq!(
            a.predict(&[0.1, 0.2], &[0.3; 10]),
            b.predict(&[0.1, 0.2], &[0.3; 10])
        );
    }
    // Nothing to disagree with, or a resample without an ensemble: usage errors naming the flag.
    for bad in [
        &["--ensemble", "1"][..],
        &["--ensemble", "0"],
        &["--bootstrap"],
    ] {
        let out = train(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.trim().lines().count() == 1 && err.contains("--"),
            "{err}"
        );
    }
}
