//! A scripted, noisy, contact-rich pushing policy for Push-T, used for world-model training data and for building
//! planning problems (replay 5·H of its actions from a random reset; spec §C.1 "goal generation").
//!
//! It repeats one cycle: **pick** a contact (a random point on one of the T's eight faces, scored toward a
//! random goal point for the block, or purely at random), **approach** a staging point just outside that face
//! (going around the block on a ring about its centre of gravity when the straight path is blocked), then
//! **push** through the face along its inward normal for a random length. Pushes off the centre of gravity
//! rotate the block. Every action carries Gaussian noise and, rarely, a random jitter. The policy never commands a
//! target outside the walls (so the agent stays on the table), and it re-picks a contact whenever it stops making
//! progress, times out or loses contact, so it cannot get stuck.

use std::f32::consts::{PI, TAU};

use rand::Rng as _;
use rand_distr::StandardNormal;

use super::physics::{WALL_MAX, WALL_MIN};
use super::BLOCK_CENTER_OF_GRAVITY;
use super::{distance_to_block, world_from_block, ACTION_SCALE, AGENT_RADIUS};
use crate::env::Env;
use crate::util::{rng_for, Rng};

/// Settings of [`ScriptedPusher`]. Offsets and lengths in px; noise in relative env-action units (0.01 = 1 px).
#[derive(Clone, Debug, PartialEq)]
pub struct PusherConfig {
    /// Std of the Gaussian noise added to each action component; ≥ 0, default 0.04 (4 px of target offset).
    pub action_noise: f32,
    /// Probability per step of replacing the action by a random N(0, 0.3²) one; [0, 1], default 0.03.
    pub jitter_prob: f32,
    /// Range [lo, hi] of the per-push speed cap, the largest target offset commanded in one step; default
    /// [25, 55] (steady speeds of about 12–28 px per step).
    pub max_offset: [f32; 2],
    /// Range [lo, hi] of how far a push drives past the contact point; default [25, 90].
    pub push_length: [f32; 2],
    /// Gap between the agent disc and the face at the staging point; > 0, default 15.
    pub standoff: f32,
    /// Probability that a contact is picked at random instead of toward the block's goal point; default 0.3.
    pub random_pick_prob: f32,
    /// Steps allowed to reach a staging point before re-picking; default 40.
    pub approach_timeout: usize,
    /// Steps allowed for one push; default 25.
    pub push_timeout: usize,
    /// Steps without 1 px of progress after which the current approach or push is abandoned; default 8.
    pub stall_steps: usize,
}

impl Default for PusherConfig {
    fn default() -> Self {
        Self {
            action_noise: 0.04,
            jitter_prob: 0.03,
            max_offset: [25.0, 55.0],
            push_length: [25.0, 90.0],
            standoff: 15.0,
            random_pick_prob: 0.3,
            approach_timeout: 40,
            push_timeout: 25,
            stall_steps: 8,
        }
    }
}

/// Local faces of the T: (start, end, outward normal). The parameter ranges below keep the agent disc clear of
/// the concave corners between bar and stem.
const FACES: [([f32; 2], [f32; 2], [f32; 2]); 8] = [
    ([-58.0, 0.0], [58.0, 0.0], [0.0, -1.0]),     // bar top
    ([60.0, 2.0], [60.0, 28.0], [1.0, 0.0]),      // bar right end
    ([-60.0, 2.0], [-60.0, 28.0], [-1.0, 0.0]),   // bar left end
    ([32.0, 30.0], [58.0, 30.0], [0.0, 1.0]),     // right wing, underside
    ([-58.0, 30.0], [-32.0, 30.0], [0.0, 1.0]),   // left wing, underside
    ([15.0, 47.0], [15.0, 118.0], [1.0, 0.0]),    // stem right side
    ([-15.0, 47.0], [-15.0, 118.0], [-1.0, 0.0]), // stem left side
    ([-13.0, 120.0], [13.0, 120.0], [0.0, 1.0]),  // stem bottom
];
/// Radius of the ring about the block's centre of gravity used to go around it: the T's farthest point
/// (≈ 77 px) plus the agent radius plus a margin.
const RING_RADIUS: f32 = 77.0 + AGENT_RADIUS + 12.0;
/// Largest angle (rad) advanced along the ring per waypoint.
const RING_STEP: f32 = 0.7;
/// Margin kept between the commanded target and the walls' inner faces, beyond the agent radius (px).
const WALL_MARGIN: f32 = 12.0;
/// Distance (px) at which a staging point or push target counts as reached.
const REACHED: f32 = 6.0;

