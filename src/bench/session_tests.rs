//! Tests of run directories: resume after an interruption and merged shards reproduce an uninterrupted run.

use super::*;
use crate::bench::protocol::BudgetPolicy;
use crate::env::EnvKind;
use crate::plan::PlannerKind;

fn manifest(problems: usize, shard: Shard) -> Manifest {
    let c = |k: PlannerKind| Contender {
        label: k.name().into(),
        kind: k,
        params: k.default_params(),
        check_every: 3,
        mpc: None,
    };
    Manifest {
        format: FORMAT,
        kind: "bench".into(),
        config: BenchConfig {
            env: EnvKind::Wall,
            contenders: vec![c(PlannerKind::Grasp), c(PlannerKind::Gd)],
            horizons: vec![5, 8],
            problems,
            seed: 40,
            budget: BudgetPolicy::Iters {
                table: "20".parse().unwrap(),
                time_cap_s: None,
                scaled_from: None,
                equal_time_s: None,
            },
            model: "fake".into(),
            settings_source: "presets".into(),
        },
        shard,
        machine: vec!["test machine".into()],
        command: "test".into(),
    }
}

/// A deterministic fake executor: outcome is a function of the trial only. Fails after `stop_after`
/// trials to simulate an interruption.
fn fake(
    stop_after: Option<usize>,
) -> impl FnMut(&Contender, &TrialKey, u64, TrialBudget) -> Result<TrialRecord, BenchError> {
    let mut n = 0;
    move |c, k, seed, b| {
        n += 1;
        if stop_after.is_some_and(|s| n > s) {
            return Err(BenchError::Trial("interrupted".into()));
        }
        let h = (seed * 31 + k.horizon as u64 * 7 + c.label.len() as u64) % 10;
        let ok = h < 6;
        Ok(TrialRecord {
            planner: k.planner.clone(),
            horizon: k.horizon,
            problem: k.problem,
            problem_seed: seed,
            success: ok,
            time_to_success_s: ok.then_some(h as f64 * 0.1 + 0.05),
            planning_time_s: 1.0 + h as f64 * 0.1,
            iterations: b.max_iters.unwrap_or(0),
            iters_per_s: 20.0 / (1.0 + h as f64 * 0.1),
            final_distance: h as f64,
            model_terminal_error: 0.5,
            max_iters: b.max_iters,
            max_seconds: b.max_seconds,
            check_every: c.check_every,
            diverged: None,
            model_success: Some(h < 8),
        })
    }
}

fn run_all(
    dir: &Path,
    m: Manifest,
    resume: bool,
    stop_after: Option<usize>,
) -> Result<Summary, BenchError> {
    let mut notes = Vec::new();
    let mut s = Session::open(dir, m, resume, &mut notes)?;
    s.run(&mut fake(stop_after), &mut |_| {})
}

#[test]
fn resume_after_interruption_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let full = run_all(&a, manifest(5, Shard::ALL), false, None).unwrap();
    assert!(full.complete && full.trials_done == 20);
    assert!(run_all(&b, manifest(5, Shard::ALL), false, Some(7)).is_err());
    // A torn half-row at the end, as a kill mid-write would leave.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(b.join(TRIALS))
        .unwrap();
    std::io::Write::write_all(&mut f, b"gd,8,3,43,tr").unwrap();
    drop(f);
    // Without --resume the directory is refused and left alone.
    assert!(run_all(&b, manifest(5, Shard::ALL), false, None).is_err());
    // With different settings, resume is refused.
    let mut other = manifest(5, Shard::ALL);
    other.config.horizons = vec![5];
    let err = run_all(&b, other, true, None).unwrap_err().to_string();
    assert!(err.contains("horizons"), "{err}");
    // The settings file under another spelling (./f.json, another mount) is the same run: the settings
    // themselves are in the contenders, and the run keeps the description it was started with.
    let mut respelled = manifest(5, Shard::ALL);
    respelled.config.settings_source = "./presets".into();
    let resumed = run_all(&b, respelled, true, None).unwrap();
    assert_eq!(resumed.cells, full.cells);
    assert_eq!(
        std::fs::read_to_string(a.join("summary.json")).unwrap(),
        std::fs::read_to_string(b.join("summary.json")).unwrap()
    );
    assert!(b.join("success_rate.png").exists() && b.join("time_to_success.png").exists());
    assert!(b.join("success_over_time.csv").exists());
}

