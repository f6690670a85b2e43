//! Accuracy evaluation on FER2013-layout CSV files (`emotion,pixels,Usage`, plain or gzip).

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use image::{GrayImage, Rgb, RgbImage};
use thiserror::Error;

use super::display_label;
use super::draw::{GLYPH, draw_text, fill_rect, text_width};

/// FER2013 emotion codes 0..6, in code order.
pub const FER_LABELS: [&str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
/// FER2013 faces are 48x48 grayscale.
pub const FER_SIDE: u32 = 48;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Debug, Error)]
pub enum EvalError {
    #[error("{path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("{path}:{line}: {reason}")]
    Row { path: PathBuf, line: usize, reason: String },
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// One labelled face from the CSV.
#[derive(Debug, Clone)]
pub struct FerSample {
    /// FER2013 code 0..6.
    pub emotion: usize,
    pub usage: String,
    pub face: GrayImage,
}

/// Streams the rows of a FER2013-layout CSV; gzip is detected from the content.
pub struct FerCsv {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    line: usize,
    buf: String,
    columns: [usize; 3],
}

impl FerCsv {
    pub fn open(path: &Path) -> Result<Self, EvalError> {
        let open_err = |reason: String| EvalError::Open { path: path.to_path_buf(), reason };
        let mut file = File::open(path).map_err(|e| {
            open_err(if e.kind() == std::io::ErrorKind::NotFound { "file not found".into() } else { e.to_string() })
        })?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(|e| open_err(e.to_string()))?;
        let file = File::open(path).map_err(|e| open_err(e.to_string()))?;
        let reader: Box<dyn BufRead> = if n == 2 && magic == GZIP_MAGIC {
            Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
        } else {
            Box::new(BufReader::new(file))
        };
        let mut csv = Self { path: path.to_path_buf(), reader, line: 0, buf: String::new(), columns: [0, 1, 2] };
        if !csv.next_line()? {
            return Err(open_err("empty file (expected a header emotion,pixels,Usage)".into()));
        }
        let header: Vec<&str> = csv.buf.trim().split(',').map(str::trim).collect();
        let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
        match (find("emotion"), find("pixels"), find("Usage")) {
            (Some(e), Some(p), Some(u)) => csv.columns = [e, p, u],
            _ => {
                return Err(open_err(format!(
                    "header is '{}', expected the FER2013 columns emotion,pixels,Usage",
                    csv.buf.trim()
                )));
            }
        }
        Ok(csv)
    }

    fn next_line(&mut self) -> Result<bool, EvalError> {
        self.buf.clear();
        let n = self.reader.read_line(&mut self.buf).map_err(|e| EvalError::Open {
            path: self.path.clone(),
            reason: format!("read error after line {}: {e}", self.line),
        })?;
        self.line += 1;
        Ok(n > 0)
    }

    fn row_err(&self, reason: String) -> EvalError {
        EvalError::Row { path: self.path.clone(), line: self.line, reason }
    }

