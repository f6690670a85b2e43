//! `crops`: one centred grayscale face crop per interval (a face dataset from a video or camera).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use image::GrayImage;

use emoji_mirror::compose;
use emoji_mirror::engine::{Engine, EngineOptions};
use emoji_mirror::vision::crop::{FaceCropper, largest};

use super::{CommonArgs, SourceArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror crops --video clip.mp4 --out faces/                # 48x48, one per second
  emoji-mirror crops --camera 0 --out faces/ --max 30             # stop after 30 crops
  emoji-mirror crops --video clip.mp4 --out faces/ --every 500ms --size 64 --all-faces

Crops are named image0.png, image1.png, ... in the order they are taken. Existing
files with those names are not overwritten: numbering continues after the highest.";

/// Added on every side of the squared face box, as a fraction of its side
/// (the same framing the emotion classifier sees).
const DEFAULT_MARGIN: f32 = 0.1;

#[derive(Debug, Args)]
pub struct CropsArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
    /// Folder for the crops (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Time between crops: 1s, 500ms, 2.5s (video: media time; camera: wall-clock time).
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_interval)]
    pub every: Duration,
    /// Side of the square crops in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = 48, value_parser = clap::value_parser!(u32).range(8..=1024))]
    pub size: u32,
    /// Write every face found, not only the largest.
    #[arg(long)]
    pub all_faces: bool,
    /// Margin around the face box, as a fraction of its side.
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_MARGIN)]
    pub margin: f32,
    /// Stop after this many crops (needed to end a camera run other than with Ctrl-C).
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (number, unit) = if let Some(v) = t.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix('s') {
        (v, 1.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = number.trim().parse().map_err(|_| format!("'{s}' is not a time like 1s or 500ms"))?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(format!("'{s}' must be more than zero"));
    }
    Ok(Duration::from_secs_f64(v * unit))
}

/// The next free number for image<N>.png in `dir`.
fn first_free_index(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("image")?.strip_suffix(".png")?.parse::<u64>().ok()
                })
                .map(|n| n + 1)
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

pub fn run(args: &CropsArgs, common: &CommonArgs) -> anyhow::Result<()> {
    anyhow::ensure!((0.0..=2.0).contains(&args.margin), "--margin {} is outside 0..2", args.margin);
    let spec = args.source.spec(false);
    let settings = super::resolve(common, &args.detector.overrides(common), spec.is_stream())?;
    let engine = Engine::start(spec, compose::engine_models(&settings)?, EngineOptions::offline())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    let mut cropper = FaceCropper::new(args.size, emoji_mirror::vision::Framing::boxed(args.margin));
    let mut crop = GrayImage::new(args.size, args.size);
    let every = args.every.as_secs_f64();
    let mut next_name = first_free_index(&args.out);
    let mut written = 0u64;
    let mut start = None;
    let mut next_due = 0.0;
    for frame in engine.frames().iter() {
        let t = frame.time.seconds() - *start.get_or_insert(frame.time.seconds());
        let faces = &frame.faces;
        let chosen: &[_] =
            if args.all_faces { faces } else { largest(faces).map(std::slice::from_ref).unwrap_or_default() };
        if t + 1e-6 >= next_due && !chosen.is_empty() {
            for face in chosen {
                cropper.crop(&frame.image, face, &mut crop);
                let path = args.out.join(format!("image{next_name}.png"));
                crop.save(&path).with_context(|| format!("{}: cannot write crop", path.display()))?;
                next_name += 1;
                written += 1;
            }
            // The next crop is due one interval later (skipping intervals a gap jumped over).
            next_due += every * ((t - next_due) / every).floor().max(0.0) + every;
        }
        engine.recycle(frame);
        if args.max.is_some_and(|m| written >= m) {
            break;
        }
    }
    let summary = engine.finish();
    anyhow::ensure!(
        summary.frames > 0 || summary.skipped == 0,
        "no frame could be decoded or analysed ({} skipped)",
        summary.skipped
    );
    eprintln!("wrote {written} crop(s) of {0}x{0} to {1}", args.size, args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units() {
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("2.5"), Ok(Duration::from_millis(2500)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }
}