/// What the pusher is doing.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Choose a new contact on the next call.
    Pick,
    /// Go to the staging point of `contact`.
    Approach {
        contact: Contact,
        progress: Progress,
    },
    /// Drive towards `target` (world px) through the face.
    Push {
        target: [f32; 2],
        speed: f32,
        progress: Progress,
    },
    /// No valid contact: head for the table centre for a few steps.
    Retreat { steps_left: usize },
}

/// A chosen push: a point and outward normal on the block (local), how far to push and how fast.
#[derive(Clone, Copy, Debug)]
struct Contact {
    point: [f32; 2],
    normal: [f32; 2],
    push_length: f32,
    speed: f32,
}

/// Step counting and stall detection for one phase.
#[derive(Clone, Copy, Debug)]
struct Progress {
    steps: usize,
    best: f32,
    since_best: usize,
}

impl Progress {
    fn new() -> Self {
        Self {
            steps: 0,
            best: f32::INFINITY,
            since_best: 0,
        }
    }

    /// Records one step at distance `dist` from the phase's aim; true while the phase should go on.
    fn update(&mut self, dist: f32, timeout: usize, stall_steps: usize) -> bool {
        self.steps += 1;
        if dist < self.best - 1.0 {
            self.best = dist;
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        self.steps <= timeout && self.since_best <= stall_steps
    }
}

/// The scripted pushing policy. Deterministic in its seed and the states it sees.
pub struct ScriptedPusher {
    rng: Rng,
    config: PusherConfig,
    phase: Phase,
    /// Where the block's centre of gravity is being pushed to (world px).
    block_goal: [f32; 2],
    /// Contacts left before a new block goal is drawn.
    picks_left: usize,
}

impl ScriptedPusher {
    /// A pusher with default settings and its own RNG stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, PusherConfig::default())
    }

    /// A pusher with explicit settings.
    pub fn with_config(seed: u64, config: PusherConfig) -> Self {
        Self::from_rng(rng_for(seed, "pusht-pusher"), config)
    }

    /// A pusher drawing from `rng`.
    pub fn from_rng(rng: Rng, config: PusherConfig) -> Self {
        Self {
            rng,
            config,
            phase: Phase::Pick,
            block_goal: [256.0, 256.0],
            picks_left: 0,
        }
    }

    /// Steps `env` (a Push-T env) `env_steps` times with this policy; returns the flat env actions taken.
    pub fn rollout(&mut self, env: &mut dyn Env, env_steps: usize) -> Vec<f32> {
        let mut actions = Vec::with_capacity(2 * env_steps);
        let mut state = env.state();
        for _ in 0..env_steps {
            let a = self.act(&state);
            env.step(a);
            actions.extend_from_slice(&a);
            state = env.state();
        }
        actions
    }

    /// The relative env action for a 7-d Push-T state (target = agent + 100·a). Returns zeros for a malformed
    /// state (too short or non-finite).
    pub fn act(&mut self, state: &[f32]) -> [f32; 2] {
        if state.len() < 7 || state.iter().any(|v| !v.is_finite()) {
            return [0.0; 2];
        }
        let agent = [state[0], state[1]];
        let pose = [state[2], state[3], state[4]];
        let aim = self.aim(agent, pose);
        self.command(agent, aim)
    }

    /// Runs the phase machine for one step; returns (waypoint, speed cap).
    fn aim(&mut self, agent: [f32; 2], pose: [f32; 3]) -> ([f32; 2], f32) {
        let cfg = self.config.clone();
        // Each transition either returns or moves to a phase that returns on the next pass, so three passes
        // always suffice; the fallback only guards the loop bound.
        for _ in 0..4 {
            match self.phase {
                Phase::Pick => {
                    self.phase = match self.pick_contact(agent, pose) {
                        Some(contact) => Phase::Approach {
                            contact,
                            progress: Progress::new(),
                        },
                        None => Phase::Retreat { steps_left: 5 },
                    };
                }
                Phase::Approach {
                    contact,
                    mut progress,
                } => {
                    let staging = staging_point(pose, &contact, cfg.standoff);
                    let dist = norm(sub(staging, agent));
                    if dist < REACHED {
                        let n_world = rotate(pose[2], contact.normal);
                        let depth = cfg.standoff + contact.push_length;
                        let target = clamp_to_table(add(staging, scale(n_world, -depth)));
                        self.phase = Phase::Push {
                            target,
                            speed: contact.speed,
                            progress: Progress::new(),
                        };
                        continue;
                    }
                    if !progress.update(dist, cfg.approach_timeout, cfg.stall_steps) {
                        self.phase = Phase::Pick;
                        continue;
                    }
                    self.phase = Phase::Approach { contact, progress };
                    return (route(agent, staging, pose), contact.speed);
                }
                Phase::Push {
                    target,
                    speed,
                    mut progress,
                } => {
                    let dist = norm(sub(target, agent));
                    let lost = progress.steps > 4
                        && distance_to_block(pose, agent) > AGENT_RADIUS + cfg.standoff;
                    if dist < REACHED
                        || lost
                        || !progress.update(dist, cfg.push_timeout, cfg.stall_steps)
                    {
                        self.phase = Phase::Pick;
                        continue;
                    }
                    self.phase = Phase::Push {
                        target,
                        speed,
                        progress,
                    };
                    return (target, speed);
                }
                Phase::Retreat { steps_left } => {
                    self.phase = if steps_left > 1 {
                        Phase::Retreat {
                            steps_left: steps_left - 1,
                        }
                    } else {
                        Phase::Pick
                    };
                    return ([256.0, 256.0], cfg.max_offset[0]);
                }
            }
        }
        (agent, 0.0)
    }

