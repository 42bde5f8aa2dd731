//! The heads-up display drawn over recorded frames: a text line (planner, iteration, phase, losses) on a
//! translucent strip and a small log-scale loss plot with sync markers.
//!
//! Text uses the public-domain 8×8 bitmap font of the `font8x8` crate (ASCII; other characters print as
//! `?`), scaled by whole pixels, so recordings need no font file or system font and look the same everywhere.
//! Glyphs are blitted straight into the pixmap's pixels: thousands of tiny `fill_rect` calls would cost more
//! than the whole frame.

use tiny_skia::{Paint, PathBuilder, Pixmap, Rect, Stroke, Transform};

use super::palette;
use crate::env::scene::Rgba;
use crate::plan::{Phase, Snapshot};

/// Width and height of one glyph cell at scale 1, pixels.
pub const GLYPH: u32 = 8;

/// The loss terms of every iteration seen so far (not only the recorded ones), for the loss plot.
#[derive(Clone, Debug, Default)]
pub struct LossHistory {
    /// Iteration index of each entry.
    pub iterations: Vec<usize>,
    /// Dynamics term Σ‖F(s̄_t,a_t) − s_{t+1}‖² per entry.
    pub dynamics: Vec<f32>,
    /// Terminal distance ‖rollout_T(a) − g‖ per entry.
    pub terminal: Vec<f32>,
    /// Iterations that ended with a sync.
    pub syncs: Vec<usize>,
}

impl LossHistory {
    /// Appends a snapshot's losses.
    pub fn push(&mut self, snap: &Snapshot) {
        self.iterations.push(snap.iteration);
        self.dynamics.push(snap.loss.dynamics);
        self.terminal.push(snap.loss.terminal);
        if snap.phase == Phase::Sync {
            self.syncs.push(snap.iteration);
        }
    }
}

/// Pixel width of `text` at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * GLYPH * scale
}

/// Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale` block, blended over the
/// pixmap. Pixels outside the pixmap are clipped.
pub fn draw_text(pixmap: &mut Pixmap, x: i32, y: i32, text: &str, scale: u32, color: Rgba) {
    let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
    let s = scale.max(1) as i32;
    let data = pixmap.data_mut();
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        let gx = x + i as i32 * GLYPH as i32 * s;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..s {
                    let py = y + row as i32 * s + dy;
                    if py < 0 || py >= h {
                        continue;
                    }
                    for dx in 0..s {
                        let px = gx + col * s + dx;
                        if px < 0 || px >= w {
                            continue;
                        }
                        blend(data, (py * w + px) as usize, color);
                    }
                }
            }
        }
    }
}

/// Blends a straight-alpha colour over premultiplied RGBA pixel `index`.
fn blend(data: &mut [u8], index: usize, c: Rgba) {
    let a = u32::from(c.3);
    let p = &mut data[index * 4..index * 4 + 4];
    let inv = 255 - a;
    p[0] = ((u32::from(c.0) * a + u32::from(p[0]) * inv + 127) / 255) as u8;
    p[1] = ((u32::from(c.1) * a + u32::from(p[1]) * inv + 127) / 255) as u8;
    p[2] = ((u32::from(c.2) * a + u32::from(p[2]) * inv + 127) / 255) as u8;
    p[3] = ((255 * a + u32::from(p[3]) * inv + 127) / 255) as u8;
}

/// A paint of one solid colour, anti-aliased.
pub fn paint(color: Rgba) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(color.0, color.1, color.2, color.3);
    p.anti_alias = true;
    p
}

/// Fills an axis-aligned rectangle snapped to whole pixels (no anti-aliasing: crisp panels, and tiny-skia's
/// anti-aliased rect filler trips a debug assertion on sub-pixel widths); empty rectangles are skipped.
pub fn fill_rect(pixmap: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, color: Rgba) {
    let (x0, y0) = (x.round(), y.round());
    let (x1, y1) = ((x + w).round(), (y + h).round());
    if let Some(r) = Rect::from_ltrb(x0, y0, x1, y1) {
        let mut p = paint(color);
        p.anti_alias = false;
        pixmap.fill_rect(r, &p, Transform::identity(), None);
    }
}

/// The largest text scale (1–4) at which `text` fits in `width` pixels with a margin, or 1.
pub fn fit_scale(text: &str, width: u32) -> u32 {
    (1..=4)
        .rev()
        .find(|&s| text_width(text, s) + 2 * GLYPH * s / 2 <= width)
        .unwrap_or(1)
}

