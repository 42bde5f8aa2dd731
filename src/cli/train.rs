//! `grasp-explorer train`: generate simulator data, train a world model with a progress bar, report held-out
//! accuracy (one-step and open-loop rollouts at 1, 10, 40 model steps) and save it as safetensors. Options
//! add the multi-step rollout loss (`--rollout-steps`), adversarial input perturbation (`--adversarial`) and
//! fine-tuning from an existing model (`--init-model`); `--ensemble N` trains N members into one file.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use grasp_explorer::env::EnvKind;
use grasp_explorer::model::codec::Codec;
use grasp_explorer::model::data::{self, DataConfig, Episode, Source};
use grasp_explorer::model::ensemble::Ensemble;
use grasp_explorer::model::eval::evaluate;
use grasp_explorer::model::info::{Activation, TrainingSummary};
use grasp_explorer::model::io::{default_model_path, load_env_model, save_ensemble, save_model};
use grasp_explorer::model::train::{fit_from, EpochStats, ModelData, TrainConfig, TrainEvent};
use grasp_explorer::model::MlpModel;
use grasp_explorer::model::WorldModel;

use super::usage;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Environment: pusht, pointmaze or wall.
    #[arg(long)]
    pub env: EnvKind,
    /// Output file (default: the shipped model path, assets/models/<env>.safetensors).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of data generation, initialization and minibatch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Transitions to generate (default per env: see docs/models.md).
    #[arg(long)]
    pub samples: Option<usize>,
    /// Training epochs (default per env).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Hidden-layer widths, comma-separated.
    #[arg(long, default_value = "256,256")]
    pub hidden: String,
    /// Hidden activation: silu or tanh.
    #[arg(long, default_value = "silu")]
    pub activation: Activation,
    /// Minibatch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Peak Adam learning rate (cosine-decayed to 2% over the run).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Model steps per generated episode.
    #[arg(long, default_value_t = 50)]
    pub episode_len: usize,
    /// Fraction of episodes held out for validation and the final report, in (0, 0.5].
    #[arg(long, default_value_t = 0.1)]
    pub val_frac: f64,
    /// Wall only: fraction of episodes that run straight at random targets with large actions, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    pub directed_frac: f64,
    /// Model steps unrolled per training segment (1 = one-step loss; N sums the losses of an N-step rollout,
    /// teacher-forced at step 1, free-running after). 1..=--episode-len.
    #[arg(long, default_value_t = 1)]
    pub rollout_steps: usize,
    /// With --rollout-steps N > 1: weight of the free-running steps 2..=N relative to step 1 (1 = a plain sum;
    /// e.g. 0.2 keeps the one-step fit in charge). Finite, >= 0.
    #[arg(long, default_value_t = 1.0)]
    pub rollout_weight: f32,
    /// Adversarial training: box radii λs,λa of the state and action input perturbation in units of their
    /// per-dim std (one FGSM step per minibatch), e.g. 0.03,0.02; 0,0 = off.
    #[arg(long, default_value = "0,0", allow_hyphen_values = true)]
    pub adversarial: String,
    /// Start from this model's weights and normalization (fine-tune; --hidden and --activation are ignored).
    #[arg(long)]
    pub init_model: Option<PathBuf>,
    /// Train an ensemble of N members (`--ensemble` alone: 5) into one file (format version 2): the same
    /// data and normalization, member m seeded --seed + m; member 0 is the one planners use. N ≥ 2.
    #[arg(long, num_args = 0..=1, default_missing_value = "5")]
    pub ensemble: Option<usize>,
    /// With --ensemble: train each member on a bootstrap resample of the training episodes.
    #[arg(long)]
    pub bootstrap: bool,
    /// With --ensemble N: member 0 is this model file, unchanged (planning with the ensemble then gives the
    /// same plans as with the file); members 1..N-1 are trained from scratch with its normalization, layer
    /// widths and activation (--hidden and --activation are ignored).
    #[arg(long, conflicts_with = "init_model")]
    pub designated_model: Option<PathBuf>,
}

