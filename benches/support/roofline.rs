//! The machine's single-core FP32 FMA peak, measured with a tight register-only kernel (no loads or stores),
//! so bench figures can be read as a fraction of what one core can do. Uses AVX-512F when the CPU has it,
//! else AVX2 + FMA, else a scalar loop (then the "peak" is only what portable code reaches). Shared by the
//! `model_fwd_vjp` and `planners` benches (`#[path]`-included; not a bench target of its own).

use std::time::Instant;

/// The measured peak: GFLOP/s on one core and the instruction set that reached it.
pub struct Peak {
    /// FP32 GFLOP/s (an FMA counts as 2 FLOP).
    pub gflops: f64,
    /// "avx512f", "avx2+fma" or "scalar".
    pub isa: &'static str,
}

/// Best of `repeats` runs of ~0.1 s each (the minimum time is the least disturbed by other processes).
pub fn measure(repeats: usize) -> Peak {
    let (isa, run): (&'static str, fn(u64) -> f32) = pick();
    let iters = 2_000_000u64;
    std::hint::black_box(run(iters / 10));
    let flops_per_iter = flops_per_iteration(isa);
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        std::hint::black_box(run(std::hint::black_box(iters)));
        best = best.min(t.elapsed().as_secs_f64());
    }
    Peak {
        gflops: iters as f64 * flops_per_iter / best / 1e9,
        isa,
    }
}

/// "X GFLOP/s (Y % of peak)".
pub fn fmt(gflops: f64, peak: &Peak) -> String {
    format!("{gflops:.1} ({:.0} %)", 100.0 * gflops / peak.gflops)
}

/// The one-line header every bench prints.
pub fn describe(peak: &Peak) -> String {
    format!(
        "single-core FP32 peak (tight {} FMA kernel, best of runs): {:.1} GFLOP/s",
        peak.isa, peak.gflops
    )
}

fn flops_per_iteration(isa: &str) -> f64 {
    match isa {
        "avx512f" => (ACC * 16 * 2) as f64,
        "avx2+fma" => (ACC * 8 * 2) as f64,
        _ => (SCALAR_ACC * 2) as f64,
    }
}

/// Independent accumulators: enough to cover FMA latency × throughput (4 cycles × 2 pipes) with margin.
const ACC: usize = 12;
const SCALAR_ACC: usize = 8;

fn pick() -> (&'static str, fn(u64) -> f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            return ("avx512f", |n| unsafe { x86::avx512(n) });
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return ("avx2+fma", |n| unsafe { x86::avx2(n) });
        }
    }
    ("scalar", scalar)
}

fn scalar(n: u64) -> f32 {
    let mut acc = [0.5f32; SCALAR_ACC];
    let (x, y) = (
        std::hint::black_box(0.999_99f32),
        std::hint::black_box(1e-6f32),
    );
    for _ in 0..n {
        for a in acc.iter_mut() {
            *a = a.mul_add(x, y);
        }
    }
    acc.iter().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `n` rounds of ACC independent 8-wide FMAs.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2(n: u64) -> f32 {
        let x = _mm256_set1_ps(std::hint::black_box(0.999_99));
        let y = _mm256_set1_ps(std::hint::black_box(1e-6));
        let mut acc = [_mm256_set1_ps(0.5); super::ACC];
        for _ in 0..n {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let mut s = _mm256_setzero_ps();
        for a in acc {
            s = _mm256_add_ps(s, a);
        }
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), s);
        out.iter().sum()
    }

    /// `n` rounds of ACC independent 16-wide FMAs.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512(n: u64) -> f32 {
        let x = _mm512_set1_ps(std::hint::black_box(0.999_99));
        let y = _mm512_set1_ps(std::hint::black_box(1e-6));
        let mut acc = [_mm512_set1_ps(0.5); super::ACC];
        for _ in 0..n {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        let mut s = _mm512_setzero_ps();
        for a in acc {
            s = _mm512_add_ps(s, a);
        }
        _mm512_reduce_add_ps(s)
    }
}
