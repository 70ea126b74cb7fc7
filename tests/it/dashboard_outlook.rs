//! The dashboard's outlook tiles through the real router, on the seeded
//! random filings of `outlook.rs` (2022 to 2026-04 in three batches, with
//! revisions and weights) and an injected clock: each tile's figure equals
//! `GET /api/v1/outlook`'s for the page's scope and year, formatted here
//! on its own in vi-VN and English style; the status words and the
//! governing programme follow the API as targets move the status (on
//! track, at risk, off track, met or below, no target); a viewer gets what
//! the API gives that viewer (withheld), no more; the tiles say "ước
//! tính" / "sơ bộ" as the share API's release of the year so far says, and
//! nothing once final; a sector's page has no outlook and says why.

use crate::common;
use crate::outlook::{batches, ingest};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::Role;
use ecomshare::http::HttpOptions;
use ecomshare::service::{App, AppOptions};
use ecomshare::util::clock::ManualClock;
use serde_json::Value;
use std::sync::Arc;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

struct Site {
    dir: tempfile::TempDir,
    router: axum::Router,
    clock: Arc<ManualClock>,
    admin: String,
    viewer: String,
}

impl Site {
    async fn new(seed: u64, now: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(at(now)));
        let app = Arc::new(
            App::open_with(dir.path().join("data"), AppOptions::default())
                .unwrap()
                .with_clock(clock.clone()),
        );
        for (b, batch) in batches(seed).iter().enumerate() {
            ingest(&app, b, batch).await;
        }
        let store = TokenStore::new(app.data_dir());
        let (_, admin) = store.create(Role::Admin, "a", None, Utc::now()).unwrap();
        let (_, viewer) = store.create(Role::Viewer, "v", None, Utc::now()).unwrap();
        let router = ecomshare::http::router_with(
            app,
            HttpOptions {
                rate_per_s: None,
                ..HttpOptions::default()
            },
        );
        Self {
            dir,
            router,
            clock,
            admin,
            viewer,
        }
    }

    async fn get(&self, uri: &str, token: &str) -> Vec<u8> {
        let req = Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let (s, _, body) = common::exchange(self.router.clone(), req).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&body));
        body
    }

    async fn json(&self, uri: &str, token: &str) -> Value {
        serde_json::from_slice(&self.get(uri, token).await).unwrap()
    }

    async fn page(&self, uri: &str, token: &str) -> String {
        String::from_utf8(self.get(uri, token).await).unwrap()
    }

    /// `DATA/reference/targets.csv`: `text` in place of the shipped table.
    fn targets(&self, text: &str) {
        let reference = self.dir.path().join("data/reference");
        std::fs::create_dir_all(&reference).unwrap();
        std::fs::write(reference.join("targets.csv"), text).unwrap();
    }

    /// The outlook API's answer and the share API's release of the year
    /// so far, for `scope` (`""` or `&district=CODE`) and `year`, as
    /// `token`'s caller gets them.
    async fn api(&self, year: u16, scope: &str, token: &str) -> (Value, String) {
        let outlook = self.json(&format!("/api/v1/outlook?year={year}{scope}"), token).await;
        let through = outlook["through"].as_u64().unwrap();
        let share = self
            .json(
                &format!("/api/v1/share?from={year}-01&to={year}-{through:02}{scope}"),
                token,
            )
            .await;
        (outlook, share["total"]["release"].as_str().unwrap().to_string())
    }
}

/// The shipped targets with a provincial target for 2026's e-commerce share
/// (`None`: none) and one for the communes selling online, so that every
/// tile has a status to show.
fn targets_with(share_2026: Option<f64>) -> String {
    let mut text = std::fs::read_to_string(common::fixture("reference/targets.csv")).unwrap();
    if let Some(t) = share_2026 {
        text.push_str(&format!(
            "134/KH-UBND,ecommerce_share,province,2026,point,{t},{t},test row\n"
        ));
    }
    text.push_str("134/KH-UBND,communes_selling_online,province,2026,point,0.03,,test row\n");
    text
}

/// vi-VN or English number style, written here independently of the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Vi,
    En,
}

