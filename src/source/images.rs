//! Still images: one file, or a folder read in sorted order (optionally forever).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{Delivery, Frame, FrameTime, Producer, SourceError, SourceEvent, SourceHandle, display_name};

/// The largest 8-bit sample value, as a 16-bit sample.
const U8_MAX_AS_U16: u16 = u8::MAX as u16;

/// File extensions read from an image folder (lower case).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "bmp", "webp"];

/// The image files of `dir`, sorted by name; an error if there are none.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SourceError::Open {
        path: dir.to_path_buf(),
        reason: super::io_reason(&e, "folder not found", "cannot read folder"),
    })?;
    let mut files: Vec<PathBuf> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file() && has_image_extension(p)).collect();
    files.sort();
    if files.is_empty() {
        return Err(SourceError::EmptyFolder { path: dir.to_path_buf(), extensions: IMAGE_EXTENSIONS.join(", ") });
    }
    Ok(files)
}

fn has_image_extension(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Decodes one image file to RGB; the error says which file and why.
pub fn load_rgb(path: &Path) -> Result<image::RgbImage, SourceError> {
    let reader = image::ImageReader::open(path).map_err(|e| SourceError::Open {
        path: path.to_path_buf(),
        reason: super::io_reason(&e, "file not found", ""),
    })?;
    let reader = reader
        .with_guessed_format()
        .map_err(|e| SourceError::Decode { path: path.to_path_buf(), reason: e.to_string() })?;
    let img = reader
        .decode()
        .map_err(|e| SourceError::Decode { path: path.to_path_buf(), reason: format!("not a readable image ({e})") })?;
    Ok(rgb8_from_decoded(img))
}

/// A decoded picture as 8-bit RGB (alpha dropped).
///
/// 16-bit samples map to 8 bits over the full range (65535 -> 255), except when no
/// colour sample exceeds 255: then the file holds 8-bit values in 16-bit samples (what
/// Pillow writes for a mode "I" or "I;16" picture made from an 8-bit one, or numpy's
/// `astype(uint16)`), which the full-range rule would turn into a black picture (every
/// value 0 or 1) where no face can be found. Such samples are kept as 8-bit values.
pub fn rgb8_from_decoded(img: image::DynamicImage) -> image::RgbImage {
    use image::DynamicImage as D;
    let low = |v: &u16| *v <= U8_MAX_AS_U16;
    let eight_bit_values = match &img {
        D::ImageLuma16(i) => i.as_raw().iter().all(low),
        D::ImageLumaA16(i) => i.pixels().all(|p| low(&p.0[0])),
        D::ImageRgb16(i) => i.as_raw().iter().all(low),
        D::ImageRgba16(i) => i.pixels().all(|p| p.0[..3].iter().all(low)),
        _ => false,
    };
    if !eight_bit_values {
        return img.into_rgb8();
    }
    let rgb16 = img.into_rgb16();
    image::RgbImage::from_fn(rgb16.width(), rgb16.height(), |x, y| {
        image::Rgb(rgb16.get_pixel(x, y).0.map(|v| u8::try_from(v).unwrap_or(u8::MAX)))
    })
}

/// Starts a thread that decodes `files` in order; a single file must decode or it is an error.
pub fn spawn(files: Vec<PathBuf>, looped: bool) -> Result<SourceHandle, SourceError> {
    if let [single] = files.as_slice() {
        // Fail fast for a single image: the caller gets the error, not a warning.
        if !looped {
            let image = load_rgb(single)?;
            let name = display_name(single);
            return SourceHandle::start("image", Delivery::EveryFrame, move |p: Producer| {
                let frame = Frame { index: 0, time: FrameTime::Wall(SystemTime::now()), name, image };
                p.send(SourceEvent::Frame(frame));
            });
        }
    }
    SourceHandle::start("images", Delivery::EveryFrame, move |p: Producer| {
        let mut index = 0u64;
        let mut decoded_any = false;
        loop {
            for path in &files {
                if p.stopped() {
                    return;
                }
                let event = match load_rgb(path) {
                    Ok(image) => {
                        decoded_any = true;
                        let time = FrameTime::Wall(SystemTime::now());
                        SourceEvent::Frame(Frame { index, time, name: display_name(path), image })
                    }
                    Err(e) => SourceEvent::Skipped { what: path.display().to_string(), reason: e.to_string() },
                };
                index += 1;
                if !p.send(event) {
                    return;
                }
            }
            // Looping over a folder where nothing decodes would spin forever.
            if !looped || !decoded_any {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, ImageBuffer, Luma, LumaA, Rgb, Rgba};

    /// 8-bit level `v` over the full 16-bit range.
    const FULL_RANGE: u16 = 257;

    #[test]
    fn full_range_sixteen_bit_maps_onto_eight_bits() {
        let gray = ImageBuffer::from_fn(256, 1, |x, _| Luma([x as u16 * FULL_RANGE]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageLuma16(gray));
        assert!(rgb.enumerate_pixels().all(|(x, _, p)| p.0 == [x as u8; 3]));
        let colour = ImageBuffer::from_fn(256, 1, |x, _| Rgba([x as u16 * FULL_RANGE, 65535, 0, 0]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageRgba16(colour));
        assert!(rgb.enumerate_pixels().all(|(x, _, p)| p.0 == [x as u8, 255, 0]));
    }

    #[test]
    fn eight_bit_values_in_sixteen_bit_samples_keep_their_levels() {
        let gray = ImageBuffer::from_fn(256, 1, |x, _| Luma([x as u16]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageLuma16(gray));
        assert!(rgb.enumerate_pixels().all(|(x, _, p)| p.0 == [x as u8; 3]));
        // Alpha does not count: a fully opaque low picture is still 8-bit values.
        let gray_alpha = ImageBuffer::from_fn(4, 1, |x, _| LumaA([x as u16 * 50, 65535]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageLumaA16(gray_alpha));
        assert_eq!(rgb.get_pixel(3, 0).0, [150; 3]);
        let colour = ImageBuffer::from_fn(2, 1, |x, _| Rgb([x as u16 * 200, 7, 255]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageRgb16(colour));
        assert_eq!(rgb.get_pixel(1, 0).0, [200, 7, 255]);
    }

    #[test]
    fn one_sample_above_255_means_full_range() {
        let gray = ImageBuffer::from_fn(2, 1, |x, _| Luma([if x == 0 { 200 } else { 256 }]));
        let rgb = rgb8_from_decoded(DynamicImage::ImageLuma16(gray));
        assert_eq!((rgb.get_pixel(0, 0).0, rgb.get_pixel(1, 0).0), ([1; 3], [1; 3]));
    }

    #[test]
    fn empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
        let err = list_images(dir.path()).expect_err("empty").to_string();
        assert!(err.contains("no images found"), "{err}");
    }

    #[test]
    fn folder_is_sorted_and_filtered_by_extension() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in ["b.PNG", "a.jpg", "c.txt"] {
            std::fs::write(dir.path().join(n), "x").expect("write");
        }
        let names: Vec<String> = list_images(dir.path()).expect("two").iter().map(|p| display_name(p)).collect();
        assert_eq!(names, vec!["a.jpg", "b.PNG"]);
    }

    #[test]
    fn corrupt_image_in_a_folder_is_skipped_and_the_rest_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.jpg"), b"not a jpeg").expect("write");
        image::RgbImage::new(8, 6).save(dir.path().join("b.png")).expect("png");
        let handle = spawn(list_images(dir.path()).expect("files"), false).expect("spawn");
        let events: Vec<SourceEvent> = handle.events().iter().collect();
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[0], SourceEvent::Skipped { what, .. } if what.ends_with("a.jpg")));
        assert!(matches!(&events[1], SourceEvent::Frame(f) if f.image.dimensions() == (8, 6) && f.index == 1));
    }

    #[test]
    fn single_corrupt_image_fails_at_open_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("broken.png");
        std::fs::write(&path, b"\x89PNG garbage").expect("write");
        let err = spawn(vec![path], false).err().expect("must fail").to_string();
        assert!(err.contains("broken.png"), "{err}");
    }
}
