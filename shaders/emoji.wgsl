// The emoji: a shaded sphere-like face whose features are parameters (src/app/emoji.rs, Look).
//
// The quad is 1.4x the face disk so the soft shadow below it fits. Coordinates:
// p in [-1.4, 1.4]^2 around the centre, y up, face radius 1. The features are painted on
// the sphere in the head's own frame q (q = p for a frontal head); yaw and pitch turn the
// sphere, so the features and the highlight slide and foreshorten as a head's would.
//   mouth.x curve (-1 frown .. +1 grin)   mouth.y open (0..1)   mouth.z width (x neutral)   mouth.w round O (0..1)
//   face.x teeth (0..1)   face.y sneer (0..1)   face.z cheeks (0..1)   face.w tear (0..1)
//   eyes.x brow angle (-1 V .. +1 worried)   eyes.y brow height (-1..1)   eyes.z eye open (0..1.4)   eyes.w smiling eyes (0..1)
//   pose.x yaw (+ turned to the right)   pose.y pitch (+ turned up), radians   pose.z time (s)
//   tint: colour mixed into the face (alpha = amount)
#import bevy_sprite::mesh2d_vertex_output::VertexOutput

struct EmojiParams {
    mouth: vec4<f32>,
    face: vec4<f32>,
    eyes: vec4<f32>,
    pose: vec4<f32>,
    tint: vec4<f32>,
};

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: EmojiParams;

const QUAD_HALF: f32 = 1.4;
const YELLOW: vec3<f32> = vec3<f32>(1.0, 0.80, 0.18);
// The rim is the face colour times this (orange on yellow).
const RIM_SHADE: vec3<f32> = vec3<f32>(0.85, 0.6, 0.28);
// Colours are linear (the window is sRGB): INK and MOUTH_DARK show as dark brown and
// dark red.
const INK: vec3<f32> = vec3<f32>(0.05, 0.025, 0.01);
const MOUTH_DARK: vec3<f32> = vec3<f32>(0.09, 0.01, 0.012);
const TEETH: vec3<f32> = vec3<f32>(0.98, 0.97, 0.93);
const EYE_WHITE: vec3<f32> = vec3<f32>(0.99, 0.99, 0.97);
const BLUSH: vec3<f32> = vec3<f32>(1.0, 0.45, 0.35);
const TEAR: vec3<f32> = vec3<f32>(0.05, 0.35, 1.0);
// Eye centres (x = +-EYE_X), the mouth's line at its centre, the brows' base height.
const EYE_X: f32 = 0.34;
const EYE_Y: f32 = 0.2;
const MOUTH_Y: f32 = -0.45;
const BROW_Y: f32 = 0.52;
// Radius of the lower lid that rises into the eye as it smiles.
const LID_R: f32 = 0.13;
// Stroke half-width of brows, closed mouth and smiling eyes (thick: readable from afar).
const STROKE: f32 = 0.042;

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

