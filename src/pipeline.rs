//! The headless pipeline: decode, detect and classify on three threads at once.
//!
//! Decoding runs on the source's thread, detection on its own thread, and
//! classification on the caller's thread, which also hands every analysed frame
//! to a callback. Bounded channels join the stages, and frame and face buffers
//! are passed back for reuse, so a long run allocates nothing per frame.

use std::ops::ControlFlow;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::source::{Frame, SourceError, SourceEvent, SourceHandle};
use crate::tracking::Tracker;
use crate::vision::{EmotionClassifier, Face, FaceDetector};

/// Frames that may wait between detection and classification.
pub const STAGE_FRAMES: usize = 2;

/// How the stages are combined.
#[derive(Debug, Default)]
pub struct Options<'t> {
    /// Follow faces across frames; then `faces` are the tracks' boxes, in track order.
    pub tracker: Option<&'t mut Tracker>,
    /// Detect on every Nth frame only (N >= 1; needs a tracker, which predicts the boxes in between).
    pub detect_every: u32,
}

/// One analysed frame, as the callback sees it.
pub struct Analysed<'a> {
    pub frame: &'a mut Frame,
    /// The classified faces: detections, or with a tracker the tracked boxes (track order).
    pub faces: &'a [Face],
    /// Whether the detector ran on this frame.
    pub detected: bool,
    /// The tracker after this frame, when tracking.
    pub tracker: Option<&'a Tracker>,
    /// `faces.len() * classifier.num_classes()` probabilities, face by face.
    pub probabilities: &'a [f32],
    pub classifier: &'a EmotionClassifier,
}

/// What happened over a run.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub frames: u64,
    pub faces: u64,
    /// Frames or images that could not be decoded or analysed (each logged as a warning).
    pub skipped: u64,
    /// The source stopped early with this error.
    pub failed: Option<SourceError>,
}

enum Detected {
    Frame {
        frame: Frame,
        faces: Vec<Face>,
        detected: bool,
    },
    Skipped {
        what: String,
        reason: String,
    },
    Failed(SourceError),
    /// A live source lost or regained its device.
    Status(String),
}

/// Runs `source` through `detector` and `classifier` until it ends or `on_frame` breaks.
pub fn run(
    source: &SourceHandle,
    detector: &mut dyn FaceDetector,
    classifier: &mut EmotionClassifier,
    options: Options,
    mut on_frame: impl FnMut(Analysed) -> ControlFlow<()>,
) -> RunSummary {
    let mut tracker = options.tracker;
    let detect_every = if tracker.is_some() { options.detect_every.max(1) } else { 1 };
    let (det_tx, det_rx) = bounded::<Detected>(STAGE_FRAMES);
    let (faces_back_tx, faces_back_rx) = bounded::<Vec<Face>>(STAGE_FRAMES + 2);
    std::thread::scope(|scope| {
        scope.spawn(move || detect_stage(source, detector, detect_every, det_tx, faces_back_rx));
        let mut summary = RunSummary::default();
        let mut probs = Vec::new();
        let mut tracked = Vec::new();
        for item in det_rx {
            let (mut frame, faces, detected) = match item {
                Detected::Frame { frame, faces, detected } => (frame, faces, detected),
                Detected::Skipped { what, reason } => {
                    tracing::warn!("skipped {what}: {reason}");
                    summary.skipped += 1;
                    continue;
                }
                Detected::Failed(e) => {
                    summary.failed = Some(e);
                    break;
                }
                Detected::Status(message) => {
                    tracing::warn!("{message}");
                    continue;
                }
            };
            let time_s = frame.time.seconds();
            if let Some(tr) = tracker.as_deref_mut() {
                if detected {
                    tr.update(time_s, &faces);
                } else {
                    tr.predict(time_s);
                }
                tr.faces_into(&mut tracked);
            }
            let classified: &[Face] = if tracker.is_some() { &tracked } else { &faces };
            if let Err(e) = classifier.classify_faces(&frame.image, classified, &mut probs) {
                tracing::warn!("skipped frame {}: {e}", frame.index);
                summary.skipped += 1;
                source.recycle(frame.image);
                continue;
            }
            if let Some(tr) = tracker.as_deref_mut() {
                tr.observe(time_s, &probs);
            }
            summary.frames += 1;
            summary.faces += classified.len() as u64;
            let flow = on_frame(Analysed {
                frame: &mut frame,
                faces: classified,
                detected,
                tracker: tracker.as_deref(),
                probabilities: &probs,
                classifier: &*classifier,
            });
            source.recycle(frame.image);
            let _ = faces_back_tx.try_send(faces);
            if flow.is_break() {
                break;
            }
        }
        // Dropping the receiver (end of the loop) stops the detection thread.
        summary
    })
}

fn detect_stage(
    source: &SourceHandle,
    detector: &mut dyn FaceDetector,
    detect_every: u32,
    out: Sender<Detected>,
    faces_back: Receiver<Vec<Face>>,
) {
    for event in source.events() {
        let item = match event {
            SourceEvent::Frame(frame) => {
                let mut faces = faces_back.try_recv().unwrap_or_default();
                faces.clear();
                if frame.index % u64::from(detect_every) != 0 {
                    Detected::Frame { frame, faces, detected: false }
                } else {
                    match detector.detect(&frame.image, &mut faces) {
                        Ok(()) => Detected::Frame { frame, faces, detected: true },
                        Err(e) => {
                            let what = format!("frame {}", frame.index);
                            source.recycle(frame.image);
                            Detected::Skipped { what, reason: e.to_string() }
                        }
                    }
                }
            }
            SourceEvent::Skipped { what, reason } => Detected::Skipped { what, reason },
            SourceEvent::Failed(e) => Detected::Failed(e),
            SourceEvent::Lost { reason } => Detected::Status(format!("lost {reason}")),
            SourceEvent::Restored { what } => Detected::Status(format!("{what} is back")),
        };
        if out.send(item).is_err() {
            return;
        }
    }
}

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
