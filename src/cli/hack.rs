//! `hack`: "fool the AI": change a face slightly, by model queries alone, until the classifier reads another emotion.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use image::GrayImage;
use indicatif::{ProgressBar, ProgressStyle};

use emoji_mirror::attack::{self, AttackSettings, DEFAULT_BUDGET_LEVELS, DEFAULT_MAX_QUERIES};
use emoji_mirror::compose;
use emoji_mirror::report::display_label;
use emoji_mirror::vision::crop::largest;

use super::CommonArgs;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror hack --image face.png                      # happy -> sad, pictures in hack/
  emoji-mirror hack --image face.png --from happy --to sad --out fooled/
  emoji-mirror hack --image face.png --to angry --budget 4 --max-queries 20000

The largest face is cropped as the classifier sees it (its square gray input, 48x48 for
our CNNs) and that crop is changed: no pixel by more than --budget gray levels of 255.
The attack only asks the model for probabilities (Square Attack, Andriushchenko et al.
2020; --method simba-dct for SimBA with low-frequency DCT patterns, Guo et al. 2019). Writes input.png (the crop), hacked.png (the changed crop),
difference.png (the change, amplified around mid-gray) and side-by-side.png (the three,
enlarged).";

/// ONNX Runtime threads for the one-face queries: a 48x48 CNN gains nothing from more.
const QUERY_THREADS: usize = 1;
/// Enlargement of the crops in side-by-side.png (nearest neighbour, so pixels stay visible).
const SIDE_BY_SIDE_SCALE: u32 = 6;
/// Gap between the pictures of side-by-side.png, in its pixels.
const SIDE_BY_SIDE_GAP_PX: u32 = 8;
/// The difference picture maps the full budget to this many gray levels either side of mid-gray.
const DIFFERENCE_HALF_RANGE: f32 = 127.0;

/// `--method`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    Square,
    SimbaDct,
}

impl From<MethodArg> for attack::Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Square => attack::Method::Square,
            MethodArg::SimbaDct => attack::Method::SimbaDct,
        }
    }
}

#[derive(Debug, Args)]
pub struct HackArgs {
    /// A picture with a face; the largest face found is changed.
    #[arg(long, value_name = "FILE")]
    pub image: PathBuf,
    /// The emotion the classifier reads now (the attack refuses a face read otherwise).
    #[arg(long, value_name = "EMOTION", default_value = "happy")]
    pub from: String,
    /// The emotion the classifier should read after the change.
    #[arg(long, value_name = "EMOTION", default_value = "sad")]
    pub to: String,
    /// Folder for input.png, hacked.png, difference.png and side-by-side.png (created if missing).
    #[arg(long, value_name = "DIR", default_value = "hack")]
    pub out: PathBuf,
    /// Largest change of any pixel, in gray levels of 255 (8 is 8/255).
    #[arg(long, value_name = "LEVELS", default_value_t = DEFAULT_BUDGET_LEVELS,
          value_parser = clap::value_parser!(u8).range(1..))]
    pub budget: u8,
    /// Give up after this many model queries.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_QUERIES)]
    pub max_queries: usize,
    /// Seed of the order in which the squares or patterns are tried.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// The search: square (Square Attack: on ten happy crops, all ten turn within 8/255 and
    /// 4/255 after a few hundred queries) or simba-dct (SimBA with low-frequency cosine
    /// patterns: all ten within 8/255 after about 1,600 queries, one of ten within 4/255).
    #[arg(long, value_enum, default_value_t = MethodArg::Square)]
    pub method: MethodArg,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
}

/// Every label with its probability, e.g. `happy 93.1%  sad 0.4%  ...`.
fn probabilities_line(labels: &[String], probs: &[f32]) -> String {
    labels.iter().zip(probs).map(|(l, p)| format!("{l} {:.1}%", p * 100.0)).collect::<Vec<_>>().join("  ")
}

/// The three crops side by side, each enlarged `scale` times, on white.
fn side_by_side(pictures: &[&GrayImage], scale: u32, gap_px: u32) -> GrayImage {
    const WHITE: u8 = 255;
    let (w, h) = pictures.first().map_or((0, 0), |p| p.dimensions());
    let n = pictures.len() as u32;
    let mut out = GrayImage::from_pixel(n * w * scale + (n + 1) * gap_px, h * scale + 2 * gap_px, image::Luma([WHITE]));
    for (i, p) in pictures.iter().enumerate() {
        let x0 = gap_px + i as u32 * (w * scale + gap_px);
        for (x, y, px) in p.enumerate_pixels() {
            for dy in 0..scale {
                for dx in 0..scale {
                    out.put_pixel(x0 + x * scale + dx, gap_px + y * scale + dy, *px);
                }
            }
        }
    }
    out
}

