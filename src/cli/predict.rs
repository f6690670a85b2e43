//! `predict`: frames -> faces -> emotions, printed as lines or JSON, optionally drawn.
//!
//! Decoding, detection and classification run at once on three threads
//! ([`emoji_mirror::pipeline`]); this file formats what comes out.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use image::Rgb;

use emoji_mirror::config::Settings;
use emoji_mirror::pipeline::{self, Analysed};
use emoji_mirror::report::draw::{draw_label, fill_rect, stroke_box};
use emoji_mirror::report::json::{FrameReport, face_report, with_track};
use emoji_mirror::report::{display_label, face_line};
use emoji_mirror::tracking::Tracker;
use emoji_mirror::vision::classifier::top_two;
use emoji_mirror::vision::{self, EmotionClassifier, Face};

use super::SourceArgs;

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
  emoji-mirror predict --video clip.mp4 --track --detect-every 3";

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
    /// Detector input: longer side in pixels; smaller is faster, larger finds smaller faces
    /// (default 640 for images, 384 for video).
    #[arg(long, value_name = "PIXELS")]
    pub det_size: Option<usize>,
    /// Detector score threshold in 0..1 (default 0.5).
    #[arg(long, value_name = "SCORE")]
    pub det_threshold: Option<f32>,
    /// ONNX Runtime threads for the detector (default 2).
    #[arg(long, value_name = "N")]
    pub det_threads: Option<usize>,
    /// Follow each person across frames: lines show the person's id and the
    /// confirmed emotion (the dominant one of the last 20 frames, or Neutral).
    #[arg(long)]
    pub track: bool,
    /// With --track: run the detector on every Nth frame only; tracks carry predicted boxes in between.
    #[arg(long, value_name = "N", requires = "track", default_value_t = 1)]
    pub detect_every: u32,
}

