//! The CEM baseline (spec §B.1, DINO-WM `planning/cem.py`): a diagonal Gaussian over the T × K normalized
//! actions; each iteration draws N plans (plan 0 is the mean itself), rolls them all out serially — each of
//! the T steps one model call batched over the N plans — ranks them by ‖rollout_T − g‖², and refits mean and
//! std (unbiased) to the top k. The snapshot shows the serial rollout of the new mean as its states.
//! The sample evaluation ([`super::cem_batch`]) is the hot loop; it may be split over the caller's
//! [`Parallel`] pool with bit-identical results.

use std::sync::Arc;
use std::time::Instant;

use super::cem_batch::SampleBatch;
use super::emit::{self, Parts};
use super::parallel::Parallel;
use super::serial::{all_finite, clamp_abs, wsq_dist, SerialRollout};
use super::{
    CemParams, InForce, LossTerms, ModelProblem, Phase, PlanError, Planner, PlannerParams,
    Snapshot, WarmStart,
};
use crate::model::WorldModel;
use crate::util::{rng_for, Rng};

/// The sort key of sample `i`: its cost, NaN ranked last.
fn elite_key(costs: &[f32], i: usize) -> f32 {
    let c = costs[i];
    if c.is_nan() {
        f32::INFINITY
    } else {
        c
    }
}

/// Fills `order` with 0..costs.len() sorted by ascending cost (NaN last, ties by index: deterministic). The
/// full-sort reference for [`top_elites`].
#[cfg(test)]
pub(crate) fn elite_order(costs: &[f32], order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..costs.len());
    let key = |i: usize| elite_key(costs, i);
    order.sort_unstable_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
}

/// Fills `order` so that its first `k` entries are the indices of the `k` lowest costs in the order
/// [`elite_order`] gives them (NaN last, ties by index) — by partial selection (O(N)) and a sort of those
/// `k` only; the rest of `order` is left in no particular order.
pub(crate) fn top_elites(costs: &[f32], k: usize, order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..costs.len());
    let key = |i: usize| elite_key(costs, i);
    let cmp = |a: &usize, b: &usize| key(*a).total_cmp(&key(*b)).then(a.cmp(b));
    let k = k.min(order.len());
    if k < order.len() {
        order.select_nth_unstable_by(k, cmp);
    }
    order[..k].sort_unstable_by(cmp);
}

