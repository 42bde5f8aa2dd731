//! AVX-512F kernels: the AVX2 kernels' register blocking with 16-lane vectors and the 32 vector registers
//! AVX-512 gives. Tiles: 8 rows × 32 columns for batches ≥ 3 (16 accumulators, 8 broadcasts and 2 loads
//! per 16 FMAs, against 6 and 2 per 12 in AVX2's 6 × 16), 2 × 64 and 1 × 128 for batches of 2 and 1 (8
//! independent chains). Packed rows are padded to 8 floats, not 16, so the last vector of a row is loaded
//! with a lane mask (masked loads do not fault), as are ragged output columns.
//!
//! Every output element is the same chain as in `avx2`: bias, then one FMA per p in ascending order, then
//! the same epilogue operations lane by lane; so the two kernels agree bit for bit (tested), and a row's
//! result never depends on its batch or on which of the two kernels a CPU picks.

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

/// Rows per cache block (a multiple of the 8-row tile): 96 rows of 256 floats are 96 KiB.
const ROW_BLOCK: usize = 96;

/// See [`super::gemm`]. Safety: AVX-512F present; slices sized as `super::gemm_with` asserts.
#[target_feature(enable = "avx512f")]
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
            let mut i0 = 0;
            while i0 < m {
                let rows = ROW_BLOCK.min(m - i0);
                let mut j0 = 0;
                while j0 + 32 <= x.ldb {
                    row_blocks::<2>(&x, i0, rows, j0, 32);
                    j0 += 32;
                }
                if j0 + 16 <= x.ldb {
                    row_blocks::<1>(&x, i0, rows, j0, 16);
                    j0 += 16;
                }
                if j0 < x.ldb {
                    row_blocks::<1>(&x, i0, rows, j0, x.ldb - j0);
                }
                i0 += rows;
            }
        }
    }
}

/// All columns of rows i0..i0+R: tiles of NV vectors, then 4, 2, 1 vectors, then a masked last vector.
#[target_feature(enable = "avx512f")]
unsafe fn row_strip<const R: usize, const NV: usize>(x: &Ctx, i0: usize) {
    let mut j0 = 0;
    while j0 + 16 * NV <= x.ldb {
        tile::<R, NV>(x, i0, j0, 16 * NV);
        j0 += 16 * NV;
    }
    if NV > 4 && j0 + 64 <= x.ldb {
        tile::<R, 4>(x, i0, j0, 64);
        j0 += 64;
    }
    if NV > 2 && j0 + 32 <= x.ldb {
        tile::<R, 2>(x, i0, j0, 32);
        j0 += 32;
    }
    if NV > 1 && j0 + 16 <= x.ldb {
        tile::<R, 1>(x, i0, j0, 16);
        j0 += 16;
    }
    if j0 < x.ldb {
        tile::<R, 1>(x, i0, j0, x.ldb - j0);
    }
}

/// Columns j0..j0+width (width ≤ 16·NV) of rows i0..i0+m, in tiles of 8 rows and one ragged tile.
#[target_feature(enable = "avx512f")]
unsafe fn row_blocks<const NV: usize>(x: &Ctx, i0: usize, m: usize, j0: usize, width: usize) {
    let end = i0 + m;
    let mut i = i0;
    while i + 8 <= end {
        tile::<8, NV>(x, i, j0, width);
        i += 8;
    }
    match end - i {
        1 => tile::<1, NV>(x, i, j0, width),
        2 => tile::<2, NV>(x, i, j0, width),
        3 => tile::<3, NV>(x, i, j0, width),
        4 => tile::<4, NV>(x, i, j0, width),
        5 => tile::<5, NV>(x, i, j0, width),
        6 => tile::<6, NV>(x, i, j0, width),
        7 => tile::<7, NV>(x, i, j0, width),
        _ => {}
    }
}

/// Lanes 0..valid set (valid clamped to 0..=16).
#[inline]
fn lanes(valid: usize) -> __mmask16 {
    if valid >= 16 {
        0xffff
    } else {
        ((1u32 << valid) - 1) as __mmask16
    }
}

