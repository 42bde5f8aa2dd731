//! Planner speed at one horizon: iterations per second of each planner preset on the Push-T world model, and
//! a breakdown of one GRASP iteration (batched forward, action VJP, the rest of the update, the serial
//! rollout, snapshot emission). Uses the shipped model (assets/models/pusht.safetensors, or
//! $GRASP_EXPLORER_MODELS) when present, else an untrained MLP of the default shape [256, 256] (same cost).
//!
//! Run: `cargo bench --no-default-features --bench planners [-- H [SECONDS [PRESET]]]` (defaults H = 50,
//! 2 s per planner; with PRESET only that planner runs, e.g. for profiling). Single-threaded throughout.

use std::sync::Arc;
use std::time::Instant;

use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::info::Activation;
use grasp_explorer::model::mlp::untrained;
use grasp_explorer::model::{load_for_env, Tape, WorldModel};
use grasp_explorer::plan::serial::SerialRollout;
use grasp_explorer::plan::{make_planner, GraspParams, ModelProblem, PlannerKind, PlannerParams};

/// Mean seconds per call of `f` over at least `secs` seconds (after a warm-up).
fn time_per_call(secs: f64, mut f: impl FnMut()) -> (f64, u64) {
    for _ in 0..3 {
        f();
    }
    let (mut n, start) = (0u64, Instant::now());
    while start.elapsed().as_secs_f64() < secs || n < 3 {
        f();
        n += 1;
    }
    (start.elapsed().as_secs_f64() / n as f64, n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let horizon: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let only: Option<PlannerKind> = args.get(3).and_then(|s| s.parse().ok());
    let (model, which): (Arc<dyn WorldModel>, String) = match load_for_env(EnvKind::Pusht, None) {
        Ok(m) => (m, "shipped pusht model".into()),
        Err(e) => {
            eprintln!("({e}; using an untrained [256, 256] MLP)");
            let m = untrained(EnvKind::Pusht, &[256, 256], Activation::Silu, 1)?;
            (Arc::new(m), "untrained [256, 256] MLP".into())
        }
    };
    let problem = Problem::generate(EnvKind::Pusht, horizon, 0)?;
    let mp = ModelProblem::from_problem(&problem, model.as_ref())?;
    let (d, k) = (model.state_dim(), model.action_dim());
    println!("Push-T, H = {horizon}, {which} (D = {d}, K = {k}), one thread");
    println!();
    println!("| planner | iterations/s | ms/iteration |");
    println!("|---|---|---|");
    let kinds = [
        PlannerKind::Grasp,
        PlannerKind::GraspNoSync,
        PlannerKind::GraspStateGrad,
        PlannerKind::GraspCemSync,
        PlannerKind::Cem,
        PlannerKind::Gd,
        PlannerKind::Latco,
    ];
    for kind in kinds {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let mut p = make_planner(&kind.default_params(), &mp, model.clone(), 0)?;
        let (per, _) = time_per_call(secs, || {
            p.step();
        });
        println!("| {kind} | {:.0} | {:.3} |", 1.0 / per, per * 1e3);
    }
    if only.is_some() {
        return Ok(());
    }
    // GRASP with the serial rollout every iteration, and keeping every snapshot (as the app does).
    let every = PlannerParams::Grasp(GraspParams {
        rollout_every: 1,
        ..Default::default()
    });
    let mut p = make_planner(&every, &mp, model.clone(), 0)?;
    let (per, _) = time_per_call(secs, || {
        p.step();
    });
    println!(
        "| grasp, rollout_every 1 | {:.0} | {:.3} |",
        1.0 / per,
        per * 1e3
    );
    let mut p = make_planner(&PlannerKind::Grasp.default_params(), &mp, model.clone(), 0)?;
    let mut kept = Vec::new();
    let (per, _) = time_per_call(secs.min(1.0), || kept.push(p.step()));
    println!(
        "| grasp, caller keeps every snapshot | {:.0} | {:.3} |",
        1.0 / per,
        per * 1e3
    );
    drop(kept);

    // Breakdown of one GRASP iteration at this horizon.
    let s: Vec<f32> = (0..horizon * d).map(|i| (i as f32 * 0.37).sin()).collect();
    let a: Vec<f32> = (0..horizon * k).map(|i| (i as f32 * 0.71).cos()).collect();
    let g: Vec<f32> = (0..horizon * d).map(|i| (i as f32 * 1.3).sin()).collect();
    let (mut out, mut ga, mut gs) = (
        vec![0.0; horizon * d],
        vec![0.0; horizon * k],
        vec![0.0; horizon * d],
    );
    let mut tape = Tape::default();
    let t = secs.min(1.0);
    let (fwd, _) = time_per_call(t, || model.forward(&s, &a, &mut out, &mut tape));
    let (vjp, _) = time_per_call(t, || model.vjp(&tape, &g, None, Some(&mut ga)));
    let (vjp_s, _) = time_per_call(t, || model.vjp(&tape, &g, Some(&mut gs), Some(&mut ga)));
    let mut serial = SerialRollout::default();
    let (roll, _) = time_per_call(t, || serial.run(model.as_ref(), &mp.start, &a, 1, horizon));
    let nosync = PlannerParams::Grasp(GraspParams {
        sync_enabled: false,
        rollout_every: usize::MAX,
        ..Default::default()
    });
    let mut p = make_planner(&nosync, &mp, model.clone(), 0)?;
    let (bare, _) = time_per_call(t, || {
        p.step();
    });
    println!();
    println!("GRASP iteration breakdown (µs):");
    println!();
    println!("| part | µs |");
    println!("|---|---|");
    println!("| batched forward, {horizon} rows | {:.1} |", fwd * 1e6);
    println!("| action VJP | {:.1} |", vjp * 1e6);
    println!(
        "| state + action VJP (state-grad ablation) | {:.1} |",
        vjp_s * 1e6
    );
    println!(
        "| serial rollout, {horizon} batch-1 forwards | {:.1} |",
        roll * 1e6
    );
    println!(
        "| whole iteration without sync or rollout | {:.1} (update, noise, loss, snapshot: {:.1}) |",
        bare * 1e6,
        (bare - fwd - vjp) * 1e6
    );
    println!(
        "| GD sync (10 × rollout + BPTT), amortized over 50 iterations | ~{:.1} |",
        10.0 * roll * 2.5 * 1e6 / 50.0
    );
    Ok(())
}
