//! The analysis worker: a plain thread that reads the source, detects and classifies,
//! and hands the newest result to the app through a bounded channel.
//!
//! Video files are paced to real time (frames that fall behind are skipped, like a
//! live camera) and loop; a missing camera is reported and retried.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use image::RgbImage;

use crate::config::Settings;
use crate::source::{SourceEvent, SourceHandle, SourceSpec};
use crate::vision::{self, EmotionClassifier, Face, FaceDetector};

/// How long to wait before trying a missing source again.
const REOPEN_INTERVAL: Duration = Duration::from_secs(2);
/// Results buffered for the app: just the newest.
const RESULT_SLOTS: usize = 1;
/// Recycled result buffers kept by the worker.
const RECYCLE_SLOTS: usize = 4;

/// One analysed frame.
#[derive(Debug, Default)]
pub struct Analysis {
    pub image: RgbImage,
    pub index: u64,
    /// Seconds on the source's clock (media or wall time).
    pub time_s: f64,
    /// When the worker received the frame from the source.
    pub captured_at: Option<Instant>,
    pub detections: Vec<Face>,
    /// `detections.len() * labels.len()` probabilities.
    pub probabilities: Vec<f32>,
    /// Detection + classification time for this frame.
    pub inference_ms: f32,
    /// Frames the source delivered per second (before any dropping).
    pub source_fps: f32,
}

/// What the worker reports besides frames.
#[derive(Debug, Clone)]
pub enum WorkerStatus {
    Running {
        labels: Vec<String>,
        detector: String,
    },
    /// The source or a model cannot be opened; the message says what to do.
    Unavailable(String),
    /// A live source went away (it is being retried).
    Lost(String),
}

/// Requests from the app to the worker.
#[derive(Debug, Clone)]
pub enum WorkerCommand {
    /// New pipeline settings: the detector is reopened when its settings changed.
    Settings(Box<Settings>),
    Pause(bool),
}

