//! `grasp-explorer model trust`: calibrates an ensemble's trust threshold on *tuning* problems (seeds from
//! 10¹², never evaluation seeds). Each planner plans every problem with the designated member (shipped tuned
//! settings, or `--tuned FILE`'s); for each plan the members' disagreement per step and the simulator's
//! divergence step are measured, and the threshold with the smallest mean |trust horizon − divergence step| is chosen
//! (`plan::trust::calibrate`). Prints it with the fit (rank correlation, fraction within ±2 steps), as text or
//! JSON, and with `--write F` stores it (temp file + rename). `--check T` instead measures a given threshold on
//! evaluation problems (seeds 0, 1, …), which calibration never sees.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use grasp_explorer::bench::protocol::TUNING_SEED_BASE;
use grasp_explorer::bench::settings::{resolve, TunedSettings};
use grasp_explorer::env::{EnvKind, Problem};
use grasp_explorer::finetune::gap::planner_gap;
use grasp_explorer::model::ensemble::{disagreement, divergence_step, trust_horizon};
use grasp_explorer::model::eval::tolerance;
use grasp_explorer::model::io::load_ensemble;
use grasp_explorer::model::WorldModel;
use grasp_explorer::plan::trust::calibrate;
use grasp_explorer::plan::PlannerKind;

use super::super::usage;

/// Arguments of `model trust`.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: EnvKind,
    /// Ensemble file (written by `train --ensemble N`).
    #[arg(long)]
    pub model: PathBuf,
    /// Planners whose plans calibrate the threshold, comma-separated.
    #[arg(long, default_value = "grasp,cem,gd")]
    pub planners: String,
    /// Tuning problems per planner (seeds from 10^12).
    #[arg(long, default_value_t = 10)]
    pub problems: usize,
    /// Horizon (default: Push-T 50, PointMaze 100, Wall 100).
    #[arg(long)]
    pub horizon: Option<usize>,
    /// Planner iterations per problem (default: each planner's default).
    #[arg(long)]
    pub iters: Option<usize>,
    /// The planners' settings file instead of the shipped one (assets/tuned/<env>.json; written by `tune`).
    #[arg(long, value_name = "FILE")]
    pub tuned: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the result as JSON to this file.
    #[arg(long)]
    pub write: Option<PathBuf>,
    /// Do not calibrate: measure how well this threshold (env units, e.g. one `model trust` chose) predicts
    /// the divergence step on *evaluation* problems (seeds 0, 1, …, as the benchmark's).
    #[arg(long, allow_hyphen_values = true)]
    pub check: Option<f32>,
}

/// The calibration result.
#[derive(Debug, Serialize)]
struct TrustCalibration {
    env: String,
    model: String,
    horizon: usize,
    planners: Vec<String>,
    /// "calibrated on tuning problems" or "checked on evaluation problems".
    mode: String,
    /// First problem seed (tuning: 10^12; evaluation: 0) and count.
    seed_first: u64,
    problems: usize,
    /// The chosen (or checked) threshold, env units.
    threshold: f32,
    /// The fit over every plan.
    #[serde(flatten)]
    fit: Fit,
    /// The fit over each planner's plans, in `planners` order.
    per_planner: Vec<PlannerFit>,
}

/// How well trust horizons predict divergence steps on a set of plans.
#[derive(Debug, Serialize)]
struct Fit {
    /// Plans measured.
    plans: usize,
    /// Mean |trust horizon − divergence step| at the threshold.
    mean_abs_error_steps: f64,
    /// Fraction of plans whose divergence step lies within ±2 steps of the trust horizon.
    within_2_steps: f64,
    /// Spearman rank correlation of trust horizon and divergence step over the plans.
    rank_correlation: Option<f64>,
}

/// [`Fit`] of one planner's plans.
#[derive(Debug, Serialize)]
struct PlannerFit {
    planner: String,
    #[serde(flatten)]
    fit: Fit,
}

/// The fit of `threshold` on `plans` (disagreement per step, divergence step).
fn fit(plans: &[(Vec<f32>, usize)], threshold: f32) -> Fit {
    let est: Vec<f64> = plans
        .iter()
        .map(|(d, _)| trust_horizon(d, threshold) as f64)
        .collect();
    let truth: Vec<f64> = plans.iter().map(|(_, t)| *t as f64).collect();
    let n = plans.len().max(1) as f64;
    Fit {
        plans: plans.len(),
        mean_abs_error_steps: est
            .iter()
            .zip(&truth)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / n,
        within_2_steps: est
            .iter()
            .zip(&truth)
            .filter(|(a, b)| (*a - *b).abs() <= 2.0)
            .count() as f64
            / n,
        rank_correlation: spearman(&est, &truth),
    }
}

/// Spearman's ρ (average ranks for ties); None when either side is constant or there are < 3 pairs.
fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let rank = |v: &[f64]| -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|a, b| v[*a].total_cmp(&v[*b]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            for k in i..=j {
                r[idx[k]] = (i + j) as f64 / 2.0;
            }
            i = j + 1;
        }
        r
    };
    if x.len() < 3 {
        return None;
    }
    let (rx, ry) = (rank(x), rank(y));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(&rx), mean(&ry));
    let cov: f64 = rx.iter().zip(&ry).map(|(a, b)| (a - mx) * (b - my)).sum();
    let vx: f64 = rx.iter().map(|a| (a - mx).powi(2)).sum();
    let vy: f64 = ry.iter().map(|b| (b - my).powi(2)).sum();
    (vx > 0.0 && vy > 0.0).then(|| cov / (vx * vy).sqrt())
}

