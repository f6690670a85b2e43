//! "Fool the AI" in the app: the largest face's crop is changed slightly, by model queries
//! alone ([`crate::attack`]), until the classifier reads another emotion; the original, the
//! hacked crop and the amplified difference are shown side by side with the labels.
//!
//! | key (button)               | action                                                  |
//! |----------------------------|---------------------------------------------------------|
//! | k ("Fool the AI")          | open the view on the largest face; in the view: again   |
//! | Left / Right ("<", ">")    | previous / next target emotion (the attack starts over) |
//! | ESC ("Back")               | leave the view (a running attack is cancelled)          |
//!
//! The attack runs on its own plain thread with its own classifier session (from the
//! manifest the app uses), started the first time the view opens; jobs and replies go
//! through bounded channels, so neither the render nor the analysis ever waits for it.
//! Leaving the view cancels the attack (checked every [`attack::PROGRESS_EVERY_QUERIES`]
//! queries) and drops the pictures. Nothing is written to disk: the crops live in memory and
//! in egui textures only.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bevy::prelude::*;
use bevy::window::RequestRedraw;
use bevy_egui::input::EguiWantsInput;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use crossbeam_channel::{Receiver, Sender, TrySendError};
use image::{GrayImage, RgbImage};

use super::controls::Hotkeys;
use super::kiosk::Kiosk;
use super::screens::mirror::corner_buttons;
use super::screens::{GameAction, GameCommand, OnScreen, Screen};
use super::video::{LatestAnalysis, SourceStatus, VideoTexture};
use super::{AppSystems, PipelineSettings, theme};
use crate::attack::{self, AttackOutcome, AttackSettings, Progress};
use crate::config::Settings;
use crate::logs::error_chain;
use crate::report::display_label;
use crate::vision::Face;
use crate::vision::classifier::{EmotionClassifier, top_two};

/// Jobs waiting for the worker: one (a newer one replaces it, see [`FoolWorker::submit`]).
const JOB_CAPACITY: usize = 1;
/// Replies waiting for the app. Progress is dropped when they are full (the next report
/// comes [`attack::PROGRESS_EVERY_QUERIES`] queries later); results are never dropped.
const REPLY_CAPACITY: usize = 16;
/// ONNX Runtime threads of the attack's session: a 48x48 CNN gains nothing from more, and
/// the analysis engine needs the other cores.
const QUERY_THREADS: usize = 1;
/// The difference picture maps the full budget to this many gray levels either side of
/// mid-gray (as `hack`'s difference.png).
const DIFFERENCE_HALF_RANGE: f32 = 127.0;
/// Width of the "Fool the AI" corner button at 1080p (pixels; beside the mirror's two).
const OPEN_BUTTON_WIDTH_PX: f32 = 260.0;
/// Width of the view's buttons at 1080p (pixels).
const VIEW_BUTTON_WIDTH_PX: f32 = 220.0;
/// Height of the view's heading (two lines) and of a picture's caption (two lines), at 1080p.
const HEADING_PX: f32 = 110.0;
const CAPTION_PX: f32 = 90.0;
/// Text sizes at 1080p (pixels).
const TITLE_TEXT_PX: f32 = 44.0;
const TEXT_PX: f32 = 30.0;
/// Colours of the progress bar.
const BAR_BACKGROUND: egui::Color32 = egui::Color32::from_gray(60);
const BAR_FILL: egui::Color32 = theme::PRIMARY;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FoolView>()
        .init_resource::<FoolTextures>()
        .init_resource::<FoolWorkerSlot>()
        .add_message::<FoolCommand>()
        .add_systems(Update, read_fool_keys.in_set(AppSystems::Input).before(Hotkeys))
        .add_systems(Update, (apply_fool_commands, receive_fool_replies).chain().in_set(AppSystems::Track))
        .add_systems(OnExit(Screen::Mirror), close_fool_view)
        .add_systems(EguiPrimaryContextPass, fool_ui.run_if(in_state(Screen::Mirror)));
}

/// What a key or a button asks of the view.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoolCommand {
    /// Open the view on the largest face (in the view: take a new crop and start over).
    Open,
    /// The previous (-1) or next (+1) target emotion.
    Target(i8),
    /// Leave the view.
    Close,
}

/// The face being attacked: the analysed frame it was seen in and its box.
#[derive(Debug, Clone)]
pub struct Subject {
    pub frame: Arc<RgbImage>,
    pub face: Face,
}

/// One attack for the worker.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub subject: Subject,
    /// The target class (None: [`default_target`] of what the face is read as).
    pub target: Option<usize>,
    pub settings: AttackSettings,
}

/// What the worker says about a job.
#[derive(Debug)]
pub enum Reply {
    /// The crop and what the classifier reads in it: the attack goes from `from` to `to`.
    Read {
        job: u64,
        crop: GrayImage,
        before: Vec<f32>,
        from: usize,
        to: usize,
    },
    Progress {
        job: u64,
        progress: Progress,
    },
    Finished {
        job: u64,
        outcome: Box<AttackOutcome>,
    },
    Failed {
        job: u64,
        message: String,
    },
}

impl Reply {
    fn job(&self) -> u64 {
        match self {
            Reply::Read { job, .. }
            | Reply::Progress { job, .. }
            | Reply::Finished { job, .. }
            | Reply::Failed { job, .. } => *job,
        }
    }
}

