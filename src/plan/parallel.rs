//! [`Parallel`]: a worker pool that the caller owns and hands to a planner ([`super::Planner::set_parallel`]),
//! so planners that evaluate many independent samples (CEM) can split them over cores without starting
//! threads themselves. The pool's threads persist for its lifetime (a `rayon` pool); cloning the handle shares
//! them. Splitting is by sample and results are gathered in sample order, and the model kernels compute each
//! row independently of its batch (`model::kernels`), so any thread count gives bit-identical plans.
//!
//! Who uses what: `plan`, `record` and the app default to all cores (`--threads N` overrides); the benchmark and
//! `tune` run one thread per shard and never pass a pool.

use std::sync::Arc;

use rayon::prelude::*;

/// A caller-owned pool of planner threads, or none (everything on the calling thread).
#[derive(Clone, Default)]
pub struct Parallel {
    pool: Option<Arc<rayon::ThreadPool>>,
}

/// Starting the pool's threads failed.
#[derive(Debug, thiserror::Error)]
#[error("could not start {threads} planner threads: {reason}")]
pub struct PoolError {
    /// Threads asked for.
    pub threads: usize,
    /// The operating system's reason.
    pub reason: String,
}

impl std::fmt::Debug for Parallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Parallel({} threads)", self.threads())
    }
}

impl Parallel {
    /// No pool: planners run everything on the calling thread.
    pub fn single() -> Parallel {
        Parallel::default()
    }

    /// A pool of `threads` persistent threads (0 or 1: [`Parallel::single`]).
    pub fn new(threads: usize) -> Result<Parallel, PoolError> {
        if threads <= 1 {
            return Ok(Parallel::single());
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("planner-{i}"))
            .build()
            .map_err(|e| PoolError {
                threads,
                reason: e.to_string(),
            })?;
        Ok(Parallel {
            pool: Some(Arc::new(pool)),
        })
    }

    /// The number of cores this process may use (1 if unknown).
    pub fn available_cores() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Threads work is split over (1 without a pool).
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// Calls `f` once on every item, the items spread over the pool's threads (in order on the calling thread
    /// without a pool). Returns when all are done.
    pub fn for_each<T: Send>(&self, items: &mut [T], f: impl Fn(&mut T) + Sync) {
        match &self.pool {
            Some(pool) if items.len() > 1 => pool.install(|| items.par_iter_mut().for_each(&f)),
            _ => items.iter_mut().for_each(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_visited_once_in_place() {
        for threads in [1, 2, 3] {
            let par = Parallel::new(threads).unwrap();
            assert_eq!(par.threads(), threads);
            let mut items: Vec<(usize, usize)> = (0..7).map(|i| (i, 0)).collect();
            par.for_each(&mut items, |(i, hits)| *hits += *i + 1);
            assert!(items.iter().all(|(i, hits)| *hits == i + 1));
        }
    }
}
