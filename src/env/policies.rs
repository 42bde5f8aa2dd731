//! Simple closed-loop policies that drive any env from the command line (`grasp-explorer sim`) and in tests:
//! smooth random actions, and per-env "scripted" ones — Push-T's contact-rich [`ScriptedPusher`], and noisy
//! goal seekers for the mazes that route through the U's connector (PointMaze) or the door (Wall).
//! All are deterministic in their seed and the states they see.

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::pusht::ScriptedPusher;
use super::wall::WallLayout;
use super::EnvKind;
use crate::util::{rng_for, Rng};

/// Which policy family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Smooth random actions (an AR(1) process per component).
    Random,
    /// Push-T: the scripted pusher; PointMaze and Wall: a noisy goal seeker.
    Scripted,
}

impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "random" => Ok(PolicyKind::Random),
            "scripted" => Ok(PolicyKind::Scripted),
            _ => Err(format!("unknown policy '{s}': expected random or scripted")),
        }
    }
}

/// Correlation of consecutive random actions (AR(1) coefficient).
pub const RANDOM_RHO: f32 = 0.8;

/// Stationary standard deviation of random actions per env (env action units): Push-T 0.3 (a 30-px target
/// offset, about 1.5× the dataset's action std), PointMaze 0.8 (motor command, clipped to ±1 by the env), Wall
/// 1.0 (a 2-px step).
pub fn random_action_std(env: EnvKind) -> f32 {
    match env {
        EnvKind::Pusht => 0.3,
        EnvKind::Pointmaze => 0.8,
        EnvKind::Wall => 1.0,
    }
}

/// A policy instance.
pub enum Policy {
    /// Smooth random actions: a ← ρ·a + √(1 − ρ²)·σ·ε.
    Random { rng: Rng, std: f32, last: [f32; 2] },
    /// Push-T's scripted pusher.
    Pusher(Box<ScriptedPusher>),
    /// PointMaze goal seeker.
    Maze { rng: Rng, goal: [f32; 2] },
    /// Wall goal seeker.
    Wall { rng: Rng, goal: [f32; 2] },
}

/// Noise std of the maze seekers' actions (env units).
pub const SEEKER_NOISE: f32 = 0.1;

impl Policy {
    /// A policy of `kind` for `env` aiming at `goal` (used by the seekers only), seeded by `seed`.
    pub fn new(kind: PolicyKind, env: EnvKind, goal: &[f32], seed: u64) -> Policy {
        let goal_xy = [
            goal.first().copied().unwrap_or(0.0),
            goal.get(1).copied().unwrap_or(0.0),
        ];
        match (kind, env) {
            (PolicyKind::Random, _) => Policy::Random {
                rng: rng_for(seed, "sim-random-policy"),
                std: random_action_std(env),
                last: [0.0; 2],
            },
            (PolicyKind::Scripted, EnvKind::Pusht) => {
                Policy::Pusher(Box::new(ScriptedPusher::new(seed)))
            }
            (PolicyKind::Scripted, EnvKind::Pointmaze) => Policy::Maze {
                rng: rng_for(seed, "sim-maze-seeker"),
                goal: goal_xy,
            },
            (PolicyKind::Scripted, EnvKind::Wall) => Policy::Wall {
                rng: rng_for(seed, "sim-wall-seeker"),
                goal: goal_xy,
            },
        }
    }

    /// The next env action for `state`.
    pub fn act(&mut self, state: &[f32]) -> [f32; 2] {
        match self {
            Policy::Random { rng, std, last } => {
                let k = (1.0 - RANDOM_RHO * RANDOM_RHO).sqrt() * *std;
                for a in last.iter_mut() {
                    let e: f32 = rng.sample(StandardNormal);
                    *a = RANDOM_RHO * *a + k * e;
                }
                *last
            }
            Policy::Pusher(p) => p.act(state),
            Policy::Maze { rng, goal } => {
                let a = maze_seek(state, *goal);
                add_noise(a, rng, SEEKER_NOISE)
            }
            Policy::Wall { rng, goal } => {
                let a = wall_seek(&WallLayout::default(), state, *goal);
                add_noise(a, rng, SEEKER_NOISE)
            }
        }
    }
}

fn add_noise(a: [f32; 2], rng: &mut Rng, std: f32) -> [f32; 2] {
    a.map(|v| {
        let e: f32 = rng.sample(StandardNormal);
        v + std * e
    })
}

/// Centre line x of the U-maze's left and right arms (qpos).
const MAZE_ARM_X: [f32; 2] = [0.8, 2.8];
/// Centre line y of the connector (qpos).
const MAZE_TOP_Y: f32 = 2.8;

