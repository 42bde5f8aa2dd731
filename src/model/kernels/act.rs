//! Scalar activations and derivatives (the portable kernels' epilogue and the reference the vector
//! versions are tested against). Written so no input, however large, yields NaN or infinity: e^{−x}
//! overflowing to infinity gives σ = 0 and silu = −0, not NaN.

/// (silu(z), silu′(z)).
#[inline]
pub fn silu(z: f32) -> (f32, f32) {
    let sig = 1.0 / (1.0 + (-z).exp());
    let y = z * sig;
    (y, sig + y * (1.0 - sig))
}

/// (tanh(z), 1 − tanh(z)²).
#[inline]
pub fn tanh(z: f32) -> (f32, f32) {
    let t = z.tanh();
    (t, 1.0 - t * t)
}
