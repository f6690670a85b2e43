//! The emotion-mimic challenge's rules: target order, time bank, hold meter, scoring,
//! players who leave. No Bevy: a round is driven with plain per-player observations (the
//! engine's tracks) and tested without a window; `app::screens` only shows it.

use serde::Serialize;

/// How one target of a round ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetResult {
    /// The class label, e.g. "happy".
    pub emotion: String,
    /// Whether any player's window confirmed it before it was skipped or time ran out.
    pub reached: bool,
    /// Seconds from the target's start to the first player reaching it (or to its end).
    pub time_s: f32,
    /// Points scored on this target (all players together).
    pub points: u32,
    /// Track ids of the players who reached it.
    pub players: Vec<u64>,
}

/// One player's (one tracked face's) total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlayerScore {
    /// The engine's track id (no picture, no identity).
    pub id: u64,
    pub score: u32,
    pub reached: u32,
}

/// Why a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// Every target was played.
    AllTargets,
    /// The time bank ran out.
    TimeUp,
    /// Nobody came back after "Still there?".
    PlayersLeft,
    /// The operator or a player stopped it.
    Stopped,
}

/// A finished round: what the results screen, `--results-json` and the score table show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundResult {
    pub targets: Vec<TargetResult>,
    pub players: Vec<PlayerScore>,
    /// The team total (every player's points).
    pub score: u32,
    pub reason: EndReason,
    /// Seconds the round lasted (countdown excluded).
    pub duration_s: f32,
}
