//! An ensemble together with its calibrated trust threshold — everything needed to say "trusted to step k of
//! H" about a plan without a simulator — and where the shipped ones live. A calibration file is the JSON that
//! `model trust --write` produces; it sits next to its ensemble with the same stem
//! (`wall-ensemble.safetensors` ↔ `wall-ensemble.trust.json`). The shipped ensembles
//! (`assets/models/<env>-ensemble.safetensors`) have the shipped model as their designated member, so the app
//! and `plan` plan exactly as with the single model and the other members only supply the disagreement.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ensemble::{trust_horizon, Ensemble};
use super::io::{default_model_path, load_ensemble};
use super::WorldModel;
use crate::env::EnvKind;

/// An ensemble and the disagreement threshold calibrated for it (env units).
#[derive(Clone, Debug)]
pub struct TrustModel {
    /// The ensemble (its designated member is the model plans are made with).
    pub ensemble: Arc<Ensemble>,
    /// d_t above this ends the trust horizon; ≥ 0, finite.
    pub threshold: f32,
}

/// What the ensemble says about one plan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlanTrust {
    /// d_t per model step 0..=H (env units; 0 at the shared start).
    pub disagreement: Vec<f32>,
    /// Steps 1..=k trusted ("trusted to step k of H").
    pub trust_horizon: usize,
    /// The threshold used.
    pub threshold: f32,
}

impl PlanTrust {
    /// The plan's horizon H.
    pub fn horizon(&self) -> usize {
        self.disagreement.len().saturating_sub(1)
    }

    /// "trusted to step k of H".
    pub fn status_line(&self) -> String {
        format!(
            "trusted to step {} of {}",
            self.trust_horizon,
            self.horizon()
        )
    }
}

impl TrustModel {
    /// The members' disagreement on `model_actions` (model space, `len / action_dim` steps) from the env-unit
    /// `start`, and the trust horizon it implies.
    pub fn assess(&self, start: &[f32], model_actions: &[f32]) -> PlanTrust {
        let k = self.ensemble.designated_model().action_dim().max(1);
        let horizon = model_actions.len() / k;
        let d = self.ensemble.disagreement(start, model_actions, horizon);
        PlanTrust {
            trust_horizon: trust_horizon(&d.spread, self.threshold),
            disagreement: d.spread,
            threshold: self.threshold,
        }
    }
}

/// The calibration file that belongs to an ensemble file: same folder and stem, `.trust.json`.
pub fn calibration_path(ensemble: &Path) -> PathBuf {
    ensemble.with_extension("trust.json")
}

/// Where the shipped ensemble of `env` lives (next to the shipped model; `GRASP_EXPLORER_MODELS` moves both).
pub fn shipped_ensemble_path(env: EnvKind) -> PathBuf {
    default_model_path(env).with_file_name(format!("{}-ensemble.safetensors", env.name()))
}

/// Reads the threshold of a calibration file (`model trust --write`), checking it was made for `env`.
pub fn read_threshold(path: &Path, env: EnvKind) -> Result<f32, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the trust calibration {}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a trust calibration (JSON from `model trust --write`; rerun that, or pass \
             --trust-threshold): {e}",
            path.display()
        )
    })?;
    if let Some(file_env) = v.get("env").and_then(|e| e.as_str()) {
        if file_env != env.name() {
            return Err(format!(
                "{} calibrates a {file_env} ensemble, not {}",
                path.display(),
                env.name()
            ));
        }
    }
    match v.get("threshold").and_then(|t| t.as_f64()) {
        Some(t) if t.is_finite() && t >= 0.0 => Ok(t as f32),
        _ => Err(format!(
            "{} has no finite, non-negative \"threshold\"; rerun `model trust --write`",
            path.display()
        )),
    }
}

/// Loads an ensemble and its calibration file (next to it). `Ok(None)` when the ensemble file does not
/// exist; an error for a file that exists but is not a loadable, calibrated ensemble of `env`.
pub fn load_trust_model(path: &Path, env: EnvKind) -> Result<Option<TrustModel>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let ensemble = load_ensemble(path).map_err(|e| e.to_string())?;
    if ensemble.env() != env {
        return Err(format!(
            "{} is a {} ensemble, not {}",
            path.display(),
            ensemble.env().name(),
            env.name()
        ));
    }
    let threshold = read_threshold(&calibration_path(path), env)?;
    Ok(Some(TrustModel {
        ensemble: Arc::new(ensemble),
        threshold,
    }))
}

