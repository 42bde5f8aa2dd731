//! How well the problem's own reference actions (the scripted pusher's, replayed to make the goal) reach the
//! goal under the shipped Push-T world model: an upper bound on what any planner can find in the model.
//!
//! `cargo run --release --no-default-features --example reference_under_model -- [HORIZON] [SEEDS]`
//! (defaults 10 and 10). Prints per seed the start→goal distance, how far the block moves, the model's
//! terminal error of the reference plan (model units, the planners' `model_terminal_error`) and that
//! terminal state's distance to the goal in env units (px over agent and block, as the success rule).

use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::model::{load_for_env, rollout::rollout_final};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let horizon: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let seeds: u64 = args.next().map_or(Ok(10), |a| a.parse())?;
    let env = EnvKind::Pusht;
    let model = load_for_env(env, None)?;
    println!("seed  start→goal px  block moved px/rad  model terminal err  model end→goal px");
    for seed in 0..seeds {
        let p = Problem::generate(env, horizon, seed)?;
        let Some(reference) = p.reference_actions.as_ref() else {
            anyhow::bail!("problem {seed} has no reference actions");
        };
        let actions = model.encode_actions(reference);
        let s0 = model.encode_state(&p.start);
        let end = rollout_final(model.as_ref(), &s0, &actions, 1, horizon);
        let goal = model.encode_state(&p.goal);
        let err = end
            .iter()
            .zip(&goal)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt();
        let end_env = model.decode_state(&end);
        let moved = (p.goal[2] - p.start[2]).hypot(p.goal[3] - p.start[3]);
        let turn = (p.goal[4] - p.start[4] + std::f32::consts::PI)
            .rem_euclid(std::f32::consts::TAU)
            - std::f32::consts::PI;
        println!(
            "{seed:>4}  {:>13.0}  {:>10.0} / {:>5.2}  {:>18.3}  {:>17.1}",
            env.goal_distance(&p.start, &p.goal),
            moved,
            turn.abs(),
            err,
            env.goal_distance(&end_env, &p.goal)
        );
    }
    Ok(())
}