/// Runs `model trust`.
pub fn run(args: TrustArgs) -> anyhow::Result<()> {
    if args.problems == 0 || args.problems > 10_000 {
        return Err(usage(format!(
            "--problems must be in 1..=10000, got {}",
            args.problems
        )));
    }
    if args.iters == Some(0) {
        return Err(usage("--iters must be at least 1"));
    }
    let kinds: Vec<PlannerKind> = args
        .planners
        .split(',')
        .map(|p| p.trim().parse::<PlannerKind>())
        .collect::<Result<_, _>>()
        .map_err(|e| usage(format!("--planners: {e}")))?;
    let horizon = args.horizon.unwrap_or(match args.env {
        EnvKind::Pusht => 50,
        EnvKind::Pointmaze | EnvKind::Wall => 100,
    });
    if horizon == 0 {
        return Err(usage("--horizon must be at least 1"));
    }
    super::super::limits::bound(
        "--horizon",
        horizon,
        grasp_explorer::util::limits::MAX_HORIZON,
    )?;
    if let Some(k) = kinds
        .iter()
        .enumerate()
        .find(|(i, k)| kinds[..*i].contains(k))
    {
        return Err(usage(format!("--planners lists '{}' twice", k.1)));
    }
    if let Some(w) = &args.write {
        grasp_explorer::util::check_can_write(w)
            .with_context(|| format!("--write {}", w.display()))?;
    }
    let tuned = match &args.tuned {
        Some(path) => {
            let t = super::super::limits::read_tuned("--tuned", path, args.env)?;
            super::super::limits::check_tuned_covers("--tuned", &t, &kinds, path)?;
            if args.check.is_some() {
                // A check plans evaluation problems, which the file must not have been tuned on.
                t.check_disjoint(0, args.problems as u64)
                    .map_err(|e| usage(format!("--tuned {}: {e}", path.display())))?;
            }
            Some(t)
        }
        None => TunedSettings::shipped(args.env).ok(),
    };
    let ens = load_ensemble(&args.model)?;
    if ens.env() != args.env {
        anyhow::bail!(
            "{} is an ensemble for {}, not {}",
            args.model.display(),
            ens.env(),
            args.env
        );
    }
    if let Some(t) = args.check {
        if !(t.is_finite() && t >= 0.0) {
            return Err(usage(format!(
                "--check must be a finite threshold >= 0 (env units), got {t}"
            )));
        }
    }
    // Calibration sees tuning seeds only; a check of a chosen threshold runs on evaluation seeds.
    let seed_first = if args.check.is_some() {
        0
    } else {
        TUNING_SEED_BASE
    };
    let problems: Vec<Problem> = (0..args.problems as u64)
        .map(|i| Problem::generate(args.env, horizon, seed_first + i))
        .collect::<Result<_, _>>()
        .context("generating the problems")?;
    let designated: Arc<dyn WorldModel> = Arc::new(ens.designated_model().clone());
    let tol = tolerance(args.env).0 as f32;
    let mut plans = Vec::new();
    for &kind in &kinds {
        let (params, _, _) = resolve(kind, tuned.as_ref())?;
        let iters = args.iters.unwrap_or(params.default_iterations());
        let pb = super::super::progress::progress_bar(problems.len() as u64, "problems");
        pb.set_message(format!("trust: {}", kind.name()));
        let (_, rollouts) = planner_gap(
            &problems,
            designated.clone(),
            kind.name(),
            &params,
            iters,
            |i| pb.set_position(i as u64),
        )
        .with_context(|| format!("planning with {}", kind.name()))?;
        pb.finish_and_clear();
        for (p, r) in problems.iter().zip(&rollouts) {
            let actions = designated.encode_actions(&r.episode.actions);
            let members = ens.rollouts(&p.start, &actions, horizon);
            let d = disagreement(args.env, &members, ens.designated());
            let ed = args.env.state_dim();
            let sim: Vec<Vec<f32>> = r
                .episode
                .states
                .chunks_exact(ed)
                .map(<[f32]>::to_vec)
                .collect();
            plans.push((
                d.spread,
                divergence_step(args.env, &r.model_states, &sim, tol),
            ));
        }
    }
    let threshold = match args.check {
        Some(t) => t,
        None => calibrate(&plans).context("no plans to calibrate on")?,
    };
    let per = problems.len();
    let result = TrustCalibration {
        env: args.env.name().to_string(),
        model: args.model.display().to_string(),
        horizon,
        planners: kinds.iter().map(|k| k.name().to_string()).collect(),
        mode: if args.check.is_some() {
            "checked on evaluation problems".into()
        } else {
            "calibrated on tuning problems".into()
        },
        seed_first,
        problems: args.problems,
        threshold,
        fit: fit(&plans, threshold),
        per_planner: kinds
            .iter()
            .zip(plans.chunks(per.max(1)))
            .map(|(k, p)| PlannerFit {
                planner: k.name().to_string(),
                fit: fit(p, threshold),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&result)?;
    if let Some(w) = &args.write {
        grasp_explorer::util::write_atomic(w, json.as_bytes())
            .with_context(|| format!("cannot write {}", w.display()))?;
    }
    if args.json {
        outln!("{json}");
    } else {
        outln!(
            "{} trust threshold {:.4} ({}; {} plans at H = {horizon}): trust horizon within ±2 steps of the divergence step on {:.0} %, mean |error| {:.1} steps, rank correlation {}",
            args.env,
            threshold,
            result.mode,
            plans.len(),
            100.0 * result.fit.within_2_steps,
            result.fit.mean_abs_error_steps,
            result
                .fit
                .rank_correlation
                .map_or("n/a".to_string(), |r| format!("{r:.2}"))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::spearman;

    #[test]
    fn spearman_reads_ranks() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
    }
}
