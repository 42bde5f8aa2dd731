//! GRASP (spec §A) and, with other settings, the LatCo baseline: planners over the lifted variables — actions
//! a_0..a_{T−1} and virtual states s_1..s_{T−1} (s_0 fixed, s_T = g) — that minimize
//! L = Σ_t mean_d (F(s̄_t,a_t) − s_{t+1})² + γ Σ_t mean_d (F(s̄_t,a_t) − g)² (Eq. 10 with the reference's
//! mean over state dims) with one batched model call per iteration, Adam with separate state/action rates,
//! state noise, and a periodic serial-rollout sync ([`super::grasp_sync`]).
//!
//! Iteration k: (1) resolve the settings in force (schedules, switches); (2) form dL/dF from the evaluation
//! kept from the end of the previous iteration and backprop it through the recorded tape (action VJP; state VJP
//! too when state gradients are on); (3) Adam step on the actions and Adam (or, with `state_step = gradient`, the
//! paper's plain gradient step) on the states, then noise on the states; (4) sync
//! if due, then reset the Adam moments; (5) evaluate at the new variables: one batched forward F(s̄_t,a_t),
//! residuals and loss terms — so every snapshot's predictions, residuals and loss belong to the variables it
//! shows. The update sequence is exactly the reference's; only where the evaluation sits in the loop differs.

use std::sync::Arc;
use std::time::Instant;

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::adam::Adam;
use super::emit::{self, Parts};
use super::grasp_settings::settings;
use super::grasp_sync::{CemSync, CemSyncSettings, GdSync};
use super::grasp_trust::DisagreementTerm;
use super::serial::{all_finite, clamp_abs, wsq_dist, SerialRollout};
use super::{
    InForce, LossTerms, ModelProblem, Phase, PlanError, Planner, PlannerParams, Snapshot,
    StateStep, SyncMode, WarmStart,
};
use crate::model::{Tape, WorldModel};
use crate::util::{rng_for, Rng};

/// GRASP / LatCo over the lifted problem. Build it with [`super::make_planner`].
pub struct LiftedPlanner {
    model: Arc<dyn WorldModel>,
    params: PlannerParams,
    s0: Vec<f32>,
    goal: Vec<f32>,
    /// Goal weight per dim; s_T's dims with weight 0 are free.
    weights: Vec<f32>,
    d: usize,
    horizon: usize,
    /// s_0 … s_T [(T+1) × D]; rows 1..T−1 are the free virtual states, and row T's zero-weight dims.
    states: Vec<f32>,
    /// a_0 … a_{T−1} [T × K].
    actions: Vec<f32>,
    backup_states: Vec<f32>,
    backup_actions: Vec<f32>,
    /// F(s̄_t, a_t) at the current variables [T × D].
    pred: Vec<f32>,
    /// F_t − s_{t+1} [T × D].
    resid: Vec<f32>,
    /// F_t − g [T × D].
    goal_diff: Vec<f32>,
    resid_norm: Vec<f32>,
    grad_out: Vec<f32>,
    grad_in: Vec<f32>,
    grad_states: Vec<f32>,
    grad_actions: Vec<f32>,
    tape: Tape,
    adam_s: Adam,
    adam_a: Adam,
    rng: Rng,
    report: SerialRollout,
    gd_sync: GdSync,
    cem_sync: CemSync,
    /// The ensemble-disagreement penalty (`trust_penalty`), when on.
    trust: DisagreementTerm,
    loss: LossTerms,
    in_force: InForce,
    rollout_iteration: usize,
    iteration: usize,
    time_s: f64,
    /// Wall-clock deadline a sync stops at (set by a seconds budget through `Planner::set_deadline`).
    deadline: Option<Instant>,
    diverged: bool,
    last: Arc<Snapshot>,
}

impl LiftedPlanner {
    /// A planner at the GRASP initialization: virtual states on the straight line s_0 → g (plus N(0, ε²)
    /// noise for GRASP's `init_noise`), actions zero. `params` must be GRASP or LatCo.
    pub fn new(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: PlannerParams,
        seed: u64,
    ) -> Result<Self, PlanError> {
        Self::with_warm(problem, model, params, seed, None)
    }

