//! `soak-plot` (hidden; scripts/soak.sh runs it): reads a soak run's CSV, prints its
//! summary (resident memory after the first tenth of the run against the end, frame time
//! p95 at the start against the end, the number of live entities), draws it as a PNG with
//! the report's charting library and fails when memory grew more than allowed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use image::RgbImage;
use plotters::backend::RGBPixel;
use plotters::prelude::*;
use plotters::style::register_font;

use emoji_mirror::report::draw::FONT_TTF;

/// The CSV's header, column by column.
pub const HEADER: &str = "elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps,entities";
/// The header of runs recorded before the entity count was sampled (still read).
pub const HEADER_V1: &str = "elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps";
/// The share of the run counted as its start (warm-up: caches, the first round).
const START_SHARE: f64 = 0.1;
/// Picture width and the height of one panel, pixels.
const PLOT_W_PX: u32 = 1000;
const PANEL_H_PX: u32 = 300;
/// Room around and between the panels, pixels.
const MARGIN_PX: u32 = 16;
/// Room for the axis labels, pixels.
const X_LABEL_AREA_PX: u32 = 40;
const Y_LABEL_AREA_PX: u32 = 70;
/// Text sizes, pixels.
const CAPTION_PX: u32 = 22;
const LABEL_PX: u32 = 15;
/// Font family name the chart's text styles ask plotters for.
const CHART_FONT: &str = "sans-serif";
/// Line width of the series, pixels.
const LINE_PX: u32 = 2;

#[derive(Debug, Args)]
pub struct SoakPlotArgs {
    /// The soak run's CSV (elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps,entities;
    /// files without the entities column are read too).
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Where to write the plot (PNG).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Fail when resident memory grew more than this many MiB from the end of the first
    /// tenth of the run to its end.
    #[arg(long, value_name = "MIB", default_value_t = 10.0)]
    pub max_growth_mib: f64,
}

/// One sample of the soak run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub elapsed_s: f64,
    pub rss_mib: f64,
    pub frame_ms_p50: f64,
    pub frame_ms_p95: f64,
    pub analysis_fps: f64,
    /// Live entities in the app's world; None in files recorded without them.
    pub entities: Option<f64>,
}

/// The run in a few figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub rows: usize,
    pub duration_s: f64,
    /// Resident memory at the first sample after the first tenth of the run, MiB.
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub growth_mib: f64,
    /// Mean frame time p95 over the first and the last tenth of the run, ms.
    pub p95_start_ms: f64,
    pub p95_end_ms: f64,
    /// Live entities at the first sample after the first tenth, at the end, and the most
    /// seen after the first tenth; None without the column.
    pub entities: Option<(f64, f64, f64)>,
}

/// Parses the CSV text (a header line, then one row per sample); errors name the line.
pub fn parse(text: &str) -> anyhow::Result<Vec<Row>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let fields = match lines.next() {
        Some((_, h)) if h.trim() == HEADER => 6,
        Some((_, h)) if h.trim() == HEADER_V1 => 5,
        other => anyhow::bail!("line 1: expected the header {HEADER}, found {:?}", other.map(|(_, l)| l)),
    };
    lines
        .map(|(i, l)| {
            let v: Vec<f64> = l
                .split(',')
                .map(|f| f.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("line {}: {l:?} is not {fields} numbers", i + 1))?;
            let (true, &[elapsed_s, rss_mib, frame_ms_p50, frame_ms_p95, analysis_fps, ..]) =
                (v.len() == fields, &v[..])
            else {
                anyhow::bail!("line {}: {l:?} has {} fields, not {fields}", i + 1, v.len());
            };
            let entities = v.get(5).copied();
            Ok(Row { elapsed_s, rss_mib, frame_ms_p50, frame_ms_p95, analysis_fps, entities })
        })
        .collect()
}

/// The summary of `rows` (in time order); None without rows.
pub fn summarize(rows: &[Row]) -> Option<Summary> {
    let (first, last) = (rows.first()?, rows.last()?);
    let duration_s = last.elapsed_s - first.elapsed_s;
    let start_end_s = first.elapsed_s + duration_s * START_SHARE;
    let last_start_s = last.elapsed_s - duration_s * START_SHARE;
    let baseline = rows.iter().find(|r| r.elapsed_s >= start_end_s).unwrap_or(last);
    let mean = |sel: Vec<f64>| sel.iter().sum::<f64>() / sel.len().max(1) as f64;
    let head: Vec<f64> = rows.iter().filter(|r| r.elapsed_s <= start_end_s).map(|r| r.frame_ms_p95).collect();
    let tail: Vec<f64> = rows.iter().filter(|r| r.elapsed_s >= last_start_s).map(|r| r.frame_ms_p95).collect();
    let most_entities = rows.iter().filter(|r| r.elapsed_s >= start_end_s).filter_map(|r| r.entities).reduce(f64::max);
    Some(Summary {
        rows: rows.len(),
        duration_s,
        rss_start_mib: baseline.rss_mib,
        rss_end_mib: last.rss_mib,
        growth_mib: last.rss_mib - baseline.rss_mib,
        p95_start_ms: mean(head),
        p95_end_ms: mean(tail),
        entities: baseline.entities.zip(last.entities).zip(most_entities).map(|((a, b), m)| (a, b, m)),
    })
}

