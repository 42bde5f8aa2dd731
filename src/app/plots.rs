//! The plots panel (egui_plot): loss terms over iterations on a log scale with sync markers and the timeline
//! cursor, the dynamics residual per time step at the selected iteration, and the terminal rollout distance
//! over iterations and, with a trust model, the ensemble's disagreement d_t per step of the shown plan with
//! the calibrated threshold. Clicking a plot over iterations moves the timeline cursor there. Long histories are
//! decimated to at most [`MAX_POINTS`] points per curve (keeping each bucket's extremes would hide nothing a
//! log plot of this size can show; every sync marker is still drawn).

use bevy_egui::egui;
use egui_plot::{Bar, BarChart, HLine, Legend, Line, Plot, PlotPoints, Points, VLine};

use crate::model::trust_model::PlanTrust;
use crate::record::palette;

use super::history::{History, LossRow};
use super::lanes::Lanes;

/// Points per curve at most.
pub const MAX_POINTS: usize = 1500;

fn color(c: crate::env::Rgba) -> egui::Color32 {
    egui::Color32::from_rgba_unmultiplied(c.0, c.1, c.2, c.3)
}

/// Rows decimated to at most `max` evenly spaced ones (the newest always included).
pub fn decimate(rows: &[LossRow], max: usize) -> Vec<LossRow> {
    if rows.len() <= max || max < 2 {
        return rows.to_vec();
    }
    let step = rows.len().div_ceil(max - 1);
    let mut out: Vec<LossRow> = rows.iter().step_by(step).copied().collect();
    if let (Some(last), Some(kept)) = (rows.last(), out.last()) {
        if last.iteration != kept.iteration {
            out.push(*last);
        }
    }
    out
}

fn log10_positive(v: f32) -> Option<f64> {
    (v.is_finite() && v > 0.0).then(|| f64::from(v).log10())
}

fn series(rows: &[LossRow], f: impl Fn(&LossRow) -> f32, log: bool) -> PlotPoints<'static> {
    rows.iter()
        .filter_map(|r| {
            let v = f(r);
            let y = if log {
                log10_positive(v)?
            } else {
                f64::from(v)
            };
            y.is_finite().then_some([r.iteration as f64, y])
        })
        .collect::<Vec<[f64; 2]>>()
        .into()
}

/// Draws the plots; returns an iteration to jump to when a plot over iterations was clicked. `trust[i]` is
/// lane i's shown plan's ensemble verdict, if any.
pub fn plots_ui(
    ui: &mut egui::Ui,
    lanes: &Lanes,
    trust: &[Option<&PlanTrust>],
    cursor: usize,
) -> Option<usize> {
    let mut jump = None;
    let main = lanes.main()?;
    let with_trust = trust.iter().any(Option::is_some);
    let n_plots = if with_trust { 4.0 } else { 3.0 };
    let h = (ui.available_height() - 30.0 * n_plots).max(240.0) / n_plots;
    let syncs = sync_markers(&main.history);

    ui.label("Loss terms (log₁₀)");
    let rows = decimate(main.history.rows(), MAX_POINTS);
    let r = Plot::new("loss")
        .height(h)
        .legend(Legend::default())
        .allow_scroll(false)
        .show(ui, |p| {
            p.line(
                Line::new("dynamics", series(&rows, |r| r.loss.dynamics, true))
                    .color(color(palette::LOSS_DYNAMICS)),
            );
            p.line(
                Line::new("goal", series(&rows, |r| r.loss.goal, true))
                    .color(color(palette::LOSS_GOAL)),
            );
            p.line(
                Line::new("total", series(&rows, |r| r.loss.total, true))
                    .color(egui::Color32::GRAY),
            );
            // Few syncs: a line each; many: a dot on the dynamics curve each (lines would paint it amber).
            if syncs.len() <= 60 {
                for &s in &syncs {
                    p.vline(
                        VLine::new("sync", s as f64)
                            .color(color(palette::SYNC_FLASH.with_alpha(120)))
                            .width(1.0),
                    );
                }
            } else {
                let dots: Vec<LossRow> = main
                    .history
                    .rows()
                    .iter()
                    .filter(|r| r.sync)
                    .copied()
                    .collect();
                let dots = decimate(&dots, 300);
                p.points(
                    Points::new("sync", series(&dots, |r| r.loss.dynamics, true))
                        .color(color(palette::SYNC_FLASH))
                        .radius(2.0),
                );
            }
            p.vline(
                VLine::new("cursor", cursor as f64)
                    .color(egui::Color32::WHITE)
                    .width(1.5),
            );
            p.pointer_coordinate()
        });
    if r.response.clicked() {
        jump = r.inner.map(|c| c.x.max(0.0).round() as usize);
    }

    ui.label("Residual |F(s_t, a_t) − s_t+1| per step t at the selected iteration");
    Plot::new("residuals")
        .height(h)
        .allow_scroll(false)
        .show(ui, |p| {
            for (i, lane) in lanes.lanes.iter().enumerate() {
                let Some(s) = lane.at(cursor) else { continue };
                let bars: Vec<Bar> = s
                    .residuals
                    .iter()
                    .enumerate()
                    .map(|(t, &r)| {
                        let c = palette::residual_color(r, lane.residual_scale);
                        Bar::new(t as f64 + 0.4 * i as f64, f64::from(r))
                            .width(if lanes.lanes.len() > 1 { 0.4 } else { 0.8 })
                            .fill(color(c))
                    })
                    .collect();
                p.bar_chart(BarChart::new(format!("lane {i}"), bars));
            }
        });

    ui.label("Terminal distance |rollout_T(a) − g| of the model rollout");
    let r = Plot::new("terminal")
        .height(h)
        .legend(Legend::default())
        .allow_scroll(false)
        .show(ui, |p| {
            for (i, lane) in lanes.lanes.iter().enumerate() {
                let rows = decimate(lane.history.rows(), MAX_POINTS);
                let name = lane.spec.planner.name().to_string();
                let line = Line::new(name, series(&rows, |r| r.loss.terminal, false));
                p.line(if i == 0 {
                    line.color(color(palette::LOSS_TERMINAL))
                } else {
                    line
                });
                // MPC mode: one point per replan, the executed plan's terminal distance.
                if let Some(m) = &lane.mpc {
                    let pts = replan_points(lane.history.rows(), &m.view.plan_starts, m.view.done);
                    p.points(
                        Points::new(
                            format!("{} per replan", lane.spec.planner.name()),
                            PlotPoints::from(pts),
                        )
                        .color(color(palette::EXECUTED))
                        .radius(3.5),
                    );
                }
            }
            p.vline(
                VLine::new("cursor", cursor as f64)
                    .color(egui::Color32::WHITE)
                    .width(1.5),
            );
            p.pointer_coordinate()
        });
    if r.response.clicked() {
        jump = r.inner.map(|c| c.x.max(0.0).round() as usize);
    }
    if with_trust {
        disagreement_plot(ui, lanes, trust, h);
    }
    jump
}

