//! One round of the emotion-mimic challenge as a state machine driven by the caller's clock
//! and each frame's tracked faces (no Bevy, no clock of its own).
//!
//! The rules:
//! - A round starts with a countdown (`countdown_s`, a [`GameEvent::CountdownTick`] as each
//!   second starts); the time bank does not run. Then the targets of the given order play
//!   one after another ([`GameEvent::TargetStarted`]).
//! - Every tracked face is a player scored on its own. A face that comes into view while a
//!   player is out of view takes that player's place (the most recently seen one): the
//!   tracker gives a face it lost for a moment, or a looping video's face, a new id, and
//!   without identity a returning player cannot be told from a newcomer, so the place and
//!   its points are kept rather than counting one person twice. A *present* player (found by the
//!   detector this frame, not coasting) reaches the current target when their confirmation
//!   window's share of the target class is at least the class's required share at this
//!   difficulty. The share is over the window, so a single lucky frame never scores.
//! - Each player who reaches a target gets `points_per_target` + a speed bonus (linear from
//!   `speed_bonus_max` at 0 s to 0 at `speed_bonus_window_s` after the target's start). The
//!   bank gains the class's `bonus_s` once per target, at its first reach.
//! - A target ends when every present player has reached it, `others_grace_s` after its
//!   first reach, or on [`Round::skip`] (unreached, no points, no time added; a skip during
//!   the others' grace keeps what was already scored).
//! - The bank runs only while playing (not in the countdown, not during "Still there?"),
//!   and so does a target's clock (its time and speed bonus). At 0 the round ends
//!   ([`EndReason::TimeUp`]) and the current target counts as unreached unless someone had
//!   already reached it. A [`GameEvent::TimeWarning`] comes each time the bank drops below
//!   `warning_s`.
//! - Nobody present for `absent_grace_s` -> "Still there?" ([`GameEvent::StillThere`]); a
//!   present player brings the round back ([`GameEvent::PlayerBack`]); after `still_there_s`
//!   the round ends ([`EndReason::PlayersLeft`]).
//! - After the last target: [`EndReason::AllTargets`]; [`Round::stop`]: [`EndReason::Stopped`].
//! - [`Round::pause`] (the camera is gone) stops everything: the countdown, the bank, the
//!   target's clock and meters, "Still there?" and the absence count (a player out of view
//!   because there is no picture has not left); frames meanwhile are ignored.
//!   [`Round::resume`] goes on where it stopped ([`GameEvent::Paused`], [`GameEvent::Resumed`]).
//! - The [`RoundResult`] lists every target played (reached or not, the time to its first
//!   reach or to its end, its points, who reached it) and every player seen; its duration
//!   runs from the end of the countdown to the end of the round, pauses excluded.

use super::rules::{ChallengeRules, Difficulty};
use super::{EndReason, PlayerScore, RoundResult, TargetResult};

/// One tracked face as the round sees it this frame.
#[derive(Debug, Clone, Copy)]
pub struct PlayerView<'a> {
    /// The engine's track id.
    pub id: u64,
    /// Share of the player's confirmation window per class (the engine's
    /// `TrackSnapshot::shares(i)`), indexed like the round's labels.
    pub shares: &'a [f32],
    /// Found by the detector in the latest frame (not coasting).
    pub present: bool,
}

/// Where a round is, for the screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// 3-2-1 before the first target; `left_s` until it starts.
    Countdown { left_s: f32 },
    /// A target is on.
    Playing,
    /// Nobody in view: "Still there?" with `left_s` until the round ends.
    StillThere { left_s: f32 },
    /// The round has ended; see [`Round::result`].
    Over,
}

/// What happened in a round since the events were last drained (sounds, bursts, logs).
#[derive(Debug, Clone, PartialEq)]
pub enum GameEvent {
    /// 3, 2, 1 as each second of the countdown starts.
    CountdownTick(u32),
    /// Target `number` (1-based) of class index `class` starts.
    TargetStarted { number: usize, class: usize },
    /// Track `player` reached `class` after `time_s` seconds and scored `points` (for its
    /// place in [`Round::scores`], see [`Round::player_number`]).
    Reached { player: u64, class: usize, time_s: f32, points: u32 },
    /// The current target ended.
    TargetDone { class: usize, reached: bool },
    /// The bank dropped below `warning_s` (once each time it does).
    TimeWarning,
    /// Nobody has been in view for `absent_grace_s`.
    StillThere,
    /// A player is back after "Still there?".
    PlayerBack,
    /// The round was paused ([`Round::pause`]).
    Paused,
    /// The round goes on after a pause ([`Round::resume`]).
    Resumed,
    /// The round ended.
    Over(EndReason),
}

/// The round's state machine state (times on the caller's clock).
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Countdown { end_s: f64 },
    Playing,
    StillThere { since_s: f64 },
    Over,
}

/// A player's state on the current target (parallel to `Round::scores`).
#[derive(Debug, Clone, Copy, Default)]
struct PlayerState {
    /// Window share of the target class in the latest frame (0 when not in it).
    share: f32,
    /// Reached the current target.
    reached: bool,
    /// Round time this player was last present (found by the detector).
    last_present_s: f64,
    /// Present in the frame being seated (see `Round::seat_players`).
    seen: bool,
}

