//! Ensembles of world models and what they say about a plan: N members trained alike from different seeds,
//! stored in one file (format version 2, docs/model-format.md), one designated member that planners use,
//! the members' per-step disagreement on a plan and the *trust horizon* (the first step whose disagreement
//! exceeds a threshold).
//!
//! Disagreement d_t is the largest distance, in env units, between any member's state after t steps and the
//! designated member's (the success rule's position distance: Push-T px over agent and block jointly, maze
//! units, Wall px); Push-T's block-angle spread is reported beside it. All members share one normalization
//! (they are trained on the same data), so they read and write the same model space; each keeps its own
//! output (state-change) statistics, which a bootstrap resample shifts.

use serde::{Deserialize, Serialize};

use super::fast::MlpModel;
use super::info::ModelInfo;
use super::rollout::{rollout, RolloutTape};
use super::{Tape, WorldModel};
use crate::env::EnvKind;

/// The file-level format version of an ensemble file (single models stay version 1).
pub const ENSEMBLE_FORMAT_VERSION: u32 = 2;

/// The `ensemble` metadata of a version-2 file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleInfo {
    /// Number of members N (≥ 2).
    pub members: usize,
    /// Index of the member planners use.
    pub designated: usize,
    /// Each member was trained on a bootstrap resample of the data (else on all of it).
    pub bootstrap: bool,
    /// Each member's metadata (tensors `members.{m}.layers.{i}.weight` / `.bias`).
    pub member_info: Vec<ModelInfo>,
}

/// N world models of one env and shape, one of them designated for planning.
#[derive(Clone, Debug)]
pub struct Ensemble {
    members: Vec<MlpModel>,
    designated: usize,
    bootstrap: bool,
}

impl Ensemble {
    /// Checks the members fit together (≥ 2, one env, same layer shapes, activation and normalization) and
    /// `designated` names one of them. The error is a one-line reason.
    pub fn new(
        members: Vec<MlpModel>,
        designated: usize,
        bootstrap: bool,
    ) -> Result<Ensemble, String> {
        if members.len() < 2 {
            return Err(format!(
                "an ensemble needs at least 2 members, got {}",
                members.len()
            ));
        }
        if designated >= members.len() {
            return Err(format!(
                "designated member {designated} does not exist ({} members)",
                members.len()
            ));
        }
        let first = members[0].info();
        for (m, member) in members.iter().enumerate().skip(1) {
            let info = member.info();
            if info.env != first.env {
                return Err(format!(
                    "member {m} is a model for {}, member 0 for {}",
                    info.env, first.env
                ));
            }
            if info.layers != first.layers || info.activation != first.activation {
                return Err(format!(
                    "member {m} has layers {:?} ({}), member 0 {:?} ({})",
                    info.layers,
                    info.activation.name(),
                    first.layers,
                    first.activation.name()
                ));
            }
            let (a, b) = (&info.normalization, &first.normalization);
            if (&a.state_mean, &a.state_std, &a.action_mean, &a.action_std)
                != (&b.state_mean, &b.state_std, &b.action_mean, &b.action_std)
            {
                return Err(format!(
                    "member {m} has another state or action normalization than member 0 (members must \
                     share one model space)"
                ));
            }
        }
        Ok(Ensemble {
            members,
            designated,
            bootstrap,
        })
    }

    /// The members, in file order.
    pub fn members(&self) -> &[MlpModel] {
        &self.members
    }

    /// Index of the designated member.
    pub fn designated(&self) -> usize {
        self.designated
    }

    /// The members other than the designated one, in file order.
    pub fn others(&self) -> impl Iterator<Item = &MlpModel> {
        let d = self.designated;
        self.members
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != d)
            .map(|(_, m)| m)
    }

    /// The member planners use.
    pub fn designated_model(&self) -> &MlpModel {
        &self.members[self.designated]
    }

    /// The designated member, by value.
    pub fn into_designated(mut self) -> MlpModel {
        self.members.swap_remove(self.designated)
    }

    /// Whether members were trained on bootstrap resamples.
    pub fn bootstrap(&self) -> bool {
        self.bootstrap
    }

    /// The env of every member.
    pub fn env(&self) -> EnvKind {
        self.members[0].info().env
    }

    /// The metadata written to a version-2 file.
    pub fn info(&self) -> EnsembleInfo {
        EnsembleInfo {
            members: self.members.len(),
            designated: self.designated,
            bootstrap: self.bootstrap,
            member_info: self.members.iter().map(|m| m.info().clone()).collect(),
        }
    }

    /// Every member's rollout of `actions` (model space, `horizon` chunks) from the env-unit `start`, decoded
    /// to env units: `[member][step 0..=horizon][env dim]` (step 0 is the start).
    pub fn rollouts(&self, start: &[f32], actions: &[f32], horizon: usize) -> Vec<Vec<Vec<f32>>> {
        let mut tape = RolloutTape::default();
        self.members
            .iter()
            .map(|m| {
                let s0 = m.encode_state(start);
                let states = rollout(m, &s0, actions, 1, horizon, &mut tape);
                let mut out = vec![start.to_vec()];
                out.extend(
                    states
                        .chunks_exact(m.state_dim())
                        .skip(1)
                        .take(horizon)
                        .map(|s| m.decode_state(s)),
                );
                out
            })
            .collect()
    }

    /// The members' disagreement on a plan, per step 0..=horizon (see [`Disagreement`]).
    pub fn disagreement(&self, start: &[f32], actions: &[f32], horizon: usize) -> Disagreement {
        disagreement(
            self.env(),
            &self.rollouts(start, actions, horizon),
            self.designated,
        )
    }
}

