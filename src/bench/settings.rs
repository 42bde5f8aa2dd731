//! Planner settings for a benchmark: the tuned-settings file format `tune` writes and `bench` reads, the files
//! shipped in `assets/tuned/<env>.json` (compiled in), and how a preset name becomes full parameters.
//!
//! Resolution of a preset (e.g. `grasp-nosync`): its own tuned entry if the file has one; else the tuned entry
//! of its family's base preset (`grasp`) with the preset's ablation switches applied on top; else the preset's
//! built-in defaults. So ablations inherit the tuned learning rates and differ only in what they ablate.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::protocol::TUNING_SEED_BASE;
use super::BenchError;
use crate::env::EnvKind;
use crate::plan::{PlannerKind, PlannerParams};

/// Default success-check interval (iterations) per planner family when neither the command line nor the
/// settings file gives one. CEM iterations are expensive, so it is checked every iteration (DINO-WM's
/// `eval_every` = 1); GD every 10 (DINO-WM); GRASP and LatCo iterate fastest and are checked every 25.
pub fn default_check_every(kind: PlannerKind) -> usize {
    match kind.default_params() {
        PlannerParams::Cem(_) => 1,
        PlannerParams::Gd(_) => 10,
        PlannerParams::Grasp(_) | PlannerParams::Latco(_) => 25,
    }
}

/// The tuned-settings format version this build reads and writes.
pub const TUNED_FORMAT: u32 = 1;

/// A contiguous range of problem seeds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRange {
    /// First seed.
    pub first: u64,
    /// Number of seeds.
    pub count: u64,
}

/// The chosen settings of one preset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunedEntry {
    /// Full parameters.
    pub params: PlannerParams,
    /// Success check interval used while tuning (iterations).
    pub check_every: usize,
    /// Which grid point won, in words.
    pub grid_point: String,
    /// Its tuning success rate over all tuning trials.
    pub success_rate: f64,
    /// Its median time-to-success over successful tuning trials, seconds.
    pub median_time_to_success_s: Option<f64>,
    /// Tuning trials behind the choice.
    pub trials: usize,
    /// Closed-loop settings, for a file tuned with `tune --mpc` (absent for open-loop files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpc: Option<super::closed_loop::MpcSpec>,
}

/// A tuned-settings file (`assets/tuned/<env>.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunedSettings {
    /// Format version ([`TUNED_FORMAT`]); readers refuse any other.
    pub format: u32,
    /// Environment the settings are for.
    pub env: EnvKind,
    /// Provenance in words.
    pub note: String,
    /// The `tune` command that produced the file.
    pub command: String,
    /// Machines the tuning ran on.
    pub machine: Vec<String>,
    /// Problem seeds used for tuning (disjoint from evaluation seeds).
    pub tuning_seeds: Option<SeedRange>,
    /// Horizons tuned at.
    pub horizons: Vec<usize>,
    /// Budget used while tuning, in words.
    pub budget: String,
    /// Chosen settings per preset name.
    pub planners: BTreeMap<String, TunedEntry>,
}

impl TunedSettings {
    /// Parses and checks a settings file's text (`origin` names it in errors).
    pub fn parse(text: &str, origin: &str) -> Result<Self, BenchError> {
        let t: TunedSettings = serde_json::from_str(text).map_err(|e| BenchError::Corrupt {
            path: origin.into(),
            line: e.line(),
            msg: e.to_string(),
        })?;
        if t.format != TUNED_FORMAT {
            return Err(BenchError::Corrupt {
                path: origin.into(),
                line: 1,
                msg: format!(
                    "tuned-settings format {} (this build reads format {TUNED_FORMAT}; a newer file needs a newer grasp-explorer)",
                    t.format
                ),
            });
        }
        for (name, entry) in &t.planners {
            let kind: PlannerKind = name.parse().map_err(|e: String| BenchError::Corrupt {
                path: origin.into(),
                line: 1,
                msg: e,
            })?;
            if kind.default_params().family() != entry.params.family() {
                return Err(BenchError::Corrupt {
                    path: origin.into(),
                    line: 1,
                    msg: format!("entry '{name}' holds {} parameters", entry.params.family()),
                });
            }
            entry.params.validate().map_err(|e| BenchError::Corrupt {
                path: origin.into(),
                line: 1,
                msg: format!("entry '{name}': {e}"),
            })?;
        }
        Ok(t)
    }