/// PointMaze seeker: a PD law u = 1.0·(w − p) − 0.4·v (about critically damped for the 4.19 kg point and
/// gear 100), clipped to ±1, towards waypoint w. When the goal is in the other arm, w is first the top of the
/// current arm, then the top of the goal's arm, then the goal.
pub fn maze_seek(state: &[f32], goal: [f32; 2]) -> [f32; 2] {
    let get = |i: usize| {
        state
            .get(i)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let (p, v) = ([get(0), get(1)], [get(2), get(3)]);
    let arm = |x: f32| usize::from(x > 1.8);
    let in_top = |y: f32| y > 2.3;
    let waypoint = if arm(p[0]) == arm(goal[0]) || (in_top(p[1]) && in_top(goal[1])) {
        goal
    } else if p[1] < MAZE_TOP_Y - 0.25 {
        [MAZE_ARM_X[arm(p[0])], MAZE_TOP_Y]
    } else {
        [MAZE_ARM_X[arm(goal[0])], MAZE_TOP_Y]
    };
    [0, 1].map(|i| (1.0 * (waypoint[i] - p[i]) - 0.4 * v[i]).clamp(-1.0, 1.0))
}

/// Wall seeker: steps of up to 1.5 action units (3 px) straight at the goal when it is in the same room,
/// otherwise first to a point 4 px before the door on this side, then through to 4 px past it.
pub fn wall_seek(layout: &WallLayout, state: &[f32], goal: [f32; 2]) -> [f32; 2] {
    let get = |i: usize| {
        state
            .get(i)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let p = [get(0), get(1)];
    let (left, right) = (layout.left_face() as f32, layout.right_face() as f32);
    let door_y = layout.door_y as f32;
    let goal_right = goal[0] > layout.wall_x as f32;
    let in_goal_room = if goal_right {
        p[0] > right + 1.0
    } else {
        p[0] < left - 1.0
    };
    let (near, far) = if goal_right {
        (left - 4.0, right + 4.0)
    } else {
        (right + 4.0, left - 4.0)
    };
    let beside_wall = p[0] >= left - 0.5 && p[0] <= right + 0.5;
    let target = if in_goal_room {
        goal
    } else if !beside_wall && (p[1] - door_y).abs() > 1.5 {
        [near, door_y]
    } else {
        [far, door_y]
    };
    let d = [(target[0] - p[0]) / 2.0, (target[1] - p[1]) / 2.0];
    let n = (d[0] * d[0] + d[1] * d[1]).sqrt();
    if n > 1.5 {
        [d[0] * 1.5 / n, d[1] * 1.5 / n]
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Problem;

    /// Every state visited (start first) and the problem's goal.
    fn rollout(
        env: EnvKind,
        kind: PolicyKind,
        seed: u64,
        steps: usize,
    ) -> (Vec<Vec<f32>>, Vec<f32>) {
        let p = Problem::generate(env, 10, seed).unwrap();
        let mut sim = env.make();
        sim.set_state(&p.start).unwrap();
        let mut policy = Policy::new(kind, env, &p.goal, seed);
        let mut states = vec![sim.state()];
        for _ in 0..steps {
            let a = policy.act(&sim.state());
            sim.step(a);
            states.push(sim.state());
        }
        (states, p.goal)
    }

    fn run(env: EnvKind, kind: PolicyKind, seed: u64, steps: usize) -> (Vec<f32>, Vec<f32>) {
        let (states, goal) = rollout(env, kind, seed, steps);
        (states.last().cloned().unwrap(), goal)
    }

    #[test]
    fn seekers_reach_their_goals() {
        let mut maze_ok = 0;
        let mut wall_ok = 0;
        for seed in 0..10 {
            let (s, g) = run(EnvKind::Pointmaze, PolicyKind::Scripted, seed, 200);
            maze_ok += usize::from(EnvKind::Pointmaze.is_success(&s, &g));
            let (s, g) = run(EnvKind::Wall, PolicyKind::Scripted, seed, 120);
            wall_ok += usize::from(EnvKind::Wall.is_success(&s, &g));
        }
        assert!(maze_ok >= 9, "maze seeker reached {maze_ok}/10");
        assert!(wall_ok >= 9, "wall seeker reached {wall_ok}/10");
    }

    #[test]
    fn every_env_and_policy_is_bit_identical_for_the_same_seed() {
        for env in EnvKind::ALL {
            for kind in [PolicyKind::Random, PolicyKind::Scripted] {
                let (a, b) = (rollout(env, kind, 4, 30), rollout(env, kind, 4, 30));
                let bits = |s: &Vec<Vec<f32>>| -> Vec<u32> {
                    s.iter().flatten().map(|v| v.to_bits()).collect()
                };
                assert_eq!(bits(&a.0), bits(&b.0), "{env} {kind:?}");
                assert_ne!(
                    a.0,
                    rollout(env, kind, 5, 30).0,
                    "{env} {kind:?}: seeds should differ"
                );
            }
        }
    }

    #[test]
    fn random_actions_are_smooth_with_the_stated_spread() {
        let mut p = Policy::new(PolicyKind::Random, EnvKind::Wall, &[], 1);
        let xs: Vec<[f32; 2]> = (0..4000).map(|_| p.act(&[])).collect();
        let var = xs.iter().map(|a| a[0] * a[0]).sum::<f32>() / xs.len() as f32;
        assert!((var.sqrt() - 1.0).abs() < 0.15, "std {}", var.sqrt());
        let lag1 =
            xs.windows(2).map(|w| w[0][0] * w[1][0]).sum::<f32>() / (xs.len() - 1) as f32 / var;
        assert!((lag1 - RANDOM_RHO).abs() < 0.08, "lag-1 correlation {lag1}");
    }
}
