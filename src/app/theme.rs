//! Touch-sized widgets (egui): big buttons and readable text panels placed at rects that
//! scale with the window, each button registered in [`OnScreen`] by name so that the
//! screenshot report can check it and scripted taps can aim at it.
//!
//! Sizes are given in pixels at 1080p (the short side of the window) and scale with it,
//! but a touch target never gets smaller than [`MIN_TOUCH_PX`].

use bevy_egui::egui;

use super::screens::OnScreen;

/// The smallest touch target, in logical pixels (about 9 mm on a 24" 1080p screen).
pub const MIN_TOUCH_PX: f32 = 48.0;
/// The short side of the window the base sizes are given for (pixels).
pub const BASE_SHORT_SIDE_PX: f32 = 1080.0;
/// Margin between widgets and from the window's edge, at 1080p (pixels).
pub const MARGIN_PX: f32 = 32.0;
/// Height of a big button (attract, results) at 1080p (pixels).
pub const BIG_BUTTON_PX: f32 = 120.0;
/// Height of a small button (the mirror's corner buttons, the touch keyboard) at 1080p.
pub const SMALL_BUTTON_PX: f32 = 72.0;
/// Button text as a share of the button's height.
const BUTTON_TEXT_SHARE: f32 = 0.4;
/// Rounded corners as a share of the button's height.
const CORNER_SHARE: f32 = 0.2;
/// The main action's colour (play), and the secondary one.
pub const PRIMARY: egui::Color32 = egui::Color32::from_rgb(230, 120, 20);
pub const SECONDARY: egui::Color32 = egui::Color32::from_rgb(40, 90, 170);
/// A quiet button (the mirror's corner buttons): dark and translucent.
pub const QUIET: egui::Color32 = egui::Color32::from_rgba_premultiplied(20, 20, 20, 190);
/// A text panel's padding (and corner radius): a share of its rect's shorter side, at most
/// [`PANEL_PAD_MAX_PX`] pixels.
const PANEL_PAD_SHARE: f32 = 0.1;
const PANEL_PAD_MAX_PX: f32 = 24.0;
/// Background of text panels: dark and translucent, so white text reads on any video.
pub const PANEL: egui::Color32 = egui::Color32::from_rgba_premultiplied(0, 0, 0, 190);

/// How much the base sizes are scaled for a window of `window` pixels.
pub fn ui_scale(window: egui::Vec2) -> f32 {
    window.x.min(window.y).max(1.0) / BASE_SHORT_SIDE_PX
}

/// A length given at 1080p, scaled for the window.
pub fn scaled(window: egui::Vec2, px_at_1080: f32) -> f32 {
    px_at_1080 * ui_scale(window)
}

/// A touch target's side given at 1080p, scaled for the window, never below [`MIN_TOUCH_PX`].
pub fn touch(window: egui::Vec2, px_at_1080: f32) -> f32 {
    scaled(window, px_at_1080).max(MIN_TOUCH_PX)
}

/// `[x0, y0, x1, y1]` of an egui rect (points are logical window pixels here).
pub fn rect_px(r: egui::Rect) -> [f32; 4] {
    [r.min.x, r.min.y, r.max.x, r.max.y]
}

/// A big button at `rect` (window pixels) on its own layer; registered as `name`.
/// Returns whether it was clicked or tapped.
pub fn button_at(
    ctx: &egui::Context,
    on_screen: &mut OnScreen,
    name: &str,
    label: &str,
    rect: egui::Rect,
    fill: egui::Color32,
) -> bool {
    let text = egui::RichText::new(label).size(rect.height() * BUTTON_TEXT_SHARE).color(egui::Color32::WHITE);
    let button = egui::Button::new(text).fill(fill).corner_radius(rect.height() * CORNER_SHARE);
    let clicked = egui::Area::new(egui::Id::new(("touch-button", name)))
        .order(egui::Order::Foreground)
        .fixed_pos(rect.min)
        .show(ctx, |ui| ui.add_sized(rect.size(), button).clicked())
        .inner;
    on_screen.button(name, rect_px(rect));
    clicked
}

/// A text panel at `rect` (its width; the height grows with the text) on its own layer.
/// Returns the rect it took.
pub fn text_at(
    ctx: &egui::Context,
    id: &str,
    rect: egui::Rect,
    text: egui::RichText,
    align: egui::Align,
) -> egui::Rect {
    let pad = (rect.height().min(rect.width()) * PANEL_PAD_SHARE).min(PANEL_PAD_MAX_PX);
    egui::Area::new(egui::Id::new(("text-panel", id)))
        .order(egui::Order::Middle)
        .fixed_pos(rect.min)
        .interactable(false)
        .show(ctx, |ui| {
            egui::Frame::new().fill(PANEL).corner_radius(pad).inner_margin(pad).show(ui, |ui| {
                let inner = (rect.width() - 2.0 * pad).max(1.0);
                ui.set_width(inner);
                ui.with_layout(egui::Layout::top_down(align), |ui| {
                    ui.add(egui::Label::new(text.color(egui::Color32::WHITE)).wrap());
                });
            });
        })
        .response
        .rect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_targets_scale_with_the_window_but_not_below_the_minimum() {
        let full_hd = egui::vec2(1920.0, 1080.0);
        let portrait = egui::vec2(1080.0, 1920.0);
        assert_eq!(touch(full_hd, BIG_BUTTON_PX), BIG_BUTTON_PX);
        assert_eq!(touch(portrait, BIG_BUTTON_PX), BIG_BUTTON_PX);
        assert_eq!(touch(egui::vec2(3840.0, 2160.0), SMALL_BUTTON_PX), 2.0 * SMALL_BUTTON_PX);
        assert_eq!(touch(egui::vec2(640.0, 360.0), SMALL_BUTTON_PX), MIN_TOUCH_PX);
    }
}
