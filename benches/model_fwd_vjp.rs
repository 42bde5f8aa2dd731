//! Speed of one world-model forward + action-VJP (what a GRASP iteration costs per horizon step batch):
//! the hand-written inference path (`MlpModel`) against candle's autograd, at batch 1, 50 and 300, for a few
//! network shapes. Run: `cargo bench --no-default-features --bench model_fwd_vjp` (prints µs per call).
//! candle's thread count follows RAYON_NUM_THREADS (unset = all cores).

use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use grasp_explorer::env::EnvKind;
use grasp_explorer::model::info::Activation;
use grasp_explorer::model::mlp::{untrained, CandleMlp};
use grasp_explorer::model::{Tape, WorldModel};

/// Mean µs per call of `f`, after a warm-up, over at least ~0.3 s.
fn time_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 0.3 || n < 10 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shapes: &[&[usize]] = &[&[128, 128], &[256, 256], &[192, 192, 192], &[256, 256, 256]];
    println!("env pusht (D=8, K=10), activation silu; µs per forward + action-VJP");
    println!(
        "| hidden | batch | fast fwd | fast fwd+vjp | candle fwd+vjp | GRASP it/s (fast, H=50) |"
    );
    println!("|---|---|---|---|---|---|");
    for hidden in shapes {
        let m = untrained(EnvKind::Pusht, hidden, Activation::Silu, 1)?;
        let net = CandleMlp::from_dense(m.layers(), Activation::Silu)?;
        let (d, k) = (m.state_dim(), m.action_dim());
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
            println!("| {hidden:?} | {b} | {fwd:.1} | {both:.1} | {candle:.1} | {its} |");
        }
    }
    Ok(())
}