// A drop pointing up: an ellipse that narrows toward its top.
fn sd_tear(p: vec2<f32>, r: vec2<f32>) -> f32 {
    let up = clamp(p.y / r.y * 0.5 + 0.5, 0.0, 1.0);
    let narrow = mix(1.0, 0.12, up * up);
    return sd_ellipse(vec2<f32>(p.x / narrow, p.y), r) * mix(1.0, narrow, 0.5);
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let p = (vec2<f32>(in.uv.x, 1.0 - in.uv.y) * 2.0 - 1.0) * QUAD_HALF;
    let curve = params.mouth.x;
    let open = params.mouth.y;
    let width = params.mouth.z;
    let round_o = params.mouth.w;
    let teeth = params.face.x;
    let sneer = params.face.y;
    let cheeks = params.face.z;
    let tears = params.face.w;
    let brow = params.eyes.x;
    let brow_h = params.eyes.y;
    let eye_open = max(params.eyes.z, 0.05);
    let eye_smile = params.eyes.w;
    let t = params.pose.z;

    // The sphere's normal here, and the same point in the head's own frame: the inverse of
    // turning the head by pitch (about x) then yaw (about y).
    let r = length(p);
    let z = sqrt(max(1.0 - r * r, 0.0));
    let n = vec3<f32>(min(r, 1.0) * normalize(p + vec2<f32>(1e-6, 0.0)), z);
    let cy = cos(params.pose.x);
    let sy = sin(params.pose.x);
    let cp = cos(params.pose.y);
    let sp = sin(params.pose.y);
    let ax = vec3<f32>(cy, 0.0, -sy);
    let ay = vec3<f32>(-sp * sy, cp, -sp * cy);
    let az = vec3<f32>(cp * sy, sp, cp * cy);
    let local = vec3<f32>(dot(n, ax), dot(n, ay), dot(n, az));
    let q = local.xy;
    // Features fade out as they turn past the rim.
    let front = smoothstep(0.0, 0.25, local.z);
    // Anti-aliasing width in the head's frame (wider where the sphere foreshortens).
    let aa = max(fwidth(q.x) + fwidth(q.y), 0.004);

    // Soft shadow under the face.
    let shadow_d = length((p - vec2<f32>(0.0, -1.18)) / vec2<f32>(0.9, 0.16)) - 1.0;
    var alpha = 0.35 * (1.0 - smoothstep(-0.6, 0.4, shadow_d));
    let face = cover(r - 1.0, max(fwidth(r), 0.004));

    // Sphere shading: light from the upper left; the highlight is painted on the head, so
    // it turns with it.
    let l = normalize(vec3<f32>(-0.5, 0.6, 0.8));
    let diffuse = clamp(dot(n, l), 0.0, 1.0);
    let base = mix(YELLOW, params.tint.rgb, params.tint.a);
    var c = mix(base * RIM_SHADE, base, smoothstep(0.0, 0.55, z)) * (0.55 + 0.55 * diffuse);
    let h = normalize(l + vec3<f32>(0.0, 0.0, 1.0));
    c += vec3<f32>(1.0) * pow(clamp(dot(local, h), 0.0, 1.0), 40.0) * 0.5 * front;

    // Raised cheeks: blush under the eyes.
    for (var side = -1.0; side <= 1.0; side += 2.0) {
        let d = sd_ellipse(q - vec2<f32>(0.56 * side, -0.1), vec2<f32>(0.17, 0.1));
        c = mix(c, BLUSH, (1.0 - smoothstep(-0.08, 0.05, d)) * 0.55 * cheeks * front);
    }

    for (var side = -1.0; side <= 1.0; side += 2.0) {
        // The sneer squints the right eye (as seen) and lowers its brow, raising the other.
        let lop = sneer * side;
        let open_here = eye_open * (1.0 - 0.55 * max(lop, 0.0));
        let e = q - vec2<f32>(EYE_X * side, EYE_Y + 0.05 * cheeks);
        // Smiling: a lower lid (a disk rising from below) cuts the eye into an arch.
        let ry = 0.17 * open_here;
        let lid_y = -ry - LID_R + eye_smile * max(2.0 * ry - 0.09, 0.0);
        let lid = LID_R - length(e - vec2<f32>(0.0, lid_y));
        // Open eyes: a dark oval with a catch light, or (wide) a white eyeball with a pupil.
        let oval = cover(max(sd_ellipse(e, vec2<f32>(0.115, ry)), lid), aa);
        var eye_c = mix(c, INK, oval);
        let glint = cover(length(e - vec2<f32>(-0.03, 0.05 * open_here)) - 0.035 * min(open_here, 1.0), aa);
        eye_c = mix(eye_c, vec3<f32>(1.0), glint * 0.9 * oval);
        let ball_d = sd_ellipse(e, vec2<f32>(0.15, ry));
        var wide_c = mix(c, EYE_WHITE, cover(max(ball_d, lid), aa));
        wide_c = mix(wide_c, INK, cover(max(abs(ball_d) - 0.022, lid), aa));
        let pupil = cover(max(sd_ellipse(e + vec2<f32>(0.0, 0.02), vec2<f32>(0.075, 0.09)), lid), aa);
        wide_c = mix(wide_c, INK, pupil);
        wide_c = mix(wide_c, vec3<f32>(1.0), cover(max(length(e - vec2<f32>(-0.025, 0.015)) - 0.025, lid), aa));
        eye_c = mix(eye_c, wide_c, smoothstep(1.05, 1.3, open_here));
        c = mix(c, eye_c, front);

        // Brows: inner end up when worried (brow > 0), down in a V when angry.
        let bh = BROW_Y + 0.13 * brow_h + 0.05 * max(eye_open - 1.0, 0.0) - 0.09 * lop;
        let inner = vec2<f32>(0.11 * side, bh + 0.11 * brow);
        let outer = vec2<f32>(0.52 * side, bh - 0.05 * brow);
        let thick = STROKE * (1.0 + 0.4 * max(-brow, 0.0));
        let b = cover(sd_segment(q, inner, outer) - thick, aa);
        c = mix(c, INK, b * front);
    }

    // A tear under the left eye (as seen), bobbing a little.
    let tear_at = vec2<f32>(-EYE_X - 0.06, -0.08 + 0.02 * sin(t * 3.0));
    let tear_d = sd_tear(q - tear_at, vec2<f32>(0.1, 0.16));
    c = mix(c, TEAR, cover(tear_d, aa) * tears * front);
    c = mix(c, vec3<f32>(1.0), cover(length(q - tear_at - vec2<f32>(-0.03, -0.04)) - 0.025, aa) * tears * front);

    // Mouth: a lip line (curved, lopsided and wavy with the sneer) opened into a band that
    // grows downward for a grin, both ways for a grimace; or a round O.
    let half_w = 0.45 * width;
    let mx = clamp(q.x / half_w, -1.0, 1.0);
    let bend = 1.0 - mx * mx;
    let lift = 0.06 * cheeks * mx * mx;
    let wave = sneer * (0.1 * mx + 0.05 * sin(mx * 7.0));
    let line_y = MOUTH_Y - curve * 0.2 * bend + 0.1 * curve + lift + wave;
    // A grimace (teeth) opens square, a grin or a gasp round.
    let gape = open * 0.32 * mix(bend, sqrt(bend), teeth * (1.0 - max(curve, 0.0)));
    let up_share = 0.5 - 0.42 * max(curve, 0.0);
    let top = line_y + STROKE + gape * up_share;
    let bottom = line_y - STROKE - gape * (1.0 - up_share);
    let band_d = max(max(q.y - top, bottom - q.y), abs(q.x) - half_w);
    let o_d = sd_ellipse(q - vec2<f32>(0.0, MOUTH_Y - 0.06), vec2<f32>(0.12 + 0.08 * open, 0.1 + 0.17 * open));
    let mouth_d = mix(band_d, o_d, round_o);
    let mouth = cover(mouth_d, aa);
    // Inside: dark when open, with the upper teeth, and the lower ones too for a clenched
    // grimace (teeth near 1) with a dark gap between.
    let inside = cover(mouth_d + 0.028, aa) * smoothstep(0.04, 0.2, open);
    let gap = top - bottom;
    let upper = step(top - gap * 0.45 * min(teeth * 2.0, 1.0), q.y);
    let lower = step(q.y, bottom + gap * 0.45 * smoothstep(0.6, 1.0, teeth));
    let tooth = inside * max(upper, lower) * (1.0 - round_o) * step(0.01, teeth);
    var mouth_c = mix(INK, MOUTH_DARK, inside);
    mouth_c = mix(mouth_c, TEETH, tooth);
    c = mix(c, mouth_c, mouth * front);

    let color = mix(vec3<f32>(0.0), c, face);
    alpha = mix(alpha, 1.0, face);
    return vec4<f32>(color, alpha);
}