    /// Chooses a contact whose staging point is on the table and clear of the block; None if no sample works.
    fn pick_contact(&mut self, agent: [f32; 2], pose: [f32; 3]) -> Option<Contact> {
        let cog = world_from_block(pose, BLOCK_CENTER_OF_GRAVITY);
        if self.picks_left == 0 || norm(sub(self.block_goal, cog)) < 30.0 {
            self.block_goal = [
                self.rng.random_range(140.0..372.0),
                self.rng.random_range(140.0..372.0),
            ];
            self.picks_left = self.rng.random_range(3..9);
        }
        self.picks_left -= 1;
        let to_goal = unit(sub(self.block_goal, cog));
        let at_random = self.rng.random::<f32>() < self.config.random_pick_prob;
        let [speed_lo, speed_hi] = self.config.max_offset;
        let [len_lo, len_hi] = self.config.push_length;
        let mut best: Option<(f32, Contact)> = None;
        for _ in 0..16 {
            let (a, b, normal) = FACES[self.rng.random_range(0..FACES.len())];
            let t: f32 = self.rng.random();
            let contact = Contact {
                point: add(a, scale(sub(b, a), t)),
                normal,
                push_length: self.rng.random_range(len_lo..=len_hi.max(len_lo)),
                speed: self.rng.random_range(speed_lo..=speed_hi.max(speed_lo)),
            };
            let staging = staging_point(pose, &contact, self.config.standoff);
            let on_table = staging
                .iter()
                .all(|&c| c > WALL_MIN + AGENT_RADIUS + 8.0 && c < WALL_MAX - AGENT_RADIUS - 8.0);
            if !on_table || distance_to_block(pose, staging) < AGENT_RADIUS + 2.0 {
                continue;
            }
            let push_dir = scale(rotate(pose[2], normal), -1.0);
            let noise: f32 = self.rng.random();
            let score = if at_random {
                noise
            } else {
                dot(push_dir, to_goal) + 0.3 * noise - 0.001 * norm(sub(staging, agent))
            };
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, contact));
            }
        }
        best.map(|(_, c)| c)
    }

    /// The noisy relative action towards `waypoint` with the commanded offset capped at `speed` px, its target
    /// kept on the table.
    fn command(&mut self, agent: [f32; 2], (waypoint, speed): ([f32; 2], f32)) -> [f32; 2] {
        let mut d = sub(waypoint, agent);
        let len = norm(d);
        if len > speed && len > 0.0 {
            d = scale(d, speed / len);
        }
        let mut a = scale(d, 1.0 / ACTION_SCALE);
        if self.rng.random::<f32>() < self.config.jitter_prob {
            for c in &mut a {
                *c = 0.3 * self.rng.sample::<f32, _>(StandardNormal);
            }
        }
        for c in &mut a {
            *c += self.config.action_noise * self.rng.sample::<f32, _>(StandardNormal);
        }
        let target = clamp_to_table(add(agent, scale(a, ACTION_SCALE)));
        scale(sub(target, agent), 1.0 / ACTION_SCALE)
    }
}

/// The world point the agent waits at before pushing `contact`: off the face by the agent radius plus `standoff`.
fn staging_point(pose: [f32; 3], contact: &Contact, standoff: f32) -> [f32; 2] {
    let local = add(
        contact.point,
        scale(contact.normal, AGENT_RADIUS + standoff),
    );
    world_from_block(pose, local)
}

