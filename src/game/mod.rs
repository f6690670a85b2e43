//! The emotion-mimic challenge's rules: target order, time bank, hold meter, scoring,
//! players who leave. No Bevy: a round is driven with plain per-player observations (the
//! engine's tracks) and tested without a window; `app::screens` only shows it.
//!
//! [`rules`] holds the settings, [`order`] picks the targets, [`round`] plays them (its
//! header states the rules of a round).

pub mod order;
pub mod round;
pub mod rules;

pub use order::target_order;
pub use round::{GameEvent, Phase, PlayerView, Round};
pub use rules::{ChallengeRules, ClassDifficulty, Difficulty, MAX_REQUIRED_SHARE};

use serde::{Deserialize, Serialize};

/// What can go wrong setting up a round.
#[derive(Debug, thiserror::Error)]
pub enum GameError {
    /// A `--demo-sequence` label the classifier does not have.
    #[error("unknown emotion '{label}' in the demo sequence; the classifier knows: {known}")]
    UnknownEmotion { label: String, known: String },
    /// `--demo-sequence` with no labels.
    #[error("the demo sequence is empty; give at least one emotion, e.g. happy,surprise")]
    EmptySequence,
    /// A demo sequence longer than a round.
    #[error("the demo sequence has {count} targets but a round has at most {max} (max_targets)")]
    SequenceTooLong { count: usize, max: usize },
    /// None of the challenge's warm-up or hard classes is one the classifier knows.
    #[error("no target for the challenge: none of its classes is one the classifier knows ({known})")]
    NoTargets { known: String },
}

/// How one target of a round ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayerScore {
    /// The engine's track id (no picture, no identity).
    pub id: u64,
    pub score: u32,
    pub reached: u32,
}

/// Why a round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundResult {
    pub targets: Vec<TargetResult>,
    pub players: Vec<PlayerScore>,
    /// The team total (every player's points).
    pub score: u32,
    pub reason: EndReason,
    /// Seconds the round lasted (countdown excluded).
    pub duration_s: f32,
}
