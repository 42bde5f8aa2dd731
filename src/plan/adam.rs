//! Adam (Kingma & Ba) over a flat parameter slice, with torch's defaults (β₁ 0.9, β₂ 0.999, ε 1e-8) and
//! torch's update form. Planners hold one instance per parameter group (virtual states, actions), which is
//! what torch's one-optimizer-two-groups does, since Adam's moments are per element.

/// Adam moments for one parameter group; buffers are allocated once and reused.
#[derive(Clone, Debug)]
pub struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
    /// First-moment decay β₁, in [0, 1); default 0.9.
    pub beta1: f32,
    /// Second-moment decay β₂, in [0, 1); default 0.999.
    pub beta2: f32,
    /// Denominator guard ε, > 0; default 1e-8.
    pub eps: f32,
}

impl Adam {
    /// A fresh optimizer for `n` parameters.
    pub fn new(n: usize) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// Forgets the moments and the step count (what re-creating a torch optimizer does).
    pub fn reset(&mut self) {
        self.m.iter_mut().for_each(|x| *x = 0.0);
        self.v.iter_mut().for_each(|x| *x = 0.0);
        self.t = 0;
    }

    /// Resizes for `n` parameters and resets.
    pub fn resize(&mut self, n: usize) {
        self.m.resize(n, 0.0);
        self.v.resize(n, 0.0);
        self.reset();
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// True for an optimizer of no parameters.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> i32 {
        self.t
    }

    /// One update: `params -= lr · m̂ / (√v̂ + ε)`. `params` and `grads` must have the optimizer's length.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f32) {
        debug_assert_eq!(params.len(), self.m.len());
        debug_assert_eq!(grads.len(), self.m.len());
        self.t = self.t.saturating_add(1);
        let (b1, b2) = (self.beta1, self.beta2);
        let bc1 = 1.0 - b1.powi(self.t);
        let bc2_sqrt = (1.0 - b2.powi(self.t)).sqrt();
        let step_size = lr / bc1;
        let eps = self.eps;
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let denom = v.sqrt() / bc2_sqrt + eps;
            *p -= step_size * *m / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_in_sign_direction() {
        let mut a = Adam::new(3);
        let mut p = [1.0, -2.0, 0.5];
        a.step(&mut p, &[0.3, -5.0, 0.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6);
        assert!((p[1] + 1.9).abs() < 1e-6);
        assert_eq!(p[2], 0.5);
    }

    #[test]
    fn minimizes_a_quadratic_and_reset_clears_state() {
        let mut a = Adam::new(2);
        let mut p = [3.0f32, -4.0];
        for _ in 0..2000 {
            let g = [2.0 * (p[0] - 1.0), 2.0 * (p[1] + 1.0)];
            a.step(&mut p, &g, 0.05);
        }
        assert!(
            (p[0] - 1.0).abs() < 1e-2 && (p[1] + 1.0).abs() < 1e-2,
            "{p:?}"
        );
        a.reset();
        assert_eq!(a.steps(), 0);
    }
}
