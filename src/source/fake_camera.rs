//! A stand-in camera for tests of the exhibit's recovery (hidden `--fake-camera`): it shows
//! one picture as a live stream and can be "unplugged" for a while, failing exactly as a
//! device that went away does, so the app's whole camera path (lost, retried, restored,
//! the game paused and resumed) runs without a device.
//!
//! Once installed ([`install`]) every camera index opens the fake. Its unplug schedule runs
//! from the first time it opens, so a source that is reopened keeps the same schedule.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use image::RgbImage;

use super::live::{Grabber, RETRY_INTERVAL};
use super::{SourceError, SourceHandle, camera::CameraRequest};

/// Frames per second the fake delivers (a slow webcam).
pub const FAKE_FPS: u32 = 15;

/// When the fake is unplugged: `at` after it first opened, for `lasting`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unplug {
    pub at: Duration,
    pub lasting: Duration,
}

impl Unplug {
    /// `AT:FOR` in seconds, e.g. "10:6" (unplugged 10 s after opening, for 6 s).
    pub fn parse(s: &str) -> Result<Self, String> {
        let secs = |v: &str| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("'{s}' is not AT:FOR in seconds, e.g. 10:6"))
        };
        let (at, lasting) = s.split_once(':').ok_or_else(|| format!("'{s}' is not AT:FOR in seconds, e.g. 10:6"))?;
        Ok(Self { at: secs(at)?, lasting: secs(lasting)? })
    }

    /// Whether the fake is unplugged `since_open` after it first opened.
    pub fn unplugged(&self, since_open: Duration) -> bool {
        since_open >= self.at && since_open < self.at + self.lasting
    }
}

/// The fake camera's picture and schedule.
#[derive(Debug)]
pub struct FakeCamera {
    picture: RgbImage,
    unplug: Option<Unplug>,
    /// When it first opened (the schedule's start).
    opened: OnceLock<Instant>,
}

impl FakeCamera {
    pub fn new(picture: RgbImage, unplug: Option<Unplug>) -> Self {
        Self { picture, unplug, opened: OnceLock::new() }
    }

    /// Whether it is unplugged now (never before it first opened).
    fn unplugged(&self) -> bool {
        match (self.unplug, self.opened.get()) {
            (Some(u), Some(t0)) => u.unplugged(t0.elapsed()),
            _ => false,
        }
    }
}

/// The installed fake, if any.
static INSTALLED: OnceLock<Arc<FakeCamera>> = OnceLock::new();

/// Makes every camera this process opens the fake (once; a second call changes nothing).
pub fn install(fake: FakeCamera) {
    if INSTALLED.set(Arc::new(fake)).is_err() {
        tracing::warn!("a fake camera is already installed");
    }
}

/// The installed fake, if any.
pub fn installed() -> Option<Arc<FakeCamera>> {
    INSTALLED.get().cloned()
}

/// Opens `fake` as camera `request.index` (newest-frame policy, like a device).
pub fn spawn(fake: Arc<FakeCamera>, request: CameraRequest) -> Result<SourceHandle, SourceError> {
    super::live::spawn(
        move || FakeGrabber { fake, index: request.index, open: false, next_at: None },
        RETRY_INTERVAL,
        move |reason| SourceError::NoCamera { index: request.index, reason },
    )
}

/// The fake as a [`Grabber`]: the picture at [`FAKE_FPS`] while plugged in.
struct FakeGrabber {
    fake: Arc<FakeCamera>,
    index: u32,
    open: bool,
    /// When the next frame is due.
    next_at: Option<Instant>,
}

impl Grabber for FakeGrabber {
    fn name(&self) -> String {
        format!("camera {}", self.index)
    }

    fn open(&mut self) -> Result<(), String> {
        if self.fake.unplugged() {
            return Err("no such device (the fake camera is unplugged)".into());
        }
        self.fake.opened.get_or_init(Instant::now);
        self.open = true;
        Ok(())
    }

    fn grab(&mut self, image: &mut RgbImage) -> Result<(), String> {
        // Like a device: a frame when it is due, an error once it is gone.
        let now = Instant::now();
        let due = *self.next_at.get_or_insert(now);
        std::thread::sleep(due.saturating_duration_since(now));
        self.next_at = Some(due.max(now) + Duration::from_secs(1) / FAKE_FPS);
        if !self.open || self.fake.unplugged() {
            return Err("device vanished (the fake camera was unplugged)".into());
        }
        if image.dimensions() == self.fake.picture.dimensions() {
            image.copy_from_slice(&self.fake.picture);
        } else {
            image.clone_from(&self.fake.picture);
        }
        Ok(())
    }

    fn close(&mut self) {
        self.open = false;
        self.next_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceEvent;

    #[test]
    fn the_unplug_schedule_parses_and_covers_its_interval() {
        let u = Unplug::parse("10:6").expect("valid");
        assert_eq!(u, Unplug { at: Duration::from_secs(10), lasting: Duration::from_secs(6) });
        assert!(!u.unplugged(Duration::from_millis(9_999)));
        assert!(u.unplugged(Duration::from_secs(10)) && u.unplugged(Duration::from_millis(15_999)));
        assert!(!u.unplugged(Duration::from_secs(16)));
        assert!(Unplug::parse("0.5:1.5").is_ok());
        for bad in ["10", "a:b", "-1:2", "1:inf", ""] {
            assert!(Unplug::parse(bad).is_err_and(|e| e.contains("AT:FOR")), "{bad}");
        }
    }

    #[test]
    fn unplugged_it_is_lost_then_restored_with_the_same_picture() {
        let picture = RgbImage::from_pixel(8, 6, image::Rgb([10, 200, 30]));
        let unplug = Unplug { at: Duration::from_millis(300), lasting: Duration::from_millis(700) };
        let fake = Arc::new(FakeCamera::new(picture.clone(), Some(unplug)));
        let handle = spawn(fake, CameraRequest::new(3)).expect("the fake opens");
        let mut seen = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            match handle.events().recv_timeout(Duration::from_secs(5)).expect("events flow") {
                SourceEvent::Frame(f) => {
                    assert_eq!(f.image, picture);
                    if seen.last() != Some(&"frame") {
                        seen.push("frame");
                    }
                    handle.recycle(f.image);
                }
                SourceEvent::Lost { reason } => {
                    assert!(reason.contains("camera 3") && reason.contains("unplugged"), "{reason}");
                    seen.push("lost");
                }
                SourceEvent::Restored { what } => {
                    assert_eq!(what, "camera 3");
                    seen.push("restored");
                }
                SourceEvent::Skipped { .. } => seen.push("skipped"),
            }
            if seen.len() == 4 {
                break;
            }
        }
        assert_eq!(seen, ["frame", "lost", "restored", "frame"]);
        assert!(started.elapsed() >= Duration::from_millis(900), "unplugged for its 700 ms");
    }
}
