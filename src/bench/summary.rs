//! Per-(planner, horizon) summaries of trial records and their reports: `summary.json` (machine-readable,
//! also what `bench --json` prints) and `summary.md` (a table shaped like the paper's Table 1 plus details).
//!
//! A summary is a pure function of the config and the records, so a resumed run, a merged set of shards and
//! an uninterrupted run with the same records produce identical summaries.

use serde::{Deserialize, Serialize};

use super::protocol::BenchConfig;
use super::stats::{median, quartiles, wald, wilson, Z95};
use super::trial_log::TrialRecord;

/// Statistics of one (planner, horizon) cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// Environment name.
    pub env: String,
    /// Planner label.
    pub planner: String,
    /// Horizon T.
    pub horizon: usize,
    /// Trials finished in this cell.
    pub problems: usize,
    /// Trials planned for this cell.
    pub expected: usize,
    /// Successful trials.
    pub successes: usize,
    /// Trials whose final plan reached the goal under the world model (decoded model rollout judged by the
    /// env's success rule; MPC: the first plan), over the trials that recorded it.
    #[serde(default)]
    pub model_successes: usize,
    /// model_successes / trials that recorded it (null if none did, e.g. logs from before it existed).
    #[serde(default)]
    pub model_success_rate: Option<f64>,
    /// Trials that succeeded under the model and failed in the simulator (the model was exploited or drifted).
    #[serde(default)]
    pub exploited: usize,
    /// successes / problems (null if no trials).
    pub success_rate: Option<f64>,
    /// Wilson 95% interval, low end.
    pub ci_low: Option<f64>,
    /// Wilson 95% interval, high end.
    pub ci_high: Option<f64>,
    /// Wald 95% interval, low end (the paper's Fig. 5 uses Wald).
    pub wald_low: Option<f64>,
    /// Wald 95% interval, high end.
    pub wald_high: Option<f64>,
    /// Median planner time to first success over successful trials, seconds.
    pub median_time_to_success_s: Option<f64>,
    /// First quartile of time to success, seconds.
    pub time_to_success_q25_s: Option<f64>,
    /// Third quartile of time to success, seconds.
    pub time_to_success_q75_s: Option<f64>,
    /// Median iterations to success over successful trials (a trial stops at its first successful check).
    pub median_iterations_to_success: Option<f64>,
    /// With calibrated iteration budgets: median over successful trials of iterations × calibrated CPU seconds
    /// per iteration — time-to-success in CPU seconds of this machine, insensitive to other load.
    pub median_time_to_success_cpu_s: Option<f64>,
    /// Median final goal distance of the executed plan over all trials (env units).
    pub median_final_distance: Option<f64>,
    /// Median of ‖rollout_T − g‖ under the world model over all trials (model space).
    pub median_model_terminal_error: Option<f64>,
    /// Total iterations / total planner time.
    pub iters_per_s: Option<f64>,
    /// Median planner time per trial, seconds.
    pub median_planning_time_s: Option<f64>,
    /// Trials whose optimizer diverged.
    pub diverged: usize,
}

/// A whole run's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Environment name.
    pub env: String,
    /// Which budget was used, in words.
    pub budget: String,
    /// How trials were timed.
    pub timing: String,
    /// Trials finished.
    pub trials_done: usize,
    /// Trials planned (all shards).
    pub trials_expected: usize,
    /// Whether every planned trial has a record.
    pub complete: bool,
    /// One entry per (planner, horizon), planners in config order, then horizons in config order.
    pub cells: Vec<CellSummary>,
    /// The run's configuration.
    pub config: BenchConfig,
    /// The machine the records came from (as recorded by the run or runs).
    pub machine: Vec<String>,
    /// In a shard's directory: which shard, and how many trials it owns (`trials_expected` and `complete`
    /// stay the whole run's). Absent for a whole or merged run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardProgress>,
}

/// A shard's share of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardProgress {
    /// The shard, `i/n`.
    pub shard: String,
    /// Trials this shard owns.
    pub trials_expected: usize,
}

impl Summary {
    /// What a plot title adds: "", " (INCOMPLETE)", " (shard 0/2)" or " (shard 0/2, INCOMPLETE)".
    pub fn title_status(&self) -> String {
        match (&self.shard, self.finished()) {
            (None, true) => String::new(),
            (None, false) => " (INCOMPLETE)".into(),
            (Some(p), true) => format!(" (shard {})", p.shard),
            (Some(p), false) => format!(" (shard {}, INCOMPLETE)", p.shard),
        }
    }

