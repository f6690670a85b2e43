//! Viola-Jones Haar cascade face detection in pure Rust, returning the boxes OpenCV's
//! `CascadeClassifier::detectMultiScale` returns for the same cascade XML and parameters.
//!
//! [`parse`] reads OpenCV's cascade files, [`prep`] makes the gray, equalised and
//! resized images exactly as OpenCV does, [`integral`] the integral images, [`detect`]
//! slides the window over every scale on several threads, and [`group`] merges the
//! candidates like `groupRectangles`.

pub mod detect;
pub mod group;
pub mod integral;
pub mod parse;
pub mod prep;

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

pub use group::Rect;
pub use parse::{Cascade, CascadeError};

use super::{BBox, Face, FaceDetector, LANDMARKS, VisionError};
use detect::{Compiled, Level, Workspace};
use prep::Gray;

/// Pyramid step between scales (the tutorials' `scaleFactor`).
pub const DEFAULT_SCALE_FACTOR: f64 = 1.1;
/// A face needs more than this many raw windows in its cluster (`minNeighbors`).
pub const DEFAULT_MIN_NEIGHBORS: i32 = 5;
/// Smallest face side in pixels (`minSize`).
pub const DEFAULT_MIN_SIZE: u32 = 30;
/// Threads scanning the pyramid (the exhibition machine has 2 cores).
pub const DEFAULT_THREADS: usize = 2;
/// Folder of the cascade XML files, relative to the project root.
pub const DEFAULT_CASCADE_DIR: &str = "models/haar";

/// Fixed landmark positions as fractions of the box (x, y): a Haar cascade finds no
/// landmarks, so the eyes, nose and mouth corners go where a frontal face has them.
pub const FIXED_LANDMARKS: [[f32; 2]; LANDMARKS] = [[0.3, 0.4], [0.7, 0.4], [0.5, 0.58], [0.35, 0.75], [0.65, 0.75]];

/// Haar detector settings (config file `[haar]`); the defaults are the common
/// tutorials' `detectMultiScale(equalizeHist(gray), 1.1, 5, minSize=(30, 30))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HaarSettings {
    /// Scale step of the pyramid, > 1.
    pub scale_factor: f64,
    /// Raw windows a face needs beyond the first; 0 returns every raw window.
    pub min_neighbors: i32,
    /// Smallest face, [width, height] pixels.
    pub min_size: [u32; 2],
    /// Largest face, [width, height] pixels; 0 means the whole image.
    pub max_size: [u32; 2],
    /// Equalise the gray image's histogram first.
    pub equalize: bool,
    /// Threads scanning the pyramid (at least 1).
    pub threads: usize,
    /// Where the cascade XML files are.
    pub cascade_dir: PathBuf,
}

impl Default for HaarSettings {
    fn default() -> Self {
        Self {
            scale_factor: DEFAULT_SCALE_FACTOR,
            min_neighbors: DEFAULT_MIN_NEIGHBORS,
            min_size: [DEFAULT_MIN_SIZE; 2],
            max_size: [0; 2],
            equalize: true,
            threads: DEFAULT_THREADS,
            cascade_dir: PathBuf::from(DEFAULT_CASCADE_DIR),
        }
    }
}

/// A Haar cascade detector with the buffers it reuses from frame to frame.
pub struct HaarDetector {
    name: String,
    cascade: Cascade,
    compiled: Option<Compiled>,
    settings: HaarSettings,
    gray: Gray,
    levels: Vec<Level>,
    workspaces: Vec<Workspace>,
    rects: Vec<Rect>,
    neighbors: Vec<i32>,
    grouper: group::Grouper,
}

impl HaarDetector {
    /// A detector for `cascade`; `name` is what logs and reports call it.
    pub fn new(cascade: Cascade, name: &str, settings: HaarSettings) -> Result<Self, VisionError> {
        if !(settings.scale_factor > 1.0 && settings.scale_factor.is_finite()) {
            return Err(VisionError::Setting(format!(
                "{name}: haar scale_factor {} must be greater than 1",
                settings.scale_factor
            )));
        }
        let threads = settings.threads.max(1);
        Ok(Self {
            name: name.to_string(),
            cascade,
            compiled: None,
            settings,
            gray: Gray::default(),
            levels: Vec::new(),
            workspaces: (0..threads).map(|_| Workspace::default()).collect(),
            rects: Vec::new(),
            neighbors: Vec::new(),
            grouper: group::Grouper::default(),
        })
    }

    /// Loads a cascade file and makes a detector named after the file.
    pub fn open(path: &Path, settings: HaarSettings) -> Result<Self, VisionError> {
        let cascade = Cascade::load(path)?;
        let name = path.file_stem().map_or_else(|| "haar".to_string(), |s| s.to_string_lossy().into_owned());
        Self::new(cascade, &name, settings)
    }

    /// Renames the detector (as logs and reports show it).
    pub fn set_name(&mut self, name: &str) {
        name.clone_into(&mut self.name);
    }

    pub fn settings(&self) -> &HaarSettings {
        &self.settings
    }

