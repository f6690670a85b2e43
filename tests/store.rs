//! The score database end to end: it survives a `kill -9` in the middle of a burst of writes,
//! and the `scores` command lists, exports and resets it.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use emoji_mirror::store::{DATABASE_FILE, NewGame, ScoreStore, StoredGame, StoredTarget};

/// Set (to the database path) only in the child process of the kill test.
const CHILD_DB_ENV: &str = "EMOJI_MIRROR_TEST_KILL_DB";
/// What the child prints after each commit, before the id.
const COMMITTED: &str = "committed ";
/// Commits the parent waits for before it kills the child.
const COMMITS_BEFORE_KILL: usize = 200;
/// The child stops by itself after this many games (should the parent never kill it).
const CHILD_MAX_GAMES: u32 = 100_000;

/// The `i`-th game the child records: its content follows from its score, so the parent can
/// check every stored game is whole.
fn numbered_game(i: u32) -> NewGame {
    NewGame {
        played_at_unix_s: 1_700_000_000 + i64::from(i),
        score: i,
        players: 1 + i % 3,
        targets: (0..=i % 4)
            .map(|k| StoredTarget { emotion: format!("emotion{k}"), reached: k % 2 == 0, time_s: k as f32 + 0.5 })
            .collect(),
    }
}

/// The id in a line the child printed (the harness may put its own words before ours).
fn committed_id(line: &str) -> Option<i64> {
    line.split_once(COMMITTED).map(|(_, id)| id.trim().parse().expect("an id after the marker"))
}

fn is_whole(g: &StoredGame) -> bool {
    let expected = numbered_game(g.score);
    g.played_at_unix_s == expected.played_at_unix_s && g.players == expected.players && g.targets == expected.targets
}

