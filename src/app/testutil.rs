//! Test helpers shared by the app's unit tests: synthetic snapshots and a toy planner on the analytic
//! linear model that can be told to panic or diverge at a given iteration.

use std::sync::Arc;

use crate::env::{EnvKind, Problem};
use crate::model::linear::LinearModel;
use crate::model::WorldModel;
use crate::plan::{
    GraspParams, InForce, LossTerms, Phase, PlanError, Planner, PlannerKind, PlannerParams,
    Snapshot, Status,
};

use super::worker::{RunSpec, Session, SessionBuilder, SessionInfo};

/// A synthetic snapshot with `states[t] = s_0 + t/T (goal − s_0)` style contents (D = `d`, K = 2).
pub fn snapshot(iteration: usize, phase: Phase, horizon: usize, d: usize) -> Snapshot {
    let k = 2;
    let states: Vec<f32> = (0..=horizon)
        .flat_map(|t| (0..d).map(move |j| t as f32 / horizon as f32 + j as f32))
        .collect();
    Snapshot {
        iteration,
        phase,
        horizon,
        state_dim: d,
        action_dim: k,
        predictions: states[d..].to_vec(),
        rollout: states.clone(),
        states,
        actions: vec![0.0; horizon * k],
        residuals: vec![0.1; horizon],
        rollout_iteration: iteration,
        in_force: InForce::default(),
        loss: LossTerms {
            dynamics: 1.0 / (iteration + 1) as f32,
            goal: 1.0,
            terminal: 1.0,
            ..LossTerms::default()
        },
        params: PlannerParams::Grasp(GraspParams::default()),
        planner_time_s: iteration as f64 * 1e-3,
        status: Status::Running,
    }
}

/// A planner that moves its actions toward zero and can panic or diverge on cue.
pub struct ToyPlanner {
    iteration: usize,
    horizon: usize,
    actions: Vec<f32>,
    params: PlannerParams,
    /// Panic when this iteration is reached.
    pub panic_at: Option<usize>,
    /// Report divergence from this iteration on.
    pub diverge_at: Option<usize>,
}

impl Planner for ToyPlanner {
    fn step(&mut self) -> Arc<Snapshot> {
        if self.panic_at == Some(self.iteration) {
            panic!("toy planner exploded at {}", self.iteration);
        }
        let mut s = snapshot(self.iteration, Phase::Stochastic, self.horizon, 2);
        s.params = self.params.clone();
        if self.diverge_at.is_some_and(|d| self.iteration >= d) {
            s.status = Status::Diverged {
                iteration: self.iteration,
                reason: "NaN in toy".into(),
            };
            return Arc::new(s);
        }
        for a in &mut self.actions {
            *a *= 0.5;
        }
        self.iteration += 1;
        Arc::new(s)
    }
    fn set_params(&mut self, params: PlannerParams) -> Result<(), PlanError> {
        params.validate()?;
        self.params = params;
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
        Arc::new(snapshot(self.iteration, Phase::Stochastic, self.horizon, 2))
    }
    fn warm_start(&self) -> crate::plan::WarmStart {
        crate::plan::WarmStart {
            actions: self.actions.clone(),
            states: None,
            std: None,
        }
    }
}

/// A builder of toy sessions; `seed` 666 panics at iteration 3, seed 777 diverges at iteration 2, horizon 0
/// fails to build.
pub fn toy_builder() -> SessionBuilder {
    Arc::new(|spec: &RunSpec| {
        if spec.horizon == 0 {
            return Err("horizon must be >= 1".to_string());
        }
        let model: Arc<dyn WorldModel> = Arc::new(LinearModel::test_system(2, 2));
        let params = spec
            .params
            .clone()
            .unwrap_or_else(|| PlannerKind::Grasp.default_params());
        let problem = Problem {
            env: EnvKind::Wall,
            start: vec![10.0, 10.0],
            goal: vec![50.0, 50.0],
            horizon: spec.horizon,
            seed: spec.seed,
            reference_actions: None,
        };
        Ok(Session {
            info: SessionInfo {
                id: 0,
                spec: spec.clone(),
                problem,
                model,
                params: params.clone(),
                trust: Default::default(),
            },
            planner: Box::new(ToyPlanner {
                iteration: 0,
                horizon: spec.horizon,
                actions: vec![1.0; spec.horizon * 2],
                params,
                panic_at: (spec.seed == 666).then_some(3),
                diverge_at: (spec.seed == 777).then_some(2),
            }),
        })
    })
}

/// A builder of real sessions on the Wall env with an analytic linear model (D = 2, K = the env chunk's
/// action size, B scaled so a few steps cross the room): open loop or, with `spec.mpc`, a closed-loop
/// episode — the app's own session builder ([`super::session::build_with_model`]) with a toy model.
pub fn linear_wall_builder() -> SessionBuilder {
    Arc::new(|spec: &RunSpec| {
        let (d, k) = (2, crate::env::CHUNK_ACTION_DIM);
        let mut a = vec![0.0; d * d];
        a[0] = 1.0;
        a[3] = 1.0;
        let mut b = vec![0.0; d * k];
        for j in 0..k {
            b[(j % 2) * k + j] = 2.0;
        }
        let model: Arc<dyn WorldModel> = Arc::new(LinearModel { d, k, a, b });
        let problem = Problem {
            env: EnvKind::Wall,
            start: vec![12.0, 20.0],
            goal: vec![20.0, 40.0],
            horizon: spec.horizon,
            seed: spec.seed,
            reference_actions: None,
        };
        let spec = RunSpec {
            problem: Some(problem),
            ..spec.clone()
        };
        super::session::build_with_model(&spec, model)
    })
}

/// A windowless app with one lane running `spec` through `builder`: workers → lanes → history → timeline,
/// driven by key presses (the data path the app's headless tests exercise).
pub fn headless_app(builder: SessionBuilder, spec: RunSpec) -> bevy::prelude::App {
    use bevy::prelude::*;

    use super::commands::commands_plugin;
    use super::history::HistoryConfig;
    use super::lanes::{optimizer_commands, pump_workers, Lane, Lanes};
    use super::timeline::{timeline_plugin, TimelineSystems};

    let lanes = Lanes {
        lanes: vec![Lane::spawn(builder.clone(), spec, HistoryConfig::default())],
        builder,
        history: HistoryConfig::default(),
        compare_planner: PlannerKind::Cem,
    };
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .init_resource::<ButtonInput<KeyCode>>()
        .insert_resource(lanes);
    commands_plugin(&mut app);
    timeline_plugin(&mut app);
    app.add_systems(
        Update,
        (pump_workers, optimizer_commands)
            .chain()
            .before(TimelineSystems),
    );
    app
}

/// Presses and releases `key` in a headless app (two updates). Without InputPlugin nothing clears
/// `just_pressed`: this does it as the input system would.
pub fn press(app: &mut bevy::prelude::App, key: bevy::prelude::KeyCode) {
    use bevy::prelude::*;
    let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release_all();
    keys.clear();
    keys.press(key);
    app.update();
    let mut keys = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
    keys.release(key);
    keys.clear();
    app.update();
}
