//! The challenge's settings: time bank, scoring, grace periods, class order and the
//! per-class difficulty (required window share and bonus seconds), scaled by [`Difficulty`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Seconds in the time bank when the first target starts.
pub const DEFAULT_START_BANK_S: f32 = 20.0;
/// Most targets in one round.
pub const DEFAULT_MAX_TARGETS: usize = 10;
/// The warning shows while fewer than this many seconds are left in the bank.
pub const DEFAULT_WARNING_S: f32 = 5.0;
/// Seconds of 3-2-1 before the first target (the bank does not run).
pub const DEFAULT_COUNTDOWN_S: f32 = 3.0;
/// Points each player gets for reaching a target, before the speed bonus.
pub const DEFAULT_POINTS_PER_TARGET: u32 = 100;
/// Speed bonus for reaching a target at once; it falls linearly to 0.
pub const DEFAULT_SPEED_BONUS_MAX: u32 = 100;
/// Seconds after a target's start at which the speed bonus has fallen to 0.
pub const DEFAULT_SPEED_BONUS_WINDOW_S: f32 = 10.0;
/// Seconds the other players have to reach a target once the first player has.
pub const DEFAULT_OTHERS_GRACE_S: f32 = 1.5;
/// Seconds with nobody in view before "Still there?" shows.
pub const DEFAULT_ABSENT_GRACE_S: f32 = 3.0;
/// Seconds of the "Still there?" countdown before the round ends.
pub const DEFAULT_STILL_THERE_S: f32 = 5.0;
/// Highest required share after the difficulty factor: a window is never 100% one class
/// (blinks, turns of the head), so a required 100% could never be reached.
pub const MAX_REQUIRED_SHARE: f32 = 0.95;
/// Lowest required share: below this a single frame of a 20-frame window would score.
pub const MIN_REQUIRED_SHARE: f32 = 0.1;
/// Required share of a class without its own entry in [`ChallengeRules::classes`].
pub const DEFAULT_REQUIRED_SHARE: f32 = 0.6;
/// Bonus seconds of a class without its own entry in [`ChallengeRules::classes`].
pub const DEFAULT_BONUS_S: f32 = 4.0;

/// Easy/Normal/Hard: scales every class's required share (Easy 0.8x, Normal 1x,
/// Hard 1.2x, capped at [`MAX_REQUIRED_SHARE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Difficulty {
    Easy,
    #[default]
    Normal,
    Hard,
}

impl Difficulty {
    /// One step harder (Hard stays Hard).
    pub fn harder(self) -> Self {
        match self {
            Self::Easy => Self::Normal,
            Self::Normal | Self::Hard => Self::Hard,
        }
    }

    /// One step easier (Easy stays Easy).
    pub fn easier(self) -> Self {
        match self {
            Self::Easy | Self::Normal => Self::Easy,
            Self::Hard => Self::Normal,
        }
    }

    /// Factor on every class's required share.
    pub fn factor(self) -> f32 {
        match self {
            Self::Easy => 0.8,
            Self::Normal => 1.0,
            Self::Hard => 1.2,
        }
    }

    /// Name shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Easy => "Easy",
            Self::Normal => "Normal",
            Self::Hard => "Hard",
        }
    }
}

/// Per class: the share of that player's confirmation window the class must hold for the
/// target to count (the hold IS the confirmation window), and the seconds it adds to the
/// time bank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassDifficulty {
    /// Share of the window (0..=1) the target class must hold, before the difficulty factor.
    pub required_share: f32,
    /// Seconds added to the time bank when a player reaches this class.
    pub bonus_s: f32,
}

impl Default for ClassDifficulty {
    fn default() -> Self {
        Self { required_share: DEFAULT_REQUIRED_SHARE, bonus_s: DEFAULT_BONUS_S }
    }
}

impl ClassDifficulty {
    fn new(required_share: f32, bonus_s: f32) -> Self {
        Self { required_share, bonus_s }
    }
}