/// Parses `--adversarial λs,λa` (two finite values ≥ 0).
pub fn parse_adversarial(s: &str) -> anyhow::Result<(f32, f32)> {
    let v: Vec<Option<f32>> = s.split(',').map(|x| x.trim().parse::<f32>().ok()).collect();
    match v.as_slice() {
        [Some(a), Some(b)] if a.is_finite() && b.is_finite() && *a >= 0.0 && *b >= 0.0 => {
            Ok((*a, *b))
        }
        _ => Err(usage(format!(
            "--adversarial must be two finite values >= 0 as λs,λa (e.g. 0.03,0.02), got '{s}'"
        ))),
    }
}

/// Default (samples, epochs) per env: sized to train in well under 15 minutes on 2 cores.
pub fn default_budget(env: EnvKind) -> (usize, usize) {
    match env {
        EnvKind::Pusht => (400_000, 60),
        EnvKind::Pointmaze => (400_000, 60),
        EnvKind::Wall => (400_000, 60),
    }
}

fn parse_hidden(s: &str) -> anyhow::Result<Vec<usize>> {
    let widths: Result<Vec<usize>, _> = s.split(',').map(|w| w.trim().parse::<usize>()).collect();
    match widths {
        Ok(w) if !w.is_empty() && w.iter().all(|&x| (1..=4096).contains(&x)) => Ok(w),
        _ => Err(usage(format!(
            "--hidden must be comma-separated widths in 1..=4096, got '{s}'"
        ))),
    }
}

fn bar(len: u64, prefix: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>8} [{bar:32}] {pos}/{len} {msg} ({elapsed} elapsed, eta {eta})",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_prefix(prefix.to_string());
    pb
}

/// Model-space transitions of some episodes, each episode one segment.
fn model_data(codec: &Codec, env: EnvKind, episodes: &[Episode]) -> ModelData {
    ModelData::from_episodes(codec, env, episodes)
}

/// Episodes drawn with replacement from `eps` (as many as there are), seeded.
fn bootstrap(eps: &[Episode], seed: u64) -> Vec<Episode> {
    use rand::Rng as _;
    let mut rng = grasp_explorer::util::rng_for(seed, "bootstrap");
    (0..eps.len())
        .map(|_| eps[rng.random_range(0..eps.len())].clone())
        .collect()
}

