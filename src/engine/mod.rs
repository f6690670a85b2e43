//! The one analysis engine: source -> detect -> classify -> track, on its own threads.
//!
//! Every command and the app run this engine; they differ only in its options:
//! - **delivery** ([`Delivery`]): every analysed frame reaches the consumer (offline work;
//!   the engine waits for a slow consumer), or only the newest (live views; a stale result
//!   is replaced and its buffers reused);
//! - **pacing** ([`Pacing`]): a video is analysed as fast as possible, or at its own speed
//!   on the wall clock (frames that fall behind are skipped, as a camera would drop them);
//! - **repeat**: a file source starts again when it ends and a source that cannot be
//!   opened is retried (the app), or the run ends (the commands).
//!
//! Threads: the source decodes on its own thread; the *detect* thread reads it, applies
//! pacing and commands, and runs the face detector on the frames its [`cadence`] picks
//! (every frame, every Nth, or adaptively from the tracks: after an adaptive detection it
//! waits for the track thread's summary of the tracks, which comes right after the
//! tracker's update and before classification, so the two threads still overlap);
//! the *track* thread classifies the faces
//! the tracker selects, updates the tracks and delivers an [`AnalysedFrame`]. Bounded
//! channels join them; frame and result buffers travel back for reuse, so a steady stream
//! allocates nothing per frame. Tracking is done here, once, with the semantics documented
//! in [`crate::tracking::tracker`].

pub mod cadence;
pub mod pacing;
pub mod rate;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};
use image::RgbImage;
use ort::environment::Environment;
use thiserror::Error;

use crate::logs::{RateLimited, error_chain};
pub use crate::source::Delivery;
use crate::source::{FrameTime, SourceError, SourceEvent, SourceHandle, SourceSpec};
use crate::tracking::{TrackSnapshot, Tracker, TrackingSettings};
use crate::vision::{self, ClassifierSpec, DetectorSpec, Face, FaceDetector, VisionError};
use crate::warn_limited;
pub use cadence::DetectEvery;
use cadence::{Cadence, TrackState};
use pacing::{Pace, RealTimePacer};
pub use rate::RateMeter;

/// Frames that may wait between detection and classification.
pub const STAGE_FRAMES: usize = 2;
/// Analysed frames that may wait for an every-frame consumer.
pub const EVERY_FRAME_RESULTS: usize = 2;
/// Analysed frames kept for a newest-only consumer: just the newest.
pub const NEWEST_RESULTS: usize = 1;
/// Result buffers the consumer may hand back for reuse.
pub const RECYCLED_RESULTS: usize = 4;
/// Status events that may wait for the consumer (more are dropped: they repeat anyway).
pub const EVENT_SLOTS: usize = 64;
/// Commands that may wait for the engine.
pub const COMMAND_SLOTS: usize = 16;
/// Track summaries that may wait for the detect thread (it waits for each, so one is enough;
/// the spare slot means the track thread never blocks on it).
const TRACK_STATE_SLOTS: usize = 2;
/// Time between two frames assumed until two frames have been seen (30 frames/s).
const DEFAULT_FRAME_INTERVAL_S: f32 = 1.0 / 30.0;
/// How long to wait before opening a missing source again (repeat mode).
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(2);
/// A live source (a camera) that delivers no frame for this long, seconds, has stalled: the
/// engine reports [`EngineEvent::Stalled`] and reopens it. Cameras deliver 15-60 frames a
/// second, so 2 s is dozens of missed frames, yet short enough that visitors see a message
/// before they walk away. Files are not watched: for them a silence is the end (and a loop).
pub const STALL_AFTER_S: f64 = 2.0;
/// How often a waiting thread checks for commands and for a stop.
const POLL: Duration = Duration::from_millis(50);

/// Whether a video is analysed at its own speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pacing {
    /// As fast as the engine (and an every-frame consumer) can go.
    #[default]
    AsFastAsPossible,
    /// At the media time's pace on the wall clock, skipping frames that fall behind.
    RealTime,
}

/// Called on the engine's thread with every analysed frame, before it is delivered
/// (e.g. to record every frame while a live view only shows the newest).
pub type FrameTap = Box<dyn FnMut(&AnalysedFrame) + Send>;