/// Where the view stands.
#[derive(Debug, Default)]
pub enum Phase {
    #[default]
    Closed,
    /// Opened with no face in view: waiting for one.
    NoFace,
    /// The worker is on it (its crop and reading arrive first, then progress).
    Running,
    /// The attack ended (reached or not).
    Done(Box<AttackOutcome>),
    /// The model could not be loaded, or the face could not be attacked (one line).
    Failed(String),
}

/// The view's state machine (pure: the systems feed it commands and replies).
#[derive(Resource, Debug, Default)]
pub struct FoolView {
    pub phase: Phase,
    /// The current job's id; replies of older jobs are ignored (0: none yet).
    job: u64,
    /// The target the visitor chose (None: Sad for a happy face, else Happy).
    target: Option<usize>,
    /// The face of the current job, kept so that a new target attacks the same crop.
    subject: Option<Subject>,
    /// The worker's crop and reading of the current job.
    pub crop: Option<GrayImage>,
    pub before: Vec<f32>,
    /// (from, to) once the worker has read the face.
    pub pair: Option<(usize, usize)>,
    pub progress: Option<Progress>,
    /// Bumped whenever the pictures change (the textures follow it).
    pub pictures_version: u64,
}

impl FoolView {
    pub fn is_open(&self) -> bool {
        !matches!(self.phase, Phase::Closed)
    }

    /// The job the worker should be running (0: none; a running attack of another job stops).
    pub fn wanted_job(&self) -> u64 {
        if matches!(self.phase, Phase::Running) { self.job } else { 0 }
    }

    /// Opens the view (or starts over in it) on `subject` with the chosen target; returns
    /// the job to run, or None when there is no face.
    pub fn open(&mut self, subject: Option<Subject>, settings: AttackSettings) -> Option<Job> {
        self.clear_pictures();
        let Some(subject) = subject else {
            self.phase = Phase::NoFace;
            self.subject = None;
            return None;
        };
        self.subject = Some(subject);
        self.start(settings)
    }

    /// Chooses the previous (`step` < 0) or next target among `n_classes` (never the class
    /// the face is read as) and starts over on the same face; None when the face is not read yet.
    pub fn change_target(&mut self, n_classes: usize, step: i8, settings: AttackSettings) -> Option<Job> {
        let (from, to) = self.pair?;
        self.target = Some(cycle_target(n_classes, from, to, step));
        self.clear_pictures();
        self.start(settings)
    }

    /// Leaves the view: the running attack is cancelled and the face is dropped.
    pub fn close(&mut self) {
        self.phase = Phase::Closed;
        self.subject = None;
        self.clear_pictures();
    }

    /// Takes one reply of the worker; returns the summary line when an attack of the current
    /// job ended. Replies of older jobs are ignored.
    pub fn receive(&mut self, reply: Reply, labels: &[String]) -> Option<String> {
        if reply.job() != self.job || !matches!(self.phase, Phase::Running) {
            return None;
        }
        match reply {
            Reply::Read { crop, before, from, to, .. } => {
                self.crop = Some(crop);
                self.before = before;
                self.pair = Some((from, to));
                self.pictures_version += 1;
                None
            }
            Reply::Progress { progress, .. } => {
                self.progress = Some(progress);
                None
            }
            Reply::Finished { outcome, .. } => {
                let (from, to) = self.pair.unwrap_or_default();
                let line = summary_line(labels, from, to, &outcome);
                self.progress = Some(Progress {
                    queries: outcome.queries,
                    max_queries: self.progress.map_or(outcome.queries, |p| p.max_queries),
                    target_probability: outcome.after.get(to).copied().unwrap_or_default(),
                });
                self.phase = Phase::Done(outcome);
                self.pictures_version += 1;
                Some(line)
            }
            Reply::Failed { message, .. } => {
                self.phase = Phase::Failed(message.clone());
                Some(format!("Fool the AI: {message}"))
            }
        }
    }

    fn start(&mut self, settings: AttackSettings) -> Option<Job> {
        let subject = self.subject.clone()?;
        self.job += 1;
        self.phase = Phase::Running;
        Some(Job { id: self.job, subject, target: self.target, settings })
    }

    fn clear_pictures(&mut self) {
        self.crop = None;
        self.before.clear();
        self.pair = None;
        self.progress = None;
        self.pictures_version += 1;
    }
}

/// The default target: Sad for a face read as Happy, else Happy (else the next class).
pub fn default_target(labels: &[String], from: usize) -> usize {
    let index = |name: &str| labels.iter().position(|l| l.eq_ignore_ascii_case(name));
    let wanted = if index("happy") == Some(from) { index("sad") } else { index("happy") };
    wanted.filter(|&t| t != from).unwrap_or((from + 1) % labels.len().max(1))
}

/// The class `step` places from `current` among `n` classes, skipping `from` (wrapping around).
pub fn cycle_target(n: usize, from: usize, current: usize, step: i8) -> usize {
    if n < 2 {
        return current;
    }
    let n_i = n as i64;
    let mut t = current as i64;
    loop {
        t = (t + i64::from(step.signum())).rem_euclid(n_i);
        if t as usize != from {
            return t as usize;
        }
    }
}

/// Share of the query budget used, 0..=1.
pub fn progress_fraction(p: &Progress) -> f32 {
    (p.queries as f32 / p.max_queries.max(1) as f32).clamp(0.0, 1.0)
}