#[test]
fn merged_shards_equal_one_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let one = run_all(
        &tmp.path().join("one"),
        manifest(5, Shard::ALL),
        false,
        None,
    )
    .unwrap();
    let dirs: Vec<PathBuf> = (0..2).map(|i| tmp.path().join(format!("s{i}"))).collect();
    for (i, d) in dirs.iter().enumerate() {
        let part = run_all(d, manifest(5, Shard { index: i, count: 2 }), false, None).unwrap();
        // Not the whole run, but this shard's part of it is done, and its summary says so.
        assert!(!part.complete && part.finished());
        let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
        assert!(md.contains(&format!("shard {i}/2 complete")), "{md}");
        assert!(!md.contains("INCOMPLETE"), "{md}");
        assert_eq!(part.title_status(), format!(" (shard {i}/2)"));
    }
    let mut notes = Vec::new();
    let merged = merge(&dirs, &tmp.path().join("merged"), &mut notes).unwrap();
    assert_eq!(merged.cells, one.cells);
    assert!(merged.complete);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("one").join(TRIALS)).unwrap(),
        std::fs::read_to_string(tmp.path().join("merged").join(TRIALS)).unwrap()
    );
    // Overlapping inputs and mismatched runs are refused.
    let twice = [dirs[0].clone(), dirs[0].clone()];
    let err = merge(&twice, &tmp.path().join("m2"), &mut notes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("overlapping"), "{err}");
    let odd = tmp.path().join("odd");
    run_all(&odd, manifest(4, Shard { index: 1, count: 2 }), false, None).unwrap();
    let err = merge(&[dirs[0].clone(), odd], &tmp.path().join("m3"), &mut notes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("problems"), "{err}");
}

#[test]
fn a_row_from_another_run_is_corruption() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("r");
    run_all(&d, manifest(2, Shard::ALL), false, Some(3)).unwrap_err();
    let text = std::fs::read_to_string(d.join(TRIALS)).unwrap();
    std::fs::write(d.join(TRIALS), text.replace("\ngd,5,0,", "\nlatco,5,0,")).unwrap();
    let err = run_all(&d, manifest(2, Shard::ALL), true, None).unwrap_err();
    assert!(matches!(err, BenchError::Corrupt { line: 3, .. }), "{err}");
}

#[test]
fn resuming_a_legacy_log_rewrites_it_in_the_current_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    assert!(run_all(&dir, manifest(5, Shard::ALL), false, Some(6)).is_err());
    // Turn the log into one written before `model_success` existed: drop the last column everywhere.
    let text = std::fs::read_to_string(dir.join(TRIALS)).unwrap();
    let legacy: String = text
        .lines()
        .map(|l| format!("{}\n", l.rsplit_once(',').unwrap().0))
        .collect();
    assert!(
        legacy.starts_with("planner,") && legacy.lines().next().unwrap().ends_with(",diverged")
    );
    std::fs::write(dir.join(TRIALS), legacy).unwrap();
    let s = run_all(&dir, manifest(5, Shard::ALL), true, None).unwrap();
    assert!(s.complete);
    let loaded = crate::bench::trial_log::read_log(&dir.join(TRIALS)).unwrap();
    assert!(!loaded.legacy, "the resumed log has the current header");
    let recorded = loaded
        .records
        .iter()
        .filter(|r| r.model_success.is_some())
        .count();
    assert_eq!(
        (loaded.records.len(), recorded),
        (20, 14),
        "6 legacy rows, 14 new"
    );
    // The rate is over the trials that recorded it.
    assert!(s.cells.iter().all(|c| c.model_success_rate.is_some()));
}
