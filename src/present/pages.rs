//! The steering committee's dashboard as HTML, rendered on the server.
//!
//! Pure rendering of figures the share and outlook APIs already gave
//! (`dashboard::Overview`, the outlook tiles from `dashboard_outlook`):
//! headline tiles, charts (as `<img>` of `/charts/…` with text alternatives)
//! and the data tables behind them, filters as a plain GET form so that every
//! view is a link and the page works with JavaScript off. Self-contained: no
//! script, no external font or style sheet. Computes no figure and knows
//! nothing of HTTP or engines.

use crate::domain::Status;
use crate::present::dashboard::{Overview, grid, trend_month, year_label};
use crate::present::dashboard_outlook;
use crate::present::labels::{self, Page};
use crate::present::locale::{self, Lang};
use crate::present::page_tables::{self, Kind};
use crate::present::shell::{self, Frame};
use crate::present::table::Cell;
use crate::service::figures::ShareParams;
use std::fmt::Write;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn texts(lang: Lang) -> &'static Page {
    &labels::of(lang).page
}

fn status_text(s: Status, lang: Lang) -> &'static str {
    locale::status_label(s, lang)
}

/// Money from an exact VND string: billions for the eye, the exact đồng on hover.
fn money(vnd: &str, lang: Lang) -> String {
    if vnd.is_empty() {
        return suppressed_mark(lang);
    }
    let value: f64 = vnd.parse().unwrap_or(0.0);
    let exact = vnd.split('.').next().unwrap_or(vnd);
    let exact = exact
        .parse::<i128>()
        .map(|n| locale::integer(n, lang))
        .unwrap_or_else(|_| vnd.to_string());
    format!(
        "<span title=\"{} VND\">{}</span>",
        esc(&exact),
        esc(&locale::decimal(value / 1e9, 1, lang))
    )
}

/// A withheld figure, explained on hover.
fn suppressed_mark(lang: Lang) -> String {
    let why = locale::status_label(crate::domain::Status::Suppressed, lang);
    format!("<span title=\"{}\">{}</span>", esc(why), locale::SUPPRESSED)
}

fn percent(share: Option<f64>, lang: Lang) -> String {
    share.map_or_else(|| "–".into(), |s| locale::percent(s, 1, lang))
}

/// The query string of the current filters, to carry into links and images.
pub fn filter_query(params: &ShareParams, lang: Lang) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for (k, v) in [
        ("from", &params.from),
        ("to", &params.to),
        ("district", &params.district),
        ("sector", &params.sector),
        ("vsic", &params.vsic),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            pairs.push((k, v));
        }
    }
    if lang == Lang::En {
        pairs.push(("lang", "en"));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

fn lang_only(lang: Lang) -> String {
    if lang == Lang::En {
        "lang=en".into()
    } else {
        String::new()
    }
}

fn tile(out: &mut String, label: &str, value: &str, note: &str, class: &str) {
    let _ = write!(
        out,
        "<div class=\"tile {class}\"><div class=\"label\">{}</div><div class=\"value\">{value}</div><div class=\"note\">{note}</div></div>",
        esc(label)
    );
}

/// A non-final figure's mark ("ước tính", "sơ bộ"); none for a final one.
fn release_mark(r: crate::domain::Release, lang: Lang) -> String {
    if r == crate::domain::Release::Final {
        return String::new();
    }
    format!(
        "<span class=\"mark {}\">{}</span>",
        r.code(),
        esc(locale::release_label(r, lang))
    )
}

/// A row's response rate as a tile's note line (none without one).
fn response_note(r: &crate::service::figures::ShareRow, lang: Lang) -> String {
    r.response_rate().map_or_else(String::new, |rate| {
        format!(
            " · {}",
            esc(&labels::fill(
                labels::of(lang).release.response_line,
                &[("rate", &locale::percent(rate, 1, lang))]
            ))
        )
    })
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Met => "met",
        Status::Below => "below",
        _ => "none",
    }
}

