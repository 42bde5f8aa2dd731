//! The named planner presets selectable on the command line and in the app: a planner family plus the
//! ablation switches the paper studies (GRASP and its ablations, CEM, GD, GD with Adam, LatCo), with their
//! names and default settings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::params::{
    CemParams, GdParams, GraspParams, LatcoParams, PlannerParams, StateStep, SyncMode,
};

/// A named planner preset: a family plus the ablation switches the paper studies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlannerKind {
    /// GRASP, full.
    Grasp,
    /// GRASP without the periodic sync.
    GraspNoSync,
    /// GRASP with sync every 100 iterations (the paper's ablation setting).
    GraspSync100,
    /// GRASP without state noise.
    GraspNoNoise,
    /// GRASP with gradients through state inputs (no stop-grad).
    GraspStateGrad,
    /// GRASP with CEM sync.
    GraspCemSync,
    /// GRASP without dense goal shaping (γ = 0).
    GraspNoGoal,
    /// GRASP measured best on the learned Push-T model (docs/results.md, "GRASP's lifted phase"): exact
    /// Jacobi state step, no goal shaping, no noise, sync every 10 × 30.
    GraspJacobi,
    /// CEM.
    Cem,
    /// GD through the serial rollout (SGD, DINO-WM settings).
    Gd,
    /// GD through the serial rollout with Adam.
    GdAdam,
    /// LatCo (lifted, full gradients).
    Latco,
}

impl PlannerKind {
    /// Every preset, in display order.
    pub const ALL: [PlannerKind; 12] = [
        PlannerKind::Grasp,
        PlannerKind::GraspNoSync,
        PlannerKind::GraspSync100,
        PlannerKind::GraspNoNoise,
        PlannerKind::GraspStateGrad,
        PlannerKind::GraspCemSync,
        PlannerKind::GraspNoGoal,
        PlannerKind::GraspJacobi,
        PlannerKind::Cem,
        PlannerKind::Gd,
        PlannerKind::GdAdam,
        PlannerKind::Latco,
    ];

    /// The paper's ablation set at one horizon.
    pub const ABLATIONS: [PlannerKind; 6] = [
        PlannerKind::Grasp,
        PlannerKind::GraspNoSync,
        PlannerKind::GraspSync100,
        PlannerKind::GraspNoNoise,
        PlannerKind::GraspStateGrad,
        PlannerKind::GraspCemSync,
    ];

    /// Command-line name.
    pub fn name(self) -> &'static str {
        match self {
            PlannerKind::Grasp => "grasp",
            PlannerKind::GraspNoSync => "grasp-nosync",
            PlannerKind::GraspSync100 => "grasp-sync100",
            PlannerKind::GraspNoNoise => "grasp-nonoise",
            PlannerKind::GraspStateGrad => "grasp-stategrad",
            PlannerKind::GraspCemSync => "grasp-cemsync",
            PlannerKind::GraspNoGoal => "grasp-nogoal",
            PlannerKind::GraspJacobi => "grasp-jacobi",
            PlannerKind::Cem => "cem",
            PlannerKind::Gd => "gd",
            PlannerKind::GdAdam => "gd-adam",
            PlannerKind::Latco => "latco",
        }
    }

    /// Default parameters of this preset.
    pub fn default_params(self) -> PlannerParams {
        let g = GraspParams::default();
        match self {
            PlannerKind::Grasp => PlannerParams::Grasp(g),
            PlannerKind::GraspNoSync => PlannerParams::Grasp(GraspParams {
                sync_enabled: false,
                ..g
            }),
            PlannerKind::GraspSync100 => PlannerParams::Grasp(GraspParams {
                sync_every: 100,
                ..g
            }),
            PlannerKind::GraspNoNoise => PlannerParams::Grasp(GraspParams {
                noise_enabled: false,
                ..g
            }),
            PlannerKind::GraspStateGrad => PlannerParams::Grasp(GraspParams {
                state_gradients: true,
                ..g
            }),
            PlannerKind::GraspCemSync => PlannerParams::Grasp(GraspParams {
                sync_mode: SyncMode::Cem,
                sync_steps: 5,
                ..g
            }),
            PlannerKind::GraspNoGoal => PlannerParams::Grasp(GraspParams {
                goal_shaping: false,
                ..g
            }),
            PlannerKind::GraspJacobi => PlannerParams::Grasp(GraspParams {
                state_step: StateStep::Gradient,
                lr_states: 0.5,
                goal_shaping: false,
                noise_enabled: false,
                sync_every: 10,
                sync_steps: 30,
                ..g
            }),
            PlannerKind::Cem => PlannerParams::Cem(CemParams::default()),
            PlannerKind::Gd => PlannerParams::Gd(GdParams::default()),
            PlannerKind::GdAdam => PlannerParams::Gd(GdParams {
                adam: true,
                lr: 0.1,
                ..GdParams::default()
            }),
            PlannerKind::Latco => PlannerParams::Latco(LatcoParams::default()),
        }
    }
}

impl fmt::Display for PlannerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PlannerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        PlannerKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = PlannerKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown planner '{s}': expected one of {}",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_defaults_validate() {
        for k in PlannerKind::ALL {
            assert_eq!(k.name().parse::<PlannerKind>().unwrap(), k);
            k.default_params().validate().unwrap();
        }
        assert!("nope".parse::<PlannerKind>().is_err());
    }
}