/// The app's end of the worker. Dropping it stops and joins the thread.
#[derive(Resource)]
pub struct AnalysisWorker {
    pub results: Receiver<Analysis>,
    pub status: Receiver<WorkerStatus>,
    recycle: Sender<Analysis>,
    commands: Sender<WorkerCommand>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AnalysisWorker {
    pub fn start(source: SourceSpec, settings: Settings) -> anyhow::Result<Self> {
        let (results_tx, results_rx) = bounded(RESULT_SLOTS);
        let (status_tx, status_rx) = bounded(16);
        let (recycle_tx, recycle_rx) = bounded(RECYCLE_SLOTS);
        let (commands_tx, commands_rx) = bounded(16);
        let thread = std::thread::Builder::new().name("analysis".into()).spawn(move || {
            let mut w = Worker {
                source_spec: source,
                settings,
                results: results_tx,
                status: status_tx,
                recycle: recycle_rx,
                commands: commands_rx,
                paused: false,
            };
            w.run();
        })?;
        Ok(Self {
            results: results_rx,
            status: status_rx,
            recycle: recycle_tx,
            commands: commands_tx,
            thread: Some(thread),
        })
    }

    /// Gives a result's buffers back for reuse.
    pub fn recycle(&self, a: Analysis) {
        let _ = self.recycle.try_send(a);
    }

    pub fn send(&self, c: WorkerCommand) {
        let _ = self.commands.try_send(c);
    }
}

impl Drop for AnalysisWorker {
    fn drop(&mut self) {
        // Disconnecting the command channel tells the worker to stop.
        let (dead, _) = bounded(1);
        self.commands = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Worker {
    source_spec: SourceSpec,
    settings: Settings,
    results: Sender<Analysis>,
    status: Sender<WorkerStatus>,
    recycle: Receiver<Analysis>,
    commands: Receiver<WorkerCommand>,
    paused: bool,
}

enum Flow {
    Continue,
    Stop,
}

impl Worker {
    /// Handles pending commands; `Stop` when the app is gone.
    fn poll_commands(&mut self, detector: &mut Option<Box<dyn FaceDetector>>) -> Flow {
        loop {
            match self.commands.try_recv() {
                Ok(WorkerCommand::Pause(p)) => self.paused = p,
                Ok(WorkerCommand::Settings(s)) => {
                    let reopen = s.detector != self.settings.detector
                        || s.detector_manifest != self.settings.detector_manifest
                        || s.detector_kind != self.settings.detector_kind
                        || s.haar != self.settings.haar;
                    self.settings = *s;
                    if reopen {
                        *detector = None;
                    }
                }
                Err(crossbeam_channel::TryRecvError::Empty) => return Flow::Continue,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return Flow::Stop,
            }
        }
    }

    fn sleep(&mut self, d: Duration, detector: &mut Option<Box<dyn FaceDetector>>) -> Flow {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if let Flow::Stop = self.poll_commands(detector) {
                return Flow::Stop;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Flow::Continue
    }

    fn run(&mut self) {
        let env = match crate::runtime::environment(self.settings.ort_lib.as_deref()) {
            Ok(env) => env,
            Err(e) => {
                let _ = self.status.send(WorkerStatus::Unavailable(e.to_string()));
                return self.idle();
            }
        };
        let mut classifier = match vision::open_classifier(env, &self.settings) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.status.send(WorkerStatus::Unavailable(e.to_string()));
                return self.idle();
            }
        };
        let mut detector: Option<Box<dyn FaceDetector>> = None;
        loop {
            if let Flow::Stop = self.poll_commands(&mut detector) {
                return;
            }
            let source = match self.source_spec.spawn() {
                Ok(s) => s,
                Err(e) => {
                    let _ = self.status.try_send(WorkerStatus::Unavailable(e.to_string()));
                    if let Flow::Stop = self.sleep(REOPEN_INTERVAL, &mut detector) {
                        return;
                    }
                    continue;
                }
            };
            if let Flow::Stop = self.play(env, &source, &mut detector, &mut classifier) {
                return;
            }
            // A single image stays on screen; videos and folders loop.
            if matches!(self.source_spec, SourceSpec::Image(_)) {
                return self.idle();
            }
        }
    }

    /// Opens the detector named by the settings and reports it; false on failure (reported).
    fn open_detector(
        &mut self,
        env: &'static ort::environment::Environment,
        detector: &mut Option<Box<dyn FaceDetector>>,
        classifier: &EmotionClassifier,
    ) -> bool {
        match vision::open_face_detector(env, &self.settings) {
            Ok(d) => {
                let _ = self.status.try_send(WorkerStatus::Running {
                    labels: classifier.labels().to_vec(),
                    detector: d.name().to_string(),
                });
                *detector = Some(d);
                true
            }
            Err(e) => {
                let _ = self.status.try_send(WorkerStatus::Unavailable(e.to_string()));
                false
            }
        }
    }

    /// Waits for the app to go away (nothing more to analyse).
    fn idle(&mut self) {
        while self.commands.recv().is_ok() {}
    }

    fn play(
        &mut self,
        env: &'static ort::environment::Environment,
        source: &SourceHandle,
        detector: &mut Option<Box<dyn FaceDetector>>,
        classifier: &mut EmotionClassifier,
    ) -> Flow {
        if detector.is_none() {
            self.open_detector(env, detector, classifier);
        }
        let pace = self.source_spec.is_video();
        let mut clock: Option<(Instant, f64)> = None;
        let mut rate = RateMeter::default();
        let mut spare: Option<Analysis> = None;
        loop {
            if let Flow::Stop = self.poll_commands(detector) {
                return Flow::Stop;
            }
            let event = match source.events().recv_timeout(Duration::from_millis(100)) {
                Ok(e) => e,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Flow::Continue,
            };
            let frame = match event {
                SourceEvent::Frame(f) => f,
                SourceEvent::Skipped { what, reason } => {
                    warn!("skipped {what}: {reason}");
                    continue;
                }
                SourceEvent::Failed(e) => {
                    let _ = self.status.try_send(WorkerStatus::Unavailable(e.to_string()));
                    return Flow::Continue;
                }
                SourceEvent::Lost { reason } => {
                    let _ = self.status.try_send(WorkerStatus::Lost(reason));
                    continue;
                }
                SourceEvent::Restored { .. } => continue,
            };
            let captured_at = Instant::now();
            let source_fps = rate.tick(captured_at);
            let t = frame.time.seconds();
            if pace {
                let (start, t0) = *clock.get_or_insert((captured_at, t));
                let due = start + Duration::from_secs_f64((t - t0).max(0.0));
                let now = Instant::now();
                if now + Duration::from_millis(40) < due {
                    std::thread::sleep(due - now);
                } else if now > due + Duration::from_millis(50) {
                    // Behind real time: skip this frame, as a live camera would.
                    source.recycle(frame.image);
                    continue;
                }
            }
            if self.paused {
                source.recycle(frame.image);
                continue;
            }
            if detector.is_none() && !self.open_detector(env, detector, classifier) {
                source.recycle(frame.image);
                if let Flow::Stop = self.sleep(REOPEN_INTERVAL, detector) {
                    return Flow::Stop;
                }
                continue;
            }
            let Some(det) = detector.as_mut() else { continue };
            let mut out = spare.take().or_else(|| self.recycle.try_recv().ok()).unwrap_or_default();
            let started = Instant::now();
            if let Err(e) = det.detect(&frame.image, &mut out.detections) {
                warn!("frame {}: {e}", frame.index);
                out.detections.clear();
            }
            if let Err(e) = classifier.classify_faces(&frame.image, &out.detections, &mut out.probabilities) {
                warn!("frame {}: {e}", frame.index);
                out.detections.clear();
                out.probabilities.clear();
            }
            out.inference_ms = started.elapsed().as_secs_f32() * 1000.0;
            out.source_fps = source_fps;
            out.index = frame.index;
            out.time_s = t;
            out.captured_at = Some(captured_at);
            let old = std::mem::replace(&mut out.image, frame.image);
            if old.width() > 0 {
                source.recycle(old);
            }
            match self.results.try_send(out) {
                Ok(()) => {}
                // The app has not taken the previous result yet: this one is dropped and its
                // buffers reused (the app always shows the newest result it can get).
                Err(TrySendError::Full(back)) => spare = Some(back),
                Err(TrySendError::Disconnected(_)) => return Flow::Stop,
            }
        }
    }
}

/// Frames per second over a sliding second.
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    window_start: Option<Instant>,
    count: u32,
    rate: f32,
}

impl RateMeter {
    /// Counts one event at `now` and returns the current rate.
    pub fn tick(&mut self, now: Instant) -> f32 {
        let start = *self.window_start.get_or_insert(now);
        self.count += 1;
        let elapsed = now.duration_since(start).as_secs_f32();
        if elapsed >= 1.0 {
            self.rate = self.count as f32 / elapsed;
            self.count = 0;
            self.window_start = Some(now);
        }
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_counts_per_second() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        for k in 0..=30 {
            m.tick(t0 + Duration::from_millis(k * 1000 / 30));
        }
        let r = m.tick(t0 + Duration::from_millis(1040));
        assert!((r - 31.0).abs() < 2.5, "{r}");
    }
}
