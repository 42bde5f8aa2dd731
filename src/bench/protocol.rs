//! The benchmark protocol: which planners ("contenders") run on which problems, in what order, with what
//! budget, and which slice of the trials a shard owns.
//!
//! Trial order is problem-major (problem i, then horizon, then planner), so an interrupted run has roughly
//! equal counts in every cell. Problem i uses seed `seed + i` at every horizon and for every planner, so all
//! planners see the same problems. Shard k of n owns the problems with `i % n == k`: every shard gets whole
//! problems (all planners, all horizons), which balances work and keeps paired comparisons within a shard.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::BenchError;
use crate::env::EnvKind;
use crate::plan::{PlannerKind, PlannerParams};

/// Problem seeds at or above this value are reserved for tuning (`tune`); evaluation seeds stay below, so
/// settings are never chosen on the problems they are judged on.
pub const TUNING_SEED_BASE: u64 = 1_000_000_000_000;

/// One planner configuration under test: a label (unique in a run, e.g. `grasp` or a tuning grid point),
/// the preset it derives from, and the full parameters it runs with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Contender {
    /// Unique name in the run; the `planner` column of the CSV.
    pub label: String,
    /// The preset (family plus ablation switches) it derives from.
    pub kind: PlannerKind,
    /// Parameters in force.
    pub params: PlannerParams,
    /// Success check every this many iterations (≥ 1; open-loop only — MPC judges every replanning point).
    pub check_every: usize,
    /// Closed-loop settings: Some runs every trial as an MPC episode (label ending in `+mpc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpc: Option<super::closed_loop::MpcSpec>,
}

/// How long each trial may run. Either a planner-time budget shared by every planner, or iteration counts
/// per planner (and optionally per horizon), optionally capped by time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum BudgetPolicy {
    /// Stop at this much planner compute time (success checks excluded), equal for every planner.
    Time {
        /// Seconds of planner time per trial (> 0).
        seconds: f64,
    },
    /// Stop at a fixed iteration count.
    Iters {
        /// Iteration counts.
        table: IterTable,
        /// Optional planner-time cap per trial, seconds.
        time_cap_s: Option<f64>,
        /// If the counts were calibrated to equal planner time: how, in words.
        scaled_from: Option<String>,
        /// If calibrated: the CPU seconds the counts stand for (count = seconds × measured iterations/s).
        #[serde(default)]
        equal_time_s: Option<f64>,
    },
}

/// Iteration counts: a default plus per-planner and per-(planner, horizon) overrides (most specific wins).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IterTable {
    /// Count for planners without an entry.
    pub default: Option<usize>,
    /// Per planner label.
    pub per_planner: BTreeMap<String, usize>,
    /// Per `label@horizon`.
    pub per_cell: BTreeMap<String, usize>,
}

impl IterTable {
    /// The count for `label` at `horizon`, if any entry covers it. A tuning grid point such as
    /// `grasp[lr_actions=0.01]` falls back to the entries of its preset `grasp`, and a closed-loop `grasp+mpc`
    /// to `grasp` (an MPC trial gets the open-loop trial's budget).
    pub fn get(&self, label: &str, horizon: usize) -> Option<usize> {
        let open = super::closed_loop::open_loop_label(label);
        let base = open.split('[').next().unwrap_or(open);
        [label, open, base]
            .iter()
            .find_map(|l| {
                self.per_cell
                    .get(&format!("{l}@{horizon}"))
                    .or_else(|| self.per_planner.get(*l))
            })
            .copied()
            .or(self.default)
    }
}