/// The heads-up text of a snapshot: planner name, iteration, phase and the terminal distance of the model
/// rollout (the dynamics term is printed in the loss plot's legend). Short enough for 2× text at 512 px.
pub fn hud_text(planner: &str, snap: &Snapshot) -> String {
    let phase = match snap.phase {
        Phase::Stochastic => "stoch",
        Phase::Sync => "SYNC",
        Phase::Cem => "cem",
        Phase::Gd => "gd",
    };
    if matches!(snap.status, crate::plan::Status::Diverged { .. }) {
        return format!("{planner} it {} DIVERGED", snap.iteration);
    }
    format!(
        "{planner} it {} {phase} dist {}",
        snap.iteration,
        short_num(snap.loss.terminal)
    )
}

/// A number in 7 characters or fewer: 3 significant digits, exponent form outside [0.01, 1000).
pub fn short_num(v: f32) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if (0.01..1000.0).contains(&a) {
        let decimals = 2usize.saturating_sub(a.log10().floor().max(0.0) as usize);
        format!("{v:.decimals$}")
    } else {
        format!("{v:.1e}")
    }
}

/// Where the loss plot goes and what it spans.
#[derive(Clone, Copy, Debug)]
pub struct PlotArea {
    /// Left edge, pixels.
    pub x: f32,
    /// Top edge, pixels.
    pub y: f32,
    /// Width, pixels.
    pub w: f32,
    /// Height, pixels.
    pub h: f32,
    /// The x axis runs over iterations 0 ..= `max_iteration`.
    pub max_iteration: usize,
}

