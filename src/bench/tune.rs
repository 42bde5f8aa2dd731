//! Hyper-parameter tuning done right: a small grid per planner preset, run as an ordinary benchmark on tuning
//! seeds (≥ [`TUNING_SEED_BASE`], never used for evaluation), then the best grid point per preset is written to
//! a [`TunedSettings`] file that `bench` reads.
//!
//! A grid maps a preset name to axes `field → [values]` over that planner's parameter struct; the grid points
//! are the cartesian product applied on top of the preset's settings. The winner per preset maximizes tuning
//! successes over all horizons; ties go to the lower median time-to-success, then the lower median final
//! distance, then grid order.
//!
//! Closed-loop tuning (`tune --mpc`) also accepts axes `mpc.<field>` over [`MpcSpec`] (e.g. `mpc.first_frac`,
//! `mpc.execute`); each planner point is crossed with each MPC point and the winner's MPC settings are written
//! into its entry.

use std::collections::BTreeMap;

use serde_json::Value;

use super::closed_loop::{MpcSpec, MPC_SUFFIX};
use super::protocol::{BenchConfig, Contender, TUNING_SEED_BASE};
use super::settings::{SeedRange, TunedEntry, TunedSettings};
use super::stats::median;
use super::trial_log::TrialRecord;
use super::BenchError;
use crate::plan::{PlannerKind, PlannerParams};

/// Axes per preset name: field name → candidate values (JSON numbers/bools as in the params structs).
pub type Grid = BTreeMap<String, BTreeMap<String, Vec<Value>>>;

/// The default grid: 4–6 points per planner around the reference values (spec §A.8, §B).
pub const DEFAULT_GRID: &str = r#"{
  "grasp": { "lr_actions": [0.003, 0.01, 0.03], "noise": [0.005, 0.02] },
  "cem":   { "samples": [100, 300], "topk": [10, 30] },
  "gd":    { "lr": [0.1, 0.3, 1.0, 3.0] },
  "gd-adam": { "lr": [0.01, 0.03, 0.1] },
  "latco": { "lr_actions": [0.003, 0.01, 0.03], "lr_states": [0.03, 0.1] }
}"#;

/// Parses a grid (the `--grid` file or [`DEFAULT_GRID`]); checks preset names and that every point is valid.
pub fn parse_grid(text: &str, origin: &str) -> Result<Grid, BenchError> {
    let grid: Grid = serde_json::from_str(text).map_err(|e| BenchError::Corrupt {
        path: origin.into(),
        line: e.line(),
        msg: e.to_string(),
    })?;
    for (name, axes) in &grid {
        let kind: PlannerKind = name
            .parse()
            .map_err(|e: String| BenchError::Config(format!("{origin}: {e}")))?;
        if axes.values().any(Vec::is_empty) {
            return Err(BenchError::Config(format!(
                "{origin}: '{name}' has an empty axis"
            )));
        }
        grid_points(kind, &kind.default_params(), &grid)?;
        // Checked as adaptive MPC so an `mpc.trust_threshold` axis parses; whether the run executes
        // adaptively (`--mpc-execute trust`) is checked when the tune starts.
        let adaptive = MpcSpec {
            trust: true,
            ..MpcSpec::default()
        };
        mpc_points(kind, &adaptive, &grid)?;
    }
    Ok(grid)
}