/// The one-line result printed to stdout (and shown in the view), e.g.
/// `Fool the AI: Happy 93.1% -> Sad 54.2% after 211 queries, largest change 8/255 (budget 8/255): fooled`.
pub fn summary_line(labels: &[String], from: usize, to: usize, outcome: &AttackOutcome) -> String {
    let name = |i: usize| labels.get(i).map_or_else(|| format!("class {i}"), |l| display_label(l));
    let ((top, p_top), _) = top_two(&outcome.after);
    let verdict = if outcome.reached {
        "fooled".to_string()
    } else if outcome.stopped {
        "stopped".to_string()
    } else {
        format!("not fooled (still {} {:.1}%)", name(top), p_top * 100.0)
    };
    format!(
        "Fool the AI: {} {:.1}% -> {} {:.1}% after {} queries, largest change {}/255 (budget {}/255): {verdict}",
        name(from),
        outcome.before.get(from).copied().unwrap_or_default() * 100.0,
        name(to),
        outcome.after.get(to).copied().unwrap_or_default() * 100.0,
        outcome.queries,
        outcome.max_change_levels(),
        attack_settings().budget_levels,
    )
}

/// The attack the view runs: the course project's budget (8/255) and query limit.
pub fn attack_settings() -> AttackSettings {
    AttackSettings::default()
}

/// The largest face seen in the latest analysis round, with the frame it was seen in
/// (the video texture's pixels, RGBA, as RGB). None without a face or a picture.
pub fn largest_subject(latest: &LatestAnalysis, rgba: &[u8], size: UVec2) -> Option<Subject> {
    let face = latest
        .tracks
        .tracks
        .iter()
        .filter(|t| t.misses == 0)
        .map(|t| t.face)
        .max_by(|a, b| a.bbox_in_frame.area().total_cmp(&b.bbox_in_frame.area()))?;
    if size != latest.frame_size || rgba.len() != (size.x * size.y * 4) as usize {
        return None; // the texture is not this analysis's frame (yet)
    }
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    let frame = RgbImage::from_raw(size.x, size.y, rgb)?;
    Some(Subject { frame: Arc::new(frame), face })
}

/// The attack's own thread and its channels (started the first time the view opens).
pub struct FoolWorker {
    jobs: Option<Sender<Job>>,
    replies: Receiver<Reply>,
    /// The job the thread should run ([`FoolView::wanted_job`]); any other stops at its next report.
    wanted: Arc<AtomicU64>,
    /// A job that found the queue full: sent on a later frame.
    pending: Option<Job>,
    thread: Option<JoinHandle<()>>,
}

impl FoolWorker {
    /// Starts the thread; its classifier session is loaded with the first job.
    pub fn start(settings: Settings) -> std::io::Result<Self> {
        let (job_tx, job_rx) = crossbeam_channel::bounded(JOB_CAPACITY);
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(REPLY_CAPACITY);
        let wanted = Arc::new(AtomicU64::new(0));
        let wanted_by_thread = Arc::clone(&wanted);
        let thread = std::thread::Builder::new()
            .name("fool-the-ai".into())
            .spawn(move || run_worker(&settings, &job_rx, &reply_tx, &wanted_by_thread))?;
        Ok(Self { jobs: Some(job_tx), replies: reply_rx, wanted, pending: None, thread: Some(thread) })
    }

    /// Tells the thread which job counts (0: none).
    pub fn want(&self, job: u64) {
        self.wanted.store(job, Ordering::Relaxed);
    }

    /// Queues `job` (replacing one that waits to be queued).
    pub fn submit(&mut self, job: Job) {
        self.pending = Some(job);
        self.flush();
    }

    /// Sends the waiting job if the queue has room.
    fn flush(&mut self) {
        let (Some(tx), Some(job)) = (&self.jobs, self.pending.take()) else { return };
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => self.pending = Some(job),
            Err(TrySendError::Disconnected(_)) => warn!("Fool the AI: the attack thread has stopped"),
        }
    }
}

