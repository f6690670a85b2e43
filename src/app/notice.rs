//! Friendly messages for visitors in large type (readable from 2 m, scaled with the
//! window): one short line while something is wrong, e.g. "Connect a camera" over the
//! bundled sample. The details stay in the log and in [`SourceStatus::problem`].
//!
//! During a challenge paused because the camera went away (see the challenge screen), the
//! hint says so and that the game goes on when the camera is back ([`GAME_PAUSED`]), over
//! a dimmed picture (the frozen last frame is no live mirror).

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::analysis::AnalysisWorker;
use super::screens::OnScreen;
use super::screens::challenge::ActiveRound;
use super::theme;
use super::video::SourceStatus;

/// The hint's text height at 1080p (pixels): about 9 cm on a 55" screen, readable from 2 m.
const HINT_PX: f32 = 110.0;
/// The hint panel's width as a share of the window's width.
const HINT_WIDTH_SHARE: f32 = 0.8;
/// The operator's message's text height at 1080p (pixels): readable from 2 m.
const OPERATOR_PX: f32 = 56.0;
/// Where the hint panel's top sits, as a share of the window's height (middle of the window).
const HINT_TOP_SHARE: f32 = 0.4;
/// The second line of the hint while the challenge is paused for the camera.
pub const GAME_PAUSED: &str = "The game is paused \u{2014} it goes on when the camera is back";
/// The second line's text height at 1080p (pixels): readable from 2 m.
const PAUSED_PX: f32 = 64.0;
/// The dimmer over the frozen picture while the game is paused.
const PAUSED_DIMMER: egui::Color32 = egui::Color32::from_rgba_premultiplied(0, 0, 0, 170);
/// The hint while the game is paused without one from the source (a camera silent for a
/// moment, before its stall is reported).
const NO_PICTURE: &str = "No picture from the camera";

pub(super) fn plugin(app: &mut App) {
    app.add_systems(EguiPrimaryContextPass, hint_ui);
}

/// Where the hint panel goes in a window of `window` pixels (its width; the height follows
/// the text).
pub fn hint_rect(window: egui::Vec2) -> egui::Rect {
    let w = window.x * HINT_WIDTH_SHARE;
    let h = theme::scaled(window, HINT_PX) * 2.0;
    egui::Rect::from_min_size(egui::pos2((window.x - w) / 2.0, window.y * HINT_TOP_SHARE), egui::vec2(w, h))
}

fn hint_ui(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut contexts: EguiContexts,
    status: Res<SourceStatus>,
    worker: Res<AnalysisWorker>,
    active: Option<Res<ActiveRound>>,
    mut on_screen: ResMut<OnScreen>,
) -> Result {
    let paused = active.is_some_and(|a| a.round.is_paused());
    let Some(hint) = status.hint.or(paused.then_some(NO_PICTURE)) else { return Ok(()) };
    // The window's own size (egui's screen is a placeholder until its first input).
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    if paused {
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
        ctx.layer_painter(egui::LayerId::new(egui::Order::Background, egui::Id::new("paused-dimmer"))).rect_filled(
            screen,
            0.0,
            PAUSED_DIMMER,
        );
    }
    let text = egui::RichText::new(hint).size(theme::scaled(window, HINT_PX)).strong();
    let shown = theme::text_at(ctx, "hint", hint_rect(window), text, egui::Align::Center);
    on_screen.item("hint", theme::rect_px(shown));
    if paused {
        let below = egui::Rect::from_min_size(
            egui::pos2(shown.min.x, shown.max.y + theme::scaled(window, theme::MARGIN_PX)),
            egui::vec2(shown.width(), shown.height()),
        );
        let text = egui::RichText::new(GAME_PAUSED).size(theme::scaled(window, PAUSED_PX)).strong();
        let drawn = theme::text_at(ctx, "paused", below, text, egui::Align::Center);
        on_screen.item("paused", theme::rect_px(drawn));
    }
    // Nothing runs (a model file is missing or damaged): the operator screen names the file
    // and the fix below the hint.
    if let Some(problem) = &worker.startup_problem {
        let below = egui::Rect::from_min_size(
            egui::pos2(shown.min.x, shown.max.y + theme::scaled(window, theme::MARGIN_PX)),
            egui::vec2(shown.width(), shown.height()),
        );
        let text = egui::RichText::new(problem.as_str()).size(theme::scaled(window, OPERATOR_PX));
        let operator = theme::text_at(ctx, "operator", below, text, egui::Align::Center);
        on_screen.item("operator", theme::rect_px(operator));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_is_centred_and_scales_with_the_window() {
        let small = hint_rect(egui::vec2(1280.0, 720.0));
        let big = hint_rect(egui::vec2(3840.0, 2160.0));
        assert!((small.center().x - 640.0).abs() < 0.01, "{small:?}");
        assert!((big.height() / small.height() - 3.0).abs() < 0.01, "{small:?} {big:?}");
        assert!(small.max.y < 720.0, "inside the window: {small:?}");
    }
}
