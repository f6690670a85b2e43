//! The high-score table: an embedded SQLite database (rusqlite, bundled) in the app's data
//! directory, with a schema version, migrations and every write in a transaction.
//!
//! Durability: the file runs in WAL mode with `synchronous = FULL`, so a commit returns only
//! after the log is on disk: a committed game survives a killed process (WAL alone gives that)
//! and a power cut too (FULL's fsync per commit). One game a minute makes the fsync free.

mod csv;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

pub use csv::write_csv;
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
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: rusqlite::Error },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: rusqlite::Error },
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
    named.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            // The XDG spec says to ignore a relative value.
            .filter(|p| p.is_absolute())
            .or_else(|| {
                std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/share"))
            })
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
        let conn = Connection::open(path).map_err(read)?;
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
            return Err(StoreError::Corrupt { path: path.to_path_buf(), detail: check });
        }
        let write = |e| write_error(path, e);
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(write)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!("{}: journal mode {mode}, not WAL", path.display());
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(write)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(write)?;
        let mut store = Self { conn: Mutex::new(conn), path: path.to_path_buf() };
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

    /// Records a finished game and its targets in one transaction; returns the game's id.
    pub fn record(&mut self, game: &NewGame) -> Result<i64, StoreError> {
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

    /// Sets a game's initials (validated with [`validate_initials`]).
    pub fn set_initials(&mut self, id: i64, initials: &str) -> Result<(), StoreError> {
        let initials = validate_initials(initials)?;
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
    damaged(path, &e).unwrap_or_else(|| StoreError::Write { path: path.to_path_buf(), source: e })
}
