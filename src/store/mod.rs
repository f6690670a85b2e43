//! The high-score table: an embedded SQLite database (rusqlite, bundled) in the app's data
//! directory, with a schema version, migrations and every write in a transaction.
//!
//! Durability: the file runs in WAL mode with `synchronous = FULL`, so a commit returns only
//! after the log is on disk: a committed game survives a killed process (WAL alone gives that)
//! and a power cut too (FULL's fsync per commit). One game a minute makes the fsync free.

mod csv;
mod people;
mod schema;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::logs::RateLimited;
use crate::warn_limited;

pub use csv::{CSV_HEADER, played_at_rfc3339, write_csv};
pub use people::{EnrolledPerson, HISTOGRAM_LEN, Histogram, MAX_NAME_CHARS, NameError, Person, PersonName};
pub use schema::{APPLICATION_ID, CHALLENGE_MODE, SCHEMA_VERSION};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "scores.sqlite3";

/// The folder under `$XDG_DATA_HOME` (or `~/.local/share`) that holds the data directory.
pub const DATA_DIR_NAME: &str = "emoji-mirror";

/// Longest a write waits for another process holding the database (the app and a `scores`
/// command at once) before it fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Most characters in a player's initials.
pub const MAX_INITIALS: usize = 3;

/// Least time between two log lines about failing writes (a full disk fails every game;
/// the operator needs one line, not one per round), seconds.
pub const WRITE_WARNING_EVERY_S: u64 = 600;

/// What can go wrong with the score database; every message names the file (or the value).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: cannot create the data folder: {source}", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("{}: not an emoji-mirror score database ({reason})", path.display())]
    Foreign { path: PathBuf, reason: String },
    #[error("{}: database is corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{}: schema version {found} is newer than this program's {SCHEMA_VERSION}", path.display())]
    TooNew { path: PathBuf, found: i64 },
    #[error("{}: cannot open: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: rusqlite::Error },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: rusqlite::Error },
    /// SQLITE_FULL: the disk is full (or the file reached its size limit).
    #[error("{}: cannot write, the disk is full (free space on it; games are not saved meanwhile): {source}", path.display())]
    Full { path: PathBuf, source: rusqlite::Error },
    #[error("{}: cannot write: {source}", path.display())]
    WriteFile { path: PathBuf, source: std::io::Error },
    #[error("{}: no game with id {id}", path.display())]
    NoSuchGame { path: PathBuf, id: i64 },
    #[error("{}: cannot record the game: {reason}", path.display())]
    InvalidGame { path: PathBuf, reason: String },
    #[error("initials {given:?} must be 1 to {MAX_INITIALS} letters or digits (A-Z, 0-9)")]
    Initials { given: String },
}

/// The data directory: `--data-dir`, else $XDG_DATA_HOME/emoji-mirror, else
/// ~/.local/share/emoji-mirror (`None` only when none of them is known).
pub fn data_dir(named: Option<&Path>) -> Option<PathBuf> {
    data_dir_from(named, std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// [`data_dir`] with the environment passed in.
fn data_dir_from(named: Option<&Path>, xdg_data_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    named.map(Path::to_path_buf).or_else(|| {
        xdg_data_home
            .map(PathBuf::from)
            // The XDG spec says to ignore a relative (or empty) value.
            .filter(|p| p.is_absolute())
            .or_else(|| home.filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share")))
            .map(|d| d.join(DATA_DIR_NAME))
    })
}

/// One target of a game as stored: its emotion, whether it was reached, and the seconds it
/// took (or was tried for, when not reached).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredTarget {
    pub emotion: String,
    pub reached: bool,
    pub time_s: f32,
}

/// A finished game to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGame {
    pub played_at_unix_s: i64,
    pub score: u32,
    pub players: u32,
    pub targets: Vec<StoredTarget>,
}

/// A recorded game.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredGame {
    pub id: i64,
    pub played_at_unix_s: i64,
    pub initials: Option<String>,
    pub score: u32,
    pub players: u32,
    pub targets: Vec<StoredTarget>,
}

