//! Frame sources: a single image, an image folder, a video file.
//!
//! Every source decodes on its own thread and feeds a bounded channel
//! ([`SourceHandle::events`]). File sources deliver every frame in order (offline
//! work: nothing is dropped; the decoder waits while the consumer is busy).
//! Image buffers go back to the decoder through [`SourceHandle::recycle`], so a
//! steady stream allocates nothing per frame.

pub mod images;
pub mod video;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, bounded};
use image::RgbImage;
use thiserror::Error;

/// Frames that may wait between the decoder and the consumer.
pub const CHANNEL_FRAMES: usize = 4;
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
}

/// When a frame was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FrameTime {
    /// Media timestamp from the file's start (video).
    Media(Duration),
    /// Wall-clock time it was read (images, live input).
    Wall(SystemTime),
}

impl FrameTime {
    /// `HH:MM:SS` (media time from the start, or local wall-clock time).
    pub fn hms(&self) -> String {
        match self {
            FrameTime::Media(d) => {
                let s = d.as_secs();
                format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
            }
            FrameTime::Wall(t) => chrono::DateTime::<chrono::Local>::from(*t)
                .format("%H:%M:%S")
                .to_string(),
        }
    }

    /// Seconds: media seconds, or seconds since the Unix epoch.
    pub fn seconds(&self) -> f64 {
        match self {
            FrameTime::Media(d) => d.as_secs_f64(),
            FrameTime::Wall(t) => t
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
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
    /// The source cannot go on; nothing follows.
    Failed(SourceError),
}

/// Which input to read.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    Image(PathBuf),
    ImageDir { dir: PathBuf, looped: bool },
    Video(PathBuf),
}

impl SourceSpec {
    /// Opens the source (errors here are immediate: missing file, empty folder,
    /// unreadable video) and starts its decoding thread.
    pub fn spawn(&self) -> Result<SourceHandle, SourceError> {
        match self {
            SourceSpec::Image(path) => images::spawn(vec![path.clone()], false),
            SourceSpec::ImageDir { dir, looped } => images::spawn(images::list_images(dir)?, *looped),
            SourceSpec::Video(path) => video::spawn(path),
        }
    }

    /// The file or folder read.
    pub fn path(&self) -> &Path {
        match self {
            SourceSpec::Image(p) | SourceSpec::Video(p) | SourceSpec::ImageDir { dir: p, .. } => p,
        }
    }

    /// Whether frame times are media times (files with a timeline) or wall-clock.
    pub fn is_video(&self) -> bool {
        matches!(self, SourceSpec::Video(_))
    }
}

/// The consumer's end of a running source. Dropping it stops and joins the thread.
pub struct SourceHandle {
    events: Option<Receiver<SourceEvent>>,
    recycle: Sender<RgbImage>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The producer's end, handed to a source thread.
pub(crate) struct Producer {
    pub events: Sender<SourceEvent>,
    pub recycled: Receiver<RgbImage>,
    pub stop: Arc<AtomicBool>,
}

impl Producer {
    /// A buffer of `w` x `h` for the next frame: a returned one when available.
    pub fn buffer(&self, w: u32, h: u32) -> RgbImage {
        let mut raw = self.recycled.try_recv().map(RgbImage::into_raw).unwrap_or_default();
        raw.resize(w as usize * h as usize * 3, 0);
        RgbImage::from_raw(w, h, raw).expect("buffer length was just set to w * h * 3")
    }

    /// Sends an event; false when the consumer is gone or asked to stop.
    pub fn send(&self, event: SourceEvent) -> bool {
        !self.stop.load(Ordering::Relaxed) && self.events.send(event).is_ok()
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl SourceHandle {
    /// Starts `body` on a named thread with a bounded channel of [`CHANNEL_FRAMES`].
    pub(crate) fn start(name: &str, body: impl FnOnce(Producer) + Send + 'static) -> Result<Self, SourceError> {
        let (events_tx, events_rx) = bounded(CHANNEL_FRAMES);
        let (recycle_tx, recycle_rx) = bounded(RECYCLED_FRAMES);
        let stop = Arc::new(AtomicBool::new(false));
        let producer = Producer {
            events: events_tx,
            recycled: recycle_rx,
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("source-{name}"))
            .spawn(move || body(producer))
            .map_err(|e| SourceError::Open {
                path: PathBuf::from(name),
                reason: format!("cannot start thread: {e}"),
            })?;
        Ok(Self {
            events: Some(events_rx),
            recycle: recycle_tx,
            stop,
            thread: Some(thread),
        })
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

/// File name for messages: the last path component, or the whole path.
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}
