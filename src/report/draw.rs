//! Drawing on RGB images: boxes, dots and anti-aliased text in the embedded DejaVu Sans font.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};

use crate::vision::BBox;

/// DejaVu Sans 2.37 from Debian's fonts-dejavu-core (Bitstream Vera license; see
/// assets/fonts/README.md), built into the binary so no system font library is needed.
pub const FONT_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Line height in pixels (ascent to descent) per unit of text `scale`.
pub const TEXT_PX_PER_SCALE: f32 = 10.0;

/// The parsed embedded font.
pub fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(FONT_TTF).expect("the embedded DejaVuSans.ttf parses (a unit test checks it)")
    })
}

/// Line height in pixels of text drawn at `scale` (0 counts as 1).
pub fn text_height(scale: u32) -> u32 {
    (TEXT_PX_PER_SCALE * scale.max(1) as f32).ceil() as u32
}

fn px_scale(scale: u32) -> PxScale {
    PxScale::from(TEXT_PX_PER_SCALE * scale.max(1) as f32)
}

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

/// Width in pixels of `text` drawn at `scale` (advances and kerning, rounded up).
pub fn text_width(text: &str, scale: u32) -> u32 {
    text_width_px(text, TEXT_PX_PER_SCALE * scale.max(1) as f32)
}

/// Width in pixels of `text` in the embedded font with a line height of `line_px` pixels.
pub fn text_width_px(text: &str, line_px: f32) -> u32 {
    let font = font().as_scaled(PxScale::from(line_px));
    let mut width = 0.0;
    let mut prev = None;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        if let Some(p) = prev {
            width += font.kern(p, id);
        }
        width += font.h_advance(id);
        prev = Some(id);
    }
    width.ceil().max(0.0) as u32
}

/// Draws `text` with the top of its line box at (x, y), anti-aliased over the image and
/// clipped to it. Characters the font lacks show as its missing-glyph box.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, color: Rgb<u8>) {
    let font = font().as_scaled(px_scale(scale));
    let baseline = y as f32 + font.ascent();
    let mut caret = x as f32;
    let mut prev = None;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        if let Some(p) = prev {
            caret += font.kern(p, id);
        }
        let glyph = id.with_scale_and_position(font.scale(), point(caret, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (left, top) = (bounds.min.x as i64, bounds.min.y as i64);
            outline.draw(|gx, gy, coverage| {
                blend_pixel(img, left + i64::from(gx), top + i64::from(gy), color, coverage);
            });
        }
        caret += font.h_advance(id);
        prev = Some(id);
    }
}

/// Mixes `color` into one pixel with weight `coverage` (0..1); outside the image nothing happens.
fn blend_pixel(img: &mut RgbImage, x: i64, y: i64, color: Rgb<u8>, coverage: f32) {
    let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
        return;
    };
    if x >= img.width() || y >= img.height() {
        return;
    }
    let a = coverage.clamp(0.0, 1.0);
    let dst = img.get_pixel_mut(x, y);
    for (d, s) in dst.0.iter_mut().zip(color.0) {
        *d = (f32::from(*d) * (1.0 - a) + f32::from(s) * a).round() as u8;
    }
}