impl StoredGame {
    /// How many of the game's targets were reached.
    pub fn reached(&self) -> usize {
        self.targets.iter().filter(|t| t.reached).count()
    }
}

/// Player initials as stored: surrounding spaces dropped, upper-cased, 1 to [`MAX_INITIALS`]
/// of A-Z and 0-9.
pub fn validate_initials(s: &str) -> Result<String, StoreError> {
    let t = s.trim().to_ascii_uppercase();
    let ok = (1..=MAX_INITIALS).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok { Ok(t) } else { Err(StoreError::Initials { given: s.to_string() }) }
}

/// An open score database. `Send + Sync` (the connection sits behind a mutex), so the app can
/// keep it in a resource.
#[derive(Debug)]
pub struct ScoreStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Failed writes since the file was opened, and the latest failure while it lasts.
    writes: WriteHealth,
}

/// How the writes of a [`ScoreStore`] fare, for the operator (log, health, operator panel).
#[derive(Debug)]
pub struct WriteHealth {
    /// Writes that failed since the file was opened.
    pub failures: u64,
    /// The latest failure, until a write succeeds again.
    pub problem: Option<String>,
    log: RateLimited,
}

impl Default for WriteHealth {
    fn default() -> Self {
        Self { failures: 0, problem: None, log: RateLimited::new(Duration::from_secs(WRITE_WARNING_EVERY_S)) }
    }
}

impl WriteHealth {
    /// Notes how a write ended: a failure is counted, kept and logged (one line per
    /// [`WRITE_WARNING_EVERY_S`]); a success clears the kept one.
    fn note<T>(&mut self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.problem = None,
            // The caller's mistakes, not the file's.
            Err(StoreError::Initials { .. } | StoreError::InvalidGame { .. } | StoreError::NoSuchGame { .. }) => {}
            Err(e) => {
                self.failures += 1;
                let text = e.to_string();
                warn_limited!(self.log, "{text}");
                self.problem = Some(text);
            }
        }
    }
}

/// The columns of a game row, in the order [`game_from_row`] reads them.
const GAME_COLUMNS: &str = "id, played_at_unix_s, initials, score, players";
/// The table's order: highest score first, then the earliest game.
const PLACE_ORDER: &str = "score DESC, played_at_unix_s ASC, id ASC";