    /// The next sample, `None` at the end; a malformed row is an error naming its line.
    pub fn next_sample(&mut self) -> Result<Option<FerSample>, EvalError> {
        loop {
            if !self.next_line()? {
                return Ok(None);
            }
            if !self.buf.trim().is_empty() {
                break;
            }
        }
        let fields: Vec<&str> = self.buf.trim_end().split(',').collect();
        let [ce, cp, cu] = self.columns;
        let need = ce.max(cp).max(cu) + 1;
        if fields.len() < need {
            return Err(self.row_err(format!("expected {need} columns, found {}", fields.len())));
        }
        let emotion: usize = match fields[ce].trim().parse() {
            Ok(v) if v < FER_LABELS.len() => v,
            _ => return Err(self.row_err(format!("emotion '{}' is not a code 0-6", fields[ce].trim()))),
        };
        let want = (FER_SIDE * FER_SIDE) as usize;
        let mut pixels = Vec::with_capacity(want);
        for tok in fields[cp].split_ascii_whitespace() {
            match tok.parse::<u8>() {
                Ok(v) => pixels.push(v),
                Err(_) => return Err(self.row_err(format!("pixel value '{tok}' is not 0-255"))),
            }
        }
        if pixels.len() != want {
            return Err(self.row_err(format!("expected {want} pixel values (48x48), found {}", pixels.len())));
        }
        let face = GrayImage::from_raw(FER_SIDE, FER_SIDE, pixels).expect("pixel count was checked to be 48 * 48");
        Ok(Some(FerSample { emotion, usage: fields[cu].trim().to_string(), face }))
    }
}

/// Counts of (true FER class, predicted classifier label).
#[derive(Debug, Clone)]
pub struct Confusion {
    pub predicted_labels: Vec<String>,
    /// `counts[true_code][predicted_index]`
    pub counts: Vec<Vec<u64>>,
}

impl Confusion {
    pub fn new(predicted_labels: &[String]) -> Self {
        Self {
            predicted_labels: predicted_labels.to_vec(),
            counts: vec![vec![0; predicted_labels.len()]; FER_LABELS.len()],
        }
    }

