//! Training data for the world models: episodes of (s_t, a_t, s_{t+1}) at frameskip 5 generated from each
//! simulator, covering the states planning visits. Deterministic by seed; sizes configurable.
//!
//! - Push-T: every episode starts from a random reset (`PushT::reset`); its actions come from the scripted
//!   pusher (contact-rich, [`PUSHT_SCRIPTED_FRAC`] of episodes), from smooth random actions, or from a mix
//!   that switches between the two every few model steps.
//! - PointMaze and Wall: starts uniform over the whole free space (PointMaze with random velocities), smooth
//!   random actions; Wall optionally also fast straight runs at random targets ([`DataConfig::directed_frac`]).
//!
//! Smooth random actions are an AR(1) process a ← ρ·a + √(1−ρ²)·σ·ε per component, with ρ ∈ [0.5, 0.95] and
//! σ ∈ [0.5, 1.5]·σ_env drawn per episode (σ_env from `env::policies::random_action_std`), so the data spans
//! slow sweeps and jittery motion. Episodes are generated on up to two threads; each has its own seed drawn
//! in order from the master seed, so the result does not depend on the thread count.

use rand::Rng as _;
use rand_distr::StandardNormal;

use crate::env::policies::random_action_std;
use crate::env::pusht::ScriptedPusher;
use crate::env::wall::{state_problem, WallLayout, BORDER_MAX, BORDER_MIN};
use crate::env::{pointmaze, Env, EnvKind, CHUNK_ACTION_DIM, FRAMESKIP};
use crate::util::{rng_for, Rng};

/// Fraction of Push-T episodes driven by the scripted pusher alone.
pub const PUSHT_SCRIPTED_FRAC: f64 = 0.6;
/// Fraction of Push-T episodes that alternate pusher and random segments (the rest are random only).
pub const PUSHT_MIXED_FRAC: f64 = 0.15;

/// What drove an episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Push-T scripted pusher.
    Scripted,
    /// Smooth random actions.
    Random,
    /// Alternating pusher and random segments.
    Mixed,
    /// Wall: fast straight runs at random targets (many of them into the middle wall).
    Directed,
    /// A planner's actions executed in the simulator (online fine-tuning, `finetune/`).
    Online,
}

/// One simulated episode in env units.
#[derive(Clone, Debug)]
pub struct Episode {
    /// What drove it.
    pub source: Source,
    /// States s_0 … s_T, flat [(T+1) × env state dim].
    pub states: Vec<f32>,
    /// Action chunks a_0 … a_{T−1}, flat [T × 10].
    pub actions: Vec<f32>,
}

impl Episode {
    /// Number of model steps T.
    pub fn len(&self) -> usize {
        self.actions.len() / CHUNK_ACTION_DIM
    }
    /// True when the episode has no steps.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// Data-generation settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DataConfig {
    /// Transitions to generate (rounded up to whole episodes); ≥ 1, default per env in `train`.
    pub samples: usize,
    /// Model steps per episode; ≥ 1, default 50 (long enough for 40-step open-loop evaluation).
    pub episode_len: usize,
    /// Master seed.
    pub seed: u64,
    /// Worker threads (1 or 2 make sense here); the result is identical for any value. Default 2.
    pub threads: usize,
    /// Wall only: fraction of episodes that run straight at random targets with large actions, in [0, 1]
    /// (0 = smooth random only). Planners push the agent at the wall with saturated actions; smooth random data
    /// rarely does, and a model trained without it lets fast plans pass through the wall.
    pub directed_frac: f64,
}

/// Generates episodes for `env`. `progress` is called with the number of episodes finished so far.
pub fn generate(env: EnvKind, cfg: &DataConfig, progress: &(dyn Fn(usize) + Sync)) -> Vec<Episode> {
    let n = cfg.samples.div_ceil(cfg.episode_len.max(1));
    let mut master = rng_for(cfg.seed, "model-data");
    let seeds: Vec<u64> = (0..n).map(|_| master.random()).collect();
    let threads = cfg.threads.clamp(1, 8).min(n.max(1));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Episode>> = vec![None; n];
    std::thread::scope(|scope| {
        let chunks: Vec<_> = out
            .chunks_mut(n.div_ceil(threads).max(1))
            .zip(seeds.chunks(n.div_ceil(threads).max(1)))
            .collect();
        for (slots, seeds) in chunks {
            let done = &done;
            scope.spawn(move || {
                for (slot, &seed) in slots.iter_mut().zip(seeds) {
                    *slot = Some(episode(env, seed, cfg.episode_len, cfg.directed_frac));
                    progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                }
            });
        }
    });
    out.into_iter().flatten().collect()
}

