//! The GD baseline (spec §B.2, DINO-WM `planning/gd.py`): gradient descent on the terminal loss
//! mean_d (rollout_T(a) − g)² by backprop through the serial rollout, plain SGD (lr 1) with Gaussian action
//! noise (σ 0.003) after each step as in DINO-WM, or Adam. Actions start N(0, init_std²) ("randn" init).
//! Like GRASP, each iteration ends with the serial rollout at the new actions; its tape gives the next
//! gradient, so a snapshot's rollout and loss belong to the actions it shows, at no extra model calls.

use std::sync::Arc;
use std::time::Instant;

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::adam::Adam;
use super::emit::{self, Parts};
use super::serial::{all_finite, clamp_abs, wsq_dist, SerialRollout};
use super::{
    GdParams, InForce, LossTerms, ModelProblem, Phase, PlanError, Planner, PlannerParams, Snapshot,
    WarmStart,
};
use crate::model::WorldModel;
use crate::util::{rng_for, Rng};

/// The GD planner. Build it with [`super::make_planner`].
pub struct GdPlanner {
    model: Arc<dyn WorldModel>,
    params: GdParams,
    s0: Vec<f32>,
    goal: Vec<f32>,
    weights: Vec<f32>,
    horizon: usize,
    actions: Vec<f32>,
    backup: Vec<f32>,
    grad: Vec<f32>,
    grad_final: Vec<f32>,
    adam: Adam,
    serial: SerialRollout,
    residuals: Vec<f32>,
    loss: LossTerms,
    rng: Rng,
    iteration: usize,
    time_s: f64,
    diverged: bool,
    last: Arc<Snapshot>,
}

impl GdPlanner {
    /// GD from N(0, init_std²) actions.
    pub fn new(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: GdParams,
        seed: u64,
    ) -> Result<Self, PlanError> {
        Self::with_warm(problem, model, params, seed, None)
    }

    /// [`GdPlanner::new`] from `warm`'s actions (clamped to the bound) instead of the random init; the RNG
    /// stream for the action noise is the same.
    pub fn with_warm(
        problem: &ModelProblem,
        model: Arc<dyn WorldModel>,
        params: GdParams,
        seed: u64,
        warm: Option<&WarmStart>,
    ) -> Result<Self, PlanError> {
        PlannerParams::Gd(params.clone()).validate()?;
        problem.check(model.as_ref())?;
        let plan = problem.horizon * model.action_dim();
        let mut rng = rng_for(seed, "gd");
        let mut actions: Vec<f32> = (0..plan)
            .map(|_| params.init_std * rng.sample::<f32, _>(StandardNormal))
            .collect();
        if let Some(w) = warm {
            w.check(problem.horizon, model.state_dim(), model.action_dim())?;
            actions.copy_from_slice(&w.actions);
        }
        clamp_abs(&mut actions, params.action_bound);
        if actions.iter().any(|a| !a.is_finite()) {
            return Err(PlanError::InvalidParam {
                name: "init_std",
                value: params.init_std.to_string(),
                expected:
                    "is so large that the initial actions overflow (lower --init-std, e.g. 1)",
            });
        }
        let mut me = GdPlanner {
            s0: problem.start.clone(),
            goal: problem.goal.clone(),
            weights: problem.weights(),
            horizon: problem.horizon,
            backup: actions.clone(),
            actions,
            grad: vec![0.0; plan],
            grad_final: vec![0.0; model.state_dim()],
            adam: Adam::new(plan),
            serial: SerialRollout::default(),
            residuals: vec![0.0; problem.horizon],
            loss: LossTerms::default(),
            rng,
            iteration: 0,
            time_s: 0.0,
            diverged: false,
            last: Arc::new(Snapshot::empty(PlannerParams::Gd(params.clone()))),
            model,
            params,
        };
        me.evaluate();
        me.emit();
        Ok(me)
    }

    /// Serial rollout at the current actions (tape kept for the next gradient) and the loss terms.
    fn evaluate(&mut self) {
        self.serial.run(
            self.model.as_ref(),
            &self.s0,
            &self.actions,
            1,
            self.horizon,
        );
        let d = self.model.state_dim();
        let traj = self.serial.states();
        let goal_sum: f32 = (1..=self.horizon)
            .map(|t| wsq_dist(&traj[t * d..(t + 1) * d], &self.goal, &self.weights))
            .sum();
        let term = wsq_dist(self.serial.final_states(), &self.goal, &self.weights);
        self.loss = LossTerms {
            dynamics: 0.0,
            goal: goal_sum / d as f32,
            terminal: term.sqrt(),
            total: term / d as f32,
        };
    }

