//! `predict`: frames -> faces -> emotions, printed as lines or JSON, optionally drawn.
//!
//! Decoding, detection, classification and tracking run on the analysis engine's
//! threads ([`emoji_mirror::engine`]); this file formats what comes out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use image::Rgb;

use emoji_mirror::compose;
use emoji_mirror::engine::{AnalysedFrame, DetectEvery, Engine, EngineOptions, RunSummary};
use emoji_mirror::report::draw::{draw_label, fill_rect, stroke_box};
use emoji_mirror::report::json::write_frame_json;
use emoji_mirror::report::{display_label, face_line};
use emoji_mirror::vision::classifier::top_two;

use super::{CommonArgs, SourceArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror predict --image assets/astronaut.png
  emoji-mirror predict --camera 0                       # live: a line per face per second, wall-clock time
  emoji-mirror predict --video clip.mp4                 # one line per face per second: 00:00:01 : Happy , 93%
  emoji-mirror predict --video clip.mp4 --every-frame   # a line per face per frame
  emoji-mirror predict --video clip.mp4 --json          # JSON lines: boxes, landmarks, all probabilities
  emoji-mirror predict --image-dir photos/ --annotate annotated/
  emoji-mirror predict --video clip.mp4 --det-size 320  # faster detection for faces larger than ~40 px
  emoji-mirror predict --video clip.mp4 --track         # stable emotion per person: 00:00:01 : Happy , 91%  (person 1)
                                                        # (detector when the tracks need it: --detect-every auto)
  emoji-mirror predict --video clip.mp4 --track --detect-every 1   # the detector on every frame
  emoji-mirror predict --video clip.mp4 --track --detect-every 3   # on every 3rd frame";

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
    /// With --image-dir: start again at the first image after the last, forever.
    #[arg(long = "loop", requires = "image_dir")]
    pub looped: bool,
    /// Print JSON lines (one object per frame) instead of text lines.
    #[arg(long)]
    pub json: bool,
    /// Print a line for every frame, not only the first of each second.
    #[arg(long)]
    pub every_frame: bool,
    /// Write each analysed frame with boxes, labels and probabilities as PNG into DIR.
    #[arg(long, value_name = "DIR")]
    pub annotate: Option<PathBuf>,
    /// Follow each person across frames: lines show the person's id and the
    /// confirmed emotion (the dominant one of the last 20 frames, or Neutral).
    #[arg(long)]
    pub track: bool,
    /// With --track (without it the detector runs on every frame).
    #[command(flatten)]
    pub detect_every: super::detect_every::DetectEveryArgs,
    #[command(flatten)]
    pub broker: super::worker::BrokerArgs,
}