pub fn run(args: &SoakPlotArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.csv).with_context(|| format!("{}", args.csv.display()))?;
    let rows = parse(&text).with_context(|| format!("{}", args.csv.display()))?;
    let s = summarize(&rows).with_context(|| format!("{}: no samples", args.csv.display()))?;
    println!(
        "soak: {} samples over {:.0} s; RSS {:.1} MiB after the first tenth, {:.1} MiB at the end: growth {:+.1} MiB \
         (limit {:.1}); frame time p95 {:.1} ms at the start, {:.1} ms at the end ({:+.0}%)",
        s.rows,
        s.duration_s,
        s.rss_start_mib,
        s.rss_end_mib,
        s.growth_mib,
        args.max_growth_mib,
        s.p95_start_ms,
        s.p95_end_ms,
        100.0 * (s.p95_end_ms / s.p95_start_ms.max(f64::EPSILON) - 1.0),
    );
    if let Some((start, end, most)) = s.entities {
        println!("entities: {start:.0} after the first tenth, {end:.0} at the end, at most {most:.0} in between");
    }
    let img = render(&rows).map_err(|e| anyhow::anyhow!("drawing the soak plot: {e}"))?;
    save(&img, &args.out)?;
    println!("plot: {}", args.out.display());
    if s.growth_mib > args.max_growth_mib {
        anyhow::bail!("resident memory grew {:.1} MiB, more than {:.1} MiB", s.growth_mib, args.max_growth_mib);
    }
    Ok(())
}

fn save(img: &RgbImage, path: &Path) -> anyhow::Result<()> {
    img.save_with_format(path, image::ImageFormat::Png).with_context(|| format!("{}", path.display()))
}