impl Style {
    fn query(self) -> &'static str {
        match self {
            Style::Vi => "",
            Style::En => "lang=en",
        }
    }

    fn number(self, x: f64, places: usize) -> String {
        let s = format!("{:.*}", places, x.abs());
        let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
        let (thousands, point) = match self {
            Style::Vi => ('.', ','),
            Style::En => (',', '.'),
        };
        let mut out = String::new();
        if x < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(thousands);
            }
            out.push(c);
        }
        if places > 0 {
            out.push(point);
            out.push_str(frac);
        }
        out
    }

    fn unit(self, n: String) -> String {
        match self {
            Style::Vi => format!("{n} %"),
            Style::En => format!("{n}%"),
        }
    }

    fn percent(self, share: f64) -> String {
        self.unit(self.number(share * 100.0, 1))
    }

    /// A growth: "+12,3 %", "−4,5 %".
    fn signed(self, share: f64) -> String {
        let n = self.number((share * 100.0).abs(), 1);
        let sign = match n.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            false => "",
            true if share > 0.0 => "+",
            true => "−",
        };
        self.unit(format!("{sign}{n}"))
    }

    /// Whole đồng in billions: "1.234,5 tỷ đồng", "VND 1,234.5 bn".
    fn billions(self, vnd: &str) -> String {
        let n = self.number(vnd.parse::<f64>().unwrap() / 1e9, 1);
        match self {
            Style::Vi => format!("{n} tỷ đồng"),
            Style::En => format!("VND {n} bn"),
        }
    }

    /// A target: a value, a band, or "at least".
    fn target(self, low: f64, high: Option<f64>) -> String {
        match high {
            Some(h) if self.percent(h) != self.percent(low) => {
                format!("{}–{}", self.percent(low), self.percent(h))
            }
            Some(_) => self.percent(low),
            None => match self {
                Style::Vi => format!("từ {} trở lên", self.percent(low)),
                Style::En => format!("at least {}", self.percent(low)),
            },
        }
    }

    /// Before a programme's number.
    fn under(self) -> &'static str {
        match self {
            Style::Vi => "theo",
            Style::En => "under",
        }
    }

    /// How a status's words begin.
    fn status(self, status: &str) -> &'static str {
        match (self, status) {
            (Style::Vi, "on_track") => "Có khả năng đạt mục tiêu ",
            (Style::Vi, "at_risk") => "Có nguy cơ không đạt mục tiêu ",
            (Style::Vi, "off_track") => "Khó đạt mục tiêu ",
            (Style::Vi, "met") => "Đạt mục tiêu ",
            (Style::Vi, "below") => "Chưa đạt mục tiêu ",
            (Style::Vi, "insufficient_history") => "Chưa đủ số liệu các năm trước",
            (Style::Vi, "no_target") => "Chưa có mục tiêu",
            (Style::Vi, "no_data") => "Không có số liệu",
            (Style::Vi, "suppressed") => "Không công bố (bảo mật số liệu)",
            (Style::En, "on_track") => "On track for the target of ",
            (Style::En, "at_risk") => "At risk of missing the target of ",
            (Style::En, "off_track") => "Unlikely to reach the target of ",
            (Style::En, "met") => "Met the target of ",
            (Style::En, "below") => "Below the target of ",
            (Style::En, "insufficient_history") => "Too few earlier years",
            (Style::En, "no_target") => "No target",
            (Style::En, "no_data") => "No data",
            (Style::En, "suppressed") => "Withheld (confidential)",
            other => panic!("no words for {other:?}"),
        }
    }

    fn release(self, release: &str) -> Option<&'static str> {
        match (self, release) {
            (_, "final") => None,
            (Style::Vi, "estimate") => Some("ước tính"),
            (Style::Vi, "preliminary") => Some("sơ bộ"),
            (Style::En, "estimate") => Some("estimate"),
            (Style::En, "preliminary") => Some("preliminary"),
            other => panic!("{other:?}"),
        }
    }
}

