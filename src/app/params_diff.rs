//! Human-readable descriptions of a parameter change ("σ 0.005 -> 0.02, K_sync 50 -> 100"), used for the
//! timeline's parameter markers. Compares the serialized fields, so every planner's settings are covered
//! without listing them by hand; the names users see in the sliders replace the field names.

use crate::plan::PlannerParams;

/// The slider label of a parameter field (the field name when it has none).
pub fn display_name(field: &str) -> &str {
    match field {
        "noise" => "σ",
        "sync_every" => "K_sync",
        "sync_steps" => "J_sync",
        "lr_states" => "lr_s",
        "lr_actions" => "lr_a",
        "goal_weight" => "γ",
        "sync_lr" => "lr_sync",
        "sync_mode" => "sync mode",
        "state_step" => "state step",
        "sync_enabled" => "sync",
        "noise_enabled" => "noise",
        "state_gradients" => "state grads",
        "goal_shaping" => "goal shaping",
        other => other,
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(true) => "on".into(),
        serde_json::Value::Bool(false) => "off".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{}", (f * 1e6).round() / 1e6),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// "field old -> new" for every field that differs; a planner switch is described as such.
pub fn describe_change(old: &PlannerParams, new: &PlannerParams) -> String {
    if old.family() != new.family() {
        return format!("planner {} -> {}", old.family(), new.family());
    }
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return "parameters changed".into();
    };
    let parts: Vec<String> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, v)| {
            let before = a.get(k).map(show).unwrap_or_else(|| "–".into());
            format!("{} {} -> {}", display_name(k), before, show(v))
        })
        .collect();
    if parts.is_empty() {
        "parameters re-applied".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{CemParams, GraspParams};

    #[test]
    fn names_the_changed_fields() {
        let a = PlannerParams::Grasp(GraspParams::default());
        let b = PlannerParams::Grasp(GraspParams {
            noise: 0.02,
            sync_every: 100,
            ..GraspParams::default()
        });
        let d = describe_change(&a, &b);
        assert!(d.contains("σ 0.005 -> 0.02"), "{d}");
        assert!(d.contains("K_sync 50 -> 100"), "{d}");
        assert_eq!(describe_change(&a, &a), "parameters re-applied");
        let c = PlannerParams::Cem(CemParams::default());
        assert_eq!(describe_change(&a, &c), "planner grasp -> cem");
    }
}
