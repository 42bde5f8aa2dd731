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

/// Draws one planner's snapshots over one problem's env.
pub struct PanelRenderer {
    kind: EnvKind,
    model: Arc<dyn WorldModel>,
    label: String,
    start: Vec<f32>,
    goal: Vec<f32>,
    view: View,
    unit: f32,
    base: Pixmap,
    overlays: Overlays,
    residual_scale: Option<f32>,
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
        let sc = scene(problem.env, &problem.start, Some(&problem.goal));
        let base = render(&sc, width, height).map_err(|e| RecordError::Render(e.to_string()))?;
        let view =
            View::for_scene(&sc, width, height).map_err(|e| RecordError::Render(e.to_string()))?;
        Ok(PanelRenderer {
            kind: problem.env,
            model,
            label: label.to_string(),
            start: problem.start.clone(),
            goal: problem.goal.clone(),
            view,
            unit: reference_unit(sc.bounds),
            base,
            overlays,
            residual_scale: None,
        })
    }

    /// The world→pixel mapping of this panel.
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
        let mut pm = self.base.clone();
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
        let diverged = matches!(snap.status, Status::Diverged { .. });
        let px = self.unit * self.view.scale;
        if diverged {
            overlay::draw_border(&mut pm, 1.0, palette::DIVERGED, DIVERGED_WIDTH * px);
        } else {
            overlay::draw_border(&mut pm, frame.flash, palette::SYNC_FLASH, FLASH_WIDTH * px);
        }
        if self.overlays.hud {
            let color = if diverged {
                palette::DIVERGED
            } else if snap.phase == Phase::Sync {
                palette::SYNC_FLASH
            } else {
                palette::HUD_TEXT
            };
            hud::draw_hud_line(&mut pm, &hud::hud_text(&self.label, snap), color);
        }
        if self.overlays.loss_plot {
            let (w, h) = (pm.width() as f32, pm.height() as f32);
            let (pw, ph) = ((w * 0.38).max(60.0), (h * 0.2).max(30.0));
            let margin = (w.min(h) * 0.015).max(2.0) + FLASH_WIDTH * px;
            let area = PlotArea {
                x: w - pw - margin,
                y: h - ph - margin,
                w: pw,
                h: ph,
                max_iteration: frame.max_iteration,
            };
            hud::draw_loss_plot(&mut pm, area, frame.history, snap.iteration);
        }
        pm
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