/// One round of the challenge.
#[derive(Debug, Clone)]
pub struct Round {
    rules: ChallengeRules,
    labels: Vec<String>,
    order: Vec<usize>,
    state: State,
    /// The round's time of the latest update: the caller's, less the time spent paused.
    now_s: f64,
    /// The caller's time the round was paused at (None: running).
    paused_since_s: Option<f64>,
    /// Caller seconds spent in pauses that ended.
    paused_total_s: f64,
    /// When the countdown ended (the round's duration starts there).
    play_start_s: Option<f64>,
    end_s: Option<f64>,
    reason: Option<EndReason>,
    /// The latest countdown number announced.
    countdown_shown: u32,
    /// Index into `order` of the current target.
    index: usize,
    /// The target being played.
    current: Option<TargetResult>,
    /// Playing seconds since the current target started.
    target_elapsed_s: f32,
    /// Playing seconds from the current target's start to its first reach.
    first_reach_s: Option<f32>,
    bank_s: f32,
    warned: bool,
    last_present_s: f64,
    targets: Vec<TargetResult>,
    scores: Vec<PlayerScore>,
    players: Vec<PlayerState>,
    /// Later track ids that took an earlier player's place: (track id, index into `scores`).
    aliases: Vec<(u64, usize)>,
    events: Vec<GameEvent>,
}

impl Round {
    /// A round over `order` (class indices into `labels`, at most `max_targets` are played),
    /// starting its countdown at `now_s`.
    pub fn new(rules: ChallengeRules, labels: Vec<String>, mut order: Vec<usize>, now_s: f64) -> Self {
        order.truncate(rules.max_targets);
        let countdown_s = f64::from(rules.countdown_s.max(0.0));
        let mut round = Self {
            bank_s: rules.start_bank_s.max(0.0),
            rules,
            labels,
            order,
            state: State::Countdown { end_s: now_s + countdown_s },
            now_s,
            paused_since_s: None,
            paused_total_s: 0.0,
            play_start_s: None,
            end_s: None,
            reason: None,
            countdown_shown: 0,
            index: 0,
            current: None,
            target_elapsed_s: 0.0,
            first_reach_s: None,
            warned: false,
            last_present_s: now_s,
            targets: Vec::new(),
            scores: Vec::new(),
            players: Vec::new(),
            aliases: Vec::new(),
            events: Vec::new(),
        };
        if countdown_s > 0.0 {
            round.countdown_shown = countdown_s.ceil() as u32;
            round.events.push(GameEvent::CountdownTick(round.countdown_shown));
        } else {
            round.begin_playing(now_s);
        }
        round
    }

    /// Advances to `now_s` with this frame's players (the caller's clock; earlier times
    /// than the latest update count as the latest).
    pub fn update(&mut self, now_s: f64, players: &[PlayerView]) {
        if self.is_paused() {
            // No picture: nobody scores, nobody leaves, the meters hold.
            return;
        }
        self.advance_clock(self.own_time(now_s));
        let any_present = players.iter().any(|p| p.present);
        match self.state {
            State::Over => return,
            State::Countdown { .. } => {
                self.seat_players(players);
                return;
            }
            State::StillThere { .. } => {
                if !any_present {
                    return;
                }
                self.state = State::Playing;
                self.events.push(GameEvent::PlayerBack);
            }
            State::Playing => {}
        }
        if any_present {
            self.last_present_s = self.now_s;
        } else if self.now_s - self.last_present_s >= f64::from(self.rules.absent_grace_s) {
            self.state = State::StillThere { since_s: self.now_s };
            self.events.push(GameEvent::StillThere);
        }
        self.score_players(players);
    }

    /// Ends the current target unreached (no points, no time added) and starts the next, or
    /// ends the round after the last one. Nothing happens in the countdown or once over.
    pub fn skip(&mut self, now_s: f64) {
        self.advance_clock(self.own_time(now_s));
        if matches!(self.state, State::Playing | State::StillThere { .. }) {
            self.finish_target(self.now_s);
        }
    }

    /// Ends the round ([`EndReason::Stopped`]).
    pub fn stop(&mut self, now_s: f64) {
        self.advance_clock(self.own_time(now_s));
        if self.state != State::Over {
            self.finish(EndReason::Stopped, self.now_s);
        }
    }

    /// Pauses the round at the caller's `now_s` (the picture is gone): its time stands
    /// still until [`Round::resume`]; updates meanwhile are ignored. Nothing happens once
    /// over or while already paused. Skip and stop still work.
    pub fn pause(&mut self, now_s: f64) {
        if self.state == State::Over || self.is_paused() {
            return;
        }
        self.advance_clock(self.own_time(now_s));
        // Paused where the round's clock is now (a caller's time that went back counts as the latest).
        self.paused_since_s = Some(self.now_s + self.paused_total_s);
        self.events.push(GameEvent::Paused);
    }

