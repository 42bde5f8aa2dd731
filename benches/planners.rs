//! Planner speed at one horizon: iterations per second of each planner preset on the Push-T world model, and
//! a breakdown of one GRASP iteration (batched forward, action VJP, the rest of the update, the serial
//! rollout, snapshot emission). Uses the shipped model (assets/models/pusht.safetensors, or
//! $GRASP_EXPLORER_MODELS) when present, else an untrained MLP of the default shape [256, 256] (same cost).
//!
//! Every planner row is read against the machine: the single-core FMA peak (a tight register-only kernel,
//! `support/roofline.rs`), the model FLOPs one iteration costs (counted by running the planner through a
//! wrapper that tallies the rows every model call processes, × 2·Σ in·out per row; the VJP costs the same as
//! the forward), and the achieved GFLOP/s and fraction of peak. Timings are the best of 3 runs of SECONDS/3
//! each (the least disturbed by other processes on a shared machine).
//!
//! Run: `cargo bench --no-default-features --bench planners [-- H [SECONDS [PRESET [THREADS]]]]` (defaults
//! H = 50, 2 s per planner; with PRESET only that planner runs, e.g. for profiling; THREADS > 1 also times
//! it with a pool of that many planner threads). Single-threaded otherwise.

#[path = "support/roofline.rs"]
mod roofline;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::info::Activation;
use grasp_explorer::model::io::load_env_model;
use grasp_explorer::model::mlp::untrained;
use grasp_explorer::model::{Tape, WorldModel};
use grasp_explorer::plan::serial::SerialRollout;
use grasp_explorer::plan::{
    make_planner, GraspParams, ModelProblem, Parallel, PlannerKind, PlannerParams,
};

/// Best of 3 mean seconds per call of `f`, each over at least `secs` / 3 seconds (after a warm-up).
fn time_per_call(secs: f64, mut f: impl FnMut()) -> (f64, u64) {
    for _ in 0..3 {
        f();
    }
    let (mut best, mut calls) = (f64::INFINITY, 0);
    for _ in 0..3 {
        let (mut n, start) = (0u64, Instant::now());
        while start.elapsed().as_secs_f64() < secs / 3.0 || n < 3 {
            f();
            n += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / n as f64);
        calls += n;
    }
    (best, calls)
}

/// A model that forwards to `inner` and counts the rows of every forward and VJP (for FLOP accounting).
struct Counting {
    inner: Arc<dyn WorldModel>,
    rows: AtomicU64,
}

impl WorldModel for Counting {
    fn env(&self) -> Option<EnvKind> {
        self.inner.env()
    }
    fn state_dim(&self) -> usize {
        self.inner.state_dim()
    }
    fn action_dim(&self) -> usize {
        self.inner.action_dim()
    }
    fn forward(&self, s: &[f32], a: &[f32], out: &mut [f32], tape: &mut Tape) {
        self.rows
            .fetch_add((s.len() / self.state_dim()) as u64, Ordering::Relaxed);
        self.inner.forward(s, a, out, tape)
    }
    fn forward_no_grad(&self, s: &[f32], a: &[f32], out: &mut [f32], tape: &mut Tape) {
        self.rows
            .fetch_add((s.len() / self.state_dim()) as u64, Ordering::Relaxed);
        self.inner.forward_no_grad(s, a, out, tape)
    }
    fn vjp(&self, tape: &Tape, g: &[f32], gs: Option<&mut [f32]>, ga: Option<&mut [f32]>) {
        self.rows.fetch_add(tape.batch as u64, Ordering::Relaxed);
        self.inner.vjp(tape, g, gs, ga)
    }
    fn encode_state(&self, s: &[f32]) -> Vec<f32> {
        self.inner.encode_state(s)
    }
    fn decode_state(&self, s: &[f32]) -> Vec<f32> {
        self.inner.decode_state(s)
    }
    fn encode_actions(&self, a: &[f32]) -> Vec<f32> {
        self.inner.encode_actions(a)
    }
    fn decode_actions(&self, a: &[f32]) -> Vec<f32> {
        self.inner.decode_actions(a)
    }
}