impl FromStr for IterTable {
    type Err = String;
    /// Parses `N`, or `label=N,...`, or `label@H=N,...` (entries may be mixed; a bare `N` sets the default).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut t = IterTable::default();
        for item in s.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(format!("--iters '{s}': empty entry"));
            }
            let (key, val) = match item.split_once('=') {
                Some((k, v)) => (Some(k.trim()), v.trim()),
                None => (None, item),
            };
            let n: usize = val
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--iters '{s}': '{val}' is not a positive integer"))?;
            match key {
                None => t.default = Some(n),
                Some(k) if k.contains('@') => {
                    let (label, h) = k.split_once('@').unwrap_or((k, ""));
                    if h.parse::<usize>().is_err() || label.is_empty() {
                        return Err(format!("--iters '{s}': '{k}' is not planner@horizon"));
                    }
                    t.per_cell.insert(k.to_string(), n);
                }
                Some(k) => {
                    t.per_planner.insert(k.to_string(), n);
                }
            }
        }
        Ok(t)
    }
}

impl fmt::Display for IterTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.default.iter().map(|n| n.to_string()).collect();
        parts.extend(self.per_planner.iter().map(|(k, n)| format!("{k}={n}")));
        parts.extend(self.per_cell.iter().map(|(k, n)| format!("{k}={n}")));
        f.write_str(&parts.join(","))
    }
}

/// The budget of one trial, in the shape the planner runner takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrialBudget {
    /// Stop after this many iterations.
    pub max_iters: Option<usize>,
    /// Stop after this much planner time, seconds.
    pub max_seconds: Option<f64>,
}

impl BudgetPolicy {
    /// The budget of a trial of `label` at `horizon`; errors if an iteration table does not cover it.
    pub fn trial_budget(&self, label: &str, horizon: usize) -> Result<TrialBudget, BenchError> {
        match self {
            BudgetPolicy::Time { seconds } => Ok(TrialBudget {
                max_iters: None,
                max_seconds: Some(*seconds),
            }),
            BudgetPolicy::Iters {
                table, time_cap_s, ..
            } => {
                let n = table.get(label, horizon).ok_or_else(|| {
                    BenchError::Config(format!(
                        "the iteration budget (--iters or --budget-file) gives no count for planner '{label}' at horizon {horizon}: add that cell (calibrate it with --calibrate-only) or leave it out"
                    ))
                })?;
                Ok(TrialBudget {
                    max_iters: Some(n),
                    max_seconds: *time_cap_s,
                })
            }
        }
    }

    /// For calibrated iteration budgets, the CPU seconds one iteration of `label` at `horizon` stands for.
    pub fn seconds_per_iter(&self, label: &str, horizon: usize) -> Option<f64> {
        match self {
            BudgetPolicy::Iters {
                table,
                equal_time_s: Some(t),
                ..
            } => table.get(label, horizon).map(|n| t / n as f64),
            _ => None,
        }
    }

    /// One sentence saying which budget was used and whether it equalizes time across planners.
    pub fn describe(&self) -> String {
        match self {
            BudgetPolicy::Time { seconds } => format!(
                "equal wall-clock planner time: each trial stops at success or after {seconds} s of \
                 planner compute (success checks not counted)"
            ),
            BudgetPolicy::Iters {
                table,
                time_cap_s,
                scaled_from,
                ..
            } => {
                let cap = time_cap_s
                    .map(|s| format!(", capped at {s} s planner time"))
                    .unwrap_or_default();
                match scaled_from {
                    Some(how) => format!(
                        "iterations scaled to equal planner time ({how}): {table}{cap}"
                    ),
                    None => format!(
                        "fixed iterations ({table}){cap}; NOT equalized for time across planners"
                    ),
                }
            }
        }
    }
}

/// Which slice of the trials this process runs: shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based shard index (< count).
    pub index: usize,
    /// Number of shards (≥ 1).
    pub count: usize,
}

