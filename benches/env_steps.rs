//! Env-step throughput of the simulators: `cargo bench --no-default-features --bench env_steps`.
//!
//! Prints one line per case: `<env> <case>: <steps> steps in <s> s = <steps/s> env steps/s`. Each env has its own
//! section function below, called from `main`; to add an env, write a `fn <env>_section()` that calls
//! [`report`] for each case and add it to `main`. Run single-threaded on an otherwise idle machine; the first
//! (warm-up) pass of each case is not timed.

use std::hint::black_box;
use std::time::Instant;

use grasp_explorer::env::pusht::{PushT, ScriptedPusher, ACTION_SCALE};
use grasp_explorer::env::Env;

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

// Other envs (PointMaze, Wall): add `fn pointmaze_section()` / `fn wall_section()` here and call them in main.

fn main() {
    pusht_section();
}
