//! Env-step throughput of the simulators: `cargo bench --no-default-features --bench env_steps`.
//!
//! Prints one line per case: `<env> <case>: <steps> steps in <s> s = <steps/s> env steps/s`. Each env has its own
//! section function below, called from `main`; to add an env, write a `fn <env>_section()` that calls
//! [`report`] for each case and add it to `main`. Run single-threaded on an otherwise idle machine; the first
//! (warm-up) pass of each case is not timed.

use std::hint::black_box;
use std::time::Instant;

use grasp_explorer::env::pointmaze::PointMaze;
use grasp_explorer::env::policies::{Policy, PolicyKind};
use grasp_explorer::env::pusht::{PushT, ScriptedPusher, ACTION_SCALE};
use grasp_explorer::env::wall::Wall;
use grasp_explorer::env::{Env, EnvKind, Problem};

/// Times `steps` calls of `step_once` after a warm-up of `steps / 10`, then prints and returns env steps/s.
fn report(env_name: &str, case: &str, steps: usize, mut step_once: impl FnMut(usize)) -> f64 {
    for i in 0..steps / 10 {
        step_once(i);
    }
    let t0 = Instant::now();
    for i in 0..steps {
        step_once(i);
    }
    let secs = t0.elapsed().as_secs_f64();
    let rate = steps as f64 / secs;
    println!("{env_name} {case}: {steps} steps in {secs:.3} s = {rate:.0} env steps/s");
    rate
}

// ---------------------------------------------------------------------------------------------------------------
// Push-T (rapier2d, 10 substeps of 0.01 s per env step)
// ---------------------------------------------------------------------------------------------------------------

fn pusht_section() {
    // Free motion: the agent wanders on a circle of targets away from the block (broad phase only, no contact).
    let mut env = PushT::new();
    env.set_state(&[100.0, 100.0, 400.0, 400.0, 0.0, 0.0, 0.0])
        .expect("valid state");
    report("pusht", "free motion", 20_000, |i| {
        let s = env.state();
        let phi = i as f32 * 0.3;
        let t = [120.0 + 60.0 * phi.cos(), 120.0 + 60.0 * phi.sin()];
        env.step(black_box([
            (t[0] - s[0]) / ACTION_SCALE,
            (t[1] - s[1]) / ACTION_SCALE,
        ]));
    });

    // Contact-rich: the scripted pusher, reset every 300 steps (includes policy and reset cost).
    let mut env = PushT::new();
    let mut pusher = ScriptedPusher::new(0);
    let mut state = env.reset(0);
    report("pusht", "scripted pusher", 20_000, |i| {
        if i % 300 == 0 {
            state = env.reset(i as u64);
            pusher = ScriptedPusher::new(i as u64);
        }
        let a = pusher.act(&state);
        env.step(black_box(a));
        state = env.state();
    });

    // set_state + one step, as in model-vs-sim rollouts that restart often.
    let mut env = PushT::new();
    let start = env.reset(1);
    report("pusht", "set_state + step", 20_000, |_| {
        env.set_state(black_box(&start)).expect("valid state");
        env.step([0.1, -0.1]);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// PointMaze (5 implicit-Euler substeps with exact swept disc-vs-box collision per env step)
// ---------------------------------------------------------------------------------------------------------------

fn pointmaze_section() {
    // Free motion in the middle of the connector: small oscillating commands, no wall contact.
    let mut env = PointMaze::new();
    env.set_state(&[1.8, 2.8, 0.0, 0.0]).expect("valid state");
    report("pointmaze", "free motion", 200_000, |i| {
        let phi = i as f32 * 0.2;
        env.step(black_box([0.05 * phi.cos(), 0.05 * phi.sin()]));
    });

    // Wall contact every step: full thrust into the left arm's outer wall, sliding up and down it.
    let mut env = PointMaze::new();
    env.set_state(&[0.45, 1.8, 0.0, 0.0]).expect("valid state");
    report("pointmaze", "pressed against a wall", 200_000, |i| {
        let up = if (i / 50) % 2 == 0 { 1.0 } else { -1.0 };
        env.step(black_box([-1.0, up]));
    });

    // Smooth random actions from random problem starts (reset every 300 steps; includes policy cost).
    let mut env = PointMaze::new();
    let mut policy = Policy::new(PolicyKind::Random, EnvKind::Pointmaze, &[], 0);
    report("pointmaze", "random policy", 200_000, |i| {
        if i % 300 == 0 {
            env.reset(i as u64);
        }
        let a = policy.act(&[]);
        env.step(black_box(a));
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Wall (one line-crossing collision test per env step)
// ---------------------------------------------------------------------------------------------------------------

fn wall_section() {
    // Smooth random actions: frequent border and wall hits.
    let mut env = Wall::new();
    let mut policy = Policy::new(PolicyKind::Random, EnvKind::Wall, &[], 0);
    report("wall", "random policy", 1_000_000, |i| {
        if i % 300 == 0 {
            env.reset(i as u64);
        }
        let a = policy.act(&[]);
        env.step(black_box(a));
    });

    // The door-seeking scripted policy from problem starts (includes policy cost).
    let problem = Problem::generate(EnvKind::Wall, 10, 0).expect("problem");
    let mut env = Wall::new();
    env.set_state(&problem.start).expect("valid state");
    let mut policy = Policy::new(PolicyKind::Scripted, EnvKind::Wall, &problem.goal, 0);
    report("wall", "scripted seeker", 1_000_000, |i| {
        if i % 300 == 0 {
            env.set_state(&problem.start).expect("valid state");
        }
        let a = policy.act(&env.state());
        env.step(black_box(a));
    });
}

fn main() {
    pusht_section();
    pointmaze_section();
    wall_section();
}
