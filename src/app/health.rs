//! Supervision from the main loop: the service manager's readiness message and watchdog
//! heartbeat (sd-notify; nothing is sent outside systemd), and the health line and status
//! file every [`HEALTH_EVERY_S`] seconds (figures in [`crate::health`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::log::BoxedLayer;
use bevy::prelude::*;
use sd_notify::NotifyState;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::faces::FaceTrack;
use super::screens::results::Scores;
use super::video::{SourceStatus, Stats};
use crate::health::{HEALTH_EVERY_S, HEALTH_TARGET, HealthClock, HealthFigures, Heartbeat, SCORES_OK};

/// How supervision runs (`--status-file`, `--health-every`, the hang test aid).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct HealthOptions {
    /// Where the status file is written (None: nowhere, e.g. no data directory).
    pub status_file: Option<PathBuf>,
    /// Time between two health lines.
    pub every: Duration,
    /// Test aid: the main loop stops (sleeps for good) after this many frames, to check
    /// that the watchdog heartbeat stops with it.
    pub hang_after_frames: Option<u32>,
    /// Test aid: the score database may not grow from start-up on, so its writes fail as
    /// on a full disk (see [`crate::store::ScoreStore::stop_growing`]).
    pub simulate_full_scores: bool,
}

impl Default for HealthOptions {
    fn default() -> Self {
        Self {
            status_file: None,
            every: Duration::from_secs(HEALTH_EVERY_S),
            hang_after_frames: None,
            simulate_full_scores: false,
        }
    }
}

/// The notification sent before the simulated hang (`STATUS=`), so a test knows when it began.
pub const HANG_STATUS: &str = "simulating a hung main loop";

/// How long the simulated hang sleeps per turn (it never wakes up for good).
const HANG_SLEEP: Duration = Duration::from_secs(3600);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<HealthOptions>().add_systems(Startup, start_supervision).add_systems(Last, supervise);
}

/// The running state of supervision (accumulated in place each frame).
#[derive(Resource)]
struct Supervision {
    heartbeat: Heartbeat,
    clock: HealthClock,
    ready_sent: bool,
    frames: u64,
}

fn start_supervision(mut commands: Commands, options: Res<HealthOptions>, scores: Option<Res<Scores>>) {
    if options.simulate_full_scores
        && let Some(store) = scores.as_ref().and_then(|s| s.0.as_ref())
    {
        match store.stop_growing() {
            Ok(pages) => warn!("{}: may not grow past {pages} pages (test aid)", store.path().display()),
            Err(e) => warn!("{e}"),
        }
    }
    commands.insert_resource(Supervision {
        heartbeat: Heartbeat::for_watchdog(sd_notify::watchdog_enabled()),
        clock: HealthClock::new(Instant::now(), options.every),
        ready_sent: false,
        frames: 0,
    });
}

/// Once per frame, last: readiness after the first frame, the heartbeat, the health report.
fn supervise(
    mut sup: ResMut<Supervision>,
    options: Res<HealthOptions>,
    status: Res<SourceStatus>,
    stats: Res<Stats>,
    scores: Option<Res<Scores>>,
    faces: Query<(), With<FaceTrack>>,
) {
    let now = Instant::now();
    sup.frames += 1;
    if !sup.ready_sent {
        sup.ready_sent = true;
        notify(&[NotifyState::Ready]);
    }
    if sup.heartbeat.due(now) {
        notify(&[NotifyState::Watchdog]);
    }
    if let Some(render_fps) = sup.clock.frame(now) {
        let (score_write_failures, scores_state) = score_writes(scores.as_deref());
        let figures = HealthFigures {
            render_fps,
            analysis_fps: stats.analysis_fps,
            faces: faces.iter().count(),
            source: stats.source_kind,
            source_state: status.problem.clone().unwrap_or_else(|| "ok".into()),
            errors: crate::health::problems_since_start(),
            uptime_s: sup.clock.uptime_s(now),
            rss_bytes: crate::memory::rss_bytes(),
            score_write_failures,
            scores_state,
        };
        info!(target: HEALTH_TARGET, "{figures}");
        if let Some(path) = &options.status_file
            && let Err(e) = crate::health::write_status(path, &figures)
        {
            warn!("{e}");
        }
    }
    if options.hang_after_frames.is_some_and(|n| sup.frames >= u64::from(n)) {
        warn!("{HANG_STATUS} after {} frames (test aid)", sup.frames);
        notify(&[NotifyState::Status(HANG_STATUS)]);
        loop {
            std::thread::sleep(HANG_SLEEP);
        }
    }
}

/// The score database's failed writes since start and its state for the health report:
/// "ok", "off" (none open) or the latest failure while it lasts.
pub fn score_writes(scores: Option<&Scores>) -> (u64, String) {
    match scores.and_then(|s| s.0.as_ref()) {
        None => (0, SCORES_OFF.into()),
        Some(store) => {
            let health = store.write_health();
            (health.failures, health.problem.clone().unwrap_or_else(|| SCORES_OK.into()))
        }
    }
}

/// The scores' state without a database (no data directory, or it could not be opened).
pub const SCORES_OFF: &str = "off";

/// Sends `state` to the service manager; a failure is logged at debug (outside systemd
/// nothing is sent at all).
fn notify(state: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        debug!("sd-notify: {e}");
    }
}

/// The log layer that counts warnings and errors for the health line (the health line's
/// own target excluded). Given to Bevy's `LogPlugin::custom_layer`.
pub fn count_problems_layer(_app: &mut App) -> Option<BoxedLayer> {
    Some(Box::new(ProblemCounter))
}

struct ProblemCounter;

impl<S: Subscriber> Layer<S> for ProblemCounter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() <= Level::WARN && meta.target() != HEALTH_TARGET {
            crate::health::count_problem();
        }
    }
}
