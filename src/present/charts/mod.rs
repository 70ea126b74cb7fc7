//! Charts: plain figures in, SVG or PNG out, drawn on the server with
//! plotters.
//!
//! Owns the look of every chart: layout, the colour-blind-safe palette
//! (Okabe–Ito), the bundled font (DejaVu Sans, which covers Vietnamese, so a
//! PNG never depends on system fonts) and the text alternative of each chart.
//! Takes only the plain inputs below, with labels already in the reader's
//! language: it never queries an engine, never computes a figure, and knows
//! nothing of HTTP.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::Once;
use thiserror::Error;

use crate::present::locale::{self, Lang};

const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
pub const MET: RGBColor = RGBColor(0, 158, 115);
pub const BELOW: RGBColor = RGBColor(213, 94, 0);
pub const NEUTRAL: RGBColor = RGBColor(0, 114, 178);
pub const LAST_YEAR: RGBColor = RGBColor(153, 153, 153);
pub const TARGET: RGBColor = RGBColor(0, 0, 0);
pub const NO_DATA: RGBColor = RGBColor(230, 230, 230);

#[derive(Debug, Error)]
pub enum ChartError {
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    #[error("size {0}×{1} is outside 200–4000 × 150–4000 pixels")]
    Size(u32, u32),
}

impl ChartError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Size(..) => "invalid_size",
            _ => "chart_failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
    /// The chart's text alternative.
    Text,
}

impl Format {
    pub fn parse(ext: &str) -> Option<Self> {
        match ext {
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            "txt" => Some(Self::Text),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Svg => "image/svg+xml",
            Self::Png => "image/png",
            Self::Text => "text/plain; charset=utf-8",
        }
    }
}

/// Pixel size of a chart, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub fn new(width: u32, height: u32) -> Result<Self, ChartError> {
        if !(200..=4000).contains(&width) || !(150..=4000).contains(&height) {
            return Err(ChartError::Size(width, height));
        }
        Ok(Self { width, height })
    }
}

/// Whether a value meets its target (for bar colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Met,
    Below,
    NoTarget,
    NoData,
}

impl Standing {
    fn colour(self) -> RGBColor {
        match self {
            Standing::Met => MET,
            Standing::Below => BELOW,
            Standing::NoTarget => NEUTRAL,
            Standing::NoData => NO_DATA,
        }
    }
}

/// Monthly share trend with the target and last year's line.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub title: String,
    /// Month labels along the x axis (e.g. `6/2025`).
    pub months: Vec<String>,
    pub share: Vec<Option<f64>>,
    /// Months whose figures are not final yet (estimates, preliminary
    /// figures): their points are drawn hollow.
    pub provisional: Vec<bool>,
    /// The same months one year earlier.
    pub last_year: Vec<Option<f64>>,
    pub target: Option<f64>,
    pub legend: TrendLegend,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendLegend {
    pub share: String,
    pub last_year: String,
    pub target: String,
    /// What a hollow point means (shown when there is one).
    pub provisional: String,
}

/// Horizontal bars (districts ranked, sectors), shares with a target line.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub title: String,
    pub bars: Vec<Bar>,
    pub target: Option<f64>,
    pub target_label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub share: Option<f64>,
    pub standing: Standing,
}

/// A grid of shares: rows (districts) × columns (sectors).
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// `values[row][column]`.
    pub values: Vec<Vec<Option<f64>>>,
}

/// Districts placed by their centroids, sized by total revenue, coloured by share.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    pub title: String,
    pub points: Vec<MapPoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapPoint {
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    /// Total revenue (any unit; only relative sizes matter).
    pub total: f64,
    pub share: Option<f64>,
    pub standing: Standing,
}

/// Any chart.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Trend(Trend),
    Bars(Bars),
    Heatmap(Heatmap),
    Map(Map),
}

fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font(FAMILY, style, FONT).is_err() {
                panic!("the bundled font is not a valid TrueType font");
            }
        }
    });
}

fn err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

/// Draws `chart` at `size` in `format`, axis numbers in `lang`'s style.
pub fn render(chart: &Chart, format: Format, size: Size, lang: Lang) -> Result<Vec<u8>, ChartError> {
    ensure_font();
    let dims = (size.width, size.height);
    match format {
        Format::Text => Ok(describe(chart).into_bytes()),
        Format::Svg => {
            let mut out = String::new();
            {
                let root = SVGBackend::with_string(&mut out, dims).into_drawing_area();
                draw(chart, &root, lang)?;
                root.present().map_err(err)?;
            }
            Ok(out.into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; size.width as usize * size.height as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, dims).into_drawing_area();
                draw(chart, &root, lang)?;
                root.present().map_err(err)?;
            }
            encode_png(&rgb, size)
        }
    }
}

