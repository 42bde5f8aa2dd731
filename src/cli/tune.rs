//! `grasp-explorer tune`: sweep a small grid per planner on tuning seeds (disjoint from every evaluation seed),
//! pick the best point per planner, and write a settings file that `bench --tuned FILE` reads (the shipped
//! defaults in assets/tuned/<env>.json come from such a run).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

use super::bench::{
    apply_check_every, bench_err, check_budget_origin, check_writable, command_line, load_model,
    parse_budget, parse_env, parse_horizons, parse_list, parse_problems, print_summary,
    run_session, scaled_budget, validate_before_writing, CommonArgs,
};
use super::usage;
use grasp_explorer::bench::exec::Executor;
use grasp_explorer::bench::settings::resolve;
use grasp_explorer::bench::summary::machine_description;
use grasp_explorer::bench::tune::{
    choose, grid_points, mpc_label, mpc_points, parse_grid, tuning_seed, DEFAULT_GRID,
};
use grasp_explorer::bench::{BenchConfig, Contender, Manifest, Session, Shard};
use grasp_explorer::plan::PlannerKind;

/// Arguments of `tune`.
#[derive(Debug, clap::Args)]
pub struct TuneArgs {
    /// Settings shared with `bench`. --seed S here means tuning seeds 1e12 + S + i.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Grid file: {"preset": {"field": [values...]}} (default: the built-in grid, see docs/benchmark.md).
    #[arg(long, value_name = "FILE")]
    pub grid: Option<PathBuf>,
    /// Also write the chosen settings here (e.g. assets/tuned/pusht.json). Always written to --out/tuned.json.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// Start every planner from this settings file (e.g. the shipped assets/tuned/<env>.json) instead of the
    /// preset defaults, so the grid (e.g. only `mpc.*` axes) tunes on top of settings already chosen.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

/// Runs `tune`.
pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let c = &args.common;
    let env = parse_env(c)?;
    let kinds: Vec<PlannerKind> = match &c.planners {
        Some(p) => parse_list("--planners", p, |s| s.parse())?,
        None => vec![PlannerKind::Grasp, PlannerKind::Cem, PlannerKind::Gd],
    };
    let horizons = parse_horizons(c)?;
    let problems = parse_problems(c, Some(10))?;
    let (grid_text, grid_origin) = match &args.grid {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (DEFAULT_GRID.to_string(), "built-in grid".to_string()),
    };
    let grid = parse_grid(&grid_text, &grid_origin).map_err(bench_err)?;
    if c.trust_threshold.is_some()
        && grid
            .values()
            .any(|axes| axes.contains_key("mpc.trust_threshold"))
    {
        return Err(usage(format!(
            "--trust-threshold and the mpc.trust_threshold axis of --grid {grid_origin} both set the threshold; drop one"
        )));
    }
    if args.grid.is_some() {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        if let Some(extra) = grid.keys().find(|k| !names.contains(&k.as_str())) {
            return Err(usage(format!(
                "--grid {grid_origin}: entry '{extra}' is for a planner not being tuned (--planners {}); \
                 remove it or add the planner",
                names.join(",")
            )));
        }
    }
    let mpc = c.mpc.spec()?;
    let from = match &args.from {
        Some(p) => {
            let t = super::limits::read_tuned("--from", p, env)?;
            Some(t)
        }
        None => None,
    };
    let mut contenders = Vec::new();
    let mut presets = BTreeMap::new();
    for (i, k) in kinds.iter().enumerate() {
        if kinds[..i].contains(k) {
            return Err(usage(format!("planner '{k}' is listed twice")));
        }
        let mpc_grid = match &mpc {
            Some(base) => mpc_points(*k, base, &grid)
                .map_err(bench_err)?
                .into_iter()
                .map(|(d, s)| (d, Some(s)))
                .collect(),
            None => {
                if mpc_points(*k, &Default::default(), &grid)
                    .map_err(bench_err)?
                    .iter()
                    .any(|(d, _)| !d.is_empty())
                {
                    return Err(usage(format!(
                        "the grid has mpc.* axes for {k}: tune them with --mpc"
                    )));
                }
                vec![(String::new(), None)]
            }
        };
        let (base, check_every, _) = resolve(*k, from.as_ref()).map_err(bench_err)?;
        for (label, params) in grid_points(*k, &base, &grid).map_err(bench_err)? {
            for (desc, spec) in &mpc_grid {
                let label = match spec {
                    Some(_) => mpc_label(&label, desc),
                    None => label.clone(),
                };
                presets.insert(label.clone(), *k);
                contenders.push(Contender {
                    label,
                    kind: *k,
                    params: params.clone(),
                    check_every,
                    mpc: spec.clone(),
                });
            }
        }
    }
    apply_check_every(c, &mut contenders)?;
    let out = c
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("tune-out/{env}")));
    if let Some(w) = &args.write {
        grasp_explorer::util::check_can_write(w)
            .with_context(|| format!("--write {}: cannot write there", w.display()))?;
    }
    let run_model = load_model(env, c, &mut contenders)?;
    check_budget_origin(c, env, &run_model.id)?;
    let mut exec = Executor::new(env, run_model.model);
    if let Some(t) = run_model.trust {
        exec.set_trust(t);
    }
    let mut config = BenchConfig {
        env,
        contenders,
        horizons,
        problems,
        seed: tuning_seed(c.seed).map_err(bench_err)?,
        budget: parse_budget(c)?,
        model: run_model.id,
        settings_source: match &args.from {
            Some(p) => format!("tuning grid ({grid_origin}) on {}", p.display()),
            None => format!("tuning grid ({grid_origin}) on preset defaults"),
        },
    };
    config.problem_seed(problems - 1).map_err(bench_err)?;
    validate_before_writing(&config, c.scale_iters)?;
    check_writable(&out)?;
    if c.scale_iters {
        config.budget = scaled_budget(c, &mut exec, &config.contenders, &config.horizons, &out)?;
    }
    config.validate().map_err(bench_err)?;
    let manifest = Manifest {
        format: 1,
        kind: "tune".into(),
        config: config.clone(),
        shard: Shard::ALL,
        machine: vec![machine_description()],
        command: command_line(),
    };
    let mut notices = Vec::new();
    let opened = Session::open(&out, manifest, c.resume, &mut notices);
    notices.iter().for_each(|n| eprintln!("note: {n}"));
    let mut session = opened.map_err(bench_err)?;
    eprintln!(
        "tune {env}: {} grid points × {} horizons × {problems} problems ({} done), budget: {}",
        config.contenders.len(),
        config.horizons.len(),
        session.done.len(),
        config.budget.describe()
    );
    let summary = run_session(&mut session, &mut exec)?;
    let tuned = choose(
        &config,
        &presets,
        &session.done,
        session.manifest.command.clone(),
        session.manifest.machine.clone(),
    )
    .map_err(bench_err)?;
    let text = format!("{}\n", serde_json::to_string_pretty(&tuned)?);
    let mut targets = vec![out.join("tuned.json")];
    targets.extend(args.write.clone());
    for path in &targets {
        grasp_explorer::util::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for (name, e) in &tuned.planners {
        let weak = if e.success_rate == 0.0 {
            "; warning: no setting solved a tuning problem, so this one won on the smallest median final \
             distance, a weak signal (more --problems or a larger budget would give a real choice)"
        } else {
            ""
        };
        eprintln!(
            "chosen {name}: {} (tuning success {:.1}% over {} trials){weak}",
            e.grid_point,
            100.0 * e.success_rate,
            e.trials
        );
    }
    eprintln!(
        "settings written to {}",
        targets
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_summary(&summary, c.json)
}
