//! Kernel tests: every implementation against an f64 reference on random shapes (ragged widths, batches
//! 1–15), rows independent of their batch bit for bit, and no NaN or infinity from the epilogues at |z| up
//! to 1e4.

use super::*;
use crate::util::rng_for;
use rand::Rng as _;

fn random(n: usize, scale: f32, rng: &mut crate::util::Rng) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

/// f64 reference of c = a·b + bias, then the epilogue: (c, derivative if any).
fn reference(a: &[f32], m: usize, b: &Packed, kind: usize, d_in: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let (kd, n) = (b.rows, b.cols);
    let (mut c, mut d) = (vec![0.0; m * n], vec![0.0; m * n]);
    for i in 0..m {
        for j in 0..n {
            let mut z = if b.bias.is_empty() {
                0.0
            } else {
                f64::from(b.bias[j])
            };
            for p in 0..kd {
                z += f64::from(a[i * kd + p]) * f64::from(b.data[p * b.ld + j]);
            }
            let (y, dv) = match kind {
                0 => (z, 0.0),
                1 | 2 => {
                    let s = 1.0 / (1.0 + (-z).exp());
                    (z * s, s + z * s * (1.0 - s))
                }
                3 | 4 => (z.tanh(), 1.0 - z.tanh() * z.tanh()),
                _ => (z * f64::from(d_in[i * n + j]), 0.0),
            };
            c[i * n + j] = y;
            d[i * n + j] = dv;
        }
    }
    (c, d)
}

fn run(
    which: Isa,
    a: &[f32],
    m: usize,
    b: &Packed,
    kind: usize,
    d_in: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let n = b.cols;
    let mut c = vec![f32::NAN; m * n];
    let mut d = vec![f32::NAN; m * n];
    let epi = match kind {
        0 => Epilogue::Plain,
        1 => Epilogue::Silu,
        2 => Epilogue::SiluDeriv(&mut d),
        3 => Epilogue::Tanh,
        4 => Epilogue::TanhDeriv(&mut d),
        _ => Epilogue::MulFlush(d_in),
    };
    gemm_with(which, a, m, b, &mut c, epi);
    (c, d)
}

fn packed(kd: usize, n: usize, bias: bool, rng: &mut crate::util::Rng) -> Packed {
    let w = random(kd * n, 0.5, rng);
    let bias = if bias {
        random(n, 0.5, rng)
    } else {
        Vec::new()
    };
    Packed::new(kd, n, |p, j| w[p * n + j], &bias)
}

