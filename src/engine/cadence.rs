//! When the face detector runs: on every frame, on every Nth, or adaptively.
//!
//! Between two detections the tracker carries every box with its motion model
//! ([`crate::tracking::tracker`]), and the classifier reads the faces at the carried boxes.
//! That is safe while every face is steady and known; it is not when a face is new (one
//! detection could be a false alarm, and its motion is unknown), when the detector just
//! missed a face (is it gone, or hidden for a frame?), when a face moves fast (the carried
//! box drifts off it), or when the picture changed as a whole (a cut, a camera bump).
//!
//! [`DetectEvery::Adaptive`] therefore decides frame by frame:
//! - after each detection the tracks are summarised ([`TrackState`]) and [`gap_after`]
//!   picks how many frames pass until the next one: **1** (detect on the very next frame)
//!   while any track is new or missed; otherwise as many frames as the fastest face needs
//!   to travel [`MAX_TRAVEL_BOXES`] of its own size, at most `max_gap`; with nobody in view,
//!   `max_gap` (a newcomer is found within that many frames, and followed closely from then);
//! - [`SceneChange`] compares a coarse thumbnail of each frame with the previous one, and a
//!   frame that differs as a whole is detected at once, whatever the gap said.
//!
//! [`Cadence`] holds that state for the engine's detect thread. Everything here is pure
//! logic, tested below.

use std::fmt;
use std::str::FromStr;

use image::RgbImage;

use crate::tracking::Track;

/// Longest run of frames between two detections in adaptive mode, by default (`auto`). At 30
/// frames/s, 4 frames are 133 ms: a face that walks in is followed from at most that late,
/// and the detector runs on a quarter of the frames while everyone is steady.
pub const DEFAULT_MAX_GAP: u32 = 4;
/// A track found in fewer detection rounds than this is new: the next frame is detected
/// (a single detection may be a false alarm, and a new track's velocity is still zero).
pub const NEW_TRACK_HITS: u32 = 3;
/// How far, in units of its own box size, the fastest face may travel between two
/// detections. The tracker matches a detection up to one box size away (see
/// `DEFAULT_MAX_CENTRE_DISTANCE`), and a classified crop a fifth of a box off still holds
/// the face; so 0.2 keeps both well inside.
pub const MAX_TRAVEL_BOXES: f32 = 0.2;
/// Thumbnail cells across and down ([`SceneChange`]).
pub const SCENE_CELLS_X: usize = 16;
pub const SCENE_CELLS_Y: usize = 12;
/// Pixels sampled per cell, across and down (a sparse grid: the check costs microseconds).
const SCENE_SAMPLES: usize = 4;
/// Mean change of the thumbnail's cells, in grey levels (0-255), above which a frame is a
/// new scene. Talking heads and people walking through change it by a few levels (they
/// cover a few cells); a cut or a camera bump changes most cells by tens of levels.
pub const SCENE_CHANGE_LEVELS: f32 = 20.0;

/// When the detector runs (`--detect-every N|auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectEvery {
    /// On frames whose index is a multiple of N (1: every frame).
    Fixed(u32),
    /// Frame by frame from the tracks (see the module docs), at least every `max_gap` frames.
    Adaptive { max_gap: u32 },
}

impl DetectEvery {
    /// Every frame (plain detection, still images).
    pub const EVERY_FRAME: Self = Self::Fixed(1);

    /// Adaptive with the default longest gap.
    pub const fn auto() -> Self {
        Self::Adaptive { max_gap: DEFAULT_MAX_GAP }
    }

    /// Adaptive mode with another longest gap (at least 1); a fixed N stays as it is.
    pub fn with_max_gap(self, max_gap: u32) -> Self {
        match self {
            Self::Adaptive { .. } => Self::Adaptive { max_gap: max_gap.max(1) },
            fixed => fixed,
        }
    }

    pub fn is_adaptive(self) -> bool {
        matches!(self, Self::Adaptive { .. })
    }
}

/// Adaptive: the default wherever a tracker carries the boxes (live views, `--track`).
impl Default for DetectEvery {
    fn default() -> Self {
        Self::auto()
    }
}

impl fmt::Display for DetectEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Adaptive { max_gap } => write!(f, "auto (at most {max_gap} frames apart)"),
        }
    }
}

impl FromStr for DetectEvery {
    type Err = String;