/// How the engine runs.
pub struct EngineOptions {
    pub delivery: Delivery,
    pub pacing: Pacing,
    /// When the detector runs: every frame, every Nth, or adaptively (see [`cadence`]);
    /// the tracks are carried by their motion model in between. Still images (a picture,
    /// a folder) are always detected frame by frame.
    pub detect_every: DetectEvery,
    /// Start a file source again when it ends, and retry a source that cannot be opened.
    pub repeat: bool,
    /// Shown while the source cannot be opened (repeat mode): analysed once per outage, so
    /// an exhibit without its camera still shows a picture with its faces covered. One
    /// engine, one set of models: the engine plays the fallback between two retries and
    /// goes back to the source the moment it opens (see [`EngineEvent::SourceOpened`]).
    /// A second engine on the sample would hold a second copy of every model.
    pub fallback: Option<SourceSpec>,
    pub tap: Option<FrameTap>,
    /// Names tracks of enrolled people (see [`crate::identity`]); `None`: recognition off.
    pub identity: Option<crate::identity::TrackNamer>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            delivery: Delivery::EveryFrame,
            pacing: Pacing::AsFastAsPossible,
            detect_every: DetectEvery::EVERY_FRAME,
            repeat: false,
            fallback: None,
            tap: None,
            identity: None,
        }
    }
}

impl EngineOptions {
    /// Offline work: every frame, as fast as possible, once.
    pub fn offline() -> Self {
        Self::default()
    }
}

/// The models and the tracking the engine runs.
#[derive(Debug, Clone)]
pub struct EngineModels {
    pub env: &'static Environment,
    pub detector: DetectorSpec,
    pub classifier: ClassifierSpec,
    pub tracking: TrackingSettings,
    /// Classify on remote workers through this broker, with the local model as fallback
    /// (see [`crate::remote`]); `None`: the local model only.
    pub broker: Option<crate::remote::BrokerSettings>,
}

/// Requests to a running engine.
#[derive(Debug, Clone)]
pub enum EngineCommand {
    /// Open another detector (the old one runs until the new one is open).
    Detector(DetectorSpec),
    /// New tracking settings: the tracks start again, ids go on counting.
    Tracking(TrackingSettings),
    /// When the detector runs from now on (the next frame is detected).
    DetectEvery(DetectEvery),
    /// Stop reading the source (true) or go on (false).
    Pause(bool),
}

/// What the engine reports besides frames.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A detector is running (at start and after each switch).
    Detector { name: String },
    /// The detector asked for could not be opened; the previous one goes on.
    DetectorFailed(String),
    /// The source cannot be opened; retried every [`REOPEN_INTERVAL`] (frames that arrive
    /// meanwhile come from [`EngineOptions::fallback`]).
    SourceUnavailable(String),
    /// The source opened after being unavailable: its frames follow.
    SourceOpened,
    /// A live source went away; it is being retried.
    Lost(String),
    /// A lost live source delivers frames again.
    Restored(String),
    /// A live source delivered no frame for [`STALL_AFTER_S`]; it is being reopened.
    Stalled(String),
    /// The source ended (and starts again when repeating).
    SourceEnded,
}

/// Errors when starting the engine.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Vision(#[from] VisionError),
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The broker settings (a missing model stays [`EngineError::Vision`]).
    #[error(transparent)]
    Remote(crate::remote::RemoteError),
    #[error("cannot start the {name} thread")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::remote::RemoteError> for EngineError {
    /// A model that cannot be opened stays a vision error (the app names the file and the fix).
    fn from(e: crate::remote::RemoteError) -> Self {
        match e {
            crate::remote::RemoteError::Vision(v) => Self::Vision(v),
            other => Self::Remote(other),
        }
    }
}

/// What happened over a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Frames analysed and delivered (or offered, for a newest-only consumer).
    pub frames: u64,
    /// Faces classified.
    pub faces: u64,
    /// Frames or images that could not be decoded or analysed (logged as warnings).
    pub skipped: u64,
    /// Frames the detector ran on (the others carried the tracks' boxes).
    pub detections: u64,
    /// Frames left out to keep up: stale camera frames, video frames behind real time,
    /// results the consumer did not take in time.
    pub dropped: u64,
}

/// One analysed frame with every track.
#[derive(Debug, Default)]
pub struct AnalysedFrame {
    /// 0-based position in the source (counts skipped frames too).
    pub index: u64,
    pub time: FrameTime,
    /// The file it came from (images) or empty (video, camera).
    pub name: String,
    pub image: RgbImage,
    /// Whether the detector ran on this frame.
    pub detected: bool,
    /// The faces classified on this frame, in track order (see [`crate::tracking::tracker`]).
    pub faces: Vec<Face>,
    /// `faces.len() * labels.len()` raw probabilities, face by face.
    pub probabilities: Vec<f32>,
    /// `[valence, arousal]` of each classified face (empty when the classifier has no
    /// label coordinates; see [`crate::vision::affect`]).
    pub affect: Vec<[f32; 2]>,
    /// Every track after this frame; a track's `observed_row` indexes `faces`.
    pub tracks: TrackSnapshot,
    /// The classifier's labels.
    pub labels: Arc<[String]>,
    /// When the engine received the frame from the source.
    pub received_at: Option<Instant>,
    /// Detection + classification time for this frame, ms.
    pub inference_ms: f32,
    /// Frames per second the source delivered (wall clock).
    pub source_fps: f32,
}

