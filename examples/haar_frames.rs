//! Writes the pictures of the Haar parity test as our decoders see them, so that
//! `scripts/haar_parity.py` runs OpenCV on exactly the pixels `tests/haar.rs` gives our
//! detector (JPEG decoders differ by a few levels per pixel, and that alone can move a
//! borderline box).
//!
//! `cargo run --release --no-default-features --example haar_frames -- DATA_DIR OUT_DIR`
//! writes `OUT_DIR/<folder>/<name>.png` for every photo and `OUT_DIR/<video>/<index>.png`
//! for the video frames, and prints one line per picture: `<name> <frame or -> <png>`.
//! The PNGs are scratch files for the script; it deletes them.

use std::path::{Path, PathBuf};

use emoji_mirror::source::{SourceEvent, SourceSpec};

/// Photo folders of the parity test, under DATA_DIR.
const FOLDERS: [&str; 2] = ["dlib-faces", "openmpf-samples"];
/// The video of the parity test and the frames it compares.
const VIDEO: &str = "openmpf-samples/video_01.mp4";
const VIDEO_FRAMES: [u64; 5] = [0, 30, 60, 90, 120];

fn main() -> anyhow::Result<()> {
    let usage = || anyhow::anyhow!("usage: haar_frames DATA_DIR OUT_DIR");
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().ok_or_else(usage)?);
    let out = PathBuf::from(args.next().ok_or_else(usage)?);
    for folder in FOLDERS {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(data.join(folder))
            .map_err(|e| anyhow::anyhow!("{}: {e}", data.join(folder).display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
            .collect();
        paths.sort();
        std::fs::create_dir_all(out.join(folder))?;
        for p in paths {
            let name =
                p.file_name().and_then(|n| n.to_str()).ok_or_else(|| anyhow::anyhow!("{}: name", p.display()))?;
            let img = image::open(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?.to_rgb8();
            let png = out.join(folder).join(format!("{name}.png"));
            img.save(&png)?;
            println!("{folder}/{name} - {}", png.display());
        }
    }
    let dir = out.join(Path::new(VIDEO).file_stem().unwrap_or_default());
    std::fs::create_dir_all(&dir)?;
    let source = SourceSpec::Video(data.join(VIDEO)).spawn()?;
    let last = VIDEO_FRAMES.iter().copied().max().unwrap_or(0);
    while let Ok(event) = source.events().recv() {
        if let SourceEvent::Frame(f) = event {
            if VIDEO_FRAMES.contains(&f.index) {
                let png = dir.join(format!("{}.png", f.index));
                f.image.save(&png)?;
                println!("{VIDEO} {} {}", f.index, png.display());
            }
            if f.index >= last {
                break;
            }
        }
    }
    Ok(())
}