impl ScoreStore {
    /// Opens (creating the folder and the file when missing) [`DATABASE_FILE`] in `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        Self::open(&data_dir.join(DATABASE_FILE))
    }

    /// Opens (or creates) the database at `path`: checks that it is ours and intact, then
    /// migrates it to [`SCHEMA_VERSION`]. A file made by another program is never written.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let read = |e| read_error(path, e);
        let conn = Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(read)?;
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(read)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(read)?;
        if app_id != APPLICATION_ID {
            let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(read)?;
            // An empty file (or one this program created but never migrated) is ours to claim.
            if app_id != 0 || version != 0 || tables != 0 {
                let reason = format!("application id {app_id:#010x}, expected {APPLICATION_ID:#010x}");
                return Err(StoreError::Foreign { path: path.to_path_buf(), reason });
            }
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew { path: path.to_path_buf(), found: version });
        }
        let check: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)).map_err(read)?;
        if check != "ok" {
            // quick_check reports over several lines ("*** in database main ***", then the problem).
            let detail: Vec<&str> = check.lines().filter(|l| !l.starts_with("***")).collect();
            return Err(StoreError::Corrupt { path: path.to_path_buf(), detail: detail.join("; ") });
        }
        let write = |e| write_error(path, e);
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(write)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!("{}: journal mode {mode}, not WAL", path.display());
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(write)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(write)?;
        let mut store = Self { conn: Mutex::new(conn), path: path.to_path_buf(), writes: WriteHealth::default() };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open file (after the migrations: [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn().pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| read_error(&self.path, e))
    }

    /// Runs every migration above the file's version, each in its own transaction that also
    /// bumps the version (and, for the first, stamps the application id).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let write = |e| write_error(&path, e);
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        for (from, sql) in schema::MIGRATIONS.iter().enumerate() {
            let to = from as i64 + 1;
            // IMMEDIATE: another process opening the same file waits, then sees the new version.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(write)?;
            if version >= to {
                continue;
            }
            if version == 0 {
                tx.pragma_update(None, "application_id", APPLICATION_ID).map_err(write)?;
            }
            tx.execute_batch(sql).map_err(write)?;
            tx.pragma_update(None, "user_version", to).map_err(write)?;
            tx.commit().map_err(write)?;
        }
        Ok(())
    }

    /// How the writes fare: failures since opening and the latest one while it lasts.
    pub fn write_health(&self) -> &WriteHealth {
        &self.writes
    }

    /// Test aid: the file may not grow from now on (`PRAGMA max_page_count` set to its
    /// current size), so the next write that needs a new page fails with SQLITE_FULL as on
    /// a full disk. Returns the size in pages.
    pub fn stop_growing(&self) -> Result<u64, StoreError> {
        let conn = self.conn();
        let pages: u64 =
            conn.pragma_query_value(None, "page_count", |r| r.get(0)).map_err(|e| read_error(&self.path, e))?;
        conn.pragma_update_and_check(None, "max_page_count", pages, |r| r.get(0))
            .map_err(|e| write_error(&self.path, e))
    }

    /// Records a finished game and its targets in one transaction; returns the game's id.
    /// A failure is also noted in [`ScoreStore::write_health`] (and logged there).
    pub fn record(&mut self, game: &NewGame) -> Result<i64, StoreError> {
        let result = self.insert_game(game);
        self.writes.note(&result);
        result
    }

    fn insert_game(&mut self, game: &NewGame) -> Result<i64, StoreError> {
        if let Some(t) = game.targets.iter().find(|t| !t.time_s.is_finite()) {
            let reason = format!("target {} has time {} s", t.emotion, t.time_s);
            return Err(StoreError::InvalidGame { path: self.path.clone(), reason });
        }
        let path = self.path.clone();
        let write = |e| write_error(&path, e);
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write)?;
        tx.execute(
            "INSERT INTO games (played_at_unix_s, score, players, mode) VALUES (?1, ?2, ?3, ?4)",
            params![game.played_at_unix_s, game.score, game.players, CHALLENGE_MODE],
        )
        .map_err(write)?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO targets (game_id, position, emotion, reached, time_s) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(write)?;
            for (position, t) in game.targets.iter().enumerate() {
                insert
                    .execute(params![id, position as i64, t.emotion, t.reached, f64::from(t.time_s)])
                    .map_err(write)?;
            }
        }
        tx.commit().map_err(write)?;
        Ok(id)
    }

    /// Sets a game's initials (validated with [`validate_initials`]). A failed write is
    /// also noted in [`ScoreStore::write_health`].
    pub fn set_initials(&mut self, id: i64, initials: &str) -> Result<(), StoreError> {
        let initials = validate_initials(initials)?;
        let result = self.update_initials(id, &initials);
        self.writes.note(&result);
        result
    }

    fn update_initials(&self, id: i64, initials: &str) -> Result<(), StoreError> {
        let changed = self
            .conn()
            .execute("UPDATE games SET initials = ?1 WHERE id = ?2", params![initials, id])
            .map_err(|e| write_error(&self.path, e))?;
        if changed == 0 {
            return Err(StoreError::NoSuchGame { path: self.path.clone(), id });
        }
        Ok(())
    }

    /// The best `n` games: highest score first, then the earliest.
    pub fn top(&self, n: usize) -> Result<Vec<StoredGame>, StoreError> {
        let limit = i64::try_from(n).unwrap_or(i64::MAX);
        self.games(&format!("SELECT {GAME_COLUMNS} FROM games ORDER BY {PLACE_ORDER} LIMIT ?1"), params![limit])
    }

    /// The 1-based place of game `id` in the table ([`ScoreStore::top`]'s order), `None` when
    /// there is no such game.
    pub fn rank(&self, id: i64) -> Result<Option<usize>, StoreError> {
        let ahead: Option<i64> = self
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM games o
                         WHERE o.score > g.score
                            OR (o.score = g.score AND (o.played_at_unix_s, o.id) < (g.played_at_unix_s, g.id)))
                 FROM games g WHERE g.id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| read_error(&self.path, e))?;
        Ok(ahead.map(|a| usize::try_from(a).unwrap_or(usize::MAX).saturating_add(1)))
    }

    /// Every game, oldest first.
    pub fn all(&self) -> Result<Vec<StoredGame>, StoreError> {
        self.games(&format!("SELECT {GAME_COLUMNS} FROM games ORDER BY played_at_unix_s ASC, id ASC"), params![])
    }

    /// Writes every game as CSV (see [`write_csv`]) to `path`; returns the rows written.
    pub fn export_csv(&self, path: &Path) -> Result<usize, StoreError> {
        write_csv(&self.all()?, path)
    }

    /// Deletes every game (and so its targets) in one transaction; returns how many.
    pub fn reset(&mut self) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let write = |e| write_error(&path, e);
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write)?;
        let removed = tx.execute("DELETE FROM games", []).map_err(write)?;
        tx.commit().map_err(write)?;
        Ok(removed)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction (rusqlite rolls back
        // on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The games a `SELECT {GAME_COLUMNS}` query returns, in its order, each with its targets.
    fn games(&self, sql: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<StoredGame>, StoreError> {
        let read = |e| read_error(&self.path, e);
        let conn = self.conn();
        let mut games: Vec<StoredGame> =
            conn.prepare(sql).and_then(|mut q| q.query_map(args, game_from_row)?.collect()).map_err(read)?;
        let mut targets = conn
            .prepare_cached("SELECT emotion, reached, time_s FROM targets WHERE game_id = ?1 ORDER BY position")
            .map_err(read)?;
        for g in &mut games {
            g.targets = targets
                .query_map(params![g.id], |r| {
                    Ok(StoredTarget { emotion: r.get(0)?, reached: r.get(1)?, time_s: r.get::<_, f64>(2)? as f32 })
                })
                .and_then(Iterator::collect)
                .map_err(read)?;
        }
        Ok(games)
    }
}

fn game_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredGame> {
    Ok(StoredGame {
        id: r.get(0)?,
        played_at_unix_s: r.get(1)?,
        initials: r.get(2)?,
        score: r.get(3)?,
        players: r.get(4)?,
        targets: Vec::new(),
    })
}

/// The SQLite result codes that mean the file is not (or no longer) a database of any kind.
fn damaged(path: &Path, e: &rusqlite::Error) -> Option<StoreError> {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => {
            Some(StoreError::Foreign { path: path.to_path_buf(), reason: "not an SQLite file".into() })
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            Some(StoreError::Corrupt { path: path.to_path_buf(), detail: e.to_string() })
        }
        _ => None,
    }
}

