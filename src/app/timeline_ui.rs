//! The bottom panel: transport buttons (first, back, play/pause, forward, newest, follow live), speed and
//! loop, and a scrub bar over all iterations with sync ticks (amber) and parameter-change markers (blue,
//! hover for what changed). Dragging the bar moves the cursor only; the optimizer keeps running.

use bevy_egui::egui;

use super::commands::AppCommand;
use super::history::History;
use super::timeline::{PlayState, Timeline, SPEEDS};

fn button(ui: &mut egui::Ui, text: &str, cmd: AppCommand, out: &mut Vec<AppCommand>) {
    let tip = format!("{} ({})", cmd.label(), cmd.shortcut_text());
    if ui.button(text).on_hover_text(tip).clicked() {
        out.push(cmd);
    }
}

/// Iteration under x on a bar spanning `rect` over [first, last].
pub fn iteration_at(x: f32, left: f32, width: f32, first: usize, last: usize) -> usize {
    if last <= first || width <= 0.0 {
        return first;
    }
    let f = ((x - left) / width).clamp(0.0, 1.0);
    first + (f * (last - first) as f32).round() as usize
}

/// x of `iteration` on the bar.
pub fn x_of(iteration: usize, left: f32, width: f32, first: usize, last: usize) -> f32 {
    if last <= first {
        return left;
    }
    left + width * (iteration.saturating_sub(first)) as f32 / (last - first) as f32
}

/// Draws the timeline panel contents.
pub fn timeline_ui(
    ui: &mut egui::Ui,
    t: &mut Timeline,
    history: &History,
    replans: &[usize],
    out: &mut Vec<AppCommand>,
) {
    let first = history.first().unwrap_or(0);
    let last = history.newest().unwrap_or(0);
    ui.horizontal(|ui| {
        button(ui, "⏮", AppCommand::JumpStart, out);
        button(ui, "⏪", AppCommand::StepBack10, out);
        button(ui, "◀", AppCommand::StepBack, out);
        let play = if t.play == PlayState::Playing { "⏸" } else { "▶" };
        button(ui, play, AppCommand::TogglePlay, out);
        button(ui, "▶|", AppCommand::StepForward, out);
        button(ui, "⏩", AppCommand::StepForward10, out);
        button(ui, "⏭", AppCommand::JumpEnd, out);
        let following = t.play == PlayState::Following;
        if ui
            .selectable_label(following, "live")
            .on_hover_text(format!("{} (F)", AppCommand::FollowLive.help()))
            .clicked()
        {
            out.push(AppCommand::FollowLive);
        }
        ui.separator();
        egui::ComboBox::from_id_salt("speed")
            .selected_text(format!("{} it/s", t.speed))
            .width(90.0)
            .show_ui(ui, |ui| {
                for s in SPEEDS {
                    ui.selectable_value(&mut t.speed, s, format!("{s} it/s"));
                }
            });
        ui.checkbox(&mut t.looping, "loop");
        ui.separator();
        let shown = history.at(t.cursor).map_or(0, |s| s.iteration);
        ui.monospace(format!("iteration {shown} / {last}"));
        if history.stride() > 1 {
            ui.label(
                egui::RichText::new(format!("(older iterations kept every {})", history.stride())).small(),
            )
            .on_hover_text("memory cap reached: old iterations are thinned evenly; syncs and marked iterations are kept");
        }
    });

    let (rect, response) = ui.allocate_exact_size(
        egui::vec2(ui.available_width(), 26.0),
        egui::Sense::click_and_drag(),
    );
    let painter = ui.painter_at(rect);
    let track = rect.shrink2(egui::vec2(6.0, 9.0));
    painter.rect_filled(track, 3.0, egui::Color32::from_gray(60));
    let (left, width) = (track.left(), track.width());
    let amber = egui::Color32::from_rgb(255, 176, 0);
    let mut last_x = f32::NEG_INFINITY;
    for s in super::plots::sync_markers(history) {
        let x = x_of(s, left, width, first, last);
        // At most one tick per 4 px: dense syncs read as a rhythm, not a solid bar.
        if x - last_x < 4.0 {
            continue;
        }
        last_x = x;
        painter.line_segment(
            [
                egui::pos2(x, rect.top() + 3.0),
                egui::pos2(x, rect.bottom() - 3.0),
            ],
            egui::Stroke::new(1.0, amber),
        );
    }
    // MPC mode: a tall tick in the executed-trajectory colour where each replan (segment) starts.
    let c = crate::record::palette::EXECUTED;
    let executed = egui::Color32::from_rgb(c.0, c.1, c.2);
    for (j, &start) in replans.iter().enumerate().skip(1) {
        let x = x_of(start, left, width, first, last);
        painter.line_segment(
            [egui::pos2(x, rect.top()), egui::pos2(x, rect.bottom())],
            egui::Stroke::new(2.5, executed),
        );
        if response.hover_pos().is_some_and(|p| (p.x - x).abs() < 4.0) {
            response
                .clone()
                .on_hover_text(format!("MPC step {j} starts at iteration {start}"));
        }
    }
    let blue = egui::Color32::from_rgb(90, 170, 255);
    let mut hovered_marker = None;
    for m in history.markers() {
        let x = x_of(m.iteration, left, width, first, last);
        let tip = egui::pos2(x, rect.top() + 8.0);
        painter.add(egui::Shape::convex_polygon(
            vec![
                tip,
                egui::pos2(x - 5.0, rect.top()),
                egui::pos2(x + 5.0, rect.top()),
            ],
            blue,
            egui::Stroke::NONE,
        ));
        if response.hover_pos().is_some_and(|p| (p.x - x).abs() < 5.0) {
            hovered_marker = Some(format!("iteration {}: {}", m.iteration, m.what));
        }
    }
    let cx = x_of(
        t.cursor.clamp(first, last.max(first)),
        left,
        width,
        first,
        last,
    );
    painter.line_segment(
        [egui::pos2(cx, rect.top()), egui::pos2(cx, rect.bottom())],
        egui::Stroke::new(2.0, egui::Color32::WHITE),
    );
    painter.circle_filled(egui::pos2(cx, rect.center().y), 5.0, egui::Color32::WHITE);
    if let Some(tip) = hovered_marker {
        response.clone().on_hover_text(tip);
    }
    if response.dragged() || response.clicked() {
        if let Some(p) = response.interact_pointer_pos() {
            t.scrub_to(iteration_at(p.x, left, width, first, last));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_maps_iterations_both_ways() {
        assert_eq!(iteration_at(0.0, 0.0, 100.0, 0, 1000), 0);
        assert_eq!(iteration_at(100.0, 0.0, 100.0, 0, 1000), 1000);
        assert_eq!(iteration_at(50.0, 0.0, 100.0, 0, 1000), 500);
        assert_eq!(iteration_at(-5.0, 0.0, 100.0, 10, 20), 10);
        assert_eq!(iteration_at(5.0, 0.0, 100.0, 7, 7), 7);
        let x = x_of(250, 10.0, 100.0, 0, 1000);
        assert!((x - 35.0).abs() < 1e-4);
    }
}