    pub fn add(&mut self, true_code: usize, predicted: usize) {
        self.counts[true_code][predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Whether predicted index `p` means FER class `code` (same label name).
    fn same(&self, code: usize, p: usize) -> bool {
        self.predicted_labels[p].eq_ignore_ascii_case(FER_LABELS[code])
    }

    pub fn correct(&self) -> u64 {
        (0..FER_LABELS.len())
            .map(|c| {
                (0..self.predicted_labels.len()).filter(|&p| self.same(c, p)).map(|p| self.counts[c][p]).sum::<u64>()
            })
            .sum()
    }

    pub fn accuracy(&self) -> f64 {
        let t = self.total();
        if t == 0 { 0.0 } else { self.correct() as f64 / t as f64 }
    }

    /// Recall of each FER class (`None` when the class has no samples).
    pub fn recall(&self) -> Vec<Option<f64>> {
        (0..FER_LABELS.len())
            .map(|c| {
                let n: u64 = self.counts[c].iter().sum();
                let hit: u64 =
                    (0..self.predicted_labels.len()).filter(|&p| self.same(c, p)).map(|p| self.counts[c][p]).sum();
                (n > 0).then(|| hit as f64 / n as f64)
            })
            .collect()
    }

    /// The matrix as text: rows true class, columns predicted.
    pub fn table(&self) -> String {
        let mut s = format!("{:>10}", "true\\pred");
        for l in &self.predicted_labels {
            s.push_str(&format!(" {:>8}", truncate(l, 8)));
        }
        s.push('\n');
        for (c, row) in self.counts.iter().enumerate() {
            s.push_str(&format!("{:>10}", FER_LABELS[c]));
            for v in row {
                s.push_str(&format!(" {v:>8}"));
            }
            s.push('\n');
        }
        s
    }

    /// A PNG-ready picture: cells shaded by the row share, counts printed in them.
    pub fn render(&self, title: &str) -> RgbImage {
        const CELL: u32 = 72;
        const LEFT: u32 = 110;
        const TOP: u32 = 70;
        let cols = self.predicted_labels.len() as u32;
        let rows = FER_LABELS.len() as u32;
        let (w, h) = ((LEFT + cols * CELL + 20).max(text_width(title, 1) + 20), TOP + rows * CELL + 40);
        let mut img = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
        let ink = Rgb([20, 20, 20]);
        draw_text(&mut img, 10, 8, title, 1, ink);
        draw_text(&mut img, LEFT as i64, (TOP - 36) as i64, "predicted ->", 1, ink);
        draw_text(&mut img, 4, (TOP - 20) as i64, "true", 1, ink);
        for (p, l) in self.predicted_labels.iter().enumerate() {
            let x = LEFT + p as u32 * CELL;
            draw_text(&mut img, x as i64 + 4, (TOP - 20) as i64, truncate(l, 8), 1, ink);
        }
        for (c, true_label) in FER_LABELS.iter().enumerate() {
            let y = TOP + c as u32 * CELL;
            draw_text(&mut img, 4, (y + CELL / 2 - GLYPH / 2) as i64, &display_label(true_label), 1, ink);
            let n: u64 = self.counts[c].iter().sum();
            for p in 0..cols as usize {
                let x = LEFT + p as u32 * CELL;
                let share = if n == 0 { 0.0 } else { self.counts[c][p] as f32 / n as f32 };
                let shade = |full: f32| (255.0 - share * (255.0 - full)) as u8;
                let fill = Rgb([shade(30.0), shade(90.0), shade(200.0)]);
                fill_rect(&mut img, x as i64 + 1, y as i64 + 1, CELL as i64 - 2, CELL as i64 - 2, fill);
                let text_color = if share > 0.5 { Rgb([255, 255, 255]) } else { ink };
                let count = self.counts[c][p].to_string();
                let pct = format!("{:.0}%", share * 100.0);
                let cx = x as i64 + (CELL as i64 - i64::from(text_width(&count, 2))) / 2;
                draw_text(&mut img, cx, y as i64 + 18, &count, 2, text_color);
                let px = x as i64 + (CELL as i64 - i64::from(text_width(&pct, 1))) / 2;
                draw_text(&mut img, px, y as i64 + 46, &pct, 1, text_color);
            }
        }
        img
    }
}

fn truncate(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Writes `img` as PNG; the error names the file.
pub fn save_png(img: &RgbImage, path: &Path) -> Result<(), EvalError> {
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| EvalError::Write { path: path.to_path_buf(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn row(emotion: &str, n: usize) -> String {
        format!("{emotion},{},PublicTest\n", vec!["7"; n].join(" "))
    }

    fn write(dir: &Path, name: &str, body: &str, gz: bool) -> PathBuf {
        let p = dir.join(name);
        let text = format!("emotion,pixels,Usage\n{body}");
        if gz {
            let mut enc = flate2::write::GzEncoder::new(File::create(&p).expect("create"), flate2::Compression::fast());
            enc.write_all(text.as_bytes()).expect("gz");
            enc.finish().expect("finish");
        } else {
            std::fs::write(&p, text).expect("write");
        }
        p
    }

    #[test]
    fn reads_plain_and_gzip() {
        let dir = tempfile::tempdir().expect("tempdir");
        for gz in [false, true] {
            let p = write(dir.path(), if gz { "a.csv.gz" } else { "a.csv" }, &row("3", 2304), gz);
            let mut csv = FerCsv::open(&p).expect("open");
            let s = csv.next_sample().expect("row").expect("one");
            assert_eq!((s.emotion, s.usage.as_str(), s.face.get_pixel(47, 47).0[0]), (3, "PublicTest", 7));
            assert!(csv.next_sample().expect("end").is_none());
        }
    }

    #[test]
    fn wrong_pixel_count_names_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), "bad.csv", &(row("3", 2304) + &row("1", 2000)), false);
        let mut csv = FerCsv::open(&p).expect("open");
        csv.next_sample().expect("first row is fine");
        let err = csv.next_sample().expect_err("second row is short").to_string();
        assert!(err.contains("bad.csv:3") && err.contains("found 2000"), "{err}");
    }

    #[test]
    fn confusion_accuracy_and_recall() {
        let labels: Vec<String> = FER_LABELS.iter().map(|s| s.to_string()).collect();
        let mut m = Confusion::new(&labels);
        m.add(3, 3);
        m.add(3, 3);
        m.add(3, 6);
        m.add(0, 0);
        assert!((m.accuracy() - 0.75).abs() < 1e-9);
        let r = m.recall();
        assert_eq!(r[0], Some(1.0));
        assert!((r[3].expect("happy") - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(r[1], None);
        let img = m.render("t");
        assert!(img.width() > 500);
    }
}
