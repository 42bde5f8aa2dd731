//! `plan`'s trust figures: when the world model is an ensemble file, the members' per-step disagreement on
//! the final plan, its trust horizon (with `--trust-threshold`) and the simulator's divergence step beside
//! it (`plan::trust`).

use grasp_explorer::env::EnvKind;
use grasp_explorer::model::ensemble::Ensemble;
use grasp_explorer::model::trust_model::PlanningModel;
use grasp_explorer::plan::mpc::TrustExecution;
use grasp_explorer::plan::trust::TrustReport;

use super::super::usage;

/// The trust threshold in force: `--trust-threshold` (a usage error unless finite and ≥ 0), else the one
/// calibrated for the ensemble (its `.trust.json`, a bad one an error naming the file), else none.
pub fn threshold_for(
    arg: Option<f32>,
    planning: &PlanningModel,
    env: EnvKind,
) -> anyhow::Result<Option<f32>> {
    match arg {
        Some(t) => check_threshold(t).map(Some),
        None => planning
            .calibrated_threshold(env)
            .map_err(anyhow::Error::msg),
    }
}

/// `--trust-threshold` must be finite and ≥ 0 (usage error otherwise).
pub fn check_threshold(t: f32) -> anyhow::Result<f32> {
    if t.is_finite() && t >= 0.0 {
        Ok(t)
    } else {
        Err(usage(format!(
            "--trust-threshold must be a finite number >= 0 (env units), got {t}"
        )))
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
            "--mpc-execute trust needs --trust-threshold X (env units), or an ensemble with a calibration file next to it (`model trust --write`)",
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