/// What a page is about: the province, one district or one sector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus<'a> {
    Province,
    District(&'a str),
    Sector(&'a str),
}

/// The overview page, for the province or focused on one district or
/// sector, in the shared frame (whose language it is written in).
pub fn page(o: &Overview, params: &ShareParams, frame: &Frame<'_>, focus: Focus<'_>) -> String {
    let lang = frame.lang;
    let t = texts(lang);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(out, "<h1>{}</h1><p class=\"sub\">{}</p>", esc(t.title), esc(t.subtitle));
    focus_heading(&mut out, o, lang, t, focus);
    filters(&mut out, o, params, lang, t);
    tiles(&mut out, o, lang, t);
    outlook_tiles(&mut out, o, lang);
    charts(&mut out, o, &filter_query(params, lang), lang, t);
    tables(&mut out, o, params, lang, t);
    let _ = write!(
        out,
        "<footer>{} {} · <a href=\"/api/v1/share?{}\">JSON</a> · <a href=\"/api/v1/openapi.json\">OpenAPI</a></footer>",
        esc(t.dataset),
        o.districts.dataset_version,
        esc(&filter_query(params, Lang::Vi))
    );
    shell::page(frame, &out, "")
}

/// The heading of a page focused on one district or sector, with the way back.
fn focus_heading(out: &mut String, o: &Overview, lang: Lang, t: &Page, focus: Focus<'_>) {
    let heading = match focus {
        Focus::Province => None,
        Focus::District(code) => o.reference.district(code).map(|d| {
            let name = labels::fill(
                t.district_heading,
                &[
                    ("type", &d.district_type),
                    ("name", lang.name(&d.district_name, &d.name_en)),
                ],
            );
            match o.rank {
                Some((r, n)) => labels::fill(
                    t.ranked_heading,
                    &[("name", &name), ("rank", &r.to_string()), ("of", &n.to_string())],
                ),
                None => name,
            }
        }),
        Focus::Sector(code) => o
            .reference
            .sector(code)
            .map(|s| labels::fill(t.sector_heading, &[("name", lang.name(&s.group_name, &s.name_en))])),
    };
    if let Some(h) = heading {
        let _ = write!(
            out,
            "<h2>{}</h2><p><a href=\"/?{}\">← {}</a></p>",
            esc(&h),
            esc(&lang_only(lang)),
            esc(t.province_total)
        );
    }
}

/// The headline tiles: latest month, year to date, target, gap, still needed, change.
fn tiles(out: &mut String, o: &Overview, lang: Lang, t: &Page) {
    let ytd = &o.year_to_date.total;
    out.push_str("<section class=\"tiles\">");
    tile(
        out,
        &format!("{} ({})", t.latest_month, locale::month(&o.latest_month.to, lang)),
        &format!(
            "{}{}",
            percent(o.latest_month.total.share, lang),
            release_mark(o.latest_month.total.release, lang)
        ),
        &format!(
            "{}: {}{}",
            t.ecommerce,
            money(&o.latest_month.total.ecommerce_revenue_vnd, lang),
            response_note(&o.latest_month.total, lang)
        ),
        status_class(o.latest_month.total.status),
    );
    tile(
        out,
        &format!(
            "{} ({} – {})",
            t.ytd,
            locale::month(&o.year_to_date.from, lang),
            locale::month(&o.year_to_date.to, lang)
        ),
        &format!("{}{}", percent(ytd.share, lang), release_mark(ytd.release, lang)),
        &format!("{}: {}", t.total_retail, money(&ytd.total_revenue_vnd, lang)),
        status_class(ytd.status),
    );
    // The governing target, with the programme it is of.
    let under = ytd.target_program.as_deref().map(|p| {
        labels::fill(
            labels::of(lang).targets.under,
            &[("program", &locale::program(p, lang))],
        )
    });
    tile(
        out,
        t.target,
        &percent(ytd.target, lang),
        &esc(&match under {
            Some(u) => format!("{} · {u}", status_text(ytd.status, lang)),
            None => status_text(ytd.status, lang).to_string(),
        }),
        status_class(ytd.status),
    );
    tile(
        out,
        t.gap,
        &ytd.gap_pp
            .map_or_else(|| "–".into(), |g| esc(&locale::points(g, 1, lang))),
        &esc(status_text(ytd.status, lang)),
        status_class(ytd.status),
    );
    tile(
        out,
        t.needed,
        &ytd.ecommerce_needed_vnd
            .as_deref()
            .map_or_else(|| "–".into(), |v| money(v, lang)),
        &esc(t.needed_unit),
        "none",
    );
    tile(
        out,
        t.change,
        &o.change_pp
            .map_or_else(|| "–".into(), |c| esc(&locale::points(c, 1, lang))),
        &format!(
            "{} {}",
            esc(t.share),
            percent(o.same_period_last_year.total.share, lang)
        ),
        "none",
    );
    out.push_str("</section>");
}

/// The year's outlook under its heading (`dashboard_outlook`), or why there
/// is none for these filters.
fn outlook_tiles(out: &mut String, o: &Overview, lang: Lang) {
    let Some(d) = &o.outlook else {
        let why = labels::of(lang).outlook_tiles.not_for_filter;
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(why));
        return;
    };
    let _ = write!(
        out,
        "<h2 id=\"outlook\">{}</h2><section class=\"tiles outlook\" aria-labelledby=\"outlook\">",
        esc(&dashboard_outlook::heading(d, lang))
    );
    for t in dashboard_outlook::tiles(d, lang) {
        let value = format!(
            "{}{}",
            esc(&t.value),
            t.release.map(|r| release_mark(r, lang)).unwrap_or_default()
        );
        let class = format!("{} {}", t.standing, t.kind.name());
        tile(out, &t.label, &value, &esc(&t.note), &class);
    }
    out.push_str("</section>");
}

