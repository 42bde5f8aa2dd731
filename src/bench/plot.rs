//! PNG plots of a summary with plotters: success rate against horizon with 95% Wilson bars and median
//! time-to-success against horizon with inter-quartile bars, one line per planner, a closed-loop `P+mpc`
//! dashed in `P`'s colour, the legend in a strip under the chart (the success-over-time plots are in
//! `curve_plot`, which shares this module's font, palette and encoder).
//!
//! plotters draws into an RGB buffer (its bitmap backend) and the `png` crate encodes it, which avoids
//! plotters' own encoder (an older `image`). Text uses the DejaVuSans.ttf shipped in `assets/fonts` and
//! compiled into the binary, so no system font or fontconfig is needed at run time.

use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use super::closed_loop::{open_loop_label, MPC_SUFFIX};
use super::legend::{draw_legend, legend_layout, strip_height, Entry};
use super::summary::{CellSummary, Summary};
use super::BenchError;

/// The shipped font (Bitstream Vera licence, see assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Chart size in pixels (the legend strip adds to the height).
const SIZE: (u32, u32) = (900, 600);

/// Line colours (the "tab10" palette: distinguishable, and none too pale on white).
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Registers the shipped font as plotters' "sans-serif" once.
pub(super) fn ensure_font() -> Result<(), BenchError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(BenchError::Internal(
            "the shipped font does not load".into(),
        ))
    }
}

/// One planner's points: (horizon, value, low, high).
type Series = (String, Vec<(f64, f64, f64, f64)>);

fn series(s: &Summary, value: impl Fn(&CellSummary) -> Option<(f64, f64, f64)>) -> Vec<Series> {
    s.config
        .contenders
        .iter()
        .map(|c| {
            let pts = s
                .cells
                .iter()
                .filter(|x| x.planner == c.label)
                .filter_map(|x| value(x).map(|(v, lo, hi)| (x.horizon as f64, v, lo, hi)))
                .collect();
            (c.label.clone(), pts)
        })
        .collect()
}

/// Writes `success_rate.png` and `time_to_success.png` into `dir`.
pub fn write_plots(s: &Summary, dir: &Path) -> Result<(), BenchError> {
    ensure_font()?;
    let rate = series(s, |c| {
        Some((
            100.0 * c.success_rate?,
            100.0 * c.ci_low?,
            100.0 * c.ci_high?,
        ))
    });
    let tts = series(s, |c| {
        Some((
            c.median_time_to_success_s?,
            c.time_to_success_q25_s?,
            c.time_to_success_q75_s?,
        ))
    });
    let hs: Vec<f64> = s.config.horizons.iter().map(|h| *h as f64).collect();
    let status = s.title_status();
    let title = format!("{}: success rate vs horizon{status}", s.env);
    let png = render(
        &title,
        "success rate % (95% Wilson CI)",
        &hs,
        &rate,
        Some(100.0),
    )?;
    write_png_sized(&dir.join("success_rate.png"), &png.0, png.1)?;
    let title = format!("{}: time to success vs horizon{status}", s.env);
    let png = render(&title, "median time to success, s (IQR)", &hs, &tts, None)?;
    write_png_sized(&dir.join("time_to_success.png"), &png.0, png.1)
}

/// The legend of `data`: one entry per series, a closed-loop `P+mpc` in `P`'s colour, dashed.
fn legend_of(data: &[Series]) -> Vec<Entry> {
    let mut bases: Vec<&str> = Vec::new();
    for (label, _) in data {
        let b = open_loop_label(label);
        if !bases.contains(&b) {
            bases.push(b);
        }
    }
    data.iter()
        .map(|(label, _)| {
            let i = bases
                .iter()
                .position(|b| *b == open_loop_label(label))
                .unwrap_or(0);
            Entry {
                planner: label.clone(),
                color: PALETTE[i % PALETTE.len()],
                dashed: label.ends_with(MPC_SUFFIX) || i >= PALETTE.len(),
                text: label.clone(),
            }
        })
        .collect()
}

