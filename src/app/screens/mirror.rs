//! The mirror screen (free play): today's view (help panel, layouts, debug overlay) with
//! two small, unobtrusive touch buttons in the bottom-right corner: back to the attract
//! screen and into the challenge.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::{GameAction, GameCommand, OnScreen, Screen};
use crate::app::theme;

/// Width of a corner button at 1080p (pixels).
const CORNER_BUTTON_WIDTH_PX: f32 = 200.0;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(EguiPrimaryContextPass, mirror_ui.run_if(in_state(Screen::Mirror)));
}

/// The two corner buttons' rects (challenge, attract) in a window of `window` pixels.
pub fn corner_buttons(window: egui::Vec2) -> (egui::Rect, egui::Rect) {
    let m = theme::scaled(window, theme::MARGIN_PX);
    let h = theme::touch(window, theme::SMALL_BUTTON_PX);
    let w = theme::touch(window, CORNER_BUTTON_WIDTH_PX);
    let y = window.y - m - h;
    let attract = egui::Rect::from_min_size(egui::pos2(window.x - m - w, y), egui::vec2(w, h));
    let play = egui::Rect::from_min_size(egui::pos2(attract.min.x - m - w, y), egui::vec2(w, h));
    (play, attract)
}

fn mirror_ui(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut contexts: EguiContexts,
    mut on_screen: ResMut<OnScreen>,
    mut game: MessageWriter<GameCommand>,
) -> Result {
    // The window's own size (egui's screen is a placeholder until its first input).
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    let (play, attract) = corner_buttons(window);
    if theme::button_at(ctx, &mut on_screen, "play", "Play", play, theme::QUIET) {
        game.write(GameCommand(GameAction::Start));
    }
    if theme::button_at(ctx, &mut on_screen, "attract", "Menu", attract, theme::QUIET) {
        game.write(GameCommand(GameAction::Attract));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corner_buttons_are_touch_sized_inside_the_lower_right() {
        for window in [egui::vec2(1920.0, 1080.0), egui::vec2(1080.0, 1920.0), egui::vec2(1280.0, 720.0)] {
            let (play, attract) = corner_buttons(window);
            let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
            for b in [play, attract] {
                assert!(screen.contains_rect(b) && b.min.y >= window.y / 2.0 && b.min.x >= window.x / 3.0, "{b:?}");
                assert!(b.height() >= theme::MIN_TOUCH_PX, "{b:?}");
            }
            assert!(!play.intersects(attract));
        }
    }
}
