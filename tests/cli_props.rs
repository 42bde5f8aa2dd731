//! Property test over the CLI's numeric flags (issue 15): any value — 0, negatives, NaN, ±inf, huge, or an
//! ordinary small number — gives exit 0, 1 or 2 (a usage error is exactly one "error: …" stderr line; a runtime
//! error ends stderr with its one error line), never a panic (101) or an abort (134), and finishes within a few seconds. Each flag is tried on a
//! small run (Wall, horizon 3, a few iterations) so the ordinary values stay fast. `PROPTEST_CASES` sets the
//! number of cases per property (default 24) and `PROPTEST_RNG_SEED` the seed (default fixed, so CI is
//! deterministic).

mod common;

use std::time::Duration;

use proptest::prelude::*;

use common::{cmd, run_limited, stderr};

/// A value as a user might type it.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "0", "-1", "-0", "NaN", "nan", "inf", "-inf", "1e308", "-1e308", "3e38", "1e-45",
            "99999999999", "-99999999999", "18446744073709551616", "1.5", "",
        ])
        .prop_map(str::to_string),
        2 => (-5i64..40).prop_map(|v| v.to_string()),
        2 => (-2.0f64..20.0).prop_map(|v| format!("{v:.3}")),
    ]
}

/// (base command, numeric flags it takes).
fn commands(dir: &str) -> Vec<(Vec<String>, Vec<&'static str>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let gif = format!("{dir}/r.gif");
    let bench_out = format!("{dir}/bench");
    vec![
        (
            s(&[
                "plan",
                "--env",
                "wall",
                "--horizon",
                "3",
                "--iters",
                "4",
                "--json",
            ]),
            vec![
                "--horizon",
                "--iters",
                "--budget-s",
                "--check-every",
                "--seed",
                "--save-every",
                "--lr-states",
                "--lr-actions",
                "--noise",
                "--goal-weight",
                "--sync-every",
                "--sync-steps",
                "--sync-lr",
                "--cem-sync-samples",
                "--cem-sync-topk",
                "--cem-sync-var-scale",
                "--cem-sync-var-min",
                "--goal-weight-min",
                "--noise-min",
                "--init-noise",
                "--rollout-every",
                "--action-bound",
            ],
        ),
        (
            s(&[
                "plan",
                "--env",
                "wall",
                "--planner",
                "cem",
                "--horizon",
                "3",
                "--iters",
                "2",
            ]),
            vec![
                "--samples",
                "--topk",
                "--init-std",
                "--min-std",
                "--action-bound",
                "--horizon",
            ],
        ),
        (
            s(&[
                "plan",
                "--env",
                "wall",
                "--planner",
                "gd",
                "--horizon",
                "3",
                "--iters",
                "4",
            ]),
            vec!["--lr", "--action-noise", "--init-std", "--action-bound"],
        ),
        (
            s(&["sim", "--env", "wall", "--steps", "5"]),
            vec!["--steps", "--horizon", "--seed"],
        ),
        (
            s(&[
                "record",
                "--env",
                "wall",
                "--horizon",
                "3",
                "--iters",
                "2",
                "--size",
                "128x128",
                "--hold",
                "0",
                "--fps",
                "10",
                "--out",
                &gif,
            ]),
            vec![
                "--horizon",
                "--iters",
                "--fps",
                "--every",
                "--hold",
                "--queue",
                "--seed",
            ],
        ),
        (
            s(&[
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
                "--out",
                &bench_out,
            ]),
            vec![
                "--horizons",
                "--problems",
                "--iters",
                "--seed",
                "--check-every",
            ],
        ),
    ]
}

fn check(
    base: &[String],
    flag: &str,
    value: &str,
    dir: &std::path::Path,
) -> Result<(), TestCaseError> {
    let mut args: Vec<String> = base.to_vec();
    // Replace the flag's value if the base sets it, else append it.
    match args.iter().position(|a| a == flag) {
        Some(i) => args[i + 1] = value.to_string(),
        None => args.extend([flag.to_string(), value.to_string()]),
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (o, took) = run_limited(cmd(&argv), Duration::from_secs(30));
    std::fs::remove_dir_all(dir.join("bench")).ok();
    std::fs::remove_file(dir.join("r.gif")).ok();
    let err = stderr(&o);
    let code = o.status.code();
    prop_assert!(
        matches!(code, Some(0..=2)),
        "{argv:?}: exit {code:?}, {err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    if code == Some(2) {
        // Usage errors come before any work: the error is all there is.
        prop_assert_eq!(lines.len(), 1, "{:?}: {}", argv, err);
    }
    if code != Some(0) {
        // The error line is the last one and the only one (a bench may print its plan first).
        let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error")).collect();
        prop_assert_eq!(errors.len(), 1, "{:?}: {}", argv, err);
        prop_assert_eq!(
            lines.last().copied(),
            Some(*errors[0]),
            "{:?}: {}",
            argv,
            err
        );
    }
    prop_assert!(!err.contains("panicked"), "{argv:?}: {err}");
    prop_assert!(took < Duration::from_secs(15), "{argv:?} took {took:?}");
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    // A fixed seed keeps CI deterministic; PROPTEST_RNG_SEED=N (or a larger PROPTEST_CASES) explores more.
    let base = ProptestConfig::default();
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        base.rng_seed
    } else {
        proptest::test_runner::RngSeed::Fixed(0x0067_7261_7370)
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed,
        ..base
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn numeric_flags_never_panic_or_hang(which in 0usize..1000, pick in 0usize..1000, v in value()) {
        let dir = tempfile::tempdir().unwrap();
        let cmds = commands(dir.path().to_str().unwrap());
        let (base, flags) = &cmds[which % cmds.len()];
        let flag = flags[pick % flags.len()];
        check(base, flag, &v, dir.path())?;
    }
}