/// The next waypoint from `agent` to `goal`: `goal` itself if the straight path keeps the disc off the block,
/// else a point further along a ring about the block's centre of gravity (the way round that stays on the table).
fn route(agent: [f32; 2], goal: [f32; 2], pose: [f32; 3]) -> [f32; 2] {
    if path_is_clear(agent, goal, pose) {
        return goal;
    }
    let cog = world_from_block(pose, BLOCK_CENTER_OF_GRAVITY);
    let from = sub(agent, cog);
    let phi_agent = from[1].atan2(from[0]);
    let to = sub(goal, cog);
    let delta = wrap_pi(to[1].atan2(to[0]) - phi_agent);
    // Close to the block, mostly move outwards first.
    let step = if norm(from) < RING_RADIUS - 10.0 {
        0.35
    } else {
        RING_STEP
    };
    let ring_point = |dir: f32, arc: f32| {
        let phi = phi_agent + dir * arc.min(step);
        add(cog, [RING_RADIUS * phi.cos(), RING_RADIUS * phi.sin()])
    };
    let dir = if delta >= 0.0 { 1.0 } else { -1.0 };
    let short = ring_point(dir, delta.abs());
    if is_on_table(short) {
        return short;
    }
    let long = ring_point(-dir, TAU - delta.abs());
    if is_on_table(long) {
        long
    } else {
        clamp_to_table(short)
    }
}

/// True if a disc moving straight from `a` to `b` stays off the block (with 2 px of slack, or less if it already
/// touches it at `a`).
fn path_is_clear(a: [f32; 2], b: [f32; 2], pose: [f32; 3]) -> bool {
    let clearance = (AGENT_RADIUS - 2.0).min(distance_to_block(pose, a) - 0.5);
    let n = ((norm(sub(b, a)) / 4.0).ceil() as usize).clamp(1, 64);
    (1..=n).all(|i| {
        let p = add(a, scale(sub(b, a), i as f32 / n as f32));
        distance_to_block(pose, p) >= clearance
    })
}

/// True if the agent centre at `p` keeps the wall margin.
fn is_on_table(p: [f32; 2]) -> bool {
    let lo = WALL_MIN + AGENT_RADIUS + WALL_MARGIN;
    let hi = WALL_MAX - AGENT_RADIUS - WALL_MARGIN;
    p.iter().all(|&c| c >= lo && c <= hi)
}

/// `p` clamped into the region the agent centre may be commanded to.
fn clamp_to_table(p: [f32; 2]) -> [f32; 2] {
    let lo = WALL_MIN + AGENT_RADIUS + WALL_MARGIN;
    let hi = WALL_MAX - AGENT_RADIUS - WALL_MARGIN;
    p.map(|c| c.clamp(lo, hi))
}

fn wrap_pi(a: f32) -> f32 {
    (a + PI).rem_euclid(TAU) - PI
}

fn rotate(theta: f32, v: [f32; 2]) -> [f32; 2] {
    let (s, c) = theta.sin_cos();
    [c * v[0] - s * v[1], s * v[0] + c * v[1]]
}

fn add(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] + b[0], a[1] + b[1]]
}

fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn scale(a: [f32; 2], k: f32) -> [f32; 2] {
    [a[0] * k, a[1] * k]
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn norm(a: [f32; 2]) -> f32 {
    dot(a, a).sqrt()
}

fn unit(a: [f32; 2]) -> [f32; 2] {
    let n = norm(a);
    if n > 1e-6 {
        scale(a, 1.0 / n)
    } else {
        [0.0; 2]
    }
}

#[cfg(test)]
mod tests {
    use super::super::BLOCK_RECTS;
    use super::*;

    #[test]
    fn faces_lie_on_the_block_outline() {
        let pose = [0.0, 0.0, 0.0];
        for (a, b, n) in FACES {
            for p in [a, b] {
                assert!(distance_to_block(pose, p) < 1e-4, "{p:?} not on the block");
                let out = add(p, scale(n, 1.0));
                assert!(
                    (distance_to_block(pose, out) - 1.0).abs() < 1e-4,
                    "normal {n:?} at {p:?}"
                );
            }
        }
        // The farthest point of the T from its centre of gravity fits inside the ring's block radius.
        let far = BLOCK_RECTS
            .iter()
            .flat_map(|&[x0, x1, y0, y1]| [[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            .map(|v| norm(sub(v, BLOCK_CENTER_OF_GRAVITY)))
            .fold(0.0, f32::max);
        assert!(far <= 77.0, "{far}");
    }

    #[test]
    fn route_goes_around_the_block() {
        let pose = [256.0, 200.0, 0.0];
        // Agent above the bar, goal below the stem: the straight line crosses the block.
        let agent = [256.0, 160.0];
        let goal = [256.0, 360.0];
        assert!(!path_is_clear(agent, goal, pose));
        let w = route(agent, goal, pose);
        assert!(
            path_is_clear(agent, w, pose),
            "waypoint {w:?} not reachable"
        );
        assert!(is_on_table(w));
        // A clear goal is taken directly.
        assert_eq!(route(agent, [400.0, 160.0], pose), [400.0, 160.0]);
    }
}
