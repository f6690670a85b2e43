//! The database layout: the application id that marks our files, and the migrations from an
//! empty file up to [`SCHEMA_VERSION`], one ordered SQL step per version.

/// `PRAGMA application_id` of every score database ("EmMi" in ASCII), so a SQLite file made
/// by another program is recognised and left alone.
pub const APPLICATION_ID: i32 = 0x456D_4D69;

/// The schema this program writes (`PRAGMA user_version`); files at an older version are
/// migrated on open, files at a newer one are refused.
pub const SCHEMA_VERSION: i64 = 3;

/// The game mode stored for games recorded by this program (and for version-1 games, which
/// were all challenges).
pub const CHALLENGE_MODE: &str = "challenge";

/// The migrations, in order: entry `i` takes a file from version `i` to version `i + 1`.
/// Each runs in one transaction together with the version bump. Never edit a released step;
/// append a new one and raise [`SCHEMA_VERSION`].
pub const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [
    // 1: games and their targets. `AUTOINCREMENT` so an id is never reused, even after a reset.
    "CREATE TABLE games (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        played_at_unix_s INTEGER NOT NULL,
        initials TEXT CHECK (initials IS NULL OR length(initials) BETWEEN 1 AND 3),
        score INTEGER NOT NULL CHECK (score >= 0),
        players INTEGER NOT NULL CHECK (players >= 0)
    );
    CREATE INDEX games_by_place ON games (score DESC, played_at_unix_s ASC, id ASC);
    CREATE TABLE targets (
        game_id INTEGER NOT NULL REFERENCES games (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        emotion TEXT NOT NULL,
        reached INTEGER NOT NULL CHECK (reached IN (0, 1)),
        time_s REAL NOT NULL,
        PRIMARY KEY (game_id, position)
    ) WITHOUT ROWID;",
    // 2: the game mode (room for free-play or timed variants), and an index for listing by time.
    "ALTER TABLE games ADD COLUMN mode TEXT NOT NULL DEFAULT 'challenge';
    CREATE INDEX games_by_time ON games (played_at_unix_s ASC, id ASC);",
    // 3: enrolled people and the LBPH histograms of their face crops (little-endian f32
    // blobs; never a picture). Deleting a person deletes their histograms.
    "CREATE TABLE people (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
        enrolled_at_unix_s INTEGER NOT NULL
    );
    CREATE TABLE face_histograms (
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        histogram BLOB NOT NULL,
        UNIQUE (person_id, position)
    );",
];
