//! The game's screens as Bevy `States`: attract (start-up and when nobody is in view),
//! mirror (free play), challenge (the mimic game) and results (score and high-score table).
//! Each screen's entities are scoped to its state (`DespawnOnExit`); its systems are gated
//! by it. The rules of the challenge live outside the ECS, in [`crate::game`].
//!
//! Keys, on-screen buttons and taps all end up as one [`GameCommand`] message; this module
//! turns the screen-changing ones into state transitions, the challenge screen reads the
//! rest (skip, harder, easier).

pub mod attract;
pub mod challenge;
pub mod mirror;
pub mod results;

use std::path::PathBuf;

use bevy::prelude::*;

use super::AppSystems;
use super::faces::FaceTrack;
use crate::game::RoundResult;

/// Seconds without any face in view after which the mirror and the results screen go
/// back to the attract screen (a passer-by who walked away leaves the exhibit ready).
pub const IDLE_TO_ATTRACT_S: f32 = 30.0;

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

impl Screen {
    /// The screen's name on the command line and in the screenshot report.
    pub fn name(self) -> &'static str {
        match self {
            Screen::Attract => "attract",
            Screen::Mirror => "mirror",
            Screen::Challenge => "challenge",
            Screen::Results => "results",
        }
    }

    /// The screen of a command-line name (`--start-screen`).
    pub fn from_name(name: &str) -> Option<Screen> {
        [Screen::Attract, Screen::Mirror, Screen::Challenge, Screen::Results].into_iter().find(|s| s.name() == name)
    }
}

/// How the challenge runs (from the command line).
#[derive(Resource, Debug, Clone, Default)]
pub struct ChallengeOptions {
    /// A fixed order of targets (class labels) for presentations (`--demo-sequence`).
    pub demo_sequence: Option<Vec<String>>,
    /// Start the challenge at once, enter no initials, quit after the results screen.
    pub autoplay: bool,
    /// After the results screen, start the next round instead of going back to attract
    /// (`--loop-rounds`; soak runs).
    pub loop_rounds: bool,
    /// Write the round's result here as JSON when it ends (`--results-json`).
    pub results_json: Option<PathBuf>,
}

/// The round that ended last (shown by the results screen).
#[derive(Resource, Debug, Clone, Default)]
pub struct LastRound(pub Option<RoundResult>);

/// What a key, a button or a tap asks the game to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameAction {
    /// Start the challenge (from any screen).
    Start,
    /// Free play: the mirror.
    Mirror,
    /// Back to the attract screen.
    Attract,
    /// Skip the current target (challenge only).
    Skip,
    /// Make the challenge harder / easier (challenge only).
    Harder,
    Easier,
}

/// One game action, from the keyboard, an on-screen button or a scripted tap.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct GameCommand(pub GameAction);

/// Where the on-screen buttons and items were drawn this frame (window pixels, y down,
/// `[x0, y0, x1, y1]`): the screenshot report lists them, scripted taps aim at them.
/// Cleared at the start of every frame; every screen registers what it draws.
#[derive(Resource, Debug, Clone, Default)]
pub struct OnScreen {
    /// Touch buttons by name ("play", "mirror", "skip", "stop", "done", "key-A", ...).
    pub buttons: Vec<(String, [f32; 4])>,
    /// Other things worth checking ("notice", "target", "meter-1", ...).
    pub items: Vec<(String, [f32; 4])>,
}

impl OnScreen {
    /// Registers a button drawn this frame.
    pub fn button(&mut self, name: &str, rect: [f32; 4]) {
        self.buttons.push((name.to_string(), rect));
    }

    /// Registers an item drawn this frame.
    pub fn item(&mut self, name: &str, rect: [f32; 4]) {
        self.items.push((name.to_string(), rect));
    }

    /// The rect of the button named `name`, if it was drawn.
    pub fn button_rect(&self, name: &str) -> Option<[f32; 4]> {
        self.buttons.iter().find(|(n, _)| n == name).map(|(_, r)| *r)
    }

    /// The rect of the item named `name`, if it was drawn.
    pub fn item_rect(&self, name: &str) -> Option<[f32; 4]> {
        self.items.iter().find(|(n, _)| n == name).map(|(_, r)| *r)
    }

    fn clear(&mut self) {
        self.buttons.clear();
        self.items.clear();
    }
}

/// The screens shown since start-up, in order (the screenshot report lists them).
#[derive(Resource, Debug, Clone, Default)]
pub struct ScreenHistory(pub Vec<Screen>);

/// Seconds since a face was last in view (drives the return to the attract screen).
#[derive(Resource, Debug, Clone, Default)]
pub struct Idle {
    pub since_face_s: f32,
}

/// The state plugin, without the screens' own plugins (ECS tests use it alone).
/// The start screen is `Screen::default()` unless the app inserted another one first.
pub fn state_plugin(app: &mut App) {
    if !app.world().contains_resource::<State<Screen>>() {
        app.init_state::<Screen>();
    }
    app.add_message::<GameCommand>()
        .init_resource::<OnScreen>()
        .init_resource::<ScreenHistory>()
        .init_resource::<Idle>()
        .init_resource::<LastRound>()
        .init_resource::<ChallengeOptions>()
        .add_systems(First, clear_on_screen)
        .add_systems(
            Update,
            (
                apply_game_commands.after(AppSystems::Input).before(AppSystems::Receive),
                (count_idle_time, return_to_attract_when_idle).chain().after(AppSystems::Track),
                record_history,
            ),
        );
}

/// Every screen: the state machine and each screen's systems.
pub(super) fn plugin(app: &mut App) {
    app.add_plugins((state_plugin, attract::plugin, challenge::plugin, mirror::plugin, results::plugin));
}

