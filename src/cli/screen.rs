//! `screen`: which faces of a FER2013-layout CSV our face detector finds (a keep-list for training).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use image::{GrayImage, Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};

use emoji_mirror::config::Settings;
use emoji_mirror::vision::framing::{FramingSample, matching_framings};
use emoji_mirror::vision::{BBox, Face};

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror screen --csv fer2013_train.csv.gz --out keep.txt
  emoji-mirror screen --csv fer2013.csv --usage Training --out keep.txt --detector haar-default
  python3 training/train.py --keep-list keep.txt
  emoji-mirror screen --csv fer2013_train.csv.gz --limit 5000 --framing --det-size 384

Each 48x48 face is placed in the middle of a larger canvas filled with its mean grey
(--pad pixels on every side, so a face that fills the picture is not cut at the
border) and given to the face detector. A row is kept when a face is found whose
centre lies on the original picture. The keep-list holds row numbers only (0-based,
counting the rows that match --usage), one per line; no pixels are written.

--framing measures, on the faces found, where the detector puts the box, the eyes and
the mouth inside the picture, as fractions of its side (median and quartiles), and
prints the classifier manifest [crop] sections that cut the same picture out of a
camera frame: one around the box (margin, shift_y), one around the landmarks (eyes_y,
mouth_y). Measure it on Training rows, not on the test files.";