/// Rows i0..i0+R × columns j0..j0+width of the packed panel: product, bias, epilogue, store.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const R: usize, const NV: usize>(x: &Ctx, i0: usize, j0: usize, width: usize) {
    let mut load_mask = [0 as __mmask16; NV];
    for (v, mk) in load_mask.iter_mut().enumerate() {
        *mk = lanes(width.saturating_sub(16 * v));
    }
    let mut acc = [[_mm512_setzero_ps(); NV]; R];
    if !x.bias.is_null() {
        for v in 0..NV {
            let bv = _mm512_maskz_loadu_ps(load_mask[v], x.bias.add(j0 + 16 * v));
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
        let mut bv = [_mm512_setzero_ps(); NV];
        for (v, b) in bv.iter_mut().enumerate() {
            *b = _mm512_maskz_loadu_ps(load_mask[v], bp.add(16 * v));
        }
        for r in 0..R {
            let av = _mm512_set1_ps(*rows[r].add(p));
            for v in 0..NV {
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
        bp = bp.add(x.ldb);
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, z) in row.iter().enumerate() {
            let j = j0 + 16 * v;
            if j >= x.n {
                break;
            }
            store(x, *z, (i0 + r) * x.n + j, lanes(x.n - j));
        }
    }
}

/// Applies the epilogue to z and stores the lanes of `mask` at offset `off` of c (and of d).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store(x: &Ctx, z: __m512, off: usize, mask: __mmask16) {
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
            let dv = _mm512_maskz_loadu_ps(mask, x.d.add(off));
            (flush(_mm512_mul_ps(z, dv)), None)
        }
    };
    _mm512_mask_storeu_ps(x.c.add(off), mask, y);
    if let Some(d) = deriv {
        _mm512_mask_storeu_ps(x.d.add(off), mask, d);
    }
}

/// Values with magnitude below FLUSH_BELOW set to 0 (NaN kept).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn flush(v: __m512) -> __m512 {
    let tiny = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(v), _mm512_set1_ps(FLUSH_BELOW));
    _mm512_maskz_mov_ps(!tiny, v)
}

/// e^x for x in [−86, 86]: the same operations as `avx2::exp`, lane for lane.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn exp(x: __m512) -> __m512 {
    let fx = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693_359_4), x);
    let r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.121_944_4e-4), r);
    let mut y = _mm512_set1_ps(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(c));
    }
    let y = _mm512_fmadd_ps(
        y,
        _mm512_mul_ps(r, r),
        _mm512_add_ps(r, _mm512_set1_ps(1.0)),
    );
    let pow2 = _mm512_slli_epi32::<23>(_mm512_add_epi32(
        _mm512_cvtps_epi32(fx),
        _mm512_set1_epi32(127),
    ));
    _mm512_mul_ps(y, _mm512_castsi512_ps(pow2))
}

/// x clamped to [−86, 86] (as `avx2::clamp_exp_arg`).
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn clamp_exp_arg(x: __m512) -> __m512 {
    _mm512_max_ps(
        _mm512_min_ps(x, _mm512_set1_ps(86.0)),
        _mm512_set1_ps(-86.0),
    )
}

/// (silu(z), silu′(z)), as `avx2::silu`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn silu(z: __m512) -> (__m512, __m512) {
    let one = _mm512_set1_ps(1.0);
    let e = exp(clamp_exp_arg(_mm512_sub_ps(_mm512_setzero_ps(), z)));
    let sig = _mm512_div_ps(one, _mm512_add_ps(one, e));
    let y = _mm512_mul_ps(z, sig);
    (y, _mm512_fmadd_ps(y, _mm512_sub_ps(one, sig), sig))
}

/// (tanh(z), 1 − tanh(z)²), as `avx2::tanh`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tanh(z: __m512) -> (__m512, __m512) {
    let one = _mm512_set1_ps(1.0);
    let e = exp(clamp_exp_arg(_mm512_add_ps(z, z)));
    let t = _mm512_sub_ps(
        one,
        _mm512_div_ps(_mm512_set1_ps(2.0), _mm512_add_ps(one, e)),
    );
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(z, z);
    let t = _mm512_mask_blend_ps(nan, t, z);
    (t, _mm512_fnmadd_ps(t, t, one))
}
