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
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;
use thiserror::Error;

use crate::present::locale::{self, Lang};

mod over_time;
use over_time::{draw_trend, draw_years};
#[cfg(test)]
use over_time::{january, month_at, trend_axis};

const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
pub const MET: RGBColor = RGBColor(0, 158, 115);
pub const BELOW: RGBColor = RGBColor(213, 94, 0);
pub const NEUTRAL: RGBColor = RGBColor(0, 114, 178);
pub const LAST_YEAR: RGBColor = RGBColor(153, 153, 153);
pub const TARGET: RGBColor = RGBColor(0, 0, 0);
pub const NO_DATA: RGBColor = RGBColor(230, 230, 230);
/// The trend's months after the data, where only the targets are drawn.
const AHEAD: RGBColor = RGBColor(245, 245, 245);
/// The lines between years on the trend.
const BOUNDARY: RGBColor = RGBColor(215, 215, 215);

/// The targets' programmes, the newest first (Okabe–Ito's remaining
/// colours; its yellow darkened to read as a line on white).
const PROGRAM_COLOURS: [RGBColor; 6] = [
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(150, 135, 20),
];

/// How opaque a programme's band is.
const BAND_ALPHA: f64 = 0.25;
/// A programme's line.
const PATH_WIDTH: u32 = 5;
/// The y axis' labels (percentages).
const Y_LABELS: u32 = 48;

fn program_colour(recency: usize) -> RGBColor {
    PROGRAM_COLOURS[recency % PROGRAM_COLOURS.len()]
}

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

/// Monthly share trend with last year's line and every programme's
/// targets: from the first month with data through December of the last
/// year a target is shown for (the months after the data show the targets
/// alone).
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub title: String,
    /// Month labels along the x axis (e.g. `6/25`), one per month from the
    /// first month with data through the last year of the targets.
    pub months: Vec<String>,
    /// The months with data, from the first: their shares (fewer than
    /// `months` when the axis runs on to the targets' years).
    pub share: Vec<Option<f64>>,
    /// Months whose figures are not final yet (estimates, preliminary
    /// figures): their points are drawn hollow.
    pub provisional: Vec<bool>,
    /// The same months one year earlier.
    pub last_year: Vec<Option<f64>>,
    /// The year and month (1–12) of the first month.
    pub start: (u16, u8),
    /// Every programme's targets for the years on the axis, and the
    /// governing one.
    pub targets: TargetPaths,
    pub legend: TrendLegend,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrendLegend {
    pub share: String,
    pub last_year: String,
    /// The governing target's line.
    pub target: String,
    /// What a hollow point means (shown when there is one).
    pub provisional: String,
}

/// One programme's target for one year: a single value (`high` equal to
/// `low`), a range, or at least `low` (`high` none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearTarget {
    pub year: u16,
    pub low: f64,
    pub high: Option<f64>,
}

impl YearTarget {
    /// A range, drawn as a band; a single value or "at least" is a line.
    pub fn is_range(&self) -> bool {
        self.high.is_some_and(|h| h > self.low)
    }
}

/// A programme's targets, one per year it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramPath {
    /// The programme as the legend names it (its document's number).
    pub label: String,
    /// 0 for the newest programme of the targets table, 1 for the one
    /// before, …: its colour, the same in every chart.
    pub recency: usize,
    /// Oldest year first.
    pub years: Vec<YearTarget>,
}

impl ProgramPath {
    /// Whether the legend shows the programme as a band: a year's target
    /// is a range (each year is drawn as what it is).
    pub fn is_band(&self) -> bool {
        self.years.iter().any(YearTarget::is_range)
    }
}

/// The target governing a year (a programme's `low`) and its programme.
#[derive(Debug, Clone, PartialEq)]
pub struct Governing {
    pub year: u16,
    pub target: f64,
    /// The programme as shown (its document's number).
    pub program: String,
}

/// Every programme's targets year by year, and the governing one, for the
/// years a chart shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetPaths {
    /// The programmes with a target in a year shown, oldest first.
    pub programs: Vec<ProgramPath>,
    /// Each year shown that has a governing target, oldest first.
    pub governing: Vec<Governing>,
}

