//! `plan`'s trust figures: when the world model is an ensemble file, the members' per-step disagreement on
//! the final plan, its trust horizon (with `--trust-threshold`) and the simulator's divergence step beside
//! it (`plan::trust`).

use std::path::Path;

use grasp_explorer::model::ensemble::Ensemble;
use grasp_explorer::model::io::load_ensemble;
use grasp_explorer::model::ModelError;
use grasp_explorer::plan::mpc::TrustExecution;
use grasp_explorer::plan::trust::TrustReport;

use super::super::usage;

/// The ensemble behind `model_path`, if it is one. A threshold with a single model is an error (exit 1,
/// naming the file); a bad threshold is a usage error.
pub fn ensemble_for(model_path: &Path, threshold: Option<f32>) -> anyhow::Result<Option<Ensemble>> {
    if let Some(t) = threshold {
        if !(t.is_finite() && t >= 0.0) {
            return Err(usage(format!(
                "--trust-threshold must be a finite number >= 0 (env units), got {t}"
            )));
        }
    }
    match load_ensemble(model_path) {
        Ok(e) => Ok(Some(e)),
        Err(ModelError::NotEnsemble { .. }) if threshold.is_none() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// One line for the text output.
pub fn describe(r: &TrustReport, horizon: usize) -> String {
    let trust = match r.trust_horizon {
        Some(k) => format!("trusted to step {k} of {horizon}"),
        None => "no trust threshold (pass --trust-threshold)".to_string(),
    };
    format!(
        "ensemble: {trust}; members disagree by {:.3} at the end; the model leaves the simulator after step {}",
        r.disagreement.last().copied().unwrap_or(0.0),
        r.divergence_step
    )
}

/// The adaptive-MPC setting of `--mpc-execute trust`: needs an ensemble model (exit 1, naming the fix) and
/// `--trust-threshold` (exit 2).
pub fn trust_execution(
    wanted: bool,
    ens: Option<&Ensemble>,
    threshold: Option<f32>,
) -> anyhow::Result<Option<TrustExecution>> {
    if !wanted {
        return Ok(None);
    }
    let Some(threshold) = threshold else {
        return Err(usage(
            "--mpc-execute trust needs --trust-threshold X (env units; `model trust` calibrates one)",
        ));
    };
    let Some(ens) = ens else {
        anyhow::bail!(
            "--mpc-execute trust needs an ensemble model (--model F from `train --ensemble 5`); this one is a single model"
        );
    };
    Ok(Some(TrustExecution {
        ensemble: std::sync::Arc::new(ens.clone()),
        threshold,
    }))
}
