//! The success-over-time plots (the paper's Fig. 5), one PNG per horizon: the fraction of problems solved
//! by planning time t, one step line per planner with its 95 % Wald band shaded.
//!
//! Time runs on a log axis: open-loop planners solve in hundredths of a second and MPC episodes in seconds,
//! and a linear axis squeezed the fast ones against zero. A run with closed-loop contenders (`…+mpc`) gets
//! two panels side by side, open loop on the left and MPC on the right, on the same axes, and a planner keeps
//! its colour in both; the legend is a strip under the panels so it never covers a curve.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::closed_loop::MPC_SUFFIX;
use super::curves::{Curve, CurvePoint, Curves};
use super::plot::{ensure_font, write_png_sized, PALETTE};
use super::BenchError;

/// Plot size in pixels (wide enough for two panels).
pub const CURVE_SIZE: (u32, u32) = (1400, 620);

/// Height of the legend strip under the panels, pixels.
const LEGEND_H: u32 = 44;

/// Writes `success_over_time_H<h>.png` into `dir` for every horizon of `curves`.
pub fn write_curve_plots(
    env: &str,
    curves: &Curves,
    complete: bool,
    dir: &Path,
) -> Result<(), BenchError> {
    ensure_font()?;
    let mut horizons: Vec<usize> = curves.curves.iter().map(|c| c.horizon).collect();
    horizons.sort_unstable();
    horizons.dedup();
    let status = if complete { "" } else { " (INCOMPLETE)" };
    for h in horizons {
        let title = format!("{env}, H = {h}: success rate over planning time{status}");
        let png = render(&title, &curves.time_unit, curves, h)?;
        write_png_sized(
            &dir.join(format!("success_over_time_H{h}.png")),
            &png,
            CURVE_SIZE,
        )?;
    }
    Ok(())
}

/// The planner a label belongs to, with the MPC suffix removed (`grasp+mpc` → `grasp`).
pub fn base_label(label: &str) -> &str {
    label.strip_suffix(MPC_SUFFIX).unwrap_or(label)
}