/// Smooth random low-level actions (AR(1) per component).
struct SmoothRandom {
    rho: f32,
    std: f32,
    last: [f32; 2],
}

impl SmoothRandom {
    fn new(env: EnvKind, rng: &mut Rng) -> Self {
        let rho = rng.random_range(0.5..0.95);
        let std = random_action_std(env) * rng.random_range(0.5..1.5);
        let last = [0.0; 2].map(|_: f32| std * rng.sample::<f32, _>(StandardNormal));
        SmoothRandom { rho, std, last }
    }
    fn act(&mut self, rng: &mut Rng) -> [f32; 2] {
        let k = (1.0 - self.rho * self.rho).sqrt() * self.std;
        for a in self.last.iter_mut() {
            let e: f32 = rng.sample(StandardNormal);
            *a = self.rho * *a + k * e;
        }
        self.last
    }
}

/// A uniformly random valid start for the mazes (whole free space).
fn free_space_start(env: EnvKind, rng: &mut Rng) -> Vec<f32> {
    match env {
        EnvKind::Pointmaze => pointmaze::sample_state(rng).to_vec(),
        _ => {
            let layout = WallLayout::default();
            loop {
                let s = [
                    rng.random_range(BORDER_MIN..BORDER_MAX) as f32,
                    rng.random_range(BORDER_MIN..BORDER_MAX) as f32,
                ];
                if state_problem(&layout, &s).is_none() {
                    return s.to_vec();
                }
            }
        }
    }
}

/// Runs at random free-space targets: each env step pushes toward the target at `speed` × σ_env plus a little
/// noise, and a new target is drawn when the agent gets within 2 px or has not arrived after 10 model steps.
struct Directed {
    speed: f32,
    target: [f32; 2],
    steps_left: usize,
}

impl Directed {
    fn new(env: EnvKind, rng: &mut Rng) -> Self {
        let mut d = Directed {
            speed: random_action_std(env) * rng.random_range(1.0..3.0),
            target: [0.0; 2],
            steps_left: 0,
        };
        d.retarget(env, rng);
        d
    }
    fn retarget(&mut self, env: EnvKind, rng: &mut Rng) {
        let t = free_space_start(env, rng);
        self.target = [t[0], t[1]];
        self.steps_left = 10 * FRAMESKIP;
    }
    fn act(&mut self, env: EnvKind, pos: &[f32], rng: &mut Rng) -> [f32; 2] {
        let offset = |t: [f32; 2]| (t[0] - pos[0], t[1] - pos[1]);
        let (dx, dy) = offset(self.target);
        if self.steps_left == 0 || dx.hypot(dy) < 2.0 {
            self.retarget(env, rng);
        }
        self.steps_left -= 1;
        let (dx, dy) = offset(self.target);
        let norm = dx.hypot(dy).max(1e-6);
        let noise = 0.2 * random_action_std(env);
        [
            self.speed * dx / norm + noise * rng.sample::<f32, _>(StandardNormal),
            self.speed * dy / norm + noise * rng.sample::<f32, _>(StandardNormal),
        ]
    }
}