/// One panel: its caption, unit and series (name, colour, value of a row).
type Panel = (&'static str, &'static str, Vec<(&'static str, RGBColor, fn(&Row) -> f64)>);

/// Panels over time: resident memory, frame time p50/p95, analysis fps, and live entities
/// when every row has them.
pub fn render(rows: &[Row]) -> Result<RgbImage, Box<dyn std::error::Error>> {
    // The same name and font as the report's charts; registering again is harmless.
    register_font(CHART_FONT, FontStyle::Normal, FONT_TTF).map_err(|_| "the embedded font did not load")?;
    let with_entities = !rows.is_empty() && rows.iter().all(|r| r.entities.is_some());
    let height_px = PANEL_H_PX * if with_entities { 4 } else { 3 };
    let mut img = RgbImage::new(PLOT_W_PX, height_px);
    {
        let root =
            BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut img, (PLOT_W_PX, height_px))?.into_drawing_area();
        root.fill(&WHITE)?;
        let mut panels: Vec<Panel> = vec![
            ("Resident memory", "MiB", vec![("RSS", RGBColor(31, 119, 180), |r| r.rss_mib)]),
            (
                "Frame time",
                "ms",
                vec![
                    ("p50", RGBColor(44, 160, 44), |r| r.frame_ms_p50),
                    ("p95", RGBColor(214, 39, 40), |r| r.frame_ms_p95),
                ],
            ),
            ("Analysis rate", "fps", vec![("analysis fps", RGBColor(148, 103, 189), |r| r.analysis_fps)]),
        ];
        if with_entities {
            panels.push((
                "Live entities",
                "entities",
                vec![("entities", RGBColor(140, 86, 75), |r| r.entities.unwrap_or_default())],
            ));
        }
        let x_max = rows.iter().map(|r| r.elapsed_s).fold(1.0, f64::max);
        for (area, (caption, unit, series)) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
            let values = rows.iter().flat_map(|r| series.iter().map(move |s| (s.2)(r)));
            let y_max = values.clone().fold(f64::MIN, f64::max);
            let y_min = values.fold(f64::MAX, f64::min);
            // Some room above and below; a flat line still gets a range.
            let pad = ((y_max - y_min) * 0.1).max(1.0);
            let (y_lo, y_hi) = if rows.is_empty() { (0.0, 1.0) } else { ((y_min - pad).max(0.0), y_max + pad) };
            let mut chart = ChartBuilder::on(&area.margin(MARGIN_PX, MARGIN_PX, MARGIN_PX, MARGIN_PX))
                .caption(caption, (CHART_FONT, CAPTION_PX))
                .x_label_area_size(X_LABEL_AREA_PX)
                .y_label_area_size(Y_LABEL_AREA_PX)
                .build_cartesian_2d(0.0..x_max, y_lo..y_hi)?;
            chart
                .configure_mesh()
                .x_desc("seconds since start")
                .y_desc(unit)
                .label_style((CHART_FONT, LABEL_PX))
                .draw()?;
            for (name, color, value) in series {
                chart
                    // A path element: the crate builds plotters without its series module.
                    .draw_series(std::iter::once(PathElement::new(
                        rows.iter().map(|r| (r.elapsed_s, value(r))).collect::<Vec<_>>(),
                        color.stroke_width(LINE_PX),
                    )))?
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(LINE_PX)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font((CHART_FONT, LABEL_PX))
                .draw()?;
        }
        root.present()?;
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(elapsed_s: f64, rss_mib: f64, p95: f64) -> Row {
        Row { elapsed_s, rss_mib, frame_ms_p50: p95 / 2.0, frame_ms_p95: p95, analysis_fps: 7.0, entities: None }
    }

    #[test]
    fn parses_rows_and_names_a_bad_line() {
        let rows = parse(&format!("{HEADER}\n10,200.5,100,150,7.5,512\n20,201,101,151,7.4,515\n")).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            Row {
                elapsed_s: 20.0,
                rss_mib: 201.0,
                frame_ms_p50: 101.0,
                frame_ms_p95: 151.0,
                analysis_fps: 7.4,
                entities: Some(515.0)
            }
        );
        let old = parse(&format!("{HEADER_V1}\n10,200.5,100,150,7.5\n")).expect("a file without entities parses");
        assert_eq!(old[0].entities, None);
        let e = parse(&format!("{HEADER}\n10,200,x,1,1,1\n")).expect_err("not a number");
        assert!(format!("{e:#}").contains("line 2"), "{e:#}");
        let e = parse(&format!("{HEADER}\n10,200,1,1,1\n")).expect_err("five fields");
        assert!(format!("{e:#}").contains("5 fields, not 6"), "{e:#}");
        let e = parse(&format!("{HEADER_V1}\n10,200,1,1,1,1\n")).expect_err("six fields in an old file");
        assert!(format!("{e:#}").contains("6 fields, not 5"), "{e:#}");
        assert!(parse("a,b\n1,2\n").is_err(), "a wrong header is refused");
    }

    #[test]
    fn growth_is_measured_from_the_end_of_the_first_tenth() {
        // 0..=100 s: a big warm-up step before 10 s, then 3 MiB more to the end.
        let rows: Vec<Row> = (0..=10)
            .map(|i| row(i as f64 * 10.0, if i == 0 { 150.0 } else { 200.0 + i as f64 / 3.33 }, 100.0))
            .collect();
        let s = summarize(&rows).expect("rows");
        assert_eq!(s.rows, 11);
        assert_eq!(s.duration_s, 100.0);
        assert!((s.rss_start_mib - 200.3).abs() < 0.01, "{s:?}");
        assert!((s.growth_mib - 2.7).abs() < 0.01, "the warm-up is not counted: {s:?}");
        assert_eq!(s.entities, None, "no entity column");
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn p95_start_and_end_are_the_means_of_the_first_and_last_tenth() {
        let rows: Vec<Row> =
            (0..=20).map(|i| row(i as f64 * 10.0, 200.0, if i < 10 { 100.0 } else { 130.0 })).collect();
        let s = summarize(&rows).expect("rows");
        assert_eq!(s.p95_start_ms, 100.0);
        assert_eq!(s.p95_end_ms, 130.0);
    }

    #[test]
    fn entities_are_summarised_from_the_end_of_the_first_tenth() {
        // A burst of entities in the warm-up is not counted; a peak later is.
        let counts = [900.0, 500.0, 510.0, 505.0, 640.0, 505.0, 500.0, 510.0, 505.0, 500.0, 502.0];
        let rows: Vec<Row> = counts
            .iter()
            .enumerate()
            .map(|(i, &n)| Row { entities: Some(n), ..row(i as f64 * 10.0, 200.0, 100.0) })
            .collect();
        let s = summarize(&rows).expect("rows");
        assert_eq!(s.entities, Some((500.0, 502.0, 640.0)), "{s:?}");
    }

    #[test]
    fn the_plot_draws_the_series() {
        let rows: Vec<Row> = (0..10).map(|i| row(i as f64 * 10.0, 200.0 + i as f64, 120.0)).collect();
        let img = render(&rows).expect("draws");
        assert_eq!(img.dimensions(), (PLOT_W_PX, 3 * PANEL_H_PX));
        assert_eq!(img.pixels().filter(|p| p.0 == [140, 86, 75]).count(), 0, "no entity panel without entities");
        let with: Vec<Row> = rows.iter().map(|r| Row { entities: Some(500.0 + r.elapsed_s), ..*r }).collect();
        let img4 = render(&with).expect("draws");
        assert_eq!(img4.dimensions(), (PLOT_W_PX, 4 * PANEL_H_PX));
        let brown = img4.pixels().filter(|p| p.0 == [140, 86, 75]).count();
        assert!(brown > 100, "the entity line is drawn: {brown} pixels");
        let coloured = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
        assert!(coloured > 100, "the RSS line is drawn: {coloured} pixels");
        let red = img.pixels().filter(|p| p.0 == [214, 39, 40]).count();
        assert!(red > 100, "the p95 line is drawn: {red} pixels");
    }
}