/// Trains one model (one ensemble member) with a progress bar labelled `label`.
#[allow(clippy::too_many_arguments)]
fn train_member(
    args: &TrainArgs,
    codec: &Codec,
    init: Option<&MlpModel>,
    train_data: &ModelData,
    val_data: &ModelData,
    label: &str,
    t0: Instant,
    cfg: TrainConfig,
) -> anyhow::Result<(MlpModel, EpochStats, EpochStats)> {
    let epochs = cfg.epochs;
    let n_starts = train_data
        .starts(codec.state_dim(), args.rollout_steps)
        .len();
    let steps = n_starts.div_ceil(args.batch) * epochs;
    let pb = bar(steps as u64, label);
    let hidden_bar = pb.is_hidden();
    let mut ema: Option<f64> = None;
    let mut best_val = f64::INFINITY;
    let fitted = fit_from(
        codec,
        init,
        train_data,
        val_data,
        &cfg,
        &mut |ev| match ev {
            TrainEvent::Batch { epoch, loss } => {
                let e = ema.map_or(loss, |m| 0.98 * m + 0.02 * loss);
                ema = Some(e);
                pb.inc(1);
                if pb.position() == 1 || pb.position().is_multiple_of(20) {
                    let val = if best_val.is_finite() {
                        format!("{best_val:.2e}")
                    } else {
                        "-".into()
                    };
                    pb.set_message(format!(
                        "epoch {}/{epochs} loss {e:.2e} best val {val}",
                        epoch + 1
                    ));
                }
            }
            TrainEvent::Epoch(st) => {
                best_val = best_val.min(st.val_loss);
                if hidden_bar {
                    eprintln!(
                        "{label} epoch {:>3}/{epochs}: train {:.3e}  val {:.3e}{}  ({:.0} s)",
                        st.epoch,
                        st.train_loss,
                        st.val_loss,
                        if st.best { " *" } else { "" },
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
        },
    );
    let out = fitted.context("training failed")?;
    pb.finish();
    Ok(out)
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let env = args.env;
    let (def_samples, def_epochs) = default_budget(env);
    let samples = args.samples.unwrap_or(def_samples);
    super::limits::bound(
        "--samples",
        samples,
        grasp_explorer::util::limits::MAX_TRAIN_SAMPLES,
    )?;
    let epochs = args.epochs.unwrap_or(def_epochs);
    let hidden = parse_hidden(&args.hidden)?;
    if samples < 20 * args.episode_len.max(1) {
        return Err(usage(format!(
            "--samples must be at least 20 episodes' worth ({}), got {samples}",
            20 * args.episode_len.max(1)
        )));
    }
    if epochs == 0 || args.batch == 0 || args.episode_len == 0 {
        return Err(usage(
            "--epochs, --batch and --episode-len must be positive",
        ));
    }
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        return Err(usage(format!("--lr must be positive, got {}", args.lr)));
    }
    if !(args.val_frac > 0.0 && args.val_frac <= 0.5) {
        return Err(usage(format!(
            "--val-frac must be in (0, 0.5], got {}",
            args.val_frac
        )));
    }
    if !(0.0..=1.0).contains(&args.directed_frac)
        || (args.directed_frac > 0.0 && env != EnvKind::Wall)
    {
        return Err(usage(format!(
            "--directed-frac must be in [0, 1] and is for --env wall only, got {} for {env}",
            args.directed_frac
        )));
    }
    if args.rollout_steps == 0 || args.rollout_steps > args.episode_len {
        return Err(usage(format!(
            "--rollout-steps must be in 1..=--episode-len ({}), got {}",
            args.episode_len, args.rollout_steps
        )));
    }
    if !(args.rollout_weight.is_finite() && args.rollout_weight >= 0.0) {
        return Err(usage(format!(
            "--rollout-weight must be a finite number >= 0, got {}",
            args.rollout_weight
        )));
    }
    let (adv_state, adv_action) = parse_adversarial(&args.adversarial)?;
    let members = match args.ensemble {
        None if args.bootstrap => {
            return Err(usage("--bootstrap needs --ensemble N (N ≥ 2)"));
        }
        None => 1,
        Some(n) if (2..=grasp_explorer::model::io::MAX_MEMBERS).contains(&n) => n,
        Some(n) => {
            return Err(usage(format!(
                "--ensemble must be in 2..={} (members need others to disagree with), got {n}",
                grasp_explorer::model::io::MAX_MEMBERS
            )))
        }
    };
    if args.designated_model.is_some() && members < 2 {
        return Err(usage("--designated-model needs --ensemble N (N ≥ 2)"));
    }
    let init = match &args.init_model {
        Some(p) => Some(load_env_model(env, Some(p))?),
        None => None,
    };
    let designated = match &args.designated_model {
        Some(p) => Some(load_env_model(env, Some(p))?),
        None => None,
    };
    let out = args.out.clone().unwrap_or_else(|| default_model_path(env));
    grasp_explorer::util::check_can_write(&out)
        .with_context(|| format!("cannot write the model to {}", out.display()))?;
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // Measured (docs/models.md): at minibatch 256 candle's two-thread pool costs more than it saves on
        // 2 cores. Set before any candle op, while this process is still single-threaded.
        std::env::set_var("RAYON_NUM_THREADS", "1");
    }
    let t0 = Instant::now();

    let data_cfg = DataConfig {
        samples,
        episode_len: args.episode_len,
        seed: args.seed,
        threads: 2,
        directed_frac: args.directed_frac,
    };
    let n_eps = samples.div_ceil(args.episode_len);
    let pb = bar(n_eps as u64, "data");
    pb.set_message(format!("{env} episodes"));
    let episodes = data::generate(env, &data_cfg, &|done| pb.set_position(done as u64));
    pb.finish();
    let n_val = ((n_eps as f64 * args.val_frac).ceil() as usize).clamp(1, n_eps - 1);
    let (train_eps, val_eps) = episodes.split_at(n_eps - n_val);
    eprintln!(
        "data: {} train + {} held-out episodes of {} steps in {:.1} s",
        train_eps.len(),
        val_eps.len(),
        args.episode_len,
        t0.elapsed().as_secs_f64()
    );

    // Members around a designated model take its shape, so one ensemble file holds them all.
    let (hidden, activation) = match &designated {
        Some(d) => {
            let (h, a) = (d.info().hidden(), d.info().activation);
            if h != hidden || a != args.activation {
                eprintln!(
                    "note: members take the designated model's shape ({h:?}, {}), not --hidden/--activation",
                    a.name()
                );
            }
            (h, a)
        }
        None => (hidden, args.activation),
    };
    let codec = match init.as_ref().or(designated.as_ref()) {
        Some(m) => m.info().codec(),
        None => {
            let (s, a, _) = data::transitions(env, train_eps);
            Codec::fit(env, &s, &a)
        }
    };
    let train_data = model_data(&codec, env, train_eps);
    let val_data = model_data(&codec, env, val_eps);
    let mut trained = Vec::with_capacity(members);
    for m in 0..members {
        let seed = args.seed + m as u64;
        if let (0, Some(d)) = (m, &designated) {
            // Its own training record (its held-out loss was measured on its own training run's data).
            let t = d.info().training.as_ref();
            let best = EpochStats {
                epoch: t.map_or(0, |t| t.best_epoch),
                train_loss: t.map_or(f64::NAN, |t| t.train_loss),
                val_loss: t.map_or(f64::NAN, |t| t.val_loss),
                best: true,
            };
            trained.push((d.clone(), best, best));
            continue;
        }
        let boot;
        let data = if args.bootstrap {
            boot = model_data(&codec, env, &bootstrap(train_eps, seed));
            &boot
        } else {
            &train_data
        };
        let label = if members > 1 {
            format!("train {}/{members}", m + 1)
        } else {
            "train".to_string()
        };
        trained.push(train_member(
            &args,
            &codec,
            init.as_ref(),
            data,
            &val_data,
            &label,
            t0,
            TrainConfig {
                hidden: hidden.clone(),
                activation,
                epochs,
                batch: args.batch,
                lr: args.lr,
                seed,
                rollout_steps: args.rollout_steps,
                rollout_weight: args.rollout_weight,
                adv_state,
                adv_action,
                ..TrainConfig::default()
            },
        )?);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let member_val: Vec<f64> = trained.iter().map(|(_, _, b)| b.val_loss).collect();
    let mut models = Vec::with_capacity(members);
    let mut first = None;
    for (model, last, best) in trained {
        if first.is_none() {
            first = Some((last, best));
        }
        models.push(model);
    }
    let (last, best) = first.context("training produced no model")?;
    let mut model = models.swap_remove(0);

    let mut reports = vec![evaluate(&model, val_eps, None)];
    if env == EnvKind::Pusht {
        reports.push(evaluate(&model, val_eps, Some(Source::Scripted)));
    }
    let mut summary = TrainingSummary {
        command: std::iter::once("grasp-explorer".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        seed: args.seed,
        samples: n_eps * args.episode_len,
        epochs,
        best_epoch: best.epoch,
        batch: args.batch,
        lr: args.lr,
        train_loss: last.train_loss,
        val_loss: best.val_loss,
        seconds,
        eval: Default::default(),
    };
    for r in &reports {
        summary.eval.extend(r.figures());
    }
    if designated.is_none() {
        model.info_mut().training = Some(summary.clone());
    }
    if members > 1 {
        // Members 1.. carry their own losses; the held-out figures are member 0's (the designated one).
        let mut all = vec![model];
        for (i, mut m) in models.into_iter().enumerate() {
            let mut s = summary.clone();
            s.seed = args.seed + i as u64 + 1;
            s.val_loss = member_val[i + 1];
            s.eval.clear();
            m.info_mut().training = Some(s);
            all.push(m);
        }
        let ens = Ensemble::new(all, 0, args.bootstrap).map_err(anyhow::Error::msg)?;
        save_ensemble(&ens, &out)?;
        outln!(
            "trained a {env} ensemble of {members}{}: val loss per member {}, {:.0} s total",
            if args.bootstrap { " (bootstrap)" } else { "" },
            member_val
                .iter()
                .map(|v| format!("{v:.3e}"))
                .collect::<Vec<_>>()
                .join(", "),
            seconds
        );
        model = ens.into_designated();
    } else {
        save_model(&model, &out)?;
    }
    outln!(
        "trained {env} world model: {} params, best epoch {}/{epochs}, val loss {:.3e}, {:.0} s total",
        model.num_params(),
        best.epoch,
        best.val_loss,
        seconds
    );
    for r in &reports {
        out!("{}", r.table());
    }
    outln!(
        "saved {} (D={}, K={})",
        out.display(),
        model.state_dim(),
        model.action_dim()
    );
    Ok(())
}
