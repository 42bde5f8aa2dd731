//! Snapshot → picture: one planner's panel (the env at the start state with its goal, then the overlays and
//! the heads-up display) as a tiny-skia pixmap, and panels laid side by side into one RGBA video frame.
//!
//! The env picture under the overlays never changes during a run, so it is rendered once and copied per frame.
//! Model-space snapshot data is decoded to env units with the world model's codec.

use std::sync::Arc;

use tiny_skia::Pixmap;

use super::hud::{self, LossHistory, PlotArea};
use super::overlay::{self, reference_unit, Residuals, DIVERGED_WIDTH, FLASH_WIDTH};
use super::{palette, RecordError};
use crate::env::render::{render, View};
use crate::env::scene::scene;
use crate::env::{rollout_env, EnvKind, Problem};
use crate::model::WorldModel;
use crate::plan::{Phase, Snapshot, Status};

/// Which overlays a panel shows. All on by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlays {
    /// Ghosts of the virtual states s̄_1..s̄_T, coloured by t.
    pub ghosts: bool,
    /// Residual segments F(s̄_t, a_t) → s̄_{t+1}.
    pub residuals: bool,
    /// The serial model rollout of the current actions.
    pub model_rollout: bool,
    /// The simulator rollout of the current actions (open loop; costs 5·T env steps per frame).
    pub sim_rollout: bool,
    /// The heads-up text line.
    pub hud: bool,
    /// The loss plot.
    pub loss_plot: bool,
}

impl Default for Overlays {
    fn default() -> Self {
        Overlays {
            ghosts: true,
            residuals: true,
            model_rollout: true,
            sim_rollout: true,
            hud: true,
            loss_plot: true,
        }
    }
}

/// What one panel shows at one frame.
#[derive(Clone, Copy, Debug)]
pub struct PanelFrame<'a> {
    /// The snapshot to draw.
    pub snapshot: &'a Snapshot,
    /// Loss terms of every iteration so far (for the plot).
    pub history: &'a LossHistory,
    /// The plot's x axis ends at this iteration (the run's budget).
    pub max_iteration: usize,
    /// Sync-flash opacity, 0 (none) … 1 (the sync iteration itself).
    pub flash: f32,
}

/// Background of the footer that holds the heads-up line and the loss plot (opaque near-black).
pub const FOOTER_BACKGROUND: crate::env::scene::Rgba = crate::env::scene::Rgba::rgb(20, 20, 28);

/// Draws one planner's snapshots over one problem's env.
///
/// Layout: the env (fitted, aspect kept) on top, then a footer with the heads-up line and under it the loss
/// plot across the panel's width, so nothing covers the env. Without HUD and plot the env fills the panel.
pub struct PanelRenderer {
    kind: EnvKind,
    model: Arc<dyn WorldModel>,
    label: String,
    start: Vec<f32>,
    goal: Vec<f32>,
    view: View,
    unit: f32,
    env_base: Pixmap,
    panel_base: Pixmap,
    text_scale: u32,
    overlays: Overlays,
    residual_scale: Option<f32>,
    /// Closed loop: the simulator states executed so far (drawn solid); empty for open-loop recordings.
    executed: Vec<Vec<f32>>,
}

impl PanelRenderer {
    /// A `width`×`height` panel for `problem`, labelled `label` in the HUD.
    pub fn new(
        problem: &Problem,
        model: Arc<dyn WorldModel>,
        label: &str,
        width: u32,
        height: u32,
        overlays: Overlays,
    ) -> Result<PanelRenderer, RecordError> {
        let render_err = |e: crate::env::render::RenderError| RecordError::Render(e.to_string());
        // A typical HUD line of this label sets the text size for the whole recording (a longer line drops
        // to the smallest size for that frame rather than being cut off).
        let text_scale = hud::fit_scale(&format!("{label} it 9999 stoch dist 0.00"), width);
        let text_h = if overlays.hud {
            hud::GLYPH * text_scale * 7 / 4
        } else {
            0
        };
        let plot_h = if overlays.loss_plot {
            (height * 3 / 20).max(16)
        } else {
            0
        };
        let env_h = height.saturating_sub(text_h + plot_h);
        if env_h < (height / 3).max(8) {
            return Err(RecordError::Invalid(format!(
                "a {width}x{height} panel leaves too little room for the env under the heads-up line and loss \
                 plot; make it taller or drop the plot (--no-plot)"
            )));
        }
        let sc = scene(problem.env, &problem.start, Some(&problem.goal));
        let env_base = render(&sc, width, env_h).map_err(render_err)?;
        let view = View::for_scene(&sc, width, env_h).map_err(render_err)?;
        let mut panel_base = Pixmap::new(width, height).ok_or(RecordError::InvalidSize {
            width,
            height,
            reason: "cannot allocate the frame".into(),
        })?;
        let c = FOOTER_BACKGROUND;
        panel_base.fill(tiny_skia::Color::from_rgba8(c.0, c.1, c.2, c.3));
        Ok(PanelRenderer {
            kind: problem.env,
            model,
            label: label.to_string(),
            start: problem.start.clone(),
            goal: problem.goal.clone(),
            view,
            unit: reference_unit(sc.bounds),
            env_base,
            panel_base,
            text_scale,
            overlays,
            residual_scale: None,
            executed: Vec::new(),
        })
    }