fn clear_on_screen(mut on_screen: ResMut<OnScreen>) {
    on_screen.clear();
}

/// The screen an action leads to from `from` (None: it does not change the screen).
pub fn next_screen(from: Screen, action: GameAction) -> Option<Screen> {
    let to = match action {
        GameAction::Start => Screen::Challenge,
        GameAction::Mirror => Screen::Mirror,
        GameAction::Attract => Screen::Attract,
        GameAction::Skip | GameAction::Harder | GameAction::Easier => return None,
    };
    (to != from).then_some(to)
}

fn apply_game_commands(
    mut commands: MessageReader<GameCommand>,
    screen: Res<State<Screen>>,
    mut next: ResMut<NextState<Screen>>,
) {
    let mut at = *screen.get();
    for GameCommand(action) in commands.read() {
        if let Some(to) = next_screen(at, *action) {
            next.set(to);
            at = to;
        }
    }
}

fn count_idle_time(time: Res<Time>, faces: Query<(), With<FaceTrack>>, mut idle: ResMut<Idle>) {
    if faces.is_empty() {
        idle.since_face_s += time.delta_secs();
    } else {
        idle.since_face_s = 0.0;
    }
}

/// Mirror and results go back to attract when nobody has been in view for a while.
fn return_to_attract_when_idle(
    screen: Res<State<Screen>>,
    mut idle: ResMut<Idle>,
    mut next: ResMut<NextState<Screen>>,
) {
    let idle_screen = matches!(screen.get(), Screen::Mirror | Screen::Results);
    if idle_screen && idle.since_face_s >= IDLE_TO_ATTRACT_S {
        idle.since_face_s = 0.0;
        next.set(Screen::Attract);
    }
}

fn record_history(screen: Res<State<Screen>>, mut history: ResMut<ScreenHistory>) {
    let now = *screen.get();
    if history.0.last() != Some(&now) {
        history.0.push(now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;
    use bevy::time::TimeUpdateStrategy;

    use super::*;
    use crate::vision::{BBox, LANDMARKS};

    fn app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .configure_sets(Update, (AppSystems::Input, AppSystems::Receive, AppSystems::Track).chain())
            .add_plugins(state_plugin);
        // Manually advanced time may jump further than Bevy's default clamp.
        app.world_mut().resource_mut::<Time<Virtual>>().set_max_delta(Duration::from_secs(600));
        app.update();
        app
    }

    fn send(app: &mut App, action: GameAction) {
        app.world_mut().write_message(GameCommand(action));
        // One update applies the command, the next runs the transition.
        app.update();
        app.update();
    }

    fn screen(app: &App) -> Screen {
        *app.world().resource::<State<Screen>>().get()
    }

    #[test]
    fn commands_go_from_attract_to_mirror_and_back() {
        let mut app = app();
        assert_eq!(screen(&app), Screen::Attract);
        send(&mut app, GameAction::Mirror);
        assert_eq!(screen(&app), Screen::Mirror);
        send(&mut app, GameAction::Skip);
        assert_eq!(screen(&app), Screen::Mirror, "skip does not leave the mirror");
        send(&mut app, GameAction::Attract);
        assert_eq!(screen(&app), Screen::Attract);
        send(&mut app, GameAction::Start);
        assert_eq!(screen(&app), Screen::Challenge);
        let history = &app.world().resource::<ScreenHistory>().0;
        assert_eq!(history, &vec![Screen::Attract, Screen::Mirror, Screen::Attract, Screen::Challenge]);
    }

    fn advance(app: &mut App, seconds: f32) {
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_secs_f32(seconds)));
        app.update();
    }

    fn spawn_face(app: &mut App) -> Entity {
        app.world_mut()
            .spawn(FaceTrack {
                id: 1,
                bbox_in_frame: BBox { x: 0.0, y: 0.0, w: 10.0, h: 10.0 },
                landmarks_in_frame: [[0.0; 2]; LANDMARKS],
                misses: 0,
            })
            .id()
    }

    #[test]
    fn the_mirror_goes_back_to_attract_when_nobody_is_in_view() {
        let mut app = app();
        send(&mut app, GameAction::Mirror);
        let face = spawn_face(&mut app);
        // Someone in view: the mirror stays, however long.
        for _ in 0..8 {
            advance(&mut app, IDLE_TO_ATTRACT_S / 4.0);
        }
        assert_eq!(screen(&app), Screen::Mirror);
        app.world_mut().despawn(face);
        advance(&mut app, IDLE_TO_ATTRACT_S * 0.6);
        advance(&mut app, IDLE_TO_ATTRACT_S * 0.3);
        assert_eq!(screen(&app), Screen::Mirror, "not yet: {} s idle", app.world().resource::<Idle>().since_face_s);
        advance(&mut app, IDLE_TO_ATTRACT_S * 0.2);
        app.update();
        assert_eq!(screen(&app), Screen::Attract);
    }

    #[test]
    fn the_challenge_does_not_time_out_to_attract_here() {
        // The challenge ends its own round (players who leave get "Still there?").
        let mut app = app();
        send(&mut app, GameAction::Start);
        advance(&mut app, IDLE_TO_ATTRACT_S * 2.0);
        app.update();
        assert_eq!(screen(&app), Screen::Challenge);
    }

    #[test]
    fn screen_names_round_trip() {
        for s in [Screen::Attract, Screen::Mirror, Screen::Challenge, Screen::Results] {
            assert_eq!(Screen::from_name(s.name()), Some(s));
        }
        assert_eq!(Screen::from_name("menu"), None);
    }
}
