//! The app's end of the analysis engine ([`crate::engine`]): it starts the engine with the
//! app's options and holds it as a resource; one system drains it (`video.rs`).
//!
//! Live views take only the newest analysed frame and play a video at its own speed;
//! `--every-frame` takes every frame of a video, unpaced (the window then shows exactly
//! what `predict --track` reports). Videos and folders loop, a missing camera is retried.
//! The detector runs when the tracks need it (`--detect-every auto`, as `predict --track`;
//! see [`crate::engine::cadence`]), which leaves the cores to the classifier and the window.

use std::io::Write;
use std::path::{Path, PathBuf};

use bevy::prelude::*;

use super::AppError;
use super::redraw::FrameWaker;
use crate::compose;
use crate::config::Settings;
use crate::engine::{
    AnalysedFrame, Delivery, DetectEvery, Engine, EngineCommand, EngineError, EngineEvent, EngineOptions, FrameTap,
    Pacing,
};
use crate::logs::error_chain;
use crate::source::SourceSpec;

/// The picture shown while the camera is missing (public domain, with a face; relative
/// to the project folder).
pub const FALLBACK_PICTURE: &str = "assets/astronaut.png";

/// What to do about a model file that is missing or damaged (shown to the operator).
pub const MODEL_FIX: &str = "Restore it with `git checkout models/` or reinstall.";

/// How the app runs the engine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalysisOptions {
    /// Every frame of a video, unpaced, played once (not the newest at real time, looping).
    pub every_frame: bool,
    /// One JSON line per analysed frame (the schema of `predict --track --json`).
    pub record_tracks: Option<PathBuf>,
    /// Data folder (`--data-dir`) whose enrolled people are recognised; recognition is off
    /// while nobody is enrolled.
    pub data_dir: Option<PathBuf>,
    /// When the detector runs (`--detect-every`; default adaptive, as `predict --track`).
    pub detect_every: DetectEvery,
}

/// The running engine, or why there is none (shown in the window instead of a picture).
#[derive(Resource)]
pub struct AnalysisWorker {
    pub engine: Option<Engine>,
    pub startup_problem: Option<String>,
    /// Whether the engine shows [`FALLBACK_PICTURE`] while the camera is missing.
    pub has_fallback: bool,
}

impl AnalysisWorker {
    /// Starts the engine; a missing model or runtime becomes a message, not an error.
    /// `waker` wakes the window's event loop with each analysed frame (render on demand).
    pub fn start(
        source: SourceSpec,
        settings: &Settings,
        options: &AnalysisOptions,
        waker: Option<FrameWaker>,
    ) -> Result<Self, AppError> {
        let recorder = match &options.record_tracks {
            Some(path) => Some(track_recorder(path)?),
            None => None,
        };
        let tap: Option<FrameTap> = match (recorder, waker) {
            (None, None) => None,
            (Some(record), None) => Some(record),
            (None, Some(waker)) => Some(Box::new(move |frame: &AnalysedFrame| waker.wake(frame.index))),
            (Some(mut record), Some(waker)) => Some(Box::new(move |frame: &AnalysedFrame| {
                record(frame);
                waker.wake(frame.index);
            })),
        };
        let engine_options = EngineOptions {
            delivery: if options.every_frame { Delivery::EveryFrame } else { Delivery::NewestOnly },
            pacing: if options.every_frame { Pacing::AsFastAsPossible } else { Pacing::RealTime },
            detect_every: options.detect_every,
            repeat: !(options.every_frame && source.is_video()),
            // Without its camera the exhibit shows the bundled sample (and a hint).
            fallback: matches!(source, SourceSpec::Camera(_))
                .then(|| SourceSpec::Image(compose::resolve_project_path(Path::new(FALLBACK_PICTURE)))),
            tap,
            identity: crate::identity::namer_from_data_dir(options.data_dir.as_deref()).unwrap_or_else(|e| {
                tracing::warn!("recognition off: {e}");
                None
            }),
        };
        let has_fallback = engine_options.fallback.is_some();
        let started = compose::engine_models(settings).map_err(|e| error_chain(&e)).and_then(|models| {
            Engine::start(source, models, engine_options).map_err(|e| match e {
                // The file is named first; the operator screen adds the fix.
                EngineError::Vision(v) => format!("{}. {MODEL_FIX}", error_chain(&v)),
                other => error_chain(&other),
            })
        });
        Ok(match started {
            Ok(engine) => Self { engine: Some(engine), startup_problem: None, has_fallback },
            Err(problem) => {
                error!("{problem}");
                Self { engine: None, startup_problem: Some(problem), has_fallback: false }
            }
        })
    }

    pub fn send(&self, command: EngineCommand) {
        if let Some(e) = &self.engine {
            e.send(command);
        }
    }

    /// The newest analysed frame, if one arrived (older ones are recycled).
    pub fn newest(&self) -> Option<AnalysedFrame> {
        let engine = self.engine.as_ref()?;
        let mut newest = None;
        for frame in engine.frames().try_iter() {
            if let Some(old) = newest.replace(frame) {
                engine.recycle(old);
            }
        }
        newest
    }

    pub fn recycle(&self, frame: AnalysedFrame) {
        if let Some(e) = &self.engine {
            e.recycle(frame);
        }
    }

    /// Status events since the last call.
    pub fn events(&self) -> impl Iterator<Item = EngineEvent> + '_ {
        self.engine.iter().flat_map(|e| e.events().try_iter())
    }

    /// The classifier's labels (empty without an engine).
    pub fn labels(&self) -> &[String] {
        self.engine.as_ref().map_or(&[], |e| &e.labels()[..])
    }

    pub fn detector_name(&self) -> &str {
        self.engine.as_ref().map_or("", |e| e.detector_name())
    }
}

/// A tap that writes every analysed frame as one JSON line to `path`.
fn track_recorder(path: &Path) -> Result<FrameTap, AppError> {
    let file = std::fs::File::create(path).map_err(|source| AppError::Record { path: path.to_path_buf(), source })?;
    let mut out = std::io::BufWriter::new(file);
    let path = path.to_path_buf();
    let mut failed = false;
    Ok(Box::new(move |frame: &AnalysedFrame| {
        if failed {
            return;
        }
        let written = crate::report::json::write_frame_json(&mut out, frame, true).and_then(|()| out.flush());
        if let Err(e) = written {
            error!("{}: cannot record tracks: {e}", path.display());
            failed = true;
        }
    }))
}