/// The class of a tile's standing.
fn standing(status: &str) -> &'static str {
    match status {
        "met" | "on_track" => "met",
        "below" | "off_track" => "below",
        "at_risk" => "risk",
        _ => "none",
    }
}

/// Text without tags, entities decoded.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// An outlook tile as the page shows it.
#[derive(Debug)]
struct Tile {
    classes: Vec<String>,
    label: String,
    /// The figure, without its release mark.
    value: String,
    mark: Option<String>,
    note: String,
}

/// The outlook's heading and tiles on a page; `None` without them.
fn outlook_tiles(html: &str) -> Option<(String, Vec<Tile>)> {
    let start = html.find("<section class=\"tiles outlook\"")?;
    let end = start + html[start..].find("</section>").unwrap();
    let heading = {
        let h = html[..start].rfind("<h2 id=\"outlook\">").unwrap();
        text(&html[h..start])
    };
    let tiles = html[start..end]
        .split("<div class=\"tile ")
        .skip(1)
        .map(|chunk| {
            let part = |name: &str| {
                let open = format!("<div class=\"{name}\">");
                let i = chunk.find(&open).unwrap() + open.len();
                &chunk[i..i + chunk[i..].find("</div>").unwrap()]
            };
            let value = part("value");
            let (figure, mark) = match value.find("<span class=\"mark ") {
                Some(m) => (&value[..m], Some(text(&value[m..]))),
                None => (value, None),
            };
            Tile {
                classes: chunk[..chunk.find('"').unwrap()]
                    .split(' ')
                    .map(str::to_string)
                    .collect(),
                label: text(part("label")),
                value: text(figure),
                mark,
                note: text(part("note")),
            }
        })
        .collect();
    Some((heading, tiles))
}

fn find<'a>(tiles: &'a [Tile], kind: &str) -> Option<&'a Tile> {
    tiles.iter().find(|t| t.classes.iter().any(|c| c == kind))
}

