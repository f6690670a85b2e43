//! Health of a running exhibit: the watchdog heartbeat's timing, the figures of the
//! periodic health line, and the status file they are written to (no Bevy; the app's
//! `app::health` plugin feeds it).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

/// Seconds between two watchdog pings at most. The unit's `WatchdogSec=30` leaves room for
/// 15 missed pings; when the service manager sets a shorter watchdog, half of it is used.
pub const WATCHDOG_PING_S: u64 = 2;

/// Seconds between two health lines (and status file writes) by default (`--health-every`).
pub const HEALTH_EVERY_S: u64 = 60;

/// The file name of the status file in the data directory (`--status-file` names another).
pub const STATUS_FILE_NAME: &str = "status.json";

/// The tracing target of the health line (the app's log filter lets it through at info).
pub const HEALTH_TARGET: &str = "emoji_mirror::health";

/// Errors writing the status file.
#[derive(Debug, Error)]
pub enum HealthError {
    #[error("{path}: cannot write the status file")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the status file has no folder")]
    NoFolder { path: PathBuf },
}

/// Warnings and errors logged since start (all but the health line's own), counted by the
/// app's log layer; the health line reports it.
static PROBLEMS: AtomicU64 = AtomicU64::new(0);

/// Counts one warning or error.
pub fn count_problem() {
    PROBLEMS.fetch_add(1, Ordering::Relaxed);
}

/// Warnings and errors counted since start.
pub fn problems_since_start() -> u64 {
    PROBLEMS.load(Ordering::Relaxed)
}

/// When to send the watchdog ping: at most once per interval, the first one at once.
/// The main loop calls [`Heartbeat::due`] each frame; a loop that hangs stops asking, so the
/// pings stop and the service manager restarts the app.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    last_ping: Option<Instant>,
    interval: Duration,
}

impl Heartbeat {
    pub fn new(interval: Duration) -> Self {
        Self { last_ping: None, interval }
    }

    /// The ping interval for a watchdog of `watchdog` (from the service manager, if any):
    /// [`WATCHDOG_PING_S`], or half the watchdog when that is shorter.
    pub fn for_watchdog(watchdog: Option<Duration>) -> Self {
        let ping = Duration::from_secs(WATCHDOG_PING_S);
        Self::new(watchdog.map_or(ping, |w| ping.min(w / 2)))
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// True when a ping is due at `now` (and counts it as sent).
    pub fn due(&mut self, now: Instant) -> bool {
        let due = self.last_ping.is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last_ping = Some(now);
        }
        due
    }
}

/// Counts rendered frames in place and says when the next health report is due.
#[derive(Debug, Clone)]
pub struct HealthClock {
    started: Instant,
    window_start: Instant,
    frames: u64,
    every: Duration,
}

impl HealthClock {
    pub fn new(now: Instant, every: Duration) -> Self {
        Self { started: now, window_start: now, frames: 0, every }
    }

    /// Counts one rendered frame at `now`; when a report is due, returns the render fps
    /// over the interval and starts the next one.
    pub fn frame(&mut self, now: Instant) -> Option<f32> {
        self.frames += 1;
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < self.every {
            return None;
        }
        let fps = self.frames as f32 / elapsed.as_secs_f32();
        self.frames = 0;
        self.window_start = now;
        Some(fps)
    }

    /// Whole seconds since the clock started.
    pub fn uptime_s(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }
}

/// The figures of one health report (the log line and the status file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthFigures {
    /// Frames the window drew per second over the last interval.
    pub render_fps: f32,
    /// Frames analysed per second.
    pub analysis_fps: f32,
    /// Faces in view now.
    pub faces: usize,
    /// What the source is: "camera", "video", "images".
    pub source: &'static str,
    /// "ok", or the problem the source or the models report.
    pub source_state: String,
    /// Warnings and errors logged since start.
    pub errors: u64,
    pub uptime_s: u64,
    /// Resident memory in bytes (None where the system does not say).
    pub rss_bytes: Option<u64>,
    /// Score database writes that failed since start (e.g. a full disk; the game goes on).
    pub score_write_failures: u64,
    /// "ok", "off" (no score database), or the latest failed write while it lasts.
    pub scores_state: String,
}

/// [`HealthFigures::scores_state`] when the score database writes fine.
pub const SCORES_OK: &str = "ok";

/// Bytes in a mebibyte, for the log line.
const MIB: f64 = 1024.0 * 1024.0;

impl fmt::Display for HealthFigures {
    /// One line of `key=value` pairs (the source state last: it may hold spaces).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "health: render_fps={:.1} analysis_fps={:.1} faces={} errors={} score_write_failures={} uptime_s={} rss_mib=",
            self.render_fps, self.analysis_fps, self.faces, self.errors, self.score_write_failures, self.uptime_s
        )?;
        match self.rss_bytes {
            Some(b) => write!(f, "{:.1}", b as f64 / MIB)?,
            None => write!(f, "?")?,
        }
        write!(f, " source={} state={}", self.source, self.source_state)?;
        if self.scores_state != SCORES_OK {
            write!(f, " scores={}", self.scores_state)?;
        }
        Ok(())
    }
}

/// Where the status file goes: `named`, else [`STATUS_FILE_NAME`] in `data_dir`.
pub fn status_path(named: Option<&Path>, data_dir: Option<&Path>) -> Option<PathBuf> {
    named.map(Path::to_path_buf).or_else(|| data_dir.map(|d| d.join(STATUS_FILE_NAME)))
}

