//! `people`: list the enrolled people, delete one, or purge them all (headless).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::{Args, Subcommand};

use emoji_mirror::store::{self, DATABASE_FILE, PersonName, ScoreStore};

use super::CommonArgs;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror people list                  # name, face crops, date enrolled
  emoji-mirror people list --json
  emoji-mirror people delete Ada            # Ada's histograms are deleted at once
  emoji-mirror people purge --yes           # everyone";

#[derive(Debug, Args)]
pub struct PeopleArgs {
    #[command(subcommand)]
    pub action: PeopleAction,
}

#[derive(Debug, Subcommand)]
pub enum PeopleAction {
    /// The enrolled people: name, stored face crops (as histograms), date enrolled.
    List {
        /// A JSON array instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Delete one person and every histogram of their face.
    Delete {
        /// The name given at enrolment.
        name: String,
    },
    /// Delete every enrolled person (asks first on a terminal).
    Purge {
        /// Do not ask; needed when there is no terminal to ask on.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(args: &PeopleArgs, common: &CommonArgs) -> anyhow::Result<()> {
    let dir = store::data_dir(common.data_dir.as_deref())
        .context("no data folder: pass --data-dir DIR, or set HOME or XDG_DATA_HOME")?;
    // These commands never create the folder or the file.
    let path = dir.join(DATABASE_FILE);
    let existing = || -> anyhow::Result<Option<ScoreStore>> {
        Ok(if path.exists() { Some(ScoreStore::open(&path)?) } else { None })
    };
    match &args.action {
        PeopleAction::List { json } => {
            let people = match existing()? {
                Some(s) => s.people()?,
                None => Vec::new(),
            };
            if *json {
                println!("{}", serde_json::to_string(&people)?);
            } else if people.is_empty() {
                println!("nobody enrolled ({})", path.display());
            } else {
                println!("{:<24}  {:>10}  enrolled", "name", "face crops");
                for p in &people {
                    let date = chrono::DateTime::from_timestamp(p.enrolled_at_unix_s, 0)
                        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| p.enrolled_at_unix_s.to_string());
                    println!("{:<24}  {:>10}  {date}", p.name, p.histograms);
                }
            }
        }
        PeopleAction::Delete { name } => {
            let name = PersonName::new(name)?;
            let deleted = match existing()? {
                Some(mut s) => s.delete_person(&name)?,
                None => false,
            };
            anyhow::ensure!(deleted, "{:?} is not enrolled ({})", name.as_str(), path.display());
            println!("deleted {:?} and their histograms from {}", name.as_str(), path.display());
        }
        PeopleAction::Purge { yes } => {
            let Some(mut s) = existing()? else {
                println!("nobody to delete ({} does not exist)", path.display());
                return Ok(());
            };
            let count = s.people()?.len();
            if !yes && !confirm(&format!("Delete all {count} enrolled people from {}?", path.display()))? {
                println!("nothing deleted");
                return Ok(());
            }
            let removed = s.purge_people()?;
            println!("deleted {removed} {} from {}", if removed == 1 { "person" } else { "people" }, path.display());
        }
    }
    Ok(())
}

/// Asks `question` on the terminal; refuses when there is none.
fn confirm(question: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    anyhow::ensure!(stdin.is_terminal(), "not purged: no terminal to ask on; pass --yes to purge without asking");
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