    /// [`LiftedPlanner::new`] from `warm`'s actions and (when given) virtual states: row 0 becomes the
    /// problem's start and the goal-weighted dims of row T the goal. The RNG stream is the same as `new`'s.
    pub fn with_warm(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: PlannerParams,
        seed: u64,
        warm: Option<&WarmStart>,
    ) -> Result<Self, PlanError> {
        let (init_noise, stream) = match &params {
            PlannerParams::Grasp(p) => (p.init_noise, "grasp"),
            PlannerParams::Latco(_) => (0.0, "latco"),
            other => {
                return Err(PlanError::WrongParams {
                    planner: "grasp/latco",
                    got: other.family(),
                })
            }
        };
        params.validate()?;
        params.check_model(model.as_ref())?;
        problem.check(model.as_ref())?;
        let (d, k, t_len) = (model.state_dim(), model.action_dim(), problem.horizon);
        let mut rng = rng_for(seed, stream);
        let mut states = vec![0.0; (t_len + 1) * d];
        for t in 0..=t_len {
            let w = t as f32 / t_len as f32;
            for j in 0..d {
                states[t * d + j] = if t == 0 {
                    problem.start[j]
                } else if t == t_len {
                    problem.goal[j]
                } else {
                    let z: f32 = if init_noise > 0.0 {
                        rng.sample(StandardNormal)
                    } else {
                        0.0
                    };
                    (1.0 - w) * problem.start[j] + w * problem.goal[j] + init_noise * z
                };
            }
        }
        let mut actions = vec![0.0; t_len * k];
        if let Some(w) = warm {
            w.check(t_len, d, k)?;
            if let Some(ws) = &w.states {
                states[d..].copy_from_slice(&ws[d..]);
                let weights = problem.weights();
                for j in 0..d {
                    if weights[j] != 0.0 {
                        states[t_len * d + j] = problem.goal[j];
                    }
                }
            }
            actions.copy_from_slice(&w.actions);
            clamp_abs(&mut actions, params.action_bound());
        }
        // Adam runs over rows 1..T; row T's pinned dims get zero gradient and are reset to g.
        let free = t_len * d;
        let mut me = LiftedPlanner {
            s0: problem.start.clone(),
            goal: problem.goal.clone(),
            weights: problem.weights(),
            d,
            horizon: t_len,
            backup_states: states.clone(),
            states,
            backup_actions: actions.clone(),
            actions,
            pred: vec![0.0; t_len * d],
            resid: vec![0.0; t_len * d],
            goal_diff: vec![0.0; t_len * d],
            resid_norm: vec![0.0; t_len],
            grad_out: vec![0.0; t_len * d],
            grad_in: vec![0.0; t_len * d],
            grad_states: vec![0.0; free],
            grad_actions: vec![0.0; t_len * k],
            tape: Tape::default(),
            adam_s: Adam::new(free),
            adam_a: Adam::new(t_len * k),
            rng,
            report: SerialRollout::default(),
            gd_sync: GdSync::default(),
            cem_sync: CemSync::default(),
            trust: DisagreementTerm::default(),
            loss: LossTerms::default(),
            in_force: InForce::default(),
            rollout_iteration: 0,
            iteration: 0,
            time_s: 0.0,
            deadline: None,
            diverged: false,
            last: Arc::new(Snapshot::empty(params.clone())),
            model,
            params,
        };
        let s = settings(&me.params, 0);
        me.in_force = InForce {
            noise: s.noise,
            goal_weight: s.gamma,
        };
        me.evaluate(s.gamma);
        me.roll_out();
        me.emit(Phase::Stochastic);
        Ok(me)
    }

    /// One batched forward at the current variables: predictions, residuals, loss terms; keeps the tape.
    fn evaluate(&mut self, gamma: f32) {
        let (d, t_len) = (self.d, self.horizon);
        self.model.forward(
            &self.states[..t_len * d],
            &self.actions,
            &mut self.pred,
            &mut self.tape,
        );
        let (mut dyn_sum, mut goal_sum) = (0.0f32, 0.0f32);
        for t in 0..t_len {
            let (mut rr, mut qq) = (0.0f32, 0.0f32);
            let row = t * d..(t + 1) * d;
            let next = &self.states[(t + 1) * d..(t + 2) * d];
            for (j, i) in row.enumerate() {
                let p = self.pred[i];
                let r = p - next[j];
                let q = p - self.goal[j];
                self.resid[i] = r;
                self.goal_diff[i] = self.weights[j] * q;
                rr += r * r;
                qq += self.weights[j] * q * q;
            }
            self.resid_norm[t] = rr.sqrt();
            dyn_sum += rr;
            goal_sum += qq;
        }
        let inv_d = 1.0 / d as f32;
        self.loss.dynamics = dyn_sum * inv_d;
        self.loss.goal = goal_sum * inv_d;
        self.loss.total = self.loss.dynamics + gamma * self.loss.goal;
        let penalty = self.trust.evaluate(
            self.model.as_ref(),
            self.params.trust_penalty(),
            &self.states[..t_len * d],
            &self.actions,
            &self.pred,
            &self.weights,
        );
        if penalty != 0.0 {
            self.loss.total += penalty;
        }
    }

