//! Accuracy evaluation on FER2013-layout CSV files (`emotion,pixels,Usage`, plain or gzip).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use image::{GrayImage, RgbImage};
use plotters::backend::RGBPixel;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use thiserror::Error;

use super::{display_label, draw};

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
    #[error("{path}: no rows{}", usage.as_ref().map(|u| format!(" with Usage = {u}")).unwrap_or_default())]
    NoRows { path: PathBuf, usage: Option<String> },
    #[error("cannot draw the confusion matrix: {reason}")]
    Draw { reason: String },
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
        let mut file = File::open(path).map_err(|e| open_err(crate::source::io_reason(&e, "file not found", "")))?;
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

/// Samples read between two calls of the progress callback of [`read_fer_samples`].
pub const PROGRESS_EVERY_SAMPLES: usize = 1000;

/// Reads the samples of a FER2013-layout CSV whose Usage equals `usage` (any case;
/// `None`: all rows), at most `limit` of them. `progress` is called with the number
/// read so far every [`PROGRESS_EVERY_SAMPLES`]. No matching row is an error.
pub fn read_fer_samples(
    path: &Path,
    usage: Option<&str>,
    limit: Option<usize>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<FerSample>, EvalError> {
    let mut csv = FerCsv::open(path)?;
    let mut samples = Vec::new();
    while limit.is_none_or(|n| samples.len() < n) {
        let Some(s) = csv.next_sample()? else { break };
        if usage.is_none_or(|u| s.usage.eq_ignore_ascii_case(u)) {
            samples.push(s);
            if samples.len() % PROGRESS_EVERY_SAMPLES == 0 {
                progress(samples.len());
            }
        }
    }
    if samples.is_empty() {
        return Err(EvalError::NoRows { path: path.to_path_buf(), usage: usage.map(str::to_string) });
    }
    Ok(samples)
}

/// Finds which samples' pixels also occur in other FER2013-layout CSVs (the known
/// PrivateTest / Training / PublicTest duplicates), comparing all 48x48 pixels exactly.
pub struct OverlapIndex<'a> {
    rows_by_pixels: HashMap<&'a [u8], Vec<usize>>,
}

impl<'a> OverlapIndex<'a> {
    pub fn new(samples: &'a [FerSample]) -> Self {
        let mut rows_by_pixels: HashMap<&'a [u8], Vec<usize>> = HashMap::with_capacity(samples.len());
        for (i, s) in samples.iter().enumerate() {
            rows_by_pixels.entry(s.face.as_raw().as_slice()).or_default().push(i);
        }
        Self { rows_by_pixels }
    }

    /// Marks in `found` (one flag per sample) every sample whose pixels equal `pixels`.
    pub fn mark(&self, pixels: &[u8], found: &mut [bool]) {
        for &i in self.rows_by_pixels.get(pixels).into_iter().flatten() {
            found[i] = true;
        }
    }

