//! `eval-video`: per-frame agreement of the classifier with the reference label of real clips
//! (the CREMA-D crowd's vote, the RAVDESS actor's intended emotion).

use std::path::PathBuf;

use clap::Args;

use emoji_mirror::compose;
use emoji_mirror::engine::{Engine, EngineOptions};
use emoji_mirror::report::display_label;
use emoji_mirror::report::eval::FER_LABELS;
use emoji_mirror::report::video_eval::{ClipTally, largest, read_labelled_clips};
use emoji_mirror::source::SourceSpec;
use emoji_mirror::vision::Framing;
use emoji_mirror::vision::framing::Anchor;

use super::{CommonArgs, DetectorArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror eval-video --labels ../shared/data/crema-d/labels.csv
  emoji-mirror eval-video --labels ../shared/data/crema-d/labels.csv ../shared/data/ravdess/labels.csv
  emoji-mirror eval-video --labels crema-d/labels.csv --column intended_emotion
  emoji-mirror eval-video --labels crema-d/labels.csv --classifier models/emotion-mini-xception.toml
  emoji-mirror eval-video --labels crema-d/labels.csv --crop-anchor landmarks
  emoji-mirror eval-video --labels crema-d/labels.csv --crop-margin 0.2 --crop-shift-y -0.05

Every frame of every clip goes through the detector and the classifier as in `predict`
(no tracking, no smoothing); the largest face's most probable class is compared with the
clip's reference. A frame without a face counts as a disagreement.

The reference column is crowd_face_vote when the CSV has one (CREMA-D: the crowd's vote
on the video without sound, as letters N H S A F D), else `emotion` (a class name);
--column picks another (e.g. intended_emotion). Clips are found beside the CSV or in its
mp4/ folder. These clips are one actor each: report on them, do not tune on them.

The --crop-* options replace the classifier manifest's [crop] for a framing study; the
framing that matches the FER2013 pictures is measured on training faces by
`emoji-mirror screen --framing`.";

#[derive(Debug, Args)]
pub struct EvalVideoArgs {
    /// Labels CSV(s) of clip collections (columns clip or file, and the reference column).
    #[arg(long, value_name = "CSV", num_args = 1.., required = true)]
    pub labels: Vec<PathBuf>,
    /// Reference column (default: crowd_face_vote when present, else emotion).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Framing study: build the crop around the detector's box or the eye and mouth
    /// landmarks (each --crop-* option replaces one value of the manifest's [crop]).
    #[arg(long, value_name = "ANCHOR")]
    pub crop_anchor: Option<Anchor>,
    /// Box anchor: margin on every side of the squared box, a fraction of its side.
    #[arg(long, value_name = "FRACTION")]
    pub crop_margin: Option<f32>,
    /// Box anchor: move the square down by this fraction of its side.
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub crop_shift_y: Option<f32>,
    /// Landmark anchor: height of the eyes in the crop, a fraction of its side.
    #[arg(long, value_name = "FRACTION")]
    pub crop_eyes_y: Option<f32>,
    /// Landmark anchor: height of the mouth in the crop, a fraction of its side.
    #[arg(long, value_name = "FRACTION")]
    pub crop_mouth_y: Option<f32>,
}

impl EvalVideoArgs {
    /// `base` (the manifest's framing) with the --crop-* options applied; None when none is given.
    fn framing(&self, base: Framing) -> Option<Framing> {
        let any = self.crop_anchor.is_some()
            || self.crop_margin.is_some()
            || self.crop_shift_y.is_some()
            || self.crop_eyes_y.is_some()
            || self.crop_mouth_y.is_some();
        any.then(|| Framing {
            anchor: self.crop_anchor.unwrap_or(base.anchor),
            margin: self.crop_margin.unwrap_or(base.margin),
            shift_y: self.crop_shift_y.unwrap_or(base.shift_y),
            eyes_y: self.crop_eyes_y.unwrap_or(base.eyes_y),
            mouth_y: self.crop_mouth_y.unwrap_or(base.mouth_y),
        })
    }
}

pub fn run(args: &EvalVideoArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let settings = super::resolve(common, &DetectorArgs::default().overrides(common), false)?;
    // Every CSV is read before any clip runs, so a bad one fails at once.
    let mut lists = Vec::new();
    for csv in &args.labels {
        lists.push((csv, read_labelled_clips(csv, args.column.as_deref()).map_err(anyhow::Error::msg)?));
    }
    let mut models = compose::engine_models(&settings)?;
    models.classifier.framing = args.framing(models.classifier.load_manifest()?.framing);
    let framing = models.classifier.load_manifest()?.framing;
    println!("classifier {}; crop {}", settings.classifier_manifest.display(), framing);
    let (mut agree_all, mut frames_all, mut clips_all) = (0usize, 0usize, 0usize);
    for (csv, clips) in &lists {
        let (agree_csv, frames_csv) = run_clips(clips, &models, &settings)?;
        if lists.len() > 1 {
            println!(
                "  {}: {:.1}% ({agree_csv}/{frames_csv} frames, {} clips)",
                csv.display(),
                100.0 * agree_csv as f64 / frames_csv.max(1) as f64,
                clips.len()
            );
        }
        agree_all += agree_csv;
        frames_all += frames_csv;
        clips_all += clips.len();
    }
    anyhow::ensure!(frames_all > 0, "no frame could be decoded from the listed clips");
    println!(
        "Agreement with the reference: {:.1}% ({agree_all}/{frames_all} frames, {clips_all} clips)",
        100.0 * agree_all as f64 / frames_all as f64
    );
    Ok(())
}

/// Runs every clip of one labels file, printing a line each; (frames agreeing, frames).
fn run_clips(
    clips: &[emoji_mirror::report::video_eval::LabelledClip],
    models: &emoji_mirror::engine::EngineModels,
    settings: &emoji_mirror::config::Settings,
) -> anyhow::Result<(usize, usize)> {
    let (mut agree_all, mut frames_all) = (0usize, 0usize);
    for clip in clips {
        let engine = Engine::start(SourceSpec::Video(clip.video.clone()), models.clone(), EngineOptions::offline())?;
        let labels = engine.labels().clone();
        anyhow::ensure!(
            labels.len() == FER_LABELS.len() && labels.iter().zip(FER_LABELS).all(|(a, b)| a == b),
            "{}: the classifier's labels {:?} are not FER2013's seven classes",
            settings.classifier_manifest.display(),
            labels
        );
        let mut tally = ClipTally::default();
        for frame in engine.frames().iter() {
            let row = largest(frame.faces.iter().map(|f| (f.bbox_in_frame.w, f.bbox_in_frame.h)));
            let predicted = row.map(|r| {
                let p = frame.probabilities_of(r);
                (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0)
            });
            tally.observe(predicted);
            engine.recycle(frame);
        }
        engine.finish();
        let agree = tally.agreeing(clip.class);
        agree_all += agree;
        frames_all += tally.frames;
        let read_as: Vec<String> =
            tally.top(3).iter().map(|&(c, n)| format!("{} {n}", display_label(FER_LABELS[c]))).collect();
        println!(
            "{:<22} reference {:<9} ({:>3}) {:>3}/{:<3} frames agree ({:5.1}%); read as: {}{}",
            clip.name,
            display_label(FER_LABELS[clip.class]),
            clip.reference,
            agree,
            tally.frames,
            100.0 * agree as f64 / tally.frames.max(1) as f64,
            read_as.join(", "),
            if tally.no_face > 0 { format!("; no face {}", tally.no_face) } else { String::new() }
        );
    }
    Ok((agree_all, frames_all))
}
