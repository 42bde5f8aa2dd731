//! Tests of online fine-tuning: collected transitions are the simulator's, problems stay off the evaluation
//! seeds, rounds are deterministic by seed.

use super::*;
use crate::env::{EnvKind, CHUNK_ACTION_DIM};
use crate::model::data::{generate, DataConfig, Source};
use crate::model::info::Activation;
use crate::model::mlp::untrained;
use crate::plan::{GdParams, PlannerKind};

fn gd() -> PlannerParams {
    PlannerParams::Gd(GdParams {
        adam: true,
        lr: 0.3,
        ..GdParams::default()
    })
}

/// The transitions an online round adds are what the simulator does under the planned actions: replaying
/// the episode's actions from its first state reproduces every state bit for bit, and the actions are the
/// planner's plan decoded.
#[test]
fn online_transitions_are_simulator_transitions_of_the_plan() {
    for env in [EnvKind::Wall, EnvKind::Pusht] {
        let model = untrained(env, &[16], Activation::Silu, 1).unwrap();
        let shared: Arc<dyn WorldModel> = Arc::new(model.clone());
        let mut rng = rng_for(3, "t");
        let p = draw_problem(env, GoalSource::Data, 4, 0, &mut rng).unwrap();
        assert!(p.seed >= FINETUNE_SEED_BASE);
        let r = plan_and_execute(&p, shared, &gd(), 5, 7).unwrap();
        let ep = &r.episode;
        assert_eq!(ep.source, Source::Online);
        assert_eq!(ep.len(), 4);
        let ed = env.state_dim();
        assert_eq!(&ep.states[..ed], &p.start[..]);
        let mut sim = env.make();
        sim.set_state(&p.start).unwrap();
        for (t, chunk) in ep.actions.chunks_exact(CHUNK_ACTION_DIM).enumerate() {
            let s = crate::env::step_chunk(sim.as_mut(), chunk);
            assert_eq!(
                &s[..],
                &ep.states[(t + 1) * ed..(t + 2) * ed],
                "{env} step {t}"
            );
        }
        assert_eq!(r.model_states.len(), 5);
        // The plan is the planner's: re-planning with the same seed gives the same actions.
        let again = plan_and_execute(&p, Arc::new(model), &gd(), 5, 7).unwrap();
        assert_eq!(again.episode.actions, ep.actions);
    }
}

/// Benchmark-sampler goals use the third seed range, never evaluation or tuning seeds.
#[test]
fn problem_goals_use_the_finetune_seed_range() {
    let mut rng = rng_for(0, "t");
    for i in 0..3 {
        let p = draw_problem(EnvKind::Wall, GoalSource::Problems, 10, i, &mut rng).unwrap();
        assert_eq!(p.seed, FINETUNE_SEED_BASE + i);
        assert_eq!(
            p,
            crate::env::Problem::generate(EnvKind::Wall, 10, p.seed).unwrap()
        );
    }
    const { assert!(FINETUNE_SEED_BASE > crate::bench::protocol::TUNING_SEED_BASE + (1 << 41)) };
}

fn tiny_run(seed: u64) -> (MlpModel, Vec<RoundStats>) {
    let env = EnvKind::Wall;
    let model = untrained(env, &[16], Activation::Silu, 2).unwrap();
    let old = generate(
        env,
        &DataConfig {
            samples: 60,
            episode_len: 6,
            seed: 1,
            threads: 1,
            directed_frac: 0.0,
        },
        &|_| {},
    );
    let cfg = FinetuneConfig {
        planner: gd(),
        plan_iters: 3,
        horizon: 3,
        goals: GoalSource::Data,
        rounds: 2,
        problems: 10,
        epochs: 1,
        old_frac: 0.5,
        train: TrainConfig {
            batch: 8,
            rollout_steps: 2,
            ..TrainConfig::default()
        },
        seed,
    };
    let mut planned = 0;
    let out = finetune(model, &old[..8], &old[8..], &cfg, &mut |e| {
        if let FinetuneEvent::Planned { .. } = e {
            planned += 1;
        }
    })
    .unwrap();
    assert_eq!(planned, 20);
    out
}

/// Rounds run end to end, report their statistics and are deterministic by seed.
#[test]
fn finetune_rounds_are_deterministic() {
    let (a, sa) = tiny_run(4);
    let (b, sb) = tiny_run(4);
    assert_eq!(sa, sb);
    assert_eq!(sa.len(), 2);
    assert_eq!(sa[1].online_transitions, 2 * 10 * 3);
    assert!(sa[1].train_transitions > 18 * 3);
    for (x, y) in a.layers().iter().zip(b.layers()) {
        assert_eq!(x.weight, y.weight);
    }
    let bad = FinetuneConfig {
        rounds: 0,
        planner: PlannerKind::Gd.default_params(),
        plan_iters: 1,
        horizon: 1,
        goals: GoalSource::Data,
        problems: 1,
        epochs: 1,
        old_frac: 0.5,
        train: TrainConfig::default(),
        seed: 0,
    };
    assert!(bad.validate().is_err());
}