    /// Faces in an RGB frame as OpenCV's integer boxes, with their cluster sizes.
    pub fn detect_rects(&mut self, frame: &RgbImage) -> (&[Rect], &[i32]) {
        prep::gray_from_rgb(frame, &mut self.gray);
        if self.settings.equalize {
            prep::equalize_hist(&mut self.gray);
        }
        self.detect_prepared()
    }

    /// Like [`Self::detect_rects`] for a gray image used as is (no equalisation).
    pub fn detect_gray(&mut self, gray: &Gray) -> (&[Rect], &[i32]) {
        self.gray.reset(gray.width, gray.height);
        self.gray.pixels.copy_from_slice(&gray.pixels);
        self.detect_prepared()
    }

    fn detect_prepared(&mut self) -> (&[Rect], &[i32]) {
        let (w, h) = (self.gray.width, self.gray.height);
        let window = (self.cascade.window_w as usize, self.cascade.window_h as usize);
        let s = &self.settings;
        detect::plan_levels(
            (w, h),
            window,
            s.scale_factor,
            (s.min_size[0] as usize, s.min_size[1] as usize),
            (s.max_size[0] as usize, s.max_size[1] as usize),
            &mut self.levels,
        );
        self.rects.clear();
        self.neighbors.clear();
        let Some(first) = self.levels.first() else { return (&self.rects, &self.neighbors) };
        // One stride for every level, as OpenCV's packed buffer has.
        let stride = first.width + 1;
        if self.compiled.as_ref().is_none_or(|c| c.stride != stride) {
            self.compiled = Some(Compiled::new(&self.cascade, stride));
        }
        let Some(compiled) = &self.compiled else { return (&self.rects, &self.neighbors) };
        detect::scan_levels(compiled, &self.gray, &self.levels, &mut self.workspaces);
        for ws in &self.workspaces {
            self.rects.extend_from_slice(&ws.candidates);
        }
        self.grouper.group(&mut self.rects, &mut self.neighbors, self.settings.min_neighbors, group::GROUP_EPS);
        // clipObjects: keep the part inside the image.
        let (iw, ih) = (w as i32, h as i32);
        let mut kept = 0;
        for i in 0..self.rects.len() {
            let r = self.rects[i];
            let (x0, y0) = (r.x.max(0), r.y.max(0));
            let (x1, y1) = ((r.x + r.w).min(iw), (r.y + r.h).min(ih));
            if x1 > x0 && y1 > y0 {
                self.rects[kept] = Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
                self.neighbors[kept] = self.neighbors[i];
                kept += 1;
            }
        }
        self.rects.truncate(kept);
        self.neighbors.truncate(kept);
        (&self.rects, &self.neighbors)
    }
}

/// A face at an OpenCV box, with the fixed landmarks and score 1.
pub fn face_from_rect(r: &Rect) -> Face {
    let bbox = BBox::new(r.x as f32, r.y as f32, r.w as f32, r.h as f32);
    let landmarks_in_frame = FIXED_LANDMARKS.map(|[fx, fy]| [bbox.x + fx * bbox.w, bbox.y + fy * bbox.h]);
    Face { bbox_in_frame: bbox, landmarks_in_frame, score: 1.0 }
}

impl FaceDetector for HaarDetector {
    fn detect(&mut self, frame: &RgbImage, faces: &mut Vec<Face>) -> Result<(), VisionError> {
        faces.clear();
        let (rects, _) = self.detect_rects(frame);
        faces.extend(rects.iter().map(face_from_rect));
        Ok(())
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_lie_inside_the_box() {
        let f = face_from_rect(&Rect { x: 10, y: 20, w: 100, h: 100 });
        assert_eq!(f.landmarks_in_frame[0], [40.0, 60.0]);
        assert_eq!(f.landmarks_in_frame[4], [75.0, 95.0]);
        assert_eq!(f.score, 1.0);
    }

    #[test]
    fn settings_defaults_are_the_tutorial_ones() {
        let s: HaarSettings = toml::from_str("min_neighbors = 3\n").expect("valid");
        assert_eq!(s.min_neighbors, 3);
        assert_eq!(s.scale_factor, 1.1);
        assert_eq!(s.min_size, [30, 30]);
    }

    #[test]
    fn blank_frame_has_no_face_and_bad_scale_is_refused() {
        let c = Cascade::parse(parse_tiny(), Path::new("tiny.xml")).expect("valid");
        let mut d = HaarDetector::new(c.clone(), "tiny", HaarSettings::default()).expect("ok");
        let frame = RgbImage::new(64, 48);
        let mut faces = Vec::new();
        d.detect(&frame, &mut faces).expect("runs");
        assert!(faces.is_empty());
        let bad = HaarSettings { scale_factor: 1.0, ..HaarSettings::default() };
        assert!(HaarDetector::new(c, "tiny", bad).is_err());
    }

    fn parse_tiny() -> &'static str {
        r#"<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>
        <height>4</height><width>4</width><featureParams><maxCatCount>0</maxCatCount></featureParams>
        <stages><_><stageThreshold>0.5</stageThreshold><weakClassifiers>
        <_><internalNodes>0 -1 0 0.1</internalNodes><leafValues>0. 1.</leafValues></_>
        </weakClassifiers></_></stages>
        <features><_><rects><_>0 0 4 2 -1.</_><_>0 2 4 2 1.</_></rects></_></features></cascade></opencv_storage>"#
    }
}
