//! The success-over-time plots (the paper's Fig. 5), one PNG per horizon: the fraction of problems solved
//! by planning time t, one step line per planner with its 95 % Wald band shaded.
//!
//! Time runs on a log axis: open-loop planners solve in hundredths of a second and MPC episodes in seconds,
//! and a linear axis squeezed the fast ones against zero. A run with both open-loop and closed-loop
//! contenders (`…+mpc`, `bench --mpc --and-open-loop`) gets two panels side by side, open loop on the left
//! and MPC on the right, and a planner keeps its colour in both; a run of one kind gets one panel. Each panel
//! spans its own curves' times (an episode's first success comes after its first plan and an executed step,
//! so MPC times are not comparable with open-loop ones, and a shared axis squeezed the MPC curves). The legend is a strip under the panels, as many rows as its entries need, so it never covers a
//! curve; it names planners without the `+mpc` suffix (the panel says which mode), and gives each planner's
//! trial counts when the cells of a horizon do not all have the same number (an incomplete run). Past ten
//! planners (tuning grids) the colours repeat with dashed lines.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::closed_loop::{open_loop_label, MPC_SUFFIX};
use super::curves::{Curve, CurvePoint, Curves};
use super::legend::{draw_legend, legend_layout, Entry};
use super::plot::{ensure_font, write_png_sized, PALETTE};
use super::BenchError;

/// Plot width and the height of the panels (the legend strip adds to the height), pixels.
pub const CURVE_SIZE: (u32, u32) = (1400, 576);

/// Writes `success_over_time_H<h>.png` into `dir` for every horizon of `curves`; `status` is what the titles
/// add ([`super::summary::Summary::title_status`]).
pub fn write_curve_plots(
    env: &str,
    curves: &Curves,
    status: &str,
    dir: &Path,
) -> Result<(), BenchError> {
    ensure_font()?;
    let mut horizons: Vec<usize> = curves.curves.iter().map(|c| c.horizon).collect();
    horizons.sort_unstable();
    horizons.dedup();
    for h in horizons {
        let title = format!("{env}, H = {h}: success rate over planning time{status}");
        let (png, size) = render(&title, &curves.time_unit, curves, h)?;
        write_png_sized(&dir.join(format!("success_over_time_H{h}.png")), &png, size)?;
    }
    Ok(())
}