/// The shipped ensemble of `env`, checked against the model plans are made with: its designated member must
/// be that model (same weights), or its disagreement would describe a different model's plans.
pub fn shipped_trust_for(
    env: EnvKind,
    planning: &super::fast::MlpModel,
) -> Result<Option<TrustModel>, String> {
    let path = shipped_ensemble_path(env);
    let Some(t) = load_trust_model(&path, env)? else {
        return Ok(None);
    };
    if !same_model(t.ensemble.designated_model(), planning) {
        return Err(format!(
            "{}'s designated member is not the planning model; rebuild it with `grasp-explorer train --env {} \
             --ensemble 5 --designated-model {}`",
            path.display(),
            env.name(),
            default_model_path(env).display()
        ));
    }
    Ok(Some(t))
}

/// What is known about trust for a model: the trust model, or why there is none to show.
#[derive(Clone, Debug, Default)]
pub struct TrustLookup {
    /// The calibrated ensemble whose designated member is the planning model.
    pub model: Option<TrustModel>,
    /// Why there is no trust model although an ensemble is shipped (a broken or mismatched file).
    pub problem: Option<String>,
}

/// Loads `env`'s planning model (the shipped one, or `path`) and looks up the shipped ensemble for it. A
/// missing ensemble is no trust and no problem; a broken or mismatched one is no trust with a reason.
pub fn load_model_with_trust(
    env: EnvKind,
    path: Option<&Path>,
) -> Result<(super::fast::MlpModel, TrustLookup), super::ModelError> {
    let model = super::io::load_env_model(env, path)?;
    let lookup = match shipped_trust_for(env, &model) {
        Ok(model) => TrustLookup {
            model,
            problem: None,
        },
        // An explicitly chosen other model simply has no shipped ensemble: not a problem to report.
        Err(_) if path.is_some_and(|p| p != default_model_path(env)) => TrustLookup::default(),
        Err(e) => TrustLookup {
            model: None,
            problem: Some(e),
        },
    };
    Ok((model, lookup))
}

/// A planning model as planners get it, and the ensemble behind it when it is one.
#[derive(Clone)]
pub struct PlanningModel {
    /// The model planners use: the ensemble (planning as its designated member, bit for bit) or one model.
    pub model: Arc<dyn WorldModel>,
    /// The ensemble and the file it came from (its calibration sits next to it), when `model` is one.
    pub ensemble: Option<(Arc<Ensemble>, PathBuf)>,
    /// Why a shipped ensemble that exists was not used (broken, or around another model), when nothing
    /// required one.
    pub note: Option<String>,
}

impl PlanningModel {
    /// The file that holds what planners use: the ensemble's when there is one, else `model_file`.
    pub fn identity_path<'a>(&'a self, model_file: &'a Path) -> &'a Path {
        self.ensemble
            .as_ref()
            .map_or(model_file, |(_, p)| p.as_path())
    }