/// The grid points of preset `kind` applied on `base` params: (label, params). Label is
/// `name[field=value,...]`, or just `name` if the grid has no axes for it.
pub fn grid_points(
    kind: PlannerKind,
    base: &PlannerParams,
    grid: &Grid,
) -> Result<Vec<(String, PlannerParams)>, BenchError> {
    let name = kind.name();
    let axes = planner_axes(grid, name, false);
    if axes.is_empty() {
        return Ok(vec![(name.to_string(), base.clone())]);
    }
    let base_value = serde_json::to_value(base)
        .map_err(|e| BenchError::Internal(format!("params to json: {e}")))?;
    let mut points: Vec<Vec<(&String, &Value)>> = vec![vec![]];
    for (field, values) in axes {
        if base_value.get(field).is_none() || field == "planner" {
            return Err(BenchError::Config(format!(
                "grid: '{field}' is not a parameter of {name}"
            )));
        }
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((field, v));
                    q
                })
            })
            .collect();
    }
    points
        .into_iter()
        .map(|pt| {
            let mut v = base_value.clone();
            let mut desc = Vec::new();
            for (field, value) in &pt {
                if let Some(o) = v.as_object_mut() {
                    o.insert((*field).clone(), (*value).clone());
                }
                desc.push(format!("{field}={value}"));
            }
            let label = format!("{name}[{}]", desc.join(","));
            let params: PlannerParams = serde_json::from_value(v)
                .map_err(|e| BenchError::Config(format!("grid point {label}: {e}")))?;
            params
                .validate()
                .map_err(|e| BenchError::Config(format!("grid point {label}: {e}")))?;
            Ok((label, params))
        })
        .collect()
}

/// The axes of preset `name`: the planner's own (`mpc == false`) or the `mpc.` ones with the prefix removed.
fn planner_axes<'g>(grid: &'g Grid, name: &str, mpc: bool) -> Vec<(&'g String, &'g Vec<Value>)> {
    grid.get(name)
        .map(|axes| {
            axes.iter()
                .filter(|(f, _)| f.starts_with("mpc.") == mpc)
                .collect()
        })
        .unwrap_or_default()
}

/// The closed-loop grid points of preset `kind` on `base`: (description, spec), one `(String::new(), base)`
/// without `mpc.` axes. Descriptions read `mpc.field=value,...`.
pub fn mpc_points(
    kind: PlannerKind,
    base: &MpcSpec,
    grid: &Grid,
) -> Result<Vec<(String, MpcSpec)>, BenchError> {
    let axes = planner_axes(grid, kind.name(), true);
    let base_value = serde_json::to_value(base)
        .map_err(|e| BenchError::Internal(format!("mpc settings to json: {e}")))?;
    let mut points: Vec<(Vec<String>, Value)> = vec![(Vec::new(), base_value.clone())];
    for (field, values) in axes {
        let key = field.trim_start_matches("mpc.");
        if base_value.get(key).is_none() {
            return Err(BenchError::Config(format!(
                "grid: '{field}' is not an MPC setting (execute, window, first_frac, replan_iters, pad, reset_cem_std, trust_threshold)"
            )));
        }
        points = points
            .into_iter()
            .flat_map(|(desc, v)| {
                values.iter().map(move |x| {
                    let mut v = v.clone();
                    if let Some(o) = v.as_object_mut() {
                        o.insert(key.to_string(), x.clone());
                    }
                    let mut desc = desc.clone();
                    desc.push(format!("{field}={x}"));
                    (desc, v)
                })
            })
            .collect();
    }
    points
        .into_iter()
        .map(|(desc, v)| {
            let desc = desc.join(",");
            let spec: MpcSpec = serde_json::from_value(v)
                .map_err(|e| BenchError::Config(format!("grid point {desc}: {e}")))?;
            spec.validate()?;
            Ok((desc, spec))
        })
        .collect()
}

/// The label of planner grid point `label` crossed with MPC point `mpc_desc`: `grasp[lr=0.1,mpc.execute=2]+mpc`.
pub fn mpc_label(label: &str, mpc_desc: &str) -> String {
    let joined = match (label.strip_suffix(']'), mpc_desc.is_empty()) {
        (_, true) => label.to_string(),
        (Some(open), false) => format!("{open},{mpc_desc}]"),
        (None, false) => format!("{label}[{mpc_desc}]"),
    };
    format!("{joined}{MPC_SUFFIX}")
}

/// Maps a user tuning seed to the reserved tuning range.
pub fn tuning_seed(seed: u64) -> Result<u64, BenchError> {
    TUNING_SEED_BASE
        .checked_add(seed)
        .ok_or_else(|| BenchError::Config(format!("tuning seed {seed} is too large")))
}