/// Renders one chart with its legend strip into an RGB buffer; returns it with its size.
fn render(
    title: &str,
    y_desc: &str,
    horizons: &[f64],
    data: &[Series],
    y_max: Option<f64>,
) -> Result<(Vec<u8>, (u32, u32)), BenchError> {
    let err = |e: String| BenchError::Internal(format!("plotting '{title}': {e}"));
    let legend = legend_of(data);
    let places = legend_layout(&legend, SIZE.0).map_err(err)?;
    let legend_h = strip_height(places.iter().map(|p| p.1 + 1).max().unwrap_or(1));
    let (w, h) = (SIZE.0, SIZE.1 + legend_h);
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let x_lo = horizons.iter().copied().fold(f64::INFINITY, f64::min);
    let x_hi = horizons.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((x_hi - x_lo) * 0.08).max(2.0);
    let top = y_max.unwrap_or_else(|| {
        let m = data
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.3))
            .fold(0.0, f64::max);
        if m > 0.0 {
            m * 1.15
        } else {
            1.0
        }
    });
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let (area, strip) = root.split_vertically(SIZE.1);
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d((x_lo - pad)..(x_hi + pad), 0.0..top)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("horizon H (world-model steps)")
            .y_desc(y_desc)
            .x_labels(12)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| {
                format!("{y:.3}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            })
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        let n = data.len().max(1) as f64;
        for (i, ((_, pts), entry)) in data.iter().zip(&legend).enumerate() {
            let color = entry.color.to_rgba();
            // Spread planners slightly along x so their bars do not overlap.
            let dx = (i as f64 - (n - 1.0) / 2.0) * pad * 0.12;
            let shifted: Vec<(f64, f64, f64, f64)> =
                pts.iter().map(|p| (p.0 + dx, p.1, p.2, p.3)).collect();
            let line: Vec<(f64, f64)> = shifted.iter().map(|p| (p.0, p.1)).collect();
            if entry.dashed {
                chart.draw_series(DashedLineSeries::new(line, 8, 5, color.stroke_width(2)))
            } else {
                chart.draw_series(LineSeries::new(line, color.stroke_width(2)))
            }
            .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(
                    shifted.iter().map(|p| {
                        ErrorBar::new_vertical(p.0, p.2, p.1, p.3, color.stroke_width(2), 10)
                    }),
                )
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(
                    shifted
                        .iter()
                        .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
                )
                .map_err(|e| err(e.to_string()))?;
        }
        if data.iter().all(|(_, p)| p.is_empty()) {
            area.draw(&Text::new(
                "no data (no finished or no successful trials)",
                (w as i32 / 2 - 200, SIZE.1 as i32 / 2),
                ("sans-serif", 20),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        draw_legend(&strip, &legend, &places).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    Ok((buf, (w, h)))
}

/// Encodes an RGB buffer of `size` pixels as PNG, atomically.
pub(super) fn write_png_sized(path: &Path, rgb: &[u8], size: (u32, u32)) -> Result<(), BenchError> {
    crate::util::write_atomic_with(path, |f| {
        let mut enc = png::Encoder::new(std::io::BufWriter::new(f), size.0, size.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(std::io::Error::other)?;
        w.write_image_data(rgb).map_err(std::io::Error::other)?;
        w.finish().map_err(std::io::Error::other)
    })
    .map_err(|e| BenchError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::summarize;
    use crate::bench::trial_log::tests::record;

    #[test]
    fn a_closed_loop_series_is_dashed_in_its_planners_colour() {
        let data: Vec<Series> = ["grasp", "cem", "grasp+mpc", "cem+mpc"]
            .iter()
            .map(|l| (l.to_string(), vec![]))
            .collect();
        let e = legend_of(&data);
        assert_eq!((e[0].color, e[0].dashed), (PALETTE[0], false));
        assert_eq!((e[1].color, e[1].dashed), (PALETTE[1], false));
        assert_eq!((e[2].color, e[2].dashed), (PALETTE[0], true));
        assert_eq!((e[3].color, e[3].dashed), (PALETTE[1], true));
        assert_eq!(e[2].text, "grasp+mpc");
    }

    #[test]
    fn plots_are_real_pngs_with_ink() {
        let mut cfg = crate::bench::summary::tests::config();
        cfg.horizons = vec![10, 20];
        let mut recs: Vec<_> = (0..4).map(|i| record("grasp", 10, i, i != 1)).collect();
        recs.extend((0..4).map(|i| record("grasp", 20, i, i == 0)));
        recs.extend((0..4).map(|i| record("cem", 10, i, false)));
        let s = summarize(&cfg, &recs, vec![]);
        let dir = tempfile::tempdir().unwrap();
        write_plots(&s, dir.path()).unwrap();
        let curves = crate::bench::curves::success_over_time(&cfg, &recs);
        crate::bench::curve_plot::write_curve_plots("pusht", &curves, "", dir.path()).unwrap();
        for name in [
            "success_rate.png",
            "time_to_success.png",
            "success_over_time_H10.png",
            "success_over_time_H20.png",
        ] {
            let bytes = std::fs::read(dir.path().join(name)).unwrap();
            let dec = png::Decoder::new(std::io::Cursor::new(bytes));
            let mut reader = dec.read_info().unwrap();
            let mut img = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut img).unwrap();
            if name.starts_with("success_over_time") {
                // Panels of CURVE_SIZE plus the legend strip under them.
                let panels = crate::bench::curve_plot::CURVE_SIZE;
                assert_eq!(info.width, panels.0);
                assert!(info.height > panels.1, "{name}: no legend strip");
            } else {
                assert_eq!(info.width, SIZE.0);
                assert!(info.height > SIZE.1, "{name}: no legend strip");
            }
            // Not blank: a fair share of non-white pixels (axes, text, lines).
            let ink = img.chunks(3).filter(|p| p.iter().any(|c| *c < 200)).count();
            assert!(ink > 2000, "{name}: only {ink} dark pixels");
        }
    }
}
