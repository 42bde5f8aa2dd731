//! Load-time sanity checks of a world model beyond its shapes: metadata fields this build relies on
//! (format name, frameskip, feature names), normalization statistics and weights inside sane ranges, and one
//! probe prediction that must be finite. A file that passes predicts finite one-step states from the env's
//! own problem starts; one that fails is rejected in one line before any planning.

use super::fast::MlpModel;
use super::info::{state_feature_names, ModelInfo, FORMAT_NAME};
use super::WorldModel;
use crate::env::{Problem, FRAMESKIP};

/// Largest |value| of a normalization mean, and the range of a normalization std (env units or model space;
/// the shipped models' stds lie in 0.1..=240).
pub const STAT_MAX: f32 = 1.0e5;
/// Smallest normalization std accepted (the codec's own floor; smaller ones blow normalized states up).
pub const STD_MIN: f32 = 1.0e-6;
/// Largest |weight| or |bias| accepted (the shipped models' are below 4).
pub const WEIGHT_MAX: f32 = 1.0e4;

/// Checks the metadata fields and statistics ranges (shapes are checked by [`MlpModel::new`]).
pub fn check_info(info: &ModelInfo) -> Result<(), String> {
    if info.format != FORMAT_NAME {
        return Err(format!(
            "model_info 'format' is '{}', expected '{FORMAT_NAME}'",
            info.format
        ));
    }
    if info.frameskip != FRAMESKIP {
        return Err(format!(
            "frameskip is {}, this build's models step {FRAMESKIP} env steps",
            info.frameskip
        ));
    }
    let names = state_feature_names(info.env);
    if info.state_features != names {
        return Err(format!(
            "state_features has {} names, {} models have [{}]",
            info.state_features.len(),
            info.env,
            names.join(", ")
        ));
    }
    let n = &info.normalization;
    for (what, v) in [
        ("state_mean", &n.state_mean),
        ("action_mean", &n.action_mean),
        ("delta_mean", &n.delta_mean),
    ] {
        if let Some(x) = v.iter().find(|x| !(x.is_finite() && x.abs() <= STAT_MAX)) {
            return Err(format!(
                "normalization {what} has {x}, outside ±{STAT_MAX:e}"
            ));
        }
    }
    for (what, v) in [
        ("state_std", &n.state_std),
        ("action_std", &n.action_std),
        ("delta_std", &n.delta_std),
    ] {
        if let Some(x) = v
            .iter()
            .find(|x| !(x.is_finite() && (STD_MIN..=STAT_MAX).contains(*x)))
        {
            return Err(format!(
                "normalization {what} has {x:e}, outside {STD_MIN:e}..={STAT_MAX:e}"
            ));
        }
    }
    Ok(())
}

/// Checks weight magnitudes and that one-step predictions from a few of the env's problem starts (actions
/// 0 and ±1 in model space) are finite.
pub fn check_model(model: &MlpModel) -> Result<(), String> {
    for (i, l) in model.layers().iter().enumerate() {
        if let Some(x) = l
            .weight
            .iter()
            .chain(&l.bias)
            .find(|x| x.abs() > WEIGHT_MAX)
        {
            return Err(format!(
                "layer {i} has a weight of {x:e}, beyond ±{WEIGHT_MAX:e}"
            ));
        }
    }
    let env = model.info().env;
    let (d, k) = (model.state_dim(), model.action_dim());
    let mut states = Vec::new();
    let mut actions = Vec::new();
    for seed in 0..3 {
        let p = Problem::generate(env, 1, seed).map_err(|e| e.to_string())?;
        for a in [0.0f32, 1.0, -1.0] {
            states.extend(model.encode_state(&p.start));
            actions.extend(std::iter::repeat_n(a, k));
        }
    }
    let next = model.predict(&states, &actions);
    if next.len() != states.len() || next.iter().any(|x| !x.is_finite()) {
        return Err(format!(
            "its one-step predictions from {} start states are not finite (weights or statistics out of range)",
            states.len() / d
        ));
    }
    let decoded = model.decode_state(&next[..d]);
    if decoded.iter().any(|x| !x.is_finite()) {
        return Err("its predictions decode to non-finite env states".into());
    }
    Ok(())
}
