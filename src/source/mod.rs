//! Frame sources: a single image, an image folder, a video file, a camera.
//!
//! Every source decodes on its own thread and feeds a bounded channel
//! ([`SourceHandle::events`]). Two delivery policies ([`Delivery`]):
//! file sources deliver every frame in order (offline work: nothing is dropped;
//! the decoder waits while the consumer is busy); live sources keep only the
//! newest frame (a live view never queues stale frames; drops are counted).
//! Image buffers go back to the decoder through [`SourceHandle::recycle`], so a
//! steady stream allocates nothing per frame.

pub mod camera;
pub mod fake_camera;
pub mod images;
pub mod live;
pub mod video;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded};
use image::RgbImage;
use thiserror::Error;

/// Frames that may wait between the decoder and the consumer (file sources).
pub const CHANNEL_FRAMES: usize = 4;
/// Frames that may wait for the consumer of a live source: just the newest.
pub const LIVE_CHANNEL_FRAMES: usize = 1;
/// How often a waiting producer checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(50);
/// Returned buffers kept for reuse: more than can be in flight through the
/// channel and the pipeline stages, so a steady stream never allocates.
pub const RECYCLED_FRAMES: usize = 16;

/// Errors of the source stage; each names the file and the problem.
#[derive(Debug, Error)]
pub enum SourceError {
    #[error("{path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{path}: no images found (looked for {extensions})")]
    EmptyFolder { path: PathBuf, extensions: String },
    #[error("{path}: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error(
        "camera {index}: cannot open it ({reason}); connect a camera or pick another with --camera N \
         (list them with `emoji-mirror cameras`), or read files instead with --video FILE, --image FILE or --image-dir DIR"
    )]
    NoCamera { index: u32, reason: String },
}

/// How a source hands frames to a consumer that is slower than the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every frame, in order; the source waits (files: offline work loses nothing).
    EveryFrame,
    /// Only the newest frame; stale ones are dropped and counted (live cameras).
    NewestOnly,
}

/// When a frame was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameTime {
    /// Media timestamp from the file's start (video).
    Media(Duration),
    /// Wall-clock time it was read (images, live input).
    Wall(SystemTime),
}

impl Default for FrameTime {
    fn default() -> Self {
        FrameTime::Media(Duration::ZERO)
    }
}

impl FrameTime {
    /// `HH:MM:SS` (media time from the start, or local wall-clock time).
    pub fn hms(&self) -> String {
        match self {
            FrameTime::Media(d) => {
                let s = d.as_secs();
                format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
            }
            FrameTime::Wall(t) => chrono::DateTime::<chrono::Local>::from(*t).format("%H:%M:%S").to_string(),
        }
    }

    /// Seconds: media seconds, or seconds since the Unix epoch.
    pub fn seconds(&self) -> f64 {
        match self {
            FrameTime::Media(d) => d.as_secs_f64(),
            FrameTime::Wall(t) => t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
        }
    }
}

/// One decoded frame.
#[derive(Debug)]
pub struct Frame {
    /// 0-based position in the source (counts skipped frames too).
    pub index: u64,
    pub time: FrameTime,
    /// The file it came from (images) or empty (video).
    pub name: String,
    pub image: RgbImage,
}

/// What a source thread sends.
#[derive(Debug)]
pub enum SourceEvent {
    Frame(Frame),
    /// One image or frame could not be decoded; the source goes on.
    Skipped {
        what: String,
        reason: String,
    },
    /// A live device went away; the source retries and reports [`SourceEvent::Restored`].
    Lost {
        reason: String,
    },
    /// A lost live device delivers frames again.
    Restored {
        what: String,
    },
}

/// Which input to read.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    Image(PathBuf),
    ImageDir { dir: PathBuf, looped: bool },
    Video(PathBuf),
    Camera(camera::CameraRequest),
}

impl SourceSpec {
    /// Opens the source (errors here are immediate: missing file, empty folder,
    /// unreadable video) and starts its decoding thread.
    pub fn spawn(&self) -> Result<SourceHandle, SourceError> {
        match self {
            SourceSpec::Image(path) => images::spawn(vec![path.clone()], false),
            SourceSpec::ImageDir { dir, looped } => images::spawn(images::list_images(dir)?, *looped),
            SourceSpec::Video(path) => video::spawn(path),
            SourceSpec::Camera(request) => camera::spawn(*request),
        }
    }

    /// What is read, for messages: the file, the folder or the camera.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Image(p) | SourceSpec::Video(p) | SourceSpec::ImageDir { dir: p, .. } => {
                p.display().to_string()
            }
            SourceSpec::Camera(r) => format!("camera {}", r.index),
        }
    }

    /// Whether frame times are media times (files with a timeline) or wall-clock.
    pub fn is_video(&self) -> bool {
        matches!(self, SourceSpec::Video(_))
    }

    /// A stream of frames over time (video or camera) rather than separate pictures.
    pub fn is_stream(&self) -> bool {
        matches!(self, SourceSpec::Video(_) | SourceSpec::Camera(_))
    }
}

