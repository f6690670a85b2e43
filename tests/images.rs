//! 16-bit pictures: decoded like their 8-bit versions, and `predict` finds the same faces in them.
//!
//! Two kinds of 16-bit file: full range (8-bit level v stored as v * 257, as the `image`
//! crate, ffmpeg or a scaled numpy array write it) and 8-bit values in 16-bit samples (v
//! stored as v, as Pillow's mode "I;16" or numpy's `astype(uint16)` write it).

mod common;

use std::path::{Path, PathBuf};

use image::{ImageBuffer, Luma, Rgb, RgbImage};

use emoji_mirror::source::images::load_rgb;

/// A dlib photo with three annotated faces (dlib-faces/boxes.csv).
const PHOTO: &str = "dlib-faces/2008_001322.jpg";
/// Faces `predict` finds on it (all three annotated ones).
const PHOTO_FACES: usize = 3;
/// An 8-bit level `v` over the full 16-bit range: v * 257 maps 0..255 onto 0..65535.
const FULL_RANGE: u16 = 257;
/// Decoded 16-bit pictures may differ from the 8-bit ones by rounding only.
const MAX_LEVEL_DIFF: u8 = 1;

/// The photo written as PNGs in `dir`.
struct Versions {
    rgb8: PathBuf,
    gray8: PathBuf,
    /// 16-bit, full range.
    gray16: PathBuf,
    rgb16: PathBuf,
    /// 16-bit samples holding the 8-bit values.
    gray16_low: PathBuf,
    rgb16_low: PathBuf,
}

fn write_versions(dir: &Path) -> Versions {
    let rgb8 = load_rgb(&common::data(PHOTO)).expect("photo");
    let gray8 = image::DynamicImage::ImageRgb8(rgb8.clone()).into_luma8();
    let gray16 = |k: u16| -> ImageBuffer<Luma<u16>, Vec<u16>> {
        ImageBuffer::from_fn(gray8.width(), gray8.height(), |x, y| Luma([u16::from(gray8.get_pixel(x, y).0[0]) * k]))
    };
    let rgb16 = |k: u16| -> ImageBuffer<Rgb<u16>, Vec<u16>> {
        ImageBuffer::from_fn(rgb8.width(), rgb8.height(), |x, y| Rgb(rgb8.get_pixel(x, y).0.map(|v| u16::from(v) * k)))
    };
    let v = Versions {
        rgb8: dir.join("rgb8.png"),
        gray8: dir.join("gray8.png"),
        gray16: dir.join("gray16.png"),
        rgb16: dir.join("rgb16.png"),
        gray16_low: dir.join("gray16_low.png"),
        rgb16_low: dir.join("rgb16_low.png"),
    };
    rgb8.save(&v.rgb8).expect("rgb8");
    gray8.save(&v.gray8).expect("gray8");
    gray16(FULL_RANGE).save(&v.gray16).expect("gray16");
    rgb16(FULL_RANGE).save(&v.rgb16).expect("rgb16");
    gray16(1).save(&v.gray16_low).expect("gray16 low");
    rgb16(1).save(&v.rgb16_low).expect("rgb16 low");
    v
}

fn decoded(p: &Path) -> RgbImage {
    load_rgb(p).unwrap_or_else(|e| panic!("{e}"))
}

fn max_level_diff(a: &RgbImage, b: &RgbImage) -> u8 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

#[test]
fn sixteen_bit_pictures_decode_like_their_eight_bit_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = write_versions(dir.path());
    let (rgb8, gray8) = (decoded(&v.rgb8), decoded(&v.gray8));
    for (eight, sixteen) in [(&gray8, &v.gray16), (&rgb8, &v.rgb16), (&gray8, &v.gray16_low), (&rgb8, &v.rgb16_low)] {
        let d = max_level_diff(eight, &decoded(sixteen));
        assert!(d <= MAX_LEVEL_DIFF, "{} differs from its 8-bit version by up to {d} levels", sixteen.display());
    }
}

/// Faces `predict --json` reports for one picture.
fn faces_found(picture: &Path) -> usize {
    let o = common::run(&["predict", "--image", picture.to_str().expect("utf8"), "--json"]);
    assert!(o.status.success(), "{}: {}", picture.display(), common::stderr(&o));
    let out = common::stdout(&o);
    let line = out.lines().next().unwrap_or_else(|| panic!("{}: no JSON line", picture.display()));
    let frame: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    frame["faces"].as_array().expect("faces").len()
}

#[test]
fn predict_finds_the_same_faces_in_sixteen_bit_pictures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = write_versions(dir.path());
    assert_eq!(faces_found(&v.gray8), PHOTO_FACES, "8-bit gray");
    for p in [&v.gray16, &v.rgb16, &v.gray16_low, &v.rgb16_low] {
        assert_eq!(faces_found(p), PHOTO_FACES, "{}", p.display());
    }
}