/// The child of `a_kill_9_during_writes_loses_no_committed_game`: records games in a tight loop
/// and prints each id once its transaction has committed. Does nothing when run by hand.
#[test]
#[ignore = "run by a_kill_9_during_writes_loses_no_committed_game as its child process"]
fn kill_child_records_games_until_killed() {
    let Some(db) = std::env::var_os(CHILD_DB_ENV) else { return };
    let mut store = ScoreStore::open(Path::new(&db)).expect("the child opens the database");
    let mut out = std::io::stdout().lock();
    for i in 0..CHILD_MAX_GAMES {
        let id = store.record(&numbered_game(i)).expect("recorded");
        writeln!(out, "{COMMITTED}{id}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn a_kill_9_during_writes_loses_no_committed_game() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join(DATABASE_FILE);
    drop(ScoreStore::open(&db).expect("a new database"));
    let mut child = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "kill_child_records_games_until_killed", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut printed = BTreeSet::new();
    while printed.len() < COMMITS_BEFORE_KILL {
        let line = lines.next().expect("the child keeps committing").expect("utf-8");
        printed.extend(committed_id(&line));
    }
    // std's kill sends SIGKILL: no destructor, no rollback, no checkpoint.
    child.kill().expect("SIGKILL");
    // Ids the child printed before it died were committed too.
    printed.extend(lines.map_while(Result::ok).filter_map(|l| committed_id(&l)));
    let status = child.wait().expect("the child is reaped");
    assert!(!status.success(), "the child was killed, not finished: {status}");
    assert!(db.with_extension("sqlite3-wal").exists(), "killed with its log open, so recovery is tested");

    let conn = rusqlite::Connection::open(&db).expect("sqlite");
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(integrity, "ok");
    drop(conn);
    let store = ScoreStore::open(&db).expect("reopens after the kill");
    let stored = store.all().expect("all games");
    let stored_ids: BTreeSet<i64> = stored.iter().map(|g| g.id).collect();
    let missing: Vec<_> = printed.difference(&stored_ids).collect();
    assert!(missing.is_empty(), "committed games lost: {missing:?}");
    // At most the one game being committed when the kill came may be there unprinted.
    assert!(stored.len() <= printed.len() + 1, "{} stored, {} printed", stored.len(), printed.len());
    let broken: Vec<_> = stored.iter().filter(|g| !is_whole(g)).collect();
    assert!(broken.is_empty(), "games stored in part: {broken:?}");
}

fn record_three(data_dir: &Path) -> [i64; 3] {
    let mut store = ScoreStore::open_in(data_dir).expect("the database in the data folder");
    let target = |emotion: &str, reached, time_s| StoredTarget { emotion: emotion.into(), reached, time_s };
    let mut game = |at, score, targets| {
        store.record(&NewGame { played_at_unix_s: at, score, players: 1, targets }).expect("recorded")
    };
    let bronze = game(1_764_600_000, 120, vec![target("happy", true, 2.0), target("sad", false, 20.0)]);
    let gold = game(1_764_600_100, 980, vec![target("happy", true, 1.5), target("surprise", true, 2.5)]);
    let silver = game(1_764_600_200, 450, vec![target("neutral", true, 3.0)]);
    store.set_initials(gold, "ace").expect("initials");
    [gold, silver, bronze]
}

#[test]
fn scores_list_export_and_reset_through_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("a UTF-8 temp path");
    let [gold, silver, bronze] = record_three(&data);

    let list = common::run(&["scores", "list", "--data-dir", data_arg]);
    assert!(list.status.success(), "{}", common::stderr(&list));
    let text = common::stdout(&list);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["place", "initials", "score", "players", "reached", "date"]);
    let places: Vec<&[&str]> = rows[1..].iter().map(|r| &r[..5]).collect();
    assert_eq!(
        places,
        [["1", "ACE", "980", "1", "2/2"], ["2", "-", "450", "1", "1/1"], ["3", "-", "120", "1", "1/2"]],
        "{text}"
    );

    let json = common::run(&["scores", "list", "--json", "--limit", "2", "--data-dir", data_arg]);
    assert!(json.status.success(), "{}", common::stderr(&json));
    let rows: serde_json::Value = serde_json::from_str(&common::stdout(&json)).expect("JSON");
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["place"], 1);
    assert_eq!(rows[0]["id"], gold);
    assert_eq!(rows[0]["initials"], "ACE");
    assert_eq!(rows[0]["reached"], 2);
    assert_eq!(rows[0]["targets"][1]["emotion"], "surprise");
    assert_eq!(rows[1]["id"], silver);
    assert_eq!(rows[1]["initials"], serde_json::Value::Null);
    assert_eq!(rows[1]["played_at"], "2025-12-01T14:43:20Z");

    let csv = dir.path().join("scores.csv");
    let export = common::run(&["scores", "export", "--csv", csv.to_str().expect("UTF-8"), "--data-dir", data_arg]);
    assert!(export.status.success(), "{}", common::stderr(&export));
    assert!(common::stdout(&export).starts_with("wrote 3 games to "));
    let csv_text = std::fs::read_to_string(&csv).expect("the CSV");
    assert_eq!(
        csv_text,
        format!(
            "id,played_at,initials,score,players,reached,targets\n\
             {bronze},2025-12-01T14:40:00Z,,120,1,1,happy:2.0;sad:-\n\
             {gold},2025-12-01T14:41:40Z,ACE,980,1,2,happy:1.5;surprise:2.5\n\
             {silver},2025-12-01T14:43:20Z,,450,1,1,neutral:3.0\n"
        )
    );

    // No terminal (stdin is not one here) and no --yes: refused, nothing removed.
    let refused = common::run(&["scores", "reset", "--data-dir", data_arg]);
    assert!(!refused.status.success());
    let err = common::stderr(&refused);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("pass --yes"), "{err}");
    assert_eq!(ScoreStore::open_in(&data).expect("open").all().expect("all").len(), 3);

    let reset = common::run(&["scores", "reset", "--yes", "--data-dir", data_arg]);
    assert!(reset.status.success(), "{}", common::stderr(&reset));
    assert!(common::stdout(&reset).starts_with("removed 3 games from "), "{}", common::stdout(&reset));
    let after = common::run(&["scores", "list", "--data-dir", data_arg]);
    assert!(common::stdout(&after).starts_with("no games yet"), "{}", common::stdout(&after));
}

#[test]
fn listing_a_missing_table_creates_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("never-used");
    let out = common::run(&["scores", "list", "--data-dir", data.to_str().expect("UTF-8")]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out), format!("no games yet ({})\n", data.join(DATABASE_FILE).display()));
    assert!(!data.exists(), "list created the folder");
}

#[test]
fn without_data_dir_the_table_is_under_xdg_data_home() {
    let xdg = tempfile::tempdir().expect("temp dir");
    let [gold, ..] = record_three(&xdg.path().join("emoji-mirror"));
    let out = common::command()
        .env("XDG_DATA_HOME", xdg.path())
        .args(["scores", "list", "--json", "--limit", "1"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rows: serde_json::Value = serde_json::from_str(&common::stdout(&out)).expect("JSON");
    assert_eq!(rows[0]["id"], gold);
    // The tests' own command never points at the user's data folder.
    let command = common::command();
    let data_home = command.get_envs().find(|(k, _)| *k == "XDG_DATA_HOME").and_then(|(_, v)| v);
    assert_eq!(data_home, Some(common::empty_data_home().as_os_str()));
}

#[test]
fn a_foreign_file_is_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join(DATABASE_FILE);
    std::fs::write(&db, "not a database, a shopping list\n").expect("write");
    let out = common::run(&["scores", "list", "--data-dir", dir.path().to_str().expect("UTF-8")]);
    assert!(!out.status.success());
    assert_eq!(
        common::stderr(&out),
        format!("error: {}: not an emoji-mirror score database (not an SQLite file)\n", db.display())
    );
}
