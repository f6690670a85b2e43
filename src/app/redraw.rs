//! Render on demand: the window is drawn when there is something new, and never faster
//! than the source or the display needs, so the analysis engine's threads get the cores.
//!
//! Bevy draws a frame on every update, so the app updates only when:
//! - the engine has analysed a new frame: its tap wakes the event loop
//!   ([`WinitUserEvent::WakeUp`] through Bevy's event loop proxy);
//! - input arrives (keys, mouse, touch: winit window events);
//! - something animates: an emoji pops or wobbles, a sparkle burst runs, the challenge's
//!   round is on (its time bank and big target emoji), egui asks to be repainted (bevy_egui
//!   sends [`RequestRedraw`] itself), a kiosk check's script is running;
//! - otherwise every [`IDLE_WAIT_S`] (the health line, idle timers, a paused picture).
//!
//! Frames are at most [`cap_fps`] apart: the source's frame rate (or `--render-fps`), at
//! most the display's refresh rate. `--render-mode continuous` draws every frame as fast as
//! possible, as before (for comparisons).
//!
//! Each frame also costs less: the camera draws without multisampling (Bevy's default is
//! 4x MSAA, four colour samples per pixel and a resolve pass). Nothing on screen needs it: the
//! video is an axis-aligned sprite, the emoji shader smooths its own edges inside a
//! transparent quad, text and egui come antialiased. `--msaa` turns 4x back on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::{Monitor, PrimaryMonitor, RequestRedraw};
use bevy::winit::{EventLoopProxy, EventLoopProxyWrapper, UpdateMode, WinitSettings, WinitUserEvent};
use serde::{Deserialize, Serialize};

use super::capture::CaptureOptions;
use super::emoji::{BigEmoji, POP_SECONDS, Sparkle};
use super::faces::FaceEmotion;
use super::screens::challenge::ActiveRound;
use super::video::{LatestAnalysis, Stats};

/// Longest time between two frames when nothing happens, seconds: the health line, idle
/// timers and the attract screen's clocks keep going (4 frames a second at most).
pub const IDLE_WAIT_S: f32 = 0.25;
/// Render cap while the source's frame rate is not known yet (or it has none: one image).
pub const DEFAULT_CAP_FPS: f32 = 30.0;
/// The lowest cap: a slow source still gets smooth animations and input.
pub const MIN_CAP_FPS: f32 = 10.0;
/// Headroom over the source's measured rate: the cap must not hold back a frame that
/// comes on time (the source's rate is measured, and frames jitter).
pub const CAP_HEADROOM: f32 = 1.2;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<RenderOptions>()
        .init_resource::<Pace>()
        .add_systems(First, hold_to_cap.before(bevy::time::TimeSystems))
        .add_systems(PostUpdate, set_camera_msaa)
        .add_systems(Last, request_redraws);
}

/// When the window is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RenderMode {
    /// Only when there is something new, at most at [`cap_fps`].
    #[default]
    OnDemand,
    /// Every frame, as fast as the machine can (no cap).
    Continuous,
}

impl RenderMode {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "on-demand" => Some(Self::OnDemand),
            "continuous" => Some(Self::Continuous),
            _ => None,
        }
    }
}

/// How the app renders (`--render-mode`, `--render-fps`).
#[derive(Resource, Debug, Clone, Copy, PartialEq, Default)]
pub struct RenderOptions {
    pub mode: RenderMode,
    /// The render cap in frames per second; None: the source's rate.
    pub cap_fps: Option<f32>,
    /// 4x multisampling (Bevy's default) instead of none.
    pub msaa: bool,
}

impl RenderOptions {
    /// Bevy's update modes for these options (the same with and without focus: kiosks and
    /// virtual displays have none).
    pub fn winit_settings(&self) -> WinitSettings {
        let mode = match self.mode {
            RenderMode::Continuous => UpdateMode::Continuous,
            // Raw device events (mouse motion anywhere on the desktop) do not draw a frame;
            // the window's own events and our wake-ups do.
            RenderMode::OnDemand => UpdateMode::Reactive {
                wait: Duration::from_secs_f32(IDLE_WAIT_S),
                react_to_device_events: false,
                react_to_user_events: true,
                react_to_window_events: true,
            },
        };
        WinitSettings { focused_mode: mode, unfocused_mode: mode }
    }
}

/// The render cap (frames per second): the setting or the source's rate with
/// [`CAP_HEADROOM`] ([`DEFAULT_CAP_FPS`] while it is unknown), at most the display's
/// refresh rate, at least [`MIN_CAP_FPS`].
pub fn cap_fps(setting: Option<f32>, source_fps: f32, display_hz: Option<f32>) -> f32 {
    let wanted = setting.unwrap_or(if source_fps > 0.0 { source_fps * CAP_HEADROOM } else { DEFAULT_CAP_FPS });
    let shown = display_hz.filter(|hz| *hz > 0.0).map_or(wanted, |hz| wanted.min(hz));
    shown.max(MIN_CAP_FPS)
}