    /// Marks every sample whose pixels occur in any row of the CSV at `path` (all rows,
    /// whatever their Usage); returns the number of rows read there.
    pub fn mark_rows_of(&self, path: &Path, found: &mut [bool]) -> Result<usize, EvalError> {
        let mut csv = FerCsv::open(path)?;
        let mut rows = 0;
        while let Some(s) = csv.next_sample()? {
            self.mark(s.face.as_raw(), found);
            rows += 1;
        }
        Ok(rows)
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

    /// The matrix as a heat map: rows true class, columns predicted; each cell shaded by
    /// its share of the row (row-normalised recall) and labelled with count and share.
    pub fn render(&self, title: &str) -> Result<RgbImage, EvalError> {
        let cols = self.predicted_labels.len();
        let rows = FER_LABELS.len();
        if cols == 0 {
            return Err(EvalError::Draw { reason: "the classifier has no labels".into() });
        }
        register_chart_font()?;
        let grid_w = MATRIX_MARGIN_PX * 2 + Y_LABEL_AREA_PX + cols as u32 * CELL_PX;
        let title_w = draw::text_width_px(title, TITLE_PX as f32) + 2 * MATRIX_MARGIN_PX;
        let w = grid_w.max(title_w);
        let h = MATRIX_MARGIN_PX * 2 + TITLE_AREA_PX + X_LABEL_AREA_PX + rows as u32 * CELL_PX;
        let mut img = RgbImage::new(w, h);
        self.draw_heat_map(&mut img, title).map_err(|e| EvalError::Draw { reason: e.to_string() })?;
        Ok(img)
    }

    /// Where cell (true FER code `true_code`, predicted index `predicted`) lies in the
    /// picture of [`Confusion::render`]: (x, y, width, height) in pixels.
    pub fn cell_in_picture(true_code: usize, predicted: usize) -> (u32, u32, u32, u32) {
        let x0 = MATRIX_MARGIN_PX + Y_LABEL_AREA_PX;
        let y0 = MATRIX_MARGIN_PX + TITLE_AREA_PX;
        (x0 + predicted as u32 * CELL_PX, y0 + true_code as u32 * CELL_PX, CELL_PX, CELL_PX)
    }

    /// Draws the chart into `img` (sized by [`Confusion::render`]).
    fn draw_heat_map(&self, img: &mut RgbImage, title: &str) -> Result<(), Box<dyn std::error::Error>> {
        let (w, h) = img.dimensions();
        let cols = self.predicted_labels.len() as i32;
        let rows = FER_LABELS.len() as i32;
        let predicted: Vec<String> =
            self.predicted_labels.iter().map(|l| display_label(truncate(l, AXIS_LABEL_MAX_CHARS))).collect();
        let truth: Vec<String> = FER_LABELS.iter().map(|l| display_label(l)).collect();
        let root = BitMapBackend::<RGBPixel>::with_buffer_and_format(img, (w, h))?.into_drawing_area();
        root.fill(&WHITE)?;
        let (title_area, chart_area) = root.split_vertically(MATRIX_MARGIN_PX + TITLE_AREA_PX);
        let title_style = TextStyle::from((CHART_FONT, TITLE_PX).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        let title_centre = ((w / 2) as i32, (MATRIX_MARGIN_PX + TITLE_AREA_PX / 2) as i32);
        title_area.draw(&Text::new(title, title_centre, title_style))?;
        // A wide title widens the picture; the grid keeps its size and stays left.
        let extra_right = w - (MATRIX_MARGIN_PX * 2 + Y_LABEL_AREA_PX + cols as u32 * CELL_PX);
        let chart_area = chart_area.margin(0, MATRIX_MARGIN_PX, MATRIX_MARGIN_PX, MATRIX_MARGIN_PX + extra_right);
        let mut chart = ChartBuilder::on(&chart_area)
            .x_label_area_size(X_LABEL_AREA_PX)
            .y_label_area_size(Y_LABEL_AREA_PX)
            // Segmented axes: one band per class, labels at the band centres. The true
            // classes run top to bottom, so row `c` sits at band `rows - 1 - c`.
            .build_cartesian_2d((0..cols - 1).into_segmented(), (0..rows - 1).into_segmented())?;
        let band_name = |names: &[String], v: &SegmentValue<i32>, flip: bool| match v {
            SegmentValue::CenterOf(i) => {
                let i = if flip { names.len() as i32 - 1 - i } else { *i };
                usize::try_from(i).ok().and_then(|i| names.get(i)).cloned().unwrap_or_default()
            }
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(cols as usize)
            .y_labels(rows as usize)
            .x_label_formatter(&|v| band_name(&predicted, v, false))
            .y_label_formatter(&|v| band_name(&truth, v, true))
            .label_style((CHART_FONT, AXIS_LABEL_PX))
            .x_desc("predicted class")
            .y_desc("true class")
            .axis_desc_style((CHART_FONT, AXIS_CAPTION_PX))
            .draw()?;

        let band = |i: i32, n: i32| if i + 1 < n { SegmentValue::Exact(i + 1) } else { SegmentValue::Last };
        let centred = |px: u32| TextStyle::from((CHART_FONT, px).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        for (c, row) in self.counts.iter().enumerate() {
            let n: u64 = row.iter().sum();
            let y = rows - 1 - c as i32;
            for (p, &count) in row.iter().enumerate() {
                let x = p as i32;
                let share = if n == 0 { 0.0 } else { count as f32 / n as f32 };
                // Over the white background: white for 0, HEAT_DARKEST for a whole row.
                let fill = HEAT_DARKEST.mix(f64::from(share));
                let corners = [(SegmentValue::Exact(x), SegmentValue::Exact(y)), (band(x, cols), band(y, rows))];
                chart.draw_series(std::iter::once(Rectangle::new(corners.clone(), fill.filled())))?;
                chart.draw_series(std::iter::once(Rectangle::new(corners, CELL_BORDER.stroke_width(1))))?;
                let ink = if share > LIGHT_TEXT_ABOVE_SHARE { WHITE } else { BLACK };
                let centre = (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y));
                let label = EmptyElement::at(centre)
                    + Text::new(count.to_string(), (0, -COUNT_ABOVE_CENTRE_PX), centred(COUNT_PX).color(&ink))
                    + Text::new(
                        format!("{:.0}%", share * 100.0),
                        (0, PERCENT_BELOW_CENTRE_PX),
                        centred(PERCENT_PX).color(&ink),
                    );
                chart.draw_series(std::iter::once(label))?;
            }
        }
        root.present()?;
        Ok(())
    }
}

/// Font family name the chart's text styles ask plotters for.
const CHART_FONT: &str = "sans-serif";
/// Side of one matrix cell, pixels.
const CELL_PX: u32 = 84;
/// White border around the whole picture, pixels.
const MATRIX_MARGIN_PX: u32 = 16;
/// Height of the title strip under the top margin, pixels.
const TITLE_AREA_PX: u32 = 44;
/// Room under the grid for the predicted-class names and caption, pixels.
const X_LABEL_AREA_PX: u32 = 64;
/// Room left of the grid for the true-class names and the rotated caption, pixels.
const Y_LABEL_AREA_PX: u32 = 118;
/// Text sizes, pixels.
const TITLE_PX: u32 = 22;
const AXIS_LABEL_PX: u32 = 16;
const AXIS_CAPTION_PX: u32 = 17;
const COUNT_PX: u32 = 22;
const PERCENT_PX: u32 = 15;
/// Count and percentage anchors sit this far above / below the cell centre, pixels
/// (plotters draws this font about a fifth of its size above the anchor, so the pair
/// still looks centred).
const COUNT_ABOVE_CENTRE_PX: i32 = 4;
const PERCENT_BELOW_CENTRE_PX: i32 = 22;
/// Predicted-class names longer than this are cut (custom classifiers may have long ones).
const AXIS_LABEL_MAX_CHARS: usize = 10;
/// The colour of a cell holding a whole row (matplotlib's "Blues" darkest); empty cells are white.
const HEAT_DARKEST: RGBColor = RGBColor(8, 48, 107);
/// Thin lines between cells.
const CELL_BORDER: RGBColor = RGBColor(200, 200, 200);
/// Cells darker than this row share get white text.
const LIGHT_TEXT_ABOVE_SHARE: f32 = 0.5;

/// Registers the embedded font with plotters once (its text renderer looks fonts up by name).
fn register_chart_font() -> Result<(), EvalError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(CHART_FONT, FontStyle::Normal, draw::FONT_TTF).is_ok());
    if ok { Ok(()) } else { Err(EvalError::Draw { reason: "the embedded font DejaVuSans.ttf did not load".into() }) }
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
        let img = m.render("t").expect("render");
        assert!(img.width() > 500);
    }