/// The challenge's settings (the `[game]` section of the settings file; every field has
/// a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChallengeRules {
    /// Seconds in the time bank at the first target.
    pub start_bank_s: f32,
    /// Most targets in one round.
    pub max_targets: usize,
    /// The warning shows in the last `warning_s` seconds of the bank.
    pub warning_s: f32,
    /// Seconds of 3-2-1 before the first target (the bank does not run).
    pub countdown_s: f32,
    /// Points per player per reached target, before the speed bonus.
    pub points_per_target: u32,
    /// Speed bonus at 0 s, falling linearly to 0 at `speed_bonus_window_s`.
    pub speed_bonus_max: u32,
    /// Seconds after a target's start at which the speed bonus is 0.
    pub speed_bonus_window_s: f32,
    /// After the first player reaches a target, the others have this long to reach it too.
    pub others_grace_s: f32,
    /// Nobody in view this long -> "Still there?".
    pub absent_grace_s: f32,
    /// The "Still there?" countdown, then the round ends.
    pub still_there_s: f32,
    /// Easy classes played first (shuffled).
    pub warmup: Vec<String>,
    /// Hard classes played after the warm-up (shuffled).
    pub hard: Vec<String>,
    /// Difficulty per class label. The defaults follow how often the classifier recalls
    /// each class: happy, surprise and neutral are recognised most of the time, so they
    /// must hold 60% of the window and add 4 s; sad and angry are recalled less often (50%,
    /// 6 s); fear and disgust are recalled far less often than happy (mostly read as sad or
    /// surprise), so 40% of the window counts and they add 8 s. Entries in the settings
    /// file replace or add to these defaults one class at a time.
    #[serde(deserialize_with = "classes_over_defaults")]
    pub classes: BTreeMap<String, ClassDifficulty>,
    /// Scales every required share.
    pub difficulty: Difficulty,
}

/// The default difficulty of the seven classes (see [`ChallengeRules::classes`]).
fn default_classes() -> BTreeMap<String, ClassDifficulty> {
    [
        ("happy", ClassDifficulty::new(0.6, 4.0)),
        ("surprise", ClassDifficulty::new(0.6, 4.0)),
        ("neutral", ClassDifficulty::new(0.6, 4.0)),
        ("sad", ClassDifficulty::new(0.5, 6.0)),
        ("angry", ClassDifficulty::new(0.5, 6.0)),
        ("fear", ClassDifficulty::new(0.4, 8.0)),
        ("disgust", ClassDifficulty::new(0.4, 8.0)),
    ]
    .into_iter()
    .map(|(label, class)| (label.to_owned(), class))
    .collect()
}

/// Reads `[game.classes]` on top of [`default_classes`], so setting one class keeps the others.
fn classes_over_defaults<'de, D>(deserializer: D) -> Result<BTreeMap<String, ClassDifficulty>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let given = BTreeMap::<String, ClassDifficulty>::deserialize(deserializer)?;
    let mut classes = default_classes();
    classes.extend(given);
    Ok(classes)
}

impl Default for ChallengeRules {
    fn default() -> Self {
        let strings = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            start_bank_s: DEFAULT_START_BANK_S,
            max_targets: DEFAULT_MAX_TARGETS,
            warning_s: DEFAULT_WARNING_S,
            countdown_s: DEFAULT_COUNTDOWN_S,
            points_per_target: DEFAULT_POINTS_PER_TARGET,
            speed_bonus_max: DEFAULT_SPEED_BONUS_MAX,
            speed_bonus_window_s: DEFAULT_SPEED_BONUS_WINDOW_S,
            others_grace_s: DEFAULT_OTHERS_GRACE_S,
            absent_grace_s: DEFAULT_ABSENT_GRACE_S,
            still_there_s: DEFAULT_STILL_THERE_S,
            warmup: strings(&["happy", "surprise", "neutral"]),
            hard: strings(&["sad", "angry", "fear", "disgust"]),
            classes: default_classes(),
            difficulty: Difficulty::default(),
        }
    }
}

impl ChallengeRules {
    /// The class's settings (defaults for a class without an entry; labels compare
    /// without regard to case).
    fn class(&self, label: &str) -> Option<&ClassDifficulty> {
        self.classes
            .get(label)
            .or_else(|| self.classes.iter().find(|(k, _)| k.eq_ignore_ascii_case(label)).map(|(_, v)| v))
    }

    /// Share of the window `label` must hold at this difficulty, within
    /// [`MIN_REQUIRED_SHARE`]..=[`MAX_REQUIRED_SHARE`].
    pub fn required_share(&self, label: &str) -> f32 {
        let base = self.class(label).map_or(DEFAULT_REQUIRED_SHARE, |c| c.required_share);
        let share = base * self.difficulty.factor();
        if share.is_nan() { DEFAULT_REQUIRED_SHARE } else { share.clamp(MIN_REQUIRED_SHARE, MAX_REQUIRED_SHARE) }
    }