/// How long to wait before starting a frame at `now` so that frames are at most `cap_fps`
/// apart (zero when the last one started long enough ago, or there was none).
pub fn wait_before_frame(last_start: Option<Instant>, now: Instant, cap_fps: f32) -> Duration {
    let Some(last) = last_start else { return Duration::ZERO };
    let interval = Duration::from_secs_f32(1.0 / cap_fps.max(MIN_CAP_FPS));
    (last + interval).saturating_duration_since(now)
}

/// Why the next frame is drawn without a new video frame or input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedrawReasons {
    /// An emoji pops or wobbles, a burst runs, the round's clock runs.
    pub animating: bool,
    /// A kiosk check or test script (keys, taps, screenshot) counts frames.
    pub script: bool,
    /// The engine announced a frame that was not in its channel yet when this update
    /// looked (it is delivered a moment after the wake-up).
    pub frame_in_flight: bool,
}

impl RedrawReasons {
    pub fn any(&self) -> bool {
        self.animating || self.script || self.frame_in_flight
    }
}

/// Whether the engine announced a frame newer than the one shown: `announced` and
/// `shown` are frame indices plus one (0: none). Asked again for the same announcement
/// it says no (a frame the engine could not deliver is not waited for forever).
pub fn frame_in_flight(announced: u64, shown: u64, asked_for: &mut u64) -> bool {
    if announced == 0 || announced == shown || *asked_for == announced {
        return false;
    }
    *asked_for = announced;
    true
}

/// Wakes the event loop when the engine has analysed a frame (it runs on the engine's
/// thread, in its frame tap).
#[derive(Clone)]
pub struct FrameWaker {
    proxy: EventLoopProxy<WinitUserEvent>,
    announced: Arc<AtomicU64>,
}

impl FrameWaker {
    /// The waker for this app's event loop (None without one: headless tests).
    pub fn of(app: &App) -> Option<Self> {
        let proxy = app.world().get_resource::<EventLoopProxyWrapper>()?;
        Some(Self { proxy: (**proxy).clone(), announced: Arc::new(AtomicU64::new(0)) })
    }

    /// Called with each analysed frame's index, just before it is delivered.
    pub fn wake(&self, index: u64) {
        self.announced.store(index + 1, Ordering::Release);
        // The event loop is gone only when the app is closing.
        let _ = self.proxy.send_event(WinitUserEvent::WakeUp);
    }

    fn announced(&self) -> u64 {
        self.announced.load(Ordering::Acquire)
    }
}

/// The app's end of the [`FrameWaker`].
#[derive(Resource, Clone)]
pub struct FrameWakerResource(pub FrameWaker);

/// When the last frame started, and the in-flight check's memory.
#[derive(Resource, Debug, Default)]
pub struct Pace {
    last_start: Option<Instant>,
    asked_for: u64,
}

/// Holds the frame back until it is at most the cap after the last one (the main thread
/// sleeps; the engine's threads run meanwhile).
fn hold_to_cap(
    options: Res<RenderOptions>,
    mut stats: ResMut<Stats>,
    monitors: Query<&Monitor, With<PrimaryMonitor>>,
    mut pace: ResMut<Pace>,
) {
    if options.mode == RenderMode::Continuous {
        return;
    }
    let display_hz = monitors.iter().next().and_then(|m| m.refresh_rate_millihertz).map(|mhz| mhz as f32 / 1000.0);
    let cap = cap_fps(options.cap_fps, stats.source_fps, display_hz);
    if stats.render_cap_fps != cap {
        stats.render_cap_fps = cap;
    }
    let wait = wait_before_frame(pace.last_start, Instant::now(), cap);
    if !wait.is_zero() {
        std::thread::sleep(wait);
    }
    pace.last_start = Some(Instant::now());
}

/// Gives each new camera the multisampling the options ask for.
fn set_camera_msaa(mut commands: Commands, options: Res<RenderOptions>, cameras: Query<Entity, Added<Camera>>) {
    let msaa = if options.msaa { Msaa::Sample4 } else { Msaa::Off };
    for camera in &cameras {
        commands.entity(camera).insert(msaa);
    }
}

/// The animations that need frames of their own.
#[derive(bevy::ecs::system::SystemParam)]
struct Animations<'w, 's> {
    faces: Query<'w, 's, &'static FaceEmotion>,
    bursts: Query<'w, 's, (), With<Sparkle>>,
    big_emoji: Query<'w, 's, (), With<BigEmoji>>,
    round: Option<Res<'w, ActiveRound>>,
}