/// The charts, each with its text alternative; the tables below hold their data.
fn charts(out: &mut String, o: &Overview, q: &str, lang: Lang, t: &Page) {
    out.push_str("<section class=\"charts\">");
    for (name, alt) in [
        (
            "trend",
            format!("{} – {}", t.share, locale::month(&o.districts.to, lang)),
        ),
        ("years", o.years.title.clone()),
        ("districts", t.districts_table.to_string()),
        ("map", t.districts_table.to_string()),
        ("heatmap", format!("{} × {}", t.district, t.sector)),
        ("sectors", t.sectors_table.to_string()),
    ] {
        let _ = write!(
            out,
            "<figure><img src=\"/charts/{name}.svg?{q}\" alt=\"{}\" width=\"960\" height=\"540\" loading=\"lazy\"><figcaption><a href=\"/charts/{name}.txt?{q}\">{}</a></figcaption></figure>",
            esc(&alt),
            esc(t.describe),
            q = esc(q),
        );
    }
    out.push_str("</section>");
}

/// The tables behind the charts: trend, years, heat map, districts,
/// sectors, communes; each with its downloads.
fn tables(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang, t: &Page) {
    trend_table(out, o, params, lang, t);
    years_table(out, o, params, lang, t);
    heat_table(out, o, params, lang);
    table(out, o, params, Kind::Districts, lang, |code| {
        Some(format!("/districts/{code}"))
    });
    if o.districts.series_break.is_some() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.series_break));
    }
    table(out, o, params, Kind::Sectors, lang, |code| {
        Some(format!("/sectors/{code}"))
    });
    table(out, o, params, Kind::Communes, lang, |_| None);
}

/// A table's caption with its download links (Excel and CSV of the same
/// rows, pinned to the dataset version the table was computed from) on a
/// line of their own under it.
fn caption(out: &mut String, o: &Overview, params: &ShareParams, kind: Kind, lang: Lang) {
    let t = texts(lang);
    let caption = page_tables::caption(o, kind, lang).unwrap_or_default();
    let version = page_tables::answer(o, kind).map_or(o.districts.dataset_version, |r| r.dataset_version);
    let mut query = filter_query(params, Lang::Vi);
    if !query.is_empty() {
        query.push('&');
    }
    let _ = write!(query, "as_of={version}&lang={}", lang.code());
    let link = |ext: &str, text: &str| {
        format!(
            "<a href=\"/tables/{}.{ext}?{}\" aria-label=\"{}\" download>{}</a>",
            kind.name(),
            esc(&query),
            esc(&labels::fill(t.download_named, &[("link", text), ("table", &caption)])),
            esc(text)
        )
    };
    let note = page_tables::answer(o, kind).map(|r| page_tables::target_note(r, lang));
    let _ = write!(
        out,
        "<caption>{}<span class=\"downloads\" style=\"display:block;font-weight:normal;font-size:.85rem\">{}{} · {}</span></caption>",
        esc(&caption),
        note.map(|n| format!("{} · ", esc(&n))).unwrap_or_default(),
        link("xlsx", t.download_excel),
        link("csv", t.download_csv)
    );
}

/// A cell of a table as the page shows it: money in billions (the exact
/// đồng on hover), shares and points to one decimal, a withheld figure
/// marked, a missing one a dash.
fn cell_html(cell: &Cell, lang: Lang) -> String {
    match cell {
        Cell::Money(vnd) => money(vnd, lang),
        Cell::Withheld => suppressed_mark(lang),
        Cell::Share(x) => esc(&percent(Some(*x), lang)),
        Cell::Points(x) => esc(&locale::points(*x, 1, lang)),
        Cell::Integer(n) => esc(&locale::integer(i128::from(*n), lang)),
        Cell::Text(s) | Cell::Coded { text: s, .. } => esc(s),
        Cell::Empty => "–".into(),
    }
}

