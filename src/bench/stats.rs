//! Small statistics for benchmark tables: binomial confidence intervals (Wilson score and Wald) for success
//! rates, and order statistics (median, quartiles with linear interpolation) for times and distances.
//!
//! Hand-written rather than pulled from a statistics crate: each is a few lines, and the tests pin them to
//! hand-computed values so the tables can be trusted.

/// The two-sided 95% normal quantile z_{0.975}.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A closed interval [low, high].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// Wilson score interval for `successes` out of `n` trials at normal quantile `z` (use [`Z95`]).
/// `None` when `n == 0` or `successes > n`.
pub fn wilson(successes: usize, n: usize, z: f64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At p = 0 (or 1) the interval touches 0 (or 1) exactly; set it so rather than keep rounding noise.
    Some(Interval {
        low: if successes == 0 {
            0.0
        } else {
            (center - half).max(0.0)
        },
        high: if successes == n {
            1.0
        } else {
            (center + half).min(1.0)
        },
    })
}

/// Wald interval p ± z·sqrt(p(1−p)/n), clipped to [0, 1] (what the paper's Fig. 5 uses). `None` when
/// `n == 0` or `successes > n`.
pub fn wald(successes: usize, n: usize, z: f64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let half = z * (p * (1.0 - p) / n_f).sqrt();
    Some(Interval {
        low: (p - half).max(0.0),
        high: (p + half).min(1.0),
    })
}

/// The q-quantile (0 ≤ q ≤ 1) of `values` with linear interpolation between order statistics (the
/// "type 7" rule of R and NumPy's default). Non-finite values are ignored; `None` if none remain.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(v[lo] + (v[hi] - v[lo]) * frac)
}

/// The median (mean of the two middle values for an even count). Non-finite values are ignored.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The first and third quartiles (q25, q75) by [`quantile`].
pub fn quartiles(values: &[f64]) -> Option<(f64, f64)> {
    Some((quantile(values, 0.25)?, quantile(values, 0.75)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wilson_matches_hand_computed_values() {
        // 5/10: p = 0.5, z² = 3.841459, denom = 1.3841459, centre = 0.5,
        // half = 1.959964/1.3841459 · sqrt(0.025 + 3.841459/400) = 0.263407.
        let i = wilson(5, 10, Z95).unwrap();
        assert!(close(i.low, 0.236_593, 1e-5), "{i:?}");
        assert!(close(i.high, 0.763_407, 1e-5), "{i:?}");
        // 0/10: centre = half = (3.841459/20)/1.3841459 = 0.138766 → [0, 0.277533].
        let i = wilson(0, 10, Z95).unwrap();
        assert_eq!(i.low, 0.0);
        assert!(close(i.high, 0.277_533, 1e-5), "{i:?}");
        // 10/10 mirrors 0/10.
        let i = wilson(10, 10, Z95).unwrap();
        assert!(close(i.low, 1.0 - 0.277_533, 1e-5), "{i:?}");
        assert_eq!(i.high, 1.0);
        // 217/500 (the paper's GRASP H=50, 43.4%): p = 0.434, z²/n = 0.0076829,
        // centre = (0.434 + 0.0038415)/1.0076829 = 0.434503,
        // half = 1.959964/1.0076829 · sqrt(0.434·0.566/500 + 3.841459/1e6) = 0.043280.
        let i = wilson(217, 500, Z95).unwrap();
        assert!(close(i.low, 0.391_224, 1e-5), "{i:?}");
        assert!(close(i.high, 0.477_783, 1e-5), "{i:?}");
        assert!(wilson(0, 0, Z95).is_none());
        assert!(wilson(3, 2, Z95).is_none());
    }

    #[test]
    fn wald_matches_hand_computed_values() {
        // 5/10: half = 1.959964 · sqrt(0.025) = 0.309898.
        let i = wald(5, 10, Z95).unwrap();
        assert!(close(i.low, 0.190_102, 1e-5) && close(i.high, 0.809_898, 1e-5));
        // 0/10 collapses to a point (Wald's known flaw, which is why Wilson is the default).
        let i = wald(0, 10, Z95).unwrap();
        assert_eq!((i.low, i.high), (0.0, 0.0));
        // 1/10: half = 1.959964 · sqrt(0.009) = 0.185940, clipped below at 0.
        let i = wald(1, 10, Z95).unwrap();
        assert_eq!(i.low, 0.0);
        assert!(close(i.high, 0.285_940, 1e-5));
    }

    #[test]
    fn median_and_quartiles_match_hand_computed_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.5]), Some(7.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0, 5.0]), Some(3.0));
        // [1, 2, 3, 4, 10]: q25 at position 1 → 2, q75 at position 3 → 4.
        assert_eq!(quartiles(&[10.0, 1.0, 4.0, 2.0, 3.0]), Some((2.0, 4.0)));
        // [1, 2, 3, 4]: q25 at position 0.75 → 1.75, q75 at 2.25 → 3.25.
        assert_eq!(quartiles(&[4.0, 3.0, 2.0, 1.0]), Some((1.75, 3.25)));
        assert_eq!(quantile(&[1.0, 2.0], 1.5), None);
    }
}