#[test]
fn kernels_equal_the_reference_on_ragged_shapes() {
    let mut rng = rng_for(7, "kernel-test");
    for case in 0..60 {
        let m = [1, 2, 3, 5, 6, 7, 13, 15][case % 8];
        let kd = rng.random_range(1..70);
        let n = rng.random_range(1..90);
        let b = packed(kd, n, case % 3 != 0, &mut rng);
        let a = random(m * kd, 1.5, &mut rng);
        let d_in = random(m * n, 2.0, &mut rng);
        for kind in 0..6 {
            let (want, want_d) = reference(&a, m, &b, kind, &d_in);
            for which in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
                let (c, d) = run(which, &a, m, &b, kind, &d_in);
                for i in 0..m * n {
                    let tol = 1e-5 * (1.0 + want[i].abs());
                    assert!(
                        (f64::from(c[i]) - want[i]).abs() < tol,
                        "{which:?} kind {kind} m {m} k {kd} n {n} at {i}: {} vs {}",
                        c[i],
                        want[i]
                    );
                    if kind == 2 || kind == 4 {
                        assert!(
                            (f64::from(d[i]) - want_d[i]).abs() < 1e-5 * (1.0 + want_d[i].abs())
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_row_does_not_depend_on_its_batch() {
    let mut rng = rng_for(8, "kernel-test");
    for (kd, n) in [
        (18, 256),
        (256, 256),
        (256, 8),
        (8, 256),
        (256, 24),
        (37, 51),
    ] {
        let b = packed(kd, n, true, &mut rng);
        let m = 17;
        let a = random(m * kd, 1.0, &mut rng);
        let d_in = random(m * n, 1.0, &mut rng);
        for which in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
            for kind in [0, 2, 5] {
                let (all, all_d) = run(which, &a, m, &b, kind, &d_in);
                for i in 0..m {
                    let (one, one_d) =
                        run(which, &a[i * kd..(i + 1) * kd], 1, &b, kind, &d_in[i * n..]);
                    assert_eq!(
                        one,
                        all[i * n..(i + 1) * n],
                        "{which:?} row {i} k {kd} n {n}"
                    );
                    if kind == 2 {
                        assert_eq!(one_d, all_d[i * n..(i + 1) * n]);
                    }
                    let lo = i.min(m - 3);
                    let (three, _) = run(
                        which,
                        &a[lo * kd..(lo + 3) * kd],
                        3,
                        &b,
                        kind,
                        &d_in[lo * n..],
                    );
                    assert_eq!(three, all[lo * n..(lo + 3) * n]);
                }
            }
        }
    }
}

#[test]
fn epilogues_stay_finite_on_extreme_inputs() {
    let zs = [
        -1e4f32, -1e3, -100.0, -88.0, -87.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 87.0, 88.0, 100.0, 1e3,
        1e4,
    ];
    // b = identity, so c = a: every z goes through the epilogue as is.
    let b = Packed::new(
        zs.len(),
        zs.len(),
        |p, j| if p == j { 1.0 } else { 0.0 },
        &[],
    );
    let m = zs.len();
    let a: Vec<f32> = (0..m)
        .flat_map(|i| {
            let mut row = vec![0.0; m];
            row[i] = zs[i];
            row
        })
        .collect();
    let big = vec![1e4f32; m * m];
    for which in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
        for kind in 0..6 {
            let (c, d) = run(which, &a, m, &b, kind, &big);
            for i in 0..m {
                let (z, y) = (zs[i], c[i * m + i]);
                assert!(y.is_finite(), "{which:?} kind {kind} z {z}: {y}");
                if kind == 2 || kind == 4 {
                    assert!(
                        d[i * m + i].is_finite(),
                        "{which:?} kind {kind} z {z}: d {}",
                        d[i * m + i]
                    );
                }
                if kind == 1 || kind == 2 {
                    let want = if z > 0.0 { z } else { 0.0 };
                    if z.abs() >= 20.0 {
                        assert!((y - want).abs() <= 1e-5 * z.abs(), "silu({z}) = {y}");
                    }
                }
                if (kind == 3 || kind == 4) && z.abs() >= 20.0 {
                    assert_eq!(y, z.signum(), "tanh({z})");
                }
            }
        }
    }
    // NaN still propagates (planners detect divergence by it).
    let b1 = Packed::new(1, 1, |_, _| 1.0, &[]);
    for which in [Isa::Avx512, Isa::Avx2, Isa::Portable] {
        for kind in 0..5 {
            assert!(
                run(which, &[f32::NAN], 1, &b1, kind, &[1.0]).0[0].is_nan(),
                "{which:?} {kind}"
            );
        }
    }
}

#[test]
fn the_avx512_kernel_equals_the_avx2_kernel_bit_for_bit() {
    // Same FMA chain and epilogue per element, so the kernels agree exactly; on a CPU without AVX-512 the
    // request falls back to AVX2 (or the portable loops), which must then be what it returns.
    let twin = if supports(Isa::Avx2) {
        Isa::Avx2
    } else {
        Isa::Portable
    };
    let mut rng = rng_for(9, "kernel-test");
    for case in 0..48 {
        let m = [1, 2, 3, 7, 8, 9, 17, 100][case % 8];
        let (kd, n) = match case % 4 {
            0 => (rng.random_range(1..300), rng.random_range(1..300)),
            1 => (256, 256),
            2 => (18, 256),
            _ => (256, [8, 18, 24, 40, 136][case % 5]),
        };
        let b = packed(kd, n, case % 3 != 0, &mut rng);
        let a = random(m * kd, 3.0, &mut rng);
        let d_in = random(m * n, 2.0, &mut rng);
        for kind in 0..6 {
            let got = run(Isa::Avx512, &a, m, &b, kind, &d_in);
            let want = run(twin, &a, m, &b, kind, &d_in);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&got.0),
                bits(&want.0),
                "kind {kind} m {m} k {kd} n {n}"
            );
            if kind == 2 || kind == 4 {
                assert_eq!(
                    bits(&got.1),
                    bits(&want.1),
                    "deriv kind {kind} m {m} k {kd} n {n}"
                );
            }
        }
    }
}