/// The log axis' range for curves whose success times are `ts`: from the power of ten at or below the
/// earliest positive time to just past the latest.
pub fn time_range(ts: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = ts
        .filter(|t| t.is_finite() && *t > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), t| {
            (lo.min(t), hi.max(t))
        });
    if hi <= 0.0 {
        return (0.01, 1.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    (lo, (hi * 1.1).max(lo * 10.0))
}

/// A time tick as text: as many decimals as the power of ten needs, no trailing zeros.
fn fmt_time(t: f64) -> String {
    let decimals = (-t.log10().floor()).clamp(0.0, 6.0) as usize;
    let s = format!("{t:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// "50 trials each" or "12–14 trials" for the curves of one panel.
fn trials_text(cells: &[&Curve]) -> String {
    let lo = cells.iter().map(|c| c.trials).min().unwrap_or(0);
    let hi = cells.iter().map(|c| c.trials).max().unwrap_or(0);
    if lo == hi {
        format!("{lo} trials each")
    } else {
        format!("{lo}–{hi} trials")
    }
}

/// Renders the curves of horizon `h` into an RGB buffer of [`CURVE_SIZE`].
fn render(title: &str, unit: &str, curves: &Curves, h: usize) -> Result<Vec<u8>, BenchError> {
    let err = |e: String| BenchError::Internal(format!("plotting '{title}': {e}"));
    let cells: Vec<&Curve> = curves.curves.iter().filter(|c| c.horizon == h).collect();
    // One colour per planner, in the order planners first appear.
    let mut planners: Vec<&str> = Vec::new();
    for c in &cells {
        let b = base_label(&c.planner);
        if !planners.contains(&b) {
            planners.push(b);
        }
    }
    let color_of = |label: &str| {
        let i = planners
            .iter()
            .position(|p| *p == base_label(label))
            .unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let (open, mpc): (Vec<&Curve>, Vec<&Curve>) =
        cells.iter().partition(|c| !c.planner.ends_with(MPC_SUFFIX));
    let range = time_range(cells.iter().flat_map(|c| c.points.iter().map(|p| p.t)));
    let mut buf = vec![0u8; (CURVE_SIZE.0 * CURVE_SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, CURVE_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let root = root
            .titled(title, ("sans-serif", 22))
            .map_err(|e| err(e.to_string()))?;
        let (panels, legend) = root.split_vertically(root.dim_in_pixel().1 - LEGEND_H);
        let mut parts: Vec<(&str, &[&Curve])> = Vec::new();
        if !open.is_empty() || mpc.is_empty() {
            parts.push(("open loop", &open));
        }
        if !mpc.is_empty() {
            parts.push(("MPC (closed loop)", &mpc));
        }
        let areas = panels.split_evenly((1, parts.len()));
        for ((name, part), area) in parts.iter().zip(areas.iter()) {
            let caption = format!("{name}, {}", trials_text(part));
            draw_panel(area, &caption, unit, range, part, &color_of).map_err(err)?;
        }
        draw_legend(&legend, &planners, &color_of).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok(buf)
}

/// One panel: a log-time chart of `cells`, each a step line over its shaded band.
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    caption: &str,
    unit: &str,
    (t_lo, t_hi): (f64, f64),
    cells: &[&Curve],
    color_of: &dyn Fn(&str) -> RGBColor,
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
        let fill = color_of(&c.planner).mix(0.12).filled();
        chart
            .draw_series(std::iter::once(Polygon::new(band, fill)))
            .map_err(|x| e(&x))?;
    }
    for c in cells {
        let line = color_of(&c.planner).stroke_width(2);
        chart
            .draw_series(LineSeries::new(step(c, &|p| p.rate), line))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

/// The legend strip: a short line in each planner's colour and its name, wrapping onto a second row.
fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    planners: &[&str],
    color_of: &dyn Fn(&str) -> RGBColor,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let width = area.dim_in_pixel().0 as i32;
    let font: TextStyle = ("sans-serif", 16).into();
    let (mut x, mut y) = (80, 12);
    for p in planners {
        let (tw, _) = area.estimate_text_size(p, &font).map_err(|x| e(&x))?;
        let w = 30 + tw as i32 + 30;
        if x + w > width - 20 && x > 80 {
            (x, y) = (80, y + 26);
        }
        let color = color_of(p);
        area.draw(&PathElement::new(
            vec![(x, y + 8), (x + 24, y + 8)],
            color.stroke_width(3),
        ))
        .map_err(|x| e(&x))?;
        area.draw(&Text::new(p.to_string(), (x + 30, y), font.clone()))
            .map_err(|x| e(&x))?;
        x += w;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_axis_spans_powers_of_ten_around_the_success_times() {
        let (lo, hi) = time_range([0.0, 0.023, 0.5, 9.7].into_iter());
        assert!((lo - 0.01).abs() < 1e-12, "{lo}");
        assert!(hi > 9.7 && hi < 11.0, "{hi}");
        // Only zeros (nothing solved): a default decade range, not a log of zero.
        assert_eq!(time_range([0.0, 0.0].into_iter()), (0.01, 1.0));
        assert_eq!(fmt_time(0.01), "0.01");
        assert_eq!(fmt_time(0.5), "0.5");
        assert_eq!(fmt_time(10.0), "10");
        assert_eq!(base_label("grasp-jacobi+mpc"), "grasp-jacobi");
        assert_eq!(base_label("cem"), "cem");
    }

    fn curve(planner: &str, ts: &[f64]) -> Curve {
        let n = 4;
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

    /// Pixels of (nearly: lines are anti-aliased) `color` in columns `x0..x1` of the panels, above the
    /// legend strip.
    fn count(buf: &[u8], color: RGBColor, (x0, x1): (u32, u32)) -> usize {
        let (w, h) = CURVE_SIZE;
        (0..h - LEGEND_H)
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
        let half = CURVE_SIZE.0 / 2;
        let curves = Curves {
            time_unit: "calibrated CPU s".into(),
            curves: vec![
                curve("grasp", &[0.02, 0.05]),
                curve("cem", &[0.1]),
                curve("cem+mpc", &[2.0, 3.0, 5.0]),
            ],
        };
        let buf = render("t", "calibrated CPU s", &curves, 10).unwrap();
        let (grasp, cem) = (PALETTE[0], PALETTE[1]);
        assert!(
            count(&buf, grasp, (0, half)) > 50,
            "grasp is drawn on the left"
        );
        assert_eq!(
            count(&buf, grasp, (half, CURVE_SIZE.0)),
            0,
            "grasp has no MPC curve"
        );
        assert!(
            count(&buf, cem, (0, half)) > 50,
            "open-loop cem on the left"
        );
        assert!(
            count(&buf, cem, (half, CURVE_SIZE.0)) > 50,
            "cem+mpc on the right, same colour"
        );
        // Open loop only: one panel across the whole width.
        let curves = Curves {
            curves: curves.curves[..2].to_vec(),
            ..curves
        };
        let buf = render("t", "calibrated CPU s", &curves, 10).unwrap();
        assert!(
            count(&buf, grasp, (half, CURVE_SIZE.0)) > 50,
            "one wide panel"
        );
    }
}
