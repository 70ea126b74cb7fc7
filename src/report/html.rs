//! The report as one self-contained, printable HTML page. Reads a finished
//! report and its shown sections only.

use super::model::Report;
use super::shown::{Shown, shown};
use crate::present::labels;
use crate::present::table::{Align, Table};

/// The report as one self-contained, printable HTML page: the same figures
/// as the JSON and the workbook, the two charts inline as SVG, numbers in
/// the reader's format.
pub fn to_html(report: &Report) -> String {
    let shown = shown(report);
    let mut o = head(report);
    o.push_str(&format!(
        "<h1>{} — {}</h1><p class=\"meta\">{} {} · {} · SHA-256 {}</p>",
        shown.title,
        esc(&report.month),
        shown.version_label,
        report.dataset_version,
        esc(&report.dataset_committed_at),
        esc(&report.content_sha256)
    ));
    body(&mut o, report, &shown);
    o.push_str("</body></html>\n");
    o
}

/// The document up to `<body>`: language, title and the print style.
fn head(report: &Report) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title><style>\
         body{{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#111}}\
         table{{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem}}th,td{{border:1px solid #bbb;padding:.2rem .4rem;text-align:right}}\
         th:nth-child(-n+2),td:first-child,td.t{{text-align:left}}th.t{{text-align:left}}th.n,td.n{{text-align:right}}h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.6rem}}\
         figure{{margin:0}}svg{{max-width:100%;height:auto}}.meta{{color:#444;font-size:.85rem}}\
         @page{{size:A4;margin:15mm}}@media print{{h2{{break-after:avoid}}table,figure{{break-inside:avoid}}}}\
         </style></head><body>",
        report.language,
        labels::of(report.lang()).report.html_title,
        esc(&report.month)
    )
}

/// The sections in reading order: the headline and the months not final,
/// the charts, the year's outlook and the targets' paths, then the rest.
fn body(o: &mut String, report: &Report, shown: &Shown) {
    section(o, &shown.headline, shown);
    o.push_str(&format!("<p class=\"meta\">{}</p>", esc(&shown.release_note)));
    for (alt, svg) in &report.charts {
        o.push_str(&format!(
            "<figure role=\"img\" aria-label=\"{}\">{}</figure>",
            esc(alt),
            svg
        ));
    }
    section_headed(o, &shown.outlook_heading, &shown.outlook, shown);
    if let Some(paths) = &shown.paths {
        section_headed(o, &paths.heading, &paths.table, shown);
        o.push_str(&format!("<p class=\"meta\">{}</p>", esc(paths.note)));
    }
    section(o, &shown.districts, shown);
    if let Some(note) = shown.series_break_note {
        o.push_str(&format!("<p class=\"meta\">{}</p>", esc(note)));
    }
    section(o, &shown.sectors, shown);
    section(o, &shown.quality, shown);
    o.push_str(&format!("<h2>{}</h2>", shown.methodology_heading));
    for m in &report.methodology {
        o.push_str(&format!("<p>{}</p>", esc(m)));
    }
    if let Some(communes) = &shown.communes {
        section(o, communes, shown);
    }
}

/// A table under its heading. A labelled list has no header row and its
/// labels are heading cells; a table's columns are aligned by their format
/// (codes and names left, figures right).
fn section(o: &mut String, table: &Table, shown: &Shown) {
    section_headed(o, table.title, table, shown);
}

/// A table under `heading`.
fn section_headed(o: &mut String, heading: &str, table: &Table, shown: &Shown) {
    o.push_str(&format!("<h2>{}</h2><table>", esc(heading)));
    let headed = table.has_header();
    let class = |i: usize| match table.columns.get(i).map(|c| c.format.align) {
        _ if !headed => " class=\"t\"",
        Some(Align::Left) => " class=\"t\"",
        _ => " class=\"n\"",
    };
    if headed {
        o.push_str("<tr>");
        for (i, h) in table.headers().enumerate() {
            o.push_str(&format!("<th{}>{}</th>", class(i), esc(h)));
        }
        o.push_str("</tr>");
    }
    for row in table.shown_rows(shown.lang) {
        o.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            if !headed && i == 0 {
                o.push_str(&format!("<th>{}</th>", esc(c)));
            } else {
                o.push_str(&format!("<td{}>{}</td>", class(i), esc(c)));
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