/// Model rows (forward or VJP) per iteration of `params`, averaged over `iters` iterations.
fn rows_per_iteration(
    params: &PlannerParams,
    mp: &ModelProblem,
    model: &Arc<dyn WorldModel>,
    iters: usize,
) -> f64 {
    let counting = Arc::new(Counting {
        inner: model.clone(),
        rows: AtomicU64::new(0),
    });
    let mut p = make_planner(params, mp, counting.clone(), 0).expect("planner");
    let before = counting.rows.load(Ordering::Relaxed);
    for _ in 0..iters {
        p.step();
    }
    (counting.rows.load(Ordering::Relaxed) - before) as f64 / iters as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let horizon: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let only: Option<PlannerKind> = args.get(3).and_then(|s| s.parse().ok());
    let threads: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let mlp = match load_env_model(EnvKind::Pusht, None) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("({e}; using an untrained [256, 256] MLP)");
            untrained(EnvKind::Pusht, &[256, 256], Activation::Silu, 1)?
        }
    };
    let which = format!("MLP {:?}", mlp.info().layers);
    // FLOPs of one row through the network (forward; the VJP costs the same).
    let row_flops: f64 = mlp
        .layers()
        .iter()
        .map(|l| 2.0 * (l.in_dim * l.out_dim) as f64)
        .sum();
    let model: Arc<dyn WorldModel> = Arc::new(mlp);
    let peak = roofline::measure(5);
    let problem = Problem::generate(EnvKind::Pusht, horizon, 0)?;
    let mp = ModelProblem::from_problem(&problem, model.as_ref())?;
    let (d, k) = (model.state_dim(), model.action_dim());
    println!("Push-T, H = {horizon}, {which} (D = {d}, K = {k}), one thread");
    println!("{}", roofline::describe(&peak));
    println!();
    println!(
        "| planner | iterations/s | ms/iteration | model MFLOP/iteration | GFLOP/s (% of peak) |"
    );
    println!("|---|---|---|---|---|");
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
        let params = kind.default_params();
        let count_iters = if kind == PlannerKind::Cem { 5 } else { 200 };
        let flops = rows_per_iteration(&params, &mp, &model, count_iters) * row_flops;
        let mut p = make_planner(&params, &mp, model.clone(), 0)?;
        let (per, _) = time_per_call(secs, || {
            p.step();
        });
        let line = |label: String, per: f64| {
            println!(
                "| {label} | {:.0} | {:.3} | {:.1} | {} |",
                1.0 / per,
                per * 1e3,
                flops / 1e6,
                roofline::fmt(flops / per / 1e9, &peak)
            )
        };
        line(kind.to_string(), per);
        if threads > 1 {
            let mut p = make_planner(&params, &mp, model.clone(), 0)?;
            p.set_parallel(&Parallel::new(threads)?);
            let (per, _) = time_per_call(secs, || {
                p.step();
            });
            line(format!("{kind}, {threads} threads"), per);
        }
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
        "| grasp, rollout_every 1 | {:.0} | {:.3} | | |",
        1.0 / per,
        per * 1e3
    );
    let mut p = make_planner(&PlannerKind::Grasp.default_params(), &mp, model.clone(), 0)?;
    let mut kept = Vec::new();
    let (per, _) = time_per_call(secs.min(1.0), || kept.push(p.step()));
    println!(
        "| grasp, caller keeps every snapshot | {:.0} | {:.3} | | |",
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
    let h = horizon as f64;
    let g = |rows: f64, t: f64| roofline::fmt(rows * row_flops / t / 1e9, &peak);
    println!("| part | µs | GFLOP/s (% of peak) |");
    println!("|---|---|---|");
    println!(
        "| batched forward, {horizon} rows | {:.1} | {} |",
        fwd * 1e6,
        g(h, fwd)
    );
    println!("| action VJP | {:.1} | {} |", vjp * 1e6, g(h, vjp));
    println!(
        "| state + action VJP (state-grad ablation) | {:.1} | {} |",
        vjp_s * 1e6,
        g(h, vjp_s)
    );
    println!(
        "| serial rollout, {horizon} batch-1 forwards | {:.1} | {} |",
        roll * 1e6,
        g(h, roll)
    );
    println!(
        "| whole iteration without sync or rollout | {:.1} (update, noise, loss, snapshot: {:.1}) | |",
        bare * 1e6,
        (bare - fwd - vjp) * 1e6
    );
    println!(
        "| GD sync (10 × rollout + BPTT), amortized over 50 iterations | ~{:.1} | |",
        10.0 * roll * 2.5 * 1e6 / 50.0
    );
    Ok(())
}