/// d_t per step for each lane's shown plan, the threshold as a horizontal line and the trust horizon as a
/// vertical one.
fn disagreement_plot(ui: &mut egui::Ui, lanes: &Lanes, trust: &[Option<&PlanTrust>], h: f32) {
    ui.label("Ensemble disagreement d_t per step (threshold: trust ends above it)");
    Plot::new("disagreement")
        .height(h)
        .legend(Legend::default())
        .allow_scroll(false)
        .show(ui, |p| {
            for (i, t) in trust.iter().enumerate() {
                let Some(t) = t else { continue };
                let name = lanes.lanes.get(i).map_or("plan", |l| l.spec.planner.name());
                let pts: Vec<[f64; 2]> = disagreement_points(t);
                p.line(Line::new(name.to_string(), PlotPoints::from(pts)));
                let c = color(palette::TRUST_END);
                p.hline(HLine::new("threshold", f64::from(t.threshold)).color(c));
                if t.trust_horizon < t.horizon() {
                    p.vline(
                        VLine::new(format!("{name} trusted to"), t.trust_horizon as f64)
                            .color(c.gamma_multiply(0.6)),
                    );
                }
            }
        });
}

/// (step, d_t) for the finite disagreements of a plan.
pub fn disagreement_points(t: &PlanTrust) -> Vec<[f64; 2]> {
    t.disagreement
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_finite())
        .map(|(s, d)| [s as f64, f64::from(*d)])
        .collect()
}

/// MPC mode: for each plan that was executed (every plan start after the first, and the last plan once the
/// episode is `done`), the terminal distance of that plan's last kept iteration, as (iteration, distance)
/// points.
pub fn replan_points(rows: &[LossRow], plan_starts: &[usize], done: bool) -> Vec<[f64; 2]> {
    let ends = plan_starts
        .iter()
        .skip(1)
        .map(|&start| rows.partition_point(|r| r.iteration < start))
        .chain(done.then_some(rows.len()));
    ends.filter_map(|n| {
        let r = rows.get(n.checked_sub(1)?)?;
        let v = r.loss.terminal;
        v.is_finite().then_some([r.iteration as f64, f64::from(v)])
    })
    .collect()
}

/// Sync iterations to mark (at most a few hundred, evenly chosen, so the plot stays readable).
pub fn sync_markers(history: &History) -> Vec<usize> {
    let all: Vec<usize> = history.sync_iterations().collect();
    let step = all.len().div_ceil(300).max(1);
    all.into_iter().step_by(step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::LossTerms;

    #[test]
    fn decimation_bounds_points_and_keeps_the_newest() {
        let rows: Vec<LossRow> = (0..10_000)
            .map(|i| LossRow {
                iteration: i,
                sync: false,
                loss: LossTerms::default(),
                planner_time_s: 0.0,
            })
            .collect();
        let d = decimate(&rows, 1500);
        assert!(d.len() <= 1501);
        assert_eq!(d.first().unwrap().iteration, 0);
        assert_eq!(d.last().unwrap().iteration, 9999);
        assert_eq!(decimate(&rows[..10], 1500).len(), 10);
    }

    #[test]
    fn one_point_per_replan_at_the_executed_plans_last_iteration() {
        let rows: Vec<LossRow> = (0..100)
            .map(|i| LossRow {
                iteration: i,
                sync: false,
                loss: LossTerms {
                    terminal: 100.0 - i as f32,
                    ..LossTerms::default()
                },
                planner_time_s: 0.0,
            })
            .collect();
        let pts = replan_points(&rows, &[0, 40, 70], false);
        assert_eq!(pts, vec![[39.0, 61.0], [69.0, 31.0]]);
        assert!(replan_points(&rows, &[0], false).is_empty());
        // A finished episode also marks its last plan, at the newest iteration.
        let done = replan_points(&rows, &[0, 40, 70], true);
        assert_eq!(done.last(), Some(&[99.0, 1.0]));
        assert_eq!(done.len(), 3);
    }
}
