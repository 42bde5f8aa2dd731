//! What the app plans: [`RunSpec`], the env, planner preset, where its settings come from, horizon, seed, a
//! posed problem and MPC settings — enough to rebuild a session after a crash — and the settings it starts
//! with.

use crate::bench::settings_source::{params_for, SettingsSource};
use crate::env::{EnvKind, Problem};
use crate::plan::mpc::MpcSettings;
use crate::plan::{PlannerKind, PlannerParams};

/// What to plan: enough to rebuild the session after a crash.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Environment.
    pub env: EnvKind,
    /// Planner preset.
    pub planner: PlannerKind,
    /// Horizon T in world-model steps. ≥ 1.
    pub horizon: usize,
    /// Problem seed (also seeds the planner).
    pub seed: u64,
    /// Where the starting settings come from when `params` is None.
    pub settings: SettingsSource,
    /// Parameters overriding the starting settings (None = those of `settings`).
    pub params: Option<PlannerParams>,
    /// A posed problem (dragged start/goal) replacing the generated one.
    pub problem: Option<Problem>,
    /// The worker pauses after this many iterations (keeps an idle app from burning CPU forever). ≥ 1.
    pub max_iterations: usize,
    /// Closed-loop MPC settings (None = open loop, the default); see [`super::mpc::app_mpc_settings`].
    pub mpc: Option<MpcSettings>,
}

impl RunSpec {
    /// Defaults for `env` and `planner`: the env's [`RunSpec::default_horizon`], at most 50,000 iterations.
    pub fn new(env: EnvKind, planner: PlannerKind, seed: u64) -> Self {
        RunSpec {
            env,
            planner,
            horizon: RunSpec::default_horizon(env),
            seed,
            settings: SettingsSource::Preset,
            params: None,
            problem: None,
            max_iterations: 50_000,
            mpc: None,
        }
    }

    /// The settings the planner starts with: `params` if set, else those of `settings` for this env and preset.
    pub fn start_params(&self) -> PlannerParams {
        self.params
            .clone()
            .unwrap_or_else(|| params_for(self.env, self.planner, self.settings).0)
    }

    /// Where the settings in use came from, as the status bar and saved runs say it: the source ("tuned"
    /// only when the env's tuned file covers the preset), plus "+ edits" once `params` differ from it.
    pub fn settings_label(&self) -> String {
        let (base, from) = params_for(self.env, self.planner, self.settings);
        let mut label = source_label(self.settings, self.planner, &from);
        if self.params.as_ref().is_some_and(|p| *p != base) {
            label.push_str(" + edits");
        }
        label
    }

    /// The horizon the app opens with for each env (short enough to settle within seconds on 2 cores).
    pub fn default_horizon(env: EnvKind) -> usize {
        match env {
            EnvKind::Pusht => 30,
            EnvKind::Pointmaze => 30,
            EnvKind::Wall => 25,
        }
    }
}

/// The source part of a settings label: "tuned" falls back to "preset defaults (no tuned P)" when the tuned
/// file had no entry for the preset (`from` is then "preset defaults").
fn source_label(source: SettingsSource, planner: PlannerKind, from: &str) -> String {
    match source {
        SettingsSource::Tuned if from == "preset defaults" => {
            format!("preset defaults (no tuned {})", planner.name())
        }
        source => source.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_says_the_source_and_marks_edits_and_uncovered_presets() {
        let spec = RunSpec {
            settings: SettingsSource::Tuned,
            ..RunSpec::new(EnvKind::Wall, PlannerKind::Grasp, 0)
        };
        assert_eq!(spec.settings_label(), "tuned");
        let same = RunSpec {
            params: Some(spec.start_params()),
            ..spec.clone()
        };
        assert_eq!(
            same.settings_label(),
            "tuned",
            "unchanged params are no edit"
        );
        let mut edited = spec.start_params();
        if let PlannerParams::Grasp(g) = &mut edited {
            g.noise *= 2.0;
        }
        let edited = RunSpec {
            params: Some(edited),
            ..spec.clone()
        };
        assert_eq!(edited.settings_label(), "tuned + edits");
        // A tuned file without a LatCo entry (the first study's PointMaze settings) leaves LatCo on its
        // preset defaults, and the label says so.
        let old = crate::bench::settings::TunedSettings::parse(
            include_str!("../../docs/results/pointmaze-tune/tuned.json"),
            "docs/results/pointmaze-tune/tuned.json",
        )
        .unwrap();
        let (params, _, from) =
            crate::bench::settings::resolve(PlannerKind::Latco, Some(&old)).unwrap();
        assert_eq!(
            source_label(SettingsSource::Tuned, PlannerKind::Latco, &from),
            "preset defaults (no tuned latco)"
        );
        assert_eq!(params, PlannerKind::Latco.default_params());
        let latco = RunSpec {
            planner: PlannerKind::Latco,
            ..spec
        };
        assert_eq!(
            latco.settings_label(),
            "tuned",
            "the rerun's files cover every family"
        );
    }
}