pub fn run(args: &PredictArgs, mut settings: Settings) -> anyhow::Result<()> {
    let spec = args.source.spec(args.looped);
    if spec.is_stream() {
        settings.detector.input_max_side = settings.video_detector_side;
    }
    if let Some(v) = args.det_size {
        anyhow::ensure!(v >= vision::centerface::MIN_INPUT_SIDE, "--det-size {v} is too small (at least 32)");
        settings.detector.input_max_side = v;
    }
    if let Some(v) = args.det_threshold {
        anyhow::ensure!((0.0..=1.0).contains(&v), "--det-threshold {v} is outside 0..1");
        settings.detector.score_threshold = v;
    }
    if let Some(v) = args.det_threads {
        settings.detector.threads.intra_threads = v;
    }
    let env = super::ort_environment(&settings)?;
    args.detector.apply(&mut settings);
    let mut detector = vision::open_face_detector(env, &settings)?;
    let mut classifier = vision::open_classifier(env, &settings)?;
    if let Some(dir) = &args.annotate {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let source = spec.spawn()?;
    let is_stream = spec.is_stream();
    let started = Instant::now();
    let mut last_second = None;
    let mut write_error = None;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut tracker = args.track.then(|| Tracker::new(settings.tracking.clone(), classifier.labels()));
    let options = pipeline::Options { tracker: tracker.as_mut(), detect_every: args.detect_every };
    let summary = pipeline::run(&source, detector.as_mut(), &mut classifier, options, |a| {
        let hms = a.frame.time.hms();
        let second = a.frame.time.seconds().floor() as i64;
        let due = !is_stream || args.every_frame || last_second != Some(second);
        last_second = Some(second);
        let written = if args.json {
            write_json(&mut out, &a, &hms)
        } else if due {
            write_lines(&mut out, &a, &hms)
        } else {
            Ok(())
        };
        if written.and_then(|()| out.flush()).is_err() {
            // stdout closed (e.g. piped into `head`): stop quietly.
            return ControlFlow::Break(());
        }
        if let Some(dir) = &args.annotate {
            annotate(&mut a.frame.image, a.faces, a.classifier, a.probabilities);
            let name = if a.frame.name.is_empty() {
                format!("frame_{:06}.png", a.frame.index)
            } else {
                format!("{}.png", Path::new(&a.frame.name).file_stem().unwrap_or_default().to_string_lossy())
            };
            let path = dir.join(name);
            if let Err(e) = a.frame.image.save(&path) {
                write_error = Some(anyhow::anyhow!("{}: cannot write annotated image: {e}", path.display()));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    drop(out);
    let secs = started.elapsed().as_secs_f64();
    let rss = pipeline::peak_rss_bytes().map_or(String::new(), |b| format!(", peak RSS {} MiB", b / (1024 * 1024)));
    let dropped = match source.dropped() {
        0 => String::new(),
        n => format!(", {n} stale camera frame(s) dropped"),
    };
    eprintln!(
        "analysed {} frame(s), {} face(s), {} skipped{dropped}, in {:.2} s ({:.1} frames/s{rss})",
        summary.frames,
        summary.faces,
        summary.skipped,
        secs,
        summary.frames as f64 / secs.max(1e-9)
    );
    if let Some(e) = write_error {
        return Err(e);
    }
    if let Some(e) = summary.failed {
        return Err(e.into());
    }
    anyhow::ensure!(
        summary.frames > 0 || summary.skipped == 0,
        "{}: no frame could be decoded or analysed ({} skipped)",
        spec.describe(),
        summary.skipped
    );
    Ok(())
}

fn write_lines(out: &mut impl Write, a: &Analysed, hms: &str) -> std::io::Result<()> {
    let suffix = if a.frame.name.is_empty() { String::new() } else { format!("  [{}]", a.frame.name) };
    if a.faces.is_empty() {
        return writeln!(out, "{hms} : no face{suffix}");
    }
    for i in 0..a.faces.len() {
        let c = a.classifier.view(a.probabilities, i);
        match a.tracker.map(|t| &t.tracks()[i]) {
            Some(track) => {
                // The confirmed emotion, with its smoothed probability.
                let smoothed = track.smoothed.values();
                let idx = track.confirmed().unwrap_or_else(|| top_two(smoothed).0.0);
                let line = face_line(hms, &c.labels[idx], smoothed[idx]);
                writeln!(out, "{line}  (person {}){suffix}", track.id)?;
            }
            None => {
                let (idx, p) = c.top();
                writeln!(out, "{}{suffix}", face_line(hms, &c.labels[idx], p))?;
            }
        }
    }
    Ok(())
}

fn write_json(out: &mut impl Write, a: &Analysed, hms: &str) -> std::io::Result<()> {
    let report = FrameReport {
        frame: a.frame.index,
        time: a.frame.time.seconds(),
        hms,
        source: &a.frame.name,
        width: a.frame.image.width(),
        height: a.frame.image.height(),
        faces: a
            .faces
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let labels = a.classifier.labels();
                let report = face_report(f, labels, a.classifier.view(a.probabilities, i).probabilities);
                match a.tracker {
                    Some(t) => with_track(report, &t.tracks()[i], labels),
                    None => report,
                }
            })
            .collect(),
    };
    serde_json::to_writer(&mut *out, &report)?;
    writeln!(out)
}

/// Box colour of the annotations.
const BOX_COLOR: Rgb<u8> = Rgb([255, 200, 0]);
const LANDMARK_COLOR: Rgb<u8> = Rgb([0, 230, 255]);

fn annotate(img: &mut image::RgbImage, faces: &[Face], classifier: &EmotionClassifier, probs: &[f32]) {
    let thickness = (img.width().max(img.height()) / 300).max(2) as i64;
    let text_scale = (img.width() / 400).clamp(1, 4);
    for (i, f) in faces.iter().enumerate() {
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
        let c = classifier.view(probs, i);
        let ((best, p), _) = top_two(c.probabilities);
        let text = format!("{} {:.0}%", display_label(&c.labels[best]), p * 100.0);
        let y = (f.bbox_in_frame.y as i64 - 12 * i64::from(text_scale)).max(0);
        draw_label(img, f.bbox_in_frame.x as i64, y, &text, text_scale, Rgb([0, 0, 0]), BOX_COLOR);
    }
}
