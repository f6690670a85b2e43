//! `enroll`: describe a person's face by LBPH histograms of eye-levelled crops and store them
//! (never a picture) under their name, after they agree.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use emoji_mirror::compose;
use emoji_mirror::engine::{Engine, EngineOptions};
use emoji_mirror::identity::{CROP_SIDE, HISTOGRAM_LEN, LbphExtractor, aligned_crop_into};
use emoji_mirror::source::SourceSpec;
use emoji_mirror::store::{self, Histogram, PersonName, ScoreStore};
use emoji_mirror::vision::crop::largest;

use super::{CommonArgs, SourceArgs};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror enroll --name Ada --camera 0            # asks for consent, then 20 crops
  emoji-mirror enroll --name Ada --video ada.mp4 --count 30 --yes
  emoji-mirror enroll --name Ada --image-dir ada/ --yes

Only LBPH histograms are stored (in the data folder's database), never a picture.
Enrolling a name again adds to it; `emoji-mirror people delete NAME` removes it.";

/// Crops stored unless told otherwise.
const DEFAULT_COUNT: usize = 20;
/// Shortest time between two crops from a camera, seconds, so they show some variety.
const CAMERA_INTERVAL_S: f64 = 0.2;
/// Most candidate crops kept from a file before choosing `--count` evenly spread ones
/// (64 KiB each).
const MAX_CANDIDATES: usize = 2000;

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The person's name (1 to 64 characters) as it will be shown.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub source: SourceArgs,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
    /// Face crops to store: a camera takes this many; a file's are spread over its length.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_COUNT, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=500))]
    pub count: usize,
    /// The person has agreed to be enrolled: do not ask (needed without a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// Asks the person at the terminal to agree; refuses when there is no terminal.
fn consent(name: &PersonName) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "{}: not enrolled: no terminal to ask for consent on; pass --yes once the person has agreed",
            name.as_str()
        );
    }
    eprint!(
        "Enrol {:?}: their face will be described by numbers (LBPH histograms, no picture) kept in the local \
         database until `emoji-mirror people delete` removes them. Does {0:?} agree? [y/N] ",
        name.as_str()
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// `count` indices spread evenly over `0..n`.
fn spread(n: usize, count: usize) -> Vec<usize> {
    if n <= count {
        return (0..n).collect();
    }
    (0..count).map(|i| (i * n + n / (2 * count)) / count).collect()
}

pub fn run(args: &EnrollArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let name = PersonName::new(&args.name)?;
    if !args.yes && !consent(&name)? {
        println!("nothing stored");
        return Ok(());
    }
    let dir = store::data_dir(common.data_dir.as_deref())
        .context("no data folder: pass --data-dir DIR, or set HOME or XDG_DATA_HOME")?;
    let spec = args.source.spec(false);
    let live = matches!(spec, SourceSpec::Camera(_));
    let settings = super::resolve(common, &args.detector.overrides(common), spec.is_stream())?;
    let engine = Engine::start(spec, compose::engine_models(&settings)?, EngineOptions::offline())?;
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut extractor = LbphExtractor::default();
    let mut crop = Vec::with_capacity(CROP_SIDE * CROP_SIDE);
    let mut candidates: Vec<Histogram> = Vec::new();
    let mut last_taken: Option<f64> = None;
    let mut frames = 0u64;
    for frame in engine.frames().iter() {
        frames += 1;
        let t = frame.time.seconds();
        let due = !live || last_taken.is_none_or(|l| t - l >= CAMERA_INTERVAL_S);
        if let Some(face) = largest(&frame.faces).filter(|_| due)
            && aligned_crop_into(&frame.image, face, &mut crop)
        {
            let mut h: Histogram = Box::new([0.0; HISTOGRAM_LEN]);
            extractor.histogram_into(&crop, CROP_SIDE, CROP_SIDE, h.as_mut_slice())?;
            candidates.push(h);
            last_taken = Some(t);
        }
        engine.recycle(frame);
        bar.set_message(format!("{frames} frames, {} face crops", candidates.len()));
        bar.tick();
        if (live && candidates.len() >= args.count) || candidates.len() >= MAX_CANDIDATES {
            break;
        }
    }
    bar.finish_and_clear();
    let summary = engine.finish();
    anyhow::ensure!(
        summary.frames > 0 || summary.skipped == 0,
        "no frame could be decoded or analysed ({} skipped)",
        summary.skipped
    );
    anyhow::ensure!(!candidates.is_empty(), "{}: not enrolled: no usable face in {frames} frames", name.as_str());
    let chosen: Vec<Histogram> =
        spread(candidates.len(), args.count).into_iter().map(|i| candidates[i].clone()).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let mut db = ScoreStore::open_in(&dir)?;
    let total = db.enroll_person(&name, now, &chosen)?;
    println!(
        "enrolled {:?}: {} face crop(s) stored as histograms ({total} in all) in {}",
        name.as_str(),
        chosen.len(),
        db.path().display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_picks_evenly_and_keeps_short_lists() {
        assert_eq!(spread(3, 20), [0, 1, 2]);
        // Every 25th, starting an eighth of a step in.
        assert_eq!(spread(100, 4), [3, 28, 53, 78]);
        let s = spread(61, 20);
        assert_eq!(s.len(), 20);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && *s.last().expect("20") < 61);
    }
}