/// The log axis' range for curves whose success times are `ts`: from just below the power of ten at or below
/// the earliest positive time (so that decade gets its tick label) to just past the latest.
pub(crate) fn time_range(ts: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = ts
        .filter(|t| t.is_finite() && *t > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), t| {
            (lo.min(t), hi.max(t))
        });
    if hi <= 0.0 {
        return (0.01 * (1.0 - 1e-9), 1.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    (lo * (1.0 - 1e-9), (hi * 1.1).max(lo * 10.0))
}

/// A time tick as text: as many decimals as the power of ten needs, no trailing zeros.
fn fmt_time(t: f64) -> String {
    let decimals = (-(t * (1.0 + 1e-6)).log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{t:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The legend entries of `cells`, one per open-loop label in order of first appearance; the text carries the
/// trial counts (open loop | MPC) when the cells do not all have the same count.
fn entries(cells: &[&Curve]) -> Vec<Entry> {
    let uniform = cells.windows(2).all(|w| w[0].trials == w[1].trials);
    let mut out: Vec<Entry> = Vec::new();
    for c in cells {
        let p = open_loop_label(&c.planner);
        if out.iter().any(|e| e.planner == p) {
            continue;
        }
        let i = out.len();
        let count = |mpc: bool| {
            cells
                .iter()
                .find(|d| {
                    open_loop_label(&d.planner) == p && d.planner.ends_with(MPC_SUFFIX) == mpc
                })
                .map(|d| d.trials.to_string())
        };
        let counts: Vec<String> = [count(false), count(true)].into_iter().flatten().collect();
        out.push(Entry {
            planner: p.to_string(),
            color: PALETTE[i % PALETTE.len()],
            dashed: i >= PALETTE.len(),
            text: if uniform {
                p.to_string()
            } else {
                format!("{p} ({})", counts.join(" | "))
            },
        });
    }
    out
}

/// Renders the curves of horizon `h` into an RGB buffer; returns it with its size.
fn render(
    title: &str,
    unit: &str,
    curves: &Curves,
    h: usize,
) -> Result<(Vec<u8>, (u32, u32)), BenchError> {
    let err = |e: String| BenchError::Internal(format!("plotting '{title}': {e}"));
    let cells: Vec<&Curve> = curves.curves.iter().filter(|c| c.horizon == h).collect();
    let legend = entries(&cells);
    let places = legend_layout(&legend, CURVE_SIZE.0).map_err(err)?;
    let rows = places.iter().map(|p| p.1 + 1).max().unwrap_or(1);
    let legend_h = super::legend::strip_height(rows);
    let size = (CURVE_SIZE.0, CURVE_SIZE.1 + legend_h);
    let style_of = |label: &str| {
        let e = legend.iter().find(|e| e.planner == open_loop_label(label));
        e.map_or((PALETTE[0], false), |e| (e.color, e.dashed))
    };
    let (open, mpc): (Vec<&Curve>, Vec<&Curve>) =
        cells.iter().partition(|c| !c.planner.ends_with(MPC_SUFFIX));
    let mut buf = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let root = root
            .titled(title, ("sans-serif", 22))
            .map_err(|e| err(e.to_string()))?;
        let (panels, strip) = root.split_vertically(root.dim_in_pixel().1 - legend_h);
        let uniform = cells.windows(2).all(|w| w[0].trials == w[1].trials);
        let n = cells.first().map_or(0, |c| c.trials);
        let mut parts: Vec<(&str, &[&Curve])> = Vec::new();
        if !open.is_empty() || mpc.is_empty() {
            parts.push(("open loop", &open));
        }
        if !mpc.is_empty() {
            parts.push(("MPC (closed loop)", &mpc));
        }
        let areas = panels.split_evenly((1, parts.len()));
        for ((name, part), area) in parts.iter().zip(areas.iter()) {
            let caption = if uniform {
                format!("{name}, {n} trials each")
            } else {
                format!("{name} (trials per planner in the legend)")
            };
            let range = time_range(part.iter().flat_map(|c| c.points.iter().map(|p| p.t)));
            draw_panel(area, &caption, unit, range, part, &style_of).map_err(err)?;
        }
        draw_legend(&strip, &legend, &places).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok((buf, size))
}

/// One panel: a log-time chart of `cells`, each a step line over its shaded band.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    caption: &str,
    unit: &str,
    (t_lo, t_hi): (f64, f64),
    cells: &[&Curve],
    style_of: &dyn Fn(&str) -> (RGBColor, bool),
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d((t_lo..t_hi).log_scale(), 0.0..100.0)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(format!("planning time, {unit} (log scale)"))
        .y_desc("problems solved % (95% Wald band)")
        .x_label_formatter(&|t| fmt_time(*t))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|x| e(&x))?;
    // A step function: hold each rate until the next success time; t = 0 sits at the axis' left end.
    let step = |c: &Curve, f: &dyn Fn(&CurvePoint) -> f64| {
        let mut pts = Vec::new();
        for (j, p) in c.points.iter().enumerate() {
            let t = p.t.clamp(t_lo, t_hi);
            if j > 0 {
                pts.push((t, 100.0 * f(&c.points[j - 1])));
            }
            pts.push((t, 100.0 * f(p)));
        }
        pts
    };
    // Every band first, then every line, so no band tints another planner's line.
    for c in cells {
        let (lo, hi) = (step(c, &|p| p.wald_low), step(c, &|p| p.wald_high));
        let band: Vec<(f64, f64)> = hi.iter().copied().chain(lo.iter().rev().copied()).collect();
        let fill = style_of(&c.planner).0.mix(0.12).filled();
        chart
            .draw_series(std::iter::once(Polygon::new(band, fill)))
            .map_err(|x| e(&x))?;
    }
    for c in cells {
        let (color, dashed) = style_of(&c.planner);
        let line = color.stroke_width(2);
        let pts = step(c, &|p| p.rate);
        if dashed {
            chart.draw_series(DashedLineSeries::new(pts, 8, 5, line))
        } else {
            chart.draw_series(LineSeries::new(pts, line))
        }
        .map_err(|x| e(&x))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::legend::LEGEND_ROW;
    use super::*;

    #[test]
    fn time_axis_spans_powers_of_ten_around_the_success_times() {
        let (lo, hi) = time_range([0.0, 0.023, 0.5, 9.7].into_iter());
        assert!(lo < 0.01 && lo > 0.01 * (1.0 - 1e-6), "{lo}");
        assert!(hi > 9.7 && hi < 11.0, "{hi}");
        // Only zeros (nothing solved): a default decade range, not a log of zero.
        let (lo, hi) = time_range([0.0, 0.0].into_iter());
        assert!(lo > 0.0 && lo < 0.01 && hi == 1.0);
        assert_eq!(fmt_time(0.01), "0.01");
        assert_eq!(fmt_time(0.009_999_999_9), "0.01");
        assert_eq!(fmt_time(0.5), "0.5");
        assert_eq!(fmt_time(10.0), "10");
        assert_eq!(open_loop_label("grasp[lr=0.1]+mpc"), "grasp[lr=0.1]");
        assert_eq!(open_loop_label("cem"), "cem");
    }

    fn curve(planner: &str, ts: &[f64], n: usize) -> Curve {
        let mut points = vec![(0.0, 0)];
        points.extend(ts.iter().enumerate().map(|(i, t)| (*t, i + 1)));
        Curve {
            planner: planner.into(),
            horizon: 10,
            trials: n,
            points: points
                .into_iter()
                .map(|(t, solved)| CurvePoint {
                    t,
                    solved,
                    rate: solved as f64 / n as f64,
                    wald_low: 0.0,
                    wald_high: 1.0,
                })
                .collect(),
        }
    }

    fn curves(cs: Vec<Curve>) -> Curves {
        Curves {
            time_unit: "calibrated CPU s".into(),
            curves: cs,
        }
    }

    /// Pixels of (nearly: lines are anti-aliased) `color` in columns `x0..x1` of the panels.
    fn count(buf: &[u8], color: RGBColor, (x0, x1): (u32, u32)) -> usize {
        let w = CURVE_SIZE.0;
        (0..CURVE_SIZE.1)
            .flat_map(|y| (x0..x1).map(move |x| ((y * w + x) * 3) as usize))
            .filter(|&i| {
                let d = |a: u8, b: u8| (a as i32 - b as i32).abs();
                d(buf[i], color.0) + d(buf[i + 1], color.1) + d(buf[i + 2], color.2) < 30
            })
            .count()
    }

    #[test]
    fn closed_loop_curves_get_their_own_panel_in_the_planners_colour() {
        ensure_font().unwrap();
        let (half, w) = (CURVE_SIZE.0 / 2, CURVE_SIZE.0);
        // Times that contradict the panel order: on one shared axis slow open-loop grasp would sit on the
        // right and fast cem+mpc on the left.
        let both = curves(vec![
            curve("grasp", &[2.0, 5.0], 4),
            curve("cem", &[0.1], 4),
            curve("cem+mpc", &[0.011, 0.013, 0.015], 4),
        ]);
        let (buf, size) = render("t", "calibrated CPU s", &both, 10).unwrap();
        assert_eq!(size.0, CURVE_SIZE.0);
        let (grasp, cem) = (PALETTE[0], PALETTE[1]);
        assert!(count(&buf, grasp, (0, half)) > 50, "grasp on the left");
        assert_eq!(count(&buf, grasp, (half, w)), 0, "grasp has no MPC curve");
        assert!(
            count(&buf, cem, (0, half)) > 50,
            "open-loop cem on the left"
        );
        assert!(
            count(&buf, cem, (half, w)) > 50,
            "cem+mpc on the right, same colour"
        );
        // Open loop only: one panel across the whole width, so slow grasp is drawn on the right.
        let open = curves(both.curves[..2].to_vec());
        let (buf, _) = render("t", "calibrated CPU s", &open, 10).unwrap();
        assert!(count(&buf, grasp, (half, w)) > 50, "one wide panel");
        // MPC only: one panel too, in the planner's colour.
        let closed = curves(both.curves[2..].to_vec());
        let (buf, _) = render("t", "calibrated CPU s", &closed, 10).unwrap();
        assert!(count(&buf, PALETTE[0], (0, half)) > 50, "cem+mpc alone");
    }

    #[test]
    fn the_legend_wraps_into_as_many_rows_as_it_needs_and_shows_counts_when_they_differ() {
        ensure_font().unwrap();
        let many: Vec<Curve> = (0..12)
            .map(|i| {
                curve(
                    &format!("grasp-jacobi[lr_actions=0.00{i},sync_steps=30]"),
                    &[1.0],
                    4,
                )
            })
            .collect();
        let (buf, size) = render("t", "calibrated CPU s", &curves(many), 10).unwrap();
        let legend_h = size.1 - CURVE_SIZE.1;
        assert!(
            legend_h >= 3 * LEGEND_ROW,
            "12 long labels need several rows"
        );
        // The last row is inside the image: ink in the bottom row's band.
        let y0 = size.1 - legend_h + 12 + (legend_h - 18 - LEGEND_ROW);
        let ink = (y0..y0 + 16)
            .flat_map(|y| (0..size.0).map(move |x| ((y * size.0 + x) * 3) as usize))
            .filter(|&i| buf[i..i + 3].iter().any(|c| *c < 200))
            .count();
        assert!(
            ink > 100,
            "the last legend row is drawn ({ink} dark pixels)"
        );
        // Past ten planners the colours repeat, dashed.
        let cells = curves(
            (0..12)
                .map(|i| curve(&format!("p{i}"), &[1.0], 4))
                .collect(),
        );
        let refs: Vec<&Curve> = cells.curves.iter().collect();
        let e = entries(&refs);
        assert!(!e[9].dashed && e[10].dashed && e[10].color == e[0].color);
        // Uneven counts (an incomplete run): each entry says its open-loop | MPC counts.
        let uneven = curves(vec![
            curve("grasp", &[1.0], 4),
            curve("grasp+mpc", &[1.0], 3),
        ]);
        let refs: Vec<&Curve> = uneven.curves.iter().collect();
        let e = entries(&refs);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].text, "grasp (4 | 3)");
    }
}
