//! A plot's legend as a strip under its chart: a short line in each entry's colour and style, then its text,
//! wrapping onto as many rows as the entries need (the image grows to fit), so a legend never covers data.
//! Shared by the success-rate and success-over-time plots.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Height of one legend row, pixels.
pub const LEGEND_ROW: u32 = 26;

/// Legend text size, pixels.
const LEGEND_FONT: u32 = 16;

/// One legend entry: a planner, its colour and line style, its text.
pub struct Entry {
    /// The planner (open-loop label) it stands for.
    pub planner: String,
    /// Line colour.
    pub color: RGBColor,
    /// Dashed line (else solid).
    pub dashed: bool,
    /// The text after the line.
    pub text: String,
}

/// Left x and row of every legend entry in a strip `width` wide, wrapping when a row is full.
pub fn legend_layout(entries: &[Entry], width: u32) -> Result<Vec<(i32, u32)>, String> {
    let font = FontDesc::new(FontFamily::SansSerif, LEGEND_FONT as f64, FontStyle::Normal);
    let (mut x, mut row) = (80i32, 0u32);
    let mut out = Vec::new();
    for e in entries {
        let (tw, _) = font.box_size(&e.text).map_err(|x| x.to_string())?;
        let w = 30 + tw as i32 + 30;
        if x + w > width as i32 - 20 && x > 80 {
            (x, row) = (80, row + 1);
        }
        out.push((x, row));
        x += w;
    }
    Ok(out)
}

/// The strip's height for `rows` rows, pixels.
pub fn strip_height(rows: u32) -> u32 {
    rows.max(1) * LEGEND_ROW + 18
}

/// The legend strip: a short line in each planner's colour and style, then its text, at `places`.
pub fn draw_legend(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    legend: &[Entry],
    places: &[(i32, u32)],
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let font: TextStyle = ("sans-serif", LEGEND_FONT).into();
    for (entry, &(x, row)) in legend.iter().zip(places) {
        let y = 12 + (row * LEGEND_ROW) as i32;
        let line = entry.color.stroke_width(3);
        let segments: &[(i32, i32)] = if entry.dashed {
            &[(0, 9), (15, 24)]
        } else {
            &[(0, 24)]
        };
        for &(a, b) in segments {
            area.draw(&PathElement::new(
                vec![(x + a, y + 8), (x + b, y + 8)],
                line,
            ))
            .map_err(|x| e(&x))?;
        }
        area.draw(&Text::new(entry.text.clone(), (x + 30, y), font.clone()))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}
