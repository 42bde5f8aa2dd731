//! The closed-loop (MPC) flags shared by `plan`, `bench`, `tune` and `record`: `--mpc` turns model-predictive
//! control on; the `--mpc-*` flags set how it replans and are a usage error without it.

use grasp_explorer::bench::closed_loop::MpcSpec;
use grasp_explorer::plan::mpc::MpcSettings;
use grasp_explorer::plan::runner::Budget;
use grasp_explorer::plan::warm::Pad;

use super::usage;

/// MPC flags.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct MpcArgs {
    /// Closed loop: execute the first steps of each plan in the simulator, observe the real state and replan
    /// warm-started, until the goal is reached or H model steps have been executed.
    #[arg(long)]
    pub mpc: bool,
    /// [--mpc] World-model steps executed per replan (each 5 env steps), 1..=H, or `trust`: execute each plan
    /// up to its ensemble trust horizon, at least 1 (needs an ensemble: the --model file, or the shipped one
    /// around the shipped model; threshold from --trust-threshold or the ensemble's calibration). Default 1.
    #[arg(long, value_name = "K|trust", allow_hyphen_values = true)]
    pub mpc_execute: Option<String>,
    /// [--mpc] Iterations of each replan. Default: a tenth of the first plan's iterations (at least 1).
    #[arg(long, value_name = "N")]
    pub mpc_iters: Option<i64>,
    /// [--mpc] Planner seconds of each replan (instead of, or with, --mpc-iters).
    #[arg(long, value_name = "X")]
    pub mpc_budget_s: Option<f64>,
    /// [--mpc, plan/record] Iterations of the first plan. Default: the open-loop budget (--iters /
    /// --budget-s) times --mpc-first-frac.
    #[arg(long, value_name = "N")]
    pub mpc_first_iters: Option<i64>,
    /// [--mpc] Fraction of the budget for the first plan, in (0, 1]. plan/record: of --iters / --budget-s
    /// (default 1); bench/tune: of the trial budget, the rest split evenly over the replans (default 0.5).
    #[arg(long, value_name = "F")]
    pub mpc_first_frac: Option<f64>,
    /// [--mpc] Receding window of W model steps (K..=H); absent = the horizon shrinks to the remaining steps.
    #[arg(long, value_name = "W")]
    pub mpc_window: Option<i64>,
    /// [--mpc] How a receding window fills its new last steps: zeros (default) or last.
    #[arg(long, value_name = "PAD")]
    pub mpc_pad: Option<String>,
    /// [--mpc] CEM: restart σ at its initial value on every replan instead of shifting it.
    #[arg(long)]
    pub mpc_reset_std: bool,
}

/// `--mpc-execute K` as a step count; `trust` executes at least one step per plan (the ensemble decides how
/// many more: [`MpcArgs::trust_execution`]).
fn execute_steps(v: &str) -> anyhow::Result<usize> {
    if v == "trust" {
        return Ok(1);
    }
    let n: i64 = v.parse().map_err(|_| {
        usage(format!(
            "--mpc-execute must be an integer >= 1 or 'trust', got '{v}'"
        ))
    })?;
    positive("mpc-execute", n)
}

fn positive(name: &str, v: i64) -> anyhow::Result<usize> {
    usize::try_from(v)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| usage(format!("--{name} must be an integer >= 1, got {v}")))
}

impl MpcArgs {
    fn first_frac(&self, default: f64) -> anyhow::Result<f64> {
        match self.mpc_first_frac {
            Some(f) if f > 0.0 && f <= 1.0 => Ok(f),
            Some(f) => Err(usage(format!(
                "--mpc-first-frac must be in (0, 1], got {f}"
            ))),
            None => Ok(default),
        }
    }

