//! `stability`: how often labels change with and without the confirmation window,
//! how many ids are used, and how long the confirmed label takes after a cut.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use emoji_mirror::compose::{self, Overrides};
use emoji_mirror::engine::{DetectEvery, Engine, EngineOptions};
use emoji_mirror::report::display_label;
use emoji_mirror::report::stability::{Segment, StabilityMeter};

use super::{CommonArgs, SourceArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror stability --video video_01.mp4
  emoji-mirror stability --video 1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4 --labels labels.csv
  emoji-mirror stability --video clip.mp4 --window 30 --confirm-share 0.7 --detect-every 3
  emoji-mirror stability --video clip.mp4 --detect-every 1   # the detector on every frame

The detector runs as in `predict --track` and the app: --detect-every auto by default.

--labels reads a CSV with columns intended_emotion, sequence_first_frame and
sequence_last_frame (one row per expression of a sequence clip). The delay is
measured from each cut to the moment the confirmed label first equals the class the
model itself reports most often in that stretch.";

#[derive(Debug, Args)]
pub struct StabilityArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
    /// Segments of the clip (CSV: intended_emotion, sequence_first_frame, sequence_last_frame).
    #[arg(long, value_name = "CSV")]
    pub labels: Option<PathBuf>,
    /// Confirmation window length in frames (default 20).
    #[arg(long, value_name = "FRAMES")]
    pub window: Option<usize>,
    /// Share of the window that confirms a class (default 0.6).
    #[arg(long, value_name = "SHARE")]
    pub confirm_share: Option<f32>,
    #[command(flatten)]
    pub detect_every: super::detect_every::DetectEveryArgs,
}

pub fn run(args: &StabilityArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let spec = args.source.spec(false);
    let overrides =
        Overrides { window_frames: args.window, confirm_share: args.confirm_share, ..args.detector.overrides(common) };
    let settings = super::resolve(common, &overrides, spec.is_stream())?;
    let segments = match &args.labels {
        Some(p) => read_segments(p)?,
        None => Vec::new(),
    };
    let detect_every = args.detect_every.resolve(DetectEvery::auto());
    let options = EngineOptions { detect_every, ..EngineOptions::offline() };
    let engine = Engine::start(spec.clone(), compose::engine_models(&settings)?, options)?;
    let labels = engine.labels().clone();
    let mut meter = StabilityMeter::default();
    for frame in engine.frames().iter() {
        meter.observe(frame.index, frame.time.seconds(), &frame.tracks);
        engine.recycle(frame);
    }
    let summary = engine.finish();
    let s = meter.summary();
    let w = &settings.tracking.confirmation;
    println!(
        "{}: {} frames, {:.1} s; window {} frames, confirm > {:.0}%, release < {:.0}%",
        spec.describe(),
        summary.frames,
        s.minutes * 60.0,
        w.window_frames,
        w.confirm_share * 100.0,
        w.release_share * 100.0
    );
    println!(
        "detector: --detect-every {detect_every}, ran on {} of {} frames ({:.0}%)",
        summary.detections,
        summary.frames,
        100.0 * summary.detections as f64 / summary.frames.max(1) as f64
    );
    println!(
        "label changes per minute: {:.1} without the window, {:.1} with it",
        s.raw_changes_per_min, s.confirmed_changes_per_min
    );
    println!(
        "ids: {} distinct, at most {} at once (so at most {} id switches or re-entries)",
        s.distinct_ids,
        s.max_concurrent,
        s.distinct_ids.saturating_sub(s.max_concurrent)
    );
    let name = |c: Option<usize>| c.map_or_else(|| "-".to_string(), |c| display_label(&labels[c]));
    if !segments.is_empty() {
        println!("delay from each cut to the confirmed label (the model's majority class in that stretch):");
        for r in meter.segments(&segments, labels.len()) {
            let delay = r.delay_s.map_or_else(|| "never".to_string(), |d| format!("{:.0} ms", d * 1000.0));
            println!(
                "  {:<9} model says {:<9} confirmed at end {:<9} delay {delay}",
                r.name,
                name(r.majority_raw),
                name(r.confirmed_at_end)
            );
        }
    }
    Ok(())
}

fn read_segments(path: &Path) -> anyhow::Result<Vec<Segment>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').map(str::trim).collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).with_context(|| format!("{}: no column '{name}'", path.display()))
    };
    let (name_col, first_col, last_col) =
        (col("intended_emotion")?, col("sequence_first_frame")?, col("sequence_last_frame")?);
    let mut out = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Vec<&str> = line.split(',').collect();
        let field = |c: usize| v.get(c).map(|s| s.trim()).unwrap_or_default();
        let num = |c: usize| {
            field(c)
                .parse::<u64>()
                .with_context(|| format!("{}:{}: '{}' is not a frame number", path.display(), i + 2, field(c)))
        };
        out.push(Segment {
            name: field(name_col).to_string(),
            first_frame: num(first_col)?,
            last_frame: num(last_col)?,
        });
    }
    Ok(out)
}