impl Shard {
    /// The whole run.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard owns problem `problem`.
    pub fn owns(self, problem: usize) -> bool {
        problem % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;
    /// Parses `i/n` with 0 ≤ i < n.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("--shard '{s}': expected i/n with 0 <= i < n (0-based, e.g. 0/4)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Everything that defines a run's trials and their results. Two runs (or shards) with equal configs can be
/// resumed into each other or merged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Environment.
    pub env: EnvKind,
    /// Planners under test, in display order.
    pub contenders: Vec<Contender>,
    /// Horizons T (world-model steps), in display order.
    pub horizons: Vec<usize>,
    /// Problems per (planner, horizon).
    pub problems: usize,
    /// Problem i uses seed `seed + i` (for the problem and the planner's RNG).
    pub seed: u64,
    /// Trial budget.
    pub budget: BudgetPolicy,
    /// Which world model (a path or "shipped").
    pub model: String,
    /// Where the planner settings came from (tuned file, or preset defaults).
    pub settings_source: String,
}

/// One trial: a contender on one problem at one horizon.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrialKey {
    /// Contender label.
    pub planner: String,
    /// Horizon T.
    pub horizon: usize,
    /// Problem index i (seed = config.seed + i).
    pub problem: usize,
}

impl fmt::Display for TrialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} H={} problem {}",
            self.planner, self.horizon, self.problem
        )
    }
}

impl BenchConfig {
    /// Whether some cell has a calibrated CPU-seconds-per-iteration budget (then time-to-success is reported
    /// in calibrated CPU seconds).
    pub fn has_calibrated_budgets(&self) -> bool {
        self.contenders.iter().any(|c| {
            self.horizons
                .iter()
                .any(|h| self.budget.seconds_per_iter(&c.label, *h).is_some())
        })
    }

