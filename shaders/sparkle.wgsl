// The sparkle burst when a target is reached: star-shaped sparkles flying out from the
// centre and a ring, all fading over the burst's life (src/app/emoji.rs, Burst).
// Coordinates: p in [-1, 1]^2, y up.
//   state.x age (0 at the start .. 1 at the end)   state.y seed (turns the pattern)
#import bevy_sprite::mesh2d_vertex_output::VertexOutput

struct SparkleParams {
    state: vec4<f32>,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: SparkleParams;

const SPARKLES: i32 = 12;
const TAU: f32 = 6.2831853;
const GOLD: vec3<f32> = vec3<f32>(1.0, 0.82, 0.25);
const WHITE: vec3<f32> = vec3<f32>(1.0, 1.0, 0.95);
const PINK: vec3<f32> = vec3<f32>(1.0, 0.45, 0.7);

// A four-pointed star of size s: bright core, two thin rays.
fn star(d: vec2<f32>, s: f32) -> f32 {
    let a = abs(d) / s;
    let rays = max(0.0, 1.0 - a.x * 5.0 - a.y) + max(0.0, 1.0 - a.y * 5.0 - a.x);
    let core = max(0.0, 1.0 - length(d) / (0.35 * s));
    return clamp(rays + core, 0.0, 1.0);
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let p = vec2<f32>(in.uv.x, 1.0 - in.uv.y) * 2.0 - 1.0;
    let age = clamp(params.state.x, 0.0, 1.0);
    let seed = params.state.y;
    // Fast out, then slowing: 1 - (1 - age)^3.
    let fly = 1.0 - pow(1.0 - age, 3.0);
    let fade = 1.0 - age * age;
    var color = vec3<f32>(0.0);
    var alpha = 0.0;
    for (var i = 0; i < SPARKLES; i += 1) {
        let k = f32(i);
        let angle = k / f32(SPARKLES) * TAU + seed + 0.3 * sin(k * 7.3 + seed);
        let reach = 0.55 + 0.3 * fract(sin(k * 12.9898 + seed) * 43758.55);
        let centre = vec2<f32>(cos(angle), sin(angle)) * reach * fly;
        let size = (0.24 + 0.08 * fract(k * 0.618)) * (1.0 - 0.5 * age);
        let v = star(p - centre, size) * fade;
        var tone = GOLD;
        if (i % 3 == 1) {
            tone = WHITE;
        } else if (i % 3 == 2) {
            tone = PINK;
        }
        color = mix(color, tone, v);
        alpha = max(alpha, v);
    }
    // The ring of the burst's front.
    let ring = max(0.0, 1.0 - abs(length(p) - 0.9 * fly) / 0.035) * 0.6 * (1.0 - age);
    color = mix(color, WHITE, ring * (1.0 - alpha));
    alpha = max(alpha, ring);
    return vec4<f32>(color, alpha);
}