    /// `auto` (or `adaptive`), or a whole number N >= 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") || s.eq_ignore_ascii_case("adaptive") {
            return Ok(Self::auto());
        }
        match s.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Self::Fixed(n)),
            _ => Err(format!("'{s}' is neither 'auto' nor a number of frames >= 1")),
        }
    }
}

/// What the adaptive cadence needs to know of the tracks after a detection round.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TrackState {
    /// Tracks alive (coasting ones included).
    pub tracks: usize,
    /// Tracks found in fewer than [`NEW_TRACK_HITS`] rounds.
    pub new: usize,
    /// Tracks the latest round missed (coasting on their motion model).
    pub missed: usize,
    /// The fastest track's motion per frame, in units of its box size.
    pub fastest_boxes_per_frame: f32,
}

impl TrackState {
    /// Summarises `tracks` right after a detection round; `frame_interval_s` is the time
    /// between two analysed frames.
    pub fn of(tracks: &[Track], frame_interval_s: f32) -> Self {
        let mut s = Self { tracks: tracks.len(), ..Self::default() };
        for t in tracks {
            s.new += usize::from(t.hits < NEW_TRACK_HITS);
            s.missed += usize::from(t.misses > 0);
            s.fastest_boxes_per_frame = s.fastest_boxes_per_frame.max(t.boxes_per_s() * frame_interval_s);
        }
        s
    }
}

/// Frames from one detection to the next (1: the very next frame), given the tracks after
/// the first one; see the module docs.
pub fn gap_after(state: &TrackState, max_gap: u32) -> u32 {
    let max_gap = max_gap.max(1);
    if state.new > 0 || state.missed > 0 {
        return 1;
    }
    if state.tracks == 0 || state.fastest_boxes_per_frame <= 0.0 {
        return max_gap;
    }
    let frames = (MAX_TRAVEL_BOXES / state.fastest_boxes_per_frame).floor();
    if frames >= max_gap as f32 { max_gap } else { (frames as u32).max(1) }
}

/// The detect thread's cadence: whether to run the detector on the next frame.
#[derive(Debug, Clone)]
pub struct Cadence {
    mode: DetectEvery,
    /// Frames since the last detection; `None`: detect the next frame.
    since_detection: Option<u32>,
    /// Frames from the last detection to the next ([`gap_after`]).
    gap: u32,
    scene: SceneChange,
}

impl Cadence {
    pub fn new(mode: DetectEvery) -> Self {
        Self { mode: sane(mode), since_detection: None, gap: 1, scene: SceneChange::default() }
    }

    pub fn mode(&self) -> DetectEvery {
        self.mode
    }

    /// A new mode; the next frame is detected.
    pub fn set_mode(&mut self, mode: DetectEvery) {
        self.mode = sane(mode);
        self.restart();
    }

    /// The tracks start again (a new pass of the source, new tracking settings, a failed
    /// detection): the next frame is detected, and the scene is compared afresh.
    pub fn restart(&mut self) {
        self.since_detection = None;
        self.gap = 1;
        self.scene.forget();
    }

    /// Whether the engine must hand the tracks' state back after a detection ([`Cadence::tracked`]).
    pub fn needs_track_state(&self) -> bool {
        self.mode.is_adaptive()
    }

    /// Whether to detect on frame `index` (0-based in its pass) showing `image`.
    pub fn decide(&mut self, index: u64, image: &RgbImage) -> bool {
        match self.mode {
            DetectEvery::Fixed(n) => index.is_multiple_of(u64::from(n)),
            DetectEvery::Adaptive { .. } => {
                let cut = self.scene.changed(image);
                let due = self.since_detection.is_none_or(|s| s + 1 >= self.gap);
                if due || cut {
                    if cut && !due {
                        tracing::trace!("frame {index}: the scene changed, detecting now");
                    }
                    self.since_detection = Some(0);
                    true
                } else {
                    self.since_detection = self.since_detection.map(|s| s + 1);
                    false
                }
            }
        }
    }

    /// The tracks after the latest detection: sets the gap to the next one.
    pub fn tracked(&mut self, state: &TrackState) {
        if let DetectEvery::Adaptive { max_gap } = self.mode {
            self.gap = gap_after(state, max_gap);
        }
    }

    /// Frames from the latest detection to the next, as decided.
    pub fn gap(&self) -> u32 {
        self.gap
    }
}

