//! AVX2 + FMA kernels. The product is register-blocked: a tile of R rows × 8·NV columns lives in R·NV
//! accumulators, seeded with the bias; each step p loads NV vectors of the packed row b[p] and broadcasts
//! one a[i,p] per row, so the right-hand panel stays in L1 across the row tiles and the activations are read
//! in place (no packing). Tiles: 6 × 16 for batches ≥ 3 (12 accumulators), 2 × 32 and 1 × 64 for batches of
//! 2 and 1 (enough independent chains to hide FMA latency). The epilogue runs on the accumulators before the
//! single store: activation (vectorized exp, inputs clamped so no finite input overflows), derivative, or the
//! backward pass's multiply-and-flush. Ragged widths use masked loads and stores.

use std::arch::x86_64::*;

use super::{Epilogue, Packed, FLUSH_BELOW};

/// Raw operands of one product (bounds checked by the caller).
struct Ctx {
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    kd: usize,
    bias: *const f32,
    c: *mut f32,
    n: usize,
    kind: Kind,
    d: *mut f32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Silu,
    SiluDeriv,
    Tanh,
    TanhDeriv,
    MulFlush,
}

/// See [`super::gemm`]. Safety: AVX2 and FMA present; slices sized as `super::gemm_with` asserts.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gemm(a: &[f32], m: usize, b: &Packed, c: &mut [f32], epi: Epilogue) {
    let (kind, d) = match epi {
        Epilogue::Plain => (Kind::Plain, std::ptr::null_mut()),
        Epilogue::Silu => (Kind::Silu, std::ptr::null_mut()),
        Epilogue::SiluDeriv(d) => (Kind::SiluDeriv, d.as_mut_ptr()),
        Epilogue::Tanh => (Kind::Tanh, std::ptr::null_mut()),
        Epilogue::TanhDeriv(d) => (Kind::TanhDeriv, d.as_mut_ptr()),
        Epilogue::MulFlush(d) => (Kind::MulFlush, d.as_ptr() as *mut f32),
    };
    let x = Ctx {
        a: a.as_ptr(),
        lda: b.rows,
        b: b.data.as_ptr(),
        ldb: b.ld,
        kd: b.rows,
        bias: if b.bias.is_empty() {
            std::ptr::null()
        } else {
            b.bias.as_ptr()
        },
        c: c.as_mut_ptr(),
        n: b.cols,
        kind,
        d,
    };
    match m {
        1 => row_strip::<1, 8>(&x, 0),
        2 => row_strip::<2, 4>(&x, 0),
        _ => {
            // Blocks of ROW_BLOCK rows, so that a block of activations stays in L2 while every column
            // panel of b streams past it.
            let mut i0 = 0;
            while i0 < m {
                let rows = ROW_BLOCK.min(m - i0);
                let mut j0 = 0;
                while j0 + 16 <= x.ldb {
                    row_blocks::<2>(&x, i0, rows, j0);
                    j0 += 16;
                }
                if j0 < x.ldb {
                    row_blocks::<1>(&x, i0, rows, j0);
                }
                i0 += rows;
            }
        }
    }
}

/// Rows per cache block (a multiple of the 6-row tile): 96 rows of 256 floats are 96 KiB.
const ROW_BLOCK: usize = 96;

/// All columns of rows i0..i0+R, widest tiles (NV vectors) first, then halving.
#[target_feature(enable = "avx2,fma")]
unsafe fn row_strip<const R: usize, const NV: usize>(x: &Ctx, i0: usize) {
    let mut j0 = 0;
    while j0 + 8 * NV <= x.ldb {
        tile::<R, NV>(x, i0, j0);
        j0 += 8 * NV;
    }
    let mut left = (x.ldb - j0) / 8;
    for w in [4, 2, 1] {
        if left >= w {
            match w {
                4 => tile::<R, 4>(x, i0, j0),
                2 => tile::<R, 2>(x, i0, j0),
                _ => tile::<R, 1>(x, i0, j0),
            }
            j0 += 8 * w;
            left -= w;
        }
    }
}

/// Columns j0..j0+8·NV of rows i0..i0+m, in tiles of 6 rows and one ragged tile.
#[target_feature(enable = "avx2,fma")]
unsafe fn row_blocks<const NV: usize>(x: &Ctx, i0: usize, m: usize, j0: usize) {
    let end = i0 + m;
    let mut i = i0;
    while i + 6 <= end {
        tile::<6, NV>(x, i, j0);
        i += 6;
    }
    match end - i {
        1 => tile::<1, NV>(x, i, j0),
        2 => tile::<2, NV>(x, i, j0),
        3 => tile::<3, NV>(x, i, j0),
        4 => tile::<4, NV>(x, i, j0),
        5 => tile::<5, NV>(x, i, j0),
        _ => {}
    }
}