    /// Whether this directory's work is done: every trial of the run, or for a shard every trial it owns.
    pub fn finished(&self) -> bool {
        match &self.shard {
            Some(p) => self.trials_done == p.trials_expected,
            None => self.complete,
        }
    }
}

/// What the summary says about timing.
pub const TIMING_NOTE: &str =
    "trials run one after another on one thread; planner time excludes the \
     open-loop success checks in the simulator";

/// Summarizes `records` (assumed checked against `config`: known keys, no duplicates).
pub fn summarize(config: &BenchConfig, records: &[TrialRecord], machine: Vec<String>) -> Summary {
    let mut cells = Vec::new();
    for c in &config.contenders {
        for &h in &config.horizons {
            let rs: Vec<&TrialRecord> = records
                .iter()
                .filter(|r| r.planner == c.label && r.horizon == h)
                .collect();
            cells.push(cell(config, &c.label, h, &rs));
        }
    }
    let trials_expected = config.problems * config.horizons.len() * config.contenders.len();
    Summary {
        env: config.env.name().to_string(),
        budget: config.budget.describe(),
        timing: TIMING_NOTE.to_string(),
        trials_done: records.len(),
        trials_expected,
        complete: records.len() == trials_expected,
        cells,
        config: config.clone(),
        machine,
        shard: None,
    }
}

fn cell(config: &BenchConfig, planner: &str, horizon: usize, rs: &[&TrialRecord]) -> CellSummary {
    let n = rs.len();
    let successes = rs.iter().filter(|r| r.success).count();
    let recorded: Vec<(bool, bool)> = rs
        .iter()
        .filter_map(|r| r.model_success.map(|m| (r.success, m)))
        .collect();
    let model_successes = recorded.iter().filter(|(_, m)| *m).count();
    let exploited = recorded.iter().filter(|(sim, m)| *m && !*sim).count();
    let tts: Vec<f64> = rs.iter().filter_map(|r| r.time_to_success_s).collect();
    let its: Vec<f64> = rs
        .iter()
        .filter(|r| r.success)
        .map(|r| r.iterations as f64)
        .collect();
    let spi = config.budget.seconds_per_iter(planner, horizon);
    let cpu_tts: Vec<f64> = spi
        .map(|k| its.iter().map(|i| i * k).collect())
        .unwrap_or_default();
    let dist: Vec<f64> = rs.iter().map(|r| r.final_distance).collect();
    let model_err: Vec<f64> = rs.iter().map(|r| r.model_terminal_error).collect();
    let times: Vec<f64> = rs.iter().map(|r| r.planning_time_s).collect();
    let total_time: f64 = times.iter().sum();
    let total_iters: usize = rs.iter().map(|r| r.iterations).sum();
    let wil = wilson(successes, n, Z95);
    let wal = wald(successes, n, Z95);
    let q = quartiles(&tts);
    CellSummary {
        env: config.env.name().to_string(),
        planner: planner.to_string(),
        horizon,
        problems: n,
        expected: config.problems,
        successes,
        success_rate: (n > 0).then(|| successes as f64 / n as f64),
        model_successes,
        model_success_rate: (!recorded.is_empty())
            .then(|| model_successes as f64 / recorded.len() as f64),
        exploited,
        ci_low: wil.map(|i| i.low),
        ci_high: wil.map(|i| i.high),
        wald_low: wal.map(|i| i.low),
        wald_high: wal.map(|i| i.high),
        median_time_to_success_s: median(&tts),
        time_to_success_q25_s: q.map(|q| q.0),
        time_to_success_q75_s: q.map(|q| q.1),
        median_iterations_to_success: median(&its),
        median_time_to_success_cpu_s: median(&cpu_tts),
        median_final_distance: median(&dist),
        median_model_terminal_error: median(&model_err),
        iters_per_s: (total_time > 0.0).then(|| total_iters as f64 / total_time),
        median_planning_time_s: median(&times),
        diverged: rs.iter().filter(|r| r.diverged.is_some()).count(),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}", 100.0 * v))
        .unwrap_or_else(|| "—".into())
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}"))
        .unwrap_or_else(|| "—".into())
}

/// The header and rule of a horizon × planner table.
fn table_head(cfg: &BenchConfig) -> String {
    let mut md = String::from("| H |");
    for c in &cfg.contenders {
        md += &format!(" {} |", c.label);
    }
    md += "\n|---|";
    md += &"---|".repeat(cfg.contenders.len());
    md + "\n"
}