/// The consumer's end of a running source. Dropping it stops and joins the thread.
pub struct SourceHandle {
    events: Option<Receiver<SourceEvent>>,
    recycle: Sender<RgbImage>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    delivery: Delivery,
    thread: Option<JoinHandle<()>>,
}

/// The producer's end, handed to a source thread.
pub(crate) struct Producer {
    events: Sender<SourceEvent>,
    /// Live sources: the producer's own view of the channel, to take back a stale frame.
    stale: Option<Receiver<SourceEvent>>,
    recycled: Receiver<RgbImage>,
    spare: Option<RgbImage>,
    stop: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
}

impl Producer {
    /// A buffer of any size for the next frame: a returned one when available.
    pub fn any_buffer(&mut self) -> RgbImage {
        self.spare.take().or_else(|| self.recycled.try_recv().ok()).unwrap_or_default()
    }

    /// A buffer of `w` x `h` for the next frame: a returned one when available.
    pub fn buffer(&mut self, w: u32, h: u32) -> RgbImage {
        let mut raw = self.any_buffer().into_raw();
        raw.resize(w as usize * h as usize * 3, 0);
        RgbImage::from_raw(w, h, raw).expect("buffer length was just set to w * h * 3")
    }

    /// Keeps an unused buffer for the next frame.
    pub fn keep(&mut self, image: RgbImage) {
        self.spare = Some(image);
    }

    /// Sends an event, waiting for room; false when the consumer is gone or asked to stop.
    pub fn send(&self, mut event: SourceEvent) -> bool {
        loop {
            if self.stopped() {
                return false;
            }
            match self.events.send_timeout(event, STOP_POLL) {
                Ok(()) => return true,
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => event = back,
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return false,
            }
        }
    }

    /// Live policy: sends `frame`, replacing a stale frame still in the channel.
    pub fn send_newest(&mut self, frame: Frame) -> bool {
        let mut event = SourceEvent::Frame(frame);
        loop {
            if self.stopped() {
                return false;
            }
            match self.events.try_send(event) {
                Ok(()) => return true,
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => return false,
                Err(crossbeam_channel::TrySendError::Full(back)) => {
                    event = back;
                    match self.stale.as_ref().map(Receiver::try_recv) {
                        Some(Ok(SourceEvent::Frame(old))) => {
                            self.dropped.fetch_add(1, Ordering::Relaxed);
                            self.spare = Some(old.image);
                        }
                        // A status event must not be lost: put it back first, then wait.
                        Some(Ok(status)) => return self.send(status) && self.send(event),
                        Some(Err(_)) => {}
                        None => return self.send(event),
                    }
                }
            }
        }
    }

    /// Sleeps up to `d`, waking early to stop; false when asked to stop.
    pub fn sleep(&self, d: Duration) -> bool {
        let end = std::time::Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(STOP_POLL));
        }
    }

    /// Asked to stop (the consumer's handle was dropped).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl SourceHandle {
    /// Starts `body` on a named thread with a bounded channel sized for `delivery`.
    pub(crate) fn start(
        name: &str,
        delivery: Delivery,
        body: impl FnOnce(Producer) + Send + 'static,
    ) -> Result<Self, SourceError> {
        let capacity = match delivery {
            Delivery::EveryFrame => CHANNEL_FRAMES,
            Delivery::NewestOnly => LIVE_CHANNEL_FRAMES,
        };
        let (events_tx, events_rx) = bounded(capacity);
        let (recycle_tx, recycle_rx) = bounded(RECYCLED_FRAMES);
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let producer = Producer {
            events: events_tx,
            stale: (delivery == Delivery::NewestOnly).then(|| events_rx.clone()),
            recycled: recycle_rx,
            spare: None,
            stop: stop.clone(),
            dropped: dropped.clone(),
        };
        let thread =
            std::thread::Builder::new().name(format!("source-{name}")).spawn(move || body(producer)).map_err(|e| {
                SourceError::Open { path: PathBuf::from(name), reason: format!("cannot start thread: {e}") }
            })?;
        Ok(Self { events: Some(events_rx), recycle: recycle_tx, stop, dropped, delivery, thread: Some(thread) })
    }

    /// The delivery policy of this source.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// Stale frames dropped so far (live sources only).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The event stream; it ends (disconnects) when the source is exhausted.
    pub fn events(&self) -> &Receiver<SourceEvent> {
        self.events.as_ref().expect("events is only taken in drop")
    }

    /// Gives a frame's buffer back to the decoder for reuse.
    pub fn recycle(&self, image: RgbImage) {
        let _ = self.recycle.try_send(image);
    }
}

impl Drop for SourceHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.events.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Why a file or folder could not be opened, for a one-line message: "`missing`" (e.g.
/// "file not found") when it does not exist, else the system's reason with `doing` before it.
pub fn io_reason(e: &std::io::Error, missing: &str, doing: &str) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => missing.to_string(),
        _ if doing.is_empty() => e.to_string(),
        _ => format!("{doing}: {e}"),
    }
}

/// File name for messages: the last path component, or the whole path.
pub fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