/// Draws the loss plot: log10 of the terminal distance ([`palette::LOSS_TERMINAL`]) and of the dynamics term
/// ([`palette::LOSS_DYNAMICS`]) over iterations up to `current`, sync iterations as amber ticks, a cursor at
/// `current`. Non-finite and non-positive values are skipped.
pub fn draw_loss_plot(pixmap: &mut Pixmap, area: PlotArea, history: &LossHistory, current: usize) {
    fill_rect(
        pixmap,
        area.x,
        area.y,
        area.w,
        area.h,
        palette::HUD_BACKGROUND,
    );
    let pad = 4.0;
    let n = history
        .iterations
        .iter()
        .take_while(|&&i| i <= current)
        .count();
    // Legend with the current values in a column at the right, in the series colours.
    let value = |vals: &[f32]| {
        n.checked_sub(1)
            .map_or("-".to_string(), |i| short_num(vals[i]))
    };
    let labels = [
        (
            format!("dist {}", value(&history.terminal)),
            palette::LOSS_TERMINAL,
        ),
        (
            format!("dyn {}", value(&history.dynamics)),
            palette::LOSS_DYNAMICS,
        ),
    ];
    let scale = if area.h >= 48.0 && area.w >= 400.0 {
        2
    } else {
        1
    };
    let legend_w = labels
        .iter()
        .map(|(l, _)| text_width(l, scale))
        .max()
        .unwrap_or(0) as f32
        + 2.0 * pad;
    let label_h = (GLYPH * scale + 3) as f32;
    let legend_x = area.x + area.w - legend_w + pad;
    let legend_y = area.y + ((area.h - 2.0 * label_h) / 2.0).max(0.0);
    for (i, (label, color)) in labels.iter().enumerate() {
        draw_text(
            pixmap,
            legend_x as i32,
            (legend_y + i as f32 * label_h) as i32,
            label,
            scale,
            *color,
        );
    }
    let (x0, y0) = (area.x + pad, area.y + pad);
    let (pw, ph) = (area.w - 2.0 * pad - legend_w, area.h - 2.0 * pad);
    if pw <= 2.0 || ph <= 2.0 {
        return;
    }
    let logs = |vals: &[f32]| -> Vec<Option<f32>> {
        vals[..n]
            .iter()
            .map(|&v| (v.is_finite() && v > 0.0).then(|| v.log10()))
            .collect()
    };
    let (term, dyn_) = (logs(&history.terminal), logs(&history.dynamics));
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in term.iter().chain(&dyn_).flatten() {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let span = area.max_iteration.max(1) as f32;
    let px = |it: usize| x0 + pw * (it as f32 / span).min(1.0);
    let stroke = Stroke {
        width: 1.0,
        ..Stroke::default()
    };
    // Axes: left and bottom.
    let mut axes = PathBuilder::new();
    axes.move_to(x0, y0);
    axes.line_to(x0, y0 + ph);
    axes.line_to(x0 + pw, y0 + ph);
    if let Some(p) = axes.finish() {
        pixmap.stroke_path(
            &p,
            &paint(palette::PLOT_AXIS),
            &stroke,
            Transform::identity(),
            None,
        );
    }
    for &s in history.syncs.iter().filter(|&&s| s <= current) {
        fill_rect(
            pixmap,
            px(s) - 1.0,
            y0 + ph - 5.0,
            2.0,
            5.0,
            palette::SYNC_FLASH,
        );
    }
    if lo.is_finite() {
        if hi - lo < 1e-3 {
            lo -= 0.5;
            hi += 0.5;
        }
        let py = |v: f32| y0 + ph * (1.0 - (v - lo) / (hi - lo));
        let line = Stroke {
            width: 1.5,
            ..Stroke::default()
        };
        for (series, color) in [
            (&dyn_, palette::LOSS_DYNAMICS),
            (&term, palette::LOSS_TERMINAL),
        ] {
            let mut pb = PathBuilder::new();
            let mut pen_down = false;
            for (k, v) in series.iter().enumerate() {
                match v {
                    Some(v) if pen_down => pb.line_to(px(history.iterations[k]), py(*v)),
                    Some(v) => {
                        pb.move_to(px(history.iterations[k]), py(*v));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            if let Some(p) = pb.finish() {
                pixmap.stroke_path(&p, &paint(color), &line, Transform::identity(), None);
            }
        }
    }
    fill_rect(
        pixmap,
        px(current),
        y0,
        1.0,
        ph,
        palette::PLOT_CURSOR.with_alpha(140),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_color(p: &Pixmap, c: Rgba) -> usize {
        p.data()
            .chunks_exact(4)
            .filter(|q| q[0] == c.0 && q[1] == c.1 && q[2] == c.2)
            .count()
    }

    #[test]
    fn text_is_drawn_and_clipped() {
        let mut p = Pixmap::new(40, 10).unwrap();
        p.fill(tiny_skia::Color::BLACK);
        let white = Rgba::rgb(255, 255, 255);
        draw_text(&mut p, 0, 0, "HI", 1, white);
        let lit = count_color(&p, white);
        assert!(lit > 10, "glyph pixels drawn: {lit}");
        // Off-canvas text must not panic and must not draw.
        let mut q = Pixmap::new(40, 10).unwrap();
        draw_text(&mut q, -100, -100, "HI", 3, white);
        draw_text(&mut q, 35, 5, "HI\u{263A}", 2, white);
        assert_eq!(text_width("HI", 2), 32);
    }

    #[test]
    fn scale_fits_the_width() {
        let s = fit_scale("0123456789", 512);
        assert!(text_width("0123456789", s) <= 512);
        assert_eq!(fit_scale(&"x".repeat(100), 512), 1);
    }

    #[test]
    fn short_numbers_stay_short() {
        for v in [
            0.0,
            1.0,
            0.5,
            12.345,
            999.0,
            1e-5,
            3.2e7,
            -0.25,
            f32::NAN,
            f32::INFINITY,
        ] {
            assert!(short_num(v).len() <= 8, "{v} -> {}", short_num(v));
        }
        assert_eq!(short_num(0.5), "0.50");
        assert_eq!(short_num(12.345), "12.3");
        assert_eq!(short_num(1e-5), "1.0e-5");
    }

    #[test]
    fn loss_plot_draws_both_series() {
        let mut h = LossHistory::default();
        for i in 0..50 {
            h.iterations.push(i);
            h.dynamics.push(1.0 / (1.0 + i as f32));
            h.terminal.push(if i == 10 {
                f32::NAN
            } else {
                2.0 - i as f32 * 0.03
            });
            if i % 10 == 9 {
                h.syncs.push(i);
            }
        }
        let mut p = Pixmap::new(200, 100).unwrap();
        p.fill(tiny_skia::Color::WHITE);
        let area = PlotArea {
            x: 10.0,
            y: 10.0,
            w: 180.0,
            h: 80.0,
            max_iteration: 100,
        };
        draw_loss_plot(&mut p, area, &h, 40);
        let near = |c: Rgba| {
            p.data().chunks_exact(4).any(|q| {
                (i32::from(q[0]) - i32::from(c.0)).abs() < 30
                    && (i32::from(q[1]) - i32::from(c.1)).abs() < 30
                    && (i32::from(q[2]) - i32::from(c.2)).abs() < 30
            })
        };
        assert!(near(palette::LOSS_DYNAMICS));
        assert!(near(palette::LOSS_TERMINAL));
        assert!(count_color(&p, palette::SYNC_FLASH) > 0);
        // An empty history draws just the panel.
        draw_loss_plot(&mut p, area, &LossHistory::default(), 0);
    }
}