/// The Markdown report: status, budget, a paper-shaped table, per-cell details and planner settings.
pub fn to_markdown(s: &Summary) -> String {
    let cfg = &s.config;
    let mut md = format!("# Benchmark summary: {}\n\n", s.env);
    let status = if let Some(p) = &s.shard {
        format!(
            "shard {} {} ({} of its {} trials; the run has {} — `bench merge` the shards for its tables)",
            p.shard,
            if s.finished() {
                "complete"
            } else {
                "**INCOMPLETE**"
            },
            s.trials_done,
            p.trials_expected,
            s.trials_expected
        )
    } else if s.complete {
        format!(
            "complete ({} of {} trials)",
            s.trials_done, s.trials_expected
        )
    } else {
        format!(
            "**INCOMPLETE** ({} of {} trials) — numbers cover only finished trials",
            s.trials_done, s.trials_expected
        )
    };
    md += &format!("- Status: {status}\n");
    md += &format!("- Budget: {}\n", s.budget);
    md += &format!("- Timing: {}\n", s.timing);
    md += &format!(
        "- Problems: {} per (planner, horizon), seeds {}..{} (Problem::generate(env, H, seed + i))\n",
        cfg.problems,
        cfg.seed,
        cfg.seed.saturating_add(cfg.problems as u64)
    );
    md += &format!("- World model: {}\n", cfg.model);
    md += &format!("- Planner settings: {}\n", cfg.settings_source);
    for m in &s.machine {
        md += &format!("- Machine: {m}\n");
    }
    let cpu = cfg.has_calibrated_budgets();
    md += "\n## Success rate % [95% Wilson CI] / median time-to-success (s)\n\n";
    md += if cpu {
        "Time-to-success here is in calibrated CPU seconds: iterations to the first success × the CPU \
         seconds per iteration measured before the run (insensitive to other load; the wall-clock planner \
         time is in the details). The first success is an open-loop trial's first successful check, a \
         closed-loop (+mpc) trial's first executed step that meets the success rule (its iterations \
         summed over every plan so far). Median over successful trials only (as in the paper's \
         Table 1).\n\n"
    } else {
        "Time-to-success is wall-clock planner time at the first success (open loop: the first successful \
         check; closed loop, +mpc: the first executed step that meets the success rule, planner time summed \
         over every plan so far), median over successful trials only (as in the paper's Table 1).\n\n"
    };
    md += &table_head(cfg);
    for &h in &cfg.horizons {
        md += &format!("| {h} |");
        for c in &cfg.contenders {
            let Some(cell) = s
                .cells
                .iter()
                .find(|x| x.planner == c.label && x.horizon == h)
            else {
                md += " — |";
                continue;
            };
            md += &format!(
                " {} [{}, {}] / {} |",
                pct(cell.success_rate),
                pct(cell.ci_low),
                pct(cell.ci_high),
                num(
                    if cpu {
                        cell.median_time_to_success_cpu_s
                    } else {
                        cell.median_time_to_success_s
                    },
                    2
                )
            );
        }
        md += "\n";
    }
    if s.cells.iter().any(|c| c.model_success_rate.is_some()) {
        md += "\n## Success under the world model %\n\n";
        md += "The env's success rule on the decoded terminal state of the final plan's model rollout (MPC: \
               the first plan's), in brackets the trials that succeed under the model and fail in the \
               simulator (exploited or drifted).\n\n";
        md += &table_head(cfg);
        for &h in &cfg.horizons {
            md += &format!("| {h} |");
            for c in &cfg.contenders {
                match s
                    .cells
                    .iter()
                    .find(|x| x.planner == c.label && x.horizon == h)
                {
                    Some(cell) => {
                        md += &format!(" {} ({}) |", pct(cell.model_success_rate), cell.exploited)
                    }
                    None => md += " — |",
                }
            }
            md += "\n";
        }
    }
    md += "\n## Details\n\n| planner | H | trials | successes | success % | 95% Wilson | 95% Wald | \
           median TTS s | TTS IQR s | median TTS CPU s | median iters to success | median final dist (env units) | median model ‖s_T − g‖ (model space) | \
           success under the model % | exploited | iters/s | median planner s | diverged |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for c in &s.cells {
        md += &format!(
            "| {} | {} | {}/{} | {} | {} | [{}, {}] | [{}, {}] | {} | [{}, {}] | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.planner,
            c.horizon,
            c.problems,
            c.expected,
            c.successes,
            pct(c.success_rate),
            pct(c.ci_low),
            pct(c.ci_high),
            pct(c.wald_low),
            pct(c.wald_high),
            num(c.median_time_to_success_s, 2),
            num(c.time_to_success_q25_s, 2),
            num(c.time_to_success_q75_s, 2),
            num(c.median_time_to_success_cpu_s, 2),
            num(c.median_iterations_to_success, 0),
            num(c.median_final_distance, 2),
            num(c.median_model_terminal_error, 2),
            pct(c.model_success_rate),
            c.exploited,
            num(c.iters_per_s, 1),
            num(c.median_planning_time_s, 3),
            c.diverged
        );
    }
    md += "\n## Planner settings\n\n";
    for c in &cfg.contenders {
        let params = serde_json::to_string(&c.params).unwrap_or_default();
        md += &format!(
            "- `{}` (preset {}, success check every {} iterations): `{params}`\n",
            c.label, c.kind, c.check_every
        );
    }
    md
}