/// Every outlook tile of `html` against the outlook API's answer `api` and
/// the share API's release of the year so far, in `style`.
fn check(html: &str, api: &Value, release: &str, style: Style, what: &str) {
    let (heading, tiles) = outlook_tiles(html).unwrap_or_else(|| panic!("{what}: no outlook tiles"));
    let year = api["year"].as_u64().unwrap();
    assert!(heading.contains(&year.to_string()), "{what}: {heading}");
    let status = api["status"].as_str().unwrap();
    let withheld = status == "suppressed";
    let through = api["through"].as_u64().unwrap();
    let complete = through == 12;
    let mark = if withheld { None } else { style.release(release) };

    // The projection: its interval, status, target and programme.
    let p = find(&tiles, "projection").unwrap_or_else(|| panic!("{what}: {tiles:#?}"));
    let label = match (style, complete) {
        (Style::Vi, false) => format!("Dự báo cả năm {year}"),
        (Style::Vi, true) => format!("Cả năm {year}"),
        (Style::En, false) => format!("Full-year forecast {year}"),
        (Style::En, true) => format!("Full year {year}"),
    };
    assert_eq!(p.label, label, "{what}");
    let proj = &api["projection"];
    let value = if withheld {
        "x".to_string()
    } else if complete {
        style.percent(api["ytd"]["share"].as_f64().unwrap())
    } else {
        match (proj["share"].as_f64(), proj["low"].as_f64(), proj["high"].as_f64()) {
            (Some(s), Some(l), Some(h)) => format!(
                "{} ({}–{})",
                style.percent(s),
                style.number(l * 100.0, 1),
                style.percent(h)
            ),
            (Some(s), _, _) => style.percent(s),
            _ => "–".into(),
        }
    };
    assert_eq!(p.value, value, "{what}: {api}");
    assert!(
        p.note.starts_with(style.status(status)),
        "{what}: {} vs {status}",
        p.note
    );
    let target = &api["target"];
    if matches!(
        status,
        "on_track" | "at_risk" | "off_track" | "met" | "below" | "insufficient_history"
    ) {
        let governing = format!(
            "{} {} {}",
            style.target(target["low"].as_f64().unwrap(), target["high"].as_f64()),
            style.under(),
            target["program"].as_str().unwrap()
        );
        assert!(p.note.contains(&governing), "{what}: {} lacks {governing}", p.note);
    }
    assert!(
        p.classes.iter().any(|c| c == standing(status)),
        "{what}: {:?}",
        p.classes
    );
    assert_eq!(p.mark.as_deref(), mark, "{what}: projection");

    // The e-commerce needed per remaining month.
    let needed = find(&tiles, "needed");
    match (api["needed_monthly_ecommerce_vnd"].as_str(), withheld) {
        (Some(v), false) => {
            let n = needed.unwrap_or_else(|| panic!("{what}: no needed tile"));
            assert_eq!(n.value, style.billions(v), "{what}");
            assert!(n.note.contains(&(12 - through).to_string()), "{what}: {}", n.note);
            assert!(
                n.note.contains(&style.percent(target["low"].as_f64().unwrap())),
                "{what}: {}",
                n.note
            );
            assert_eq!(n.mark.as_deref(), mark, "{what}: needed");
        }
        (None, true) if !target.is_null() && !complete => {
            assert_eq!(needed.map(|n| n.value.as_str()), Some("x"), "{what}")
        }
        _ => assert!(needed.is_none(), "{what}: {needed:?}"),
    }

    // The indicators: value, target (a band when a range), status.
    let indicators = api["indicators"].as_array().unwrap();
    for i in indicators {
        let (kind, format): (&str, fn(Style, f64) -> String) = match i["indicator"].as_str().unwrap() {
            "ecommerce_growth" => ("growth", Style::signed),
            "communes_selling_online" => ("communes", Style::percent),
            other => panic!("{other}"),
        };
        let t = find(&tiles, kind).unwrap_or_else(|| panic!("{what}: no {kind} tile"));
        let want = match i["value"].as_f64() {
            _ if withheld => "x".to_string(),
            Some(v) => format(style, v),
            None => "–".into(),
        };
        assert_eq!(t.value, want, "{what}: {kind} {i}");
        let s = i["status"].as_str().unwrap();
        assert!(t.note.starts_with(style.status(s)), "{what}: {kind} {} vs {s}", t.note);
        if let Some(low) = i["target_low"].as_f64()
            && !withheld
        {
            let range = style.target(low, i["target_high"].as_f64());
            assert!(t.note.contains(&range), "{what}: {kind} {} lacks {range}", t.note);
        }
        assert!(t.classes.iter().any(|c| c == standing(s)), "{what}: {kind}");
        assert_eq!(t.mark.as_deref(), mark, "{what}: {kind}");
    }
    let needed_shown = usize::from(needed.is_some());
    assert_eq!(tiles.len(), 1 + needed_shown + indicators.len(), "{what}: {tiles:#?}");
}