    /// Closed loop: the env now stands at the last of `executed` (the states executed so far, start first):
    /// the picture under the overlays, the start handle and the simulator rollout move there, and the executed
    /// trajectory is drawn solid in [`palette::EXECUTED`].
    pub fn set_executed(&mut self, executed: &[Vec<f32>]) -> Result<(), RecordError> {
        let Some(now) = executed.last() else {
            return Ok(());
        };
        let sc = scene(self.kind, now, Some(&self.goal));
        self.env_base = render(&sc, self.env_base.width(), self.env_base.height())
            .map_err(|e| RecordError::Render(e.to_string()))?;
        self.start = now.clone();
        self.executed = executed.to_vec();
        Ok(())
    }

    /// Replaces the label shown in the heads-up line (e.g. with the MPC step).
    pub fn set_label(&mut self, label: &str) {
        self.label = label.to_string();
    }

    /// The world→pixel mapping of the env area (the top `view().height` rows of the panel).
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The residual that is drawn darkest red: the largest finite residual of the first snapshot rendered
    /// (as the app does), so colours compare across a whole recording.
    pub fn residual_scale(&self) -> Option<f32> {
        self.residual_scale
    }

    /// Renders one frame of this panel.
    pub fn render(&mut self, frame: &PanelFrame<'_>) -> Pixmap {
        let snap = frame.snapshot;
        let mut pm = self.env_base.clone();
        let decode_rows = |rows: &[f32], d: usize| -> Vec<Vec<f32>> {
            if d == 0 {
                return Vec::new();
            }
            rows.chunks_exact(d)
                .map(|s| self.model.decode_state(s))
                .collect()
        };
        let d = snap.state_dim;
        let (view, u, kind) = (&self.view, self.unit, self.kind);
        let states = decode_rows(&snap.states, d);
        if self.overlays.ghosts {
            overlay::draw_ghosts(&mut pm, view, kind, &states, u);
        }
        if self.overlays.model_rollout && !snap.rollout.is_empty() {
            let rollout = decode_rows(&snap.rollout, d);
            overlay::draw_trajectory(&mut pm, view, kind, &rollout, palette::MODEL_ROLLOUT, u);
        }
        if self.overlays.sim_rollout && !snap.actions.is_empty() {
            let env_actions = self.model.decode_actions(&snap.actions);
            if let Ok(sim) = rollout_env(kind, &self.start, &env_actions) {
                overlay::draw_trajectory(&mut pm, view, kind, &sim, palette::SIM_ROLLOUT, u);
            }
        }
        if self.executed.len() > 1 {
            overlay::draw_trajectory(&mut pm, view, kind, &self.executed, palette::EXECUTED, u);
        }
        if self.overlays.residuals && !snap.residuals.is_empty() {
            let scale = *self.residual_scale.get_or_insert_with(|| {
                snap.residuals
                    .iter()
                    .copied()
                    .filter(|r| r.is_finite())
                    .fold(0.0, f32::max)
            });
            let predictions = decode_rows(&snap.predictions, d);
            let res = Residuals {
                env_predictions: &predictions,
                env_states: &states,
                residuals: &snap.residuals,
                scale,
            };
            overlay::draw_residuals(&mut pm, view, kind, &res, u);
        }
        overlay::draw_handles(&mut pm, view, kind, &self.start, &self.goal, u);
        let mut panel = self.panel_base.clone();
        let row = pm.width() as usize * 4;
        panel.data_mut()[..pm.data().len()].copy_from_slice(pm.data());
        debug_assert_eq!(row, panel.width() as usize * 4);
        let diverged = matches!(snap.status, Status::Diverged { .. });
        let px = self.unit * self.view.scale;
        if diverged {
            overlay::draw_border(&mut panel, 1.0, palette::DIVERGED, DIVERGED_WIDTH * px);
        } else {
            overlay::draw_border(
                &mut panel,
                frame.flash,
                palette::SYNC_FLASH,
                FLASH_WIDTH * px,
            );
        }
        let (w, h) = (panel.width(), panel.height());
        let mut y = self.view.height;
        if self.overlays.hud {
            let color = if diverged {
                palette::DIVERGED
            } else if snap.phase == Phase::Sync {
                palette::SYNC_FLASH
            } else {
                palette::HUD_TEXT
            };
            let text = hud::hud_text(&self.label, snap);
            let s = if hud::fit_scale(&text, w) >= self.text_scale {
                self.text_scale
            } else {
                1
            };
            hud::draw_text(
                &mut panel,
                (hud::GLYPH * s / 2) as i32,
                (y + hud::GLYPH * s * 3 / 8) as i32,
                &text,
                s,
                color,
            );
            y += hud::GLYPH * s * 7 / 4;
        }
        if self.overlays.loss_plot && h > y {
            let margin = (FLASH_WIDTH * px).ceil().max(2.0);
            let area = PlotArea {
                x: margin,
                y: y as f32,
                w: w as f32 - 2.0 * margin,
                h: (h - y) as f32 - margin,
                max_iteration: frame.max_iteration,
            };
            hud::draw_loss_plot(&mut panel, area, frame.history, snap.iteration);
        }
        panel
    }
}

