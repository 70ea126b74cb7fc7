//! The dashboard's outlook tiles: the full year's projected e-commerce share
//! with its interval, status and governing programme; the e-commerce
//! revenue needed per remaining month; e-commerce growth and communes
//! selling online against their targets.
//!
//! Owns which outlook the page asks for (the page's scope — the province or
//! one district, all sectors — and the year of its latest month) and the
//! tiles' texts. Every figure is the outlook API's (`App::outlook`, as the
//! caller's audience gets it, withheld figures included) and how final it
//! is, the share API's release for the months of the year so far; this
//! module asks `App` nothing (`dashboard` does) and writes no HTML
//! (`pages` does). Texts from the label catalogue, numbers through
//! `locale`.

use crate::domain::outlook::{Indicator, OutlookStatus, TargetRange};
use crate::domain::reference::REFORM;
use crate::domain::targets::Indicator as Code;
use crate::domain::{Period, Release};
use crate::present::labels::{self, fill};
use crate::present::locale::{self, Lang};
use crate::service::figures::{OutlookParams, OutlookResponse, OutlookScope, ShareParams};

/// The outlook the dashboard shows: the outlook API's answer for the
/// page's scope and year, and the release of the months its year so far
/// spans (the share API's, for the same scope and months; `None` when the
/// year has no month with data).
#[derive(Debug, Clone)]
pub struct DashboardOutlook {
    pub response: OutlookResponse,
    pub release: Option<Release>,
}

/// The outlook query for a page with the filters of `params` whose latest
/// month is in `year`: the province, or the one district selected; `None`
/// when the filters select what the outlook does not cover (a sector, a
/// VSIC code, several districts). The caller's audience and `as_of` stay.
pub fn outlook_params(params: &ShareParams, year: u16) -> Option<OutlookParams> {
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    if given(&params.sector).is_some() || given(&params.vsic).is_some() {
        return None;
    }
    let district = given(&params.district);
    if district.is_some_and(|d| d.contains(',')) {
        return None;
    }
    Some(OutlookParams {
        audience: params.audience,
        year: Some(year.to_string()),
        district: district.map(str::to_string),
        commune: None,
        as_of: params.as_of.clone(),
    })
}

/// The share query of the outlook's year so far (its scope, January — for a
/// commune the reform's first month, if later — to its last month with
/// data), whose `release` says how final the year so far is; `None` when
/// the year has no month with data.
pub fn ytd_params(params: &ShareParams, r: &OutlookResponse) -> Option<ShareParams> {
    let year = r.outlook.year;
    let to = Period::new(year, r.through?)?;
    let january = Period::new(year, 1)?;
    let (from, district) = match &r.scope {
        OutlookScope::Province => (january, None),
        OutlookScope::District { code, .. } => (january, Some(code.clone())),
        // The share API has no commune filter: its district's months.
        OutlookScope::Commune { district, .. } => (january.max(REFORM), Some(district.clone())),
    };
    Some(ShareParams {
        audience: params.audience,
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        district,
        as_of: params.as_of.clone(),
        judged_at: params.judged_at,
        ..ShareParams::default()
    })
}

/// Which tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    Projection,
    Needed,
    Growth,
    Communes,
}

impl TileKind {
    /// Its class on the page.
    pub fn name(self) -> &'static str {
        match self {
            Self::Projection => "projection",
            Self::Needed => "needed",
            Self::Growth => "growth",
            Self::Communes => "communes",
        }
    }
}

/// One tile's texts: a label, a value, a note under it, the release of a
/// figure from months not final yet (none when final or withheld) and the
/// standing's class (`met`, `below`, `risk`, `none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tile {
    pub kind: TileKind,
    pub label: String,
    pub value: String,
    pub release: Option<Release>,
    pub note: String,
    pub standing: &'static str,
}

/// Above the tiles: the year and the scope.
pub fn heading(d: &DashboardOutlook, lang: Lang) -> String {
    let l = labels::of(lang);
    let scope = match &d.response.scope {
        OutlookScope::Province => l.outlook.province.to_string(),
        OutlookScope::District { code, name, name_en } => fill(
            l.outlook.district,
            &[("name", lang.name(name, name_en)), ("code", code)],
        ),
        OutlookScope::Commune { code, name, .. } => fill(l.outlook.commune, &[("name", name), ("code", code)]),
    };
    fill(
        l.outlook_tiles.heading,
        &[("year", &d.response.outlook.year.to_string()), ("scope", &scope)],
    )
}