    /// The closed-loop spec of `bench` and `tune` contenders, or None without `--mpc`: the flags given
    /// override `base` (defaults, or a tuned file's entry). The trial budget is split (--mpc-first-frac,
    /// --mpc-iters per replan), so --mpc-first-iters and --mpc-budget-s do not apply.
    pub fn spec_over(&self, base: &MpcSpec) -> anyhow::Result<Option<MpcSpec>> {
        if !self.mpc {
            return self.settings(1, Budget::iters(1)).map(|_| None);
        }
        for (set, flag) in [
            (self.mpc_first_iters.is_some(), "--mpc-first-iters"),
            (self.mpc_budget_s.is_some(), "--mpc-budget-s"),
        ] {
            if set {
                return Err(usage(format!(
                    "{flag} does not apply to bench/tune: the trial budget is split by --mpc-first-frac and --mpc-iters"
                )));
            }
        }
        let trust = self.trust_execution() || (self.mpc_execute.is_none() && base.trust);
        let spec = MpcSpec {
            execute: match &self.mpc_execute {
                Some(v) => execute_steps(v)?,
                None => base.execute,
            },
            window: match self.mpc_window {
                Some(v) => Some(positive("mpc-window", v)?),
                None => base.window,
            },
            first_frac: self.first_frac(base.first_frac)?,
            replan_iters: match self.mpc_iters {
                Some(v) => Some(positive("mpc-iters", v)?),
                None => base.replan_iters,
            },
            pad: match &self.mpc_pad {
                Some(p) => p
                    .parse::<Pad>()
                    .map_err(|e| usage(format!("--mpc-pad: {e}")))?,
                None => base.pad,
            },
            reset_cem_std: self.mpc_reset_std || base.reset_cem_std,
            trust,
            trust_threshold: base.trust_threshold.filter(|_| trust),
        };
        Ok(Some(spec))
    }

    /// Whether `--mpc --mpc-execute trust` was given (adaptive execution: [`Self::settings`] executes one
    /// step per plan, and the caller lends the episode an ensemble and threshold that extend it).
    pub fn trust_execution(&self) -> bool {
        self.mpc && self.mpc_execute.as_deref() == Some("trust")
    }

