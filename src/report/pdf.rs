//! The monthly report as an A4 PDF (krilla): the bundled DejaVu Sans
//! embedded, so Vietnamese reads correctly anywhere; the charts drawn as
//! vectors from the same SVG as the HTML report.
//!
//! Takes a finished `Report` (plain data) and lays it out: a first pass
//! places text, rules and charts on pages, a second draws them. Computes no
//! figure; knows nothing of the app, the engine or HTTP.

use super::model::Report;
use super::shown::{Shown, shown};
use crate::present::locale::Lang;
use crate::present::table::{Align, Table};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Size, Transform};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt, SvgSettings};
use std::sync::Arc;

const FONT: &[u8] = include_bytes!("../present/charts/fonts/DejaVuSans.ttf");
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 42.0;
const BODY: f32 = 8.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the bundled font cannot be read")]
    Font,
    #[error("chart {0}: {1}")]
    Svg(usize, String),
    #[error("writing the PDF: {0}")]
    Write(String),
}

enum Item {
    Text { x: f32, y: f32, size: f32, text: String },
    Rule { y: f32 },
    Chart { y: f32, height: f32, index: usize },
}

/// Places items top to bottom, starting a new page when one is full.
struct Layout {
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Vec::new()],
            y: MARGIN,
        }
    }

    fn room(&mut self, height: f32) {
        if self.y + height > HEIGHT - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn push(&mut self, item: Item) {
        self.pages.last_mut().expect("a page").push(item);
    }

    /// A line of text cells at x offsets (from the margin), `size` points.
    fn line(&mut self, cells: &[(f32, String)], size: f32) {
        let height = size * 1.45;
        self.room(height);
        self.y += height;
        for (x, text) in cells {
            self.push(Item::Text {
                x: MARGIN + x,
                y: self.y,
                size,
                text: text.clone(),
            });
        }
    }

    /// A paragraph wrapped at about `chars` characters a line.
    fn paragraph(&mut self, text: &str, size: f32, chars: usize) {
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > chars {
                self.line(&[(0.0, std::mem::take(&mut line))], size);
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.line(&[(0.0, line)], size);
        }
    }

    fn heading(&mut self, text: &str) {
        self.room(40.0);
        self.y += 8.0;
        self.line(&[(0.0, text.to_string())], 11.0);
        self.rule();
    }

    fn rule(&mut self) {
        self.y += 3.0;
        let y = self.y;
        self.push(Item::Rule { y });
    }

    /// A table under its title, columns `widths` wide (see `headed_table`).
    fn table(&mut self, widths: &[f32], table: &Table, lang: Lang) {
        self.headed_table(table.title, widths, table, lang);
    }

    /// A table under `heading`, columns `widths` wide: column heads
    /// wrapped to their column, cells placed by their column's alignment.
    fn headed_table(&mut self, heading: &str, widths: &[f32], table: &Table, lang: Lang) {
        const GAP: f32 = 4.0;
        let mut lefts = Vec::with_capacity(widths.len());
        let mut x = 0.0;
        for width in widths {
            lefts.push(x);
            x += width;
        }
        let place = |col: usize, text: &str| match table.columns[col].format.align {
            Align::Left => lefts[col],
            Align::Right => lefts[col] + widths[col] - GAP - text_width(text, BODY),
        };
        let heads: Vec<Vec<String>> = table
            .headers()
            .zip(widths)
            .map(|(h, width)| wrap(h, width - GAP, BODY))
            .collect();
        let head_lines = heads.iter().map(Vec::len).max().unwrap_or(1);
        // The heading, the column heads and two rows stay together.
        self.room(40.0 + (head_lines + 2) as f32 * BODY * 1.45);
        self.heading(heading);
        for line in 0..head_lines {
            let cells: Vec<(f32, String)> = heads
                .iter()
                .enumerate()
                .filter_map(|(col, h)| h.get(line).map(|t| (place(col, t), t.clone())))
                .collect();
            self.line(&cells, BODY);
        }
        self.rule();
        for row in table.shown_rows(lang) {
            let cells: Vec<(f32, String)> = row
                .iter()
                .enumerate()
                .take(widths.len())
                .map(|(col, t)| (place(col, t), t.clone()))
                .collect();
            self.line(&cells, BODY);
        }
        self.y += 6.0;
    }

    /// A list of labelled lines under its heading, values right-aligned.
    fn labelled(&mut self, table: &Table, lang: Lang, size: f32) {
        self.heading(table.title);
        for row in table.shown_rows(lang) {
            let value = row.get(1).cloned().unwrap_or_default();
            let right = 380.0 - text_width(&value, size);
            let cells = vec![(0.0, row.first().cloned().unwrap_or_default()), (right, value)];
            self.line(&cells, size);
        }
    }

    /// A list of labelled lines under `heading`, for values that are
    /// sentences: labels in a column `label_width` wide, values left-aligned
    /// after it, each wrapped to its column; the heading and the first
    /// lines stay together.
    fn pairs(&mut self, heading: &str, table: &Table, lang: Lang, label_width: f32) {
        const GAP: f32 = 8.0;
        let value_width = WIDTH - 2.0 * MARGIN - label_width - GAP;
        self.room(40.0 + 3.0 * BODY * 1.45);
        self.heading(heading);
        for row in table.shown_rows(lang) {
            let label = wrap(row.first().map_or("", String::as_str), label_width, BODY);
            let value = wrap(row.get(1).map_or("", String::as_str), value_width, BODY);
            for i in 0..label.len().max(value.len()) {
                let mut cells = Vec::with_capacity(2);
                if let Some(t) = label.get(i) {
                    cells.push((0.0, t.clone()));
                }
                if let Some(t) = value.get(i) {
                    cells.push((label_width + GAP, t.clone()));
                }
                self.line(&cells, BODY);
            }
            self.y += 1.5;
        }
        self.y += 4.0;
    }

    /// The charts, one under the other, as wide as the text.
    fn charts(&mut self, count: usize) {
        let chart_width = WIDTH - 2.0 * MARGIN;
        for index in 0..count {
            let height = chart_width * 420.0 / 900.0;
            self.room(height + 10.0);
            self.y += 8.0;
            let y = self.y;
            self.push(Item::Chart { y, height, index });
            self.y += height;
        }
    }

    /// Paragraphs of running text.
    fn paragraphs<'a>(&mut self, texts: impl IntoIterator<Item = &'a str>) {
        for text in texts {
            self.paragraph(text, BODY, 120);
            self.y += 3.0;
        }
    }
}