    /// Reads a settings file.
    pub fn read(path: &Path) -> Result<Self, BenchError> {
        let text = std::fs::read_to_string(path).map_err(|e| BenchError::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The settings shipped for `env` (compiled from `assets/tuned/<env>.json`).
    pub fn shipped(env: EnvKind) -> Result<Self, BenchError> {
        let (text, name) = match env {
            EnvKind::Pusht => (include_str!("../../assets/tuned/pusht.json"), "pusht"),
            EnvKind::Pointmaze => (
                include_str!("../../assets/tuned/pointmaze.json"),
                "pointmaze",
            ),
            EnvKind::Wall => (include_str!("../../assets/tuned/wall.json"), "wall"),
        };
        Self::parse(text, &format!("assets/tuned/{name}.json (shipped)"))
    }

    /// Errors if the file's tuning seeds overlap evaluation seeds `first..first+count`.
    pub fn check_disjoint(&self, first: u64, count: u64) -> Result<(), BenchError> {
        if let Some(r) = self.tuning_seeds {
            let overlap =
                first < r.first.saturating_add(r.count) && r.first < first.saturating_add(count);
            if overlap || r.first < TUNING_SEED_BASE {
                return Err(BenchError::Config(format!(
                    "the settings were tuned on seeds {}..{} which overlap or may overlap evaluation seeds \
                     {first}..{}; evaluate on other seeds",
                    r.first,
                    r.first.saturating_add(r.count),
                    first.saturating_add(count)
                )));
            }
        }
        Ok(())
    }
}

/// The base preset of a family (`grasp`, `cem`, `gd`, `latco`).
pub fn family_base(kind: PlannerKind) -> PlannerKind {
    match kind.default_params() {
        PlannerParams::Grasp(_) => PlannerKind::Grasp,
        PlannerParams::Cem(_) => PlannerKind::Cem,
        PlannerParams::Gd(_) => PlannerKind::Gd,
        PlannerParams::Latco(_) => PlannerKind::Latco,
    }
}

/// Applies the fields where `kind`'s preset differs from its family base preset onto `base` params.
pub fn apply_preset_delta(
    kind: PlannerKind,
    base: &PlannerParams,
) -> Result<PlannerParams, BenchError> {
    let to_value = |p: &PlannerParams| {
        serde_json::to_value(p).map_err(|e| BenchError::Internal(format!("params to json: {e}")))
    };
    let preset = to_value(&kind.default_params())?;
    let family_default = to_value(&family_base(kind).default_params())?;
    let mut out = to_value(base)?;
    if let (Some(p), Some(d), Some(o)) = (
        preset.as_object(),
        family_default.as_object(),
        out.as_object_mut(),
    ) {
        for (k, v) in p {
            if d.get(k) != Some(v) {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::from_value(out).map_err(|e| BenchError::Internal(format!("params from json: {e}")))
}

/// Full parameters and check interval for preset `kind`, and where they came from.
pub fn resolve(
    kind: PlannerKind,
    tuned: Option<&TunedSettings>,
) -> Result<(PlannerParams, usize, String), BenchError> {
    let name = kind.name();
    if let Some(t) = tuned {
        if let Some(e) = t.planners.get(name) {
            return Ok((
                e.params.clone(),
                e.check_every,
                format!("tuned ({})", e.grid_point),
            ));
        }
        let base = family_base(kind);
        if let Some(e) = t.planners.get(base.name()) {
            let params = apply_preset_delta(kind, &e.params)?;
            return Ok((
                params,
                e.check_every,
                format!("tuned {} + {name} switches", base.name()),
            ));
        }
    }
    Ok((
        kind.default_params(),
        default_check_every(kind),
        "preset defaults".into(),
    ))
}

/// The closed-loop settings a tuned file holds for `kind` (its own entry, else its family base's), if any.
pub fn tuned_mpc(
    kind: PlannerKind,
    tuned: Option<&TunedSettings>,
) -> Option<super::closed_loop::MpcSpec> {
    let t = tuned?;
    t.planners
        .get(kind.name())
        .or_else(|| t.planners.get(family_base(kind).name()))
        .and_then(|e| e.mpc.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::GraspParams;

    fn tuned() -> TunedSettings {
        let grasp = PlannerParams::Grasp(GraspParams {
            lr_actions: 0.03,
            ..GraspParams::default()
        });
        TunedSettings {
            format: 1,
            env: EnvKind::Pusht,
            note: "test".into(),
            command: "tune".into(),
            machine: vec![],
            tuning_seeds: Some(SeedRange {
                first: TUNING_SEED_BASE,
                count: 10,
            }),
            horizons: vec![50],
            budget: "b".into(),
            planners: BTreeMap::from([(
                "grasp".to_string(),
                TunedEntry {
                    params: grasp,
                    check_every: 7,
                    grid_point: "lr_actions=0.03".into(),
                    success_rate: 0.5,
                    median_time_to_success_s: Some(1.0),
                    trials: 10,
                    mpc: None,
                },
            )]),
        }
    }

    #[test]
    fn ablations_inherit_tuned_values_and_keep_their_switch() {
        let t = tuned();
        let (p, every, src) = resolve(PlannerKind::GraspNoSync, Some(&t)).unwrap();
        let PlannerParams::Grasp(g) = p else { panic!() };
        assert!(!g.sync_enabled);
        assert_eq!(g.lr_actions, 0.03);
        assert_eq!(every, 7);
        assert!(src.contains("switches"));
        let (p, _, _) = resolve(PlannerKind::GraspCemSync, Some(&t)).unwrap();
        let PlannerParams::Grasp(g) = p else { panic!() };
        assert_eq!(
            (g.sync_mode, g.sync_steps, g.lr_actions),
            (crate::plan::SyncMode::Cem, 5, 0.03)
        );
        let (p, every, src) = resolve(PlannerKind::Cem, Some(&t)).unwrap();
        assert_eq!(p, PlannerKind::Cem.default_params());
        assert_eq!((every, src.as_str()), (1, "preset defaults"));
    }

    #[test]
    fn files_round_trip_and_bad_files_are_rejected() {
        let t = tuned();
        let text = serde_json::to_string_pretty(&t).unwrap();
        assert_eq!(TunedSettings::parse(&text, "x").unwrap(), t);
        let bad = text.replace("\"grasp\": {", "\"warp\": {");
        assert!(TunedSettings::parse(&bad, "x").is_err());
        assert!(TunedSettings::parse("{", "x").is_err());
        assert!(t.check_disjoint(0, 100).is_ok());
        assert!(t.check_disjoint(TUNING_SEED_BASE + 5, 2).is_err());
        for env in EnvKind::ALL {
            let s = TunedSettings::shipped(env).unwrap();
            assert_eq!(s.env, env);
        }
    }
}