fn encode_png(rgb: &[u8], size: Size) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size.width, size.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| ChartError::Encode(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ChartError::Encode(e.to_string()))?;
    }
    Ok(out)
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>, lang: Lang) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(err)?;
    match chart {
        Chart::Trend(t) => draw_trend(t, root, lang),
        Chart::Bars(b) => draw_bars(b, root, lang),
        Chart::Heatmap(h) => draw_heatmap(h, root),
        Chart::Map(m) => draw_map(m, root),
    }
}

fn percent_axis(v: &f64, lang: Lang) -> String {
    locale::percent(*v, 0, lang)
}

fn title_font(size: u32) -> TextStyle<'static> {
    (FAMILY, size as f64).into_font().style(FontStyle::Bold).into()
}

fn label_font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size as f64).into_font()).color(&BLACK)
}

fn max_share(values: impl Iterator<Item = f64>, target: Option<f64>) -> f64 {
    let m = values.chain(target).fold(0.0f64, f64::max);
    if m <= 0.0 { 0.1 } else { (m * 1.15).min(1.0) }
}

fn draw_trend<DB: DrawingBackend>(t: &Trend, root: &DrawingArea<DB, Shift>, lang: Lang) -> Result<(), ChartError> {
    let (w, _) = root.dim_in_pixel();
    let n = t.months.len().max(1);
    let top = max_share(t.share.iter().chain(&t.last_year).flatten().copied(), t.target);
    let mut chart = ChartBuilder::on(root)
        .caption(&t.title, title_font((w / 45).clamp(12, 22)))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..(n as f64 - 1.0).max(1.0), 0f64..top)
        .map_err(err)?;
    let months = t.months.clone();
    chart
        .configure_mesh()
        .x_labels(n.min(12))
        .x_label_formatter(&|x| months.get(x.round() as usize).cloned().unwrap_or_default())
        .y_label_formatter(&|v| percent_axis(v, lang))
        .label_style(label_font(11))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    let line = |values: &[Option<f64>]| -> Vec<Vec<(f64, f64)>> {
        // Gaps (months without data) break the line.
        let mut runs = vec![Vec::new()];
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => runs.last_mut().expect("one run").push((i as f64, *v)),
                None if !runs.last().is_some_and(Vec::is_empty) => runs.push(Vec::new()),
                None => {}
            }
        }
        runs
    };
    for (k, run) in line(&t.last_year).into_iter().enumerate() {
        let s = chart
            .draw_series(LineSeries::new(run, LAST_YEAR.stroke_width(2)))
            .map_err(err)?;
        if k == 0 {
            s.label(&t.legend.last_year)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], LAST_YEAR.stroke_width(2)));
        }
    }
    let provisional = |p: &(f64, f64)| t.provisional.get(p.0 as usize).copied().unwrap_or(false);
    for (k, run) in line(&t.share).into_iter().enumerate() {
        // Final months filled; estimates and preliminary figures hollow
        // (white inside, drawn over the line).
        chart
            .draw_series(
                run.iter()
                    .filter(|p| !provisional(p))
                    .map(|&p| Circle::new(p, 3, NEUTRAL.filled())),
            )
            .map_err(err)?;
        let hollow: Vec<(f64, f64)> = run.iter().copied().filter(|p| provisional(p)).collect();
        let s = chart
            .draw_series(LineSeries::new(run, NEUTRAL.stroke_width(3)))
            .map_err(err)?;
        if k == 0 {
            s.label(&t.legend.share)
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], NEUTRAL.stroke_width(3)));
        }
        let run = hollow;
        chart
            .draw_series(run.iter().map(|&p| Circle::new(p, 4, WHITE.filled())))
            .map_err(err)?;
        chart
            .draw_series(run.iter().map(|&p| Circle::new(p, 4, NEUTRAL.stroke_width(2))))
            .map_err(err)?;
    }
    if t.share.iter().zip(&t.provisional).any(|(s, p)| s.is_some() && *p) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(err)?
            .label(&t.legend.provisional)
            .legend(|(x, y)| Circle::new((x + 9, y), 4, NEUTRAL.stroke_width(2)));
    }
    if let Some(target) = t.target {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(0.0, target), ((n as f64 - 1.0).max(1.0), target)],
                8,
                5,
                TARGET.stroke_width(2),
            ))
            .map_err(err)?
            .label(&t.legend.target)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TARGET.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(LAST_YEAR)
        .label_font(label_font(11))
        .draw()
        .map_err(err)
}