    /// Goes on after [`Round::pause`] at the caller's `now_s`: the time in between does not
    /// count for anything.
    pub fn resume(&mut self, now_s: f64) {
        let Some(since_s) = self.paused_since_s.take() else {
            return;
        };
        self.paused_total_s += (now_s - since_s).max(0.0);
        if self.state != State::Over {
            self.events.push(GameEvent::Resumed);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused_since_s.is_some()
    }

    /// Caller seconds spent in pauses that ended.
    pub fn paused_s(&self) -> f64 {
        self.paused_total_s
    }

    /// The round's own time at the caller's `now_s`: pauses left out, standing still while paused.
    fn own_time(&self, now_s: f64) -> f64 {
        self.paused_since_s.unwrap_or(now_s) - self.paused_total_s
    }

    pub fn set_difficulty(&mut self, difficulty: Difficulty) {
        self.rules.difficulty = difficulty;
    }

    pub fn difficulty(&self) -> Difficulty {
        self.rules.difficulty
    }

    /// Moves the pending events into `out` (keeps both buffers' capacity).
    pub fn drain_events(&mut self, out: &mut Vec<GameEvent>) {
        out.append(&mut self.events);
    }

    pub fn phase(&self) -> Phase {
        match self.state {
            State::Countdown { end_s } => Phase::Countdown { left_s: (end_s - self.now_s).max(0.0) as f32 },
            State::Playing => Phase::Playing,
            State::StillThere { since_s } => Phase::StillThere {
                left_s: (f64::from(self.rules.still_there_s) - (self.now_s - since_s)).max(0.0) as f32,
            },
            State::Over => Phase::Over,
        }
    }

    /// Class index of the current target while playing or asking "Still there?".
    pub fn target(&self) -> Option<usize> {
        match self.state {
            State::Playing | State::StillThere { .. } => self.order.get(self.index).copied(),
            State::Countdown { .. } | State::Over => None,
        }
    }

    /// The current target's number, 1-based (the first during the countdown, the last once over).
    pub fn target_number(&self) -> usize {
        (self.index + 1).min(self.order.len())
    }

    pub fn targets_total(&self) -> usize {
        self.order.len()
    }

    /// Playing seconds since the current target started.
    pub fn target_elapsed_s(&self) -> f32 {
        self.target_elapsed_s
    }

    pub fn bank_left_s(&self) -> f32 {
        self.bank_s
    }

    /// The bank is below `warning_s` while playing (not paused).
    pub fn warning(&self) -> bool {
        self.state == State::Playing && !self.is_paused() && self.bank_s < self.rules.warning_s
    }

    /// The share of the window `class` must hold at the current difficulty.
    pub fn required_share(&self, class: usize) -> f32 {
        self.rules.required_share(self.labels.get(class).map_or("", String::as_str))
    }

    /// 0..=1: the player's window share of the target class over the required share (1 once
    /// reached; 0 for a player not in the latest frame or without a target).
    pub fn meter(&self, player: u64) -> f32 {
        let (Some(class), Some(i)) = (self.target(), self.find(player)) else {
            return 0.0;
        };
        let state = self.players[i];
        if state.reached { 1.0 } else { (state.share / self.required_share(class)).clamp(0.0, 1.0) }
    }

    /// The player reached the current target.
    pub fn has_reached(&self, player: u64) -> bool {
        self.target().is_some() && self.find(player).is_some_and(|i| self.players[i].reached)
    }

    pub fn player_score(&self, player: u64) -> u32 {
        self.find(player).map_or(0, |i| self.scores[i].score)
    }

    /// The 1-based place of a track id in [`Round::scores`] (its own or the one it took over).
    pub fn player_number(&self, track_id: u64) -> Option<usize> {
        self.find(track_id).map(|i| i + 1)
    }

    /// Every player seen this round, in the order they were first seen.
    pub fn scores(&self) -> &[PlayerScore] {
        &self.scores
    }

    /// Every player's points together.
    pub fn team_score(&self) -> u32 {
        self.scores.iter().map(|s| s.score).fold(0, u32::saturating_add)
    }

    pub fn is_over(&self) -> bool {
        self.state == State::Over
    }

    /// The round's result, once over.
    pub fn result(&self) -> Option<RoundResult> {
        let (State::Over, Some(reason)) = (self.state, self.reason) else {
            return None;
        };
        let duration_s = match (self.play_start_s, self.end_s) {
            (Some(start), Some(end)) => (end - start).max(0.0) as f32,
            _ => 0.0,
        };
        Some(RoundResult {
            targets: self.targets.clone(),
            players: self.scores.clone(),
            score: self.team_score(),
            reason,
            duration_s,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The round's settings (with the current difficulty).
    pub fn rules(&self) -> &ChallengeRules {
        &self.rules
    }

    /// The targets played so far (the current one excluded), as in the result.
    pub fn played(&self) -> &[TargetResult] {
        &self.targets
    }

    /// Every target of the round as class indices, in play order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Moves the clock to `now_s`: countdown ticks and its end, the bank and the target's
    /// clock while playing (and the time-up), the end of "Still there?".
    fn advance_clock(&mut self, now_s: f64) {
        let now_s = now_s.max(self.now_s);
        if let State::Countdown { end_s } = self.state {
            let left = (end_s - now_s).max(0.0).ceil() as u32;
            while self.countdown_shown > 1 && left < self.countdown_shown {
                self.countdown_shown -= 1;
                self.events.push(GameEvent::CountdownTick(self.countdown_shown));
            }
            if now_s < end_s {
                self.now_s = now_s;
                return;
            }
            self.now_s = end_s;
            self.begin_playing(end_s);
        }
        match self.state {
            State::Playing => {
                let dt = (now_s - self.now_s) as f32;
                let start_s = self.now_s;
                self.now_s = now_s;
                if dt >= self.bank_s {
                    self.target_elapsed_s += self.bank_s;
                    let end_s = start_s + f64::from(self.bank_s);
                    self.bank_s = 0.0;
                    self.finish(EndReason::TimeUp, end_s);
                } else {
                    self.bank_s -= dt;
                    self.target_elapsed_s += dt;
                    self.check_warning();
                }
            }
            State::StillThere { since_s } => {
                self.now_s = now_s;
                let end_s = since_s + f64::from(self.rules.still_there_s.max(0.0));
                if now_s >= end_s {
                    self.finish(EndReason::PlayersLeft, end_s);
                }
            }
            State::Countdown { .. } | State::Over => self.now_s = now_s,
        }
    }

    /// The countdown is over at `t`: the first target starts.
    fn begin_playing(&mut self, t: f64) {
        self.state = State::Playing;
        self.play_start_s = Some(t);
        self.last_present_s = t;
        self.check_warning();
        if self.order.is_empty() {
            self.finish(EndReason::AllTargets, t);
        } else {
            self.start_target();
        }
    }

    fn start_target(&mut self) {
        let class = self.order[self.index];
        self.current = Some(TargetResult {
            emotion: self.labels.get(class).cloned().unwrap_or_default(),
            reached: false,
            time_s: 0.0,
            points: 0,
            players: Vec::new(),
        });
        self.target_elapsed_s = 0.0;
        self.first_reach_s = None;
        for p in &mut self.players {
            *p = PlayerState { last_present_s: p.last_present_s, ..PlayerState::default() };
        }
        self.events.push(GameEvent::TargetStarted { number: self.index + 1, class });
    }

    /// This frame's shares: meters, reaches, and the end of the target once everyone present
    /// has reached it or the others' grace is over.
    fn score_players(&mut self, players: &[PlayerView]) {
        let Some(class) = self.target() else {
            return;
        };
        let required = self.required_share(class);
        for p in &mut self.players {
            p.share = 0.0;
        }
        self.seat_players(players);
        for view in players {
            let Some(i) = self.find(view.id) else { continue };
            let share = view.shares.get(class).copied().unwrap_or(0.0);
            self.players[i].share = share;
            if view.present && !self.players[i].reached && share >= required {
                self.reach(i, view.id, class);
            }
        }
        let Some(first_reach_s) = self.first_reach_s else {
            return;
        };
        let everyone = players.iter().filter(|p| p.present).all(|p| self.has_reached(p.id));
        if everyone || self.target_elapsed_s - first_reach_s >= self.rules.others_grace_s {
            self.finish_target(self.now_s);
        }
    }

    /// Player `i` (seen as track `track_id`) reached the current target now.
    fn reach(&mut self, i: usize, track_id: u64, class: usize) {
        let time_s = self.target_elapsed_s;
        let points = self.rules.points(time_s);
        let id = self.scores[i].id;
        self.players[i].reached = true;
        self.scores[i].score = self.scores[i].score.saturating_add(points);
        self.scores[i].reached += 1;
        if let Some(target) = &mut self.current {
            target.points = target.points.saturating_add(points);
            target.players.push(id);
            if !target.reached {
                target.reached = true;
                target.time_s = time_s;
            }
        }
        if self.first_reach_s.is_none() {
            self.first_reach_s = Some(time_s);
            self.bank_s += self.rules.bonus_s(self.labels.get(class).map_or("", String::as_str));
            self.check_warning();
        }
        self.events.push(GameEvent::Reached { player: track_id, class, time_s, points });
    }

    /// Records the current target and starts the next one, or ends the round after the last.
    fn finish_target(&mut self, t: f64) {
        self.record_target();
        self.index += 1;
        if self.index < self.order.len() {
            self.start_target();
        } else {
            self.finish(EndReason::AllTargets, t);
        }
    }

    /// Moves the current target into the results.
    fn record_target(&mut self) {
        if let Some(mut target) = self.current.take() {
            if !target.reached {
                target.time_s = self.target_elapsed_s;
            }
            let class = self.order.get(self.index).copied().unwrap_or_default();
            self.events.push(GameEvent::TargetDone { class, reached: target.reached });
            self.targets.push(target);
        }
    }

    /// Ends the round at `t`.
    fn finish(&mut self, reason: EndReason, t: f64) {
        self.record_target();
        self.state = State::Over;
        self.reason = Some(reason);
        self.end_s = Some(t);
        self.events.push(GameEvent::Over(reason));
    }

    /// A warning each time the bank drops below `warning_s`.
    fn check_warning(&mut self) {
        let below = self.bank_s < self.rules.warning_s;
        if below && !self.warned {
            self.events.push(GameEvent::TimeWarning);
        }
        self.warned = below;
    }

    /// The place (index into `scores`) of a track id: its own, or the one it took over.
    fn find(&self, player: u64) -> Option<usize> {
        self.scores
            .iter()
            .position(|s| s.id == player)
            .or_else(|| self.aliases.iter().find(|(id, _)| *id == player).map(|(_, i)| *i))
    }

    /// Gives every present face of this frame a place: its own, else the place of the most
    /// recently seen player who is out of view now, else a new one.
    fn seat_players(&mut self, players: &[PlayerView]) {
        let now = self.now_s;
        for p in &mut self.players {
            p.seen = false;
        }
        for view in players.iter().filter(|p| p.present) {
            if let Some(i) = self.find(view.id) {
                self.players[i].last_present_s = now;
                self.players[i].seen = true;
            }
        }
        for view in players.iter().filter(|p| p.present) {
            if self.find(view.id).is_some() {
                continue;
            }
            let vacant = (0..self.players.len())
                // Out of view in this frame (after a pause the round's time has not moved,
                // so "seen before now" would not tell).
                .filter(|&i| !self.players[i].seen)
                .max_by(|&a, &b| self.players[a].last_present_s.total_cmp(&self.players[b].last_present_s));
            let i = match vacant {
                Some(i) => {
                    self.aliases.push((view.id, i));
                    i
                }
                None => {
                    self.scores.push(PlayerScore { id: view.id, score: 0, reached: 0 });
                    self.players.push(PlayerState::default());
                    self.scores.len() - 1
                }
            };
            self.players[i].last_present_s = now;
            self.players[i].seen = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::confirmation::{ConfirmationSettings, ConfirmationWindow};

    const ANGRY: usize = 0;
    const HAPPY: usize = 3;
    const SAD: usize = 4;
    const NEUTRAL: usize = 6;
    const N_CLASSES: usize = 7;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    /// A window holding `share` of `class` and the rest neutral.
    fn window(class: usize, share: f32) -> [f32; N_CLASSES] {
        let mut shares = [0.0; N_CLASSES];
        shares[NEUTRAL] = 1.0 - share;
        shares[class] = share;
        shares
    }

    /// Plays one frame: `(id, shares, present)` per face.
    fn frame(round: &mut Round, t: f64, faces: &[(u64, [f32; N_CLASSES], bool)]) {
        let views: Vec<PlayerView> =
            faces.iter().map(|(id, shares, present)| PlayerView { id: *id, shares, present: *present }).collect();
        round.update(t, &views);
    }

    fn events(round: &mut Round) -> Vec<GameEvent> {
        let mut out = Vec::new();
        round.drain_events(&mut out);
        out
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn countdown_ticks_and_keeps_the_bank() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY], 10.0);
        assert_eq!(round.phase(), Phase::Countdown { left_s: 3.0 });
        assert_eq!(round.target(), None);
        for t in [10.5, 11.0, 11.5, 12.0, 12.5] {
            frame(&mut round, t, &[(1, window(HAPPY, 1.0), true)]);
        }
        // A full window during the countdown scores nothing.
        assert_eq!(round.player_score(1), 0);
        assert_eq!(round.bank_left_s(), 20.0);
        assert_eq!(round.phase(), Phase::Countdown { left_s: 0.5 });
        assert_eq!(
            events(&mut round),
            [GameEvent::CountdownTick(3), GameEvent::CountdownTick(2), GameEvent::CountdownTick(1)]
        );
        frame(&mut round, 13.5, &[(1, window(HAPPY, 0.0), true)]);
        assert_eq!(round.phase(), Phase::Playing);
        assert_eq!(events(&mut round), [GameEvent::TargetStarted { number: 1, class: HAPPY }]);
        assert!(close(round.bank_left_s(), 19.5));
        assert!(close(round.target_elapsed_s(), 0.5));
        assert_eq!(round.target(), Some(HAPPY));
    }

    #[test]
    fn two_players_score_separately() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, NEUTRAL], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.2), true), (2, window(HAPPY, 0.1), true)]);
        assert_eq!(round.target(), Some(HAPPY));
        assert!(close(round.meter(1), 0.2 / 0.6));
        // Player 1 reaches after 1 s: 100 + 90.
        frame(&mut round, 4.0, &[(1, window(HAPPY, 0.6), true), (2, window(HAPPY, 0.3), true)]);
        assert!(round.has_reached(1));
        assert!(!round.has_reached(2));
        assert_eq!(round.meter(1), 1.0);
        assert!(close(round.meter(2), 0.5));
        assert_eq!(round.player_score(1), 190);
        assert!(close(round.bank_left_s(), 20.0 - 1.0 + 4.0), "happy adds 4 s: {}", round.bank_left_s());
        // Player 2 reaches after 2 s, within the others' grace: 100 + 80; the target ends.
        frame(&mut round, 5.0, &[(1, window(HAPPY, 0.7), true), (2, window(HAPPY, 0.65), true)]);
        assert_eq!(round.player_score(2), 180);
        assert_eq!(round.target(), Some(NEUTRAL));
        assert!(!round.has_reached(1));
        assert!(close(round.bank_left_s(), 22.0), "the bank gains once per target: {}", round.bank_left_s());
        // Neutral: player 2 after 0.5 s (100 + 95); player 1 never, so the grace ends it.
        frame(&mut round, 5.5, &[(1, window(HAPPY, 0.9), true), (2, window(NEUTRAL, 0.8), true)]);
        assert_eq!(round.player_score(2), 375);
        frame(&mut round, 6.5, &[(1, window(HAPPY, 0.9), true), (2, window(NEUTRAL, 0.8), true)]);
        assert!(!round.is_over(), "1 s after the first reach the others still have time");
        frame(&mut round, 7.0, &[(1, window(HAPPY, 0.9), true), (2, window(NEUTRAL, 0.8), true)]);
        assert!(round.is_over());
        assert_eq!(round.team_score(), 190 + 375);
        let result = round.result().expect("over");
        assert_eq!(result.reason, EndReason::AllTargets);
        assert_eq!(result.score, 565);
        assert_eq!(
            result.players,
            [PlayerScore { id: 1, score: 190, reached: 1 }, PlayerScore { id: 2, score: 375, reached: 2 }]
        );
        assert_eq!(result.targets.len(), 2);
        assert_eq!(result.targets[0].emotion, "happy");
        assert!(result.targets[0].reached);
        assert!(close(result.targets[0].time_s, 1.0));
        assert_eq!(result.targets[0].points, 370);
        assert_eq!(result.targets[0].players, [1, 2]);
        assert_eq!(result.targets[1].emotion, "neutral");
        assert!(close(result.targets[1].time_s, 0.5));
        assert_eq!(result.targets[1].players, [2]);
        assert!(close(result.duration_s, 4.0), "countdown excluded: {}", result.duration_s);
        let events = events(&mut round);
        let reached: Vec<(u64, u32)> = events
            .iter()
            .filter_map(|e| match e {
                GameEvent::Reached { player, points, .. } => Some((*player, *points)),
                _ => None,
            })
            .collect();
        assert_eq!(reached, [(1, 190), (2, 180), (2, 195)]);
        assert!(events.contains(&GameEvent::TargetDone { class: NEUTRAL, reached: true }));
        assert_eq!(events.last(), Some(&GameEvent::Over(EndReason::AllTargets)));
    }

    #[test]
    fn a_player_leaving_ends_the_round_after_still_there() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, SAD], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.1), true)]);
        frame(&mut round, 4.0, &[(1, window(HAPPY, 0.1), true)]);
        // Coasting (not found by the detector) counts as absent, then the face is gone.
        frame(&mut round, 5.0, &[(1, window(HAPPY, 0.9), false)]);
        assert_eq!(round.player_score(1), 0, "a coasting track never scores");
        frame(&mut round, 6.5, &[]);
        assert_eq!(round.phase(), Phase::Playing);
        frame(&mut round, 7.0, &[]);
        assert_eq!(round.phase(), Phase::StillThere { left_s: 5.0 });
        let bank = round.bank_left_s();
        assert!(close(bank, 16.0));
        frame(&mut round, 9.0, &[]);
        assert_eq!(round.bank_left_s(), bank, "the bank stops during Still there?");
        assert_eq!(round.phase(), Phase::StillThere { left_s: 3.0 });
        assert_eq!(round.target(), Some(HAPPY));
        frame(&mut round, 12.0, &[]);
        assert!(round.is_over());
        let result = round.result().expect("over");
        assert_eq!(result.reason, EndReason::PlayersLeft);
        assert_eq!(result.targets.len(), 1);
        assert!(!result.targets[0].reached);
        assert!(close(result.targets[0].time_s, 4.0), "playing time only: {}", result.targets[0].time_s);
        assert!(close(result.duration_s, 9.0));
        let events = events(&mut round);
        assert!(events.contains(&GameEvent::StillThere));
        assert_eq!(events.last(), Some(&GameEvent::Over(EndReason::PlayersLeft)));
    }

    #[test]
    fn a_player_back_in_time_resumes_the_round() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.1), true)]);
        frame(&mut round, 6.0, &[]);
        assert!(matches!(round.phase(), Phase::StillThere { .. }));
        frame(&mut round, 10.0, &[]);
        // The face back has a new track id: it takes the place of the player who left.
        frame(&mut round, 10.5, &[(7, window(HAPPY, 0.2), true)]);
        assert_eq!(round.phase(), Phase::Playing);
        assert_eq!(events(&mut round).last(), Some(&GameEvent::PlayerBack));
        frame(&mut round, 11.0, &[(7, window(HAPPY, 0.8), true)]);
        assert!(close(round.bank_left_s(), 20.0 - 3.5 + 4.0), "{}", round.bank_left_s());
        // Reached 3.5 playing seconds into the target: 100 + 65.
        assert_eq!(round.player_score(7), 165);
        assert_eq!(round.player_number(7), Some(1));
        let result = round.result().expect("the only player reached the only target");
        assert_eq!(result.reason, EndReason::AllTargets);
        assert_eq!(result.players.len(), 1, "one person, one place");
        assert_eq!(result.players[0].id, 1);
        assert_eq!(result.players[0].score, 165);
    }

    #[test]
    fn a_new_face_takes_the_place_of_a_player_out_of_view_not_of_one_in_view() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, SAD], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.1), true), (2, window(HAPPY, 0.1), true)]);
        // Player 2's track is lost; a new id appears while player 1 stays in view.
        frame(&mut round, 3.5, &[(1, window(HAPPY, 0.1), true)]);
        frame(&mut round, 4.0, &[(1, window(HAPPY, 0.1), true), (9, window(HAPPY, 0.8), true)]);
        assert_eq!(round.player_number(9), Some(2), "the new id is player 2 again");
        assert_eq!(round.scores().len(), 2);
        let mut ev = Vec::new();
        round.drain_events(&mut ev);
        assert!(
            ev.iter().any(|e| matches!(e, GameEvent::Reached { player: 9, .. })),
            "the event names the track on screen: {ev:?}"
        );
        assert_eq!(round.player_score(2), round.player_score(9));
        // A third face while both are in view is a third player.
        frame(
            &mut round,
            4.5,
            &[(1, window(HAPPY, 0.1), true), (9, window(HAPPY, 0.1), true), (5, window(SAD, 0.0), true)],
        );
        assert_eq!(round.player_number(5), Some(3));
    }

    #[test]
    fn the_bank_running_out_ends_the_round_with_the_target_unreached() {
        let rules = ChallengeRules { start_bank_s: 6.0, ..ChallengeRules::default() };
        let mut round = Round::new(rules, labels(), vec![HAPPY, SAD, ANGRY], 0.0);
        let mut t = 3.0;
        while t <= 5.0 {
            frame(&mut round, t, &[(1, window(HAPPY, 0.3), true)]);
            t += 0.5;
        }
        assert!(round.warning(), "4.5 s left");
        frame(&mut round, 5.5, &[(1, window(HAPPY, 0.6), true)]);
        assert!(!round.warning(), "happy added 4 s");
        assert_eq!(round.target(), Some(SAD));
        while !round.is_over() {
            t += 0.5;
            frame(&mut round, t, &[(1, window(SAD, 0.3), true)]);
            assert!(t < 20.0, "the bank never ran out");
        }
        // 6 - 2.5 + 4 = 7.5 s for sad.
        assert!(close(t as f32, 5.5 + 7.5), "{t}");
        frame(&mut round, t + 0.5, &[(1, window(SAD, 1.0), true)]);
        assert_eq!(round.player_score(1), 175, "nothing scores once over");
        let result = round.result().expect("over");
        assert_eq!(result.reason, EndReason::TimeUp);
        assert_eq!(result.targets.len(), 2);
        assert!(result.targets[0].reached);
        assert!(!result.targets[1].reached);
        assert!(close(result.targets[1].time_s, 7.5));
        assert!(close(result.duration_s, 10.0));
        assert_eq!(round.bank_left_s(), 0.0);
        let events = events(&mut round);
        let warnings = events.iter().filter(|e| **e == GameEvent::TimeWarning).count();
        assert_eq!(warnings, 2, "once per drop below 5 s: {events:?}");
        assert!(events.contains(&GameEvent::TargetDone { class: SAD, reached: false }));
        assert_eq!(events.last(), Some(&GameEvent::Over(EndReason::TimeUp)));
    }

    #[test]
    fn skip_ends_the_target_unreached() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, SAD], 0.0);
        round.skip(1.0);
        assert_eq!(round.target_number(), 1, "no skip in the countdown");
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.5), true)]);
        round.skip(4.0);
        assert_eq!(round.target(), Some(SAD));
        assert_eq!(round.target_number(), 2);
        assert_eq!(round.target_elapsed_s(), 0.0);
        assert!(close(round.bank_left_s(), 19.0), "no time added");
        assert_eq!(round.meter(1), 0.0);
        round.skip(4.5);
        assert!(round.is_over());
        let result = round.result().expect("over");
        assert_eq!(result.reason, EndReason::AllTargets);
        assert_eq!(result.score, 0);
        assert_eq!(result.targets.iter().map(|t| t.reached).collect::<Vec<_>>(), [false, false]);
        assert!(close(result.targets[0].time_s, 1.0));
        let events = events(&mut round);
        assert!(events.contains(&GameEvent::TargetDone { class: HAPPY, reached: false }));
        assert!(events.contains(&GameEvent::TargetStarted { number: 2, class: SAD }));
    }

    #[test]
    fn stop_ends_the_round() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, SAD], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.5), true)]);
        round.stop(5.0);
        let result = round.result().expect("stopped");
        assert_eq!(result.reason, EndReason::Stopped);
        assert_eq!(result.targets.len(), 1);
        assert_eq!(round.played(), result.targets.as_slice());
        assert!(close(result.duration_s, 2.0));
        assert_eq!(round.phase(), Phase::Over);
        assert_eq!(round.target(), None);
        // The shape `--results-json` writes, and reads back.
        let json = serde_json::to_value(&result).expect("plain data");
        assert_eq!(json["reason"], "stopped");
        assert_eq!(json["targets"][0]["emotion"], "happy");
        assert_eq!(json["targets"][0]["reached"], false);
        let back: RoundResult = serde_json::from_value(json).expect("same shape");
        assert_eq!(back, result);
    }

    #[test]
    fn a_one_frame_spike_never_reaches() {
        // Real confirmation windows: the share is over the last 20 frames.
        let settings = ConfirmationSettings::default();
        let mut window = ConfirmationWindow::new(N_CLASSES, &settings, Some(NEUTRAL));
        let mut shares = [0.0; N_CLASSES];
        let mut round =
            Round::new(ChallengeRules { countdown_s: 0.0, ..ChallengeRules::default() }, labels(), vec![HAPPY], 0.0);
        let mut t = 0.0;
        let mut play = |round: &mut Round, window: &mut ConfirmationWindow, top: usize| {
            window.push(top);
            for (c, s) in shares.iter_mut().enumerate() {
                *s = window.share(c);
            }
            t += 0.1;
            round.update(t, &[PlayerView { id: 1, shares: &shares, present: true }]);
        };
        // A happy frame every fifth frame, the rest neutral: never 60% of the window.
        for i in 0..60 {
            play(&mut round, &mut window, if i % 5 == 0 { HAPPY } else { NEUTRAL });
            assert!(!round.has_reached(1), "frame {i}");
        }
        for i in 0..20 {
            play(&mut round, &mut window, NEUTRAL);
            assert!(!round.has_reached(1), "neutral frame {i}");
        }
        // Holding happy: reached on the 12th frame in a row (12/20 = 60%).
        for i in 1..=12 {
            play(&mut round, &mut window, HAPPY);
            assert_eq!(round.is_over(), i == 12, "frame {i}");
        }
        assert_eq!(round.result().map(|r| r.targets[0].reached), Some(true));
    }

    #[test]
    fn difficulty_changes_what_counts() {
        let mut round =
            Round::new(ChallengeRules { countdown_s: 0.0, ..ChallengeRules::default() }, labels(), vec![HAPPY], 0.0);
        assert!(close(round.required_share(HAPPY), 0.6));
        round.set_difficulty(Difficulty::Hard);
        assert_eq!(round.difficulty(), Difficulty::Hard);
        assert!(close(round.required_share(HAPPY), 0.72));
        frame(&mut round, 0.5, &[(1, window(HAPPY, 0.65), true)]);
        assert!(!round.has_reached(1));
        assert!(close(round.meter(1), 0.65 / 0.72));
        round.set_difficulty(Difficulty::Easy);
        assert!(close(round.required_share(HAPPY), 0.48));
        frame(&mut round, 1.0, &[(1, window(HAPPY, 0.65), true)]);
        assert!(round.is_over());
        assert_eq!(round.player_score(1), 190);
    }

    #[test]
    fn a_pause_freezes_the_bank_the_meters_and_the_absence_then_the_round_goes_on() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY, SAD], 0.0);
        frame(&mut round, 3.0, &[(1, window(HAPPY, 0.3), true)]);
        frame(&mut round, 5.0, &[(1, window(HAPPY, 0.3), true)]);
        let (bank, elapsed, meter) = (round.bank_left_s(), round.target_elapsed_s(), round.meter(1));
        assert!(close(bank, 18.0) && close(meter, 0.5), "{bank} {meter}");
        round.pause(5.0);
        assert!(round.is_paused());
        // 60 s without a picture: frames with nobody (or a full window) change nothing.
        let mut t = 5.0;
        while t < 65.0 {
            t += 0.5;
            frame(&mut round, t, &[]);
        }
        frame(&mut round, 65.5, &[(1, window(HAPPY, 1.0), true)]);
        assert_eq!(round.phase(), Phase::Playing, "nobody counted as left");
        assert_eq!((round.bank_left_s(), round.target_elapsed_s()), (bank, elapsed), "the bank stood still");
        assert_eq!(round.meter(1), meter, "the meter holds");
        assert_eq!(round.player_score(1), 0);
        assert!(!round.warning());
        round.pause(66.0);
        round.resume(70.0);
        assert!(!round.is_paused());
        assert!(close(round.paused_s() as f32, 65.0), "{}", round.paused_s());
        // After the pause the tracker gives the same face a new id: the same player.
        frame(&mut round, 70.5, &[(4, window(HAPPY, 0.7), true)]);
        assert!(close(round.bank_left_s(), bank - 0.5 + 4.0), "only playing time counts: {}", round.bank_left_s());
        assert_eq!(round.player_number(4), Some(1), "one person, one place");
        assert_eq!(round.player_score(4), 100 + 75, "reached 2.5 playing seconds into the target");
        assert_eq!(round.target(), Some(SAD));
        round.stop(71.0);
        let result = round.result().expect("over");
        assert!(close(result.duration_s, 2.0 + 0.5 + 0.5), "pauses excluded: {}", result.duration_s);
        assert_eq!(result.players.len(), 1);
        let events = events(&mut round);
        assert_eq!(events.iter().filter(|e| **e == GameEvent::Paused).count(), 1, "{events:?}");
        assert_eq!(events.iter().filter(|e| **e == GameEvent::Resumed).count(), 1, "{events:?}");
    }

    #[test]
    fn a_pause_holds_the_countdown_and_still_there() {
        let mut round = Round::new(ChallengeRules::default(), labels(), vec![HAPPY], 0.0);
        frame(&mut round, 1.0, &[(1, window(HAPPY, 0.0), true)]);
        round.pause(1.0);
        frame(&mut round, 30.0, &[]);
        assert_eq!(round.phase(), Phase::Countdown { left_s: 2.0 });
        round.resume(30.0);
        frame(&mut round, 32.5, &[(1, window(HAPPY, 0.0), true)]);
        assert_eq!(round.phase(), Phase::Playing);
        assert!(close(round.bank_left_s(), 19.5));
        // Nobody in view: "Still there?" with 5 s; a pause in it keeps its seconds.
        frame(&mut round, 36.0, &[]);
        assert_eq!(round.phase(), Phase::StillThere { left_s: 5.0 });
        frame(&mut round, 37.0, &[]);
        round.pause(37.0);
        frame(&mut round, 100.0, &[]);
        round.resume(100.0);
        assert_eq!(round.phase(), Phase::StillThere { left_s: 4.0 });
        frame(&mut round, 103.0, &[]);
        assert!(!round.is_over());
        frame(&mut round, 104.0, &[]);
        assert_eq!(round.result().map(|r| r.reason), Some(EndReason::PlayersLeft));
        // Over: a pause is no longer taken.
        round.pause(105.0);
        assert!(!round.is_paused());
    }
}
