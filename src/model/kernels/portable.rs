//! Portable kernels: plain loops in the order i, p, j (the j loop contiguous, so the compiler vectorizes
//! it), each output element accumulated as bias + Σₚ a[i,p]·b[p,j] in ascending p.

use super::{act, Epilogue, Packed, FLUSH_BELOW};

/// See [`super::gemm`].
pub fn gemm(a: &[f32], m: usize, b: &Packed, c: &mut [f32], mut epi: Epilogue) {
    let (kd, n, ld) = (b.rows, b.cols, b.ld);
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        if b.bias.is_empty() {
            row.fill(0.0);
        } else {
            row.copy_from_slice(&b.bias[..n]);
        }
        for (p, &x) in a[i * kd..(i + 1) * kd].iter().enumerate() {
            for (o, w) in row.iter_mut().zip(&b.data[p * ld..p * ld + n]) {
                *o += x * w;
            }
        }
        let span = i * n..(i + 1) * n;
        match &mut epi {
            Epilogue::Plain => {}
            Epilogue::Silu => row.iter_mut().for_each(|v| *v = act::silu(*v).0),
            Epilogue::Tanh => row.iter_mut().for_each(|v| *v = act::tanh(*v).0),
            Epilogue::SiluDeriv(d) => {
                for (v, dv) in row.iter_mut().zip(&mut d[span]) {
                    (*v, *dv) = act::silu(*v);
                }
            }
            Epilogue::TanhDeriv(d) => {
                for (v, dv) in row.iter_mut().zip(&mut d[span]) {
                    (*v, *dv) = act::tanh(*v);
                }
            }
            Epilogue::MulFlush(d) => {
                for (v, dv) in row.iter_mut().zip(&d[span]) {
                    *v *= dv;
                    if v.abs() < FLUSH_BELOW {
                        *v = 0.0;
                    }
                }
            }
        }
    }
}