fn save(img: &GrayImage, path: &Path) -> anyhow::Result<()> {
    img.save_with_format(path, image::ImageFormat::Png).with_context(|| format!("{}: cannot write", path.display()))
}

pub fn run(args: &HackArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let mut settings = super::resolve(common, &args.detector.overrides(common), false)?;
    settings.classifier_threads.intra_threads = QUERY_THREADS;
    let env = super::ort_environment(&settings)?;
    let mut classifier = compose::open_classifier(env, &settings)?;
    let labels = classifier.labels().to_vec();
    let from = attack::label_index(&labels, &args.from)?;
    let to = attack::label_index(&labels, &args.to)?;
    let frame = emoji_mirror::source::images::load_rgb(&args.image)?;
    let mut detector = compose::open_face_detector(env, &settings)?;
    let mut faces = Vec::new();
    detector.detect(&frame, &mut faces)?;
    let face = largest(&faces).with_context(|| {
        format!("{}: no face found by {}; use a picture with a face in it", args.image.display(), detector.name())
    })?;
    let crop = attack::model_input_crop(&classifier, &frame, face)?;
    let b = face.bbox_in_frame;
    println!(
        "Face {:.0}x{:.0} at ({:.0}, {:.0}) of {}; changing its {}x{} gray classifier input ({})",
        b.w,
        b.h,
        b.x,
        b.y,
        args.image.display(),
        crop.width(),
        crop.height(),
        classifier.manifest().name
    );

    let attack_settings = AttackSettings {
        budget_levels: args.budget,
        step_levels: f32::from(args.budget),
        max_queries: args.max_queries,
        seed: args.seed,
        method: args.method.into(),
    };
    let bar = ProgressBar::new(args.max_queries as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} queries ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let target = display_label(&labels[to]);
    let outcome = attack::attack(&mut classifier, &labels, &crop, (from, to), attack_settings, |p| {
        bar.set_position(p.queries as u64);
        bar.set_message(format!("{target} {:.1}%", p.target_probability * 100.0));
        ControlFlow::Continue(())
    });
    bar.finish_and_clear();
    let outcome = outcome?;

    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    let gain = DIFFERENCE_HALF_RANGE / f32::from(args.budget);
    let difference = outcome.difference_picture(gain);
    save(&outcome.original, &args.out.join("input.png"))?;
    save(&outcome.hacked, &args.out.join("hacked.png"))?;
    save(&difference, &args.out.join("difference.png"))?;
    let pictures = [&outcome.original, &outcome.hacked, &difference];
    save(&side_by_side(&pictures, SIDE_BY_SIDE_SCALE, SIDE_BY_SIDE_GAP_PX), &args.out.join("side-by-side.png"))?;

    let top = |probs: &[f32]| display_label(&labels[emoji_mirror::vision::classifier::top_two(probs).0.0]);
    println!("Before: {}  (read as {})", probabilities_line(&labels, &outcome.before), top(&outcome.before));
    println!("After:  {}  (read as {})", probabilities_line(&labels, &outcome.after), top(&outcome.after));
    println!(
        "Model queries: {}; largest pixel change: {} of 255 (budget {})",
        outcome.queries,
        outcome.max_change_levels(),
        args.budget
    );
    println!(
        "Wrote input.png, hacked.png, difference.png (change x{gain:.1} around mid-gray) and side-by-side.png to {}",
        args.out.display()
    );
    anyhow::ensure!(
        outcome.reached,
        "not read as {} within {} queries and a budget of {} gray levels ({} {:.1}%); try a larger --max-queries or --budget",
        labels[to],
        outcome.queries,
        args.budget,
        labels[to],
        outcome.after[to] * 100.0
    );
    println!("Fooled: the classifier now reads {target}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_enlarges_each_picture_in_its_place() {
        let a = GrayImage::from_pixel(2, 2, image::Luma([0]));
        let b = GrayImage::from_pixel(2, 2, image::Luma([100]));
        let out = side_by_side(&[&a, &b], 3, 1);
        assert_eq!(out.dimensions(), (2 * 6 + 3, 6 + 2));
        assert_eq!(out.get_pixel(0, 0).0[0], 255, "the gap is white");
        assert_eq!(out.get_pixel(1, 1).0[0], 0);
        assert_eq!(out.get_pixel(6, 6).0[0], 0);
        assert_eq!(out.get_pixel(8, 1).0[0], 100);
        assert_eq!(out.get_pixel(13, 6).0[0], 100);
    }

    #[test]
    fn probabilities_are_listed_with_their_labels() {
        let labels = vec!["happy".to_string(), "sad".to_string()];
        assert_eq!(probabilities_line(&labels, &[0.931, 0.069]), "happy 93.1%  sad 6.9%");
    }
}
