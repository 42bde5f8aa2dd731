//! The real [`SessionBuilder`]: loads (and caches) the shipped world model for the env, generates or checks
//! the problem, and builds the chosen planner — all on the planner thread, so a slow model load never
//! stalls the window. Every failure is one line for the status bar.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::env::{EnvKind, Problem};
use crate::model::trust_model::{load_model_with_trust, TrustLookup};
use crate::model::WorldModel;
use crate::plan::mpc::MpcEpisode;
use crate::plan::mpc_planner::ClosedLoopPlanner;
use crate::plan::{make_planner, ModelProblem, Parallel, Planner};

use super::worker::{RunSpec, Session, SessionBuilder, SessionInfo};

/// The worker pool every app planner is lent (set once by the CLI's `--threads`; default all cores).
static PLANNER_POOL: OnceLock<Parallel> = OnceLock::new();

/// Sets the app planners' pool; only the first call has an effect. Without a call, the first session
/// starts a pool over all cores (one thread if that fails).
pub fn set_planner_pool(parallel: Parallel) {
    let _ = PLANNER_POOL.set(parallel);
}

fn planner_pool() -> &'static Parallel {
    PLANNER_POOL.get_or_init(|| Parallel::new(Parallel::available_cores()).unwrap_or_default())
}

/// Generates the problem for (env, horizon, seed), as `plan` and `bench` do.
pub fn generate_problem(env: EnvKind, horizon: usize, seed: u64) -> Result<Problem, String> {
    Problem::generate(env, horizon, seed).map_err(|e| e.to_string())
}

/// Checks a posed problem (dragged start/goal) against the simulator's notion of a valid state.
pub fn check_problem(problem: &Problem) -> Result<(), String> {
    problem
        .validate()
        .map_err(|e| format!("cannot plan this pose: {e}"))
}

/// A builder that loads models (and the shipped ensemble that says how far their plans are trusted) once
/// per env and reuses them across sessions.
pub fn model_builder() -> SessionBuilder {
    type Cached = (Arc<dyn WorldModel>, TrustLookup);
    let cache: Mutex<HashMap<EnvKind, Cached>> = Mutex::new(HashMap::new());
    Arc::new(move |spec: &RunSpec| {
        let (model, trust) = {
            let mut cache = cache
                .lock()
                .map_err(|_| "model cache poisoned".to_string())?;
            match cache.get(&spec.env) {
                Some(m) => m.clone(),
                None => {
                    let (m, trust) =
                        load_model_with_trust(spec.env, None).map_err(|e| e.to_string())?;
                    let m: Arc<dyn WorldModel> = Arc::new(m);
                    cache.insert(spec.env, (m.clone(), trust.clone()));
                    (m, trust)
                }
            }
        };
        let mut session = build_with_model(spec, model)?;
        session.info.trust = trust;
        Ok(session)
    })
}

/// Builds a session for `spec` with a given model (and no trust model): an open-loop planner, or (with
/// `spec.mpc`) a [`ClosedLoopPlanner`] over an [`MpcEpisode`] that starts from the problem's start.
pub fn build_with_model(spec: &RunSpec, model: Arc<dyn WorldModel>) -> Result<Session, String> {
    let problem = match &spec.problem {
        Some(p) => {
            // A posed problem has no reference actions (they led to the generated goal).
            let p = Problem {
                horizon: spec.horizon,
                reference_actions: None,
                ..p.clone()
            };
            check_problem(&p)?;
            p
        }
        None => generate_problem(spec.env, spec.horizon, spec.seed)?,
    };
    let params = spec.start_params();
    params.validate().map_err(|e| e.to_string())?;
    let mut planner: Box<dyn Planner> = match &spec.mpc {
        Some(mpc) => {
            let episode = MpcEpisode::new(&problem, model.clone(), &params, spec.seed, mpc)
                .map_err(|e| e.to_string())?;
            Box::new(ClosedLoopPlanner::new(episode, problem.horizon))
        }
        None => {
            let mp =
                ModelProblem::from_problem(&problem, model.as_ref()).map_err(|e| e.to_string())?;
            make_planner(&params, &mp, model.clone(), spec.seed).map_err(|e| e.to_string())?
        }
    };
    planner.set_parallel(planner_pool());
    Ok(Session {
        info: SessionInfo {
            id: 0,
            spec: spec.clone(),
            problem,
            model,
            params,
            trust: TrustLookup::default(),
        },
        planner,
    })
}
