//! `emoji-mirror scores`: list, export and reset the high-score table (headless).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use emoji_mirror::store::{self, DATABASE_FILE, ScoreStore, StoredGame};

use super::CommonArgs;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror scores list                      # the ten best games
  emoji-mirror scores list --limit 100 --json
  emoji-mirror scores export --csv scores.csv   # every game, oldest first
  emoji-mirror scores reset --yes               # remove every game
  emoji-mirror scores list --data-dir /srv/emoji-mirror";

/// Rows `scores list` shows unless told otherwise.
const DEFAULT_LIST_LIMIT: usize = 10;

#[derive(Debug, Args)]
pub struct ScoresArgs {
    #[command(subcommand)]
    pub action: ScoresAction,
}

#[derive(Debug, Subcommand)]
pub enum ScoresAction {
    /// The table, best first: place, initials, score, players, targets reached, date (local time).
    List {
        /// How many games, best first.
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LIST_LIMIT)]
        limit: usize,
        /// A JSON array instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Write every game, oldest first, as CSV (id, played_at, initials, score, players,
    /// reached, targets such as "happy:1.8;sad:-").
    Export {
        /// The CSV file to write (replaced whole).
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
    },
    /// Remove every game (asks first on a terminal).
    Reset {
        /// Do not ask; needed when there is no terminal to ask on.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(args: &ScoresArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let dir = store::data_dir(common.data_dir.as_deref())
        .context("no data folder: pass --data-dir DIR, or set HOME or XDG_DATA_HOME")?;
    // Reading commands never create the folder or the file.
    let path = dir.join(DATABASE_FILE);
    let existing = || -> anyhow::Result<Option<ScoreStore>> {
        Ok(if path.exists() { Some(ScoreStore::open(&path)?) } else { None })
    };
    match &args.action {
        ScoresAction::List { limit, json } => {
            let games = match existing()? {
                Some(s) => s.top(*limit)?,
                None => Vec::new(),
            };
            if *json {
                let rows: Vec<ListRow> = games.iter().enumerate().map(|(i, g)| ListRow::new(i + 1, g)).collect();
                println!("{}", serde_json::to_string(&rows)?);
            } else if games.is_empty() {
                println!("no games yet ({})", path.display());
            } else {
                print!("{}", table(&games));
            }
        }
        ScoresAction::Export { csv } => {
            let rows = match existing()? {
                Some(s) => s.export_csv(csv)?,
                None => store::write_csv(&[], csv)?,
            };
            println!("wrote {rows} {} to {}", plural(rows, "game", "games"), csv.display());
        }
        ScoresAction::Reset { yes } => {
            let Some(mut s) = existing()? else {
                println!("no games to remove ({} does not exist)", path.display());
                return Ok(());
            };
            let count = s.all()?.len();
            if !yes && !confirm(&format!("Remove all {count} games from {}?", path.display()), &path)? {
                println!("nothing removed");
                return Ok(());
            }
            let removed = s.reset()?;
            println!("removed {removed} {} from {}", plural(removed, "game", "games"), path.display());
        }
    }
    Ok(())
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// Asks `question` on the terminal; refuses when there is none.
fn confirm(question: &str, path: &Path) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!("{}: not reset: no terminal to ask on; pass --yes to reset without asking", path.display());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// A game in `scores list --json`: its place, its time in RFC 3339 UTC, and the stored fields.
#[derive(Serialize)]
struct ListRow<'a> {
    place: usize,
    played_at: String,
    reached: usize,
    #[serde(flatten)]
    game: &'a StoredGame,
}

impl<'a> ListRow<'a> {
    fn new(place: usize, game: &'a StoredGame) -> Self {
        Self { place, played_at: store::played_at_rfc3339(game.played_at_unix_s), reached: game.reached(), game }
    }
}

/// The readable table, best first (`games` in place order).
fn table(games: &[StoredGame]) -> String {
    let mut out =
        format!("{:>5}  {:<8}  {:>7}  {:>7}  {:>7}  {}\n", "place", "initials", "score", "players", "reached", "date");
    for (i, g) in games.iter().enumerate() {
        let reached = format!("{}/{}", g.reached(), g.targets.len());
        let date = chrono::DateTime::from_timestamp(g.played_at_unix_s, 0)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| g.played_at_unix_s.to_string());
        out.push_str(&format!(
            "{:>5}  {:<8}  {:>7}  {:>7}  {:>7}  {date}\n",
            i + 1,
            g.initials.as_deref().unwrap_or("-"),
            g.score,
            g.players,
            reached
        ));
    }
    out
}