/// The tiles: the projection; the e-commerce needed per remaining month
/// (while the year runs, with a target); each indicator the outlook gives.
pub fn tiles(d: &DashboardOutlook, lang: Lang) -> Vec<Tile> {
    let r = &d.response;
    let release = d.release.filter(|x| *x != Release::Final && !r.suppressed);
    let mut out = vec![projection(r, release, lang)];
    out.extend(needed(r, release, lang));
    out.extend(r.outlook.indicators.iter().map(|i| indicator(r, i, release, lang)));
    out
}

fn share(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| "–".into(), |v| locale::percent(v, 1, lang))
}

/// The standing's class: reached (or heading there) green, missed (or
/// heading there) orange, at risk amber.
fn standing(s: OutlookStatus) -> &'static str {
    match s {
        OutlookStatus::Met | OutlookStatus::OnTrack => "met",
        OutlookStatus::Below | OutlookStatus::OffTrack => "below",
        OutlookStatus::AtRisk => "risk",
        _ => "none",
    }
}

/// A status in words against `target` (its value as read).
fn status_text(s: OutlookStatus, target: Option<&str>, lang: Lang) -> String {
    let l = labels::of(lang);
    let t = &l.outlook_tiles;
    let template = match s {
        OutlookStatus::Met => t.met,
        OutlookStatus::Below => t.below,
        OutlookStatus::OnTrack => t.on_track,
        OutlookStatus::AtRisk => t.at_risk,
        OutlookStatus::OffTrack => t.off_track,
        OutlookStatus::InsufficientHistory => t.insufficient_history,
        OutlookStatus::NoTarget => return l.standing.no_target.into(),
        OutlookStatus::NoData => return l.standing.no_data.into(),
        OutlookStatus::Suppressed => return l.outlook.withheld.into(),
    };
    match target {
        Some(target) => fill(template, &[("target", target)]),
        None => l.standing.no_target.into(),
    }
}

/// The share target as read: its value (a band, or "at least") and its programme.
fn share_target(t: &TargetRange, lang: Lang) -> String {
    format!(
        "{} {}",
        locale::target_range(t.low.value(), t.high.map(|h| h.value()), lang),
        fill(
            labels::of(lang).targets.under,
            &[("program", &locale::program(&t.program, lang))]
        )
    )
}

/// A month of the outlook's year in running text.
fn month(year: u16, m: u8, lang: Lang) -> String {
    locale::month(&format!("{year:04}-{m:02}"), lang)
}

fn projection(r: &OutlookResponse, release: Option<Release>, lang: Lang) -> Tile {
    let t = &labels::of(lang).outlook_tiles;
    let o = &r.outlook;
    let p = &o.projection;
    let complete = r.through == Some(12);
    let year = o.year.to_string();
    let label = fill(if complete { t.full_year } else { t.projection }, &[("year", &year)]);
    let interval = match (p.low, p.high) {
        (Some(low), Some(high)) if !complete && p.share.is_some() => Some((low, high)),
        _ => None,
    };
    let value = if r.suppressed {
        locale::SUPPRESSED.to_string()
    } else if complete {
        share(o.ytd.share, lang)
    } else if let Some((low, high)) = interval {
        fill(
            t.with_interval,
            &[
                ("share", &share(p.share, lang)),
                ("low", &locale::decimal(low * 100.0, 1, lang)),
                ("high", &locale::percent(high, 1, lang)),
            ],
        )
    } else {
        share(p.share, lang)
    };
    let target = o.target.as_ref().map(|t| share_target(t, lang));
    let mut note = vec![status_text(o.status, target.as_deref(), lang)];
    if interval.is_some() {
        note.push(fill(
            t.interval_note,
            &[
                ("level", &locale::percent(p.level, 0, lang)),
                ("years", &p.backtest_years.to_string()),
            ],
        ));
    }
    if let Some(m) = r.through {
        note.push(fill(t.through, &[("month", &month(o.year, m, lang))]));
    }
    Tile {
        kind: TileKind::Projection,
        label,
        value,
        release,
        note: note.join(" · "),
        standing: standing(o.status),
    }
}

