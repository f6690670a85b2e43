// The emoji: a shaded sphere-like face whose features are parameters.
//
// The quad is 1.4x the face disk so the soft shadow below it fits. Coordinates:
// p in [-1.4, 1.4]^2 around the centre, y up, face radius 1.
//   shape.x mouth curvature (-1 frown .. +1 smile)   shape.y mouth openness (0..1)
//   shape.z brow angle (-1 angry/inner down .. +1 worried/inner up)   shape.w eye openness (0..1.4)
//   extra.x tears (0..1)   extra.y time (s)   tint: colour mixed into the face (alpha = amount)
#import bevy_sprite::mesh2d_vertex_output::VertexOutput

struct EmojiParams {
    shape: vec4<f32>,
    extra: vec4<f32>,
    tint: vec4<f32>,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: EmojiParams;

const QUAD_HALF: f32 = 1.4;
const YELLOW: vec3<f32> = vec3<f32>(1.0, 0.80, 0.18);
const RIM: vec3<f32> = vec3<f32>(0.85, 0.48, 0.05);
const INK: vec3<f32> = vec3<f32>(0.23, 0.13, 0.06);
const TEAR: vec3<f32> = vec3<f32>(0.35, 0.70, 1.0);

// Anti-aliased coverage of a signed distance (negative inside).
fn cover(d: f32, aa: f32) -> f32 {
    return clamp(0.5 - d / aa, 0.0, 1.0);
}

fn sd_ellipse(p: vec2<f32>, r: vec2<f32>) -> f32 {
    let k = length(p / r);
    return (k - 1.0) * min(r.x, r.y);
}

fn sd_segment(p: vec2<f32>, a: vec2<f32>, b: vec2<f32>) -> f32 {
    let pa = p - a;
    let ba = b - a;
    let h = clamp(dot(pa, ba) / dot(ba, ba), 0.0, 1.0);
    return length(pa - ba * h);
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let p = (vec2<f32>(in.uv.x, 1.0 - in.uv.y) * 2.0 - 1.0) * QUAD_HALF;
    let aa = 0.02;
    let curve = params.shape.x;
    let open = params.shape.y;
    let brow = params.shape.z;
    let eye_open = max(params.shape.w, 0.05);
    let tears = params.extra.x;
    let t = params.extra.y;

    // Soft shadow under the face.
    let shadow_d = length((p - vec2<f32>(0.0, -1.18)) / vec2<f32>(0.9, 0.16)) - 1.0;
    var color = vec3<f32>(0.0);
    var alpha = 0.35 * (1.0 - smoothstep(-0.6, 0.4, shadow_d));

    let r = length(p);
    let face = cover(r - 1.0, aa);
    if (face > 0.0) {
        // Sphere shading: a normal from the disk, light from the upper left.
        let z = sqrt(max(1.0 - r * r, 0.0));
        let n = normalize(vec3<f32>(p, z));
        let l = normalize(vec3<f32>(-0.5, 0.6, 0.8));
        let diffuse = clamp(dot(n, l), 0.0, 1.0);
        var base = mix(YELLOW, params.tint.rgb, params.tint.a);
        var c = mix(RIM, base, smoothstep(0.0, 0.55, z)) * (0.55 + 0.55 * diffuse);
        let h = normalize(l + vec3<f32>(0.0, 0.0, 1.0));
        c += vec3<f32>(1.0) * pow(clamp(dot(n, h), 0.0, 1.0), 40.0) * 0.55;

        // Eyes: ellipses whose height is the openness.
        for (var side = -1.0; side <= 1.0; side += 2.0) {
            let e = p - vec2<f32>(0.36 * side, 0.22);
            let eye = cover(sd_ellipse(e, vec2<f32>(0.11, 0.17 * eye_open)), aa);
            c = mix(c, INK, eye);
            // catch light
            let glint = cover(length(e - vec2<f32>(-0.03, 0.05 * eye_open)) - 0.035 * min(eye_open, 1.0), aa);
            c = mix(c, vec3<f32>(1.0), glint * 0.9);
            // Brows: segments tilted by the brow angle (inner end up when brow > 0).
            let inner = vec2<f32>(0.14 * side, 0.50 + 0.10 * brow);
            let outer = vec2<f32>(0.52 * side, 0.50 - 0.06 * brow);
            let b = cover(sd_segment(p, inner, outer) - 0.035, aa);
            c = mix(c, INK, b);
            // Tears run down from the eyes.
            let drop_y = 0.05 - fract(t * 0.6 + 0.5 * side) * 0.6;
            let tear = cover(sd_ellipse(p - vec2<f32>(0.40 * side, drop_y), vec2<f32>(0.05, 0.08)), aa);
            c = mix(c, TEAR, tear * tears);
        }

        // Mouth: a curved band; openness widens it into an open mouth.
        let mx = p.x / 0.45;
        let centre_y = -0.42 - curve * 0.22 * (1.0 - mx * mx) + 0.1 * curve;
        let half = 0.03 + open * 0.16 * (1.0 - mx * mx);
        let inside_x = 1.0 - smoothstep(0.95, 1.0, abs(mx));
        let d = abs(p.y - centre_y) - half;
        let mouth = cover(d, aa) * inside_x;
        let mouth_color = mix(INK, vec3<f32>(0.55, 0.1, 0.12), smoothstep(0.1, 0.5, open));
        c = mix(c, mouth_color, mouth);

        color = mix(color, c, face);
        alpha = mix(alpha, 1.0, face);
    }
    return vec4<f32>(color, alpha);
}
