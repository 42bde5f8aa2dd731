//! Where a run's planner settings come from (the app's "settings" selector) — a preset's own defaults (for
//! `grasp`, the paper's reference settings) or the settings `tune` chose for the benchmark tables
//! (`assets/tuned/<env>.json`, compiled in) — and which GRASP the app opens with on each env: the variant
//! measured best (docs/results.md), so the first thing a user sees is GRASP working, with the reference
//! behaviour one selection away.

use std::sync::OnceLock;

use super::settings::{resolve, TunedSettings};
use crate::env::EnvKind;
use crate::plan::{PlannerKind, PlannerParams};

/// Where the planner's starting settings come from (the sliders change them live either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SettingsSource {
    /// The preset's own defaults (`grasp`: the reference defaults of the paper and its port).
    #[default]
    Preset,
    /// The shipped tuned settings for the env (`assets/tuned/<env>.json`); an ablation preset keeps its
    /// switches on top of its family's tuned values, as in `bench`.
    Tuned,
}

impl SettingsSource {
    /// Both sources, in display order.
    pub const ALL: [SettingsSource; 2] = [SettingsSource::Preset, SettingsSource::Tuned];

    /// Short name, as shown in the selector, the status bar and saved runs.
    pub fn name(self) -> &'static str {
        match self {
            SettingsSource::Preset => "preset defaults",
            SettingsSource::Tuned => "tuned",
        }
    }

    /// Parses `preset` / `tuned` (the `--settings` flag) or a label that starts with a source's name (a saved
    /// run's header, e.g. "tuned + edits").
    pub fn parse(text: &str) -> Option<SettingsSource> {
        let t = text.trim();
        if t == "preset" || t.starts_with("preset defaults") {
            Some(SettingsSource::Preset)
        } else if t == "tuned" || t.starts_with("tuned ") {
            Some(SettingsSource::Tuned)
        } else {
            None
        }
    }
}

/// The settings `kind` starts with on `env` from `source` (the preset's defaults if the env's shipped tuned
/// file has no entry for its family), and a one-line description of where they came from.
pub fn params_for(
    env: EnvKind,
    kind: PlannerKind,
    source: SettingsSource,
) -> (PlannerParams, String) {
    let tuned = match source {
        SettingsSource::Preset => None,
        SettingsSource::Tuned => shipped(env),
    };
    match resolve(kind, tuned) {
        Ok((params, _, from)) if tuned.is_some() && from != "preset defaults" => {
            (params, format!("{from}, assets/tuned/{}.json", env.name()))
        }
        _ => (kind.default_params(), "preset defaults".into()),
    }
}

/// The shipped tuned settings of `env`, parsed once (the app's status bar asks every frame).
fn shipped(env: EnvKind) -> Option<&'static TunedSettings> {
    static SHIPPED: OnceLock<Vec<(EnvKind, Option<TunedSettings>)>> = OnceLock::new();
    SHIPPED
        .get_or_init(|| {
            EnvKind::ALL
                .into_iter()
                .map(|e| (e, TunedSettings::shipped(e).ok()))
                .collect()
        })
        .iter()
        .find(|(e, _)| *e == env)
        .and_then(|(_, t)| t.as_ref())
}

/// The GRASP the app opens with on `env`, open loop: the preset and settings source the study rerun measured
/// best for the env on evaluation problems, with settings `tune` chose on tuning problems (docs/results.md).
/// The app keeps optimizing with no simulator check stopping it, so where the study's protocol (stop at the
/// first successful check) and the returned plan disagree, the returned plan decides (docs/results.md "Judged
/// on the returned plan"). PointMaze: `grasp-jacobi`, tuned — its returned plans solve 80 / 74 % at H = 100 / 200,
/// the reference design's 52 / 58 % (by the protocol 90 / 86 % and 100 %). Wall: the reference design, tuned
/// (`grasp`) — 82 % by the protocol and 42 / 36 % returned, `grasp-jacobi` 60 / 62 % and 34 / 48 % (mixed, so
/// the protocol decides). Push-T: `grasp-jacobi`, tuned
/// (`lr_actions` 0.03) — 26 / 16 / 10 % at H = 40 / 50 / 60 by the protocol, the reference 14 / 4 / 4 %;
/// returned, GRASPs succeed at most once in 50 there, and its plans reach the goal under the model most often.
/// On every env the best GRASP cell is open loop.
pub fn opening(env: EnvKind) -> (PlannerKind, SettingsSource) {
    match env {
        EnvKind::Wall => (PlannerKind::Grasp, SettingsSource::Tuned),
        EnvKind::Pointmaze | EnvKind::Pusht => (PlannerKind::GraspJacobi, SettingsSource::Tuned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for s in SettingsSource::ALL {
            assert_eq!(SettingsSource::parse(s.name()), Some(s));
        }
        assert_eq!(
            SettingsSource::parse("tuned (lr_actions=0.03), assets/tuned/wall.json"),
            Some(SettingsSource::Tuned)
        );
        assert_eq!(SettingsSource::parse("mystery"), None);
    }

    #[test]
    fn tuned_settings_are_the_shipped_files_and_keep_a_presets_switches() {
        for env in EnvKind::ALL {
            let (preset, from) = params_for(env, PlannerKind::Grasp, SettingsSource::Preset);
            assert_eq!(preset, PlannerKind::Grasp.default_params());
            assert_eq!(from, "preset defaults");
            let (tuned, from) = params_for(env, PlannerKind::Grasp, SettingsSource::Tuned);
            let shipped = TunedSettings::shipped(env).unwrap();
            assert_eq!(tuned, shipped.planners["grasp"].params, "{env}");
            assert!(
                from.contains(&format!("assets/tuned/{}.json", env.name())),
                "{from}"
            );
            // An ablation keeps its own switch on top of the tuned values.
            let (nosync, _) = params_for(env, PlannerKind::GraspNoSync, SettingsSource::Tuned);
            match (nosync, tuned) {
                (PlannerParams::Grasp(a), PlannerParams::Grasp(b)) => {
                    assert!(!a.sync_enabled && b.sync_enabled);
                    assert_eq!(a.lr_actions, b.lr_actions);
                }
                other => panic!("not GRASP settings: {other:?}"),
            }
        }
    }

    #[test]
    fn every_env_opens_with_a_grasp_preset() {
        for env in EnvKind::ALL {
            let (kind, source) = opening(env);
            let (params, _) = params_for(env, kind, source);
            assert!(matches!(params, PlannerParams::Grasp(_)), "{env}: {kind}");
            params.validate().unwrap();
        }
    }
}