/// A one-line description of this machine: CPU model, logical CPUs, memory, OS.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{cpu}, {cpus} logical CPUs{mem}, {} ({})",
        std::env::consts::OS,
        env!("CARGO_PKG_NAME").to_owned() + " " + env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::protocol::{BudgetPolicy, Contender};
    use crate::bench::trial_log::tests::record;
    use crate::env::EnvKind;
    use crate::plan::PlannerKind;

    pub(crate) fn config() -> BenchConfig {
        let c = |k: PlannerKind| Contender {
            label: k.name().into(),
            kind: k,
            params: k.default_params(),
            check_every: 5,
            mpc: None,
        };
        BenchConfig {
            env: EnvKind::Pusht,
            contenders: vec![c(PlannerKind::Grasp), c(PlannerKind::Cem)],
            horizons: vec![10],
            problems: 4,
            seed: 100,
            budget: BudgetPolicy::Time { seconds: 2.0 },
            model: "test".into(),
            settings_source: "presets".into(),
        }
    }

    #[test]
    fn cells_hold_hand_computed_statistics() {
        // grasp: problems 0..4, success on even problems → 2/4, TTS 0.125 and 0.375.
        let recs: Vec<_> = (0..4).map(|i| record("grasp", 10, i, i % 2 == 0)).collect();
        let s = summarize(&config(), &recs, vec![]);
        assert_eq!(s.cells.len(), 2);
        let g = &s.cells[0];
        assert_eq!((g.problems, g.successes), (4, 2));
        assert_eq!(g.success_rate, Some(0.5));
        assert_eq!(g.median_time_to_success_s, Some(0.25));
        assert_eq!(g.time_to_success_q25_s, Some(0.1875));
        assert_eq!(g.median_final_distance, Some(4.75));
        assert!((g.iters_per_s.unwrap() - 160.0 / 6.0).abs() < 1e-9);
        assert_eq!(g.diverged, 1);
        // 2/4 Wilson: centre 0.5, half = 1.959964/1.960365 · sqrt(0.0625 + 0.060022) = 0.349961.
        assert!((g.ci_low.unwrap() - 0.150_039).abs() < 1e-5, "{g:?}");
        let c = &s.cells[1];
        assert_eq!((c.problems, c.success_rate, c.ci_low), (0, None, None));
        assert!(!s.complete);
        let md = to_markdown(&s);
        assert!(
            md.contains("| 10 | 50.0 [15.0, 85.0] / 0.25 | — [—, —] / — |"),
            "{md}"
        );
        assert!(md.contains("INCOMPLETE"));
        // record(): success under the model on successes and on problem 1 → 3/4, one exploited.
        assert_eq!(
            (g.model_successes, g.model_success_rate, g.exploited),
            (3, Some(0.75), 1)
        );
        assert!(md.contains("| 10 | 75.0 (1) | — (0) |"), "{md}");
        assert_eq!(g.median_iterations_to_success, Some(40.0));
        assert_eq!(g.median_time_to_success_cpu_s, None);
        // Calibrated iterations: 40 iterations stand for 2 CPU s, so each success took 40 × 0.05 s.
        let mut cfg = config();
        cfg.budget = BudgetPolicy::Iters {
            table: "40".parse().unwrap(),
            time_cap_s: None,
            scaled_from: Some("test".into()),
            equal_time_s: Some(2.0),
        };
        let s = summarize(&cfg, &recs, vec![]);
        assert_eq!(s.cells[0].median_time_to_success_cpu_s, Some(2.0));
        assert!(to_markdown(&s).contains("| 10 | 50.0 [15.0, 85.0] / 2.00 |"));
    }
}
