//! `--detect-every N|auto` and `--detect-every-max N`: when the face detector runs on a video
//! or camera (see `emoji_mirror::engine::cadence`).

use clap::Args;

use emoji_mirror::engine::DetectEvery;
use emoji_mirror::engine::cadence::DEFAULT_MAX_GAP;

/// The two options, shared by the commands that track (and the app).
#[derive(Debug, Args, Clone)]
pub struct DetectEveryArgs {
    /// When the face detector runs on a video or camera: "auto" (the default where faces are
    /// tracked) picks frame by frame: on the very next frame while a person is new, was just
    /// missed, or moves fast, or when the whole picture changes; up to --detect-every-max
    /// frames apart while everyone is steady. A number N runs it on every Nth frame. In
    /// between, each person's box is carried by the tracker's motion model and the face is
    /// read there. Pictures are always detected one by one.
    #[arg(long, value_name = "N|auto")]
    pub detect_every: Option<DetectEvery>,
    /// With auto: the most frames between two detections (at 30 frames/s, 4 frames are 133 ms,
    /// the longest a newcomer waits to be seen).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_GAP, value_parser = clap::value_parser!(u32).range(1..))]
    pub detect_every_max: u32,
}

impl DetectEveryArgs {
    /// The mode asked for, else `default`; the longest gap applies to auto.
    pub fn resolve(&self, default: DetectEvery) -> DetectEvery {
        self.detect_every.unwrap_or(default).with_max_gap(self.detect_every_max)
    }
}