impl Animations<'_, '_> {
    fn running(&self) -> bool {
        self.round.is_some()
            || !self.bursts.is_empty()
            || !self.big_emoji.is_empty()
            || self.faces.iter().any(|f| f.since_change_s < POP_SECONDS)
    }
}

fn request_redraws(
    options: Res<RenderOptions>,
    animations: Animations,
    scripts: Res<CaptureOptions>,
    waker: Option<Res<FrameWakerResource>>,
    latest: Res<LatestAnalysis>,
    mut pace: ResMut<Pace>,
    mut redraw: MessageWriter<RequestRedraw>,
) {
    if options.mode == RenderMode::Continuous {
        return;
    }
    let shown = if latest.received_at.is_some() { latest.index + 1 } else { 0 };
    let reasons = RedrawReasons {
        animating: animations.running(),
        script: scripts.screenshot.is_some()
            || scripts.exit_after_frames.is_some()
            || !scripts.press.is_empty()
            || !scripts.taps.is_empty(),
        frame_in_flight: waker.is_some_and(|w| frame_in_flight(w.0.announced(), shown, &mut pace.asked_for)),
    };
    if reasons.any() {
        redraw.write(RequestRedraw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_follows_the_source_within_the_display() {
        // A 30 fps video on a 60 Hz display: the video's rate with headroom.
        assert!((cap_fps(None, 30.0, Some(60.0)) - 36.0).abs() < 1e-3);
        // A 60 fps camera on a 50 Hz display: the display's rate.
        assert_eq!(cap_fps(None, 60.0, Some(50.0)), 50.0);
        // Not known yet, or one still image: the default.
        assert_eq!(cap_fps(None, 0.0, None), DEFAULT_CAP_FPS);
        // The setting wins over the source, not over the display; never below the floor.
        assert_eq!(cap_fps(Some(24.0), 30.0, Some(60.0)), 24.0);
        assert_eq!(cap_fps(Some(120.0), 30.0, Some(60.0)), 60.0);
        assert_eq!(cap_fps(Some(1.0), 30.0, None), MIN_CAP_FPS);
        assert_eq!(cap_fps(None, 30.0, Some(0.0)), 36.0, "an unknown refresh rate (0) is no cap");
    }

    #[test]
    fn frames_wait_only_for_what_is_left_of_the_interval() {
        let t0 = Instant::now();
        assert_eq!(wait_before_frame(None, t0, 25.0), Duration::ZERO, "the first frame does not wait");
        let left = wait_before_frame(Some(t0), t0 + Duration::from_millis(10), 25.0);
        let off_ms = (left.as_secs_f64() * 1000.0 - 30.0).abs();
        assert!(off_ms < 0.01, "40 ms at 25 fps, 10 of them gone: {left:?}");
        assert_eq!(wait_before_frame(Some(t0), t0 + Duration::from_millis(50), 25.0), Duration::ZERO);
    }

    #[test]
    fn a_frame_in_flight_is_asked_for_once() {
        let mut asked = 0;
        assert!(!frame_in_flight(0, 0, &mut asked), "nothing announced yet");
        assert!(!frame_in_flight(8, 8, &mut asked), "frame 7 announced and shown");
        assert!(frame_in_flight(9, 8, &mut asked), "frame 8 announced, not shown yet");
        assert!(!frame_in_flight(9, 8, &mut asked), "asked once: it comes with the next wake-up");
        assert!(frame_in_flight(10, 8, &mut asked), "a newer one announced");
        assert!(!frame_in_flight(10, 10, &mut asked));
        assert!(frame_in_flight(2, 10, &mut asked), "the video started again");
    }

    #[test]
    fn reasons_draw_when_any_holds() {
        assert!(!RedrawReasons::default().any(), "nothing new: no frame");
        assert!(RedrawReasons { animating: true, ..default() }.any());
        assert!(RedrawReasons { script: true, ..default() }.any());
        assert!(RedrawReasons { frame_in_flight: true, ..default() }.any());
    }

    #[test]
    fn render_modes_have_names_and_update_modes() {
        assert_eq!(RenderMode::from_name("on-demand"), Some(RenderMode::OnDemand));
        assert_eq!(RenderMode::from_name("continuous"), Some(RenderMode::Continuous));
        assert_eq!(RenderMode::from_name("fast"), None);
        let continuous = RenderOptions { mode: RenderMode::Continuous, ..default() }.winit_settings();
        assert_eq!(continuous.focused_mode, UpdateMode::Continuous);
        let on_demand = RenderOptions::default().winit_settings();
        assert_eq!(on_demand.focused_mode, on_demand.unfocused_mode, "no focus under a kiosk or a virtual display");
        assert!(matches!(
            on_demand.focused_mode,
            UpdateMode::Reactive { react_to_user_events: true, react_to_window_events: true, .. }
        ));
    }
}