/// Mean and unbiased variance (0 for a single elite) per element over the elite plans (`samples` holds
/// plans of length `plan`, `elites` their indices).
pub(crate) fn elite_stats(
    samples: &[f32],
    plan: usize,
    elites: &[usize],
    mean: &mut [f32],
    var: &mut [f32],
) {
    let n = elites.len() as f32;
    mean.iter_mut().for_each(|m| *m = 0.0);
    for &e in elites {
        for (m, x) in mean.iter_mut().zip(&samples[e * plan..(e + 1) * plan]) {
            *m += x;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    var.iter_mut().for_each(|v| *v = 0.0);
    if elites.len() < 2 {
        return;
    }
    for &e in elites {
        for ((v, x), m) in var
            .iter_mut()
            .zip(&samples[e * plan..(e + 1) * plan])
            .zip(mean.iter())
        {
            *v += (x - m) * (x - m);
        }
    }
    let denom = n - 1.0;
    var.iter_mut().for_each(|v| *v /= denom);
}

/// The CEM planner. Build it with [`super::make_planner`].
pub struct CemPlanner {
    model: Arc<dyn WorldModel>,
    params: CemParams,
    s0: Vec<f32>,
    goal: Vec<f32>,
    weights: Vec<f32>,
    horizon: usize,
    mean: Vec<f32>,
    std: Vec<f32>,
    var: Vec<f32>,
    backup_mean: Vec<f32>,
    backup_std: Vec<f32>,
    batch: SampleBatch,
    order: Vec<usize>,
    parallel: Parallel,
    report: SerialRollout,
    residuals: Vec<f32>,
    loss: LossTerms,
    rng: Rng,
    iteration: usize,
    time_s: f64,
    diverged: bool,
    last: Arc<Snapshot>,
}

impl CemPlanner {
    /// CEM at μ = 0, σ = `init_std`.
    pub fn new(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: CemParams,
        seed: u64,
    ) -> Result<Self, PlanError> {
        Self::with_warm(problem, model, params, seed, None)
    }

    /// [`CemPlanner::new`] with μ = `warm`'s actions (clamped to the bound) and σ = its std when given
    /// (floored at `min_std`), else `init_std`.
    pub fn with_warm(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: CemParams,
        seed: u64,
        warm: Option<&WarmStart>,
    ) -> Result<Self, PlanError> {
        PlannerParams::Cem(params.clone()).validate()?;
        PlannerParams::Cem(params.clone()).check_model(model.as_ref())?;
        problem.check(model.as_ref())?;
        let plan = problem.horizon * model.action_dim();
        let (mut mean, mut std) = (vec![0.0; plan], vec![params.init_std; plan]);
        if let Some(w) = warm {
            w.check(problem.horizon, model.state_dim(), model.action_dim())?;
            mean.copy_from_slice(&w.actions);
            clamp_abs(&mut mean, params.action_bound);
            if let Some(ws) = &w.std {
                for (s, v) in std.iter_mut().zip(ws) {
                    *s = v.max(params.min_std);
                }
            }
        }
        let mut me = CemPlanner {
            s0: problem.start.clone(),
            goal: problem.goal.clone(),
            weights: problem.weights(),
            horizon: problem.horizon,
            mean,
            std,
            var: vec![0.0; plan],
            backup_mean: vec![0.0; plan],
            backup_std: vec![0.0; plan],
            batch: SampleBatch::default(),
            order: Vec::new(),
            parallel: Parallel::single(),
            report: SerialRollout::default(),
            residuals: vec![0.0; problem.horizon],
            loss: LossTerms::default(),
            rng: rng_for(seed, "cem"),
            iteration: 0,
            time_s: 0.0,
            diverged: false,
            last: Arc::new(Snapshot::empty(PlannerParams::Cem(params.clone()))),
            model,
            params,
        };
        me.roll_out_mean();
        me.emit();
        Ok(me)
    }

    fn roll_out_mean(&mut self) {
        self.report
            .run(self.model.as_ref(), &self.s0, &self.mean, 1, self.horizon);
        let d = self.model.state_dim();
        let traj = self.report.states();
        let goal_sum: f32 = (1..=self.horizon)
            .map(|t| wsq_dist(&traj[t * d..(t + 1) * d], &self.goal, &self.weights))
            .sum();
        let term = wsq_dist(self.report.final_states(), &self.goal, &self.weights);
        self.loss = LossTerms {
            dynamics: 0.0,
            goal: goal_sum / d as f32,
            terminal: term.sqrt(),
            total: term / d as f32,
        };
    }

    fn emit(&mut self) -> Arc<Snapshot> {
        let (d, k) = (self.model.state_dim(), self.model.action_dim());
        let traj = self.report.states();
        emit::emit(
            &mut self.last,
            Parts {
                iteration: self.iteration,
                phase: Phase::Cem,
                horizon: self.horizon,
                state_dim: d,
                action_dim: k,
                states: traj,
                actions: &self.mean,
                predictions: &traj[d..],
                residuals: &self.residuals,
                rollout: traj,
                rollout_iteration: self.iteration,
                loss: self.loss,
                in_force: InForce::default(),
                params: &PlannerParams::Cem(self.params.clone()),
                planner_time_s: self.time_s,
            },
        )
    }

    fn run_iteration(&mut self) -> Option<String> {
        let (n, topk) = (
            self.params.samples,
            self.params.topk.min(self.params.samples),
        );
        self.batch.draw(
            &self.mean,
            &self.std,
            n,
            self.horizon,
            self.model.action_dim(),
            self.params.action_bound,
            &mut self.rng,
        );
        self.batch.evaluate(
            self.model.as_ref(),
            &self.s0,
            &self.goal,
            &self.weights,
            self.params.trust_penalty,
            &self.parallel,
        );
        top_elites(self.batch.costs(), topk, &mut self.order);
        self.backup_mean.copy_from_slice(&self.mean);
        self.backup_std.copy_from_slice(&self.std);
        self.batch
            .elite_stats(&self.order[..topk], &mut self.mean, &mut self.var);
        // The elite mean of clipped samples can round past the bound by an ulp.
        clamp_abs(&mut self.mean, self.params.action_bound);
        let floor = self.params.min_std;
        for (s, v) in self.std.iter_mut().zip(&self.var) {
            *s = v.sqrt().max(floor);
        }
        self.roll_out_mean();
        let l = &self.loss;
        let bad = if !all_finite(&self.mean) || !all_finite(&self.std) {
            Some("non-finite action distribution".to_string())
        } else if !(l.goal.is_finite() && l.terminal.is_finite()) {
            Some(format!(
                "non-finite rollout of the mean (terminal {})",
                l.terminal
            ))
        } else {
            None
        };
        if bad.is_some() {
            self.mean.copy_from_slice(&self.backup_mean);
            self.std.copy_from_slice(&self.backup_std);
        }
        bad
    }
}

impl Planner for CemPlanner {
    fn step(&mut self) -> Arc<Snapshot> {
        if self.diverged {
            return self.last.clone();
        }
        let started = Instant::now();
        let bad = self.run_iteration();
        self.time_s += started.elapsed().as_secs_f64();
        if let Some(reason) = bad {
            self.diverged = true;
            return emit::diverged(&mut self.last, self.iteration, reason, self.time_s);
        }
        let snap = self.emit();
        self.iteration += 1;
        snap
    }

    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        match params {
            PlannerParams::Cem(p) => {
                PlannerParams::Cem(p.clone()).validate()?;
                PlannerParams::Cem(p.clone()).check_model(self.model.as_ref())?;
                self.params = p;
                Ok(())
            }
            other => Err(PlanError::WrongParams {
                planner: "cem",
                got: other.family(),
            }),
        }
    }

    fn params(&self) -> PlannerParams {
        PlannerParams::Cem(self.params.clone())
    }

    fn set_parallel(&mut self, parallel: &Parallel) {
        self.parallel = parallel.clone();
    }

    fn actions(&self) -> &[f32] {
        &self.mean
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn latest(&self) -> Arc<Snapshot> {
        self.last.clone()
    }

    fn warm_start(&self) -> WarmStart {
        WarmStart {
            actions: self.mean.clone(),
            states: None,
            std: Some(self.std.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::make_planner;
    use crate::plan::testkit::linear_problem;
    use crate::plan::Status;

    #[test]
    fn elites_are_the_lowest_costs_with_nan_last() {
        let mut order = Vec::new();
        elite_order(&[3.0, f32::NAN, 1.0, 2.0, 1.0], &mut order);
        assert_eq!(order, vec![2, 4, 3, 0, 1]);
        let costs = [3.0, f32::NAN, 1.0, 2.0, 1.0, 0.5, 2.0, f32::NAN, 1.0];
        elite_order(&costs, &mut order);
        let mut top = Vec::new();
        for k in 0..=costs.len() + 1 {
            top_elites(&costs, k, &mut top);
            let k = k.min(costs.len());
            assert_eq!(top[..k], order[..k], "k = {k}");
        }
        let samples = [1.0, 10.0, 3.0, 30.0, 100.0, 0.0];
        let (mut mean, mut var) = ([0.0; 2], [0.0; 2]);
        elite_stats(&samples, 2, &[0, 1], &mut mean, &mut var);
        assert_eq!(mean, [2.0, 20.0]);
        assert_eq!(var, [2.0, 200.0]);
    }

    #[test]
    fn threads_change_no_bit_of_the_plan() {
        use crate::env::EnvKind;
        use crate::model::info::Activation;
        use crate::model::mlp::untrained;
        use crate::plan::testkit::same_except_time;
        let model: Arc<dyn WorldModel> =
            Arc::new(untrained(EnvKind::Pusht, &[40, 24], Activation::Silu, 2).unwrap());
        let d = model.state_dim();
        let problem = ModelProblem {
            start: (0..d).map(|i| (i as f32 * 0.3).sin()).collect(),
            goal: (0..d).map(|i| (i as f32 * 0.7).cos()).collect(),
            horizon: 7,
            goal_weights: Vec::new(),
        };
        let params = PlannerParams::Cem(CemParams {
            samples: 37,
            topk: 5,
            ..Default::default()
        });
        let run = |threads: usize| {
            let mut p = make_planner(&params, &problem, model.clone(), 4).unwrap();
            p.set_parallel(&Parallel::new(threads).unwrap());
            (0..4).map(|_| p.step()).collect::<Vec<_>>()
        };
        let one = run(1);
        for threads in [2, 3] {
            let many = run(threads);
            for (a, b) in one.iter().zip(&many) {
                assert!(same_except_time(a, b), "{threads} threads");
            }
        }
    }

    #[test]
    fn cem_solves_the_linear_system() {
        let (model, problem) = linear_problem(5);
        let params = PlannerParams::Cem(CemParams::default());
        let mut p = make_planner(&params, &problem, model, 3).unwrap();
        let first = p.latest().loss.terminal;
        let mut last = p.step();
        for _ in 0..30 {
            last = p.step();
        }
        assert_eq!(last.status, Status::Running);
        assert_eq!(last.phase, Phase::Cem);
        assert!(
            last.loss.terminal < 0.05,
            "{first} -> {}",
            last.loss.terminal
        );
        // States are the rollout of the mean; the first action row is the mean.
        assert_eq!(last.states, last.rollout);
        assert_eq!(last.actions.as_slice(), p.actions());
    }

    #[test]
    fn an_enormous_spread_diverges_cleanly() {
        let (model, problem) = linear_problem(5);
        let params = PlannerParams::Cem(CemParams {
            init_std: 1e38,
            action_bound: 0.0,
            ..Default::default()
        });
        let mut p = make_planner(&params, &problem, model, 3).unwrap();
        let s = (0..5).map(|_| p.step()).last().unwrap();
        assert!(
            matches!(s.status, Status::Diverged { .. }),
            "{:?}",
            s.status
        );
        assert!(p.actions().iter().all(|v| v.is_finite()));
    }
}
