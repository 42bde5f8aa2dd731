//! faer 0.24 f32 matmul (c = a·b, no bias or activation, one thread) at the shapes grasp-explorer's planners use,
//! best of 3 timed batches, with the max error of the first rows against an f64 reference.
use faer::{Accum, Mat, Par};
use std::time::Instant;
fn main() {
    for &(m, k, n) in &[
        (1usize, 256usize, 256usize),
        (4, 256, 256),
        (50, 18, 256),
        (50, 256, 256),
        (300, 18, 256),
        (300, 256, 256),
        (300, 256, 8),
        (15000, 256, 256),
    ] {
        let a = Mat::<f32>::from_fn(m, k, |i, j| ((i * 7 + j * 3) % 11) as f32 * 0.1 - 0.5);
        let b = Mat::<f32>::from_fn(k, n, |i, j| ((i * 5 + j * 13) % 17) as f32 * 0.05 - 0.4);
        let mut c = Mat::<f32>::zeros(m, n);
        let flops = 2.0 * (m * k * n) as f64;
        let reps = ((2e9 / flops) as usize).clamp(3, 200000);
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            for _ in 0..reps {
                faer::linalg::matmul::matmul(
                    c.as_mut(),
                    Accum::Replace,
                    std::hint::black_box(a.as_ref()),
                    b.as_ref(),
                    1.0f32,
                    Par::Seq,
                );
                std::hint::black_box(&mut c);
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        let mut err = 0.0f64;
        for i in 0..m.min(5) {
            for j in 0..n {
                let mut r = 0.0f64;
                for p in 0..k {
                    r += a[(i, p)] as f64 * b[(p, j)] as f64;
                }
                err = err.max((r - c[(i, j)] as f64).abs());
            }
        }
        println!(
            "| {m} | {k} → {n} | {:.1} | max err {err:.1e}",
            flops / best / 1e9
        );
    }
}