fn draw_bars<DB: DrawingBackend>(b: &Bars, root: &DrawingArea<DB, Shift>, lang: Lang) -> Result<(), ChartError> {
    let (w, _) = root.dim_in_pixel();
    let n = b.bars.len().max(1);
    let top = max_share(b.bars.iter().filter_map(|x| x.share), b.target);
    let label_width = b
        .bars
        .iter()
        .map(|x| x.label.chars().count())
        .max()
        .unwrap_or(4)
        .min(40) as u32
        * 7
        + 10;
    let mut chart = ChartBuilder::on(root)
        .caption(&b.title, title_font((w / 45).clamp(12, 22)))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(label_width.min(w / 2))
        .build_cartesian_2d(0f64..top, (0..n).into_segmented())
        .map_err(err)?;
    let labels: Vec<String> = b.bars.iter().map(|x| x.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            // The first bar is drawn on top.
            SegmentValue::CenterOf(i) => n
                .checked_sub(1 + *i)
                .and_then(|k| labels.get(k))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| percent_axis(v, lang))
        .label_style(label_font(11))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(b.bars.iter().enumerate().map(|(k, bar)| {
            let i = n - 1 - k;
            let v = bar.share.unwrap_or(0.0);
            let mut r = Rectangle::new(
                [(0.0, SegmentValue::Exact(i)), (v, SegmentValue::Exact(i + 1))],
                bar.standing.colour().filled(),
            );
            r.set_margin(2, 2, 0, 0);
            r
        }))
        .map_err(err)?;
    if let Some(target) = b.target {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(target, SegmentValue::Exact(0)), (target, SegmentValue::Exact(n))],
                6,
                4,
                TARGET.stroke_width(2),
            ))
            .map_err(err)?
            .label(&b.target_label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], TARGET.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(LAST_YEAR)
            .label_font(label_font(11))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// A sequential light-to-dark blue scale for shares in [0, max].
fn heat_colour(v: f64, max: f64) -> RGBColor {
    let t = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 };
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(lerp(239.0, 8.0), lerp(243.0, 48.0), lerp(255.0, 107.0))
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

fn draw_heatmap<DB: DrawingBackend>(h: &Heatmap, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
    let (w, _) = root.dim_in_pixel();
    let (nr, nc) = (h.rows.len().max(1), h.columns.len().max(1));
    let max = h.values.iter().flatten().flatten().copied().fold(0.0f64, f64::max);
    let label_width = h.rows.iter().map(|r| r.chars().count()).max().unwrap_or(4).min(30) as u32 * 7 + 10;
    let title = root.titled(&h.title, title_font((w / 45).clamp(12, 22))).map_err(err)?;
    // Columns are numbered; a key on the right names them (long names do not fit under a column).
    let (grid, key) = title.split_horizontally(w * 70 / 100);
    let mut chart = ChartBuilder::on(&grid)
        .margin(12)
        .x_label_area_size(24)
        .y_label_area_size(label_width.min(w / 4))
        .build_cartesian_2d((0..nc).into_segmented(), (0..nr).into_segmented())
        .map_err(err)?;
    let rows = h.rows.clone();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc)
        .y_labels(nr)
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) if *i < nc => (i + 1).to_string(),
            _ => String::new(),
        })
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(i) => nr
                .checked_sub(1 + *i)
                .and_then(|k| rows.get(k))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(label_font(10))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(h.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, v)| {
                let colour = v.map_or(NO_DATA, |v| heat_colour(v, max));
                let y = nr - 1 - r;
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(y + 1)),
                    ],
                    colour.filled(),
                );
                rect.set_margin(1, 1, 1, 1);
                rect
            })
        }))
        .map_err(err)?;
    let line = 16;
    for (i, name) in h.columns.iter().enumerate() {
        key.draw(&Text::new(
            format!("{}. {}", i + 1, shorten(name, 34)),
            (4, 16 + line * i as i32),
            label_font(10),
        ))
        .map_err(err)?;
    }
    Ok(())
}

