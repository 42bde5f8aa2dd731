//! Acceptance check of the planners issue: on the Push-T model shipped at the time (v1, now
//! `assets/models/pusht-v1.safetensors`), GRASP at H = 10 succeeds on most of the first 10 seeds. It runs the CLI
//! as a user would, with the settings `tune` chose for this horizon and model on tuning seeds disjoint from 0–9
//! (`assets/tuned/pusht-v1-h10.json`; how they were chosen: docs/planners.md). Success is judged in the
//! simulator, open-loop, as the benchmark and `tune` do: a check every 25 iterations (the file's interval), stop
//! at the first. It passes with one seed to spare (7/10 here), and four of the seven successes end 17–20 px from
//! the goal against a 20 px radius: runs are bit-identical on one machine, but `matrixmultiply` picks its GEMM
//! kernel for the CPU at run time, so on a CPU with other SIMD units rounding can differ and move a marginal seed
//! across the line. The model is pinned so that the check guards the planner, not the choice of model: on the
//! 3 × 256 model shipped since issue 13 GRASP solves 3–4 of these seeds at H = 10 (docs/planners.md).

use std::process::Command;
use std::thread;

fn solved(seed: u64) -> bool {
    let o = Command::new(env!("CARGO_BIN_EXE_grasp-explorer"))
        .args([
            "plan",
            "--env",
            "pusht",
            "--planner",
            "grasp",
            "--horizon",
            "10",
        ])
        .args([
            "--seed",
            &seed.to_string(),
            "--iters",
            "2000",
            "--stop-on-success",
        ])
        .args(["--tuned", "assets/tuned/pusht-v1-h10.json", "--json"])
        .args(["--model", "assets/models/pusht-v1.safetensors"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run grasp-explorer");
    assert!(
        o.status.success(),
        "seed {seed}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("plan --json prints JSON");
    v["success"].as_bool().expect("success is a bool")
}

#[test]
fn grasp_solves_most_of_the_first_ten_pusht_problems_at_h10() {
    // Two threads: one per core; each seed is an independent process.
    let halves: Vec<Vec<(u64, bool)>> = [0u64, 1]
        .map(|half| thread::spawn(move || (half..10).step_by(2).map(|s| (s, solved(s))).collect()))
        .into_iter()
        .map(|h| h.join().expect("worker thread"))
        .collect();
    let results: Vec<(u64, bool)> = halves.into_iter().flatten().collect();
    let wins = results.iter().filter(|(_, ok)| *ok).count();
    assert!(wins >= 6, "GRASP solved {wins}/10 at H = 10: {results:?}");
}
