//! The high-score table: an embedded SQLite database (rusqlite, bundled) in the app's data
//! directory, with a schema version, migrations and every write in a transaction.
