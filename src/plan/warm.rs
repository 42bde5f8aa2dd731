//! Warm starts: a planner's optimization variables as plain data ([`WarmStart`]), taken from a running planner
//! with [`super::Planner::warm_start`] and handed to a new one with [`super::make_planner_warm`]. Model-predictive
//! control shifts them by the executed steps ([`WarmStart::shifted`]) so each replan starts from the unexecuted
//! rest of the previous plan: GRASP and LatCo keep actions *and* virtual states (the old s_{k+1} becomes the new
//! s_1; s_0 is the newly observed state, s_T stays the goal), CEM keeps its mean and std, GD its actions.

use serde::{Deserialize, Serialize};

use super::PlanError;

/// How a receding window fills the steps past the end of the shifted plan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pad {
    /// New actions are 0 (the planners' own initialization).
    #[default]
    Zeros,
    /// New actions repeat the last kept action.
    Last,
}

impl std::str::FromStr for Pad {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "zeros" => Ok(Pad::Zeros),
            "last" => Ok(Pad::Last),
            other => Err(format!("unknown pad {other:?}: use zeros or last")),
        }
    }
}

/// A planner's variables (model space, normalized actions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarmStart {
    /// a_0 … a_{T−1} [T × K] (CEM: the mean).
    pub actions: Vec<f32>,
    /// GRASP/LatCo: s_0 … s_T [(T+1) × D]; None for shooting planners.
    pub states: Option<Vec<f32>>,
    /// CEM: the per-element std [T × K]; None otherwise.
    pub std: Option<Vec<f32>>,
}

impl WarmStart {
    /// Horizon T of these variables for action size `k`.
    pub fn horizon(&self, k: usize) -> usize {
        self.actions.len() / k.max(1)
    }

    /// Checks the shapes against horizon `t` (state size `d`, action size `k`) and that every value is finite.
    pub fn check(&self, t: usize, d: usize, k: usize) -> Result<(), PlanError> {
        let bad = |what: &str, got: usize, want: usize| {
            Err(PlanError::Problem(format!(
                "warm start {what} has {got} values, the problem needs {want}"
            )))
        };
        if self.actions.len() != t * k {
            return bad("actions", self.actions.len(), t * k);
        }
        if let Some(s) = &self.states {
            if s.len() != (t + 1) * d {
                return bad("states", s.len(), (t + 1) * d);
            }
        }
        if let Some(s) = &self.std {
            if s.len() != t * k {
                return bad("std", s.len(), t * k);
            }
        }
        let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
        if !finite(&self.actions)
            || !self.states.as_deref().is_none_or(finite)
            || !self.std.as_deref().is_none_or(finite)
        {
            return Err(PlanError::Problem("warm start is not finite".into()));
        }
        Ok(())
    }

    /// The variables after `executed` steps have been carried out, for a new plan of `horizon` steps: rows
    /// `executed..` move to the front; a longer new horizon (receding window) is padded at the end — actions by
    /// `pad`, std by `std_pad`, states on the straight line from the last kept state to `goal`; a shorter one
    /// is cut. Row 0 of the states is left as the old s_executed: the new planner replaces it with the observed
    /// state, and pins the goal dims of its last row.
    pub fn shifted(
        &self,
        executed: usize,
        horizon: usize,
        dims: (usize, usize),
        goal: &[f32],
        pad: Pad,
        std_pad: f32,
    ) -> WarmStart {
        let (d, k) = dims;
        let old_t = self.horizon(k);
        let keep = old_t.saturating_sub(executed).min(horizon);
        let mut actions = self.actions[executed.min(old_t) * k..][..keep * k].to_vec();
        let last: Vec<f32> = match (pad, keep) {
            (Pad::Last, 1..) => actions[(keep - 1) * k..keep * k].to_vec(),
            _ => vec![0.0; k],
        };
        while actions.len() < horizon * k {
            actions.extend_from_slice(&last);
        }
        let std = self.std.as_ref().map(|s| {
            let mut v = s[executed.min(old_t) * k..][..keep * k].to_vec();
            v.resize(horizon * k, std_pad);
            v
        });
        let states = self.states.as_ref().map(|s| {
            // Old rows executed..=min(old_t, executed + horizon) become new rows 0..=m.
            let first = executed.min(old_t);
            let m = keep;
            let mut v = s[first * d..(first + m + 1) * d].to_vec();
            let tail: Vec<f32> = v[m * d..(m + 1) * d].to_vec();
            for t in m + 1..=horizon {
                let w = (t - m) as f32 / (horizon - m) as f32;
                v.extend(tail.iter().zip(goal).map(|(a, g)| a + w * (g - a)));
            }
            v
        });
        WarmStart {
            actions,
            states,
            std,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: usize, d: usize, k: usize) -> WarmStart {
        WarmStart {
            actions: (0..t * k).map(|i| i as f32).collect(),
            states: Some((0..(t + 1) * d).map(|i| 100.0 + i as f32).collect()),
            std: Some((0..t * k).map(|i| 0.5 + i as f32).collect()),
        }
    }

    #[test]
    fn a_shrinking_shift_keeps_exactly_the_unexecuted_rest() {
        let (t, d, k) = (5, 2, 3);
        let w = sample(t, d, k);
        let s = w.shifted(2, 3, (d, k), &[0.0, 0.0], Pad::Zeros, 9.0);
        assert_eq!(s.actions, w.actions[2 * k..]);
        assert_eq!(s.std.as_deref(), Some(&w.std.as_ref().unwrap()[2 * k..]));
        assert_eq!(
            s.states.as_deref(),
            Some(&w.states.as_ref().unwrap()[2 * d..])
        );
        s.check(3, d, k).unwrap();
    }

    #[test]
    fn a_receding_shift_pads_actions_std_and_states_toward_the_goal() {
        let (t, d, k) = (4, 1, 2);
        let w = sample(t, d, k);
        let goal = [200.0];
        let z = w.shifted(1, 4, (d, k), &goal, Pad::Zeros, 7.0);
        assert_eq!(z.actions, vec![2., 3., 4., 5., 6., 7., 0., 0.]);
        assert_eq!(z.std.unwrap()[6..], [7.0, 7.0]);
        let l = w.shifted(1, 4, (d, k), &goal, Pad::Last, 7.0);
        assert_eq!(l.actions[6..], [6.0, 7.0]);
        // Old states 101..104 become rows 0..3; row 4 lies on the line from 104 to the goal (its end).
        assert_eq!(l.states.unwrap(), vec![101., 102., 103., 104., 200.]);
        let two = w.shifted(2, 4, (d, k), &goal, Pad::Zeros, 7.0);
        assert_eq!(two.states.unwrap(), vec![102., 103., 104., 152., 200.]);
        assert!(w.check(5, d, k).is_err());
    }
}