    /// Gradients of L at the evaluated variables: actions always; free states by the stop-grad rule
    /// −(2/D)(F_{j−1} − s_j), plus J_sᵀ dL/dF_j when state gradients are on (rows 1..T−1; row T is never
    /// an input of F, and its goal-pinned dims get 0).
    fn gradients(&mut self, gamma: f32, state_grad: bool) {
        let (d, t_len) = (self.d, self.horizon);
        let c = 2.0 / d as f32;
        for ((g, r), q) in self
            .grad_out
            .iter_mut()
            .zip(&self.resid)
            .zip(&self.goal_diff)
        {
            *g = c * (r + gamma * q);
        }
        self.trust
            .add_to_grad_out(c, &self.pred, &self.weights, &mut self.grad_out);
        self.model.vjp(
            &self.tape,
            &self.grad_out,
            state_grad.then_some(&mut self.grad_in[..]),
            Some(&mut self.grad_actions),
        );
        self.trust.add_member_vjps(
            self.model.as_ref(),
            c,
            &self.pred,
            &self.weights,
            &mut self.grad_actions,
            state_grad.then_some(&mut self.grad_in[..]),
        );
        let inner = t_len.saturating_sub(1) * d;
        for i in 0..inner {
            // Free state j = 1 + i / d is the target of step j − 1 (resid row i / d) and, with state
            // gradients, the input of step j (grad_in row j).
            let mut g = -c * self.resid[i];
            if state_grad {
                g += self.grad_in[d + i];
            }
            self.grad_states[i] = g;
        }
        for j in 0..d {
            let i = inner + j;
            self.grad_states[i] = if self.weights[j] == 0.0 {
                -c * self.resid[i]
            } else {
                0.0
            };
        }
    }

    /// Serial rollout of the current actions for the snapshot; updates `loss.terminal`.
    fn roll_out(&mut self) {
        self.report.run(
            self.model.as_ref(),
            &self.s0,
            &self.actions,
            1,
            self.horizon,
        );
        self.loss.terminal = wsq_dist(self.report.final_states(), &self.goal, &self.weights).sqrt();
        self.rollout_iteration = self.iteration;
    }

    fn emit(&mut self, phase: Phase) -> Arc<Snapshot> {
        let k = self.model.action_dim();
        emit::emit(
            &mut self.last,
            Parts {
                iteration: self.iteration,
                phase,
                horizon: self.horizon,
                state_dim: self.d,
                action_dim: k,
                states: &self.states,
                actions: &self.actions,
                predictions: &self.pred,
                residuals: &self.resid_norm,
                rollout: self.report.states(),
                rollout_iteration: self.rollout_iteration,
                loss: self.loss,
                in_force: self.in_force,
                params: &self.params,
                planner_time_s: self.time_s,
            },
        )
    }

    fn check_finite(&self) -> Option<String> {
        let l = &self.loss;
        if !(l.dynamics.is_finite() && l.goal.is_finite() && l.terminal.is_finite()) {
            return Some(format!(
                "non-finite loss (dynamics {}, goal {}, terminal {})",
                l.dynamics, l.goal, l.terminal
            ));
        }
        if !all_finite(&self.states) {
            return Some("non-finite virtual states".into());
        }
        if !all_finite(&self.actions) {
            return Some("non-finite actions".into());
        }
        None
    }