    /// The trust threshold calibrated for the ensemble (its `.trust.json`), if there is one.
    pub fn calibrated_threshold(&self, env: EnvKind) -> Result<Option<f32>, String> {
        match &self.ensemble {
            Some((_, p)) if calibration_path(p).exists() => {
                read_threshold(&calibration_path(p), env).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// Whether `a` is the same model as `b`: same layers (weights), activation and normalization, so that one
/// plans exactly as the other.
fn same_model(a: &super::fast::MlpModel, b: &super::fast::MlpModel) -> bool {
    a.layers() == b.layers()
        && a.info().activation == b.info().activation
        && a.info().normalization == b.info().normalization
}

/// Loads `env`'s planning model from `path` (default: the shipped model). An ensemble file loads as its
/// ensemble. A single model loads as itself; with `with_shipped_ensemble` the shipped ensemble is used
/// instead when its designated member is that model (same weights and normalization) — so planning is
/// unchanged and the other members are at hand. With `require_ensemble`, no ensemble is an error naming
/// the fix.
pub fn load_planning_model(
    env: EnvKind,
    path: Option<&Path>,
    with_shipped_ensemble: bool,
    require_ensemble: bool,
) -> Result<PlanningModel, super::ModelError> {
    use super::io::{load_env_model, ModelError};
    let file = path.map_or_else(|| default_model_path(env), Path::to_path_buf);
    match load_ensemble(&file) {
        Ok(e) if e.env() != env => {
            return Err(ModelError::WrongEnv {
                path: file,
                expected: env,
                got: e.env(),
            })
        }
        Ok(e) => {
            let e = Arc::new(e);
            return Ok(PlanningModel {
                model: e.clone(),
                ensemble: Some((e, file)),
                note: None,
            });
        }
        Err(ModelError::NotEnsemble { .. }) => {}
        Err(other) => return Err(other),
    }
    let single = load_env_model(env, Some(&file))?;
    let shipped = shipped_ensemble_path(env);
    let is_default = file == default_model_path(env);
    let mut note = None;
    if (with_shipped_ensemble || require_ensemble) && shipped.exists() {
        match load_ensemble(&shipped) {
            Ok(e) if e.env() == env && same_model(e.designated_model(), &single) => {
                let e = Arc::new(e);
                return Ok(PlanningModel {
                    model: e.clone(),
                    ensemble: Some((e, shipped)),
                    note: None,
                });
            }
            // Another model of the user's simply has no shipped ensemble.
            Ok(_) if !is_default => {}
            Ok(_) => {
                note = Some(format!(
                    "{}'s designated member is not {}; rebuild it with `grasp-explorer train --env {env} \
                     --ensemble 5 --designated-model {} --out {}`",
                    shipped.display(),
                    file.display(),
                    file.display(),
                    shipped.display()
                ))
            }
            Err(e) if require_ensemble && is_default => return Err(e),
            Err(e) => note = Some(format!("the shipped ensemble is not usable: {e}")),
        }
    }
    if require_ensemble {
        return Err(if is_default {
            ModelError::NoShippedEnsemble {
                model: file,
                shipped,
                env,
            }
        } else {
            ModelError::NotEnsemble { path: file }
        });
    }
    Ok(PlanningModel {
        model: Arc::new(single),
        ensemble: None,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_files_sit_next_to_their_ensemble() {
        assert_eq!(
            calibration_path(Path::new("a/wall-ensemble.safetensors")),
            PathBuf::from("a/wall-ensemble.trust.json")
        );
        let p = shipped_ensemble_path(EnvKind::Pusht);
        assert_eq!(p.file_name().unwrap(), "pusht-ensemble.safetensors");
        assert_eq!(p.parent(), default_model_path(EnvKind::Pusht).parent());
    }

    #[test]
    fn thresholds_are_read_checked_and_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.trust.json");
        std::fs::write(&f, r#"{"env": "wall", "threshold": 3.5}"#).unwrap();
        assert_eq!(read_threshold(&f, EnvKind::Wall), Ok(3.5));
        let e = read_threshold(&f, EnvKind::Pusht).unwrap_err();
        assert!(e.contains("wall") && e.contains("x.trust.json"), "{e}");
        for bad in [
            r#"{"env": "wall", "threshold": -1}"#,
            r#"{"env": "wall"}"#,
            "not json",
        ] {
            std::fs::write(&f, bad).unwrap();
            let e = read_threshold(&f, EnvKind::Wall).unwrap_err();
            assert!(e.contains("x.trust.json"), "{e}");
        }
        let missing = read_threshold(&dir.path().join("none.json"), EnvKind::Wall).unwrap_err();
        assert!(missing.contains("none.json"));
        assert!(
            load_trust_model(&dir.path().join("none.safetensors"), EnvKind::Wall)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn assessing_a_plan_reads_its_horizon_from_the_actions() {
        use crate::model::info::Activation;
        use crate::model::mlp::untrained;
        let m = |seed| untrained(EnvKind::Wall, &[16, 12], Activation::Silu, seed).unwrap();
        let same = TrustModel {
            ensemble: Arc::new(Ensemble::new(vec![m(3), m(3)], 0, false).unwrap()),
            threshold: 0.0,
        };
        let actions = vec![0.3; 7 * 10];
        let t = same.assess(&[30.0, 30.0], &actions);
        assert_eq!((t.horizon(), t.trust_horizon), (7, 7));
        assert_eq!(t.status_line(), "trusted to step 7 of 7");
        let differ = TrustModel {
            ensemble: Arc::new(Ensemble::new(vec![m(3), m(4)], 0, false).unwrap()),
            threshold: 0.0,
        };
        let t = differ.assess(&[30.0, 30.0], &actions);
        assert_eq!(t.trust_horizon, 0, "{:?}", t.disagreement);
    }
}