/// An ensemble plans as its designated member, bit for bit: every call goes to that member, so a planner
/// given the ensemble finds the same plans as one given the member, and can reach the others through
/// [`WorldModel::ensemble`].
impl WorldModel for Ensemble {
    fn env(&self) -> Option<EnvKind> {
        Some(self.env())
    }
    fn state_dim(&self) -> usize {
        self.designated_model().state_dim()
    }
    fn action_dim(&self) -> usize {
        self.designated_model().action_dim()
    }
    fn forward(&self, states: &[f32], actions: &[f32], out: &mut [f32], tape: &mut Tape) {
        self.designated_model().forward(states, actions, out, tape);
    }
    fn forward_no_grad(
        &self,
        states: &[f32],
        actions: &[f32],
        out: &mut [f32],
        scratch: &mut Tape,
    ) {
        self.designated_model()
            .forward_no_grad(states, actions, out, scratch);
    }
    fn vjp(
        &self,
        tape: &Tape,
        grad_out: &[f32],
        grad_states: Option<&mut [f32]>,
        grad_actions: Option<&mut [f32]>,
    ) {
        self.designated_model()
            .vjp(tape, grad_out, grad_states, grad_actions);
    }
    fn encode_state(&self, env_state: &[f32]) -> Vec<f32> {
        self.designated_model().encode_state(env_state)
    }
    fn decode_state(&self, model_state: &[f32]) -> Vec<f32> {
        self.designated_model().decode_state(model_state)
    }
    fn encode_actions(&self, env_actions: &[f32]) -> Vec<f32> {
        self.designated_model().encode_actions(env_actions)
    }
    fn decode_actions(&self, model_actions: &[f32]) -> Vec<f32> {
        self.designated_model().decode_actions(model_actions)
    }
    fn ensemble(&self) -> Option<&Ensemble> {
        Some(self)
    }
}

/// How far the members' rollouts of one plan spread, per step (index 0 = the shared start, so 0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Disagreement {
    /// d_t: the largest env-unit position distance of any member's state from the designated member's.
    pub spread: Vec<f32>,
    /// Push-T: the largest block-angle difference from the designated member, radians (empty elsewhere).
    pub angle_spread: Vec<f32>,
}

/// [`Ensemble::disagreement`] on given member rollouts `[member][step][env dim]`.
pub fn disagreement(env: EnvKind, rollouts: &[Vec<Vec<f32>>], designated: usize) -> Disagreement {
    let steps = rollouts.first().map_or(0, Vec::len);
    let reference = &rollouts[designated];
    let mut spread = vec![0.0f32; steps];
    let mut angle_spread = Vec::new();
    if env == EnvKind::Pusht {
        angle_spread = vec![0.0f32; steps];
    }
    for member in rollouts {
        for t in 0..steps {
            spread[t] = spread[t].max(env.goal_distance(&member[t], &reference[t]));
            if env == EnvKind::Pusht {
                let a = crate::env::pusht::angle_error(member[t][4], reference[t][4]);
                angle_spread[t] = angle_spread[t].max(a);
            }
        }
    }
    Disagreement {
        spread,
        angle_spread,
    }
}

/// The trust horizon: the number of leading steps 1..=H whose disagreement stays within `threshold` (the
/// plan is trusted to that step; H when no step exceeds it).
pub fn trust_horizon(spread: &[f32], threshold: f32) -> usize {
    let h = spread.len().saturating_sub(1);
    spread
        .iter()
        .skip(1)
        .position(|d| d.is_nan() || *d > threshold)
        .unwrap_or(h)
}

