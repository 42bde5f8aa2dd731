//! Cost of the trust horizon: one assessment of a plan by the shipped ensemble (every member rolls the plan
//! out from the start, then d_t and the trust horizon) — what the app's simulator thread does for each shown
//! iteration — at H = 50 with the shipped five-member ensembles; and what the disagreement penalty costs a
//! CEM and a GRASP iteration (the other members' rollouts / predictions and VJPs).
//!
//! Run: `cargo bench --no-default-features --bench trust [-- H]` (default H = 50). Needs the shipped
//! ensembles (assets/models/<env>-ensemble.safetensors, or $GRASP_EXPLORER_MODELS).

use std::sync::Arc;
use std::time::Instant;

use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::trust_model::{load_trust_model, shipped_ensemble_path};
use grasp_explorer::model::WorldModel;
use grasp_explorer::plan::{make_planner, ModelProblem, PlannerKind, PlannerParams};

/// Median seconds per call of `f` over 15 timed runs after 3 warm-up calls.
fn median_s(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut t: Vec<f64> = (0..15)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Median seconds per planner iteration of `params` with `model` (a CEM iteration per timed run, else 30).
fn per_iteration(
    params: &PlannerParams,
    problem: &ModelProblem,
    model: Arc<dyn WorldModel>,
) -> f64 {
    let n = if matches!(params, PlannerParams::Cem(_)) {
        1
    } else {
        30
    };
    let mut p = make_planner(params, problem, model, 0).expect("planner");
    median_s(|| {
        for _ in 0..n {
            p.step();
        }
    }) / n as f64
}

fn main() {
    let horizon: usize = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map_or(50, |h| h.parse().expect("H must be a number"));
    println!("trust horizon costs at H = {horizon} (median of 15 runs)");
    for env in [EnvKind::Pusht, EnvKind::Pointmaze, EnvKind::Wall] {
        let path = shipped_ensemble_path(env);
        let trust = match load_trust_model(&path, env) {
            Ok(Some(t)) => t,
            other => {
                println!(
                    "{env}: no shipped ensemble at {} ({other:?})",
                    path.display()
                );
                continue;
            }
        };
        let problem = Problem::generate(env, horizon, 0).expect("problem");
        let ens: Arc<dyn WorldModel> = Arc::new((*trust.ensemble).clone());
        let single: Arc<dyn WorldModel> = Arc::new(trust.ensemble.designated_model().clone());
        let mp = ModelProblem::from_problem(&problem, ens.as_ref()).expect("model problem");
        let actions: Vec<f32> = (0..horizon * ens.action_dim())
            .map(|i| (i as f32 * 0.37).sin())
            .collect();
        let assess = median_s(|| {
            std::hint::black_box(trust.assess(&problem.start, &actions));
        });
        print!(
            "{env}: {} members, one assessment {:.2} ms",
            trust.ensemble.members().len(),
            assess * 1e3
        );
        for kind in [PlannerKind::Cem, PlannerKind::Grasp] {
            let plain = kind.default_params();
            let mut penalized = plain.clone();
            match &mut penalized {
                PlannerParams::Cem(p) => p.trust_penalty = 1.0,
                PlannerParams::Grasp(p) => p.trust_penalty = 1.0,
                _ => unreachable!(),
            }
            let a = per_iteration(&plain, &mp, single.clone());
            let b = per_iteration(&penalized, &mp, ens.clone());
            print!(
                "; {kind} iteration {:.2} ms, with the penalty {:.2} ms ({:.1}×)",
                a * 1e3,
                b * 1e3,
                b / a
            );
        }
        println!();
    }
}