impl Drop for FoolWorker {
    fn drop(&mut self) {
        self.want(0);
        self.jobs = None; // the thread ends when it sees the queue closed
        self.replies = crossbeam_channel::never(); // and a blocked reply fails
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The worker thread: takes the newest job, runs it while it is wanted, replies.
fn run_worker(settings: &Settings, jobs: &Receiver<Job>, replies: &Sender<Reply>, wanted: &AtomicU64) {
    let mut classifier: Option<EmotionClassifier> = None;
    while let Ok(mut job) = jobs.recv() {
        while let Ok(newer) = jobs.try_recv() {
            job = newer;
        }
        if wanted.load(Ordering::Relaxed) != job.id {
            continue;
        }
        let id = job.id;
        let reply = match run_job(settings, &mut classifier, job, replies, wanted) {
            Ok(Some(outcome)) => Reply::Finished { job: id, outcome: Box::new(outcome) },
            Ok(None) => continue, // cancelled
            Err(message) => Reply::Failed { job: id, message },
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}

/// One attack: crop the face as the classifier sees it, read it, change it. None when cancelled.
fn run_job(
    settings: &Settings,
    classifier: &mut Option<EmotionClassifier>,
    job: Job,
    replies: &Sender<Reply>,
    wanted: &AtomicU64,
) -> Result<Option<AttackOutcome>, String> {
    let classifier = match classifier.take() {
        Some(c) => classifier.insert(c),
        None => classifier.insert(open_classifier(settings)?),
    };
    let labels = classifier.labels().to_vec();
    let crop =
        attack::model_input_crop(classifier, &job.subject.frame, &job.subject.face).map_err(|e| error_chain(&e))?;
    let mut before = Vec::new();
    classifier.classify_images(std::slice::from_ref(&crop), &mut before).map_err(|e| error_chain(&e))?;
    let ((from, _), _) = top_two(&before);
    let to = job.target.filter(|&t| t != from && t < labels.len()).unwrap_or_else(|| default_target(&labels, from));
    let read = Reply::Read { job: job.id, crop: crop.clone(), before, from, to };
    if replies.send(read).is_err() {
        return Ok(None);
    }
    let outcome = attack::attack(classifier, &labels, &crop, (from, to), job.settings, |progress| {
        let _ = replies.try_send(Reply::Progress { job: job.id, progress });
        if wanted.load(Ordering::Relaxed) == job.id { ControlFlow::Continue(()) } else { ControlFlow::Break(()) }
    })
    .map_err(|e| error_chain(&e))?;
    Ok((!outcome.stopped).then_some(outcome))
}

/// The attack's own classifier session, from the manifest the app uses.
fn open_classifier(settings: &Settings) -> Result<EmotionClassifier, String> {
    let mut settings = settings.clone();
    settings.classifier_threads.intra_threads = QUERY_THREADS;
    let env = crate::compose::ort_environment(&settings).map_err(|e| error_chain(&e))?;
    crate::compose::open_classifier(env, &settings).map_err(|e| error_chain(&e))
}

/// The worker, once started (a resource so that it is joined when the app ends).
#[derive(Resource, Default)]
struct FoolWorkerSlot(Option<FoolWorker>);

/// k opens the view (on the attract or mirror screen; in the view it starts over), Left and
/// Right change the target, ESC leaves the view (and is taken from the hotkeys then).
fn read_fool_keys(
    mut keys: ResMut<ButtonInput<KeyCode>>,
    view: Res<FoolView>,
    screen: Option<Res<State<Screen>>>,
    wants: Option<Res<EguiWantsInput>>,
    kiosk: Option<Res<Kiosk>>,
    mut fool: MessageWriter<FoolCommand>,
    mut game: MessageWriter<GameCommand>,
) {
    if wants.is_some_and(|w| w.wants_any_keyboard_input()) || kiosk.is_some_and(|k| k.took_keys) {
        return;
    }
    let screen = screen.map_or(Screen::Mirror, |s| *s.get());
    if view.is_open() {
        if keys.clear_just_pressed(KeyCode::Escape) {
            fool.write(FoolCommand::Close);
        }
        if keys.just_pressed(KeyCode::ArrowLeft) {
            fool.write(FoolCommand::Target(-1));
        }
        if keys.just_pressed(KeyCode::ArrowRight) {
            fool.write(FoolCommand::Target(1));
        }
    }
    if keys.just_pressed(KeyCode::KeyK) && matches!(screen, Screen::Attract | Screen::Mirror) {
        if screen != Screen::Mirror {
            game.write(GameCommand(GameAction::Mirror));
        }
        fool.write(FoolCommand::Open);
    }
}

fn close_fool_view(mut view: ResMut<FoolView>, slot: Res<FoolWorkerSlot>) {
    view.close();
    if let Some(w) = &slot.0 {
        w.want(0);
    }
}

/// Applies the view's commands: takes the crop from the newest analysed frame and hands
/// the job to the worker (started here the first time).
#[allow(clippy::too_many_arguments)]
fn apply_fool_commands(
    mut reader: MessageReader<FoolCommand>,
    mut view: ResMut<FoolView>,
    mut slot: ResMut<FoolWorkerSlot>,
    latest: Res<LatestAnalysis>,
    status: Res<SourceStatus>,
    texture: Option<Res<VideoTexture>>,
    images: Res<Assets<Image>>,
    settings: Res<PipelineSettings>,
) {
    let subject = || {
        let picture = texture.as_ref().and_then(|t| images.get(&t.handle).map(|i| (i, t.size)));
        picture.and_then(|(image, size)| image.data.as_deref().and_then(|rgba| largest_subject(&latest, rgba, size)))
    };
    let mut job = None;
    // Opened with nobody in view: the attack starts with the first face that comes.
    if matches!(view.phase, Phase::NoFace) && latest.fresh {
        job = subject().and_then(|s| view.open(Some(s), attack_settings()));
    }
    for command in reader.read() {
        match command {
            FoolCommand::Open => {
                job = view.open(subject(), attack_settings());
            }
            FoolCommand::Target(step) => {
                if let Some(j) = view.change_target(status.labels.len(), *step, attack_settings()) {
                    job = Some(j);
                }
            }
            FoolCommand::Close => {
                view.close();
                job = None;
            }
        }
    }
    let wanted = view.wanted_job();
    if job.is_some() && slot.0.is_none() {
        match FoolWorker::start(settings.0.clone()) {
            Ok(worker) => slot.0 = Some(worker),
            Err(e) => {
                view.phase = Phase::Failed(format!("cannot start the attack thread: {e}"));
                return;
            }
        }
    }
    let Some(worker) = slot.0.as_mut() else { return };
    worker.want(wanted);
    match job {
        Some(job) => worker.submit(job),
        None => worker.flush(),
    }
}

/// Drains the worker's replies into the view; prints the result line when an attack ends.
/// A reply asks for a redraw (the window may be drawn on demand only).
fn receive_fool_replies(
    mut view: ResMut<FoolView>,
    slot: Res<FoolWorkerSlot>,
    status: Res<SourceStatus>,
    mut redraw: MessageWriter<RequestRedraw>,
) {
    let Some(worker) = &slot.0 else { return };
    let mut any = false;
    for reply in worker.replies.try_iter() {
        any = true;
        if let Some(line) = view.receive(reply, &status.labels) {
            println!("{line}");
        }
    }
    if any {
        redraw.write(RequestRedraw);
    }
    worker.want(view.wanted_job());
}

/// The view's textures, remade when its pictures change (not every frame).
#[derive(Resource, Default)]
struct FoolTextures {
    version: u64,
    original: Option<egui::TextureHandle>,
    hacked: Option<egui::TextureHandle>,
    difference: Option<egui::TextureHandle>,
}

/// Where the view draws (window pixels), from its size alone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewLayout {
    pub panel: egui::Rect,
    pub heading: egui::Rect,
    /// Original, hacked, difference.
    pub pictures: [egui::Rect; 3],
    pub captions: [egui::Rect; 3],
    /// Previous target, next target, again, back.
    pub buttons: [egui::Rect; 4],
}

/// The view's layout in a window of `window` pixels: a panel above the mirror's corner
/// buttons (which stay free), a heading, three square pictures with captions, a row of
/// touch buttons.
pub fn view_layout(window: egui::Vec2) -> ViewLayout {
    let m = theme::scaled(window, theme::MARGIN_PX);
    let corner_h = theme::touch(window, theme::SMALL_BUTTON_PX);
    let panel =
        egui::Rect::from_min_max(egui::pos2(m, m), egui::pos2(window.x - m, (window.y - 2.0 * m - corner_h).max(m)));
    let pad = m / 2.0;
    let heading_h = theme::scaled(window, HEADING_PX);
    let caption_h = theme::scaled(window, CAPTION_PX);
    let button_h = theme::touch(window, theme::SMALL_BUTTON_PX);
    let heading =
        egui::Rect::from_min_size(panel.min + egui::vec2(pad, pad), egui::vec2(panel.width() - 2.0 * pad, heading_h));
    let side_by_width = (panel.width() - 4.0 * pad) / 3.0;
    let side_by_height = panel.height() - 4.0 * pad - heading_h - caption_h - button_h;
    let side = side_by_width.min(side_by_height).max(0.0);
    let row = 3.0 * side + 2.0 * pad;
    let x0 = panel.center().x - row / 2.0;
    let y0 = heading.max.y + pad;
    let pictures = [0.0, 1.0, 2.0]
        .map(|i| egui::Rect::from_min_size(egui::pos2(x0 + i * (side + pad), y0), egui::vec2(side, side)));
    let captions =
        pictures.map(|p| egui::Rect::from_min_size(egui::pos2(p.min.x, p.max.y), egui::vec2(side, caption_h)));
    let button_w = theme::touch(window, VIEW_BUTTON_WIDTH_PX).min((panel.width() - 5.0 * pad) / 4.0);
    let buttons_row = 4.0 * button_w + 3.0 * pad;
    let bx0 = panel.center().x - buttons_row / 2.0;
    let by = panel.max.y - pad - button_h;
    let buttons = [0.0, 1.0, 2.0, 3.0]
        .map(|i| egui::Rect::from_min_size(egui::pos2(bx0 + i * (button_w + pad), by), egui::vec2(button_w, button_h)));
    ViewLayout { panel, heading, pictures, captions, buttons }
}

/// The "Fool the AI" corner button, left of the mirror's two.
pub fn open_button(window: egui::Vec2) -> egui::Rect {
    let (play, _) = corner_buttons(window);
    let m = theme::scaled(window, theme::MARGIN_PX);
    let w = theme::touch(window, OPEN_BUTTON_WIDTH_PX);
    egui::Rect::from_min_size(egui::pos2(play.min.x - m - w, play.min.y), egui::vec2(w, play.height()))
}

/// A class's name for the screen, e.g. "Happy".
fn label_name(labels: &[String], class: usize) -> String {
    labels.get(class).map_or_else(|| format!("class {class}"), |l| display_label(l))
}

/// Label and probability, e.g. "Happy 93%".
fn label_probability(labels: &[String], class: usize, probs: &[f32]) -> String {
    format!("{} {:.0}%", label_name(labels, class), probs.get(class).copied().unwrap_or_default() * 100.0)
}

fn texture(ctx: &egui::Context, name: &str, picture: &GrayImage) -> egui::TextureHandle {
    let size = [picture.width() as usize, picture.height() as usize];
    ctx.load_texture(name, egui::ColorImage::from_gray(size, picture.as_raw()), egui::TextureOptions::NEAREST)
}

/// The corner button (view closed) or the view itself (pictures, captions, progress, buttons).
#[allow(clippy::too_many_arguments)]
fn fool_ui(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut contexts: EguiContexts,
    mut on_screen: ResMut<OnScreen>,
    view: Res<FoolView>,
    mut textures: ResMut<FoolTextures>,
    status: Res<SourceStatus>,
    mut fool: MessageWriter<FoolCommand>,
) -> Result {
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    if !view.is_open() {
        if theme::button_at(ctx, &mut on_screen, "fool", "Fool the AI", open_button(window), theme::QUIET) {
            fool.write(FoolCommand::Open);
        }
        textures.original = None;
        textures.hacked = None;
        textures.difference = None;
        return Ok(());
    }
    if textures.version != view.pictures_version {
        textures.version = view.pictures_version;
        textures.original = view.crop.as_ref().map(|c| texture(ctx, "fool-original", c));
        let done = match &view.phase {
            Phase::Done(outcome) => Some(outcome),
            _ => None,
        };
        textures.hacked = done.map(|o| texture(ctx, "fool-hacked", &o.hacked));
        let gain = DIFFERENCE_HALF_RANGE / f32::from(attack_settings().budget_levels);
        textures.difference = done.map(|o| texture(ctx, "fool-difference", &o.difference_picture(gain)));
    }
    let layout = view_layout(window);
    let labels = &status.labels;
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Middle, egui::Id::new("fool-the-ai")));
    painter.rect_filled(layout.panel, theme::scaled(window, theme::MARGIN_PX) / 2.0, theme::PANEL);
    on_screen.item("fool-view", theme::rect_px(layout.panel));
    let title = egui::FontId::proportional(theme::scaled(window, TITLE_TEXT_PX).max(theme::MIN_TOUCH_PX / 3.0));
    let body = egui::FontId::proportional(theme::scaled(window, TEXT_PX).max(theme::MIN_TOUCH_PX / 4.0));
    let white = egui::Color32::WHITE;
    let heading_text = match (&view.phase, view.pair) {
        (Phase::NoFace, _) => "Fool the AI: no face in view yet. Step in front of the camera.".to_string(),
        (Phase::Failed(message), _) => format!("Fool the AI: {message}"),
        (_, Some((from, to))) => format!("Fool the AI: {} to {}", label_name(labels, from), label_name(labels, to)),
        _ => "Fool the AI: reading the face...".to_string(),
    };
    let wrap = layout.heading.width();
    let galley = painter.layout(heading_text, title, white, wrap);
    painter.galley(layout.heading.min, galley, white);
    let detail = match (&view.phase, view.progress) {
        (Phase::Done(outcome), _) => format!(
            "{} queries of {} · largest change {}/255 (budget {}/255) · {}",
            outcome.queries,
            attack_settings().max_queries,
            outcome.max_change_levels(),
            attack_settings().budget_levels,
            if outcome.reached { "fooled" } else { "not fooled" },
        ),
        (Phase::Running, Some(p)) => format!("{} / {} queries", p.queries, p.max_queries),
        (Phase::Running, None) => format!("0 / {} queries", attack_settings().max_queries),
        _ => String::new(),
    };
    let detail_at = layout.heading.min + egui::vec2(0.0, layout.heading.height() * 0.55);
    painter.galley(detail_at, painter.layout(detail, body.clone(), white, wrap), white);

    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
    let names = ["fool-original", "fool-hacked", "fool-difference"];
    let shown = [&textures.original, &textures.hacked, &textures.difference];
    for ((rect, name), tex) in layout.pictures.iter().zip(names).zip(shown) {
        if let Some(tex) = tex {
            painter.image(tex.id(), *rect, uv, white);
            on_screen.item(name, theme::rect_px(*rect));
        }
    }
    // While the attack runs, the hacked picture's place shows the progress.
    if let (Phase::Running, Some(rect)) = (&view.phase, layout.pictures.get(1)) {
        let fraction = view.progress.as_ref().map_or(0.0, progress_fraction);
        let bar_h = theme::scaled(window, TEXT_PX);
        let bar = egui::Rect::from_center_size(rect.center(), egui::vec2(rect.width(), bar_h));
        painter.rect_filled(bar, bar_h / 4.0, BAR_BACKGROUND);
        let filled = egui::Rect::from_min_size(bar.min, egui::vec2(bar.width() * fraction, bar.height()));
        painter.rect_filled(filled, bar_h / 4.0, BAR_FILL);
        on_screen.item("fool-progress", theme::rect_px(bar));
        if let (Some((_, to)), Some(p)) = (view.pair, view.progress) {
            let text = format!("{} {:.1}%", label_name(labels, to), p.target_probability * 100.0);
            painter.text(
                bar.center_bottom() + egui::vec2(0.0, bar_h / 2.0),
                egui::Align2::CENTER_TOP,
                text,
                body.clone(),
                white,
            );
        }
    }
    // Captions: the model's reading of each picture.
    let captions: [String; 3] = match (&view.phase, view.pair) {
        (Phase::Done(outcome), Some((from, to))) => {
            let ((top, _), _) = top_two(&outcome.after);
            [
                format!("Original\n{}", label_probability(labels, from, &outcome.before)),
                format!(
                    "Hacked\n{} · {}",
                    label_probability(labels, top, &outcome.after),
                    label_probability(labels, if top == to { from } else { to }, &outcome.after)
                ),
                format!("Difference x{:.0}", DIFFERENCE_HALF_RANGE / f32::from(attack_settings().budget_levels)),
            ]
        }
        (_, Some((from, _))) => {
            [format!("Original\n{}", label_probability(labels, from, &view.before)), String::new(), String::new()]
        }
        _ => Default::default(),
    };
    for (rect, text) in layout.captions.iter().zip(captions) {
        let galley = painter.layout(text, body.clone(), white, rect.width());
        painter.galley(rect.min + egui::vec2(0.0, body.size / 3.0), galley, white);
    }
    let [prev, next, again, back] = layout.buttons;
    if theme::button_at(ctx, &mut on_screen, "fool-prev", "< Target", prev, theme::SECONDARY) {
        fool.write(FoolCommand::Target(-1));
    }
    if theme::button_at(ctx, &mut on_screen, "fool-next", "Target >", next, theme::SECONDARY) {
        fool.write(FoolCommand::Target(1));
    }
    if theme::button_at(ctx, &mut on_screen, "fool-again", "Again", again, theme::PRIMARY) {
        fool.write(FoolCommand::Open);
    }
    if theme::button_at(ctx, &mut on_screen, "fool-close", "Back", back, theme::QUIET) {
        fool.write(FoolCommand::Close);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::BBox;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    fn subject() -> Subject {
        let face = Face {
            bbox_in_frame: BBox::new(10.0, 10.0, 20.0, 20.0),
            landmarks_in_frame: Default::default(),
            score: 0.9,
        };
        Subject { frame: Arc::new(RgbImage::new(40, 40)), face }
    }

    fn outcome(reached: bool) -> AttackOutcome {
        let original = GrayImage::from_pixel(4, 4, image::Luma([100]));
        let mut hacked = original.clone();
        hacked.put_pixel(1, 1, image::Luma([108]));
        let mut before = vec![0.0; 7];
        before[3] = 0.9;
        before[6] = 0.1;
        let mut after = vec![0.0; 7];
        (after[3], after[4]) = if reached { (0.4, 0.6) } else { (0.7, 0.3) };
        AttackOutcome { original, hacked, before, after, queries: 211, reached, stopped: false }
    }

    #[test]
    fn the_default_target_is_sad_for_a_happy_face_else_happy() {
        let l = labels();
        assert_eq!(default_target(&l, 3), 4, "happy -> sad");
        assert_eq!(default_target(&l, 6), 3, "neutral -> happy");
        assert_eq!(default_target(&l, 4), 3, "sad -> happy");
        let two = vec!["yes".to_string(), "no".to_string()];
        assert_eq!(default_target(&two, 0), 1, "no happy class: the next one");
    }

    #[test]
    fn targets_cycle_both_ways_and_skip_the_class_read_now() {
        assert_eq!(cycle_target(7, 3, 4, 1), 5);
        assert_eq!(cycle_target(7, 3, 2, 1), 4, "skips happy, the face's class");
        assert_eq!(cycle_target(7, 3, 4, -1), 2, "back past happy");
        assert_eq!(cycle_target(7, 0, 6, 1), 1, "wraps and skips class 0");
        assert_eq!(cycle_target(7, 6, 0, -1), 5, "wraps backwards and skips the last class");
        assert_eq!(cycle_target(2, 0, 1, 1), 1, "two classes: the only other one");
    }

    #[test]
    fn the_view_runs_one_job_at_a_time_and_ignores_stale_replies() {
        let l = labels();
        let mut view = FoolView::default();
        assert!(!view.is_open() && view.wanted_job() == 0);
        assert!(view.open(None, attack_settings()).is_none());
        assert!(matches!(view.phase, Phase::NoFace) && view.is_open() && view.wanted_job() == 0);

        let first = view.open(Some(subject()), attack_settings()).expect("a job");
        assert_eq!(first.target, None, "the default target");
        assert_eq!(view.wanted_job(), first.id);
        let crop = GrayImage::new(4, 4);
        let read = |job| Reply::Read { job, crop: crop.clone(), before: outcome(true).before, from: 3, to: 4 };
        assert!(view.receive(read(first.id), &l).is_none());
        assert_eq!(view.pair, Some((3, 4)));
        assert!(view.crop.is_some());

        // A new target starts over on the same face; the old job's replies count no more.
        let second = view.change_target(l.len(), 1, attack_settings()).expect("a job");
        assert_eq!(second.target, Some(5), "sad -> surprise");
        assert!(Arc::ptr_eq(&first.subject.frame, &second.subject.frame), "the same face");
        assert!(view.pair.is_none() && view.crop.is_none());
        let stale = Reply::Finished { job: first.id, outcome: Box::new(outcome(true)) };
        assert!(view.receive(stale, &l).is_none());
        assert!(matches!(view.phase, Phase::Running));

        view.receive(read(second.id), &l);
        let progress = Progress { queries: 50, max_queries: 10_000, target_probability: 0.2 };
        view.receive(Reply::Progress { job: second.id, progress }, &l);
        assert_eq!(view.progress, Some(progress));
        let line = view.receive(Reply::Finished { job: second.id, outcome: Box::new(outcome(true)) }, &l);
        assert!(line.expect("a summary").ends_with(": fooled"));
        assert!(matches!(view.phase, Phase::Done(_)) && view.wanted_job() == 0);
        assert_eq!(view.progress.map(|p| p.queries), Some(211));

        view.close();
        assert!(!view.is_open() && view.crop.is_none() && view.subject.is_none(), "the face is dropped");
        assert!(view.change_target(l.len(), 1, attack_settings()).is_none(), "nothing to retarget");
    }

    #[test]
    fn a_failure_is_shown_and_ends_the_job() {
        let mut view = FoolView::default();
        let job = view.open(Some(subject()), attack_settings()).expect("a job");
        let line = view.receive(Reply::Failed { job: job.id, message: "model.onnx: missing".into() }, &labels());
        assert_eq!(line.as_deref(), Some("Fool the AI: model.onnx: missing"));
        assert!(matches!(view.phase, Phase::Failed(_)) && view.wanted_job() == 0);
    }

    #[test]
    fn the_summary_names_both_classes_the_queries_and_the_change() {
        let l = labels();
        assert_eq!(
            summary_line(&l, 3, 4, &outcome(true)),
            "Fool the AI: Happy 90.0% -> Sad 60.0% after 211 queries, largest change 8/255 (budget 8/255): fooled"
        );
        let line = summary_line(&l, 3, 4, &outcome(false));
        assert!(line.ends_with("not fooled (still Happy 70.0%)"), "{line}");
        assert_eq!(progress_fraction(&Progress { queries: 2500, max_queries: 10_000, target_probability: 0.0 }), 0.25);
    }

    #[test]
    fn the_largest_face_of_the_latest_round_is_cut_from_the_texture() {
        let mut latest = LatestAnalysis { frame_size: UVec2::new(2, 1), ..Default::default() };
        let rgba = [1, 2, 3, 255, 4, 5, 6, 255];
        assert!(largest_subject(&latest, &rgba, UVec2::new(2, 1)).is_none(), "no face");
        let report = |w: f32, misses| crate::tracking::TrackReport {
            id: 1,
            face: Face { bbox_in_frame: BBox::new(0.0, 0.0, w, w), landmarks_in_frame: Default::default(), score: 1.0 },
            misses,
            confirmed: None,
            last_top: None,
            observed_row: None,
            affect: None,
            person: None,
        };
        latest.tracks.tracks = vec![report(1.0, 0), report(5.0, 2), report(2.0, 0)];
        let s = largest_subject(&latest, &rgba, UVec2::new(2, 1)).expect("a face");
        assert_eq!(s.face.bbox_in_frame.w, 2.0, "the largest face seen this round");
        assert_eq!(s.frame.as_raw(), &vec![1, 2, 3, 4, 5, 6]);
        assert!(largest_subject(&latest, &rgba, UVec2::new(1, 2)).is_none(), "a texture of another size");
    }

    #[test]
    fn the_layout_fits_the_window_above_the_corner_buttons() {
        for window in [egui::vec2(1920.0, 1080.0), egui::vec2(1280.0, 720.0), egui::vec2(1080.0, 1920.0)] {
            let l = view_layout(window);
            let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
            assert!(screen.contains_rect(l.panel));
            let (play, attract) = corner_buttons(window);
            assert!(!l.panel.intersects(play) && !l.panel.intersects(attract), "the corner buttons stay free");
            for r in l.pictures.iter().chain(&l.captions).chain(&l.buttons).chain([&l.heading]) {
                assert!(l.panel.expand(0.01).contains_rect(*r), "{r:?} leaves {:?} at {window:?}", l.panel);
            }
            assert!(l.pictures[0].width() > window.x.min(window.y) / 6.0, "pictures are large: {:?}", l.pictures[0]);
            assert!(l.pictures[0].max.x < l.pictures[1].min.x && l.pictures[1].max.x < l.pictures[2].min.x);
            for (i, b) in l.buttons.iter().enumerate() {
                assert!(b.height() >= theme::MIN_TOUCH_PX && b.width() >= theme::MIN_TOUCH_PX, "{b:?}");
                assert!(l.buttons[i + 1..].iter().all(|c| !c.intersects(*b)));
                assert!(l.captions.iter().all(|c| !c.intersects(*b)), "{b:?} covers a caption");
            }
            let open = open_button(window);
            assert!(screen.contains_rect(open) && !open.intersects(play) && open.height() >= theme::MIN_TOUCH_PX);
        }
    }

    #[derive(Resource, Default)]
    struct Seen(Vec<FoolCommand>, Vec<GameCommand>);

    fn collect(mut f: MessageReader<FoolCommand>, mut g: MessageReader<GameCommand>, mut seen: ResMut<Seen>) {
        seen.0.extend(f.read().copied());
        seen.1.extend(g.read().copied());
    }

    fn key_app(screen: Screen) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, bevy::state::app::StatesPlugin))
            .insert_state(screen)
            .init_resource::<ButtonInput<KeyCode>>()
            .init_resource::<FoolView>()
            .init_resource::<Seen>()
            .add_message::<FoolCommand>()
            .add_message::<GameCommand>()
            .add_systems(Update, (read_fool_keys, collect).chain());
        app
    }

    /// Presses `key` for one update; returns whether ESC was still "just pressed" for the
    /// systems after the view's (the hotkeys).
    fn press(app: &mut App, key: KeyCode) -> bool {
        app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(key);
        app.update();
        let mut input = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        let left = input.just_pressed(KeyCode::Escape);
        input.release(key);
        input.clear();
        left
    }

    #[test]
    fn k_opens_the_view_and_esc_leaves_it_without_reaching_the_hotkeys() {
        let mut app = key_app(Screen::Attract);
        assert!(press(&mut app, KeyCode::Escape), "a closed view leaves ESC to the hotkeys");
        press(&mut app, KeyCode::KeyK);
        let seen = app.world().resource::<Seen>();
        assert_eq!(seen.0, vec![FoolCommand::Open]);
        assert_eq!(seen.1, vec![GameCommand(GameAction::Mirror)], "from the attract screen to the mirror");

        app.world_mut().resource_mut::<FoolView>().phase = Phase::Running;
        press(&mut app, KeyCode::ArrowRight);
        press(&mut app, KeyCode::ArrowLeft);
        assert!(!press(&mut app, KeyCode::Escape), "the open view takes ESC");
        let seen = app.world().resource::<Seen>();
        assert_eq!(&seen.0[1..], &[FoolCommand::Target(1), FoolCommand::Target(-1), FoolCommand::Close]);

        let mut app = key_app(Screen::Results);
        press(&mut app, KeyCode::KeyK);
        assert!(app.world().resource::<Seen>().0.is_empty(), "k types an initial on the results screen");
    }

    /// The worker cancels: a job that is no longer wanted ends without a result, and a
    /// worker without a model reports one clear line instead of panicking.
    #[test]
    fn a_worker_without_its_model_fails_with_one_line() {
        let settings = Settings {
            classifier_manifest: std::path::PathBuf::from("no-such-folder/classifier.json"),
            ..Settings::default()
        };
        let mut worker = FoolWorker::start(settings).expect("thread");
        let mut view = FoolView::default();
        let job = view.open(Some(subject()), attack_settings()).expect("a job");
        worker.want(view.wanted_job());
        worker.submit(job);
        let reply = worker.replies.recv().expect("a reply");
        let line = view.receive(reply, &labels()).expect("a line");
        assert!(line.contains("no-such-folder"), "{line}");
        drop(worker); // joins the thread
    }
}