fn face() -> &'static ttf_parser::Face<'static> {
    static FACE: std::sync::OnceLock<ttf_parser::Face<'static>> = std::sync::OnceLock::new();
    FACE.get_or_init(|| ttf_parser::Face::parse(FONT, 0).expect("the bundled font parses"))
}

/// The width of `text` in points at `size`, from the font's advances.
fn text_width(text: &str, size: f32) -> f32 {
    let face = face();
    let units: u32 = text
        .chars()
        .map(|c| {
            face.glyph_index(c)
                .and_then(|g| face.glyph_hor_advance(g))
                .map_or(0, u32::from)
        })
        .sum();
    units as f32 * size / f32::from(face.units_per_em())
}

/// `text` broken at spaces into lines no wider than `width`.
fn wrap(text: &str, width: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The report as A4 PDF bytes; the same report gives the same bytes.
pub fn render(report: &Report) -> Result<Vec<u8>, PdfError> {
    let shown = shown(report);
    let lang = shown.lang;
    let mut l = Layout::new();
    title(&mut l, report, &shown);
    l.labelled(&shown.headline, lang, 9.0);
    l.paragraphs([shown.release_note.as_str()]);
    l.charts(report.charts.len());
    l.pairs(&shown.outlook_heading, &shown.outlook, lang, 190.0);
    if let Some(paths) = &shown.paths {
        // The year, then the programmes in equal columns.
        let programs = paths.table.columns.len().saturating_sub(1).max(1);
        let each = ((WIDTH - 2.0 * MARGIN - 50.0) / programs as f32).min(110.0);
        let widths: Vec<f32> = std::iter::once(50.0)
            .chain(std::iter::repeat_n(each, programs))
            .collect();
        l.headed_table(&paths.heading, &widths, &paths.table, lang);
        l.paragraphs([paths.note]);
    }
    l.table(
        &[22.0, 70.0, 68.0, 64.0, 44.0, 70.0, 34.0, 68.0, 70.0],
        &shown.districts,
        lang,
    );
    l.paragraphs(shown.series_break_note);
    l.table(&[114.0, 184.0, 78.0, 78.0, 56.0], &shown.sectors, lang);
    l.labelled(&shown.quality, lang, BODY);
    l.heading(shown.methodology_heading);
    l.paragraphs(report.methodology.iter().map(String::as_str));
    if let Some(communes) = &shown.communes {
        l.table(&[30.0, 110.0, 80.0, 70.0, 66.0, 44.0, 70.0, 40.0], communes, lang);
    }
    draw(report, l.pages)
}

/// The title, the month and the dataset version with the content hash.
fn title(l: &mut Layout, report: &Report, shown: &Shown) {
    l.paragraph(shown.title, 13.0, 70);
    l.line(&[(0.0, report.month.clone())], 12.0);
    l.line(
        &[(
            0.0,
            format!(
                "{} {} · {} · SHA-256 {}",
                shown.version_label, report.dataset_version, report.dataset_committed_at, report.content_sha256
            ),
        )],
        6.5,
    );
}

/// The report's charts parsed for drawing, their text in the bundled font.
fn chart_trees(report: &Report) -> Result<Vec<usvg::Tree>, PdfError> {
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(FONT.to_vec());
    // The charts' SVG asks for the generic sans-serif family.
    fonts.set_sans_serif_family("DejaVu Sans");
    let options = usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: Arc::new(fonts),
        ..usvg::Options::default()
    };
    report
        .charts
        .iter()
        .enumerate()
        .map(|(i, (_, svg))| usvg::Tree::from_str(svg, &options).map_err(|e| PdfError::Svg(i, e.to_string())))
        .collect()
}

/// Draws the laid-out pages.
fn draw(report: &Report, pages: Vec<Vec<Item>>) -> Result<Vec<u8>, PdfError> {
    let font = Font::new(Arc::new(FONT.to_vec()).into(), 0).ok_or(PdfError::Font)?;
    let trees = chart_trees(report)?;
    let mut document = Document::new();
    let settings = || PageSettings::from_wh(WIDTH, HEIGHT).expect("A4 is a valid page size");
    for items in pages {
        let mut page = document.start_page_with(settings());
        let mut surface = page.surface();
        for item in items {
            match item {
                Item::Text { x, y, size, text } => {
                    surface.draw_text(
                        Point::from_xy(x, y),
                        font.clone(),
                        size,
                        &text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Item::Rule { y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(MARGIN, y);
                    pb.line_to(WIDTH - MARGIN, y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.4,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.set_fill(Some(Default::default()));
                    }
                }
                Item::Chart { y, height, index } => {
                    surface.push_transform(&Transform::from_translate(MARGIN, y));
                    let size = Size::from_wh(WIDTH - 2.0 * MARGIN, height).expect("a chart has a size");
                    surface.draw_svg(&trees[index], size, SvgSettings::default());
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}