/// Lays `panels` (all the same height) side by side into `frame`, an RGBA8 buffer of their summed width.
/// Panel pixels are opaque, so tiny-skia's premultiplied bytes are the straight RGBA a video frame wants.
pub fn compose(panels: &[Pixmap], frame: &mut [u8]) {
    let total_w: usize = panels.iter().map(|p| p.width() as usize).sum();
    let mut x0 = 0usize;
    for p in panels {
        let (w, h) = (p.width() as usize, p.height() as usize);
        for y in 0..h {
            let dst = (y * total_w + x0) * 4;
            if let (Some(d), Some(s)) = (
                frame.get_mut(dst..dst + w * 4),
                p.data().get(y * w * 4..(y + 1) * w * 4),
            ) {
                d.copy_from_slice(s);
            }
        }
        x0 += w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::linear::LinearModel;
    use crate::plan::{make_planner, ModelProblem, PlannerKind};

    fn has_color(data: &[u8], c: crate::env::scene::Rgba, tol: i32) -> bool {
        data.chunks_exact(4).any(|q| {
            (i32::from(q[0]) - i32::from(c.0)).abs() <= tol
                && (i32::from(q[1]) - i32::from(c.1)).abs() <= tol
                && (i32::from(q[2]) - i32::from(c.2)).abs() <= tol
        })
    }

    #[test]
    fn a_wall_frame_shows_env_ghost_and_hud_colours() {
        let problem = Problem::generate(EnvKind::Wall, 8, 3).unwrap();
        let model: Arc<dyn WorldModel> = Arc::new(LinearModel::test_system(2, 10));
        let mp = ModelProblem::from_problem(&problem, model.as_ref()).unwrap();
        let params = PlannerKind::Grasp.default_params();
        let mut planner = make_planner(&params, &mp, model.clone(), 1).unwrap();
        let mut history = LossHistory::default();
        let mut snap = planner.step();
        for _ in 0..3 {
            snap = planner.step();
            history.push(&snap);
        }
        let mut panel =
            PanelRenderer::new(&problem, model, "grasp", 512, 512, Overlays::default()).unwrap();
        let frame = PanelFrame {
            snapshot: &snap,
            history: &history,
            max_iteration: 10,
            flash: 1.0,
        };
        let pm = panel.render(&frame);
        assert_eq!((pm.width(), pm.height()), (512, 512));
        let data = pm.data();
        assert!(
            has_color(data, crate::env::scene::WALL_WALL, 0),
            "wall colour"
        );
        assert!(
            has_color(data, crate::env::scene::WALL_BACKGROUND, 0),
            "background colour"
        );
        assert!(
            has_color(data, palette::time_color(4, 8), 3),
            "a ghost marker colour"
        );
        assert!(has_color(data, palette::SYNC_FLASH, 0), "flash border");
        assert!(has_color(data, palette::HUD_TEXT, 0), "hud text");

        let mut frame_buf = vec![0u8; 2 * 512 * 512 * 4];
        compose(&[pm.clone(), pm.clone()], &mut frame_buf);
        let row = 512 * 4;
        assert_eq!(&frame_buf[..row], &data[..row]);
        assert_eq!(&frame_buf[row..2 * row], &data[..row]);
        assert_eq!(
            &frame_buf[5 * 2 * row + row..6 * 2 * row],
            &data[5 * row..6 * row]
        );
    }
}
