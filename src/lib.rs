//! grasp-explorer: GRASP (parallel stochastic gradient-based planning for world models) and its baselines,
//! made visible.
//!
//! The core — simulated envs ([`env`]), learned world models ([`model`]), stepwise planners ([`plan`]), the
//! benchmark protocol ([`bench`]) and headless video recording ([`record`]) — never imports Bevy. The Bevy
//! explorer app lives in `app`, behind the default cargo feature `app`.
//!
//! Guarantee: every path is deterministic by seed. Same seed, same problem, same numbers; single-threaded
//! paths are bit-identical across runs.

pub mod bench;
pub mod env;
pub mod finetune;
pub mod model;
pub mod plan;
pub mod record;
pub mod util;

#[cfg(feature = "app")]
pub mod app;