    /// The names of the `--mpc-*` flags given.
    fn given(&self) -> Vec<&'static str> {
        [
            (self.mpc_execute.is_some(), "--mpc-execute"),
            (self.mpc_iters.is_some(), "--mpc-iters"),
            (self.mpc_budget_s.is_some(), "--mpc-budget-s"),
            (self.mpc_first_iters.is_some(), "--mpc-first-iters"),
            (self.mpc_first_frac.is_some(), "--mpc-first-frac"),
            (self.mpc_window.is_some(), "--mpc-window"),
            (self.mpc_pad.is_some(), "--mpc-pad"),
            (self.mpc_reset_std, "--mpc-reset-std"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }

    /// [`MpcArgs::spec_over`] the defaults.
    pub fn spec(&self) -> anyhow::Result<Option<MpcSpec>> {
        self.spec_over(&MpcSpec::default())
    }

    /// The MPC settings for a deadline of `horizon` model steps whose first plan defaults to `open_loop`
    /// (the open-loop budget), or None without `--mpc`. Every bad value is a usage error naming its flag.
    pub fn settings(
        &self,
        horizon: usize,
        open_loop: Budget,
    ) -> anyhow::Result<Option<MpcSettings>> {
        if !self.mpc {
            let given = self.given();
            if !given.is_empty() {
                return Err(usage(format!(
                    "{} given without --mpc (they only apply to closed loop)",
                    given.join(", ")
                )));
            }
            return Ok(None);
        }
        let execute = match &self.mpc_execute {
            Some(v) => execute_steps(v)?,
            None => 1,
        };
        if execute > horizon {
            return Err(usage(format!(
                "--mpc-execute {execute} is larger than the horizon {horizon}"
            )));
        }
        let window = match self.mpc_window {
            Some(v) => {
                let w = positive("mpc-window", v)?;
                if w > horizon || w < execute {
                    return Err(usage(format!(
                        "--mpc-window must be between --mpc-execute ({execute}) and the horizon ({horizon}), got {w}"
                    )));
                }
                Some(w)
            }
            None => None,
        };
        let frac = self.first_frac(1.0)?;
        let first = match self.mpc_first_iters {
            Some(v) => Budget::iters(positive("mpc-first-iters", v)?),
            None => Budget {
                max_iters: open_loop
                    .max_iters
                    .map(|n| ((n as f64 * frac).round() as usize).max(1)),
                max_seconds: open_loop.max_seconds.map(|s| s * frac),
            },
        };
        if let Some(s) = self.mpc_budget_s {
            if !(s.is_finite() && s > 0.0) {
                return Err(usage(format!(
                    "--mpc-budget-s must be a number > 0, got {s}"
                )));
            }
        }
        let replan_iters = match self.mpc_iters {
            Some(v) => Some(positive("mpc-iters", v)?),
            None if self.mpc_budget_s.is_some() => None,
            None => Some((first.max_iters.unwrap_or(1000) / 10).max(1)),
        };
        let pad = match &self.mpc_pad {
            Some(p) => p
                .parse::<Pad>()
                .map_err(|e| usage(format!("--mpc-pad: {e}")))?,
            None => Pad::Zeros,
        };
        let settings = MpcSettings {
            execute,
            window,
            first,
            replan: Budget {
                max_iters: replan_iters,
                max_seconds: self.mpc_budget_s,
            },
            pad,
            reset_cem_std: self.mpc_reset_std,
            stop_on_success: true,
            total: None,
        };
        settings
            .validate(horizon)
            .map_err(|e| usage(e.to_string()))?;
        Ok(Some(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(f: impl FnOnce(&mut MpcArgs)) -> MpcArgs {
        let mut a = MpcArgs {
            mpc: true,
            ..Default::default()
        };
        f(&mut a);
        a
    }

    #[test]
    fn defaults_and_bad_values() {
        let s = args(|_| {})
            .settings(50, Budget::iters(1000))
            .unwrap()
            .unwrap();
        assert_eq!((s.execute, s.window), (1, None));
        assert_eq!(s.replan, Budget::iters(100));
        assert_eq!(s.first, Budget::iters(1000));
        let bad = |f: fn(&mut MpcArgs)| {
            let e = args(f).settings(10, Budget::iters(30)).unwrap_err();
            assert_eq!(super::super::exit_code(&e), 2, "{e}");
            e.to_string()
        };
        assert!(bad(|a| a.mpc_execute = Some("0".into())).contains("--mpc-execute"));
        assert!(bad(|a| a.mpc_execute = Some("11".into())).contains("--mpc-execute"));
        assert!(bad(|a| a.mpc_execute = Some("x".into())).contains("--mpc-execute"));
        let trust = args(|a| a.mpc_execute = Some("trust".into()));
        assert!(trust.trust_execution());
        assert_eq!(
            trust
                .settings(10, Budget::iters(30))
                .unwrap()
                .unwrap()
                .execute,
            1
        );
        let spec = trust.spec().unwrap().unwrap();
        assert!(spec.trust && spec.execute == 1);
        assert!(bad(|a| a.mpc_iters = Some(0)).contains("--mpc-iters"));
        assert!(bad(|a| a.mpc_window = Some(11)).contains("--mpc-window"));
        assert!(bad(|a| a.mpc_budget_s = Some(f64::NAN)).contains("--mpc-budget-s"));
        assert!(bad(|a| a.mpc_pad = Some("x".into())).contains("--mpc-pad"));
        let off = MpcArgs {
            mpc_iters: Some(5),
            ..Default::default()
        };
        let e = off.settings(10, Budget::iters(30)).unwrap_err().to_string();
        assert!(e.contains("--mpc-iters given without --mpc"), "{e}");
        assert!(MpcArgs::default()
            .settings(10, Budget::iters(30))
            .unwrap()
            .is_none());
        let half = args(|a| a.mpc_first_frac = Some(0.5))
            .settings(10, Budget::iters(30))
            .unwrap()
            .unwrap();
        assert_eq!(half.first, Budget::iters(15));
        assert!(bad(|a| a.mpc_first_frac = Some(1.5)).contains("--mpc-first-frac"));
        let spec = args(|a| a.mpc_iters = Some(7)).spec().unwrap().unwrap();
        assert_eq!((spec.replan_iters, spec.first_frac), (Some(7), 0.5));
        assert!(args(|a| a.mpc_first_iters = Some(7)).spec().is_err());
    }
}