/// The truth the trust horizon predicts: the number of leading steps 1..=H at which the model's rollout
/// stays within `tolerance` of the simulator's (both `[step 0..=H][env dim]`, env units; H if it never
/// leaves).
pub fn divergence_step(
    env: EnvKind,
    model: &[Vec<f32>],
    sim: &[Vec<f32>],
    tolerance: f32,
) -> usize {
    let h = model.len().min(sim.len()).saturating_sub(1);
    (1..=h)
        .find(|&t| {
            let gap = env.goal_distance(&model[t], &sim[t]);
            gap.is_nan() || gap > tolerance
        })
        .map_or(h, |t| t - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::info::Activation;
    use crate::model::mlp::untrained;

    fn member(seed: u64) -> MlpModel {
        untrained(EnvKind::Wall, &[16, 12], Activation::Silu, seed).unwrap()
    }

    #[test]
    fn identical_members_never_disagree() {
        let e = Ensemble::new(vec![member(3), member(3), member(3)], 1, false).unwrap();
        let h = 12;
        let actions: Vec<f32> = (0..h * 10).map(|i| (i as f32 * 0.37).sin()).collect();
        let d = e.disagreement(&[30.0, 20.0], &actions, h);
        assert_eq!(d.spread.len(), h + 1);
        assert!(d.spread.iter().all(|v| *v == 0.0), "{:?}", d.spread);
        assert!(d.angle_spread.is_empty());
        assert_eq!(trust_horizon(&d.spread, 0.0), h);
    }

    #[test]
    fn members_that_part_after_a_known_step_give_that_trust_horizon() {
        // Hand-made rollouts: member 1 follows the designated one for 4 steps, then drifts 1 px per step.
        let h = 10;
        let base: Vec<Vec<f32>> = (0..=h).map(|t| vec![t as f32, 0.0]).collect();
        let drift: Vec<Vec<f32>> = (0..=h)
            .map(|t: usize| vec![t as f32, t.saturating_sub(4) as f32])
            .collect();
        let d = disagreement(EnvKind::Wall, &[base.clone(), drift.clone()], 0);
        assert_eq!(d.spread[..=4], [0.0; 5]);
        assert_eq!(d.spread[7], 3.0);
        // Trusted while the spread is ≤ 0.5: steps 1..=4.
        assert_eq!(trust_horizon(&d.spread, 0.5), 4);
        assert_eq!(trust_horizon(&d.spread, 2.5), 6);
        assert_eq!(trust_horizon(&d.spread, f32::INFINITY), h);
        // NaN disagreement is never trusted.
        assert_eq!(trust_horizon(&[0.0, f32::NAN, 0.0], 1.0), 0);
        // The divergence step reads the same way against the simulator.
        assert_eq!(divergence_step(EnvKind::Wall, &base, &drift, 2.5), 6);
        assert_eq!(divergence_step(EnvKind::Wall, &base, &base, 0.0), h);
    }

    #[test]
    fn members_must_fit_together() {
        assert!(Ensemble::new(vec![member(1)], 0, false)
            .unwrap_err()
            .contains("at least 2"));
        assert!(Ensemble::new(vec![member(1), member(2)], 2, false)
            .unwrap_err()
            .contains("designated"));
        let other = untrained(EnvKind::Pusht, &[16, 12], Activation::Silu, 1).unwrap();
        assert!(Ensemble::new(vec![member(1), other], 0, false)
            .unwrap_err()
            .contains("for pusht"));
        let wide = untrained(EnvKind::Wall, &[16, 16], Activation::Silu, 1).unwrap();
        assert!(Ensemble::new(vec![member(1), wide], 0, false)
            .unwrap_err()
            .contains("layers"));
        let e = Ensemble::new(vec![member(1), member(2)], 1, true).unwrap();
        assert_eq!(e.info().members, 2);
        assert_eq!(e.into_designated().info(), member(2).info());
    }

    #[test]
    fn an_ensemble_file_round_trips_and_loads_as_its_designated_member() {
        use crate::model::io::{load_ensemble, load_model, save_ensemble, save_model};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wall-ens.safetensors");
        let e = Ensemble::new(vec![member(1), member(2), member(3)], 2, true).unwrap();
        save_ensemble(&e, &p).unwrap();
        let back = load_ensemble(&p).unwrap();
        assert_eq!((back.designated(), back.bootstrap()), (2, true));
        let (s, a) = (vec![0.3f32, -0.2], vec![0.1f32; 10]);
        for (x, y) in back.members().iter().zip(e.members()) {
            assert_eq!(x.info(), y.info());
            assert_eq!(x.predict(&s, &a), y.predict(&s, &a));
        }
        // Every single-model reader gets the designated member.
        assert_eq!(
            load_model(&p).unwrap().predict(&s, &a),
            member(3).predict(&s, &a)
        );
        // A single-model file is not an ensemble: one line naming the file and the fix.
        let single = dir.path().join("wall.safetensors");
        save_model(&member(1), &single).unwrap();
        let err = load_ensemble(&single).unwrap_err().to_string();
        assert!(
            err.contains("not an ensemble") && err.contains("--ensemble"),
            "{err}"
        );
        assert!(!err.contains('\n'));
        // Members whose metadata and tensors disagree are refused with a one-line reason.
        let mut info = e.info();
        info.member_info[1].layers[0] = [12, 12];
        let bytes = std::fs::read(&p).unwrap();
        let (n, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let mut meta = header.metadata().clone().unwrap();
        meta.insert("ensemble".into(), serde_json::to_string(&info).unwrap());
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = st.tensors();
        let tampered = safetensors::tensor::serialize(views, Some(meta)).unwrap();
        assert!(n > 0);
        let bad = dir.path().join("bad.safetensors");
        std::fs::write(&bad, tampered).unwrap();
        let err = load_ensemble(&bad).unwrap_err().to_string();
        assert!(err.contains("not a valid world-model file"), "{err}");
    }
}
