//! The dense-layer product c = a · wᵀ + bias at the world model's shapes, three ways: `matrixmultiply`
//! (what `model/fast.rs` used before the hand-written kernels), the `gemm` crate (candle's GEMM;
//! run-time-dispatched AVX2 / AVX-512 kernels), and `model::kernels` (the path in use) — plus the forward
//! layer with its activation: the GEMMs followed by a scalar SiLU + derivative pass (the old path) against
//! the kernel's fused epilogue. Each figure is read against the single-core FMA peak.
//!
//! Run: `cargo bench --no-default-features --bench gemm_shapes [-- SECONDS]` (default 0.3 s per cell; the
//! best of 3 timings is printed, the least disturbed by other processes). One thread throughout.

#[path = "support/roofline.rs"]
mod roofline;

use std::time::Instant;

use grasp_explorer::model::kernels::{self, Epilogue, Packed};

/// Best-of-3 mean seconds per call of `f`, each timing over ≥ `secs`.
fn time_per_call(secs: f64, mut f: impl FnMut()) -> f64 {
    f();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let (mut n, start) = (0u64, Instant::now());
        while start.elapsed().as_secs_f64() < secs || n < 3 {
            f();
            n += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / n as f64);
    }
    best
}

fn mm(a: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: &[f32], c: &mut [f32]) {
    for row in c.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    // SAFETY: a is m×k (row stride k), w is n×k read transposed, c is m×n; sizes set by the caller.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            w.as_ptr(),
            1,
            k as isize,
            1.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn gemm_crate(a: &[f32], m: usize, k: usize, w: &[f32], n: usize, bias: &[f32], c: &mut [f32]) {
    for row in c.chunks_exact_mut(n) {
        row.copy_from_slice(bias);
    }
    // SAFETY: as in `mm`; dst = 1·dst + 1·(a · wᵀ).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            true,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

fn silu_pass(z: &mut [f32], deriv: &mut [f32]) {
    for (v, d) in z.iter_mut().zip(deriv.iter_mut()) {
        let sig = 1.0 / (1.0 + (-*v).exp());
        let y = *v * sig;
        *d = sig + y * (1.0 - sig);
        *v = y;
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .filter(|a| a != "--bench")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.3);
    let peak = roofline::measure(5);
    println!(
        "{}; isa in use: {:?}",
        roofline::describe(&peak),
        kernels::isa()
    );
    println!();
    println!("GFLOP/s (% of peak) of c[m × n] = a[m × k] · wᵀ + bias; one thread");
    println!();
    println!("| m | k → n | matrixmultiply | gemm crate | kernels | mm + scalar SiLU′ | kernels, fused SiLU′ |");
    println!("|---|---|---|---|---|---|---|");
    for m in [1usize, 4, 50, 300, 15_000] {
        for (k, n) in [
            (18usize, 256usize),
            (256, 256),
            (256, 8),
            (256, 18),
            (512, 512),
        ] {
            let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.37).sin() * 0.1).collect();
            let bias: Vec<f32> = (0..n).map(|i| (i as f32 * 0.7).cos() * 0.1).collect();
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.11).sin()).collect();
            let packed = Packed::new(k, n, |p, j| w[j * k + p], &bias);
            let (mut c, mut d) = (vec![0.0; m * n], vec![0.0; m * n]);
            let flops = 2.0 * (m * k * n) as f64;
            let s = secs * if m == 15_000 { 3.0 } else { 1.0 };
            let t_mm = time_per_call(s, || mm(&a, m, k, &w, n, &bias, &mut c));
            let t_gemm = time_per_call(s, || gemm_crate(&a, m, k, &w, n, &bias, &mut c));
            let t_ours =
                time_per_call(s, || kernels::gemm(&a, m, &packed, &mut c, Epilogue::Plain));
            let t_mm_act = time_per_call(s, || {
                mm(&a, m, k, &w, n, &bias, &mut c);
                silu_pass(&mut c, &mut d);
            });
            let t_fused = time_per_call(s, || {
                kernels::gemm(&a, m, &packed, &mut c, Epilogue::SiluDeriv(&mut d))
            });
            let g = |t: f64| roofline::fmt(flops / t / 1e9, &peak);
            println!(
                "| {m} | {k} → {n} | {} | {} | {} | {} | {} |",
                g(t_mm),
                g(t_gemm),
                g(t_ours),
                g(t_mm_act),
                g(t_fused)
            );
        }
    }
}
