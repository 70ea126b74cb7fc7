//! The steering committee's dashboard as HTML, rendered on the server.
//!
//! Pure rendering of figures the share API already gave (`dashboard::Overview`):
//! headline tiles, charts (as `<img>` of `/charts/…` with text alternatives)
//! and the data tables behind them, filters as a plain GET form so that every
//! view is a link and the page works with JavaScript off. Self-contained: no
//! script, no external font or style sheet. Computes no figure and knows
//! nothing of HTTP or engines.

use crate::domain::{Period, Status};
use crate::present::dashboard::Overview;
use crate::present::locale::{self, Lang};
use crate::service::{ShareParams, ShareResponse, ShareRow};
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

/// The texts of the page in one language.
struct Texts {
    lang: Lang,
    title: &'static str,
    subtitle: &'static str,
    other_lang: &'static str,
    latest_month: &'static str,
    ytd: &'static str,
    target: &'static str,
    gap: &'static str,
    needed: &'static str,
    change: &'static str,
    filters: &'static str,
    from: &'static str,
    to: &'static str,
    district: &'static str,
    sector: &'static str,
    all: &'static str,
    apply: &'static str,
    districts_table: &'static str,
    sectors_table: &'static str,
    communes_table: &'static str,
    commune: &'static str,
    series_break: &'static str,
    total_retail: &'static str,
    ecommerce: &'static str,
    share: &'static str,
    rank: &'static str,
    filings: &'static str,
    status: &'static str,
    describe: &'static str,
    month: &'static str,
    dataset: &'static str,
    province_total: &'static str,
}

const VI: Texts = Texts {
    lang: Lang::Vi,
    title: "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng",
    subtitle: "Tỉnh Thanh Hóa · Ban Chỉ đạo chuyển đổi số tỉnh",
    other_lang: "English",
    latest_month: "Tháng gần nhất",
    ytd: "Lũy kế từ đầu năm",
    target: "Mục tiêu năm",
    gap: "Chênh lệch so với mục tiêu",
    needed: "Doanh thu TMĐT còn thiếu để đạt mục tiêu",
    change: "So với cùng kỳ năm trước",
    filters: "Bộ lọc",
    from: "Từ tháng",
    to: "Đến tháng",
    district: "Huyện",
    sector: "Ngành",
    all: "Tất cả",
    apply: "Xem",
    districts_table: "Theo huyện",
    sectors_table: "Theo ngành",
    communes_table: "Theo xã, phường (từ tháng 7/2025), xếp hạng theo tỷ trọng",
    commune: "Xã, phường",
    series_break: "Từ tháng 7/2025 không còn cấp huyện: số liệu của một huyện từ tháng đó là của địa bàn cũ của huyện (các xã, phường có huyện cũ là huyện đó), để chuỗi số liệu liên tục.",
    total_retail: "Tổng mức bán lẻ (tỷ đồng)",
    ecommerce: "Doanh thu TMĐT (tỷ đồng)",
    share: "Tỷ trọng",
    rank: "Hạng",
    filings: "Báo cáo",
    status: "Đánh giá",
    describe: "Số liệu của biểu đồ (văn bản)",
    month: "Tháng",
    dataset: "Phiên bản dữ liệu",
    province_total: "Toàn tỉnh",
};

const EN: Texts = Texts {
    lang: Lang::En,
    title: "E-commerce share of total retail sales of goods and consumer services",
    subtitle: "Thanh Hóa province · Provincial steering committee for digital transformation",
    other_lang: "Tiếng Việt",
    latest_month: "Latest month",
    ytd: "Year to date",
    target: "Target for the year",
    gap: "Gap to target",
    needed: "E-commerce revenue still needed to reach the target",
    change: "Against the same period last year",
    filters: "Filters",
    from: "From",
    to: "To",
    district: "District",
    sector: "Sector",
    all: "All",
    apply: "Show",
    districts_table: "By district",
    sectors_table: "By sector",
    communes_table: "By commune (from July 2025), ranked by share",
    commune: "Commune",
    series_break: "Districts were abolished in July 2025: from that month a district's figures are those of its former area (the communes whose former district it is), so that the series continues.",
    total_retail: "Total retail (VND bn)",
    ecommerce: "E-commerce (VND bn)",
    share: "Share",
    rank: "Rank",
    filings: "Filings",
    status: "Status",
    describe: "The chart's figures as text",
    month: "Month",
    dataset: "Dataset version",
    province_total: "Province",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

fn status_text(s: Status, t: &Texts) -> &'static str {
    locale::status_label(s, t.lang)
}

