//! The dense-layer kernels behind [`super::fast`]: c = a · b (+ bias) with a fused epilogue (activation and
//! its derivative for the tape, or the backward pass's multiply-by-derivative and subnormal flush), for the
//! small shapes planners use (rows 1–15,000, widths 8–512).
//!
//! Hand-written rather than a GEMM crate because, measured at this project's shapes (docs/models.md,
//! `cargo bench --bench gemm_shapes`), a register-blocked AVX2/FMA kernel that reads the weights in a
//! pre-packed layout and never packs the activations beats `matrixmultiply` and the `gemm` crate at batches
//! 1–50 (GRASP, GD and every serial rollout) and matches them at 300 (CEM); only at 15,000 rows (offline
//! evaluation) do the crates' cache-blocked packing kernels win. And because the fused epilogue (a
//! vectorized `exp`) removes the separate scalar `expf` pass, which cost as much as the product itself.
//!
//! Three implementations, picked at run time: `avx512` (AVX-512F: the same blocking with 16-lane vectors and
//! twice the registers, so larger tiles), `avx2` (AVX2 + FMA) and `portable` (plain loops the compiler
//! vectorizes). All compute every output element as the same chain
//! bias + Σₚ a[i,p]·b[p,j] in ascending p, whatever the row count or the element's position in a tile, so a
//! row's result never depends on which other rows share its batch: splitting a batch over threads is bit
//! for bit the same as one call. `avx512` and `avx2` run the same operations per element and agree bit for
//! bit; `portable` differs from them in the last bits (it does not fuse multiply and add).

mod act;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod portable;
#[cfg(test)]
mod tests;

/// Backpropagated values smaller than this are set to zero. Gradients through long serial rollouts can shrink
/// to subnormal floats, which x86 CPUs process through a microcode path ~100× slower than normal floats: before
/// this flush, GRASP on the Wall model ran at 192 iterations/s at H=200 (vs 468 on PointMaze), with three
/// quarters of the time in this VJP. A gradient of 1e-30 cannot move an f32 action, so the flush changes no
/// plan; it is done by hand because Rust offers no portable flush-to-zero mode.
pub const FLUSH_BELOW: f32 = 1e-30;

/// Rows and columns of packed operands are padded to a multiple of this many floats (one AVX2 vector).
pub const LANES: usize = 8;