fn read_error(path: &Path, e: rusqlite::Error) -> StoreError {
    damaged(path, &e).unwrap_or_else(|| StoreError::Read { path: path.to_path_buf(), source: e })
}

fn write_error(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::DiskFull) {
        return StoreError::Full { path: path.to_path_buf(), source: e };
    }
    damaged(path, &e).unwrap_or_else(|| StoreError::Write { path: path.to_path_buf(), source: e })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(emotion: &str, reached: bool, time_s: f32) -> StoredTarget {
        StoredTarget { emotion: emotion.into(), reached, time_s }
    }

    fn game(played_at_unix_s: i64, score: u32) -> NewGame {
        NewGame {
            played_at_unix_s,
            score,
            players: 2,
            targets: vec![target("happy", true, 1.8), target("sad", false, 6.25), target("fear", true, 3.0)],
        }
    }

    fn fresh() -> (tempfile::TempDir, ScoreStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = ScoreStore::open_in(&dir.path().join("data")).expect("a new database opens");
        (dir, store)
    }

    fn ids(games: &[StoredGame]) -> Vec<i64> {
        games.iter().map(|g| g.id).collect()
    }

    fn assert_send_sync<T: Send + Sync>() {}

    /// Fills the database at `path` with games until the next one (no bigger than any the
    /// app records) would need a new page: tried on a copy each time, whose size is frozen.
    fn fill_to_the_brink(path: &Path) {
        let probe_path = path.with_extension("probe");
        for filler in 0..10_000 {
            std::fs::copy(path, &probe_path).expect("copy");
            let mut probe = ScoreStore::open(&probe_path).expect("the copy opens");
            probe.stop_growing().expect("size frozen");
            let full = probe.record(&smallest_game()).is_err();
            drop(probe);
            let _ = std::fs::remove_file(&probe_path);
            if full {
                return;
            }
            let mut store = ScoreStore::open(path).expect("opens");
            store.record(&NewGame { played_at_unix_s: filler, score: 0, players: 1, targets: vec![] }).expect("filler");
        }
        panic!("{} never filled up", path.display());
    }

    /// A game as small as any: one player, no target, played now.
    fn smallest_game() -> NewGame {
        NewGame { played_at_unix_s: 1_800_000_000, score: 0, players: 1, targets: vec![] }
    }

    #[test]
    fn a_full_disk_fails_the_write_with_an_error_naming_the_file_and_reads_go_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        drop(ScoreStore::open(&path).expect("a new database"));
        fill_to_the_brink(&path);
        let mut store = ScoreStore::open(&path).expect("a full database still opens");
        let games = store.all().expect("read").len();
        assert!(store.stop_growing().expect("size frozen") > 0);
        let e = store.record(&game(1_800_000_100, 700)).expect_err("no room for the game");
        assert!(matches!(e, StoreError::Full { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with(&path.display().to_string()) && text.contains("disk is full"), "{text}");
        assert_eq!(store.write_health().failures, 1);
        assert_eq!(store.write_health().problem.as_deref(), Some(text.as_str()));
        // Nothing half-written; the table still reads.
        assert_eq!(store.all().expect("read").len(), games);
        assert!(store.top(3).is_ok());
        // A write that needs no new page succeeds, and the problem is cleared (the count stays).
        let first = store.all().expect("read")[0].id;
        store.set_initials(first, "ABC").expect("an update in place");
        assert_eq!((store.write_health().failures, store.write_health().problem.as_deref()), (1, None));
        assert!(store.set_initials(first, "toolong").is_err());
        assert_eq!(store.write_health().failures, 1, "a caller's mistake is no write failure");
    }

    #[test]
    fn store_is_send_and_sync_for_a_bevy_resource() {
        assert_send_sync::<ScoreStore>();
    }

    #[test]
    fn data_dir_prefers_the_named_folder_then_xdg_then_home() {
        let named = Path::new("/srv/scores");
        let xdg = || Some(OsString::from("/xdg/data"));
        let home = || Some(OsString::from("/home/visitor"));
        assert_eq!(data_dir_from(Some(named), xdg(), home()), Some(named.to_path_buf()));
        assert_eq!(data_dir_from(None, xdg(), home()), Some(PathBuf::from("/xdg/data/emoji-mirror")));
        let default = Some(PathBuf::from("/home/visitor/.local/share/emoji-mirror"));
        assert_eq!(data_dir_from(None, None, home()), default);
        assert_eq!(data_dir_from(None, Some("relative".into()), home()), default, "a relative XDG value is ignored");
        assert_eq!(data_dir_from(None, Some("".into()), home()), default);
        assert_eq!(data_dir_from(None, None, None), None);
    }

    #[test]
    fn a_new_database_is_stamped_migrated_and_in_wal_mode() {
        let (dir, store) = fresh();
        assert_eq!(store.path(), dir.path().join("data").join(DATABASE_FILE));
        assert!(store.path().is_file());
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let conn = store.conn();
        let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).expect("id");
        assert_eq!(app_id, APPLICATION_ID);
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("mode");
        assert_eq!(mode, "wal");
        // 2 = FULL.
        let sync: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).expect("sync");
        assert_eq!(sync, 2);
    }

    #[test]
    fn record_and_read_back_a_game_with_its_targets() {
        let (_dir, mut store) = fresh();
        let id = store.record(&game(1_000, 420)).expect("recorded");
        let all = store.all().expect("all");
        let expected = NewGame { played_at_unix_s: 1_000, score: 420, players: 2, targets: game(0, 0).targets };
        assert_eq!(
            all,
            vec![StoredGame {
                id,
                played_at_unix_s: 1_000,
                initials: None,
                score: 420,
                players: 2,
                targets: expected.targets
            }]
        );
        assert_eq!(all[0].reached(), 2);
    }

    #[test]
    fn a_game_with_a_non_finite_time_is_refused_and_nothing_is_written() {
        let (_dir, mut store) = fresh();
        let mut g = game(1, 1);
        g.targets[1].time_s = f32::NAN;
        let e = store.record(&g).expect_err("NaN time");
        assert!(matches!(e, StoreError::InvalidGame { .. }), "{e}");
        assert!(store.all().expect("all").is_empty());
    }

    #[test]
    fn initials_are_upper_cased_and_must_be_one_to_three_letters_or_digits() {
        assert_eq!(validate_initials("abc").expect("valid"), "ABC");
        assert_eq!(validate_initials(" a1 ").expect("valid"), "A1");
        assert_eq!(validate_initials("Z").expect("valid"), "Z");
        assert_eq!(validate_initials("007").expect("valid"), "007");
        for bad in ["", "   ", "ABCD", "A-B", "A B", "ÉA", "ab\u{301}", "😀"] {
            let e = validate_initials(bad).expect_err(bad);
            assert!(matches!(e, StoreError::Initials { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(&format!("{bad:?}")), "the message names the value: {e}");
        }
    }

    #[test]
    fn set_initials_stores_valid_ones_and_refuses_the_rest() {
        let (_dir, mut store) = fresh();
        let id = store.record(&game(1, 10)).expect("recorded");
        store.set_initials(id, "kim").expect("valid initials");
        assert_eq!(store.all().expect("all")[0].initials.as_deref(), Some("KIM"));
        assert!(matches!(store.set_initials(id, "toolong"), Err(StoreError::Initials { .. })));
        assert_eq!(store.all().expect("all")[0].initials.as_deref(), Some("KIM"), "unchanged");
        let e = store.set_initials(id + 100, "AB").expect_err("no such game");
        assert!(matches!(e, StoreError::NoSuchGame { id: missing, .. } if missing == id + 100), "{e}");
    }

    #[test]
    fn top_orders_by_score_then_earliest_and_rank_agrees() {
        let (_dir, mut store) = fresh();
        let low = store.record(&game(100, 50)).expect("recorded");
        let late_high = store.record(&game(300, 90)).expect("recorded");
        let early_high = store.record(&game(200, 90)).expect("recorded");
        let lowest = store.record(&game(50, 10)).expect("recorded");
        assert_eq!(ids(&store.top(10).expect("top")), vec![early_high, late_high, low, lowest]);
        assert_eq!(ids(&store.top(2).expect("top")), vec![early_high, late_high]);
        assert!(store.top(0).expect("top").is_empty());
        let places: Vec<_> =
            [early_high, late_high, low, lowest].iter().map(|&id| store.rank(id).expect("rank")).collect();
        assert_eq!(places, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(store.rank(lowest + 1).expect("rank"), None);
        // Same score and time: the earlier id first.
        let twin = store.record(&game(200, 90)).expect("recorded");
        assert_eq!(store.rank(twin).expect("rank"), Some(2));
        assert_eq!(store.top(1).expect("top")[0].targets.len(), 3, "top carries the targets");
    }

    #[test]
    fn all_lists_by_time() {
        let (_dir, mut store) = fresh();
        let b = store.record(&game(200, 1)).expect("recorded");
        let a = store.record(&game(100, 99)).expect("recorded");
        let c = store.record(&game(300, 50)).expect("recorded");
        assert_eq!(ids(&store.all().expect("all")), vec![a, b, c]);
    }

    #[test]
    fn export_writes_a_header_and_one_row_per_game() {
        let (dir, mut store) = fresh();
        let first = store.record(&game(1_764_664_744, 420)).expect("recorded");
        store.set_initials(first, "abc").expect("initials");
        let second = store.record(&NewGame {
            played_at_unix_s: 1_764_664_800,
            score: 0,
            players: 1,
            targets: vec![target("disgust", false, 20.0)],
        });
        let second = second.expect("recorded");
        let out = dir.path().join("scores.csv");
        assert_eq!(store.export_csv(&out).expect("exported"), 2);
        let text = std::fs::read_to_string(&out).expect("csv");
        assert_eq!(
            text,
            format!(
                "id,played_at,initials,score,players,reached,targets\n\
                 {first},2025-12-02T08:39:04Z,ABC,420,2,2,happy:1.8;sad:-;fear:3.0\n\
                 {second},2025-12-02T08:40:00Z,,0,1,0,disgust:-\n"
            )
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file left: {leftovers:?}");
        let e = store.export_csv(&dir.path().join("missing/scores.csv")).expect_err("no such folder");
        assert!(e.to_string().contains("missing/scores.csv: cannot write"), "{e}");
    }

    #[test]
    fn reset_removes_every_game_and_its_targets_and_ids_are_not_reused() {
        let (_dir, mut store) = fresh();
        let mut last = 0;
        for i in 0..5 {
            last = store.record(&game(i, 10 * i as u32)).expect("recorded");
        }
        assert_eq!(store.reset().expect("reset"), 5);
        assert!(store.all().expect("all").is_empty());
        let targets: i64 = store.conn().query_row("SELECT count(*) FROM targets", [], |r| r.get(0)).expect("count");
        assert_eq!(targets, 0, "the targets went with their games");
        assert_eq!(store.reset().expect("reset"), 0);
        assert!(store.record(&game(9, 9)).expect("recorded") > last);
    }

    /// A database as the first release of the schema wrote it, with one game.
    fn version_1_file(path: &Path) {
        let conn = Connection::open(path).expect("sqlite");
        conn.pragma_update(None, "application_id", APPLICATION_ID).expect("id");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute_batch(
            "INSERT INTO games (id, played_at_unix_s, initials, score, players) VALUES (7, 500, 'OLD', 300, 1);
             INSERT INTO targets VALUES (7, 0, 'happy', 1, 2.5), (7, 1, 'angry', 0, 8.0);",
        )
        .expect("a v1 game");
    }

    #[test]
    fn a_version_1_file_is_migrated_and_keeps_its_games() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        version_1_file(&path);
        let mut store = ScoreStore::open(&path).expect("a v1 file opens");
        assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
        let old = StoredGame {
            id: 7,
            played_at_unix_s: 500,
            initials: Some("OLD".into()),
            score: 300,
            players: 1,
            targets: vec![target("happy", true, 2.5), target("angry", false, 8.0)],
        };
        assert_eq!(store.all().expect("all"), vec![old]);
        let mode: String =
            store.conn().query_row("SELECT mode FROM games WHERE id = 7", [], |r| r.get(0)).expect("mode");
        assert_eq!(mode, CHALLENGE_MODE, "v2 gives old games the default mode");
        let index: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'games_by_time'", [], |r| r.get(0))
            .expect("index");
        assert_eq!(index, 1);
        let new = store.record(&game(600, 400)).expect("recorded after the migration");
        assert_eq!(store.rank(new).expect("rank"), Some(1));
        drop(store);
        // Reopening a current file changes nothing.
        let store = ScoreStore::open(&path).expect("reopens");
        assert_eq!(store.all().expect("all").len(), 2);
    }

    #[test]
    fn a_file_from_a_newer_program_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        drop(ScoreStore::open(&path).expect("new"));
        Connection::open(&path).expect("sqlite").pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
        let e = ScoreStore::open(&path).expect_err("too new");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: schema version {} is newer than this program's {SCHEMA_VERSION}",
                path.display(),
                SCHEMA_VERSION + 1
            )
        );
    }

    /// Opening `path` fails with a message that starts with the path and contains `words`,
    /// and leaves the file as it was.
    fn assert_refused(path: &Path, words: &str) -> StoreError {
        let before = std::fs::read(path).expect("file");
        let e = ScoreStore::open(path).expect_err("refused");
        let message = e.to_string();
        assert!(message.starts_with(&format!("{}: ", path.display())), "names the file: {message}");
        assert!(message.contains(words), "{message:?} should say {words:?}");
        assert!(!message.contains('\n'), "one line: {message:?}");
        assert_eq!(std::fs::read(path).expect("file"), before, "the file is left alone");
        e
    }

    #[test]
    fn a_database_made_by_another_program_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("other.sqlite3");
        let conn = Connection::open(&path).expect("sqlite");
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');").expect("other");
        drop(conn);
        let e = assert_refused(&path, "not an emoji-mirror score database (application id 0x00000000");
        assert!(matches!(e, StoreError::Foreign { .. }));
        let conn = Connection::open(&path).expect("sqlite");
        conn.pragma_update(None, "application_id", 0x1234_5678).expect("id");
        conn.execute_batch("DROP TABLE notes").expect("empty it");
        drop(conn);
        assert_refused(&path, "application id 0x12345678");
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("no/such/folder").join(DATABASE_FILE);
        let e = ScoreStore::open(&path).expect_err("no folder");
        assert!(matches!(e, StoreError::Open { .. }), "{e}");
        assert!(e.to_string().starts_with(&format!("{}: cannot open: ", path.display())), "{e}");
    }

    #[test]
    fn a_text_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        std::fs::write(&path, "these are my notes, not a database\n".repeat(200)).expect("write");
        let e = assert_refused(&path, "not an emoji-mirror score database (not an SQLite file)");
        assert!(matches!(e, StoreError::Foreign { .. }));
    }

    #[test]
    fn random_bytes_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        // A fixed xorshift stream: the same "random" file every run.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let bytes: Vec<u8> = (0..16_384)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        std::fs::write(&path, bytes).expect("write");
        assert_refused(&path, "not an SQLite file");
    }

    /// A closed database with enough games to span many pages.
    fn filled_file(path: &Path) {
        let mut store = ScoreStore::open(path).expect("new");
        for i in 0..400 {
            store.record(&game(i, i as u32)).expect("recorded");
        }
        // Closing the last connection checkpoints the log into the file and removes it.
        drop(store);
        assert!(!path.with_extension("sqlite3-wal").exists());
    }

    #[test]
    fn a_truncated_database_is_reported_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        filled_file(&path);
        let len = std::fs::metadata(&path).expect("size").len();
        assert!(len > 16 * 4096, "{len} bytes");
        let file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
        file.set_len(len / 2).expect("truncate");
        drop(file);
        let e = assert_refused(&path, "database is corrupt");
        assert!(matches!(e, StoreError::Corrupt { .. }));
    }

    #[test]
    fn overwritten_pages_are_reported_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(DATABASE_FILE);
        filled_file(&path);
        let mut bytes = std::fs::read(&path).expect("read");
        // Keep page 1 (the header and schema); scribble over the pages after it.
        let page = 4096;
        for (i, b) in bytes[page..page * 8].iter_mut().enumerate() {
            *b = (i * 31 % 251) as u8;
        }
        std::fs::write(&path, bytes).expect("write");
        assert_refused(&path, "database is corrupt");
    }
}