impl AnalysedFrame {
    pub fn num_classes(&self) -> usize {
        self.labels.len()
    }

    /// Raw probabilities of classified face `row`.
    pub fn probabilities_of(&self, row: usize) -> &[f32] {
        let n = self.num_classes();
        self.probabilities.get(row * n..(row + 1) * n).unwrap_or_default()
    }

    /// Raw probabilities of track `i` on this frame, when it was classified.
    pub fn track_probabilities(&self, i: usize) -> Option<&[f32]> {
        let row = self.tracks.tracks.get(i)?.observed_row?;
        Some(self.probabilities_of(row))
    }
}

/// The consumer's end of a running engine. Dropping it stops and joins the threads.
pub struct Engine {
    frames: Option<Receiver<AnalysedFrame>>,
    events: Receiver<EngineEvent>,
    commands: Option<Sender<EngineCommand>>,
    recycle: Sender<AnalysedFrame>,
    labels: Arc<[String]>,
    detector_name: String,
    stop: Arc<AtomicBool>,
    summary: Arc<Mutex<RunSummary>>,
    threads: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Opens the models (and, unless repeating, the source) and starts the threads.
    /// Errors here are immediate: a missing model, file or camera.
    pub fn start(source: SourceSpec, models: EngineModels, options: EngineOptions) -> Result<Self, EngineError> {
        let classifier = crate::remote::Classify::open(models.env, &models.classifier, models.broker.as_ref())?;
        let detector = vision::open_face_detector(models.env, &models.detector)?;
        let first_source = if options.repeat { None } else { Some(source.spawn()?) };
        let labels: Arc<[String]> = classifier.labels().to_vec().into();
        let detector_name = detector.name().to_string();

        let results_capacity = match options.delivery {
            Delivery::EveryFrame => EVERY_FRAME_RESULTS,
            Delivery::NewestOnly => NEWEST_RESULTS,
        };
        let (results_tx, results_rx) = bounded(results_capacity);
        let (events_tx, events_rx) = bounded(EVENT_SLOTS);
        let (commands_tx, commands_rx) = bounded(COMMAND_SLOTS);
        let (recycle_tx, recycle_rx) = bounded(RECYCLED_RESULTS);
        let (stage_tx, stage_rx) = bounded(STAGE_FRAMES);
        let (images_tx, images_rx) = bounded(crate::source::RECYCLED_FRAMES);
        let (faces_tx, faces_rx) = bounded(STAGE_FRAMES + 2);
        let (track_state_tx, track_state_rx) = bounded(TRACK_STATE_SLOTS);
        // Pictures are unrelated to each other: nothing to carry from one to the next.
        let detect_every = if source.is_stream() { options.detect_every } else { DetectEvery::EVERY_FRAME };
        let stop = Arc::new(AtomicBool::new(false));
        let summary = Arc::new(Mutex::new(RunSummary::default()));
        let shared = Shared { stop: stop.clone(), summary: summary.clone() };

        let detect = DetectStage {
            stall_after: stall_after(&source),
            spec: source,
            source: first_source,
            detector,
            env: models.env,
            cadence: Cadence::new(detect_every),
            track_state: track_state_rx,
            pacing: options.pacing,
            repeat: options.repeat,
            fallback: options.fallback,
            paused: false,
            commands: commands_rx,
            out: stage_tx,
            events: events_tx.clone(),
            images_back: images_rx,
            faces_back: faces_rx,
            shared: shared.clone(),
        };
        let track = TrackStage {
            classifier,
            tracker: Tracker::new(models.tracking, &labels),
            labels: labels.clone(),
            delivery: options.delivery,
            tap: options.tap,
            identity: options.identity,
            input: stage_rx,
            out: results_tx,
            stale: results_rx.clone(),
            recycle: recycle_rx,
            images_back: images_tx,
            faces_back: faces_tx,
            track_state: track_state_tx,
            last_time_s: None,
            frame_interval_s: DEFAULT_FRAME_INTERVAL_S,
            shared: shared.clone(),
        };
        let spawn = |name: &'static str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(format!("engine-{name}"))
                .spawn(body)
                .map_err(|source| EngineError::Thread { name, source })
        };
        let threads =
            vec![spawn("detect", Box::new(move || detect.run()))?, spawn("track", Box::new(move || track.run()))?];
        Ok(Self {
            frames: Some(results_rx),
            events: events_rx,
            commands: Some(commands_tx),
            recycle: recycle_tx,
            labels,
            detector_name,
            stop,
            summary,
            threads,
        })
    }

    /// The analysed frames; the stream ends when the source ends (without repeat).
    pub fn frames(&self) -> &Receiver<AnalysedFrame> {
        self.frames.as_ref().expect("frames is only taken in drop")
    }

    /// Status events (detector, source lost/restored...).
    pub fn events(&self) -> &Receiver<EngineEvent> {
        &self.events
    }

    /// Sends a command; dropped when the queue is full (the settings are sent again on change).
    pub fn send(&self, command: EngineCommand) {
        if let Some(c) = &self.commands {
            let _ = c.try_send(command);
        }
    }

    /// Gives a frame's buffers back for reuse.
    pub fn recycle(&self, frame: AnalysedFrame) {
        let _ = self.recycle.try_send(frame);
    }

    /// The classifier's labels.
    pub fn labels(&self) -> &Arc<[String]> {
        &self.labels
    }

    /// The detector opened at start.
    pub fn detector_name(&self) -> &str {
        &self.detector_name
    }

    /// The counts so far.
    pub fn summary(&self) -> RunSummary {
        self.summary.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the threads and returns what happened.
    pub fn finish(mut self) -> RunSummary {
        self.shut_down();
        self.summary()
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.frames.take());
        drop(self.commands.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// How long a silence of `spec` means it has stalled: cameras only (see [`STALL_AFTER_S`]).
fn stall_after(spec: &SourceSpec) -> Option<Duration> {
    matches!(spec, SourceSpec::Camera(_)).then(|| Duration::from_secs_f64(STALL_AFTER_S))
}

/// What the detect thread hands the track thread.
enum Stage {
    Frame {
        frame: crate::source::Frame,
        faces: Vec<Face>,
        detected: bool,
        /// The detect thread waits for the tracks' state after this frame ([`TrackState`]).
        wants_track_state: bool,
        detect_ms: f32,
        received_at: Instant,
        source_fps: f32,
    },
    Tracking(TrackingSettings),
    /// A new pass of the source: the tracks start again.
    NewPass,
}

struct DetectStage {
    spec: SourceSpec,
    source: Option<SourceHandle>,
    detector: Box<dyn FaceDetector>,
    env: &'static Environment,
    cadence: Cadence,
    /// The tracks' state after an adaptive detection, from the track thread.
    track_state: Receiver<TrackState>,
    pacing: Pacing,
    repeat: bool,
    fallback: Option<SourceSpec>,
    /// How long a silence means the source has stalled (live sources only).
    stall_after: Option<Duration>,
    paused: bool,
    commands: Receiver<EngineCommand>,
    out: Sender<Stage>,
    events: Sender<EngineEvent>,
    images_back: Receiver<RgbImage>,
    faces_back: Receiver<Vec<Face>>,
    shared: Shared,
}

/// Why a loop ends.
enum Flow {
    Go,
    Stop,
}

/// What both engine threads share: the stop request and the counts.
#[derive(Clone)]
struct Shared {
    stop: Arc<AtomicBool>,
    summary: Arc<Mutex<RunSummary>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn count(&self, f: impl FnOnce(&mut RunSummary)) {
        if let Ok(mut s) = self.summary.lock() {
            f(&mut s);
        }
    }

    /// Sends `item`, waiting for room; `Stop` when the receiver is gone or a stop was asked.
    fn send<T>(&self, tx: &Sender<T>, mut item: T) -> Flow {
        loop {
            if self.stopped() {
                return Flow::Stop;
            }
            match tx.send_timeout(item, POLL) {
                Ok(()) => return Flow::Go,
                Err(crossbeam_channel::SendTimeoutError::Timeout(back)) => item = back,
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Flow::Stop,
            }
        }
    }
}

impl DetectStage {
    fn stopped(&self) -> bool {
        self.shared.stopped()
    }

    fn event(&self, e: EngineEvent) {
        let _ = self.events.try_send(e);
    }

    fn count(&self, f: impl FnOnce(&mut RunSummary)) {
        self.shared.count(f);
    }

    /// Sends to the track thread, waiting for room; `Stop` when it is gone.
    fn send(&self, item: Stage) -> Flow {
        self.shared.send(&self.out, item)
    }

    /// Applies pending commands; `Stop` when the consumer is gone.
    fn poll_commands(&mut self, pacer: &mut RealTimePacer) -> Flow {
        loop {
            match self.commands.try_recv() {
                Ok(EngineCommand::Pause(p)) => {
                    if self.paused && !p {
                        pacer.reset();
                    }
                    self.paused = p;
                }
                Ok(EngineCommand::DetectEvery(mode)) => self.cadence.set_mode(mode),
                Ok(EngineCommand::Tracking(t)) => {
                    self.cadence.restart();
                    if let Flow::Stop = self.send(Stage::Tracking(t)) {
                        return Flow::Stop;
                    }
                }
                Ok(EngineCommand::Detector(spec)) => match vision::open_face_detector(self.env, &spec) {
                    Ok(d) => {
                        self.event(EngineEvent::Detector { name: d.name().to_string() });
                        self.detector = d;
                    }
                    Err(e) => {
                        let why = error_chain(&e);
                        tracing::warn!("detector not switched: {why}");
                        self.event(EngineEvent::DetectorFailed(why));
                    }
                },
                Err(crossbeam_channel::TryRecvError::Empty) => return Flow::Go,
                // The consumer dropped the engine; frames may still be read by an offline consumer
                // that never sends commands, so only a stop request ends the run.
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    return if self.stopped() { Flow::Stop } else { Flow::Go };
                }
            }
        }
    }

    /// Sleeps up to `d` while answering commands.
    fn wait(&mut self, d: Duration, pacer: &mut RealTimePacer) -> Flow {
        let end = Instant::now() + d;
        loop {
            if self.stopped() {
                return Flow::Stop;
            }
            if let Flow::Stop = self.poll_commands(pacer) {
                return Flow::Stop;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Flow::Go;
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    fn run(mut self) {
        let mut pacer = RealTimePacer::default();
        let mut unavailable = RateLimited::default();
        let mut first_pass = true;
        // Kept across passes, so a short looping video still shows its rate.
        let mut rate = RateMeter::default();
        // Whether the source could not be opened last time (the fallback has been shown).
        let mut missing = false;
        loop {
            let source = match self.source.take() {
                Some(s) => s,
                None => match self.spec.spawn() {
                    Ok(s) => {
                        if std::mem::take(&mut missing) {
                            self.event(EngineEvent::SourceOpened);
                        }
                        s
                    }
                    Err(e) => {
                        let why = error_chain(&e);
                        warn_limited!(unavailable, "{why}");
                        self.event(EngineEvent::SourceUnavailable(why));
                        if !std::mem::replace(&mut missing, true)
                            && let Flow::Stop = self.play_fallback(&mut first_pass, &mut pacer, &mut rate)
                        {
                            return;
                        }
                        if let Flow::Stop = self.wait(REOPEN_INTERVAL, &mut pacer) {
                            return;
                        }
                        continue;
                    }
                },
            };
            if !first_pass && let Flow::Stop = self.send(Stage::NewPass) {
                return;
            }
            first_pass = false;
            pacer.reset();
            if let Flow::Stop = self.play(&source, &mut pacer, &mut rate) {
                return;
            }
            if self.stall_after.is_some() {
                // A stalled device may hang its thread: dropping the handle joins it, so that
                // happens on a thread of its own, and the engine goes on to reopen the source.
                let _ = std::thread::Builder::new().name("engine-drop-source".into()).spawn(move || drop(source));
            }
            self.event(EngineEvent::SourceEnded);
            // A single image is analysed once; videos and folders start again when repeating.
            if !self.repeat || matches!(self.spec, SourceSpec::Image(_)) {
                return;
            }
        }
    }

    /// Plays the fallback source once (when there is one and it opens) as a pass of its own.
    fn play_fallback(&mut self, first_pass: &mut bool, pacer: &mut RealTimePacer, rate: &mut RateMeter) -> Flow {
        let Some(spec) = &self.fallback else { return Flow::Go };
        let source = match spec.spawn() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("no fallback picture: {}", error_chain(&e));
                return Flow::Go;
            }
        };
        if !std::mem::replace(first_pass, false)
            && let Flow::Stop = self.send(Stage::NewPass)
        {
            return Flow::Stop;
        }
        pacer.reset();
        self.play(&source, pacer, rate)
    }

    /// Waits for the track thread's summary of the tracks after an adaptive detection and
    /// sets the gap to the next one; `Stop` when the engine stops.
    fn await_track_state(&mut self) -> Flow {
        loop {
            match self.track_state.recv_timeout(POLL) {
                Ok(state) => {
                    self.cadence.tracked(&state);
                    return Flow::Go;
                }
                Err(RecvTimeoutError::Timeout) if !self.stopped() => {}
                Err(_) => return Flow::Stop,
            }
        }
    }

    /// Reads one pass of the source; `Go` when it ended.
    fn play(&mut self, source: &SourceHandle, pacer: &mut RealTimePacer, rate: &mut RateMeter) -> Flow {
        // Each pass (and the fallback picture) starts with a detection.
        self.cadence.restart();
        let mut skipped_log = RateLimited::default();
        let mut detect_log = RateLimited::default();
        let mut lost_log = RateLimited::default();
        let mut dropped_before = 0;
        let paced = self.pacing == Pacing::RealTime && self.spec.is_video();
        // The stall watchdog: when the last frame (or pause, or loss report) came.
        let mut last_sign = Instant::now();
        let mut lost = false;
        loop {
            if let Flow::Stop = self.poll_commands(pacer) {
                return Flow::Stop;
            }
            if self.paused {
                if let Flow::Stop = self.wait(POLL, pacer) {
                    return Flow::Stop;
                }
                last_sign = Instant::now();
                continue;
            }
            for image in self.images_back.try_iter() {
                source.recycle(image);
            }
            let event = match source.events().recv_timeout(POLL) {
                Ok(e) => e,
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(after) = self.stall_after
                        && !lost
                        && last_sign.elapsed() >= after
                    {
                        let what =
                            format!("{} delivered no frame for {STALL_AFTER_S} s: reopening it", self.spec.describe());
                        tracing::warn!("{what}");
                        self.event(EngineEvent::Stalled(what));
                        return Flow::Go;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return Flow::Go,
            };
            last_sign = Instant::now();
            let frame = match event {
                SourceEvent::Frame(f) => {
                    lost = false;
                    f
                }
                SourceEvent::Skipped { what, reason } => {
                    warn_limited!(skipped_log, "skipped {what}: {reason}");
                    self.count(|s| s.skipped += 1);
                    continue;
                }
                SourceEvent::Lost { reason } => {
                    warn_limited!(lost_log, "lost {reason}");
                    // The source retries a lost device itself; the watchdog waits for it.
                    lost = true;
                    self.event(EngineEvent::Lost(reason));
                    continue;
                }
                SourceEvent::Restored { what } => {
                    tracing::info!("{what} is back");
                    self.event(EngineEvent::Restored(what));
                    continue;
                }
            };
            let received_at = Instant::now();
            let source_fps = rate.tick(received_at);
            let dropped_now = source.dropped();
            if dropped_now != dropped_before {
                self.count(|s| s.dropped += dropped_now - dropped_before);
                dropped_before = dropped_now;
            }
            if paced {
                match pacer.pace(received_at, frame.time.seconds()) {
                    Pace::Analyse => {}
                    Pace::WaitThen(d) => {
                        if let Flow::Stop = self.wait(d, pacer) {
                            return Flow::Stop;
                        }
                    }
                    Pace::Skip => {
                        tracing::trace!("frame {} behind real time: skipped", frame.index);
                        self.count(|s| s.dropped += 1);
                        source.recycle(frame.image);
                        continue;
                    }
                }
            }
            let mut faces = self.faces_back.try_recv().unwrap_or_default();
            faces.clear();
            let detected = self.cadence.decide(frame.index, &frame.image);
            let started = Instant::now();
            if detected && let Err(e) = self.detector.detect(&frame.image, &mut faces) {
                warn_limited!(detect_log, "skipped frame {}: {}", frame.index, error_chain(&e));
                self.count(|s| s.skipped += 1);
                self.cadence.restart();
                source.recycle(frame.image);
                continue;
            }
            let detect_ms = started.elapsed().as_secs_f32() * 1000.0;
            if detected {
                self.count(|s| s.detections += 1);
                tracing::trace!("frame {}: {} face(s) detected in {detect_ms:.1} ms", frame.index, faces.len());
            }
            let wants_track_state = detected && self.cadence.needs_track_state();
            let item = Stage::Frame { frame, faces, detected, wants_track_state, detect_ms, received_at, source_fps };
            if let Flow::Stop = self.send(item) {
                return Flow::Stop;
            }
            if wants_track_state && let Flow::Stop = self.await_track_state() {
                return Flow::Stop;
            }
            // The silence is counted from here: slow analysis is not a stalled source.
            last_sign = Instant::now();
        }
    }
}

struct TrackStage {
    classifier: crate::remote::Classify,
    tracker: Tracker,
    labels: Arc<[String]>,
    delivery: Delivery,
    tap: Option<FrameTap>,
    identity: Option<crate::identity::TrackNamer>,
    input: Receiver<Stage>,
    out: Sender<AnalysedFrame>,
    /// Newest-only delivery: the engine's own view of the results, to take a stale one back.
    stale: Receiver<AnalysedFrame>,
    recycle: Receiver<AnalysedFrame>,
    images_back: Sender<RgbImage>,
    faces_back: Sender<Vec<Face>>,
    /// The tracks' state after a detection, for the detect thread's adaptive cadence.
    track_state: Sender<TrackState>,
    /// Media time of the previous frame, and the interval between the latest two.
    last_time_s: Option<f64>,
    frame_interval_s: f32,
    shared: Shared,
}

impl TrackStage {
    fn stopped(&self) -> bool {
        self.shared.stopped()
    }

    fn count(&self, f: impl FnOnce(&mut RunSummary)) {
        self.shared.count(f);
    }

    fn run(mut self) {
        let mut spare: Option<AnalysedFrame> = None;
        let mut classify_log = RateLimited::default();
        loop {
            let item = match self.input.recv_timeout(POLL) {
                Ok(i) => i,
                Err(RecvTimeoutError::Timeout) => {
                    if self.stopped() {
                        return;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let (frame, detections, detected, wants_track_state, detect_ms, received_at, source_fps) = match item {
                Stage::Frame { frame, faces, detected, wants_track_state, detect_ms, received_at, source_fps } => {
                    (frame, faces, detected, wants_track_state, detect_ms, received_at, source_fps)
                }
                Stage::Tracking(settings) => {
                    let next = self.tracker.next_id();
                    self.tracker = Tracker::new(settings, &self.labels);
                    self.tracker.continue_ids_from(next);
                    self.last_time_s = None;
                    continue;
                }
                Stage::NewPass => {
                    self.tracker.clear();
                    self.last_time_s = None;
                    continue;
                }
            };
            let mut out = spare.take().or_else(|| self.recycle.try_recv().ok()).unwrap_or_default();
            let started = Instant::now();
            let time_s = frame.time.seconds();
            let dets = detected.then_some(detections.as_slice());
            self.tracker.step(time_s, dets);
            if let Some(last) = self.last_time_s.replace(time_s) {
                let dt = (time_s - last) as f32;
                if dt > 0.0 {
                    self.frame_interval_s = dt;
                }
            }
            if wants_track_state {
                // Before classification: the detect thread goes on while this frame is classified.
                let state = TrackState::of(self.tracker.tracks(), self.frame_interval_s);
                let _ = self.track_state.try_send(state);
            }
            self.tracker.select_faces(dets, &mut out.faces);
            if let Err(e) = self.classifier.classify_faces(&frame.image, &out.faces, &mut out.probabilities) {
                warn_limited!(classify_log, "skipped frame {}: {}", frame.index, error_chain(&e));
                self.count(|s| s.skipped += 1);
                let _ = self.images_back.try_send(frame.image);
                let _ = self.faces_back.try_send(detections);
                spare = Some(out);
                continue;
            }
            self.tracker.observe(time_s, &out.probabilities);
            out.affect.clear();
            out.affect.extend_from_slice(self.classifier.affect());
            self.tracker.observe_affect(time_s, &out.affect);
            self.tracker.snapshot_into(&mut out.tracks);
            if let Some(namer) = self.identity.as_mut() {
                namer.name_tracks(&frame.image, &out.faces, &mut out.tracks);
            }
            let _ = self.faces_back.try_send(detections);
            out.index = frame.index;
            out.time = frame.time;
            out.name.clear();
            out.name.push_str(&frame.name);
            let old = std::mem::replace(&mut out.image, frame.image);
            if old.width() > 0 {
                let _ = self.images_back.try_send(old);
            }
            out.detected = detected;
            out.labels = self.labels.clone();
            out.received_at = Some(received_at);
            out.inference_ms = detect_ms + started.elapsed().as_secs_f32() * 1000.0;
            out.source_fps = source_fps;
            let faces = out.faces.len() as u64;
            self.count(|s| {
                s.frames += 1;
                s.faces += faces;
            });
            if let Some(tap) = self.tap.as_mut() {
                tap(&out);
            }
            match self.deliver(out, &mut spare) {
                Delivered::Yes => {}
                Delivered::Replaced => self.count(|s| s.dropped += 1),
                Delivered::Gone => return,
            }
        }
    }

    /// Hands `frame` to the consumer; a result it replaced (newest-only) goes to `spare`.
    fn deliver(&self, frame: AnalysedFrame, spare: &mut Option<AnalysedFrame>) -> Delivered {
        match self.delivery {
            Delivery::EveryFrame => match self.shared.send(&self.out, frame) {
                Flow::Go => Delivered::Yes,
                Flow::Stop => Delivered::Gone,
            },
            Delivery::NewestOnly => match self.out.try_send(frame) {
                Ok(()) => Delivered::Yes,
                Err(TrySendError::Disconnected(_)) => Delivered::Gone,
                Err(TrySendError::Full(back)) => {
                    // Replace the stale result the consumer has not taken (its buffers are reused).
                    *spare = self.stale.try_recv().ok();
                    let replaced = if spare.is_some() { Delivered::Replaced } else { Delivered::Yes };
                    match self.out.try_send(back) {
                        Ok(()) => replaced,
                        Err(TrySendError::Full(back)) => {
                            *spare = Some(back);
                            Delivered::Replaced
                        }
                        Err(TrySendError::Disconnected(_)) => Delivered::Gone,
                    }
                }
            },
        }
    }
}

enum Delivered {
    Yes,
    /// A stale result was left out (its buffers are reused).
    Replaced,
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A detector that finds nothing (the watchdog needs no models).
    struct NoFaces;

    impl FaceDetector for NoFaces {
        fn detect(&mut self, _: &RgbImage, faces: &mut Vec<Face>) -> Result<(), VisionError> {
            faces.clear();
            Ok(())
        }

        fn name(&self) -> &str {
            "none"
        }
    }

    /// A camera-like source that delivers `frames` frames, then nothing until it is stopped.
    fn stalling_source(frames: u64) -> SourceHandle {
        SourceHandle::start("stalling", Delivery::NewestOnly, move |mut p| {
            for index in 0..frames {
                let image = RgbImage::new(8, 8);
                let frame = crate::source::Frame { index, time: FrameTime::default(), name: String::new(), image };
                if !p.send_newest(frame) {
                    return;
                }
            }
            while p.sleep(POLL) {}
        })
        .expect("the fake source starts")
    }

    #[test]
    fn a_live_source_that_stops_delivering_is_reported_stalled_and_left_for_a_reopen() {
        let env = crate::runtime::environment(None).expect("ONNX Runtime (scripts/setup.sh fetches it)");
        let (out_tx, out_rx) = bounded(STAGE_FRAMES);
        let (events_tx, events_rx) = bounded(EVENT_SLOTS);
        let (_commands_tx, commands_rx) = bounded(COMMAND_SLOTS);
        let (_images_tx, images_rx) = bounded(1);
        let (_faces_tx, faces_rx) = bounded(1);
        let (_track_state_tx, track_state_rx) = bounded(1);
        let spec = SourceSpec::Camera(crate::source::camera::CameraRequest::new(99));
        let mut stage = DetectStage {
            stall_after: stall_after(&spec),
            spec,
            source: None,
            detector: Box::new(NoFaces),
            env,
            cadence: Cadence::new(DetectEvery::EVERY_FRAME),
            track_state: track_state_rx,
            pacing: Pacing::RealTime,
            repeat: true,
            fallback: None,
            paused: false,
            commands: commands_rx,
            out: out_tx,
            events: events_tx,
            images_back: images_rx,
            faces_back: faces_rx,
            shared: Shared { stop: Arc::new(AtomicBool::new(false)), summary: Arc::default() },
        };
        let source = stalling_source(1);
        let started = Instant::now();
        let flow = stage.play(&source, &mut RealTimePacer::default(), &mut RateMeter::default());
        let waited_s = started.elapsed().as_secs_f64();
        assert!(matches!(flow, Flow::Go), "the pass ends so that the source is reopened");
        assert!((STALL_AFTER_S..STALL_AFTER_S + 1.0).contains(&waited_s), "stalled after {waited_s:.2} s");
        assert_eq!(out_rx.try_iter().count(), 1, "the frame before the stall was analysed");
        let events: Vec<EngineEvent> = events_rx.try_iter().collect();
        assert!(
            matches!(&events[..], [EngineEvent::Stalled(m)] if m.contains("camera 99") && m.contains("no frame")),
            "{events:?}"
        );
        // Files are not watched: a silence there is the end of the file.
        assert_eq!(stall_after(&SourceSpec::Video("clip.mp4".into())), None);
    }
}
