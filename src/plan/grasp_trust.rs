//! GRASP's ensemble-disagreement penalty (`GraspParams::trust_penalty`, docs/trust.md): at the lifted
//! variables, every other ensemble member m predicts F_m(s̄_t, a_t) beside the designated member's F(s̄_t, a_t),
//! and the loss gains P = λ/(D(M−1)) Σ_t Σ_m Σ_j w_j (F_m − F)²_tj (w: the goal weights, so the penalty
//! speaks in the success rule's dims). Its gradient reaches the actions (and, with state gradients, the
//! states) through each member's VJP and, with the opposite sign, through the designated member's — so the
//! lifted phase moves actions to where the members agree. Syncs optimize the terminal distance alone.

use crate::model::{Tape, WorldModel};

/// The other members' predictions at the last evaluation and what their VJPs need.
#[derive(Clone, Debug, Default)]
pub(crate) struct DisagreementTerm {
    /// λ at the last evaluation (0: not evaluated; the gradient then adds nothing).
    lambda: f32,
    /// F_m(s̄_t, a_t) per other member [T × D].
    preds: Vec<Vec<f32>>,
    tapes: Vec<Tape>,
    /// Scratch: one member's dL/dF_m, and its VJP outputs.
    grad: Vec<f32>,
    grad_in: Vec<f32>,
    grad_a: Vec<f32>,
}

impl DisagreementTerm {
    /// Evaluates the other members at (`states`, `actions`) when `lambda` > 0 and `model` is an ensemble,
    /// and returns P (0 otherwise). `pred` is the designated member's F at the same inputs.
    pub fn evaluate(
        &mut self,
        model: &dyn WorldModel,
        lambda: f32,
        states: &[f32],
        actions: &[f32],
        pred: &[f32],
        weights: &[f32],
    ) -> f32 {
        self.lambda = 0.0;
        let Some(ens) = model.ensemble().filter(|_| lambda > 0.0) else {
            return 0.0;
        };
        let others = ens.members().len() - 1;
        self.preds.resize_with(others, Vec::new);
        self.tapes.resize_with(others, Tape::default);
        let d = weights.len();
        let mut sum = 0.0f32;
        for ((m, p), tape) in ens.others().zip(&mut self.preds).zip(&mut self.tapes) {
            p.resize(pred.len(), 0.0);
            m.forward(states, actions, p, tape);
            for (pr, fr) in p.chunks_exact(d).zip(pred.chunks_exact(d)) {
                for j in 0..d {
                    let e = pr[j] - fr[j];
                    sum += weights[j] * e * e;
                }
            }
        }
        self.lambda = lambda;
        lambda * sum / (d * others.max(1)) as f32
    }

    /// The designated member's share of P's gradient, with `c` = 2/D: subtracts c·λ/(M−1) Σ_m w ⊙ (F_m − F)
    /// from `grad_out` (its dL/dF, before its VJP runs). The members' share is
    /// [`DisagreementTerm::add_member_vjps`], after that VJP.
    pub fn add_to_grad_out(&self, c: f32, pred: &[f32], weights: &[f32], grad_out: &mut [f32]) {
        if self.lambda == 0.0 {
            return;
        }
        let d = weights.len();
        let coef = c * self.lambda / self.preds.len().max(1) as f32;
        for p in &self.preds {
            for ((g, pr), fr) in grad_out
                .chunks_exact_mut(d)
                .zip(p.chunks_exact(d))
                .zip(pred.chunks_exact(d))
            {
                for j in 0..d {
                    g[j] -= coef * weights[j] * (pr[j] - fr[j]);
                }
            }
        }
    }

