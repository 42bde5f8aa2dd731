//! Upper bounds on every size an input can ask for (command-line flags, tuned files, budget files, model
//! files), checked before anything is allocated, so a typo such as `--horizon 99999999999` is a one-line
//! error instead of an allocation abort or an hours-long run. README "Limits" lists them.

/// Largest horizon T in world-model steps (plan, bench, tune, record, sim, app). The paper's longest is 80.
pub const MAX_HORIZON: usize = 1_000;
/// Largest CEM sample count and GRASP CEM-sync sample count.
pub const MAX_SAMPLES: usize = 100_000;
/// Largest samples × horizon of one CEM population (bounds its action and rollout buffers to ~0.5 GB).
pub const MAX_SAMPLE_STEPS: usize = 2_000_000;
/// Largest GRASP sync length (Adam steps or CEM-sync iterations per sync).
pub const MAX_SYNC_STEPS: usize = 1_000_000;
/// Largest number of problems per horizon in `bench` / `tune`.
pub const MAX_PROBLEMS: usize = 100_000;
/// Largest `train --samples` (transitions held in memory while training).
pub const MAX_TRAIN_SAMPLES: usize = 10_000_000;
/// Largest `record --queue` (frames waiting for the encoder).
pub const MAX_QUEUE: usize = 256;
/// Largest world-model file read (the shipped ones are under 300 kB).
pub const MAX_MODEL_BYTES: u64 = 256 * 1024 * 1024;

/// A size beyond its documented bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be at most {max}, got {got} (see README \"Limits\")")]
pub struct LimitError {
    /// The flag or setting, e.g. `--horizon`.
    pub what: String,
    /// The bound.
    pub max: u128,
    /// The value asked for.
    pub got: u128,
}

/// Checks `got <= max`, naming `what` (a flag such as `--samples` or a setting such as `samples`).
pub fn check(what: &str, got: impl Into<u128>, max: impl Into<u128>) -> Result<(), LimitError> {
    let (got, max) = (got.into(), max.into());
    if got <= max {
        Ok(())
    } else {
        Err(LimitError {
            what: what.to_string(),
            max,
            got,
        })
    }
}

/// [`check`] for `usize` values and bounds.
pub fn check_usize(what: &str, got: usize, max: usize) -> Result<(), LimitError> {
    check(what, got as u64, max as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_setting_and_bound() {
        assert!(check_usize("--horizon", MAX_HORIZON, MAX_HORIZON).is_ok());
        let e = check_usize("--horizon", MAX_HORIZON + 1, MAX_HORIZON).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--horizon must be at most 1000, got 1001 (see README \"Limits\")"
        );
    }
}
