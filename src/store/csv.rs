//! The score table as CSV: one row per game, written to a temporary file beside the target
//! and renamed over it, so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat};

use super::{StoreError, StoredGame};

/// The header row.
pub const CSV_HEADER: &str = "id,played_at,initials,score,players,reached,targets";

/// Writes `games` to `path` as CSV: the header, then one row per game with its time in
/// RFC 3339 UTC, initials (empty when none), score, players, targets reached, and the
/// targets as `emotion:seconds` (`-` for one not reached) joined by `;`. Returns the rows.
pub fn write_csv(games: &[StoredGame], path: &Path) -> Result<usize, StoreError> {
    let mut text = String::with_capacity(CSV_HEADER.len() + 64 * games.len());
    text.push_str(CSV_HEADER);
    text.push('\n');
    for g in games {
        let fields = [
            g.id.to_string(),
            played_at_rfc3339(g.played_at_unix_s),
            g.initials.clone().unwrap_or_default(),
            g.score.to_string(),
            g.players.to_string(),
            g.reached().to_string(),
            targets_field(g),
        ];
        let row: Vec<String> = fields.iter().map(|f| quoted(f)).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    write_atomically(path, text.as_bytes())?;
    Ok(games.len())
}

/// A game's time as RFC 3339 UTC to the second, e.g. `2026-12-02T08:39:04Z`.
pub fn played_at_rfc3339(unix_s: i64) -> String {
    DateTime::from_timestamp(unix_s, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        // Beyond chrono's range (about 262,000 years): keep the number rather than lose it.
        .unwrap_or_else(|| unix_s.to_string())
}

/// `happy:1.8;sad:-`: each target with the seconds it took, `-` when not reached.
fn targets_field(g: &StoredGame) -> String {
    let parts: Vec<String> = g
        .targets
        .iter()
        .map(|t| if t.reached { format!("{}:{:.1}", t.emotion, t.time_s) } else { format!("{}:-", t.emotion) })
        .collect();
    parts.join(";")
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn quoted(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.into() }
}

/// Writes `bytes` to a temporary file in `path`'s folder, flushes it to disk and renames it
/// over `path`; the temporary file is removed on failure.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(name);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|source| {
        // Best effort: the temporary file may not exist (creating it is what failed).
        let _ = std::fs::remove_file(&tmp);
        StoreError::WriteFile { path: path.to_path_buf(), source }
    })
}