/// Text on a filled background strip, for labels over photos. The strip is
/// `text_height(scale) + 2 * scale` pixels high (12 px per scale unit).
pub fn draw_label(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, fg: Rgb<u8>, bg: Rgb<u8>) {
    let pad = i64::from(scale.max(1));
    let w = i64::from(text_width(text, scale)) + 2 * pad;
    let h = i64::from(text_height(scale)) + 2 * pad;
    fill_rect(img, x, y, w, h, bg);
    draw_text(img, x + pad, y + pad, text, scale, fg);
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
    const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

    /// Bounding box (x0, y0, x1, y1) of the pixels that are not `bg`.
    fn ink_bounds(img: &RgbImage, bg: Rgb<u8>) -> Option<(u32, u32, u32, u32)> {
        img.enumerate_pixels().filter(|(_, _, p)| **p != bg).fold(None, |acc, (x, y, _)| {
            Some(match acc {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            })
        })
    }

    #[test]
    fn the_embedded_font_parses_and_has_the_glyphs_we_print() {
        let f = FontRef::try_from_slice(FONT_TTF).expect("DejaVuSans.ttf");
        for ch in "Happy 93% Überraschung".chars() {
            assert_ne!(f.glyph_id(ch).0, 0, "no glyph for {ch:?}");
        }
    }

    #[test]
    fn box_outline_touches_edges_but_not_the_inside() {
        let mut img = RgbImage::new(20, 20);
        stroke_box(&mut img, &BBox::new(2.0, 2.0, 10.0, 10.0), 1, Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(2, 2), &Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(11, 11), &Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(6, 6), &Rgb([0, 0, 0]));
    }

    #[test]
    fn text_is_anti_aliased_and_stays_in_its_line_box() {
        let scale = 2;
        let text = "Happy 93%";
        let (w, h) = (text_width(text, scale), text_height(scale));
        let mut img = RgbImage::from_pixel(w + 20, h + 20, BLACK);
        draw_text(&mut img, 10, 10, text, scale, WHITE);
        assert!(img.pixels().any(|p| *p == WHITE), "some pixels fully covered");
        assert!(img.pixels().any(|p| *p != WHITE && *p != BLACK), "edges are blended");
        let (x0, y0, x1, y1) = ink_bounds(&img, BLACK).expect("ink");
        assert!(x0 >= 10 && y0 >= 10 && x1 < 10 + w + 1 && y1 < 10 + h + 1, "{:?} vs {w}x{h}", (x0, y0, x1, y1));
        // The ink fills most of the measured width: the measure matches the drawing.
        assert!((x1 - x0) as f32 > 0.8 * w as f32, "ink {}..{} of width {w}", x0, x1);
    }

    #[test]
    fn text_size_follows_scale_and_length() {
        assert!(text_width("Happy", 2) > text_width("Happy", 1));
        assert!(text_width("Happy 93%", 1) > text_width("Happy", 1));
        assert_eq!(text_width("", 3), 0);
        assert_eq!(text_height(0), text_height(1));
        assert_eq!(text_height(3), 3 * text_height(1));
    }

    #[test]
    fn text_is_clipped_without_panicking() {
        let mut img = RgbImage::new(16, 8);
        draw_text(&mut img, -5, -5, "Happy 93%", 3, Rgb([1, 2, 3]));
        draw_text(&mut img, 14, 6, "Überrascht", 4, Rgb([1, 2, 3]));
        draw_label(&mut img, -100, -100, "x", 1, WHITE, BLACK);
    }

    #[test]
    fn label_fills_its_strip_and_keeps_ink_inside() {
        let scale = 2;
        let mut img = RgbImage::from_pixel(200, 60, BLACK);
        let bg = Rgb([255, 200, 0]);
        draw_label(&mut img, 5, 5, "Sad 51%", scale, BLACK, bg);
        let strip_w = text_width("Sad 51%", scale) + 2 * scale;
        let strip_h = text_height(scale) + 2 * scale;
        assert_eq!(strip_h, 12 * scale, "predict places labels 12 px per scale unit above the box");
        assert_eq!(img.get_pixel(5, 5), &bg);
        assert_eq!(img.get_pixel(5 + strip_w - 1, 5 + strip_h - 1), &bg);
        assert_eq!(img.get_pixel(5 + strip_w, 5), &BLACK);
        let dark_inside = (5..5 + strip_h).flat_map(|y| (5..5 + strip_w).map(move |x| (x, y)));
        assert!(dark_inside.filter(|&(x, y)| img.get_pixel(x, y).0[0] < 128).count() > 20, "text drawn");
    }
}
