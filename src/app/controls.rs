//! Hotkeys (ESC, h, f, 1-4, c, d, l, space) and the settings they change.

use bevy::prelude::*;
use bevy::window::{MonitorSelection, PrimaryWindow, WindowMode};
use bevy_egui::input::EguiWantsInput;

use super::analysis::AnalysisWorker;
use super::{AppSystems, LayoutMode, PipelineSettings, ViewSettings};
use crate::compose;
use crate::engine::EngineCommand;
use crate::vision::DetectorKind;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ButtonInput<KeyCode>>()
        .add_message::<DetectorRequest>()
        .add_systems(Update, apply_hotkeys.in_set(AppSystems::Input).run_if(not_typing_in_egui))
        .add_systems(Update, (apply_detector_requests, forward_settings_changes).chain().in_set(AppSystems::Receive));
}

/// Switches the detector in the settings (the worker reopens it).
fn apply_detector_requests(mut requests: MessageReader<DetectorRequest>, mut settings: ResMut<PipelineSettings>) {
    for r in requests.read() {
        let kind = match r.0 {
            None => DetectorKind::Centerface,
            Some(n) => match DetectorKind::from_hotkey(n) {
                Some(k) => k,
                None => continue,
            },
        };
        if settings.0.detector_kind != kind {
            settings.0.detector_kind = kind;
        }
    }
}

/// Asks for a detector: `None` is the CNN (CenterFace), `Some(1..=4)` a Haar cascade.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectorRequest(pub Option<u8>);

fn not_typing_in_egui(wants: Option<Res<EguiWantsInput>>) -> bool {
    wants.is_none_or(|w| !w.wants_any_keyboard_input())
}

/// The action of a key, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Fullscreen,
    Cascade(u8),
    Cnn,
    Debug,
    Layout,
    Pause,
}

/// The controls table (also shown in the help panel).
pub const CONTROLS: [(&str, &str); 8] = [
    ("ESC", "quit"),
    ("h", "this help"),
    ("f", "full screen"),
    ("1-4", "Haar cascade default / alt / alt2 / alt-tree"),
    ("c", "CNN face detector (CenterFace)"),
    ("d", "debug overlay: boxes, labels, ids"),
    ("l", "layout: mirror / three panes"),
    ("space", "pause"),
];

pub fn action_of(key: KeyCode) -> Option<Action> {
    Some(match key {
        KeyCode::Escape => Action::Quit,
        KeyCode::KeyH => Action::Help,
        KeyCode::KeyF => Action::Fullscreen,
        KeyCode::Digit1 => Action::Cascade(1),
        KeyCode::Digit2 => Action::Cascade(2),
        KeyCode::Digit3 => Action::Cascade(3),
        KeyCode::Digit4 => Action::Cascade(4),
        KeyCode::KeyC => Action::Cnn,
        KeyCode::KeyD => Action::Debug,
        KeyCode::KeyL => Action::Layout,
        KeyCode::Space => Action::Pause,
        _ => return None,
    })
}

/// Applies one action to the view settings; returns a detector request if any.
pub fn apply(action: Action, view: &mut ViewSettings) -> Option<DetectorRequest> {
    match action {
        Action::Help => view.show_help = !view.show_help,
        Action::Debug => view.debug_overlay = !view.debug_overlay,
        Action::Layout => {
            view.layout = match view.layout {
                LayoutMode::Mirror => LayoutMode::ThreePane,
                LayoutMode::ThreePane => LayoutMode::Mirror,
            }
        }
        Action::Pause => view.paused = !view.paused,
        Action::Cascade(n) => return Some(DetectorRequest(Some(n))),
        Action::Cnn => return Some(DetectorRequest(None)),
        Action::Quit | Action::Fullscreen => {}
    }
    None
}

