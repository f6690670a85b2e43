//! Live sources (cameras): newest frame only, and recovery when the device goes away.
//!
//! A [`Grabber`] reads frames from a device. [`spawn`] runs it on its own thread
//! with the live policy: the channel holds one frame, a newer frame replaces a stale
//! one (counted in [`SourceHandle::dropped`]), and when the device fails the source
//! reports [`SourceEvent::Lost`], retries every `retry` interval and reports
//! [`SourceEvent::Restored`] when frames come again. It never hangs or panics.

use std::time::{Duration, SystemTime};

use image::RgbImage;

use super::{Delivery, Frame, FrameTime, Producer, SourceError, SourceEvent, SourceHandle};

/// How long to wait between attempts to reopen a lost device.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// A device that delivers RGB frames.
pub trait Grabber {
    /// Human-readable device name for messages.
    fn name(&self) -> String;
    /// Opens (or reopens) the device.
    fn open(&mut self) -> Result<(), String>;
    /// Reads the next frame into `image`, replacing it when the size differs.
    fn grab(&mut self, image: &mut RgbImage) -> Result<(), String>;
    /// Releases the device after a failure (before the next `open`).
    fn close(&mut self);
}

/// Starts `make()`'s grabber on a thread. Returns once the first `open` has
/// succeeded, or with `on_missing(reason)` as the error when it failed.
pub fn spawn<G, M>(
    make: M,
    retry: Duration,
    on_missing: impl FnOnce(String) -> SourceError,
) -> Result<SourceHandle, SourceError>
where
    G: Grabber,
    M: FnOnce() -> G + Send + 'static,
{
    let (opened_tx, opened_rx) = crossbeam_channel::bounded::<Result<(), String>>(1);
    let handle = SourceHandle::start("camera", Delivery::NewestOnly, move |mut p: Producer| {
        let mut g = make();
        let first = g.open();
        let ok = first.is_ok();
        let _ = opened_tx.send(first);
        if ok {
            run(&mut g, &mut p, retry);
        }
    })?;
    match opened_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(reason)) => Err(on_missing(reason)),
        Err(_) => Err(on_missing("the capture thread ended before opening the device".into())),
    }
}

fn run<G: Grabber>(g: &mut G, p: &mut Producer, retry: Duration) {
    let name = g.name();
    let mut index = 0u64;
    loop {
        if p.stopped() {
            return;
        }
        let mut image = p.any_buffer();
        match g.grab(&mut image) {
            Ok(()) => {
                let frame = Frame { index, time: FrameTime::Wall(SystemTime::now()), name: String::new(), image };
                index += 1;
                if !p.send_newest(frame) {
                    return;
                }
            }
            Err(reason) => {
                p.keep(image);
                g.close();
                if !p.send(SourceEvent::Lost { reason: format!("{name}: {reason}; retrying every {retry:?}") }) {
                    return;
                }
                loop {
                    if !p.sleep(retry) {
                        return;
                    }
                    if g.open().is_ok() {
                        break;
                    }
                }
                if !p.send(SourceEvent::Restored { what: name.clone() }) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A fake camera: frames numbered in their red channel; it can be unplugged.
    struct FakeCamera {
        plugged: Arc<AtomicBool>,
        open: bool,
        counter: u8,
    }

    impl Grabber for FakeCamera {
        fn name(&self) -> String {
            "fake camera".into()
        }
        fn open(&mut self) -> Result<(), String> {
            self.open = self.plugged.load(Ordering::SeqCst);
            if self.open { Ok(()) } else { Err("no such device".into()) }
        }
        fn grab(&mut self, image: &mut RgbImage) -> Result<(), String> {
            if !self.open || !self.plugged.load(Ordering::SeqCst) {
                return Err("device vanished".into());
            }
            std::thread::sleep(Duration::from_millis(2));
            if image.dimensions() != (8, 6) {
                *image = RgbImage::new(8, 6);
            }
            self.counter = self.counter.wrapping_add(1);
            image.put_pixel(0, 0, image::Rgb([self.counter, 0, 0]));
            Ok(())
        }
        fn close(&mut self) {
            self.open = false;
        }
    }

    fn fake(plugged: &Arc<AtomicBool>) -> impl FnOnce() -> FakeCamera + Send + 'static {
        let plugged = plugged.clone();
        move || FakeCamera { plugged, open: false, counter: 0 }
    }

    #[test]
    fn absent_device_fails_at_start_with_the_callers_message() {
        let plugged = Arc::new(AtomicBool::new(false));
        let err = spawn(fake(&plugged), Duration::from_millis(10), |r| SourceError::NoCamera { index: 0, reason: r })
            .err()
            .expect("no device");
        assert!(err.to_string().contains("no such device"), "{err}");
    }

    #[test]
    fn disconnect_is_reported_retried_and_recovered() {
        let plugged = Arc::new(AtomicBool::new(true));
        let handle =
            spawn(fake(&plugged), Duration::from_millis(20), |r| SourceError::NoCamera { index: 0, reason: r })
                .expect("opens");
        assert_eq!(handle.delivery(), Delivery::NewestOnly);
        let events = handle.events();
        let mut frames_before = 0;
        while frames_before < 5 {
            if let SourceEvent::Frame(f) = events.recv_timeout(Duration::from_secs(5)).expect("frames flow") {
                frames_before += 1;
                handle.recycle(f.image);
            }
        }
        plugged.store(false, Ordering::SeqCst);
        let lost = loop {
            match events.recv_timeout(Duration::from_secs(5)).expect("an event") {
                SourceEvent::Lost { reason } => break reason,
                SourceEvent::Frame(f) => handle.recycle(f.image),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!(lost.contains("fake camera") && lost.contains("vanished"), "{lost}");
        // While unplugged nothing arrives, and nothing hangs.
        assert!(events.recv_timeout(Duration::from_millis(100)).is_err());
        plugged.store(true, Ordering::SeqCst);
        let restored = events.recv_timeout(Duration::from_secs(5)).expect("restored");
        assert!(matches!(restored, SourceEvent::Restored { .. }), "{restored:?}");
        let again = events.recv_timeout(Duration::from_secs(5)).expect("frames again");
        assert!(matches!(again, SourceEvent::Frame(_)));
    }

    #[test]
    fn a_slow_consumer_gets_the_newest_frame_and_drops_are_counted() {
        let plugged = Arc::new(AtomicBool::new(true));
        let handle =
            spawn(fake(&plugged), Duration::from_millis(20), |r| SourceError::NoCamera { index: 0, reason: r })
                .expect("opens");
        let first = match handle.events().recv_timeout(Duration::from_secs(5)).expect("frame") {
            SourceEvent::Frame(f) => f.index,
            other => panic!("{other:?}"),
        };
        std::thread::sleep(Duration::from_millis(200)); // ~100 frames are produced meanwhile
        let next = match handle.events().recv_timeout(Duration::from_secs(5)).expect("frame") {
            SourceEvent::Frame(f) => f.index,
            other => panic!("{other:?}"),
        };
        assert!(next > first + 10, "stale frames were skipped: {first} -> {next}");
        assert!(handle.dropped() >= 10, "{} dropped", handle.dropped());
    }
}