fn month_text(period: &str, lang: Lang) -> String {
    match (Period::parse(period), lang) {
        (Some(p), Lang::Vi) => format!("tháng {}/{}", p.month(), p.year()),
        (Some(p), Lang::En) => format!("{}/{}", p.month(), p.year()),
        (None, _) => period.to_string(),
    }
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

/// The overview page, for the province or focused on one district or sector.
pub fn page(o: &Overview, params: &ShareParams, lang: Lang, focus: Focus<'_>) -> String {
    let t = texts(lang);
    let q = filter_query(params, lang);
    let other = {
        let mut p = filter_query(params, Lang::Vi);
        if lang == Lang::Vi {
            if !p.is_empty() {
                p.push('&');
            }
            p.push_str("lang=en");
        }
        p
    };
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{}</style></head><body>",
        if lang == Lang::Vi { "vi" } else { "en" },
        esc(t.title),
        STYLE
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><p>{} · <a href=\"/?{}\" hreflang=\"{}\">{}</a></p></header>",
        esc(t.title),
        esc(t.subtitle),
        esc(&other),
        if lang == Lang::Vi { "en" } else { "vi" },
        esc(t.other_lang)
    );
    let heading = match focus {
        Focus::Province => None,
        Focus::District(code) => o.reference.district(code).map(|d| {
            let name = if lang == Lang::Vi {
                format!("{} {}", d.district_type, d.district_name)
            } else {
                d.name_en.clone()
            };
            match (o.rank, lang) {
                (Some((r, n)), Lang::Vi) => format!("{name} — xếp hạng {r}/{n} về tỷ trọng TMĐT"),
                (Some((r, n)), Lang::En) => format!("{name} — ranked {r} of {n} by e-commerce share"),
                (None, _) => name,
            }
        }),
        Focus::Sector(code) => o.reference.sector(code).map(|s| {
            if lang == Lang::Vi {
                format!("Ngành: {}", s.group_name)
            } else {
                format!("Sector: {}", s.name_en)
            }
        }),
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
    filters(&mut out, o, params, lang, t);

    // Headline tiles.
    let ytd = &o.year_to_date.total;
    out.push_str("<section class=\"tiles\">");
    tile(
        &mut out,
        &format!("{} ({})", t.latest_month, month_text(&o.latest_month.to, lang)),
        &percent(o.latest_month.total.share, lang),
        &format!(
            "{}: {}",
            t.ecommerce,
            money(&o.latest_month.total.ecommerce_revenue_vnd, lang)
        ),
        status_class(o.latest_month.total.status),
    );
    tile(
        &mut out,
        &format!(
            "{} ({} – {})",
            t.ytd,
            month_text(&o.year_to_date.from, lang),
            month_text(&o.year_to_date.to, lang)
        ),
        &percent(ytd.share, lang),
        &format!("{}: {}", t.total_retail, money(&ytd.total_revenue_vnd, lang)),
        status_class(ytd.status),
    );
    tile(
        &mut out,
        t.target,
        &percent(ytd.target, lang),
        &esc(status_text(ytd.status, t)),
        status_class(ytd.status),
    );
    tile(
        &mut out,
        t.gap,
        &ytd.gap_pp
            .map_or_else(|| "–".into(), |g| esc(&locale::points(g, 1, lang))),
        &esc(status_text(ytd.status, t)),
        status_class(ytd.status),
    );
    tile(
        &mut out,
        t.needed,
        &ytd.ecommerce_needed_vnd
            .as_deref()
            .map_or_else(|| "–".into(), |v| money(v, lang)),
        &esc(match lang {
            Lang::Vi => "tỷ đồng, theo tổng mức bán lẻ lũy kế hiện tại",
            Lang::En => "VND bn, at the current year-to-date total",
        }),
        "none",
    );
    tile(
        &mut out,
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

    // Charts, each with its text alternative; the tables below hold their data.
    out.push_str("<section class=\"charts\">");
    for (name, alt) in [
        ("trend", format!("{} – {}", t.share, month_text(&o.districts.to, lang))),
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
            q = esc(&q),
        );
    }
    out.push_str("</section>");

    trend_table(&mut out, o, lang, t);
    heat_table(&mut out, o, lang);
    table(
        &mut out,
        t.districts_table,
        &o.districts,
        "district_code",
        "district_name",
        lang,
        true,
        |code| Some(format!("/districts/{code}")),
    );
    if o.districts.series_break.is_some() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(t.series_break));
    }
    table(
        &mut out,
        t.sectors_table,
        &o.sectors,
        "sector_code",
        "sector_name",
        lang,
        false,
        |code| Some(format!("/sectors/{code}")),
    );
    if let Some(communes) = &o.communes {
        table(
            &mut out,
            t.communes_table,
            communes,
            "commune_code",
            "commune_name",
            lang,
            true,
            |_| None,
        );
    }
    let _ = write!(
        out,
        "<footer>{} {} · <a href=\"/api/v1/share?{}\">JSON</a> · <a href=\"/api/v1/openapi.json\">OpenAPI</a></footer></body></html>",
        esc(t.dataset),
        o.districts.dataset_version,
        esc(&filter_query(params, Lang::Vi))
    );
    out
}

