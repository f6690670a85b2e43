//! `predict`: frames -> faces -> emotions, printed as lines or JSON, optionally drawn.
//!
//! Three stages run at once: decoding (source thread), detection (its own
//! thread) and classification + output (this thread), joined by bounded channels.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use crossbeam_channel::{Receiver, Sender, bounded};
use image::Rgb;

use emoji_mirror::config::Settings;
use emoji_mirror::report::draw::{draw_label, fill_rect, stroke_box};
use emoji_mirror::report::json::{FrameReport, face_report};
use emoji_mirror::report::{display_label, face_line};
use emoji_mirror::source::{Frame, SourceError, SourceEvent, SourceHandle};
use emoji_mirror::vision::classifier::top_two;
use emoji_mirror::vision::{self, EmotionClassifier, Face, FaceDetector};

use super::SourceArgs;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror predict --image assets/astronaut.png
  emoji-mirror predict --video clip.mp4                 # one line per face per second: 00:00:01 : Happy , 93%
  emoji-mirror predict --video clip.mp4 --every-frame   # a line per face per frame
  emoji-mirror predict --video clip.mp4 --json          # JSON lines: boxes, landmarks, all probabilities
  emoji-mirror predict --image-dir photos/ --annotate annotated/
  emoji-mirror predict --video clip.mp4 --det-size 320  # faster detection for faces larger than ~40 px";

/// Frames that may wait between detection and classification.
const STAGE_FRAMES: usize = 2;

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub source: SourceArgs,
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
    /// Detector input: longer side in pixels (smaller is faster; default from settings, 640).
    #[arg(long, value_name = "PIXELS")]
    pub det_size: Option<usize>,
    /// Detector score threshold in 0..1 (default 0.5).
    #[arg(long, value_name = "SCORE")]
    pub det_threshold: Option<f32>,
    /// ONNX Runtime threads for the detector (default 2).
    #[arg(long, value_name = "N")]
    pub det_threads: Option<usize>,
}

/// What the detection stage hands on.
enum Detected {
    Frame { frame: Frame, faces: Vec<Face> },
    Skipped { what: String, reason: String },
    Failed(SourceError),
}

