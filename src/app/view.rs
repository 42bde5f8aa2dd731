//! Cameras: one 2-D camera per lane, each rendering its lane's render layer into its share of the area the
//! egui panels leave free (side by side when comparing), fitted to the env's bounds and then free to pan and
//! zoom with bevy_pancam (which pauses itself while egui has the pointer). A separate camera draws egui over
//! the whole window.

use bevy::camera::visibility::RenderLayers;
use bevy::camera::{CameraOutputMode, ClearColorConfig, Viewport};
use bevy::core_pipeline::tonemapping::DebandDither;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::PrimaryEguiContext;
use bevy_pancam::{DirectionKeys, PanCam};

use super::commands::AppCommand;
use super::draw::Frame;
use super::envdraw::env_scene;
use super::lanes::Lanes;

/// Marks lane `n`'s camera.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneCamera(pub usize);

/// What a camera was last fitted to; a change refits it.
#[derive(Component, Clone, Debug, Default, PartialEq)]
pub struct Fitted {
    /// Bevy-space bounds fitted.
    pub bounds: Option<[f32; 4]>,
    /// Viewport size (physical px) fitted for.
    pub viewport: Option<UVec2>,
}

/// The window area left to the scene after the egui panels, in physical pixels (written by the UI system).
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub struct SceneRect {
    /// Top-left corner.
    pub min: UVec2,
    /// Size (0 until the UI has run once).
    pub size: UVec2,
}

/// Background behind the env (outside its bounds).
pub const SURROUND: Color = Color::srgb(0.16, 0.17, 0.2);

/// Maximum lanes drawn.
pub const MAX_LANES: usize = 2;

fn spawn_cameras(mut commands: Commands) {
    for lane in 0..MAX_LANES {
        commands.spawn((
            Camera2d,
            Camera {
                order: lane as isize,
                is_active: lane == 0,
                // Cameras on one window share its main texture; only the last one (egui's) needs to copy
                // it to the window, which saves a full-window blit per lane on a software rasterizer.
                output_mode: CameraOutputMode::Skip,
                // A clear fills the whole window, not just the viewport: only the first lane clears, or it
                // would wipe the lane drawn before it.
                clear_color: if lane == 0 {
                    ClearColorConfig::Custom(SURROUND)
                } else {
                    ClearColorConfig::None
                },
                ..default()
            },
            DebandDither::Disabled,
            Msaa::Off,
            RenderLayers::layer(lane),
            LaneCamera(lane),
            Fitted::default(),
            PanCam {
                grab_buttons: vec![MouseButton::Left, MouseButton::Right, MouseButton::Middle],
                move_keys: DirectionKeys::NONE,
                ..default()
            },
        ));
    }
    // egui over the whole window, on top of the lane cameras, drawing no scene entities.
    commands.spawn((
        Camera2d,
        PrimaryEguiContext,
        RenderLayers::none(),
        // Every camera on the window must agree on MSAA; off, because a software rasterizer pays 4× for it
        // and the scene's shapes are large and flat (the ribbon shader anti-aliases its own edges).
        Msaa::Off,
        Camera {
            order: 10,
            clear_color: ClearColorConfig::None,
            ..default()
        },
    ));
}

/// Scale and centre that fit `bounds` (Bevy space) into a viewport of `size` logical pixels with a margin.
pub fn fit(bounds: [f32; 4], size: Vec2) -> (f32, Vec2) {
    let w = (bounds[2] - bounds[0]).max(1e-6);
    let h = (bounds[3] - bounds[1]).max(1e-6);
    let scale = (w / size.x.max(1.0)).max(h / size.y.max(1.0)) * 1.06;
    let center = Vec2::new((bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0);
    (scale, center)
}

/// Splits the scene rect among the active lanes, activates their cameras and refits them when the env,
/// the viewport or the user (Fit view) asks for it.
fn layout_cameras(
    lanes: Res<Lanes>,
    rect: Res<SceneRect>,
    window: Single<&Window, With<PrimaryWindow>>,
    mut cmds: MessageReader<AppCommand>,
    mut cameras: Query<(
        &LaneCamera,
        &mut Camera,
        &mut Projection,
        &mut Transform,
        &mut Fitted,
    )>,
) {
    let refit_all = cmds.read().any(|c| *c == AppCommand::FitView);
    let n = lanes.lanes.len().clamp(1, MAX_LANES) as u32;
    let scale_factor = window.scale_factor();
    for (lane, mut camera, mut proj, mut transform, mut fitted) in &mut cameras {
        let active = lane.0 < lanes.lanes.len() && rect.size.x >= n * 2 && rect.size.y >= 2;
        if camera.is_active != active {
            camera.is_active = active;
        }
        if !active {
            continue;
        }
        let part_w = rect.size.x / n;
        let viewport = Viewport {
            physical_position: UVec2::new(rect.min.x + part_w * lane.0 as u32, rect.min.y),
            physical_size: UVec2::new(part_w, rect.size.y),
            ..default()
        };
        if camera
            .viewport
            .as_ref()
            .map(|v| (v.physical_position, v.physical_size))
            != Some((viewport.physical_position, viewport.physical_size))
        {
            camera.viewport = Some(viewport.clone());
        }
        let Some(info) = lanes.lanes[lane.0].info.as_ref() else {
            continue;
        };
        let scene = env_scene(info.problem.env, &info.problem.start, &info.problem.goal);
        let bounds = Frame {
            y_down: scene.y_down,
        }
        .bevy_bounds(scene.bounds);
        let want = Fitted {
            bounds: Some(bounds),
            viewport: Some(viewport.physical_size),
        };
        if refit_all || *fitted != want {
            let logical = viewport.physical_size.as_vec2() / scale_factor.max(1e-3);
            let (scale, center) = fit(bounds, logical);
            if let Projection::Orthographic(o) = proj.as_mut() {
                o.scale = scale;
            }
            transform.translation = center.extend(transform.translation.z);
            *fitted = want;
        }
    }
}

/// Spawns the cameras and keeps them laid out.
pub fn view_plugin(app: &mut App) {
    app.init_resource::<SceneRect>()
        .add_systems(Startup, spawn_cameras)
        .add_systems(
            PostUpdate,
            layout_cameras.before(bevy::camera::CameraUpdateSystems),
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_covers_the_bounds_with_a_margin() {
        let (scale, center) = fit([0.0, -512.0, 512.0, 0.0], Vec2::new(800.0, 400.0));
        assert_eq!(center, Vec2::new(256.0, -256.0));
        // Height is the binding side: 512 world units over 400 px, plus 6 %.
        assert!((scale - 512.0 / 400.0 * 1.06).abs() < 1e-5);
    }
}