fn draw_map<DB: DrawingBackend>(m: &Map, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
    let (w, h) = root.dim_in_pixel();
    let lats = m.points.iter().map(|p| p.lat);
    let lons = m.points.iter().map(|p| p.lon);
    let (lat0, lat1) = lats.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (lon0, lon1) = lons.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let pad = 0.12;
    let (lat0, lat1) = if lat0 <= lat1 {
        (lat0 - pad, lat1 + pad)
    } else {
        (19.0, 21.0)
    };
    let (lon0, lon1) = if lon0 <= lon1 {
        (lon0 - pad, lon1 + pad)
    } else {
        (104.0, 106.5)
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&m.title, title_font((w / 45).clamp(12, 22)))
        .margin(12)
        .build_cartesian_2d(lon0..lon1, lat0..lat1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_axes()
        .draw()
        .map_err(err)?;
    let max_total = m.points.iter().map(|p| p.total).fold(0.0f64, f64::max);
    let max_radius = (w.min(h) / 14).max(8) as f64;
    let max_share = m.points.iter().filter_map(|p| p.share).fold(0.0f64, f64::max);
    for p in &m.points {
        let r = if max_total > 0.0 {
            (p.total / max_total).sqrt() * max_radius
        } else {
            3.0
        };
        // Fill by share (light to dark), outline by standing against the target.
        let fill = p.share.map_or(NO_DATA, |s| heat_colour(s, max_share));
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.lon, p.lat),
                r.max(3.0) as i32,
                fill.mix(0.9).filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.lon, p.lat),
                r.max(3.0) as i32,
                p.standing.colour().stroke_width(3),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Text::new(
                p.label.clone(),
                (p.lon, p.lat),
                label_font(10).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                )),
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// "label: 12.3%; …" for the text alternatives.
fn values<'a>(items: impl Iterator<Item = (&'a String, Option<f64>)>) -> String {
    items
        .map(|(label, share)| match share {
            Some(s) => format!("{label}: {:.1}%", s * 100.0),
            None => format!("{label}: –"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A one-paragraph text alternative for a chart (for `alt` and screen readers).
pub fn describe(chart: &Chart) -> String {
    match chart {
        Chart::Trend(t) => {
            let points = t
                .months
                .iter()
                .zip(&t.share)
                .zip(t.provisional.iter().chain(std::iter::repeat(&false)))
                .filter_map(|((m, s), p)| s.map(|s| format!("{m}: {:.1}%{}", s * 100.0, if *p { "*" } else { "" })))
                .collect::<Vec<_>>()
                .join("; ");
            if t.share.iter().zip(&t.provisional).any(|(s, p)| s.is_some() && *p) {
                format!("{}. {points} (*: {})", t.title, t.legend.provisional)
            } else {
                format!("{}. {points}", t.title)
            }
        }
        Chart::Bars(b) => format!("{}. {}", b.title, values(b.bars.iter().map(|x| (&x.label, x.share)))),
        Chart::Heatmap(h) => {
            let rows = h
                .rows
                .iter()
                .zip(&h.values)
                .map(|(row, values)| format!("{row} — {}", self::values(h.columns.iter().zip(values.iter().copied()))))
                .collect::<Vec<_>>()
                .join(". ");
            format!("{}. {rows}", h.title)
        }
        Chart::Map(m) => format!("{}. {}", m.title, values(m.points.iter().map(|p| (&p.label, p.share)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars() -> Chart {
        Chart::Bars(Bars {
            title: "Tỷ trọng TMĐT theo huyện".into(),
            bars: vec![
                Bar {
                    label: "Thanh Hóa".into(),
                    share: Some(0.12),
                    standing: Standing::Met,
                },
                Bar {
                    label: "Mường Lát".into(),
                    share: Some(0.02),
                    standing: Standing::Below,
                },
                Bar {
                    label: "Đông Sơn".into(),
                    share: None,
                    standing: Standing::NoData,
                },
            ],
            target: Some(0.1),
            target_label: "Mục tiêu 10 %".into(),
        })
    }

    #[test]
    fn svg_keeps_vietnamese_text_and_png_is_a_png() {
        let size = Size::new(640, 360).unwrap();
        let svg = String::from_utf8(render(&bars(), Format::Svg, size, Lang::Vi).unwrap()).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Mường Lát"));
        assert!(svg.contains("Tỷ trọng TMĐT theo huyện"));
        let png = render(&bars(), Format::Png, size, Lang::Vi).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn sizes_are_bounded() {
        assert!(Size::new(100, 300).is_err());
        assert!(Size::new(800, 5000).is_err());
        assert!(Size::new(800, 450).is_ok());
    }

    #[test]
    fn text_alternative_lists_the_values() {
        let d = describe(&bars());
        assert!(d.contains("Thanh Hóa: 12.0%"));
        assert!(d.contains("Đông Sơn: –"));
        let heat = Chart::Heatmap(Heatmap {
            title: "H".into(),
            rows: vec!["Thanh Hóa".into(), "Mường Lát".into()],
            columns: vec!["FOOD".into(), "TRAVEL".into()],
            values: vec![vec![Some(0.05), None], vec![Some(0.01), Some(0.2)]],
        });
        assert_eq!(
            describe(&heat),
            "H. Thanh Hóa — FOOD: 5.0%; TRAVEL: –. Mường Lát — FOOD: 1.0%; TRAVEL: 20.0%"
        );
    }
}