    fn emit(&mut self) -> Arc<Snapshot> {
        let (d, k) = (self.model.state_dim(), self.model.action_dim());
        let traj = self.serial.states();
        emit::emit(
            &mut self.last,
            Parts {
                iteration: self.iteration,
                phase: Phase::Gd,
                horizon: self.horizon,
                state_dim: d,
                action_dim: k,
                states: traj,
                actions: &self.actions,
                predictions: &traj[d..],
                residuals: &self.residuals,
                rollout: traj,
                rollout_iteration: self.iteration,
                loss: self.loss,
                in_force: InForce {
                    noise: self.params.action_noise,
                    goal_weight: 0.0,
                },
                params: &PlannerParams::Gd(self.params.clone()),
                planner_time_s: self.time_s,
            },
        )
    }

    fn run_iteration(&mut self) -> Option<String> {
        let d = self.model.state_dim();
        let c = 2.0 / d as f32;
        for (((g, s), t), w) in self
            .grad_final
            .iter_mut()
            .zip(self.serial.final_states())
            .zip(&self.goal)
            .zip(&self.weights)
        {
            *g = c * w * (s - t);
        }
        self.serial
            .vjp(self.model.as_ref(), &self.grad_final, &mut self.grad);
        self.backup.copy_from_slice(&self.actions);
        let p = &self.params;
        if p.adam {
            self.adam.step(&mut self.actions, &self.grad, p.lr);
        } else {
            for (a, g) in self.actions.iter_mut().zip(&self.grad) {
                *a -= p.lr * g;
            }
        }
        if p.action_noise > 0.0 {
            for a in self.actions.iter_mut() {
                let z: f32 = self.rng.sample(StandardNormal);
                *a += p.action_noise * z;
            }
        }
        clamp_abs(&mut self.actions, p.action_bound);
        self.evaluate();
        if !all_finite(&self.actions) {
            Some("non-finite actions".into())
        } else if !(self.loss.terminal.is_finite() && self.loss.goal.is_finite()) {
            Some(format!(
                "non-finite loss (terminal {}, goal {})",
                self.loss.terminal, self.loss.goal
            ))
        } else {
            None
        }
    }
}

impl Planner for GdPlanner {
    fn step(&mut self) -> Arc<Snapshot> {
        if self.diverged {
            return self.last.clone();
        }
        let started = Instant::now();
        let bad = self.run_iteration();
        self.time_s += started.elapsed().as_secs_f64();
        if let Some(reason) = bad {
            self.actions.copy_from_slice(&self.backup);
            self.diverged = true;
            return emit::diverged(&mut self.last, self.iteration, reason, self.time_s);
        }
        let snap = self.emit();
        self.iteration += 1;
        snap
    }

    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        match params {
            PlannerParams::Gd(p) => {
                PlannerParams::Gd(p.clone()).validate()?;
                if p.adam != self.params.adam {
                    self.adam.reset();
                }
                self.params = p;
                Ok(())
            }
            other => Err(PlanError::WrongParams {
                planner: "gd",
                got: other.family(),
            }),
        }
    }

    fn params(&self) -> PlannerParams {
        PlannerParams::Gd(self.params.clone())
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
            states: None,
            std: None,
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
    fn gd_solves_the_linear_system_with_sgd_and_with_adam() {
        for (params, iters) in [
            (GdParams::default(), 1500),
            (
                GdParams {
                    adam: true,
                    lr: 0.1,
                    ..Default::default()
                },
                500,
            ),
        ] {
            let (model, problem) = linear_problem(5);
            let params = PlannerParams::Gd(params);
            let mut p = make_planner(&params, &problem, model, 3).unwrap();
            let first = p.latest().loss.terminal;
            let mut last = p.step();
            for _ in 0..iters {
                last = p.step();
            }
            assert_eq!(last.status, Status::Running);
            assert!(
                last.loss.terminal < 0.05,
                "{params:?}: {first} -> {}",
                last.loss.terminal
            );
        }
    }

    #[test]
    fn a_huge_rate_diverges_cleanly() {
        let (model, problem) = linear_problem(5);
        let params = PlannerParams::Gd(GdParams {
            lr: 1e35,
            action_bound: 0.0,
            ..Default::default()
        });
        let mut p = make_planner(&params, &problem, model, 3).unwrap();
        let s = (0..10).map(|_| p.step()).last().unwrap();
        let Status::Diverged { iteration, .. } = s.status else {
            panic!("{:?}", s.status)
        };
        assert!(iteration < 10);
        assert!(p.actions().iter().all(|v| v.is_finite()));
    }
}
