//! Times our Haar detector on 640x480 frames made from the shared photos and writes the
//! frames as PNG so `scripts/haar_speed.py` can time OpenCV on the very same pixels.
//!
//! `cargo run --release --no-default-features --example haar_time -- DATA_DIR FRAMES_OUT [ROUNDS]`
//! prints one line per cascade: `<cascade> <ms per frame> <faces>`.

use std::path::PathBuf;
use std::time::Instant;

use emoji_mirror::vision::DetectorKind;
use emoji_mirror::vision::haar::{HaarDetector, HaarSettings, prep};

/// Frame size of the comparison.
const FRAME_W: u32 = 640;
const FRAME_H: u32 = 480;
/// Passes over all frames per cascade when not given.
const DEFAULT_ROUNDS: usize = 3;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data =
        PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: haar_time DATA_DIR FRAMES_OUT [ROUNDS]"))?);
    let out =
        PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: haar_time DATA_DIR FRAMES_OUT [ROUNDS]"))?);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(DEFAULT_ROUNDS);
    std::fs::create_dir_all(&out)?;
    let mut frames = Vec::new();
    for folder in ["dlib-faces", "openmpf-samples"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join(folder))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        paths.sort();
        for p in paths {
            let frame = prep::fit_and_pad(&image::open(&p)?.to_rgb8(), FRAME_W, FRAME_H);
            frame.save(out.join(format!("frame_{:02}.png", frames.len())))?;
            frames.push(frame);
        }
    }
    let cascades = emoji_mirror::compose::resolve_project_path(std::path::Path::new("models/haar"));
    for kind in [DetectorKind::HaarDefault, DetectorKind::HaarAlt, DetectorKind::HaarAlt2, DetectorKind::HaarAltTree] {
        let file = kind.cascade_file().ok_or_else(|| anyhow::anyhow!("{kind} has no cascade"))?;
        let mut det = HaarDetector::open(&cascades.join(file), HaarSettings::default())?;
        let mut faces = 0;
        for f in &frames {
            faces += det.detect_rects(f).0.len(); // warm-up, and the face count
        }
        let started = Instant::now();
        for _ in 0..rounds {
            for f in &frames {
                det.detect_rects(f);
            }
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0 / (rounds * frames.len()) as f64;
        println!("{kind} {ms:.2} {faces}");
    }
    Ok(())
}
