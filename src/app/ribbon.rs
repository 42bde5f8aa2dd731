//! The residual ribbon's material: a `Material2d` whose fragment shader (`shaders/ribbon.wgsl`, embedded in
//! the binary) colours the virtual-state path by dynamics residual with the palette's warm Turbo ramp,
//! evaluated per pixel from the interpolated residual level, with anti-aliased edges, flowing time stripes
//! and a sync-flash tint.

use bevy::asset::{load_internal_asset, uuid_handle};
use bevy::prelude::*;
use bevy::render::render_resource::AsBindGroup;
use bevy::shader::{Shader, ShaderRef};
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dPlugin};

/// Handle of the embedded ribbon shader.
pub const RIBBON_SHADER: Handle<Shader> = uuid_handle!("6c3f7f0e-9a51-4d0b-8f7e-2b1f4d7a9c21");

/// Uniforms of the ribbon shader.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct RibbonMaterial {
    /// (opacity 0–1, sync-flash intensity 0–1, stripe speed in path lengths per second, unused).
    #[uniform(0)]
    pub params: Vec4,
}

impl Default for RibbonMaterial {
    fn default() -> Self {
        RibbonMaterial {
            params: Vec4::new(0.9, 0.0, 0.25, 0.0),
        }
    }
}

impl Material2d for RibbonMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(RIBBON_SHADER)
    }

    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Blend
    }
}

/// Embeds the shader and registers the material.
pub fn ribbon_plugin(app: &mut App) {
    load_internal_asset!(
        app,
        RIBBON_SHADER,
        "../../shaders/ribbon.wgsl",
        Shader::from_wgsl
    );
    app.add_plugins(Material2dPlugin::<RibbonMaterial>::default());
}