    fn run_iteration(&mut self) -> Phase {
        let (d, t_len) = (self.d, self.horizon);
        let k = self.iteration;
        let s = settings(&self.params, k);
        self.in_force = InForce {
            noise: s.noise,
            goal_weight: s.gamma,
        };
        self.backup_states.copy_from_slice(&self.states);
        self.backup_actions.copy_from_slice(&self.actions);
        self.gradients(s.gamma, s.state_grad);
        let free = &mut self.states[d..(t_len + 1) * d];
        match s.state_step {
            StateStep::Adam => self.adam_s.step(free, &self.grad_states, s.lr_s),
            StateStep::Gradient => {
                // `grad_states` is of the loss averaged over state dims; the step is on the sum.
                let eta = s.lr_s * d as f32;
                for (x, g) in free.iter_mut().zip(&self.grad_states) {
                    *x -= eta * g;
                }
            }
        }
        self.adam_a
            .step(&mut self.actions, &self.grad_actions, s.lr_a);
        clamp_abs(&mut self.actions, s.action_bound);
        if s.noise > 0.0 {
            for x in self.states[d..t_len * d].iter_mut() {
                let z: f32 = self.rng.sample(StandardNormal);
                *x += s.noise * z;
            }
            for j in 0..d {
                if self.weights[j] == 0.0 {
                    let z: f32 = self.rng.sample(StandardNormal);
                    self.states[t_len * d + j] += s.noise * z;
                }
            }
        }
        for j in 0..d {
            if self.weights[j] != 0.0 {
                self.states[t_len * d + j] = self.goal[j];
            }
        }
        let mut phase = Phase::Stochastic;
        if let Some((mode, steps, lr)) = s.sync {
            self.sync(mode, steps, lr, s.action_bound);
            if s.reset_after_sync {
                self.adam_s.reset();
                self.adam_a.reset();
            }
            phase = Phase::Sync;
        }
        self.evaluate(s.gamma);
        if phase == Phase::Sync || k.is_multiple_of(s.rollout_every) {
            self.roll_out();
        }
        phase
    }

    fn sync(&mut self, mode: SyncMode, steps: usize, lr: f32, bound: f32) {
        let model = self.model.as_ref();
        match mode {
            SyncMode::Gd => self.gd_sync.run(
                model,
                &self.s0,
                &self.goal,
                &self.weights,
                &mut self.actions,
                self.horizon,
                steps,
                lr,
                bound,
                self.deadline,
            ),
            SyncMode::Cem => {
                let (samples, topk, var_scale, var_min) = match &self.params {
                    PlannerParams::Grasp(p) => (
                        p.cem_sync_samples,
                        p.cem_sync_topk,
                        p.cem_sync_var_scale,
                        p.cem_sync_var_min,
                    ),
                    _ => return,
                };
                let d = self.d;
                let cfg = CemSyncSettings {
                    iterations: steps,
                    samples,
                    topk,
                    var_scale,
                    var_min,
                    bound,
                };
                self.cem_sync.run(
                    model,
                    &self.s0,
                    &self.goal,
                    &self.weights,
                    &self.states[d..self.horizon * d],
                    &mut self.actions,
                    self.horizon,
                    &cfg,
                    &mut self.rng,
                    self.deadline,
                );
            }
        }
    }

    /// The virtual states s_0..s_T [(T+1) × D].
    pub fn states(&self) -> &[f32] {
        &self.states
    }
}

impl Planner for LiftedPlanner {
    fn step(&mut self) -> Arc<Snapshot> {
        if self.diverged {
            return self.last.clone();
        }
        let started = Instant::now();
        let phase = self.run_iteration();
        let problem = self.check_finite();
        self.time_s += started.elapsed().as_secs_f64();
        if let Some(reason) = problem {
            self.states.copy_from_slice(&self.backup_states);
            self.actions.copy_from_slice(&self.backup_actions);
            self.diverged = true;
            let k = self.iteration;
            return emit::diverged(&mut self.last, k, reason, self.time_s);
        }
        let snap = self.emit(phase);
        self.iteration += 1;
        snap
    }

    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        if params.family() != self.params.family() {
            return Err(PlanError::WrongParams {
                planner: self.params.family(),
                got: params.family(),
            });
        }
        params.validate()?;
        params.check_model(self.model.as_ref())?;
        let penalty_changed = params.trust_penalty() != self.params.trust_penalty();
        if let (PlannerParams::Grasp(old), PlannerParams::Grasp(new)) = (&self.params, &params) {
            if old.state_step != new.state_step {
                // Moments gathered under the other step point the wrong way.
                self.adam_s.reset();
            }
        }
        self.params = params;
        if penalty_changed {
            // The next gradient uses the evaluation kept from this iteration: redo it under the new λ.
            self.evaluate(self.in_force.goal_weight);
        }
        Ok(())
    }

    fn params(&self) -> PlannerParams {
        self.params.clone()
    }

    fn actions(&self) -> &[f32] {
        &self.actions
    }

    fn iteration(&self) -> usize {
        self.iteration
    }

    fn latest(&self) -> Arc<Snapshot> {
        self.last.clone()
    }

    fn warm_start(&self) -> WarmStart {
        WarmStart {
            actions: self.actions.clone(),
            states: Some(self.states.clone()),
            std: None,
        }
    }

    fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }
}

#[cfg(test)]
#[path = "grasp_tests.rs"]
mod tests;