    #[test]
    fn samples_are_filtered_by_usage_limited_and_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let training = |e: &str| row(e, 2304).replace("PublicTest", "Training");
        let body = row("0", 2304) + &training("1") + &row("2", 2304) + &row("3", 2304);
        let p = write(dir.path(), "mixed.csv", &body, false);
        let codes = |v: Vec<FerSample>| v.iter().map(|s| s.emotion).collect::<Vec<_>>();
        let all = read_fer_samples(&p, None, None, |_| {}).expect("all");
        assert_eq!(codes(all), vec![0, 1, 2, 3]);
        let public = read_fer_samples(&p, Some("publictest"), None, |_| {}).expect("public");
        assert_eq!(codes(public), vec![0, 2, 3]);
        let first_two = read_fer_samples(&p, Some("PublicTest"), Some(2), |_| {}).expect("limit");
        assert_eq!(codes(first_two), vec![0, 2]);
        let err = read_fer_samples(&p, Some("PrivateTest"), None, |_| {}).expect_err("none").to_string();
        assert!(err.contains("mixed.csv") && err.contains("no rows with Usage = PrivateTest"), "{err}");
    }

    #[test]
    fn overlap_marks_every_sample_whose_pixels_occur_elsewhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let face = |v: u8| vec![v.to_string(); 2304].join(" ");
        let body = |vals: &[u8]| vals.iter().map(|v| format!("3,{},PrivateTest\n", face(*v))).collect::<String>();
        let test = write(dir.path(), "test.csv", &body(&[1, 2, 3, 2, 4]), false);
        let other = write(dir.path(), "other.csv.gz", &body(&[2, 9, 4]).replace("PrivateTest", "Training"), true);
        let samples = read_fer_samples(&test, None, None, |_| {}).expect("read");
        let index = OverlapIndex::new(&samples);
        let mut found = vec![false; samples.len()];
        assert_eq!(index.mark_rows_of(&other, &mut found).expect("other"), 3);
        // Both copies of face 2 and the one face 4; a one-pixel change is not a match.
        assert_eq!(found, vec![false, true, false, true, true]);
        let mut near = samples[0].face.as_raw().clone();
        near[100] += 1;
        let mut none = vec![false; samples.len()];
        index.mark(&near, &mut none);
        assert!(none.iter().all(|f| !f));
    }

    #[test]
    fn progress_is_reported_every_thousand_samples() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body = row("6", 2304).repeat(PROGRESS_EVERY_SAMPLES * 2 + 1);
        let p = write(dir.path(), "many.csv.gz", &body, true);
        let mut seen = Vec::new();
        let samples = read_fer_samples(&p, None, None, |n| seen.push(n)).expect("read");
        assert_eq!(samples.len(), PROGRESS_EVERY_SAMPLES * 2 + 1);
        assert_eq!(seen, vec![PROGRESS_EVERY_SAMPLES, PROGRESS_EVERY_SAMPLES * 2]);
    }

    /// Mean luminance (0..255) of a patch near the top-left corner of a cell, away from its text.
    fn cell_shade(img: &RgbImage, true_code: usize, predicted: usize) -> f32 {
        const INSET_PX: u32 = 4;
        const PATCH_PX: u32 = 8;
        let (x, y, _, _) = Confusion::cell_in_picture(true_code, predicted);
        let mut sum = 0.0;
        for dy in 0..PATCH_PX {
            for dx in 0..PATCH_PX {
                let p = img.get_pixel(x + INSET_PX + dx, y + INSET_PX + dy).0;
                sum += 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
            }
        }
        sum / (PATCH_PX * PATCH_PX) as f32
    }

    /// Pixels darker than mid-grey in the rectangle (x0, y0)..(x1, y1).
    fn dark_pixels(img: &RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> usize {
        (y0..y1).flat_map(|y| (x0..x1).map(move |x| (x, y))).filter(|&(x, y)| img.get_pixel(x, y).0[1] < 128).count()
    }

    #[test]
    fn heat_map_cells_darken_with_the_count_and_text_is_drawn() {
        let labels: Vec<String> = FER_LABELS.iter().map(|s| s.to_string()).collect();
        let mut m = Confusion::new(&labels);
        // Row "happy" holds 0, 1, ..., 6 faces in the predicted columns 0..6.
        let happy = 3;
        for p in 0..labels.len() {
            for _ in 0..p {
                m.add(happy, p);
            }
        }
        // Row "surprise" is all correct: one full, darkest cell.
        let surprise = 5;
        for _ in 0..10 {
            m.add(surprise, surprise);
        }
        let img = m.render("emotion-cnn: 42.0% on PublicTest").expect("render");
        let (x_last, y_last, cw, ch) = Confusion::cell_in_picture(FER_LABELS.len() - 1, labels.len() - 1);
        assert_eq!((cw, ch), (CELL_PX, CELL_PX));
        assert_eq!(
            img.dimensions(),
            (x_last + cw + MATRIX_MARGIN_PX, y_last + ch + X_LABEL_AREA_PX + MATRIX_MARGIN_PX)
        );

        let shades: Vec<f32> = (0..labels.len()).map(|p| cell_shade(&img, happy, p)).collect();
        assert!(shades[0] > 250.0, "an empty cell is white: {shades:?}");
        assert!(shades.windows(2).all(|w| w[1] < w[0] - 1.0), "more faces, darker cell: {shades:?}");
        // A row without faces stays white.
        assert!(cell_shade(&img, 0, 0) > 250.0);

        let w = img.width();
        let title_strip = (0, 0, w, MATRIX_MARGIN_PX + TITLE_AREA_PX);
        assert!(dark_pixels(&img, title_strip) > 100, "title text");
        let (x0, _, _, _) = Confusion::cell_in_picture(0, 0);
        let y_names = (MATRIX_MARGIN_PX, y_last - 6 * CELL_PX, x0, y_last + CELL_PX);
        assert!(dark_pixels(&img, y_names) > 300, "true-class names and caption");
        let x_names = (x0, y_last + CELL_PX + 2, x_last + CELL_PX, img.height() - MATRIX_MARGIN_PX);
        assert!(dark_pixels(&img, x_names) > 300, "predicted-class names and caption");
        // A full cell is the darkest and prints its count in white.
        assert!(cell_shade(&img, surprise, surprise) < shades[labels.len() - 1]);
        let (x, y, cw, ch) = Confusion::cell_in_picture(surprise, surprise);
        let light = (y..y + ch).flat_map(|yy| (x..x + cw).map(move |xx| (xx, yy)));
        assert!(light.filter(|&(xx, yy)| img.get_pixel(xx, yy).0[0] > 200).count() > 30, "white count text");
    }

    #[test]
    fn a_long_title_widens_the_picture_not_the_cells() {
        let labels: Vec<String> = FER_LABELS.iter().map(|s| s.to_string()).collect();
        let m = Confusion::new(&labels);
        let short = m.render("t").expect("short");
        let long = m.render(&"a very long title ".repeat(10)).expect("long");
        assert!(long.width() > short.width());
        assert_eq!(long.height(), short.height());
    }
}
