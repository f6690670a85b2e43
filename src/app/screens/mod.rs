//! The game's screens as Bevy `States`: attract (start-up and when nobody is in view),
//! mirror (free play), challenge (the mimic game) and results (score and high-score table).
//! Each screen's entities are scoped to its state (`DespawnOnExit`); its systems are gated
//! by it. The rules of the challenge live outside the ECS, in [`crate::game`].

use std::path::PathBuf;

use bevy::prelude::*;

use crate::game::RoundResult;

/// Which screen is shown.
#[derive(States, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Screen {
    /// Start-up: the mirror runs, with a call to action, two big buttons and the notice.
    #[default]
    Attract,
    /// Free play: today's mirror view.
    Mirror,
    /// The emotion-mimic challenge.
    Challenge,
    /// The round's score, its targets and the high-score table.
    Results,
}

/// How the challenge runs (from the command line).
#[derive(Resource, Debug, Clone, Default)]
pub struct ChallengeOptions {
    /// A fixed order of targets (class labels) for presentations (`--demo-sequence`).
    pub demo_sequence: Option<Vec<String>>,
    /// Start the challenge at once, enter no initials, quit after the results screen.
    pub autoplay: bool,
    /// Write the round's result here as JSON when it ends (`--results-json`).
    pub results_json: Option<PathBuf>,
}

/// The round that ended last (shown by the results screen).
#[derive(Resource, Debug, Clone, Default)]
pub struct LastRound(pub Option<RoundResult>);