/// Rows i0..i0+R × columns j0..j0+8·NV: product, bias, epilogue, store.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile<const R: usize, const NV: usize>(x: &Ctx, i0: usize, j0: usize) {
    let mut acc = [[_mm256_setzero_ps(); NV]; R];
    if !x.bias.is_null() {
        for v in 0..NV {
            let bv = _mm256_loadu_ps(x.bias.add(j0 + 8 * v));
            for row in acc.iter_mut() {
                row[v] = bv;
            }
        }
    }
    let mut rows = [std::ptr::null::<f32>(); R];
    for (r, p) in rows.iter_mut().enumerate() {
        *p = x.a.add((i0 + r) * x.lda);
    }
    let mut bp = x.b.add(j0);
    for p in 0..x.kd {
        let mut bv = [_mm256_setzero_ps(); NV];
        for (v, b) in bv.iter_mut().enumerate() {
            *b = _mm256_loadu_ps(bp.add(8 * v));
        }
        for r in 0..R {
            let av = _mm256_broadcast_ss(&*rows[r].add(p));
            for v in 0..NV {
                acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
        bp = bp.add(x.ldb);
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, z) in row.iter().enumerate() {
            let j = j0 + 8 * v;
            if j >= x.n {
                break;
            }
            store(x, *z, (i0 + r) * x.n + j, x.n - j);
        }
    }
}

/// Applies the epilogue to z and stores min(valid, 8) lanes at offset `off` of c (and of d).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn store(x: &Ctx, z: __m256, off: usize, valid: usize) {
    let full = valid >= 8;
    let mask = lane_mask(valid);
    let (y, deriv) = match x.kind {
        Kind::Plain => (z, None),
        Kind::Silu => (silu(z).0, None),
        Kind::SiluDeriv => {
            let (y, d) = silu(z);
            (y, Some(d))
        }
        Kind::Tanh => (tanh(z).0, None),
        Kind::TanhDeriv => {
            let (y, d) = tanh(z);
            (y, Some(d))
        }
        Kind::MulFlush => {
            let dv = if full {
                _mm256_loadu_ps(x.d.add(off))
            } else {
                _mm256_maskload_ps(x.d.add(off), mask)
            };
            (flush(_mm256_mul_ps(z, dv)), None)
        }
    };
    if full {
        _mm256_storeu_ps(x.c.add(off), y);
        if let Some(d) = deriv {
            _mm256_storeu_ps(x.d.add(off), d);
        }
    } else {
        _mm256_maskstore_ps(x.c.add(off), mask, y);
        if let Some(d) = deriv {
            _mm256_maskstore_ps(x.d.add(off), mask, d);
        }
    }
}

/// Lanes 0..valid set.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn lane_mask(valid: usize) -> __m256i {
    let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(valid.min(8) as i32), idx)
}

/// Values with magnitude below FLUSH_BELOW set to 0 (NaN kept).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn flush(v: __m256) -> __m256 {
    let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), v);
    let tiny = _mm256_cmp_ps::<_CMP_LT_OQ>(abs, _mm256_set1_ps(FLUSH_BELOW));
    _mm256_andnot_ps(tiny, v)
}

/// e^x for x in [−86, 86] (Cephes expf: range reduction by ln 2, degree-6 polynomial; ≈ 1 ulp).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn exp(x: __m256) -> __m256 {
    let fx = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(std::f32::consts::LOG2_E),
    ));
    let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut y = _mm256_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5, // Cephes: 5.0000001e-1, the same f32
    ] {
        y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(c));
    }
    let y = _mm256_fmadd_ps(
        y,
        _mm256_mul_ps(r, r),
        _mm256_add_ps(r, _mm256_set1_ps(1.0)),
    );
    let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(fx),
        _mm256_set1_epi32(127),
    ));
    _mm256_mul_ps(y, _mm256_castsi256_ps(pow2))
}

/// x clamped to [−86, 86] (e^x then stays a normal float; NaN comes out as a number, so callers keep
/// NaN by multiplying with or blending in the original input).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn clamp_exp_arg(x: __m256) -> __m256 {
    _mm256_max_ps(
        _mm256_min_ps(x, _mm256_set1_ps(86.0)),
        _mm256_set1_ps(-86.0),
    )
}

/// (silu(z), silu′(z)) = (z·σ, σ + silu·(1 − σ)), σ = 1 / (1 + e^{−z}).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn silu(z: __m256) -> (__m256, __m256) {
    let one = _mm256_set1_ps(1.0);
    let e = exp(clamp_exp_arg(_mm256_sub_ps(_mm256_setzero_ps(), z)));
    let sig = _mm256_div_ps(one, _mm256_add_ps(one, e));
    let y = _mm256_mul_ps(z, sig);
    (y, _mm256_fmadd_ps(y, _mm256_sub_ps(one, sig), sig))
}

/// (tanh(z), 1 − tanh(z)²), tanh = 1 − 2 / (1 + e^{2z}) (absolute error ≈ 1e-7; NaN stays NaN).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh(z: __m256) -> (__m256, __m256) {
    let one = _mm256_set1_ps(1.0);
    let e = exp(clamp_exp_arg(_mm256_add_ps(z, z)));
    let t = _mm256_sub_ps(
        one,
        _mm256_div_ps(_mm256_set1_ps(2.0), _mm256_add_ps(one, e)),
    );
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(z, z);
    let t = _mm256_blendv_ps(t, z, nan);
    (t, _mm256_fnmadd_ps(t, t, one))
}