    /// Seconds reaching `label` adds to the time bank (never negative).
    pub fn bonus_s(&self, label: &str) -> f32 {
        self.class(label).map_or(DEFAULT_BONUS_S, |c| c.bonus_s).max(0.0)
    }

    /// The speed bonus for reaching a target `time_s` seconds after it started: linear from
    /// `speed_bonus_max` at 0 s to 0 at `speed_bonus_window_s`, rounded to whole points.
    pub fn speed_bonus(&self, time_s: f32) -> u32 {
        if self.speed_bonus_window_s <= 0.0 || time_s.is_nan() {
            return 0;
        }
        let left = (1.0 - time_s.max(0.0) / self.speed_bonus_window_s).clamp(0.0, 1.0);
        (self.speed_bonus_max as f32 * left).round() as u32
    }

    /// Points for one player reaching a target after `time_s` seconds.
    pub fn points(&self, time_s: f32) -> u32 {
        self.points_per_target.saturating_add(self.speed_bonus(time_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_scales_required_share_and_caps_it() {
        let mut rules = ChallengeRules::default();
        assert!((rules.required_share("happy") - 0.6).abs() < 1e-6);
        assert!((rules.required_share("fear") - 0.4).abs() < 1e-6);
        rules.difficulty = Difficulty::Easy;
        assert!((rules.required_share("happy") - 0.48).abs() < 1e-6);
        rules.difficulty = Difficulty::Hard;
        assert!((rules.required_share("happy") - 0.72).abs() < 1e-6);
        assert!((rules.required_share("disgust") - 0.48).abs() < 1e-6);
        rules.classes.insert("happy".into(), ClassDifficulty { required_share: 0.9, bonus_s: 1.0 });
        assert_eq!(rules.required_share("happy"), MAX_REQUIRED_SHARE);
        // A class without an entry uses the default share; case does not matter.
        rules.difficulty = Difficulty::Normal;
        assert!((rules.required_share("contempt") - DEFAULT_REQUIRED_SHARE).abs() < 1e-6);
        assert!((rules.required_share("Fear") - 0.4).abs() < 1e-6);
    }

    #[test]
    fn difficulty_steps_stop_at_the_ends() {
        assert_eq!(Difficulty::Easy.harder(), Difficulty::Normal);
        assert_eq!(Difficulty::Normal.harder(), Difficulty::Hard);
        assert_eq!(Difficulty::Hard.harder(), Difficulty::Hard);
        assert_eq!(Difficulty::Hard.easier(), Difficulty::Normal);
        assert_eq!(Difficulty::Easy.easier(), Difficulty::Easy);
        assert_eq!(Difficulty::Hard.label(), "Hard");
    }

    #[test]
    fn hard_classes_add_more_time() {
        let rules = ChallengeRules::default();
        assert_eq!(rules.bonus_s("happy"), 4.0);
        assert_eq!(rules.bonus_s("sad"), 6.0);
        assert_eq!(rules.bonus_s("disgust"), 8.0);
    }

    #[test]
    fn speed_bonus_falls_linearly_to_zero() {
        let rules = ChallengeRules::default();
        assert_eq!(rules.speed_bonus(0.0), 100);
        assert_eq!(rules.speed_bonus(2.5), 75);
        assert_eq!(rules.speed_bonus(5.0), 50);
        assert_eq!(rules.speed_bonus(9.0), 10);
        assert_eq!(rules.speed_bonus(10.0), 0);
        assert_eq!(rules.speed_bonus(30.0), 0);
        assert_eq!(rules.points(5.0), 150);
        assert_eq!(rules.points(12.0), 100);
    }

    #[test]
    fn settings_fill_missing_fields_with_defaults() {
        let rules: ChallengeRules =
            toml::from_str("start_bank_s = 30.0\ndifficulty = \"hard\"\n[classes.fear]\nbonus_s = 10.0\n")
                .expect("valid toml");
        assert_eq!(rules.start_bank_s, 30.0);
        assert_eq!(rules.difficulty, Difficulty::Hard);
        assert_eq!(rules.max_targets, DEFAULT_MAX_TARGETS);
        // An entry replaces that class only; a missing field of an entry is defaulted.
        assert_eq!(rules.classes["fear"], ClassDifficulty { required_share: DEFAULT_REQUIRED_SHARE, bonus_s: 10.0 });
        assert_eq!(rules.classes["disgust"], ClassDifficulty { required_share: 0.4, bonus_s: 8.0 });
        assert_eq!(rules.classes.len(), 7);
    }
}
