//! Per-frame agreement of the classifier with a clip's reference label (`eval-video`):
//! reading the labels CSV of a clip collection, and tallying the largest face's class per frame.

use std::path::{Path, PathBuf};

use super::eval::FER_LABELS;

/// One clip to evaluate: its video file and the FER2013 class (index into `FER_LABELS`) it
/// should be read as.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledClip {
    pub name: String,
    pub video: PathBuf,
    pub class: usize,
    /// The reference as written in the CSV ("A", "disgust", ...).
    pub reference: String,
}

/// The FER2013 class of a reference label: a class name ("disgust", "Happy"), a CREMA-D
/// crowd vote letter (N, H, S, A, F, D) or a CREMA-D intended-emotion code (NEU, HAP, ...).
pub fn class_of(reference: &str) -> Option<usize> {
    let r = reference.trim().to_ascii_lowercase();
    let name = match r.as_str() {
        "a" | "ang" => "angry",
        "d" | "dis" => "disgust",
        "f" | "fea" => "fear",
        "h" | "hap" => "happy",
        "s" | "sad" => "sad",
        "n" | "neu" => "neutral",
        "su" | "sur" => "surprise",
        other => other,
    };
    FER_LABELS.iter().position(|l| *l == name)
}

/// Reads a labels CSV: a column naming the clip (`clip` or `file`; `.mp4` is added when the
/// name has no extension) and the reference column `column` (default: `crowd_face_vote`
/// when there is one, else `emotion`). Videos are looked up beside the CSV, then in its
/// `mp4/` folder. Errors name the file, the line and the problem.
pub fn read_labelled_clips(path: &Path, column: Option<&str>) -> Result<Vec<LabelledClip>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read ({e})", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').map(str::trim).collect();
    let find = |name: &str| header.iter().position(|h| *h == name);
    let name_col = find("clip")
        .or_else(|| find("file"))
        .ok_or_else(|| format!("{}: no column 'clip' or 'file' naming the videos", path.display()))?;
    let column = column.unwrap_or(if find("crowd_face_vote").is_some() { "crowd_face_vote" } else { "emotion" });
    let ref_col = find(column).ok_or_else(|| format!("{}: no column '{column}'", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Vec<&str> = line.split(',').map(str::trim).collect();
        let name = v.get(name_col).copied().unwrap_or_default();
        let reference = v.get(ref_col).copied().unwrap_or_default();
        let line_no = i + 2;
        if name.is_empty() {
            return Err(format!("{}:{line_no}: no clip name", path.display()));
        }
        let class = class_of(reference).ok_or_else(|| {
            format!("{}:{line_no}: '{reference}' in column '{column}' is not an emotion", path.display())
        })?;
        let file = if Path::new(name).extension().is_some() { name.to_string() } else { format!("{name}.mp4") };
        let video = [dir.join(&file), dir.join("mp4").join(&file)]
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{}:{line_no}: video {file} found neither beside it nor in mp4/", path.display()))?;
        out.push(LabelledClip { name: name.to_string(), video, class, reference: reference.to_string() });
    }
    if out.is_empty() {
        return Err(format!("{}: no clips listed", path.display()));
    }
    Ok(out)
}

/// Per-frame tally of one clip: what the largest face was read as, frame by frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClipTally {
    pub frames: usize,
    /// Frames where no face was found.
    pub no_face: usize,
    /// Frames per predicted class.
    pub predicted: [usize; 7],
}

impl ClipTally {
    pub fn observe(&mut self, predicted: Option<usize>) {
        self.frames += 1;
        match predicted {
            Some(c) if c < self.predicted.len() => self.predicted[c] += 1,
            _ => self.no_face += 1,
        }
    }

    /// Frames read as `class` (frames without a face count as disagreeing).
    pub fn agreeing(&self, class: usize) -> usize {
        self.predicted.get(class).copied().unwrap_or(0)
    }

    /// The classes read most often, most first, with their frame counts (zero counts left out).
    pub fn top(&self, n: usize) -> Vec<(usize, usize)> {
        let mut v: Vec<(usize, usize)> = self.predicted.iter().copied().enumerate().filter(|&(_, c)| c > 0).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// The index of the largest of the boxes given as (width, height), if any.
pub fn largest(sizes: impl IntoIterator<Item = (f32, f32)>) -> Option<usize> {
    sizes.into_iter().enumerate().max_by(|a, b| (a.1.0 * a.1.1).total_cmp(&(b.1.0 * b.1.1))).map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel)
    }

    #[test]
    fn references_map_to_fer_classes() {
        assert_eq!(class_of("A"), Some(0));
        assert_eq!(class_of("D"), Some(1));
        assert_eq!(class_of("Happy"), Some(3));
        assert_eq!(class_of("NEU"), Some(6));
        assert_eq!(class_of("surprise"), Some(5));
        assert_eq!(class_of("X"), None);
        assert_eq!(class_of(""), None);
    }

    #[test]
    fn the_crema_d_labels_name_six_clips_by_their_crowd_face_vote() {
        let clips = read_labelled_clips(&data("crema-d/labels.csv"), None).expect("test setup");
        assert_eq!(clips.len(), 6);
        let sad = clips.iter().find(|c| c.name == "1001_DFA_SAD_XX").expect("test setup");
        // The crowd saw the intended sadness as neutral on the face alone.
        assert_eq!((sad.reference.as_str(), sad.class), ("N", 6));
        assert!(sad.video.ends_with("mp4/1001_DFA_SAD_XX.mp4"));
        let intended = read_labelled_clips(&data("crema-d/labels.csv"), Some("intended_emotion")).expect("test setup");
        assert_eq!(intended.iter().find(|c| c.name == "1001_DFA_SAD_XX").expect("test setup").class, 4);
    }

    #[test]
    fn the_ravdess_labels_use_the_emotion_column() {
        let clips = read_labelled_clips(&data("ravdess/labels.csv"), None).expect("test setup");
        assert_eq!(clips.len(), 1);
        assert_eq!(clips[0].class, 1);
    }

    #[test]
    fn bad_csvs_are_refused_with_file_and_line() {
        let dir = std::env::temp_dir().join(format!("emoji-mirror-video-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("test setup");
        let csv = dir.join("labels.csv");
        std::fs::write(&csv, "clip,emotion\nmissing_clip,happy\n").expect("test setup");
        let e = read_labelled_clips(&csv, None).expect_err("should fail");
        assert!(e.contains("labels.csv:2") && e.contains("missing_clip.mp4"), "{e}");
        std::fs::write(dir.join("x.mp4"), b"").expect("test setup");
        std::fs::write(&csv, "clip,emotion\nx,bored\n").expect("test setup");
        let e = read_labelled_clips(&csv, None).expect_err("should fail");
        assert!(e.contains("'bored'"), "{e}");
        std::fs::write(&csv, "name,emotion\nx,happy\n").expect("test setup");
        assert!(read_labelled_clips(&csv, None).expect_err("should fail").contains("no column 'clip' or 'file'"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn the_tally_counts_agreement_and_missing_faces() {
        let mut t = ClipTally::default();
        for p in [Some(0), Some(0), Some(6), None, Some(0)] {
            t.observe(p);
        }
        assert_eq!((t.frames, t.no_face, t.agreeing(0), t.agreeing(6)), (5, 1, 3, 1));
        assert_eq!(t.top(2), vec![(0, 3), (6, 1)]);
    }

    #[test]
    fn the_largest_box_wins() {
        assert_eq!(largest([(10.0, 10.0), (30.0, 20.0), (20.0, 20.0)]), Some(1));
        assert_eq!(largest(std::iter::empty()), None);
    }
}