/// Writes `figures` as JSON to `path` atomically (a temporary file beside it, then a
/// rename): a reader never sees half a file. Creates the folder if needed.
pub fn write_status(path: &Path, figures: &HealthFigures) -> Result<(), HealthError> {
    let write_err = |source| HealthError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().ok_or_else(|| HealthError::NoFolder { path: path.to_path_buf() })?;
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let mut json = serde_json::to_vec_pretty(figures).map_err(|e| write_err(e.into()))?;
    json.push(b'\n');
    let mut tmp = tempfile_in(dir, path).map_err(write_err)?;
    tmp.1.write_all(&json).map_err(write_err)?;
    drop(tmp.1);
    std::fs::rename(&tmp.0, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp.0);
        write_err(e)
    })
}

/// A new file beside `path` named after it and this process (one writer per process).
fn tempfile_in(dir: &Path, path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = path.file_name().map_or_else(|| STATUS_FILE_NAME.into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let file = std::fs::File::create(&tmp)?;
    Ok((tmp, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> HealthFigures {
        HealthFigures {
            render_fps: 29.96,
            analysis_fps: 14.0,
            faces: 2,
            source: "camera",
            source_state: "ok".into(),
            errors: 3,
            uptime_s: 61,
            rss_bytes: Some(300 * 1024 * 1024),
            score_write_failures: 0,
            scores_state: SCORES_OK.into(),
        }
    }

    #[test]
    fn heartbeat_pings_at_once_then_once_per_interval() {
        let t0 = Instant::now();
        let mut beat = Heartbeat::new(Duration::from_secs(2));
        assert!(beat.due(t0));
        assert!(!beat.due(t0 + Duration::from_millis(1999)));
        assert!(beat.due(t0 + Duration::from_secs(2)));
        assert!(!beat.due(t0 + Duration::from_secs(3)));
        assert!(beat.due(t0 + Duration::from_secs(4)));
    }

    #[test]
    fn a_hung_loop_sends_no_ping_and_the_next_frame_does() {
        // The loop runs frames every 16 ms for 5 s, then hangs for 30 s: every ping falls in
        // the running part, none in the hang, and the first frame after it pings at once.
        let t0 = Instant::now();
        let mut beat = Heartbeat::new(Duration::from_secs(WATCHDOG_PING_S));
        let frame = Duration::from_millis(16);
        let pings: Vec<Duration> = (0..=312u32).map(|i| frame * i).filter(|&t| beat.due(t0 + t)).collect();
        assert_eq!(pings.len(), 3, "{pings:?}");
        assert!(pings.iter().all(|&t| t <= Duration::from_secs(5)));
        let after_hang = t0 + Duration::from_secs(35);
        assert!(beat.due(after_hang));
    }

    #[test]
    fn the_ping_interval_is_at_most_half_the_watchdog() {
        assert_eq!(Heartbeat::for_watchdog(None).interval(), Duration::from_secs(WATCHDOG_PING_S));
        assert_eq!(
            Heartbeat::for_watchdog(Some(Duration::from_secs(30))).interval(),
            Duration::from_secs(WATCHDOG_PING_S)
        );
        assert_eq!(Heartbeat::for_watchdog(Some(Duration::from_secs(3))).interval(), Duration::from_millis(1500));
    }

    #[test]
    fn the_clock_reports_render_fps_once_per_interval() {
        let t0 = Instant::now();
        let mut clock = HealthClock::new(t0, Duration::from_secs(10));
        let frame = Duration::from_millis(100);
        let reports: Vec<(u32, f32)> =
            (1..=250u32).filter_map(|i| clock.frame(t0 + frame * i).map(|f| (i, f))).collect();
        assert_eq!(reports.iter().map(|r| r.0).collect::<Vec<_>>(), [100, 200]);
        assert!(reports.iter().all(|r| (r.1 - 10.0).abs() < 0.01), "{reports:?}");
        assert_eq!(clock.uptime_s(t0 + Duration::from_millis(25_900)), 25);
    }

    #[test]
    fn the_health_line_names_every_figure() {
        let line = figures().to_string();
        assert_eq!(
            line,
            "health: render_fps=30.0 analysis_fps=14.0 faces=2 errors=3 score_write_failures=0 uptime_s=61 \
             rss_mib=300.0 source=camera state=ok"
        );
        let unknown = HealthFigures { rss_bytes: None, ..figures() };
        assert!(unknown.to_string().contains("rss_mib=? "));
        let full = HealthFigures {
            score_write_failures: 2,
            scores_state: "scores.sqlite3: cannot write, the disk is full".into(),
            ..figures()
        };
        let line = full.to_string();
        assert!(line.contains(" score_write_failures=2 "), "{line}");
        assert!(line.ends_with("state=ok scores=scores.sqlite3: cannot write, the disk is full"), "{line}");
    }

    #[test]
    fn the_status_file_is_replaced_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join(STATUS_FILE_NAME);
        write_status(&path, &figures()).expect("first write");
        let second = HealthFigures { faces: 0, source_state: "camera stalled".into(), ..figures() };
        write_status(&path, &second).expect("second write");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("status file")).expect("JSON");
        assert_eq!(json["faces"], 0);
        assert_eq!(json["source_state"], "camera stalled");
        assert_eq!(json["rss_bytes"], 300 * 1024 * 1024);
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("folder"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [STATUS_FILE_NAME]);
    }

    #[test]
    fn an_unwritable_status_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "x").expect("blocker");
        let path = blocker.join(STATUS_FILE_NAME);
        let e = write_status(&path, &figures()).expect_err("a file is not a folder");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }

    #[test]
    fn the_status_file_defaults_to_the_data_dir() {
        let data = Path::new("data");
        assert_eq!(status_path(None, Some(data)), Some(data.join(STATUS_FILE_NAME)));
        assert_eq!(status_path(Some(Path::new("s.json")), Some(data)), Some(PathBuf::from("s.json")));
        assert_eq!(status_path(None, None), None);
    }
}