/// One episode of `len` model steps from its own seed (`directed_frac`: see [`DataConfig::directed_frac`]).
pub fn episode(env: EnvKind, seed: u64, len: usize, directed_frac: f64) -> Episode {
    let mut rng = rng_for(seed, "model-data-episode");
    let mut sim: Box<dyn Env> = env.make();
    let source = match env {
        EnvKind::Pusht => {
            let u: f64 = rng.random();
            if u < PUSHT_SCRIPTED_FRAC {
                Source::Scripted
            } else if u < PUSHT_SCRIPTED_FRAC + PUSHT_MIXED_FRAC {
                Source::Mixed
            } else {
                Source::Random
            }
        }
        // The draw only happens when directed episodes are asked for, so data without them is unchanged.
        EnvKind::Wall if directed_frac > 0.0 && rng.random_bool(directed_frac.min(1.0)) => {
            Source::Directed
        }
        _ => Source::Random,
    };
    let start = match env {
        EnvKind::Pusht => sim.reset(rng.random()),
        _ => {
            let s = free_space_start(env, &mut rng);
            // A sampled free-space state is valid by construction; fall back to a reset if not.
            if sim.set_state(&s).is_err() {
                sim.reset(rng.random());
            }
            sim.state()
        }
    };
    let mut pusher = ScriptedPusher::new(rng.random());
    let mut random = SmoothRandom::new(env, &mut rng);
    let mut directed = (source == Source::Directed).then(|| Directed::new(env, &mut rng));
    let mut states = start;
    let mut actions = Vec::with_capacity(len * CHUNK_ACTION_DIM);
    let mut state = sim.state();
    let mut use_pusher = source == Source::Scripted;
    for t in 0..len {
        if source == Source::Mixed && t % 8 == 0 {
            use_pusher = rng.random_bool(0.5);
        }
        for _ in 0..FRAMESKIP {
            let a = if use_pusher {
                pusher.act(&state)
            } else if let Some(d) = directed.as_mut() {
                d.act(env, &state, &mut rng)
            } else {
                random.act(&mut rng)
            };
            sim.step(a);
            state = sim.state();
            actions.extend_from_slice(&a);
        }
        states.extend_from_slice(&state);
    }
    Episode {
        source,
        states,
        actions,
    }
}

/// Flattens episodes into transitions: env states [N × ed], chunks [N × 10], next states [N × ed].
pub fn transitions(env: EnvKind, episodes: &[Episode]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let ed = env.state_dim();
    let (mut s, mut a, mut s2) = (Vec::new(), Vec::new(), Vec::new());
    for ep in episodes {
        for t in 0..ep.len() {
            s.extend_from_slice(&ep.states[t * ed..(t + 1) * ed]);
            s2.extend_from_slice(&ep.states[(t + 1) * ed..(t + 2) * ed]);
            a.extend_from_slice(&ep.actions[t * CHUNK_ACTION_DIM..(t + 1) * CHUNK_ACTION_DIM]);
        }
    }
    (s, a, s2)
}

/// Per transition of [`transitions`], how many transitions remain in its episode counting itself (each
/// episode is one training segment; see `ModelData::seg_left`).
pub fn segment_left(episodes: &[Episode]) -> Vec<u32> {
    episodes
        .iter()
        .flat_map(|ep| (1..=ep.len() as u32).rev())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_thread_independent() {
        for env in EnvKind::ALL {
            let cfg = DataConfig {
                samples: 24,
                episode_len: 6,
                seed: 3,
                threads: 1,
                directed_frac: 0.5,
            };
            let a = generate(env, &cfg, &|_| {});
            let b = generate(
                env,
                &DataConfig {
                    threads: 2,
                    ..cfg.clone()
                },
                &|_| {},
            );
            assert_eq!(a.len(), 4);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.states, y.states);
                assert_eq!(x.actions, y.actions);
                assert_eq!(x.len(), 6);
                assert_eq!(x.states.len(), 7 * env.state_dim());
                assert!(x.states.iter().all(|v| v.is_finite()));
            }
            let (s, act, s2) = transitions(env, &a);
            assert_eq!(s.len(), 24 * env.state_dim());
            assert_eq!(act.len(), 24 * CHUNK_ACTION_DIM);
            assert_eq!(s2.len(), s.len());
            assert_eq!(
                &s2[..env.state_dim()],
                &s[env.state_dim()..2 * env.state_dim()]
            );
            let left = segment_left(&a);
            assert_eq!(left.len(), 24);
            assert_eq!(&left[..7], &[6, 5, 4, 3, 2, 1, 6]);
        }
    }
}
