// Residual-coloured trajectory ribbon (grasp-explorer, src/app/ribbon.rs).
//
// The ribbon follows the virtual-state path s_0 … s_T of the shown iteration. Each vertex carries
//   uv.x    — the dynamics residual of the transition into that state, already mapped to a level in [0, 1]
//             on the log scale of record::palette::residual_level (0 = ≤ scale/1000, 1 = ≥ scale);
//   uv.y    — −1 … 1 across the ribbon;
//   color.r — the fraction of the path (0 at s_0, 1 at s_T).
// The fragment shader interpolates the *level* (not a colour) along the ribbon and evaluates the warm end of
// Google's Turbo colormap per pixel — the same polynomial as record::palette::turbo, so the app and recorded
// videos agree — then shades the cross-section (anti-aliased edges, dark rim, bright core) and lets faint
// stripes flow toward s_T so the direction of time reads at a glance. `params` = (opacity, sync-flash
// intensity 0–1, stripe speed in path-lengths per second, unused).

#import bevy_sprite::{
    mesh2d_vertex_output::VertexOutput,
    mesh2d_view_bindings::globals,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: vec4<f32>;

// Turbo, Google's published polynomial fit (Mikhailov 2019), sRGB in [0, 1].
fn turbo(x_in: f32) -> vec3<f32> {
    let x = clamp(x_in, 0.0, 1.0);
    let r = 0.13572138 + x * (4.61539260 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
    let g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
    let b = 0.10667330 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
    return clamp(vec3(r, g, b), vec3(0.0), vec3(1.0));
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3(2.4));
    return select(hi, lo, c <= vec3(0.04045));
}

@fragment
fn fragment(mesh: VertexOutput) -> @location(0) vec4<f32> {
    let level = clamp(mesh.uv.x, 0.0, 1.0);
    // Small residuals sit at yellow (0.6), large ones at dark red (1.0): record::palette::residual_color.
    var rgb = turbo(0.6 + 0.4 * level);

    // Cross-section: bright core, dark rim, anti-aliased edge.
    let across = abs(mesh.uv.y);
    let aa = max(fwidth(across), 1e-4);
    let coverage = 1.0 - smoothstep(1.0 - 1.5 * aa, 1.0, across);
    let rim = smoothstep(0.62, 0.8, across);
    rgb = mix(rgb, rgb * 0.35, rim);
    rgb = mix(rgb, min(rgb * 1.25, vec3(1.0)), (1.0 - smoothstep(0.0, 0.3, across)) * 0.5);

#ifdef VERTEX_COLORS
    // Stripes flowing from s_0 toward s_T.
    let along = mesh.color.r;
    let phase = fract(along * 10.0 - globals.time * params.z);
    let stripe = smoothstep(0.0, 0.15, phase) * (1.0 - smoothstep(0.35, 0.5, phase));
    rgb = mix(rgb, min(rgb * 1.3 + vec3(0.08), vec3(1.0)), stripe * 0.35 * (1.0 - rim));
#endif

    // Sync flash: tint toward amber (record::palette::SYNC_FLASH = 255,176,0).
    rgb = mix(rgb, vec3(1.0, 0.69, 0.0), clamp(params.y, 0.0, 1.0) * 0.5);

    return vec4(srgb_to_linear(rgb), coverage * params.x);
}