pub fn run(args: &PredictArgs, mut settings: Settings) -> anyhow::Result<()> {
    if let Some(v) = args.det_size {
        anyhow::ensure!(
            v >= vision::centerface::MIN_INPUT_SIDE,
            "--det-size {v} is too small (at least 32)"
        );
        settings.detector.input_max_side = v;
    }
    if let Some(v) = args.det_threshold {
        anyhow::ensure!((0.0..=1.0).contains(&v), "--det-threshold {v} is outside 0..1");
        settings.detector.score_threshold = v;
    }
    if let Some(v) = args.det_threads {
        settings.detector.threads.intra_threads = v;
    }
    let spec = args.source.spec(args.looped);
    let env = super::ort_environment(&settings)?;
    let mut detector = vision::open_detector(env, &settings)?;
    let mut classifier = vision::open_classifier(env, &settings)?;
    if let Some(dir) = &args.annotate {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create folder", dir.display()))?;
    }
    let source = spec.spawn()?;
    let (det_tx, det_rx) = bounded::<Detected>(STAGE_FRAMES);
    let (faces_back_tx, faces_back_rx) = bounded::<Vec<Face>>(STAGE_FRAMES + 2);
    let started = Instant::now();
    let summary = std::thread::scope(|scope| {
        let source = &source;
        std::thread::Builder::new()
            .name("detect".into())
            .spawn_scoped(scope, move || {
                detect_stage(source, &mut detector, det_tx, faces_back_rx)
            })
            .context("cannot start the detection thread")?;
        output_stage(args, source, &mut classifier, det_rx, faces_back_tx, spec.is_video())
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "analysed {} frame(s), {} face(s), {} skipped, in {:.2} s ({:.1} frames/s)",
        summary.frames,
        summary.faces,
        summary.skipped,
        secs,
        summary.frames as f64 / secs.max(1e-9)
    );
    if let Some(e) = summary.failed {
        return Err(e.into());
    }
    anyhow::ensure!(
        summary.frames > 0 || summary.skipped == 0,
        "{}: no frame could be decoded or analysed ({} skipped)",
        spec.path().display(),
        summary.skipped
    );
    Ok(())
}

fn detect_stage(
    source: &SourceHandle,
    detector: &mut dyn FaceDetector,
    out: Sender<Detected>,
    faces_back: Receiver<Vec<Face>>,
) {
    for event in source.events() {
        let item = match event {
            SourceEvent::Frame(frame) => {
                let mut faces = faces_back.try_recv().unwrap_or_default();
                match detector.detect(&frame.image, &mut faces) {
                    Ok(()) => Detected::Frame { frame, faces },
                    Err(e) => {
                        let what = format!("frame {}", frame.index);
                        source.recycle(frame.image);
                        Detected::Skipped {
                            what,
                            reason: e.to_string(),
                        }
                    }
                }
            }
            SourceEvent::Skipped { what, reason } => Detected::Skipped { what, reason },
            SourceEvent::Failed(e) => Detected::Failed(e),
        };
        if out.send(item).is_err() {
            return;
        }
    }
}

#[derive(Default)]
struct Summary {
    frames: u64,
    faces: u64,
    skipped: u64,
    failed: Option<SourceError>,
}

fn output_stage(
    args: &PredictArgs,
    source: &SourceHandle,
    classifier: &mut EmotionClassifier,
    input: Receiver<Detected>,
    faces_back: Sender<Vec<Face>>,
    is_video: bool,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let mut probs = Vec::new();
    let mut last_second = None;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for item in input {
        let (mut frame, faces) = match item {
            Detected::Frame { frame, faces } => (frame, faces),
            Detected::Skipped { what, reason } => {
                tracing::warn!("skipped {what}: {reason}");
                summary.skipped += 1;
                continue;
            }
            Detected::Failed(e) => {
                summary.failed = Some(e);
                break;
            }
        };
        if let Err(e) = classifier.classify_faces(&frame.image, &faces, &mut probs) {
            tracing::warn!("skipped frame {}: {e}", frame.index);
            summary.skipped += 1;
            continue;
        }
        summary.frames += 1;
        summary.faces += faces.len() as u64;
        let hms = frame.time.hms();
        let second = frame.time.seconds().floor() as i64;
        let due = !is_video || args.every_frame || last_second != Some(second);
        last_second = Some(second);
        let written = if args.json {
            write_json(&mut out, &frame, &hms, &faces, classifier, &probs)
        } else if due {
            write_lines(&mut out, &frame, &hms, &faces, classifier, &probs)
        } else {
            Ok(())
        };
        if written.and_then(|()| out.flush()).is_err() {
            // stdout closed (e.g. piped into `head`): stop quietly.
            break;
        }
        if let Some(dir) = &args.annotate {
            annotate(&mut frame.image, &faces, classifier, &probs);
            let name = if frame.name.is_empty() {
                format!("frame_{:06}.png", frame.index)
            } else {
                format!(
                    "{}.png",
                    std::path::Path::new(&frame.name)
                        .file_stem()
                        .unwrap_or_default()
                        .to_string_lossy()
                )
            };
            let path = dir.join(name);
            frame
                .image
                .save(&path)
                .with_context(|| format!("{}: cannot write annotated image", path.display()))?;
        }
        source.recycle(frame.image);
        let _ = faces_back.try_send(faces);
    }
    Ok(summary)
}

fn write_lines(
    out: &mut impl Write,
    frame: &Frame,
    hms: &str,
    faces: &[Face],
    classifier: &EmotionClassifier,
    probs: &[f32],
) -> std::io::Result<()> {
    let suffix = if frame.name.is_empty() {
        String::new()
    } else {
        format!("  [{}]", frame.name)
    };
    if faces.is_empty() {
        return writeln!(out, "{hms} : no face{suffix}");
    }
    for i in 0..faces.len() {
        let c = classifier.view(probs, i);
        let (idx, p) = c.top();
        writeln!(out, "{}{suffix}", face_line(hms, &c.labels[idx], p))?;
    }
    Ok(())
}

fn write_json(
    out: &mut impl Write,
    frame: &Frame,
    hms: &str,
    faces: &[Face],
    classifier: &EmotionClassifier,
    probs: &[f32],
) -> std::io::Result<()> {
    let report = FrameReport {
        frame: frame.index,
        time: frame.time.seconds(),
        hms,
        source: &frame.name,
        width: frame.image.width(),
        height: frame.image.height(),
        faces: faces
            .iter()
            .enumerate()
            .map(|(i, f)| face_report(f, classifier.labels(), classifier.view(probs, i).probabilities))
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
        draw_label(
            img,
            f.bbox_in_frame.x as i64,
            y,
            &text,
            text_scale,
            Rgb([0, 0, 0]),
            BOX_COLOR,
        );
    }
}