impl TargetPaths {
    /// Every value drawn (for the axis' range).
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.programs
            .iter()
            .flat_map(|p| p.years.iter().flat_map(|v| std::iter::once(v.low).chain(v.high)))
            .chain(self.governing.iter().map(|g| g.target))
    }
}

/// The share of each year against every programme's targets: a bar per
/// year (a year with figures for some months only marked so, estimates and
/// preliminary figures hollow), each programme's target of the year as a
/// line or a band, the governing one on top.
#[derive(Debug, Clone, PartialEq)]
pub struct Years {
    pub title: String,
    /// Oldest first.
    pub years: Vec<YearBar>,
    pub targets: TargetPaths,
    pub legend: YearsLegend,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YearBar {
    pub year: u16,
    /// The axis label: `2025`, or a part of a year's (`1–4/2026`).
    pub label: String,
    /// Σ e-commerce / Σ total of the year's months; none without figures
    /// (no data, withheld).
    pub share: Option<f64>,
    /// Figures for some of the year's months only (the year to date, the
    /// first year of the data).
    pub partial: bool,
    /// A month of it is not final yet: drawn hollow.
    pub provisional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct YearsLegend {
    pub share: String,
    /// The governing target's line.
    pub target: String,
    /// What a hollow bar means (shown when there is one).
    pub provisional: String,
    /// What each partial year's bar is (`1–4/2026: chưa đủ năm, …`).
    pub partial: Vec<String>,
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
    Years(Years),
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
        Format::Text => Ok(describe(chart, lang).into_bytes()),
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
        Chart::Years(y) => draw_years(y, root, lang),
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

/// The x axis of the trend and yearly charts: each month (or year) at an
/// integer, from -0.5 to n - 0.5, with ticks and labels at given points
/// only (plotters' own would fall between months).
#[derive(Debug, Clone)]
struct Axis {
    n: usize,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(n: usize, ticks: Vec<f64>) -> Self {
        Self { n: n.max(1), ticks }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (-0.5, self.n as f64 - 0.5);
        let at = (v - a) / (b - a);
        limit.0 + (f64::from(limit.1 - limit.0) * at).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        -0.5..self.n as f64 - 0.5
    }
}

/// The trend and yearly charts' coordinates.
type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, RangedCoordf64>>;

/// A legend entry's mark.
#[derive(Debug, Clone, Copy)]
enum Mark {
    Line(RGBColor, u32),
    Dashed(RGBColor, u32),
    Band(RGBColor),
    Hollow(RGBColor),
    Bar(RGBColor),
    HollowBar(RGBColor),
    /// Text alone.
    Note,
}

/// A legend entry.
struct Key {
    mark: Mark,
    text: String,
}

const KEY_ROW: i32 = 18;
const KEY_MARK: i32 = 20;

fn draw_mark<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, mark: Mark, x: i32, y: i32) -> Result<(), ChartError> {
    let r = KEY_MARK;
    match mark {
        Mark::Line(c, w) => area.draw(&PathElement::new(vec![(x, y), (x + r, y)], c.stroke_width(w))),
        Mark::Dashed(c, w) => area.draw(&DashedPathElement::new(
            vec![(x, y), (x + r, y)],
            6,
            3,
            c.stroke_width(w),
        )),
        Mark::Band(c) => area
            .draw(&Rectangle::new(
                [(x, y - 5), (x + r, y + 5)],
                c.mix(BAND_ALPHA).filled(),
            ))
            .and_then(|_| area.draw(&Rectangle::new([(x, y - 5), (x + r, y + 5)], c.stroke_width(1)))),
        Mark::Hollow(c) => area
            .draw(&Circle::new((x + r / 2, y), 4, WHITE.filled()))
            .and_then(|_| area.draw(&Circle::new((x + r / 2, y), 4, c.stroke_width(2)))),
        Mark::Bar(c) => area.draw(&Rectangle::new([(x + 5, y - 6), (x + r - 5, y + 6)], c.filled())),
        Mark::HollowBar(c) => area.draw(&Rectangle::new([(x + 5, y - 6), (x + r - 5, y + 6)], c.stroke_width(2))),
        Mark::Note => Ok(()),
    }
    .map_err(err)
}

/// Draws `keys` in rows under the plot, from `indent` (the y axis' width)
/// and wrapping at the area's width, and gives the area left above them.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    keys: &[Key],
    indent: i32,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (width, height) = area.dim_in_pixel();
    let font = label_font(11);
    let mut places = Vec::with_capacity(keys.len());
    let (mut x, mut row) = (indent, 0);
    for k in keys {
        let (text, _) = area.estimate_text_size(&k.text, &font).map_err(err)?;
        let mark = if matches!(k.mark, Mark::Note) { 0 } else { KEY_MARK + 6 };
        let w = mark + text as i32;
        if x > indent && x + w > width as i32 {
            (x, row) = (indent, row + 1);
        }
        places.push((x, row));
        x += w + 18;
    }
    if keys.is_empty() {
        return Ok(area.clone());
    }
    let legend_height = (row + 1) * KEY_ROW + 4;
    let (plot, legend) = area.split_vertically((height as i32 - legend_height).max(height as i32 / 2));
    for (k, (x, row)) in keys.iter().zip(places) {
        let y = 4 + row * KEY_ROW + KEY_ROW / 2;
        draw_mark(&legend, k.mark, x, y)?;
        let x = if matches!(k.mark, Mark::Note) {
            x
        } else {
            x + KEY_MARK + 6
        };
        legend
            .draw(&Text::new(
                k.text.clone(),
                (x, y),
                font.pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
    }
    Ok(plot)
}

/// The chart's title on top, inside the margins; the area under it.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (w, _) = root.dim_in_pixel();
    root.margin(6, 8, 12, 12)
        .titled(title, title_font((w / 45).clamp(12, 22)))
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

/// "label: 12,3 %; …" for the text alternatives.
fn values<'a>(items: impl Iterator<Item = (&'a String, Option<f64>)>, lang: Lang) -> String {
    items
        .map(|(label, share)| match share {
            Some(s) => format!("{label}: {}", locale::percent(s, 1, lang)),
            None => format!("{label}: –"),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The targets in words: the governing one of each year with its
/// programme, then each programme's year by year (a range as a range).
fn describe_targets(t: &TargetPaths, governing: &str, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    if !t.governing.is_empty() {
        let years = t
            .governing
            .iter()
            .map(|g| format!("{}: {} ({})", g.year, locale::percent(g.target, 1, lang), g.program))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(format!("{governing}: {years}"));
    }
    for p in &t.programs {
        let years = p
            .years
            .iter()
            .map(|v| format!("{}: {}", v.year, locale::target_range(v.low, v.high, lang)))
            .collect::<Vec<_>>()
            .join("; ");
        out.push(format!("{}: {years}", p.label));
    }
    out
}

/// A one-paragraph text alternative for a chart (for `alt` and screen
/// readers), numbers in `lang`'s style.
pub fn describe(chart: &Chart, lang: Lang) -> String {
    let percent = |s: f64| locale::percent(s, 1, lang);
    match chart {
        Chart::Trend(t) => {
            let points = t
                .months
                .iter()
                .zip(&t.share)
                .zip(t.provisional.iter().chain(std::iter::repeat(&false)))
                .filter_map(|((m, s), p)| s.map(|s| format!("{m}: {}{}", percent(s), if *p { "*" } else { "" })))
                .collect::<Vec<_>>()
                .join("; ");
            // No figure shown (none, or every one withheld): no empty sentence.
            let mut parts: Vec<String> = [t.title.clone(), points]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            if t.share.iter().zip(&t.provisional).any(|(s, p)| s.is_some() && *p) {
                let last = parts.pop().unwrap_or_default();
                parts.push(format!("{last} (*: {})", t.legend.provisional));
            }
            parts.extend(describe_targets(&t.targets, &t.legend.target, lang));
            parts.join(". ")
        }
        Chart::Years(y) => {
            let bars = y
                .years
                .iter()
                .filter_map(|b| {
                    let share = b.share?;
                    Some(format!(
                        "{}: {}{}",
                        b.label,
                        percent(share),
                        if b.provisional { "*" } else { "" }
                    ))
                })
                .collect::<Vec<_>>()
                .join("; ");
            let mut parts: Vec<String> = [y.title.clone(), bars].into_iter().filter(|p| !p.is_empty()).collect();
            if y.years.iter().any(|b| b.share.is_some() && b.provisional) {
                let last = parts.pop().unwrap_or_default();
                parts.push(format!("{last} (*: {})", y.legend.provisional));
            }
            parts.extend(y.legend.partial.iter().cloned());
            parts.extend(describe_targets(&y.targets, &y.legend.target, lang));
            parts.join(". ")
        }
        Chart::Bars(b) => format!(
            "{}. {}",
            b.title,
            values(b.bars.iter().map(|x| (&x.label, x.share)), lang)
        ),
        Chart::Heatmap(h) => {
            let rows = h
                .rows
                .iter()
                .zip(&h.values)
                .map(|(row, values)| {
                    format!(
                        "{row} — {}",
                        self::values(h.columns.iter().zip(values.iter().copied()), lang)
                    )
                })
                .collect::<Vec<_>>()
                .join(". ");
            format!("{}. {rows}", h.title)
        }
        Chart::Map(m) => format!(
            "{}. {}",
            m.title,
            values(m.points.iter().map(|p| (&p.label, p.share)), lang)
        ),
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

    /// A line programme (a single value each year), a band programme (a
    /// range) and one with a single "at least" year, over 2025–2027;
    /// figures for 2025 and 2026 so far (an estimate).
    fn years() -> Years {
        let targets = TargetPaths {
            programs: vec![
                ProgramPath {
                    label: "134/KH-UBND".into(),
                    recency: 2,
                    years: vec![YearTarget {
                        year: 2025,
                        low: 0.10,
                        high: None,
                    }],
                },
                ProgramPath {
                    label: "1568/QĐ-BCT".into(),
                    recency: 1,
                    years: [(2026, 0.12), (2027, 0.14)]
                        .map(|(year, v)| YearTarget {
                            year,
                            low: v,
                            high: Some(v),
                        })
                        .to_vec(),
                },
                ProgramPath {
                    label: "2326/QĐ-TTg".into(),
                    recency: 0,
                    years: [(2026, 0.11, 0.12), (2027, 0.12, 0.14)]
                        .map(|(year, low, high)| YearTarget {
                            year,
                            low,
                            high: Some(high),
                        })
                        .to_vec(),
                },
            ],
            governing: vec![
                Governing {
                    year: 2025,
                    target: 0.10,
                    program: "134/KH-UBND".into(),
                },
                Governing {
                    year: 2026,
                    target: 0.11,
                    program: "2326/QĐ-TTg".into(),
                },
            ],
        };
        let bar = |year: u16, label: &str, share: Option<f64>, partial: bool, provisional: bool| YearBar {
            year,
            label: label.into(),
            share,
            partial,
            provisional,
        };
        Years {
            title: "Theo năm".into(),
            years: vec![
                bar(2025, "2025", Some(0.072), false, false),
                bar(2026, "1–4/2026", Some(0.081), true, true),
                bar(2027, "2027", None, false, false),
            ],
            targets,
            legend: YearsLegend {
                share: "Tỷ trọng TMĐT của năm".into(),
                target: "Mục tiêu áp dụng từng năm".into(),
                provisional: "Cột rỗng: số ước tính hoặc sơ bộ".into(),
                partial: vec!["1–4/2026: chưa đủ năm".into()],
            },
        }
    }

    #[test]
    fn a_range_is_a_band_and_a_single_value_or_at_least_a_line() {
        let y = years();
        let [at_least, line, band] = [0, 1, 2].map(|i| &y.targets.programs[i]);
        assert!(!at_least.is_band() && !line.is_band() && band.is_band());
        assert!(band.years.iter().all(YearTarget::is_range));
        let size = Size::new(800, 450).unwrap();
        let svg = String::from_utf8(render(&Chart::Years(y.clone()), Format::Svg, size, Lang::Vi).unwrap()).unwrap();
        let hex = |c: RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        // The band: translucent rectangles, one a year plus the legend's.
        let band_fill = format!("opacity=\"{BAND_ALPHA}\" fill=\"{}\"", hex(program_colour(0)));
        assert_eq!(svg.matches(&band_fill).count(), 2 + 1, "{svg}");
        // The lines: one a year each, and nothing translucent of theirs.
        for (recency, years) in [(1, 2), (2, 1)] {
            let colour = hex(program_colour(recency));
            let stroke = format!("stroke=\"{colour}\" stroke-width=\"{PATH_WIDTH}\"");
            assert_eq!(svg.matches(&stroke).count(), years + 1, "{colour}");
            assert!(!svg.contains(&format!("opacity=\"{BAND_ALPHA}\" fill=\"{colour}\"")));
        }
        // The legend names every programme, the governing line and the part year.
        for text in [
            "134/KH-UBND",
            "1568/QĐ-BCT",
            "2326/QĐ-TTg",
            "Mục tiêu áp dụng từng năm",
            "1–4/2026: chưa đủ năm",
            "Cột rỗng",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        // Shares above their bars in the reader's style.
        assert!(svg.contains("7,2 %") && svg.contains("8,1 %"));
        let png = render(&Chart::Years(y), Format::Png, Size::new(640, 400).unwrap(), Lang::En).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn the_trends_months_and_years_are_one_calendar() {
        // month_at and january agree for every start month, the naive way:
        // count months from the start one by one.
        for start_month in 1..=12u8 {
            let start = (2024, start_month);
            let (mut year, mut month) = start;
            for i in 0..100 {
                assert_eq!(month_at(start, i), (year, month), "{start:?} + {i}");
                assert_eq!(january(start, year) + i64::from(month) - 1, i as i64);
                (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
            }
        }
        assert_eq!(january((2024, 5), 2024), -4);
    }

    /// 2024-05 to 2030-12 (80 months), the data's 24 months first (the
    /// last three preliminary); the two 2026–2030 paths and the governing
    /// target.
    fn trend_to_2030() -> Trend {
        let y = years();
        let start = (2024, 5);
        let months = (0..80)
            .map(|i| {
                let (y, m) = month_at(start, i);
                format!("{m}/{}", y % 100)
            })
            .collect();
        let path = |label: &str, recency: usize, f: &dyn Fn(u16) -> (f64, Option<f64>)| ProgramPath {
            label: label.into(),
            recency,
            years: (2026..=2030)
                .map(|year| {
                    let (low, high) = f(year);
                    YearTarget { year, low, high }
                })
                .collect(),
        };
        let step = |year: u16| f64::from(year - 2025);
        Trend {
            title: "Hằng tháng".into(),
            months,
            share: (0..24).map(|i| Some(0.06 + 0.001 * f64::from(i))).collect(),
            provisional: (0..24).map(|i| i >= 21).collect(),
            last_year: vec![Some(0.05); 24],
            start,
            targets: TargetPaths {
                programs: vec![
                    path("1568/QĐ-BCT", 1, &|year| {
                        (0.10 + 0.02 * step(year), Some(0.10 + 0.02 * step(year)))
                    }),
                    path("2326/QĐ-TTg", 0, &|year| {
                        (0.10 + 0.01 * step(year), Some(0.10 + 0.02 * step(year)))
                    }),
                ],
                governing: (2026..=2030)
                    .map(|year| Governing {
                        year,
                        target: 0.10 + 0.01 * step(year),
                        program: "2326/QĐ-TTg".into(),
                    })
                    .collect(),
            },
            legend: TrendLegend {
                share: y.legend.share,
                last_year: "Cùng kỳ năm trước".into(),
                target: y.legend.target,
                provisional: "Điểm rỗng: số ước tính hoặc sơ bộ".into(),
            },
        }
    }

    #[test]
    fn the_trend_draws_each_years_path_and_keeps_estimates_hollow() {
        let t = trend_to_2030();
        // Over more than three years the axis is labelled by year, each in
        // the middle of its months on the axis.
        let axis = trend_axis(&t, 80);
        let labels: Vec<&str> = axis.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["2024", "2025", "2026", "2027", "2028", "2029", "2030"]);
        assert_eq!(axis[0].0, 3.5, "May–December 2024: months 0–7");
        assert_eq!(axis[1].0, 13.5, "2025: months 8–19");
        // Up to three years, every few months' own label.
        assert_eq!(trend_axis(&t, 24).len(), 12);
        let svg = String::from_utf8(
            render(
                &Chart::Trend(t.clone()),
                Format::Svg,
                Size::new(800, 450).unwrap(),
                Lang::Vi,
            )
            .unwrap(),
        )
        .unwrap();
        let hex = |c: RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        // The range: a band a year, and the legend's.
        let band = format!("opacity=\"{BAND_ALPHA}\" fill=\"{}\"", hex(program_colour(0)));
        assert_eq!(svg.matches(&band).count(), 5 + 1);
        // The single values: a line a year (joined to the year before), and the legend's.
        let line = format!("stroke=\"{}\" stroke-width=\"{PATH_WIDTH}\"", hex(program_colour(1)));
        assert_eq!(svg.matches(&line).count(), 5 + 1);
        // Hollow points: the three preliminary months and the legend's.
        let hollow = format!("r=\"4\" opacity=\"1\" fill=\"none\" stroke=\"{}\"", hex(NEUTRAL));
        assert_eq!(svg.matches(&hollow).count(), 3 + 1, "{svg}");
        for text in [
            "1568/QĐ-BCT",
            "2326/QĐ-TTg",
            "Mục tiêu áp dụng từng năm",
            "Điểm rỗng",
            "2030",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        // Once final, no hollow point and no legend line for them.
        let final_only = Trend {
            provisional: vec![false; 24],
            ..t
        };
        let svg = String::from_utf8(
            render(
                &Chart::Trend(final_only),
                Format::Svg,
                Size::new(800, 450).unwrap(),
                Lang::Vi,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(svg.matches(&hollow).count(), 0);
        assert!(!svg.contains("Điểm rỗng"));
    }

    #[test]
    fn the_yearly_text_alternative_reads_each_year_and_every_target() {
        assert_eq!(
            describe(&Chart::Years(years()), Lang::Vi),
            "Theo năm. 2025: 7,2 %; 1–4/2026: 8,1 %* (*: Cột rỗng: số ước tính hoặc sơ bộ). \
             1–4/2026: chưa đủ năm. \
             Mục tiêu áp dụng từng năm: 2025: 10,0 % (134/KH-UBND); 2026: 11,0 % (2326/QĐ-TTg). \
             134/KH-UBND: 2025: từ 10,0 % trở lên. \
             1568/QĐ-BCT: 2026: 12,0 %; 2027: 14,0 %. \
             2326/QĐ-TTg: 2026: 11,0 %–12,0 %; 2027: 12,0 %–14,0 %"
        );
    }

    #[test]
    fn a_text_alternative_without_figures_has_no_empty_sentence() {
        let mut y = years();
        for b in &mut y.years {
            b.share = None;
        }
        let d = describe(&Chart::Years(y), Lang::Vi);
        assert!(d.starts_with("Theo năm. 1–4/2026: chưa đủ năm. Mục tiêu"), "{d}");
        assert!(!d.contains(". ."), "{d}");
        let t = Trend {
            share: vec![None; 24],
            ..trend_to_2030()
        };
        let d = describe(&Chart::Trend(t), Lang::Vi);
        assert!(
            d.starts_with("Hằng tháng. Mục tiêu áp dụng từng năm: 2026: 11,0 %"),
            "{d}"
        );
    }

    #[test]
    fn text_alternative_lists_the_values() {
        let d = describe(&bars(), Lang::En);
        assert!(d.contains("Thanh Hóa: 12.0%"));
        assert!(d.contains("Đông Sơn: –"));
        assert!(describe(&bars(), Lang::Vi).contains("Thanh Hóa: 12,0 %"));
        let heat = Chart::Heatmap(Heatmap {
            title: "H".into(),
            rows: vec!["Thanh Hóa".into(), "Mường Lát".into()],
            columns: vec!["FOOD".into(), "TRAVEL".into()],
            values: vec![vec![Some(0.05), None], vec![Some(0.01), Some(0.2)]],
        });
        assert_eq!(
            describe(&heat, Lang::En),
            "H. Thanh Hóa — FOOD: 5.0%; TRAVEL: –. Mường Lát — FOOD: 1.0%; TRAVEL: 20.0%"
        );
    }
}