/// The monthly figures behind the trend chart.
fn trend_table(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang, t: &Page) {
    let tr = &o.trend;
    out.push_str("<section class=\"table\"><table>");
    caption(out, o, params, Kind::Trend, lang);
    let _ = write!(
        out,
        "<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(t.month),
        esc(&tr.legend.share),
        esc(&tr.legend.last_year),
        esc(labels::of(lang).release.column)
    );
    for ((month, share, last), (_, now, _)) in page_tables::trend_rows(o).into_iter().zip(o.trend_series.rows()) {
        let release = now.map_or_else(|| "–".into(), |r| esc(locale::release_label(r.release, lang)));
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{release}</td></tr>",
            esc(&trend_month(month)),
            cell_html(&share, lang),
            cell_html(&last, lang)
        );
    }
    out.push_str("</tbody></table></section>");
}

/// The yearly figures behind the yearly chart: each year's share and how
/// final it is, the governing target, and every programme's target.
fn years_table(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang, t: &Page) {
    let l = labels::of(lang);
    let programs = page_tables::year_programs(o);
    out.push_str("<section class=\"table\"><table>");
    caption(out, o, params, Kind::Years, lang);
    let _ = write!(
        out,
        "<thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>",
        esc(t.year),
        esc(&o.years.legend.share),
        esc(l.release.column),
        esc(&o.years.legend.target),
        esc(l.targets.column)
    );
    for p in &programs {
        let _ = write!(out, "<th>{}</th>", esc(&locale::program(p, lang)));
    }
    out.push_str("</tr></thead><tbody>");
    for y in &o.year_series.years {
        let total = &y.answer.total;
        let release = y
            .row()
            .map_or_else(|| "–".into(), |r| esc(locale::release_label(r.release, lang)));
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{release}</td><td class=\"n\">{}</td><td>{}</td>",
            esc(&year_label(y, lang)),
            cell_html(&page_tables::year_share(y), lang),
            esc(&percent(total.target, lang)),
            esc(&total
                .target_program
                .as_deref()
                .map_or_else(|| "–".into(), |p| locale::program(p, lang)))
        );
        for p in &programs {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                cell_html(&page_tables::year_target(y, p, lang), lang)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>");
}

/// The district × sector shares behind the heat map; columns numbered as in the chart.
fn heat_table(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang) {
    let h = &o.heatmap;
    out.push_str("<section class=\"table\"><table class=\"heat\">");
    caption(out, o, params, Kind::DistrictSector, lang);
    out.push_str("<thead><tr><th></th>");
    for (i, c) in h.columns.iter().enumerate() {
        let _ = write!(out, "<th><abbr title=\"{}\">{}</abbr></th>", esc(c), i + 1);
    }
    out.push_str("</tr></thead><tbody>");
    for (row, cells) in h.rows.iter().zip(&grid(&o.district_sector).cells) {
        let _ = write!(out, "<tr><th>{}</th>", esc(row));
        for c in cells {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                cell_html(&page_tables::heat_cell(*c), lang)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>");
}

/// A labelled `<select>` with an "all" option first.
fn select<'a>(
    out: &mut String,
    name: &str,
    label: &str,
    all: &str,
    options: impl Iterator<Item = (&'a str, &'a str)>,
    selected: Option<&str>,
) {
    let _ = write!(
        out,
        "<label>{} <select name=\"{name}\"><option value=\"\">{}</option>",
        esc(label),
        esc(all)
    );
    for (code, text) in options {
        let mark = if selected == Some(code) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{mark}>{}</option>", esc(code), esc(text));
    }
    out.push_str("</select></label>");
}

fn filters(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang, t: &Page) {
    let _ = write!(
        out,
        "<form class=\"filters\" method=\"get\" action=\"/\"><fieldset><legend>{}</legend>",
        esc(t.filters)
    );
    let _ = write!(
        out,
        "<label>{} <input type=\"month\" name=\"from\" value=\"{}\"></label><label>{} <input type=\"month\" name=\"to\" value=\"{}\"></label>",
        esc(t.from),
        esc(&o.districts.from),
        esc(t.to),
        esc(&o.districts.to)
    );
    select(
        out,
        "district",
        t.district,
        t.all,
        o.reference
            .districts
            .iter()
            .map(|d| (d.district_code.as_str(), lang.name(&d.district_name, &d.name_en))),
        params.district.as_deref(),
    );
    select(
        out,
        "sector",
        t.sector,
        t.all,
        o.reference
            .sectors
            .iter()
            .map(|s| (s.group_code.as_str(), lang.name(&s.group_name, &s.name_en))),
        params.sector.as_deref(),
    );
    if lang == Lang::En {
        out.push_str("<input type=\"hidden\" name=\"lang\" value=\"en\">");
    }
    let _ = write!(
        out,
        "<button type=\"submit\">{}</button></fieldset></form>",
        esc(t.apply)
    );
}

/// A table of share figures (districts, sectors, communes), ranked by
/// share when the page ranks it, with a last row for the total; nothing
/// when the page has no such table.
fn table(
    out: &mut String,
    o: &Overview,
    params: &ShareParams,
    kind: Kind,
    lang: Lang,
    link: impl Fn(&str) -> Option<String>,
) {
    let t = texts(lang);
    let Some(resp) = page_tables::answer(o, kind) else {
        return;
    };
    let (code_field, name_field, heading) = match kind {
        Kind::Districts => ("district_code", "district_name", t.district),
        Kind::Communes => ("commune_code", "commune_name", t.commune),
        _ => ("sector_code", "sector_name", t.sector),
    };
    let ranked = page_tables::ranked(kind);
    out.push_str("<section class=\"table\"><table>");
    caption(out, o, params, kind, lang);
    let _ = write!(
        out,
        "<thead><tr>{}<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        if ranked {
            format!("<th>{}</th>", esc(t.rank))
        } else {
            String::new()
        },
        esc(heading),
        esc(t.total_retail),
        esc(t.ecommerce),
        esc(t.share),
        esc(t.target),
        esc(t.gap),
        esc(t.filings),
        esc(t.status),
    );
    for l in page_tables::listed(resp, ranked) {
        let r = l.row;
        let code = page_tables::key(r, code_field);
        let name = Some(page_tables::key(r, name_field))
            .filter(|n| !n.is_empty())
            .unwrap_or(code);
        let _ = write!(out, "<tr class=\"{}\">", status_class(r.status));
        if ranked {
            let _ = write!(
                out,
                "<td class=\"n\">{}</td>",
                l.rank.map(|r| r.to_string()).unwrap_or_default()
            );
        }
        let _ = match link(code) {
            Some(href) => write!(out, "<td><a href=\"{}\">{}</a></td>", esc(&href), esc(name)),
            None => write!(out, "<td>{} <span class=\"code\">{}</span></td>", esc(name), esc(code)),
        };
        figures(out, r, lang);
        out.push_str("</tr>");
    }
    let _ = write!(
        out,
        "</tbody><tfoot><tr>{}<th>{}</th>",
        if ranked { "<td></td>" } else { "" },
        esc(t.province_total)
    );
    figures(out, &resp.total, lang);
    out.push_str("</tr></tfoot></table></section>");
}

/// A row's figure cells: numbers right-aligned, the standing in words.
fn figures(out: &mut String, r: &crate::service::figures::ShareRow, lang: Lang) {
    for cell in page_tables::figure_cells(r, lang) {
        let class = if matches!(cell, Cell::Coded { .. }) {
            ""
        } else {
            " class=\"n\""
        };
        let _ = write!(out, "<td{class}>{}</td>", cell_html(&cell, lang));
    }
}

/// The sign-in form: a token field, the page to return to and the
/// language; with `failed`, the reason the last token was refused.
pub fn signin(frame: &Frame<'_>, next: &str, failed: bool) -> String {
    let lang = frame.lang;
    let l = &labels::of(lang).signin;
    let error = if failed {
        format!("<p role=\"alert\" class=\"alert\">{}</p>", esc(l.refused))
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1>{error}<form method=\"post\" action=\"/signin\" class=\"signin\"><p><label for=\"token\">{}</label><br>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required size=\"40\"></p>\
         <input type=\"hidden\" name=\"next\" value=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <p><button type=\"submit\">{}</button></p></form>",
        esc(l.title),
        esc(l.token),
        esc(next),
        lang.code(),
        esc(l.submit)
    );
    shell::page(frame, &body, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(esc("Hòa Bình"), "Hòa Bình");
    }

    #[test]
    fn filters_travel_in_links() {
        let p = ShareParams {
            from: Some("2025-01".into()),
            district: Some("380".into()),
            ..ShareParams::default()
        };
        assert_eq!(filter_query(&p, Lang::En), "from=2025-01&district=380&lang=en");
        assert_eq!(filter_query(&ShareParams::default(), Lang::Vi), "");
    }
}