#[tokio::test]
async fn the_tiles_show_the_outlook_apis_figures_for_the_pages_scope_and_year() {
    // 10 May 2026: April's figures are an estimate (its deadline is 20 May).
    let site = Site::new(11, "2026-05-10T09:00:00+07:00").await;
    site.targets(&targets_with(None));
    let mut seen_statuses = Vec::new();
    for (page, scope) in [
        ("/", ""),
        ("/districts/380", "&district=380"),
        ("/?district=382", "&district=382"),
        // District 381 has one enterprise: withheld for a viewer.
        ("/districts/381", "&district=381"),
    ] {
        for (who, token) in [("admin", &site.admin), ("viewer", &site.viewer)] {
            let (api, release) = site.api(2026, scope, token).await;
            seen_statuses.push((page, who, api["status"].as_str().unwrap().to_string()));
            for style in [Style::Vi, Style::En] {
                let sep = if page.contains('?') { '&' } else { '?' };
                let html = site.page(&format!("{page}{sep}{}", style.query()), token).await;
                check(&html, &api, &release, style, &format!("{page} {who} {style:?}"));
            }
            assert_eq!(release, "estimate", "{page} {who}: the year so far ends with April");
        }
    }
    // Each scope's own figures: the province's tile is not a district's.
    let (province, _) = site.api(2026, "", &site.admin).await;
    let (district, _) = site.api(2026, "&district=380", &site.admin).await;
    assert_ne!(province["projection"]["share"], district["projection"]["share"]);
    // The viewer gets 381's outlook withheld, as the API gives it, and the
    // admin's figures appear nowhere in the viewer's tiles.
    assert!(
        seen_statuses.contains(&("/districts/381", "viewer", "suppressed".into())),
        "{seen_statuses:?}"
    );
    let (full, _) = site.api(2026, "&district=381", &site.admin).await;
    assert_ne!(full["status"], "suppressed");
    let html = site.page("/districts/381", &site.viewer).await;
    let (_, tiles) = outlook_tiles(&html).unwrap();
    let admin_share = Style::Vi.percent(full["projection"]["share"].as_f64().unwrap());
    for t in &tiles {
        assert_eq!(t.value, "x", "{t:?}");
        assert!(!t.note.contains(&admin_share), "{t:?}");
    }

    // The page of a complete year: met or below, no interval, no needed revenue.
    let (api, release) = site.api(2025, "", &site.admin).await;
    assert!(matches!(api["status"].as_str(), Some("met" | "below")), "{api}");
    for style in [Style::Vi, Style::En] {
        let html = site
            .page(&format!("/?from=2025-01&to=2025-12&{}", style.query()), &site.admin)
            .await;
        check(&html, &api, &release, style, &format!("2025 {style:?}"));
    }

    // The marks follow the share API's release as the clock passes.
    for (now, want) in [
        // April's deadline passed; March and April not final yet.
        ("2026-06-05T00:00:00+07:00", "preliminary"),
        // April final from 1 August.
        ("2026-08-01T00:00:00+07:00", "final"),
    ] {
        site.clock.set(at(now));
        let (api, release) = site.api(2026, "", &site.admin).await;
        assert_eq!(release, want, "{now}");
        for style in [Style::Vi, Style::En] {
            let html = site.page(&format!("/?{}", style.query()), &site.admin).await;
            check(&html, &api, &release, style, &format!("{now} {style:?}"));
        }
    }

    // A sector, or several districts: no outlook, and the page says why.
    for page in ["/sectors/FOOD", "/?district=380,382"] {
        let html = site.page(page, &site.admin).await;
        assert!(outlook_tiles(&html).is_none(), "{page}");
        assert!(
            html.contains("Triển vọng năm được tính cho toàn tỉnh hoặc cho một huyện"),
            "{page}"
        );
    }
}

#[tokio::test]
async fn the_status_words_and_the_programme_follow_the_targets() {
    let site = Site::new(12, "2026-08-01T00:00:00+07:00").await;
    // The interval of the shipped targets' outlook, to put a target inside it.
    site.targets(&targets_with(None));
    let (api, _) = site.api(2026, "", &site.admin).await;
    let (low, high) = (
        api["projection"]["low"].as_f64().unwrap(),
        api["projection"]["high"].as_f64().unwrap(),
    );
    let inside = ((low + high) / 2.0 * 10_000.0).round() / 10_000.0;
    assert!(low < inside && inside <= high, "{low} {inside} {high}");
    for (target, status) in [
        (Some(0.001), "on_track"),
        (Some(inside), "at_risk"),
        (Some(0.9), "off_track"),
        (None, "no_target"),
    ] {
        match target {
            Some(_) => site.targets(&targets_with(target)),
            // No share target for 2026 at all (the 2022 row alone).
            None => site.targets(
                "program,indicator,scope,year,kind,low,high,source\n\
                 UBQGCĐS-2022,ecommerce_share,province,2022,point,0.07,,test row\n",
            ),
        }
        let (api, release) = site.api(2026, "", &site.admin).await;
        assert_eq!(api["status"], status, "{target:?}: {api}");
        if target.is_some() {
            assert_eq!(
                api["target"]["program"], "134/KH-UBND",
                "the province's own programme governs"
            );
        }
        for style in [Style::Vi, Style::En] {
            let html = site.page(&format!("/?{}", style.query()), &site.admin).await;
            check(&html, &api, &release, style, &format!("{status} {style:?}"));
        }
    }
}
