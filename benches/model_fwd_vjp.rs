//! Speed of one world-model forward + action-VJP (what a GRASP iteration costs per horizon step batch):
//! the hand-written inference path (`MlpModel`) against candle's autograd, at batch 1, 50 and 300, for a few
//! network shapes, each read against the single-core FMA peak (`support/roofline.rs`: achieved GFLOP/s and
//! fraction of peak; the VJP counts as many FLOPs as the forward). Timings are the best of 3 runs.
//! Run: `cargo bench --no-default-features --bench model_fwd_vjp` (prints µs per call).
//! candle's thread count follows RAYON_NUM_THREADS (unset = all cores).

#[path = "support/roofline.rs"]
mod roofline;

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use grasp_explorer::env::EnvKind;
use grasp_explorer::model::info::Activation;
use grasp_explorer::model::mlp::{untrained, CandleMlp};
use grasp_explorer::model::{Tape, WorldModel};

/// Best of 3 mean µs per call of `f`, after a warm-up, each over at least ~0.15 s.
fn time_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let mut n = 0u64;
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < 0.15 || n < 10 {
            f();
            n += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    best
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shapes: &[&[usize]] = &[&[128, 128], &[256, 256], &[192, 192, 192], &[256, 256, 256]];
    let peak = roofline::measure(5);
    println!("{}", roofline::describe(&peak));
    println!("env pusht (D=8, K=10), activation silu; µs per forward + action-VJP");
    println!(
        "| hidden | batch | fast fwd | fast fwd+vjp | GFLOP/s fwd+vjp (% of peak) | candle fwd+vjp | GRASP it/s (fast, H=50) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for hidden in shapes {
        let m = untrained(EnvKind::Pusht, hidden, Activation::Silu, 1)?;
        let net = CandleMlp::from_dense(m.layers(), Activation::Silu)?;
        let (d, k) = (m.state_dim(), m.action_dim());
        let row_flops: f64 = m
            .layers()
            .iter()
            .map(|l| 2.0 * (l.in_dim * l.out_dim) as f64)
            .sum();
        for b in [1usize, 50, 300] {
            let s: Vec<f32> = (0..b * d).map(|i| (i as f32 * 0.3).sin()).collect();
            let a: Vec<f32> = (0..b * k).map(|i| (i as f32 * 0.7).cos()).collect();
            let g: Vec<f32> = (0..b * d).map(|i| (i as f32 * 1.1).sin()).collect();
            let mut tape = Tape::default();
            let mut out = vec![0.0; b * d];
            let mut ga = vec![0.0; b * k];
            let fwd = time_us(|| m.forward(&s, &a, &mut out, &mut tape));
            let both = time_us(|| {
                m.forward(&s, &a, &mut out, &mut tape);
                m.vjp(&tape, &g, None, Some(&mut ga));
            });
            let dev = Device::Cpu;
            let st = Tensor::from_slice(&s, (b, d), &dev)?;
            let gt = Tensor::from_slice(&g, (b, d), &dev)?;
            let at = Var::from_slice(&a, (b, k), &dev)?;
            let candle = time_us(|| {
                let run = || -> candle_core::Result<()> {
                    let x = Tensor::cat(&[&st, at.as_tensor()], 1)?;
                    let y = net.forward(&x)?;
                    let loss = (y * &gt)?.sum_all()?;
                    let grads = loss.backward()?;
                    std::hint::black_box(grads.get(&at).map(|t| t.dims().len()));
                    Ok(())
                };
                if let Err(e) = run() {
                    eprintln!("candle error: {e}");
                }
            });
            let its = if b == 50 {
                format!("{:.0}", 1e6 / both)
            } else {
                "".into()
            };
            let gflops = 2.0 * b as f64 * row_flops / (both * 1e-6) / 1e9;
            println!(
                "| {hidden:?} | {b} | {fwd:.1} | {both:.1} | {} | {candle:.1} | {its} |",
                roofline::fmt(gflops, &peak)
            );
        }
    }
    Ok(())
}