    /// Adds each member's VJP of c·λ/(M−1) w ⊙ (F_m − F) into `grad_actions` and, when given, `grad_in`
    /// (dL/ds̄ at the states the members were evaluated at).
    pub fn add_member_vjps(
        &mut self,
        model: &dyn WorldModel,
        c: f32,
        pred: &[f32],
        weights: &[f32],
        grad_actions: &mut [f32],
        mut grad_in: Option<&mut [f32]>,
    ) {
        let Some(ens) = model.ensemble().filter(|_| self.lambda > 0.0) else {
            return;
        };
        let d = weights.len();
        let coef = c * self.lambda / self.preds.len().max(1) as f32;
        self.grad_a.resize(grad_actions.len(), 0.0);
        self.grad_in.resize(pred.len(), 0.0);
        self.grad.resize(pred.len(), 0.0);
        for ((m, p), tape) in ens.others().zip(&self.preds).zip(&self.tapes) {
            for ((g, pr), fr) in self
                .grad
                .chunks_exact_mut(d)
                .zip(p.chunks_exact(d))
                .zip(pred.chunks_exact(d))
            {
                for j in 0..d {
                    g[j] = coef * weights[j] * (pr[j] - fr[j]);
                }
            }
            let want_in = grad_in.is_some();
            m.vjp(
                tape,
                &self.grad,
                want_in.then_some(&mut self.grad_in[..]),
                Some(&mut self.grad_a),
            );
            for (g, x) in grad_actions.iter_mut().zip(&self.grad_a) {
                *g += x;
            }
            if let Some(gi) = grad_in.as_deref_mut() {
                for (g, x) in gi.iter_mut().zip(&self.grad_in) {
                    *g += x;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ensemble::Ensemble;
    use crate::model::info::Activation;
    use crate::model::mlp::untrained;

    fn ensemble(seeds: &[u64]) -> Ensemble {
        let members = seeds
            .iter()
            .map(|&s| untrained(crate::env::EnvKind::Wall, &[16, 12], Activation::Silu, s).unwrap())
            .collect();
        Ensemble::new(members, 0, false).unwrap()
    }

    /// P at (states, actions) and its gradient with respect to both, as GRASP forms it.
    fn penalty_and_grads(
        ens: &Ensemble,
        lambda: f32,
        states: &[f32],
        actions: &[f32],
        weights: &[f32],
    ) -> (f32, Vec<f32>, Vec<f32>) {
        let d = weights.len();
        let mut pred = vec![0.0; states.len()];
        let mut tape = Tape::default();
        ens.forward(states, actions, &mut pred, &mut tape);
        let mut term = DisagreementTerm::default();
        let p = term.evaluate(ens, lambda, states, actions, &pred, weights);
        let c = 2.0 / d as f32;
        let mut grad_out = vec![0.0; pred.len()];
        term.add_to_grad_out(c, &pred, weights, &mut grad_out);
        let (mut gs, mut ga) = (vec![0.0; states.len()], vec![0.0; actions.len()]);
        ens.vjp(&tape, &grad_out, Some(&mut gs), Some(&mut ga));
        term.add_member_vjps(ens, c, &pred, weights, &mut ga, Some(&mut gs));
        (p, gs, ga)
    }

    #[test]
    fn the_penalty_gradient_matches_finite_differences() {
        let ens = ensemble(&[3, 4, 5]);
        let (d, k, t_len) = (ens.state_dim(), ens.action_dim(), 3);
        let states: Vec<f32> = (0..t_len * d).map(|i| (i as f32 * 0.7).sin()).collect();
        let actions: Vec<f32> = (0..t_len * k).map(|i| (i as f32 * 0.37).cos()).collect();
        let weights: Vec<f32> = (0..d).map(|j| 0.5 + j as f32).collect();
        let lambda = 2.0;
        let (p, gs, ga) = penalty_and_grads(&ens, lambda, &states, &actions, &weights);
        assert!(p > 0.0);
        let h = 1e-2f32;
        let numeric = |x: &[f32], i: usize, is_action: bool| {
            let (mut up, mut down) = (x.to_vec(), x.to_vec());
            up[i] += h;
            down[i] -= h;
            let at = |v: &[f32]| {
                let (s, a) = if is_action {
                    (&states[..], v)
                } else {
                    (v, &actions[..])
                };
                penalty_and_grads(&ens, lambda, s, a, &weights).0
            };
            (at(&up) - at(&down)) / (2.0 * h)
        };
        for (i, g) in ga.iter().enumerate() {
            let n = numeric(&actions, i, true);
            assert!(
                (g - n).abs() <= 2e-2 * n.abs().max(0.05),
                "action {i}: {g} vs {n}"
            );
        }
        for (i, g) in gs.iter().enumerate() {
            let n = numeric(&states, i, false);
            assert!(
                (g - n).abs() <= 2e-2 * n.abs().max(0.05),
                "state {i}: {g} vs {n}"
            );
        }
    }

    #[test]
    fn agreeing_members_and_a_zero_weight_add_nothing() {
        let same = ensemble(&[3, 3]);
        let (d, k) = (same.state_dim(), same.action_dim());
        let states = vec![0.2; 2 * d];
        let actions = vec![0.4; 2 * k];
        let w = vec![1.0; d];
        let (p, gs, ga) = penalty_and_grads(&same, 3.0, &states, &actions, &w);
        assert_eq!(p, 0.0);
        assert!(gs.iter().chain(&ga).all(|g| *g == 0.0));
        let (p, gs, ga) = penalty_and_grads(&ensemble(&[3, 4]), 0.0, &states, &actions, &w);
        assert_eq!(p, 0.0);
        assert!(gs.iter().chain(&ga).all(|g| *g == 0.0));
    }

    #[test]
    fn an_ensemble_plans_as_its_designated_member_and_only_an_ensemble_takes_a_penalty() {
        use crate::plan::{make_planner, ModelProblem, PlanError, PlannerKind, PlannerParams};
        use std::sync::Arc;
        let ens = ensemble(&[3, 4, 5]);
        let problem = crate::env::Problem::generate(crate::env::EnvKind::Wall, 6, 2).unwrap();
        let mp = ModelProblem::from_problem(&problem, &ens).unwrap();
        let single: Arc<dyn WorldModel> = Arc::new(ens.designated_model().clone());
        let whole: Arc<dyn WorldModel> = Arc::new(ens.clone());
        let run = |params: &PlannerParams, model: Arc<dyn WorldModel>| {
            let mut p = make_planner(params, &mp, model, 1).unwrap();
            for _ in 0..12 {
                p.step();
            }
            p.actions().to_vec()
        };
        for kind in [PlannerKind::Grasp, PlannerKind::Cem] {
            let plain = kind.default_params();
            assert_eq!(
                run(&plain, single.clone()),
                run(&plain, whole.clone()),
                "{kind}"
            );
            let mut penalized = plain.clone();
            match &mut penalized {
                PlannerParams::Grasp(p) => p.trust_penalty = 50.0,
                PlannerParams::Cem(p) => p.trust_penalty = 50.0,
                _ => unreachable!(),
            }
            assert_ne!(
                run(&plain, whole.clone()),
                run(&penalized, whole.clone()),
                "{kind}"
            );
            let err = make_planner(&penalized, &mp, single.clone(), 1)
                .err()
                .unwrap();
            assert!(
                matches!(
                    err,
                    PlanError::InvalidParam {
                        name: "trust_penalty",
                        ..
                    }
                ),
                "{err}"
            );
        }
    }
}
