//! The simulator rollout of the plan being shown, computed off the UI thread: the UI asks for (lane,
//! session, iteration) whenever the shown snapshot changes; a background thread decodes the actions and steps
//! the real simulator through every env step, answering only the newest request per lane (latest wins).
//! Used for the "real simulator rollout" overlay, the execute animation and its success verdict. With a
//! trust model (a calibrated ensemble) it also rolls the plan out with every member and reports the
//! disagreement per step and the trust horizon — on this thread, so the UI never waits for N rollouts.

use std::sync::Arc;

use crossbeam_channel::{unbounded, Receiver, Sender};

use crate::env::{rollout_env, Problem};
use crate::model::trust_model::{PlanTrust, TrustModel};
use crate::model::WorldModel;

/// What to simulate.
pub struct SimRequest {
    /// Lane index.
    pub lane: usize,
    /// Session id.
    pub session: u64,
    /// Iteration of the plan.
    pub iteration: usize,
    /// The problem (start, goal, env).
    pub problem: Problem,
    /// The model (to decode actions).
    pub model: Arc<dyn WorldModel>,
    /// Normalized model actions [T × K].
    pub actions: Vec<f32>,
    /// The calibrated ensemble to assess the plan with (None: no trust horizon).
    pub trust: Option<TrustModel>,
}

/// The simulator's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct SimResult {
    /// Lane index.
    pub lane: usize,
    /// Session id.
    pub session: u64,
    /// Iteration of the plan.
    pub iteration: usize,
    /// Env state after every env step, starting with the start state (5T + 1 entries).
    pub env_states: Vec<Vec<f32>>,
    /// The env's success rule at the final state.
    pub success: bool,
    /// Distance the success rule thresholds, env units.
    pub final_distance: f32,
    /// The ensemble's disagreement and trust horizon for the plan (None without a trust model).
    pub trust: Option<PlanTrust>,
    /// Why it could not run, if it could not.
    pub error: Option<String>,
}

/// Runs one request now.
pub fn simulate(req: &SimRequest) -> SimResult {
    let mut out = SimResult {
        lane: req.lane,
        session: req.session,
        iteration: req.iteration,
        env_states: Vec::new(),
        success: false,
        final_distance: f32::NAN,
        trust: None,
        error: None,
    };
    if !req.actions.iter().all(|a| a.is_finite()) {
        out.error = Some("plan has non-finite actions".into());
        return out;
    }
    out.trust = req
        .trust
        .as_ref()
        .map(|t| t.assess(&req.problem.start, &req.actions));
    let env_actions = req.model.decode_actions(&req.actions);
    match rollout_env(req.problem.env, &req.problem.start, &env_actions) {
        Ok(states) => {
            if let Some(last) = states.last() {
                out.success = req.problem.env.is_success(last, &req.problem.goal);
                out.final_distance = req.problem.env.goal_distance(last, &req.problem.goal);
            }
            out.env_states = states;
        }
        Err(e) => out.error = Some(e.to_string()),
    }
    out
}

/// The background simulator thread.
pub struct SimThread {
    requests: Sender<SimRequest>,
    results: Receiver<SimResult>,
}

impl SimThread {
    /// Starts the thread.
    pub fn spawn() -> std::io::Result<SimThread> {
        let (req_tx, req_rx) = unbounded::<SimRequest>();
        let (res_tx, res_rx) = unbounded();
        std::thread::Builder::new()
            .name("simulator".into())
            .spawn(move || {
                while let Ok(first) = req_rx.recv() {
                    // Keep only the newest request per lane.
                    let mut newest: Vec<SimRequest> = vec![first];
                    for r in req_rx.try_iter() {
                        newest.retain(|n| n.lane != r.lane);
                        newest.push(r);
                    }
                    for r in &newest {
                        let result =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| simulate(r)))
                                .unwrap_or_else(|_| SimResult {
                                    lane: r.lane,
                                    session: r.session,
                                    iteration: r.iteration,
                                    env_states: Vec::new(),
                                    success: false,
                                    final_distance: f32::NAN,
                                    trust: None,
                                    error: Some("the simulator panicked".into()),
                                });
                        if res_tx.send(result).is_err() {
                            return;
                        }
                    }
                }
            })?;
        Ok(SimThread {
            requests: req_tx,
            results: res_rx,
        })
    }

    /// Queues a request.
    pub fn request(&self, req: SimRequest) {
        self.requests.send(req).ok();
    }

    /// Results ready now.
    pub fn results(&self) -> Vec<SimResult> {
        self.results.try_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::EnvKind;
    use crate::model::linear::LinearModel;

    #[test]
    fn bad_plans_report_instead_of_panicking() {
        let model: Arc<dyn WorldModel> = Arc::new(LinearModel::test_system(2, 10));
        let req = SimRequest {
            lane: 0,
            session: 1,
            iteration: 3,
            problem: Problem {
                env: EnvKind::Wall,
                start: vec![10.0, 10.0],
                goal: vec![50.0, 50.0],
                horizon: 2,
                seed: 0,
                reference_actions: None,
            },
            model,
            actions: vec![f32::NAN; 20],
            trust: None,
        };
        let r = simulate(&req);
        assert!(r.error.is_some());
        let t = SimThread::spawn().unwrap();
        t.request(SimRequest {
            actions: vec![0.0; 20],
            ..req
        });
        let t0 = std::time::Instant::now();
        let mut got = Vec::new();
        while got.is_empty() && t0.elapsed().as_secs() < 5 {
            got = t.results();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].iteration, 3);
        // 2 model steps × 5 env steps + the start.
        assert_eq!(got[0].env_states.len(), 11, "{:?}", got[0].error);
    }
}