fn apply_hotkeys(
    keys: Res<ButtonInput<KeyCode>>,
    mut view: ResMut<ViewSettings>,
    mut requests: MessageWriter<DetectorRequest>,
    mut exit: MessageWriter<AppExit>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
) {
    for key in keys.get_just_pressed() {
        let Some(action) = action_of(*key) else { continue };
        match action {
            Action::Quit => {
                exit.write(AppExit::Success);
            }
            Action::Fullscreen => {
                for mut w in &mut windows {
                    w.mode = match w.mode {
                        WindowMode::Windowed => WindowMode::BorderlessFullscreen(MonitorSelection::Current),
                        _ => WindowMode::Windowed,
                    };
                }
            }
            other => {
                if let Some(r) = apply(other, &mut view) {
                    requests.write(r);
                }
            }
        }
    }
}

/// Sends changed settings and the pause state to the analysis engine.
fn forward_settings_changes(
    settings: Res<PipelineSettings>,
    view: Res<ViewSettings>,
    worker: Option<Res<AnalysisWorker>>,
    mut sent: Local<Option<crate::config::Settings>>,
    mut last_paused: Local<bool>,
) {
    let Some(worker) = worker else { return };
    let before = sent.get_or_insert_with(|| settings.0.clone());
    if settings.is_changed() && *before != settings.0 {
        let new = &settings.0;
        let detector = compose::detector_spec(new);
        if detector != compose::detector_spec(before) {
            worker.send(EngineCommand::Detector(detector));
        }
        if new.tracking != before.tracking {
            worker.send(EngineCommand::Tracking(new.tracking.clone()));
        }
        *before = new.clone();
    }
    if view.paused != *last_paused {
        *last_paused = view.paused;
        worker.send(EngineCommand::Pause(view.paused));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .configure_sets(Update, (AppSystems::Input, AppSystems::Receive).chain())
            .insert_resource(ViewSettings::default())
            .insert_resource(PipelineSettings(crate::config::Settings::default()))
            .add_plugins(plugin);
        app
    }

    fn press(app: &mut App, key: KeyCode) {
        app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(key);
        app.update();
        let mut input = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        input.release(key);
        input.clear();
    }

    #[test]
    fn hotkeys_change_layout_overlay_help_and_pause() {
        let mut app = app();
        press(&mut app, KeyCode::KeyL);
        assert_eq!(app.world().resource::<ViewSettings>().layout, LayoutMode::ThreePane);
        press(&mut app, KeyCode::KeyD);
        assert!(app.world().resource::<ViewSettings>().debug_overlay);
        press(&mut app, KeyCode::KeyH);
        assert!(app.world().resource::<ViewSettings>().show_help);
        press(&mut app, KeyCode::Space);
        assert!(app.world().resource::<ViewSettings>().paused);
        press(&mut app, KeyCode::KeyL);
        assert_eq!(app.world().resource::<ViewSettings>().layout, LayoutMode::Mirror);
    }

    #[derive(Resource, Default)]
    struct Seen(Vec<DetectorRequest>);

    fn collect(mut r: MessageReader<DetectorRequest>, mut seen: ResMut<Seen>) {
        seen.0.extend(r.read().copied());
    }

    #[test]
    fn number_keys_ask_for_cascades_and_c_for_the_cnn() {
        let mut app = app();
        app.init_resource::<Seen>().add_systems(Last, collect);
        press(&mut app, KeyCode::Digit2);
        press(&mut app, KeyCode::KeyC);
        press(&mut app, KeyCode::Digit4);
        let seen = &app.world().resource::<Seen>().0;
        assert_eq!(seen, &vec![DetectorRequest(Some(2)), DetectorRequest(None), DetectorRequest(Some(4))]);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::HaarAltTree);
        press(&mut app, KeyCode::KeyC);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::Centerface);
        press(&mut app, KeyCode::Digit1);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::HaarDefault);
    }

    #[test]
    fn escape_quits() {
        let mut app = app();
        press(&mut app, KeyCode::Escape);
        let exits = app.world().resource::<Messages<AppExit>>();
        let mut cursor = exits.get_cursor();
        assert!(cursor.read(exits).any(|e| *e == AppExit::Success));
    }
}