/// While the year runs and has a target: the e-commerce needed in each
/// remaining month (withheld with the outlook's figures).
fn needed(r: &OutlookResponse, release: Option<Release>, lang: Lang) -> Option<Tile> {
    let t = &labels::of(lang).outlook_tiles;
    let o = &r.outlook;
    let target = o.target.as_ref()?;
    let remaining = 12 - r.through.filter(|m| *m < 12)?;
    let value = match (&o.needed_monthly_ecommerce_vnd, r.suppressed) {
        (_, true) => locale::SUPPRESSED.to_string(),
        (Some(v), false) => locale::ty_dong(v.round_vnd() as f64, 1, lang),
        (None, false) => return None,
    };
    Some(Tile {
        kind: TileKind::Needed,
        label: t.needed.into(),
        value,
        release,
        note: fill(
            t.needed_note,
            &[
                ("months", &remaining.to_string()),
                ("target", &locale::percent(target.low.value(), 1, lang)),
            ],
        ),
        standing: "none",
    })
}

fn indicator(r: &OutlookResponse, i: &Indicator, release: Option<Release>, lang: Lang) -> Tile {
    let t = &labels::of(lang).outlook_tiles;
    let year = r.outlook.year;
    let communes = Code::parse(i.indicator) == Some(Code::CommunesSellingOnline);
    let (kind, label, template) = if communes {
        (TileKind::Communes, t.communes, t.communes_period)
    } else {
        (TileKind::Growth, t.growth, t.growth_period)
    };
    let value = match i.value {
        _ if r.suppressed => locale::SUPPRESSED.to_string(),
        Some(v) if communes => locale::percent(v, 1, lang),
        Some(v) => locale::signed_percent(v, 1, lang),
        None => "–".into(),
    };
    let target = i.target_low.map(|low| locale::target_range(low, i.target_high, lang));
    let mut note = vec![status_text(i.status, target.as_deref(), lang)];
    if let Some(through) = r.through {
        // Communes are counted from the reform's first month.
        let first = Period::new(year, 1)
            .map(|january| if communes { january.max(REFORM) } else { january })
            .map_or_else(|| month(year, 1, lang), |p| locale::month(&p.to_string(), lang));
        note.push(fill(template, &[("from", &first), ("to", &month(year, through, lang))]));
    }
    Tile {
        kind,
        label: label.into(),
        value,
        release,
        note: note.join(" · "),
        standing: standing(i.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outlook::{CommuneCounts, MonthlySeries, OutlookInput, outlook};
    use crate::domain::targets::{Fraction, Target};
    use crate::domain::{Period, WeightedVnd};

    fn target(program: &str, low: (u128, u128), high: Option<(u128, u128)>) -> Target {
        let f = |(n, d): (u128, u128)| Fraction::new(n, d).unwrap();
        Target {
            program: program.into(),
            indicator: crate::domain::targets::Indicator::EcommerceShare,
            scope: "province".into(),
            year: 2026,
            kind: crate::domain::targets::ValueKind::Point,
            low: f(low),
            high: high.map(f),
            source: String::new(),
        }
    }

    /// `years` of a series whose share is `share_per_mille` ‰ every month,
    /// total 1.000 tỷ đồng a month; the last year through `through`.
    fn series(years: std::ops::RangeInclusive<u16>, through: u8, share_per_mille: i128) -> MonthlySeries {
        let mut s = MonthlySeries::new();
        let last = *years.end();
        for y in years {
            for m in 1..=(if y == last { through } else { 12 }) {
                let total = 1_000_000_000_000i128 * 1_000_000;
                s.insert(
                    Period::new(y, m).unwrap(),
                    WeightedVnd::from_micro(total),
                    WeightedVnd::from_micro(total / 1000 * share_per_mille),
                )
                .unwrap();
            }
        }
        s
    }

    fn answer(s: &MonthlySeries, year: u16, through: u8, share: Option<&Target>) -> DashboardOutlook {
        let growth = target("1568/QĐ-BCT", (1, 5), Some((3, 10)));
        let communes = target("1568/QĐ-BCT", (3, 5), None);
        let o = outlook(&OutlookInput {
            series: s,
            year,
            through,
            target: share,
            growth_target: Some(&growth),
            communes: Some(CommuneCounts {
                selling: 83,
                in_force: 166,
            }),
            communes_target: Some(&communes),
        })
        .unwrap();
        DashboardOutlook {
            response: OutlookResponse {
                scope: OutlookScope::Province,
                through: Some(through),
                dataset_version: 3,
                outlook: o,
                path: Vec::new(),
                suppressed: false,
            },
            release: Some(Release::Preliminary),
        }
    }

    fn tile(tiles: &[Tile], kind: TileKind) -> &Tile {
        tiles.iter().find(|t| t.kind == kind).unwrap()
    }

    #[test]
    fn the_projection_reads_with_its_interval_status_and_programme() {
        // A flat 9 % share: a narrow interval around 9 %, against 12 %.
        let s = series(2022..=2026, 4, 90);
        let t = target("2326/QĐ-TTg", (3, 25), Some((3, 25)));
        let d = answer(&s, 2026, 4, Some(&t));
        let o = &d.response.outlook;
        assert_eq!(o.status, OutlookStatus::OffTrack);
        let p = &o.projection;
        let (share, low, high) = (p.share.unwrap(), p.low.unwrap(), p.high.unwrap());
        let tiles = tiles(&d, Lang::Vi);
        let projection = tile(&tiles, TileKind::Projection);
        assert_eq!(projection.label, "Dự báo cả năm 2026");
        assert_eq!(
            projection.value,
            format!(
                "{} ({}–{})",
                locale::percent(share, 1, Lang::Vi),
                locale::decimal(low * 100.0, 1, Lang::Vi),
                locale::percent(high, 1, Lang::Vi)
            )
        );
        assert_eq!(projection.value, "9,0 % (9,0–9,0 %)");
        assert_eq!(
            projection.note,
            format!(
                "Khó đạt mục tiêu 12,0 % theo 2326/QĐ-TTg · khoảng dự báo 80 %, kiểm định trên {} năm trước · số liệu đến tháng 4/2026",
                p.backtest_years
            )
        );
        assert_eq!(projection.standing, "below");
        assert_eq!(projection.release, Some(Release::Preliminary));
        let en = tiles_en(&d);
        let projection = tile(&en, TileKind::Projection);
        assert_eq!(projection.label, "Full-year forecast 2026");
        assert_eq!(projection.value, "9.0% (9.0–9.0%)");
        assert!(
            projection
                .note
                .starts_with("Unlikely to reach the target of 12.0% under 2326/QĐ-TTg · 80% interval"),
            "{}",
            projection.note
        );
        assert!(projection.note.ends_with("data through 4/2026"), "{}", projection.note);
    }

    fn tiles_en(d: &DashboardOutlook) -> Vec<Tile> {
        tiles(d, Lang::En)
    }

    #[test]
    fn every_status_reads_with_its_words_and_class() {
        let s = series(2022..=2026, 4, 90);
        for (low, status, words, class) in [
            ((1, 20), OutlookStatus::OnTrack, "Có khả năng đạt mục tiêu 5,0 %", "met"),
            ((3, 25), OutlookStatus::OffTrack, "Khó đạt mục tiêu 12,0 %", "below"),
        ] {
            let t = target("P", low, Some(low));
            let d = answer(&s, 2026, 4, Some(&t));
            assert_eq!(d.response.outlook.status, status);
            let p = tiles(&d, Lang::Vi).remove(0);
            assert!(p.note.starts_with(&format!("{words} theo P")), "{}", p.note);
            assert_eq!(p.standing, class);
        }
        // At risk: the target inside the interval, made by hand.
        let t = target("P", (9, 100), Some((9, 100)));
        let mut d = answer(&s, 2026, 4, Some(&t));
        d.response.outlook.projection.low = Some(0.086);
        d.response.outlook.projection.high = Some(0.096);
        d.response.outlook.projection.share = Some(0.091);
        d.response.outlook.status = OutlookStatus::AtRisk;
        let p = tiles(&d, Lang::Vi).remove(0);
        assert_eq!(p.value, "9,1 % (8,6–9,6 %)");
        assert!(
            p.note.starts_with("Có nguy cơ không đạt mục tiêu 9,0 % theo P · "),
            "{}",
            p.note
        );
        assert_eq!(p.standing, "risk");

        // Two earlier years are needed for an interval: one is too few.
        let s = series(2025..=2026, 4, 90);
        let t = target("2326/QĐ-TTg", (11, 100), Some((12, 100)));
        let d = answer(&s, 2026, 4, Some(&t));
        assert_eq!(d.response.outlook.status, OutlookStatus::InsufficientHistory);
        let p = tiles(&d, Lang::Vi).remove(0);
        assert_eq!(p.value, "9,0 %", "no interval");
        assert_eq!(
            p.note,
            "Chưa đủ số liệu các năm trước để tính khoảng dự báo; mục tiêu 11,0 %–12,0 % theo 2326/QĐ-TTg · số liệu đến tháng 4/2026"
        );
        assert_eq!(p.standing, "none");
        let p = tiles(&d, Lang::En).remove(0);
        assert!(
            p.note
                .starts_with("Too few earlier years for an interval; target 11.0%–12.0% under 2326/QĐ-TTg"),
            "{}",
            p.note
        );

        // No target: no needed revenue either.
        let d = answer(&s, 2026, 4, None);
        let all = tiles(&d, Lang::Vi);
        assert!(all[0].note.starts_with("Chưa có mục tiêu · "), "{}", all[0].note);
        assert!(all.iter().all(|t| t.kind != TileKind::Needed));
    }

    #[test]
    fn a_complete_year_is_met_or_below_without_an_interval_or_needed_revenue() {
        let s = series(2022..=2025, 12, 105);
        for (low, high, words, class) in [
            ((1, 10), None, "Đạt mục tiêu từ 10,0 % trở lên theo 134/KH-UBND", "met"),
            (
                (11, 100),
                Some((11, 100)),
                "Chưa đạt mục tiêu 11,0 % theo 134/KH-UBND",
                "below",
            ),
        ] {
            let t = target("134/KH-UBND", low, high);
            let d = answer(&s, 2025, 12, Some(&t));
            let all = tiles(&d, Lang::Vi);
            assert_eq!(all[0].label, "Cả năm 2025");
            assert_eq!(all[0].value, "10,5 %");
            assert_eq!(all[0].note, format!("{words} · số liệu đến tháng 12/2025"));
            assert_eq!(all[0].standing, class);
            assert!(all.iter().all(|t| t.kind != TileKind::Needed));
            // The indicators of a complete year: met or below.
            assert!(
                tile(&all, TileKind::Communes)
                    .note
                    .starts_with("Chưa đạt mục tiêu từ 60,0 % trở lên")
            );
        }
    }

    #[test]
    fn the_needed_revenue_and_the_indicators_read_in_either_language() {
        // 2026 grows: 12 % a month against 9 % a year earlier.
        let mut s = series(2022..=2025, 12, 90);
        for m in 1..=4 {
            let total = 1_100_000_000_000i128 * 1_000_000;
            s.insert(
                Period::new(2026, m).unwrap(),
                WeightedVnd::from_micro(total),
                WeightedVnd::from_micro(total / 100 * 12),
            )
            .unwrap();
        }
        let t = target("1568/QĐ-BCT", (3, 20), None);
        let d = answer(&s, 2026, 4, Some(&t));
        let o = &d.response.outlook;
        let needed_vnd = o.needed_monthly_ecommerce_vnd.unwrap().round_vnd();
        let vi = tiles(&d, Lang::Vi);
        let n = tile(&vi, TileKind::Needed);
        assert_eq!(n.label, "Doanh thu TMĐT cần đạt mỗi tháng còn lại");
        assert_eq!(n.value, locale::ty_dong(needed_vnd as f64, 1, Lang::Vi));
        // 15 % of 12 × 1.100 tỷ, less 4 × 132 tỷ so far, over 8 months.
        let short = 15 * 12 * 1_100_000_000_000i128 / 100 - 4 * 132_000_000_000;
        assert_eq!(needed_vnd, (short + 7) / 8);
        assert_eq!(n.value, "181,5 tỷ đồng");
        assert_eq!(n.note, "trong 8 tháng còn lại, để tỷ trọng cả năm đạt 15,0 %");
        assert_eq!(n.release, Some(Release::Preliminary));

        // Growth: 1.100 × 12 % against 1.000 × 9 %: +46,7 %, target 20–30 %.
        let g = tile(&vi, TileKind::Growth);
        assert_eq!(g.value, "+46,7 %");
        assert_eq!(
            g.note,
            "Có khả năng đạt mục tiêu 20,0 %–30,0 % · lũy kế tháng 1/2026 – tháng 4/2026 so với cùng kỳ năm trước"
        );
        assert_eq!(g.standing, "met");
        let c = tile(&vi, TileKind::Communes);
        assert_eq!(c.label, "Tỷ lệ xã, phường có bán hàng trực tuyến");
        assert_eq!(c.value, "50,0 %");
        assert_eq!(
            c.note,
            "Có nguy cơ không đạt mục tiêu từ 60,0 % trở lên · có doanh thu TMĐT từ tháng 1/2026 đến tháng 4/2026"
        );
        assert_eq!(c.standing, "risk");

        let en = tiles(&d, Lang::En);
        assert_eq!(tile(&en, TileKind::Needed).value, "VND 181.5 bn");
        assert_eq!(tile(&en, TileKind::Growth).value, "+46.7%");
        assert_eq!(tile(&en, TileKind::Communes).value, "50.0%");
        assert!(
            tile(&en, TileKind::Communes)
                .note
                .starts_with("At risk of missing the target of at least 60.0%")
        );

        // Communes of 2025 are counted from July.
        let s = series(2022..=2025, 9, 90);
        let d = answer(&s, 2025, 9, Some(&t));
        let c = tiles(&d, Lang::Vi);
        assert!(
            tile(&c, TileKind::Communes)
                .note
                .ends_with("có doanh thu TMĐT từ tháng 7/2025 đến tháng 9/2025")
        );
        assert!(
            tile(&c, TileKind::Growth)
                .note
                .ends_with("lũy kế tháng 1/2025 – tháng 9/2025 so với cùng kỳ năm trước")
        );
    }

    #[test]
    fn withheld_figures_read_as_withheld_with_no_release_mark() {
        let s = series(2022..=2026, 4, 90);
        let t = target("2326/QĐ-TTg", (11, 100), None);
        let mut d = answer(&s, 2026, 4, Some(&t));
        d.response.withhold();
        let all = tiles(&d, Lang::Vi);
        assert_eq!(all.len(), 4, "the same tiles, their figures withheld");
        for tile in &all {
            assert_eq!(tile.value, locale::SUPPRESSED, "{tile:?}");
            assert_eq!(tile.release, None);
            assert_eq!(tile.standing, "none");
        }
        assert!(all[0].note.starts_with("Không công bố (bảo mật số liệu) · "));
        // Nothing of the withheld figures in any text.
        let shown: String = all.iter().map(|t| format!("{}{}", t.value, t.note)).collect();
        assert!(!shown.contains("9,0"), "{shown}");
    }

    #[test]
    fn a_final_year_so_far_has_no_mark_and_the_year_without_data_no_month() {
        let s = series(2022..=2026, 4, 90);
        let mut d = answer(&s, 2026, 4, None);
        d.release = Some(Release::Final);
        assert!(tiles(&d, Lang::Vi).iter().all(|t| t.release.is_none()));
        d.release = Some(Release::Estimate);
        assert!(tiles(&d, Lang::Vi).iter().all(|t| t.release == Some(Release::Estimate)));
        assert_eq!(heading(&d, Lang::Vi), "Triển vọng năm 2026 — Toàn tỉnh Thanh Hóa");
        d.response.scope = OutlookScope::District {
            code: "380".into(),
            name: "Thanh Hóa".into(),
            name_en: "Thanh Hoa City".into(),
        };
        assert_eq!(heading(&d, Lang::En), "Outlook for 2026 — Thanh Hoa City (380)");
    }

    #[test]
    fn the_outlook_is_asked_for_the_province_or_one_district_of_all_sectors() {
        let base = ShareParams {
            audience: crate::service::Audience::Protected,
            as_of: Some("2".into()),
            ..ShareParams::default()
        };
        let p = outlook_params(&base, 2026).unwrap();
        assert_eq!(
            (p.year.as_deref(), p.district, p.audience, p.as_of.as_deref()),
            (Some("2026"), None, crate::service::Audience::Protected, Some("2"))
        );
        let one = ShareParams {
            district: Some(" 380 ".into()),
            sector: Some(String::new()),
            ..base.clone()
        };
        assert_eq!(outlook_params(&one, 2025).unwrap().district.as_deref(), Some("380"));
        for other in [
            ShareParams {
                district: Some("380,381".into()),
                ..base.clone()
            },
            ShareParams {
                sector: Some("FOOD".into()),
                ..base.clone()
            },
            ShareParams {
                vsic: Some("4711".into()),
                ..base.clone()
            },
        ] {
            assert_eq!(outlook_params(&other, 2026), None, "{other:?}");
        }
        // The year so far of a district's outlook: its months, no sector.
        let s = series(2022..=2026, 4, 90);
        let mut d = answer(&s, 2026, 4, None);
        d.response.scope = OutlookScope::District {
            code: "380".into(),
            name: String::new(),
            name_en: String::new(),
        };
        let y = ytd_params(&base, &d.response).unwrap();
        assert_eq!(
            (
                y.from.as_deref(),
                y.to.as_deref(),
                y.district.as_deref(),
                y.by,
                y.sector
            ),
            (Some("2026-01"), Some("2026-04"), Some("380"), None, None)
        );
        assert_eq!((y.audience, y.as_of), (base.audience, base.as_of.clone()));
        d.response.through = None;
        assert_eq!(ytd_params(&base, &d.response), None);
    }
}