fn sane(mode: DetectEvery) -> DetectEvery {
    match mode {
        DetectEvery::Fixed(n) => DetectEvery::Fixed(n.max(1)),
        DetectEvery::Adaptive { max_gap } => DetectEvery::Adaptive { max_gap: max_gap.max(1) },
    }
}

const SCENE_CELLS: usize = SCENE_CELLS_X * SCENE_CELLS_Y;

/// A whole-picture change detector: the mean grey level of a coarse grid of cells, compared
/// with the previous frame's (fixed-size buffers, no allocation).
#[derive(Debug, Clone)]
pub struct SceneChange {
    previous: [f32; SCENE_CELLS],
    current: [f32; SCENE_CELLS],
    has_previous: bool,
}

impl Default for SceneChange {
    fn default() -> Self {
        Self { previous: [0.0; SCENE_CELLS], current: [0.0; SCENE_CELLS], has_previous: false }
    }
}

impl SceneChange {
    /// Whether `image` differs from the previous one as a whole (the first image does not).
    pub fn changed(&mut self, image: &RgbImage) -> bool {
        let Some(change) = self.change(image) else { return false };
        change > SCENE_CHANGE_LEVELS
    }

    /// Mean change of the cells from the previous image, grey levels (`None` for the first,
    /// or an empty image).
    pub fn change(&mut self, image: &RgbImage) -> Option<f32> {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return None;
        }
        let samples_x = SCENE_CELLS_X * SCENE_SAMPLES;
        let samples_y = SCENE_CELLS_Y * SCENE_SAMPLES;
        self.current = [0.0; SCENE_CELLS];
        for sy in 0..samples_y {
            let y = ((2 * sy + 1) * h / (2 * samples_y)).min(h - 1) as u32;
            for sx in 0..samples_x {
                let x = ((2 * sx + 1) * w / (2 * samples_x)).min(w - 1) as u32;
                let [r, g, b] = image.get_pixel(x, y).0;
                let grey = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
                self.current[(sy / SCENE_SAMPLES) * SCENE_CELLS_X + sx / SCENE_SAMPLES] += grey;
            }
        }
        let per_cell = (SCENE_SAMPLES * SCENE_SAMPLES) as f32;
        for c in &mut self.current {
            *c /= per_cell;
        }
        let change = self.has_previous.then(|| {
            self.current.iter().zip(&self.previous).map(|(a, b)| (a - b).abs()).sum::<f32>() / SCENE_CELLS as f32
        });
        self.previous = self.current;
        self.has_previous = true;
        change
    }

    /// Starts afresh: the next image is compared with nothing.
    pub fn forget(&mut self) {
        self.has_previous = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(tracks: usize, new: usize, missed: usize, fastest: f32) -> TrackState {
        TrackState { tracks, new, missed, fastest_boxes_per_frame: fastest }
    }

    #[test]
    fn parses_auto_and_numbers_and_rejects_the_rest() {
        assert_eq!("auto".parse(), Ok(DetectEvery::auto()));
        assert_eq!("Adaptive".parse(), Ok(DetectEvery::Adaptive { max_gap: DEFAULT_MAX_GAP }));
        assert_eq!("3".parse(), Ok(DetectEvery::Fixed(3)));
        let e = "0".parse::<DetectEvery>().expect_err("0 frames");
        assert!(e.contains("'0'"), "{e}");
        assert!("often".parse::<DetectEvery>().is_err());
        assert_eq!(DetectEvery::auto().with_max_gap(8), DetectEvery::Adaptive { max_gap: 8 });
        assert_eq!(DetectEvery::Fixed(2).with_max_gap(8), DetectEvery::Fixed(2), "a fixed N stays");
    }

    #[test]
    fn a_new_or_missed_track_means_detect_on_the_next_frame() {
        assert_eq!(gap_after(&state(3, 1, 0, 0.0), 4), 1);
        assert_eq!(gap_after(&state(3, 0, 1, 0.0), 4), 1);
    }

    #[test]
    fn steady_tracks_or_an_empty_view_wait_the_longest_gap() {
        assert_eq!(gap_after(&state(2, 0, 0, 0.001), 4), 4);
        assert_eq!(gap_after(&state(0, 0, 0, 0.0), 4), 4);
        assert_eq!(gap_after(&state(0, 0, 0, 0.0), 0), 1, "a gap is at least one frame");
    }

    #[test]
    fn faster_faces_are_detected_more_often() {
        // 0.2 box per gap: 0.1 box/frame -> every 2nd frame, 0.06 -> every 3rd, 0.04 -> 4th (the most).
        assert_eq!(gap_after(&state(1, 0, 0, 0.1), 4), 2);
        assert_eq!(gap_after(&state(1, 0, 0, 0.06), 4), 3);
        assert_eq!(gap_after(&state(1, 0, 0, 0.04), 4), 4);
        assert_eq!(gap_after(&state(1, 0, 0, 0.3), 4), 1, "faster than the travel allowed per frame");
        let gaps: Vec<u32> = [0.01, 0.04, 0.08, 0.15, 0.5].iter().map(|&v| gap_after(&state(1, 0, 0, v), 4)).collect();
        assert!(gaps.windows(2).all(|w| w[0] >= w[1]), "monotone: {gaps:?}");
    }

    fn grey(level: u8) -> RgbImage {
        RgbImage::from_pixel(64, 48, image::Rgb([level; 3]))
    }

    #[test]
    fn fixed_cadence_detects_on_multiples_of_n() {
        let mut c = Cadence::new(DetectEvery::Fixed(3));
        let picked: Vec<u64> = (0..9).filter(|&i| c.decide(i, &grey(0))).collect();
        assert_eq!(picked, [0, 3, 6]);
        assert!(!c.needs_track_state());
        let mut zero = Cadence::new(DetectEvery::Fixed(0));
        assert!((0..3).all(|i| zero.decide(i, &grey(0))), "0 is taken as 1");
    }

    #[test]
    fn adaptive_cadence_follows_the_gap_the_tracks_ask_for() {
        let img = grey(100);
        let mut c = Cadence::new(DetectEvery::Adaptive { max_gap: 4 });
        assert!(c.needs_track_state());
        assert!(c.decide(0, &img), "the first frame is detected");
        c.tracked(&state(1, 1, 0, 0.0)); // a new face
        assert!(c.decide(1, &img), "the frame right after a new face is detected");
        c.tracked(&state(1, 0, 0, 0.0)); // steady now
        let next: Vec<bool> = (2..7).map(|i| c.decide(i, &img)).collect();
        assert_eq!(next, [false, false, false, true, false], "then every 4th frame");
        c.tracked(&state(1, 0, 1, 0.0)); // the face was missed at frame 5
        assert!(c.decide(7, &img), "the frame right after a miss is detected");
        c.tracked(&state(1, 0, 0, 0.1)); // found again, moving: every 2nd frame
        assert_eq!([c.decide(8, &img), c.decide(9, &img)], [false, true]);
        c.restart();
        assert!(c.decide(0, &img), "a new pass starts with a detection");
    }

    #[test]
    fn a_scene_change_is_detected_at_once() {
        let mut c = Cadence::new(DetectEvery::Adaptive { max_gap: 4 });
        assert!(c.decide(0, &grey(40)));
        c.tracked(&state(1, 0, 0, 0.0));
        assert!(!c.decide(1, &grey(42)), "a small change waits for the gap");
        assert!(c.decide(2, &grey(200)), "a cut does not");
        c.tracked(&state(1, 0, 0, 0.0));
        assert!(!c.decide(3, &grey(200)));
    }

    #[test]
    fn scene_change_measures_whole_picture_change_not_a_moving_patch() {
        let mut s = SceneChange::default();
        let base = grey(90);
        assert_eq!(s.change(&base), None, "nothing to compare the first frame with");
        assert_eq!(s.change(&base), Some(0.0));
        // A face-sized patch (a sixth of the picture's width) moves across: a few cells change.
        let mut moved = base.clone();
        for y in 10..26 {
            for x in 20..31 {
                moved.put_pixel(x, y, image::Rgb([250, 200, 180]));
            }
        }
        let patch = s.change(&moved).expect("compared");
        assert!(patch > 0.0 && patch < SCENE_CHANGE_LEVELS, "a moving face: {patch}");
        assert!(!s.changed(&base), "and back");
        assert!(s.changed(&grey(160)), "everything brighter by 70 levels is a new scene");
        s.forget();
        assert!(!s.changed(&grey(0)), "after forget the next image is compared with nothing");
        assert_eq!(s.change(&RgbImage::new(0, 0)), None);
    }
}
