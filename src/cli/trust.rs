//! The trust options shared by `plan`, `bench`, `tune` and `record`: the threshold in force
//! (`--trust-threshold`, else the one calibrated for the ensemble), adaptive MPC's ensemble and threshold
//! (`--mpc-execute trust`), and `plan`'s one-line trust report (`plan::trust`).

use std::sync::Arc;

use grasp_explorer::env::EnvKind;
use grasp_explorer::model::trust_model::PlanningModel;
use grasp_explorer::plan::mpc::TrustExecution;
use grasp_explorer::plan::trust::TrustReport;

use super::usage;

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
    let trust = match (r.trust_horizon, r.trust_threshold) {
        (Some(k), Some(t)) => format!("trusted to step {k} of {horizon} (threshold {t})"),
        _ => "no trust threshold (pass --trust-threshold)".to_string(),
    };
    let truth = if r.divergence_step >= horizon {
        format!("the model stays with the simulator through step {horizon}")
    } else {
        format!(
            "the model leaves the simulator after step {}",
            r.divergence_step
        )
    };
    format!(
        "ensemble: {trust}; members disagree by {:.3} at the end; {truth}",
        r.disagreement.last().copied().unwrap_or(0.0),
    )
}

/// Adaptive MPC's ensemble and threshold (`--mpc-execute trust`): the planning model must be an ensemble
/// (load it with `require_ensemble`; otherwise an error naming the fix, exit 1) and a threshold must be in
/// force (`arg`, else the calibration; none is a usage error).
pub fn adaptive(
    planning: &PlanningModel,
    env: EnvKind,
    arg: Option<f32>,
) -> anyhow::Result<TrustExecution> {
    let Some((ensemble, path)) = &planning.ensemble else {
        anyhow::bail!(
            "--mpc-execute trust needs an ensemble world model (--model F from `train --ensemble 5`); this one is a single model"
        );
    };
    let threshold = threshold_for(arg, planning, env)?.ok_or_else(|| {
        usage(format!(
            "--mpc-execute trust needs a trust threshold: pass --trust-threshold X (env units) or calibrate {} \
             with `grasp-explorer model trust --env {env} --model {} --write {}`",
            path.display(),
            path.display(),
            grasp_explorer::model::trust_model::calibration_path(path).display()
        ))
    })?;
    Ok(TrustExecution {
        ensemble: Arc::clone(ensemble),
        threshold,
    })
}