#[derive(Debug, Args)]
pub struct ScreenArgs {
    /// FER2013-layout CSV or CSV.gz with columns emotion,pixels,Usage.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Only rows whose Usage column equals this (empty string: all rows).
    #[arg(long, value_name = "USAGE", default_value = "Training")]
    pub usage: String,
    /// Where to write the keep-list.
    #[arg(long, value_name = "FILE", required_unless_present = "framing")]
    pub out: Option<PathBuf>,
    /// Also measure where the detector puts the face inside these pictures (box, eyes,
    /// mouth) and print the [crop] settings that frame a detected face the same way.
    #[arg(long)]
    pub framing: bool,
    #[command(flatten)]
    pub detector: super::DetectorArgs,
    /// Canvas border around each face, pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub pad: u32,
    /// Screen only the first N matching rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Puts `face` in the middle of `canvas` (resized to the face plus `pad` on every side),
/// the border filled with the face's mean grey. Reuses `canvas`'s buffer.
pub fn place_on_canvas(face: &GrayImage, pad: u32, canvas: &mut RgbImage) {
    let (w, h) = face.dimensions();
    let (cw, ch) = (w + 2 * pad, h + 2 * pad);
    if canvas.dimensions() != (cw, ch) {
        *canvas = RgbImage::new(cw, ch);
    }
    let n = u64::from(w) * u64::from(h);
    let mean = face.pixels().map(|p| u64::from(p.0[0])).sum::<u64>().checked_div(n).map_or(128, |m| m as u8);
    for p in canvas.pixels_mut() {
        *p = Rgb([mean; 3]);
    }
    for (x, y, p) in face.enumerate_pixels() {
        canvas.put_pixel(x + pad, y + pad, Rgb([p.0[0]; 3]));
    }
}

/// The largest of `faces` centred on the picture that sits at `pad`..`pad + side` of the
/// canvas, if any.
pub fn face_on_picture(faces: &[Face], pad: u32, side: (u32, u32)) -> Option<&Face> {
    let (x0, y0) = (pad as f32, pad as f32);
    let (x1, y1) = (x0 + side.0 as f32, y0 + side.1 as f32);
    faces
        .iter()
        .filter(|f| {
            let (cx, cy) = f.bbox_in_frame.center();
            (x0..x1).contains(&cx) && (y0..y1).contains(&cy)
        })
        .max_by(|a, b| a.bbox_in_frame.area().total_cmp(&b.bbox_in_frame.area()))
}

/// One measured quantity of a [`FramingSample`].
type Measure = fn(&FramingSample) -> f32;

/// Median and quartiles of one measured quantity.
fn quartiles(samples: &[FramingSample], value: Measure) -> [f32; 3] {
    let mut v: Vec<f32> = samples.iter().map(value).collect();
    v.sort_by(f32::total_cmp);
    let at = |q: usize| v.get(((v.len() - 1) * q) / 4).copied().unwrap_or(f32::NAN);
    [at(1), at(2), at(3)]
}

/// The framing report: quartiles of every measure and the matching [crop] sections.
fn print_framing(samples: &[FramingSample]) {
    let Some((boxed, landmarks)) = matching_framings(samples) else {
        println!("framing: no face found, nothing to measure");
        return;
    };
    println!(
        "framing of {} pictures as the detector sees them (fractions of the side; lower quartile, median, upper quartile):",
        samples.len()
    );
    let rows: [(&str, Measure); 5] = [
        ("box centre x", |s| s.box_cx),
        ("box centre y", |s| s.box_cy),
        ("box side", |s| s.box_side),
        ("eyes y", |s| s.eyes_y),
        ("eyes to mouth", |s| s.eye_mouth),
    ];
    for (name, value) in rows {
        let [lo, mid, hi] = quartiles(samples, value);
        println!("  {name:<14} {lo:.3}  {mid:.3}  {hi:.3}");
    }
    println!(
        "[crop] around the detector's box:\n  anchor = \"box\"\n  margin = {:.3}\n  shift_y = {:.3}",
        boxed.margin, boxed.shift_y
    );
    println!(
        "[crop] around the landmarks:\n  anchor = \"landmarks\"\n  eyes_y = {:.3}\n  mouth_y = {:.3}",
        landmarks.eyes_y, landmarks.mouth_y
    );
}

pub fn run(args: &ScreenArgs, mut settings: Settings) -> anyhow::Result<()> {
    let env = super::ort_environment(&settings)?;
    // An empty --usage means every row.
    let usage = Some(args.usage.as_str()).filter(|u| !u.is_empty());
    let samples = super::eval::read_samples_with_spinner(&args.csv, usage, args.limit)?;
    // The canvas is small: run the detector at its size instead of scaling it up, unless
    // --det-size asks for more (finer boxes and landmarks for --framing, slower).
    let side = samples[0].face.width().max(samples[0].face.height()) + 2 * args.pad;
    settings.detector.input_max_side = args.detector.det_size.unwrap_or(side as usize);
    let mut detector = emoji_mirror::compose::open_face_detector(env, &settings)?;

    let bar = ProgressBar::new(samples.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} faces ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("screening with {}", detector.name()));
    let mut keep = Vec::with_capacity(samples.len());
    let mut canvas = RgbImage::new(1, 1);
    let mut faces = Vec::new();
    let mut samples_framing = Vec::new();
    for (row, sample) in samples.iter().enumerate() {
        place_on_canvas(&sample.face, args.pad, &mut canvas);
        detector.detect(&canvas, &mut faces)?;
        if let Some(face) = face_on_picture(&faces, args.pad, sample.face.dimensions()) {
            keep.push(row);
            if args.framing {
                let (w, h) = sample.face.dimensions();
                let picture = BBox::new(args.pad as f32, args.pad as f32, w as f32, h as f32);
                samples_framing.push(FramingSample::measure(face, &picture));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let write = |path: &std::path::Path| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "# emoji-mirror screen: rows of {} (Usage = {})", args.csv.display(), args.usage)?;
        writeln!(out, "# where {} finds a face: {} of {}", detector.name(), keep.len(), samples.len())?;
        for row in &keep {
            writeln!(out, "{row}")?;
        }
        out.flush()
    };
    if let Some(path) = &args.out {
        write(path).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    println!(
        "{} finds a face in {} of {} rows ({:.1}%); {} dropped.{}",
        detector.name(),
        keep.len(),
        samples.len(),
        100.0 * keep.len() as f64 / samples.len() as f64,
        samples.len() - keep.len(),
        args.out.as_ref().map(|p| format!(" Wrote {}", p.display())).unwrap_or_default()
    );
    if args.framing {
        print_framing(&samples_framing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face_at(x: f32, y: f32, w: f32, h: f32) -> Face {
        Face { bbox_in_frame: BBox { x, y, w, h }, landmarks_in_frame: [[0.0; 2]; 5], score: 0.9 }
    }

    #[test]
    fn canvas_centres_the_face_on_its_mean_grey() {
        let face = GrayImage::from_fn(4, 2, |x, _| image::Luma([if x < 2 { 0 } else { 200 }]));
        let mut canvas = RgbImage::new(1, 1);
        place_on_canvas(&face, 3, &mut canvas);
        assert_eq!(canvas.dimensions(), (10, 8));
        assert_eq!(canvas.get_pixel(0, 0).0, [100; 3]);
        assert_eq!(canvas.get_pixel(3, 3).0, [0; 3]);
        assert_eq!(canvas.get_pixel(6, 4).0, [200; 3]);
        assert_eq!(canvas.get_pixel(7, 4).0, [100; 3]);
    }

    #[test]
    fn only_faces_centred_on_the_picture_count() {
        let on = face_at(20.0, 20.0, 40.0, 40.0);
        let off = face_at(0.0, 0.0, 20.0, 20.0);
        assert_eq!(face_on_picture(&[off, on], 24, (48, 48)), Some(&on));
        assert!(face_on_picture(&[off], 24, (48, 48)).is_none());
        assert!(face_on_picture(&[], 24, (48, 48)).is_none());
    }
}