pub fn run(args: &PredictArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let spec = args.source.spec(args.looped);
    let is_stream = spec.is_stream();
    let mut settings = super::resolve(common, &args.detector.overrides(common), is_stream)?;
    args.broker.apply(&mut settings.broker);
    if let Some(dir) = &args.annotate {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let identity = emoji_mirror::identity::namer_from_data_dir(common.data_dir.as_deref())?;
    // Without --track nothing carries a face from one frame to the next: detect every frame.
    let detect_every = if args.track {
        args.detect_every.resolve(DetectEvery::auto())
    } else {
        anyhow::ensure!(
            args.detect_every.detect_every.is_none(),
            "--detect-every needs --track (tracks carry the faces between detections)"
        );
        DetectEvery::EVERY_FRAME
    };
    let options = EngineOptions { detect_every, identity, ..EngineOptions::offline() };
    let engine = Engine::start(spec.clone(), compose::engine_models(&settings)?, options)?;
    let started = Instant::now();
    let mut last_second = None;
    let mut write_error = None;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for mut frame in engine.frames().iter() {
        let second = frame.time.seconds().floor() as i64;
        let due = !is_stream || args.every_frame || last_second != Some(second);
        last_second = Some(second);
        let written = if args.json {
            write_frame_json(&mut out, &frame, args.track)
        } else if due {
            write_lines(&mut out, &frame, args.track)
        } else {
            Ok(())
        };
        if written.and_then(|()| out.flush()).is_err() {
            // stdout closed (e.g. piped into `head`): stop quietly.
            break;
        }
        if let Some(dir) = &args.annotate {
            annotate(&mut frame);
            let name = if frame.name.is_empty() {
                format!("frame_{:06}.png", frame.index)
            } else {
                format!("{}.png", Path::new(&frame.name).file_stem().unwrap_or_default().to_string_lossy())
            };
            let path = dir.join(name);
            if let Err(e) = frame.image.save(&path) {
                write_error = Some(anyhow::anyhow!("{}: cannot write annotated image: {e}", path.display()));
                break;
            }
        }
        engine.recycle(frame);
    }
    drop(out);
    let summary = engine.finish();
    eprintln!("{}", summary_line(&summary, started.elapsed().as_secs_f64()));
    if let Some(e) = write_error {
        return Err(e);
    }
    anyhow::ensure!(
        summary.frames > 0 || summary.skipped == 0,
        "{}: no frame could be decoded or analysed ({} skipped)",
        spec.describe(),
        summary.skipped
    );
    Ok(())
}

/// The run's last line: frames, faces, skipped and dropped frames, the share of frames the
/// detector ran on (when not all), speed and peak memory.
pub fn summary_line(summary: &RunSummary, secs: f64) -> String {
    let rss = emoji_mirror::memory::peak_rss_bytes()
        .map_or(String::new(), |b| format!(", peak RSS {} MiB", b / (1024 * 1024)));
    let dropped = match summary.dropped {
        0 => String::new(),
        n => format!(", {n} stale frame(s) dropped"),
    };
    let detections = if summary.detections < summary.frames {
        format!(
            ", detector on {} ({:.0}%)",
            summary.detections,
            100.0 * summary.detections as f64 / summary.frames as f64
        )
    } else {
        String::new()
    };
    format!(
        "analysed {} frame(s), {} face(s), {} skipped{dropped}{detections}, in {:.2} s ({:.1} frames/s{rss})",
        summary.frames,
        summary.faces,
        summary.skipped,
        secs,
        summary.frames as f64 / secs.max(1e-9)
    )
}

fn write_lines(out: &mut impl Write, frame: &AnalysedFrame, tracked: bool) -> std::io::Result<()> {
    let hms = frame.time.hms();
    let suffix = if frame.name.is_empty() { String::new() } else { format!("  [{}]", frame.name) };
    let labels = &frame.labels;
    if tracked {
        if frame.tracks.tracks.is_empty() {
            return writeln!(out, "{hms} : no face{suffix}");
        }
        for (i, track) in frame.tracks.tracks.iter().enumerate() {
            // The confirmed emotion, with its smoothed probability.
            let smoothed = frame.tracks.smoothed(i);
            let idx = track.confirmed.unwrap_or_else(|| top_two(smoothed).0.0);
            let line = face_line(&hms, &labels[idx], smoothed[idx]);
            writeln!(out, "{line}  (person {}){suffix}", track.id)?;
        }
        return Ok(());
    }
    if frame.faces.is_empty() {
        return writeln!(out, "{hms} : no face{suffix}");
    }
    for row in 0..frame.faces.len() {
        let ((idx, p), _) = top_two(frame.probabilities_of(row));
        writeln!(out, "{}{suffix}", face_line(&hms, &labels[idx], p))?;
    }
    Ok(())
}

/// Box colour of the annotations.
const BOX_COLOR: Rgb<u8> = Rgb([255, 200, 0]);
const LANDMARK_COLOR: Rgb<u8> = Rgb([0, 230, 255]);

fn annotate(frame: &mut AnalysedFrame) {
    let img = &mut frame.image;
    let thickness = (img.width().max(img.height()) / 300).max(2) as i64;
    let text_scale = (img.width() / 400).clamp(1, 4);
    for (row, f) in frame.faces.iter().enumerate() {
        stroke_box(img, &f.bbox_in_frame, thickness, BOX_COLOR);
        for lm in &f.landmarks_in_frame {
            fill_rect(
                img,
                lm[0] as i64 - thickness,
                lm[1] as i64 - thickness,
                2 * thickness,
                2 * thickness,
                LANDMARK_COLOR,
            );
        }
        let probs =
            frame.probabilities.get(row * frame.labels.len()..(row + 1) * frame.labels.len()).unwrap_or_default();
        let ((best, p), _) = top_two(probs);
        let text = format!("{} {:.0}%", display_label(&frame.labels[best]), p * 100.0);
        let y = (f.bbox_in_frame.y as i64 - 12 * i64::from(text_scale)).max(0);
        draw_label(img, f.bbox_in_frame.x as i64, y, &text, text_scale, Rgb([0, 0, 0]), BOX_COLOR);
    }
}