/// The monthly figures behind the trend chart.
fn trend_table(out: &mut String, o: &Overview, lang: Lang, t: &Texts) {
    let tr = &o.trend;
    let _ = write!(
        out,
        "<section class=\"table\"><table><caption>{}</caption><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(&tr.title),
        esc(t.month),
        esc(&tr.legend.share),
        esc(&tr.legend.last_year)
    );
    for ((month, share), last) in tr.months.iter().zip(&tr.share).zip(&tr.last_year) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(month),
            esc(&percent(*share, lang)),
            esc(&percent(*last, lang))
        );
    }
    out.push_str("</tbody></table></section>");
}

/// The district × sector shares behind the heat map; columns numbered as in the chart.
fn heat_table(out: &mut String, o: &Overview, lang: Lang) {
    let h = &o.heatmap;
    let _ = write!(
        out,
        "<section class=\"table\"><table class=\"heat\"><caption>{}</caption><thead><tr><th></th>",
        esc(&h.title)
    );
    for (i, c) in h.columns.iter().enumerate() {
        let _ = write!(out, "<th><abbr title=\"{}\">{}</abbr></th>", esc(c), i + 1);
    }
    out.push_str("</tr></thead><tbody>");
    for (row, values) in h.rows.iter().zip(&h.values) {
        let _ = write!(out, "<tr><th>{}</th>", esc(row));
        for v in values {
            let _ = write!(out, "<td class=\"n\">{}</td>", esc(&percent(*v, lang)));
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

fn filters(out: &mut String, o: &Overview, params: &ShareParams, lang: Lang, t: &Texts) {
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
        o.reference.districts.iter().map(|d| {
            (
                d.district_code.as_str(),
                if lang == Lang::Vi {
                    d.district_name.as_str()
                } else {
                    d.name_en.as_str()
                },
            )
        }),
        params.district.as_deref(),
    );
    select(
        out,
        "sector",
        t.sector,
        t.all,
        o.reference.sectors.iter().map(|s| {
            (
                s.group_code.as_str(),
                if lang == Lang::Vi {
                    s.group_name.as_str()
                } else {
                    s.name_en.as_str()
                },
            )
        }),
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

#[allow(clippy::too_many_arguments)]
fn table(
    out: &mut String,
    caption: &str,
    resp: &ShareResponse,
    code_field: &str,
    name_field: &str,
    lang: Lang,
    ranked: bool,
    link: impl Fn(&str) -> Option<String>,
) {
    let t = texts(lang);
    let mut rows: Vec<&ShareRow> = resp.rows.iter().collect();
    if ranked {
        rows.sort_by(|a, b| b.share.partial_cmp(&a.share).unwrap_or(std::cmp::Ordering::Equal));
    }
    let _ = write!(
        out,
        "<section class=\"table\"><table><caption>{} ({} – {})</caption><thead><tr>{}<th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(caption),
        esc(&month_text(&resp.from, lang)),
        esc(&month_text(&resp.to, lang)),
        if ranked {
            format!("<th>{}</th>", esc(t.rank))
        } else {
            String::new()
        },
        esc(match code_field {
            "district_code" => t.district,
            "commune_code" => t.commune,
            _ => t.sector,
        }),
        esc(t.total_retail),
        esc(t.ecommerce),
        esc(t.share),
        esc(t.target),
        esc(t.gap),
        esc(t.filings),
        esc(t.status),
    );
    for (i, r) in rows.iter().enumerate() {
        let code = r.keys.get(code_field).cloned().flatten().unwrap_or_default();
        let name = r
            .keys
            .get(name_field)
            .cloned()
            .flatten()
            .unwrap_or_else(|| code.clone());
        let rank = if ranked && r.share.is_some() {
            (i + 1).to_string()
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr class=\"{}\">{}<td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            status_class(r.status),
            if ranked {
                format!("<td class=\"n\">{rank}</td>")
            } else {
                String::new()
            },
            match link(&code) {
                Some(href) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(&name)),
                None => format!("{} <span class=\"code\">{}</span>", esc(&name), esc(&code)),
            },
            money(&r.total_revenue_vnd, lang),
            money(&r.ecommerce_revenue_vnd, lang),
            esc(&percent(r.share, lang)),
            esc(&percent(r.target, lang)),
            esc(&r.gap_pp.map_or_else(|| "–".into(), |g| locale::points(g, 1, lang))),
            if r.suppressed {
                locale::SUPPRESSED.to_string()
            } else {
                esc(&locale::integer(i128::from(r.filings), lang))
            },
            esc(status_text(r.status, t)),
        );
    }
    let total = &resp.total;
    let _ = write!(
        out,
        "</tbody><tfoot><tr>{}<th>{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr></tfoot></table></section>",
        if ranked { "<td></td>" } else { "" },
        esc(t.province_total),
        money(&total.total_revenue_vnd, lang),
        money(&total.ecommerce_revenue_vnd, lang),
        esc(&percent(total.share, lang)),
        esc(&percent(total.target, lang)),
        esc(&total.gap_pp.map_or_else(|| "–".into(), |g| locale::points(g, 1, lang))),
        esc(&locale::integer(i128::from(total.filings), lang)),
        esc(status_text(total.status, t)),
    );
}

const STYLE: &str = "body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;margin:0 auto;max-width:1200px;padding:1rem;color:#1a1a1a}\
h1{font-size:1.35rem;margin:.2rem 0}header p{margin:.2rem 0 1rem;color:#444}\
.filters fieldset{display:flex;flex-wrap:wrap;gap:.8rem;align-items:end;border:1px solid #ccc}\
.filters label{display:flex;flex-direction:column;font-size:.85rem}\
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:.8rem;margin:1rem 0}\
.tile{border:1px solid #ccc;border-left:6px solid #0072B2;padding:.6rem}.tile.met{border-left-color:#009E73}.tile.below{border-left-color:#D55E00}\
.tile .label{font-size:.8rem;color:#444}.tile .value{font-size:1.6rem;font-weight:600;margin:.2rem 0}.tile .note{font-size:.8rem;color:#444}\
.charts figure{margin:1rem 0}.charts img{max-width:100%;height:auto;border:1px solid #eee}\
table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.85rem}caption{text-align:left;font-weight:600;padding:.3rem 0}\
th,td{border-bottom:1px solid #ddd;padding:.25rem .4rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.met td:last-child{color:#00734f}tr.below td:last-child{color:#a84300}\
table.heat{font-size:.75rem}table.heat td{padding:.15rem .25rem}\
footer{margin-top:1rem;font-size:.8rem;color:#555}p.note{font-size:.85rem;color:#444}span.code{color:#666;font-size:.8em}\
@media print{.filters{display:none}.charts img{break-inside:avoid}a{color:inherit;text-decoration:none}}";

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