    /// Checks lists, names, seeds and budgets; errors name the offending value.
    pub fn validate(&self) -> Result<(), BenchError> {
        let cfg = |m: String| Err(BenchError::Config(m));
        if self.contenders.is_empty() {
            return cfg("the planner list is empty".into());
        }
        if self.horizons.is_empty() {
            return cfg("the horizon list is empty".into());
        }
        if self.problems == 0 {
            return cfg("--problems must be at least 1".into());
        }
        if let Some(h) = self.horizons.iter().find(|h| **h == 0) {
            return cfg(format!("horizon {h} is invalid: horizons must be >= 1"));
        }
        for (i, h) in self.horizons.iter().enumerate() {
            if self.horizons[..i].contains(h) {
                return cfg(format!("horizon {h} is listed twice"));
            }
        }
        for (i, c) in self.contenders.iter().enumerate() {
            if self.contenders[..i].iter().any(|o| o.label == c.label) {
                return cfg(format!("planner '{}' is listed twice", c.label));
            }
            if c.check_every == 0 {
                return cfg(format!("check interval for '{}' must be >= 1", c.label));
            }
            c.params
                .validate()
                .map_err(|e| BenchError::Config(format!("planner '{}': {e}", c.label)))?;
            if let Some(m) = &c.mpc {
                m.validate()?;
                for &h in &self.horizons {
                    m.settings(h, self.budget.trial_budget(&c.label, h)?)?;
                }
            }
            for &h in &self.horizons {
                self.budget.trial_budget(&c.label, h)?;
            }
        }
        match &self.budget {
            BudgetPolicy::Time { seconds } if !(seconds.is_finite() && *seconds > 0.0) => {
                return cfg(format!("--budget-s {seconds} must be a finite number > 0"));
            }
            BudgetPolicy::Iters {
                time_cap_s: Some(s),
                ..
            } if !(s.is_finite() && *s > 0.0) => {
                return cfg(format!("time cap {s} must be a finite number > 0"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Problem seed of problem `i`, or an error on u64 overflow.
    pub fn problem_seed(&self, i: usize) -> Result<u64, BenchError> {
        self.seed.checked_add(i as u64).ok_or_else(|| {
            BenchError::Config(format!("seed {} + problem {i} overflows", self.seed))
        })
    }

    /// Checks that every problem seed lies in the evaluation range (below [`TUNING_SEED_BASE`]).
    pub fn check_evaluation_seeds(&self) -> Result<(), BenchError> {
        let last = self.problem_seed(self.problems - 1)?;
        if last >= TUNING_SEED_BASE {
            return Err(BenchError::Config(format!(
                "problem seeds {}..={last} reach the range reserved for tuning (>= {TUNING_SEED_BASE}); \
                 use a smaller --seed",
                self.seed
            )));
        }
        Ok(())
    }

    /// Every trial of the run in execution order (problem-major), restricted to `shard`.
    pub fn trials(&self, shard: Shard) -> Vec<TrialKey> {
        let mut out = Vec::new();
        for problem in (0..self.problems).filter(|p| shard.owns(*p)) {
            for &horizon in &self.horizons {
                for c in &self.contenders {
                    out.push(TrialKey {
                        planner: c.label.clone(),
                        horizon,
                        problem,
                    });
                }
            }
        }
        out
    }

    /// The contender with this label.
    pub fn contender(&self, label: &str) -> Option<&Contender> {
        self.contenders.iter().find(|c| c.label == label)
    }

    /// Whether `key` is a trial of this config (known planner and horizon, problem in range).
    pub fn has_trial(&self, key: &TrialKey) -> bool {
        self.contender(&key.planner).is_some()
            && self.horizons.contains(&key.horizon)
            && key.problem < self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BenchConfig {
        let c = |k: PlannerKind| Contender {
            label: k.name().into(),
            kind: k,
            params: k.default_params(),
            check_every: 5,
            mpc: None,
        };
        BenchConfig {
            env: EnvKind::Wall,
            contenders: vec![c(PlannerKind::Grasp), c(PlannerKind::Cem)],
            horizons: vec![10, 20],
            problems: 5,
            seed: 7,
            budget: BudgetPolicy::Time { seconds: 1.0 },
            model: "test".into(),
            settings_source: "presets".into(),
        }
    }

    #[test]
    fn trials_are_problem_major_and_shards_partition_them() {
        let cfg = config();
        let all = cfg.trials(Shard::ALL);
        assert_eq!(all.len(), 2 * 2 * 5);
        assert_eq!(
            (all[0].problem, all[0].horizon, all[0].planner.as_str()),
            (0, 10, "grasp")
        );
        assert_eq!(
            (all[1].problem, all[1].horizon, all[1].planner.as_str()),
            (0, 10, "cem")
        );
        assert_eq!((all[2].problem, all[2].horizon), (0, 20));
        assert_eq!(all[4].problem, 1);
        let mut union: Vec<TrialKey> = (0..3)
            .flat_map(|i| cfg.trials(Shard { index: i, count: 3 }))
            .collect();
        assert_eq!(union.len(), all.len());
        union.sort();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(union, sorted);
        assert!(cfg
            .trials(Shard { index: 1, count: 3 })
            .iter()
            .all(|t| t.problem % 3 == 1));
    }

    #[test]
    fn shard_and_iter_specs_parse_or_explain() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/2", "3", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let t: IterTable = "100,cem=30,gd@50=400".parse().unwrap();
        assert_eq!(t.get("grasp", 50), Some(100));
        assert_eq!(t.get("cem", 50), Some(30));
        assert_eq!(t.get("gd", 50), Some(400));
        assert_eq!(t.get("gd", 40), Some(100));
        assert_eq!(t.to_string().parse::<IterTable>().unwrap(), t);
        let t: IterTable = "cem=30".parse().unwrap();
        assert_eq!(t.get("grasp", 50), None);
        for bad in ["", "0", "cem=-1", "cem@x=3", "a,,b"] {
            assert!(bad.parse::<IterTable>().is_err(), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let mut c = config();
        c.horizons.clear();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("horizon list is empty"));
        let mut c = config();
        c.problems = 0;
        assert!(c.validate().unwrap_err().to_string().contains("--problems"));
        let mut c = config();
        c.budget = BudgetPolicy::Iters {
            table: "grasp=10".parse().unwrap(),
            time_cap_s: None,
            scaled_from: None,
            equal_time_s: None,
        };
        assert!(c.validate().unwrap_err().to_string().contains("'cem'"));
        let mut c = config();
        c.seed = TUNING_SEED_BASE - 2;
        assert!(c.check_evaluation_seeds().is_err());
        config().validate().unwrap();
    }
}