/// Picks the best grid point per preset from a finished tuning run and builds the settings file.
/// `presets` maps each contender label to its preset.
pub fn choose(
    config: &BenchConfig,
    presets: &BTreeMap<String, PlannerKind>,
    records: &[TrialRecord],
    command: String,
    machine: Vec<String>,
) -> Result<TunedSettings, BenchError> {
    struct Score<'a> {
        contender: &'a Contender,
        trials: usize,
        successes: usize,
        tts: Option<f64>,
        dist: f64,
    }
    let mut best: BTreeMap<String, Score> = BTreeMap::new();
    for c in &config.contenders {
        let rs: Vec<&TrialRecord> = records.iter().filter(|r| r.planner == c.label).collect();
        if rs.is_empty() {
            continue;
        }
        let tts: Vec<f64> = rs.iter().filter_map(|r| r.time_to_success_s).collect();
        let dist: Vec<f64> = rs.iter().map(|r| r.final_distance).collect();
        let s = Score {
            contender: c,
            trials: rs.len(),
            successes: rs.iter().filter(|r| r.success).count(),
            tts: median(&tts),
            dist: median(&dist).unwrap_or(f64::INFINITY),
        };
        let preset = presets
            .get(&c.label)
            .ok_or_else(|| BenchError::Internal(format!("no preset for '{}'", c.label)))?
            .name()
            .to_string();
        let better = match best.get(&preset) {
            None => true,
            Some(b) => {
                let rate = |x: &Score| x.successes as f64 / x.trials as f64;
                let t = |x: &Score| x.tts.unwrap_or(f64::INFINITY);
                (rate(&s), -t(&s), -s.dist) > (rate(b), -t(b), -b.dist)
            }
        };
        if better {
            best.insert(preset, s);
        }
    }
    let planners = best
        .into_iter()
        .map(|(preset, s)| {
            let grid_point = s
                .contender
                .label
                .trim_end_matches(MPC_SUFFIX)
                .split_once('[')
                .map(|(_, rest)| rest.trim_end_matches(']').to_string())
                .unwrap_or_else(|| {
                    "no grid for this preset: its base settings (--from, else the preset defaults)"
                        .into()
                });
            let entry = TunedEntry {
                params: s.contender.params.clone(),
                check_every: s.contender.check_every,
                grid_point,
                success_rate: s.successes as f64 / s.trials as f64,
                median_time_to_success_s: s.tts,
                trials: s.trials,
                mpc: s.contender.mpc.clone(),
            };
            (preset, entry)
        })
        .collect();
    Ok(TunedSettings {
        format: super::settings::TUNED_FORMAT,
        env: config.env,
        note: format!(
            "Chosen by 'grasp-explorer tune' on {} tuning problems per horizon (seeds disjoint from evaluation); \
             winner per planner = most successes, then lowest median time-to-success.",
            config.problems
        ),
        command,
        machine,
        tuning_seeds: Some(SeedRange {
            first: config.seed,
            count: config.problems as u64,
        }),
        horizons: config.horizons.clone(),
        budget: config.budget.describe(),
        planners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::protocol::BudgetPolicy;
    use crate::bench::trial_log::tests::record;
    use crate::env::EnvKind;

    #[test]
    fn default_grid_expands_to_valid_points() {
        let grid = parse_grid(DEFAULT_GRID, "default").unwrap();
        let pts = grid_points(
            PlannerKind::Grasp,
            &PlannerKind::Grasp.default_params(),
            &grid,
        )
        .unwrap();
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[0].0, "grasp[lr_actions=0.003,noise=0.005]");
        let PlannerParams::Grasp(g) = &pts[5].1 else {
            panic!()
        };
        assert_eq!((g.lr_actions, g.noise), (0.03, 0.02));
        let pts = grid_points(
            PlannerKind::GraspNoSync,
            &PlannerKind::GraspNoSync.default_params(),
            &grid,
        )
        .unwrap();
        assert_eq!(pts.len(), 1);
        assert!(parse_grid(r#"{"grasp": {"warp": [1]}}"#, "x").is_err());
        assert!(parse_grid(r#"{"grasp": {"lr_actions": [-1]}}"#, "x").is_err());
        assert!(parse_grid(r#"{"nope": {}}"#, "x").is_err());
    }

    #[test]
    fn mpc_axes_cross_with_planner_axes() {
        let grid = parse_grid(
            r#"{"grasp": {"lr_actions": [0.01], "mpc.first_frac": [0.3, 0.6]}}"#,
            "x",
        )
        .unwrap();
        let pts = grid_points(
            PlannerKind::Grasp,
            &PlannerKind::Grasp.default_params(),
            &grid,
        )
        .unwrap();
        assert_eq!(pts.len(), 1, "mpc axes are not planner axes");
        let m = mpc_points(PlannerKind::Grasp, &MpcSpec::default(), &grid).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].1.first_frac, 0.6);
        assert_eq!(
            mpc_label(&pts[0].0, &m[0].0),
            "grasp[lr_actions=0.01,mpc.first_frac=0.3]+mpc"
        );
        assert_eq!(mpc_label("cem", ""), "cem+mpc");
        assert!(parse_grid(r#"{"grasp": {"mpc.warp": [1]}}"#, "x").is_err());
        let thresholds = parse_grid(r#"{"cem": {"mpc.trust_threshold": [0, 2.5]}}"#, "x").unwrap();
        let adaptive = MpcSpec {
            trust: true,
            ..MpcSpec::default()
        };
        let m = mpc_points(PlannerKind::Cem, &adaptive, &thresholds).unwrap();
        assert_eq!(m[1].1.trust_threshold, Some(2.5));
        assert!(mpc_points(PlannerKind::Cem, &MpcSpec::default(), &thresholds).is_err());
        assert!(parse_grid(r#"{"cem": {"mpc.trust_threshold": [-1]}}"#, "x").is_err());
        assert!(parse_grid(r#"{"grasp": {"mpc.first_frac": [2.0]}}"#, "x").is_err());
    }

    #[test]
    fn the_winner_has_most_successes_then_fastest() {
        let grid = parse_grid(DEFAULT_GRID, "default").unwrap();
        let pts = grid_points(PlannerKind::Cem, &PlannerKind::Cem.default_params(), &grid).unwrap();
        let contenders: Vec<Contender> = pts
            .iter()
            .map(|(l, p)| Contender {
                label: l.clone(),
                kind: PlannerKind::Cem,
                params: p.clone(),
                check_every: 1,
                mpc: None,
            })
            .collect();
        let presets = contenders
            .iter()
            .map(|c| (c.label.clone(), PlannerKind::Cem))
            .collect();
        let config = BenchConfig {
            env: EnvKind::Wall,
            contenders: contenders.clone(),
            horizons: vec![10],
            problems: 4,
            seed: TUNING_SEED_BASE,
            budget: BudgetPolicy::Time { seconds: 1.0 },
            model: "m".into(),
            settings_source: "presets".into(),
        };
        // Points 1 and 2 both solve 3/4; point 2 is faster (TTS scaled down).
        let mut recs = Vec::new();
        for (i, c) in contenders.iter().enumerate() {
            for p in 0..4 {
                let ok = (i == 1 || i == 2) && p < 3 || (i == 0 && p == 0);
                let mut r = record(&c.label, 10, p, ok);
                if i == 2 {
                    r.time_to_success_s = r.time_to_success_s.map(|t| t / 2.0);
                }
                recs.push(r);
            }
        }
        let t = choose(&config, &presets, &recs, "tune".into(), vec![]).unwrap();
        let e = &t.planners["cem"];
        assert_eq!(e.params, contenders[2].params);
        assert_eq!(e.success_rate, 0.75);
        assert_eq!(e.grid_point, "samples=300,topk=10");
        assert_eq!(t.tuning_seeds.unwrap().first, TUNING_SEED_BASE);
    }
}
