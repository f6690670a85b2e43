//! Drawing on RGB images: boxes, dots and text (8x8 public-domain bitmap font).

use font8x8::legacy::BASIC_LEGACY;
use image::{Rgb, RgbImage};

use crate::vision::BBox;

/// Glyph cell size in font pixels.
pub const GLYPH: u32 = 8;

/// Fills a rectangle, clipped to the image.
pub fn fill_rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, color: Rgb<u8>) {
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    for yy in y.max(0)..(y + h).min(ih) {
        for xx in x.max(0)..(x + w).min(iw) {
            img.put_pixel(xx as u32, yy as u32, color);
        }
    }
}

/// Draws a box outline `thickness` pixels wide, clipped to the image.
pub fn stroke_box(img: &mut RgbImage, b: &BBox, thickness: i64, color: Rgb<u8>) {
    let (x0, y0) = (b.x.round() as i64, b.y.round() as i64);
    let (w, h) = (b.w.round() as i64, b.h.round() as i64);
    fill_rect(img, x0, y0, w, thickness, color);
    fill_rect(img, x0, y0 + h - thickness, w, thickness, color);
    fill_rect(img, x0, y0, thickness, h, color);
    fill_rect(img, x0 + w - thickness, y0, thickness, h, color);
}

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * GLYPH * scale
}

/// Draws ASCII `text` with its top-left at (x, y); other characters show as '?'.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    let s = i64::from(scale.max(1));
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() { ch as usize } else { '?' as usize };
        let glyph = BASIC_LEGACY[code];
        let gx = x + i as i64 * GLYPH as i64 * s;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    fill_rect(img, gx + col * s, y + row as i64 * s, s, s, color);
                }
            }
        }
    }
}

/// Text on a filled background strip, for labels over photos.
pub fn draw_label(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, fg: Rgb<u8>, bg: Rgb<u8>) {
    let pad = i64::from(scale);
    let w = i64::from(text_width(text, scale)) + 2 * pad;
    let h = i64::from(GLYPH * scale) + 2 * pad;
    fill_rect(img, x, y, w, h, bg);
    draw_text(img, x + pad, y + pad, text, scale, fg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_outline_touches_edges_but_not_the_inside() {
        let mut img = RgbImage::new(20, 20);
        stroke_box(&mut img, &BBox::new(2.0, 2.0, 10.0, 10.0), 1, Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(2, 2), &Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(11, 11), &Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(6, 6), &Rgb([0, 0, 0]));
    }

    #[test]
    fn text_is_drawn_and_clipped_without_panicking() {
        let mut img = RgbImage::new(16, 8);
        draw_text(&mut img, 0, 0, "H", 1, Rgb([255, 255, 255]));
        assert!(img.pixels().any(|p| p.0 == [255, 255, 255]));
        draw_text(&mut img, -5, -5, "Happy 93%", 3, Rgb([1, 2, 3]));
    }
}