/// Rounds `n` up to a multiple of [`LANES`].
pub fn padded(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// What happens to each output value z after the product (and bias).
pub enum Epilogue<'a> {
    /// c = z.
    Plain,
    /// c = silu(z) = z·σ(z).
    Silu,
    /// c = silu(z), and the derivative σ(z) + silu(z)(1 − σ(z)) into the slice (same layout as c).
    SiluDeriv(&'a mut [f32]),
    /// c = tanh(z).
    Tanh,
    /// c = tanh(z), and the derivative 1 − tanh(z)² into the slice.
    TanhDeriv(&'a mut [f32]),
    /// c = z · d (d from the slice, same layout as c), then values below [`FLUSH_BELOW`] set to 0 (the
    /// backward pass through an activation).
    MulFlush(&'a [f32]),
}

/// The right-hand operand of a product, packed: `rows` × `cols` valid values at row stride `ld`
/// (a multiple of [`LANES`], zero padded), plus an optional bias of `ld` values (zero padded).
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    /// Valid rows (the inner dimension of the product).
    pub rows: usize,
    /// Valid columns (the output width).
    pub cols: usize,
    /// Row stride: `padded(cols)`.
    pub ld: usize,
    /// rows × ld values.
    pub data: Vec<f32>,
    /// ld values (empty for none).
    pub bias: Vec<f32>,
}

impl Packed {
    /// Packs the `rows` × `cols` matrix whose element (p, j) is `at(p, j)`, with an optional bias of `cols`.
    pub fn new(rows: usize, cols: usize, at: impl Fn(usize, usize) -> f32, bias: &[f32]) -> Packed {
        let ld = padded(cols);
        let mut data = vec![0.0; rows * ld];
        for p in 0..rows {
            for j in 0..cols {
                data[p * ld + j] = at(p, j);
            }
        }
        let bias = if bias.is_empty() {
            Vec::new()
        } else {
            let mut b = vec![0.0; ld];
            b[..cols].copy_from_slice(&bias[..cols]);
            b
        };
        Packed {
            rows,
            cols,
            ld,
            data,
            bias,
        }
    }
}

/// Which implementation runs (decided once per process from the CPU's features).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// x86-64 AVX-512F kernels.
    Avx512,
    /// x86-64 AVX2 + FMA kernels.
    Avx2,
    /// Plain loops.
    Portable,
}

/// Whether this CPU can run `which`.
pub fn supports(which: Isa) -> bool {
    match which {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => is_x86_feature_detected!("avx512f"),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        Isa::Portable => true,
        #[cfg(not(target_arch = "x86_64"))]
        _ => false,
    }
}

/// The implementation this CPU uses: the widest it supports, unless `GRASP_EXPLORER_ISA` (avx512, avx2 or
/// portable) names a narrower one (for measuring the kernels against each other; a name the CPU cannot run
/// or does not know is ignored).
pub fn isa() -> Isa {
    use std::sync::OnceLock;
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        let forced = match std::env::var("GRASP_EXPLORER_ISA").as_deref() {
            Ok("avx512") => Some(Isa::Avx512),
            Ok("avx2") => Some(Isa::Avx2),
            Ok("portable") => Some(Isa::Portable),
            _ => None,
        };
        match forced {
            Some(f) if supports(f) => f,
            _ => [Isa::Avx512, Isa::Avx2, Isa::Portable]
                .into_iter()
                .find(|i| supports(*i))
                .unwrap_or(Isa::Portable),
        }
    })
}

/// c[m × b.cols] (row stride b.cols) = a[m × b.rows] (row stride b.rows) · b (+ b.bias), then `epi`.
pub fn gemm(a: &[f32], m: usize, b: &Packed, c: &mut [f32], epi: Epilogue) {
    gemm_with(isa(), a, m, b, c, epi)
}

/// [`gemm`] with an explicit implementation (tests and benches compare them); one the CPU cannot run falls
/// back to the next narrower one (AVX-512 → AVX2 → portable).
pub fn gemm_with(which: Isa, a: &[f32], m: usize, b: &Packed, c: &mut [f32], epi: Epilogue) {
    let (kd, n) = (b.rows, b.cols);
    assert!(a.len() >= m * kd && c.len() >= m * n, "gemm operand sizes");
    assert!(b.data.len() >= kd * b.ld && (b.bias.is_empty() || b.bias.len() >= b.ld));
    match &epi {
        Epilogue::SiluDeriv(d) | Epilogue::TanhDeriv(d) => assert!(d.len() >= m * n),
        Epilogue::MulFlush(d) => assert!(d.len() >= m * n),
        _ => {}
    }
    if m == 0 || n == 0 {
        return;
    }
    // Outputs narrower than one 16-lane vector (the model's last layer, D ≤ 8) would leave half of every
    // AVX-512 accumulator masked off; the AVX2 kernel's 8-lane tiles do them faster (`gemm_shapes`: 256 → 8
    // at 300 rows 67 % vs 47 % of peak), with the same results bit for bit.
    let narrow = b.ld < 16 && supports(Isa::Avx2);
    match which {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if supports(Isa::Avx512) && !narrow => {
            // SAFETY: AVX-512F is present (checked by `supports`); the asserts above bound every access.
            unsafe { avx512::gemm(a, m, b, c, epi) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 | Isa::Avx512 if supports(Isa::Avx2) => {
            // SAFETY: AVX2 and FMA are present (checked by `supports`); the asserts above bound every access.
            unsafe { avx2::gemm(a, m, b, c, epi) }
        }
        _ => portable::gemm(a, m, b, c, epi),
    }
}
