//! The year's outlook as a text table for people (`ecomshare outlook
//! --format table`): labelled lines (the year so far, the projection and
//! its interval, the target and the status, the e-commerce needed per
//! remaining month, the indicators), then every programme's path. Labels
//! from the catalogue, numbers in the language's style. Formats only. The
//! monthly report's outlook section reads its projection, target, status
//! and indicators in the same words (`report::shown`).

use crate::domain::outlook::{Indicator, OutlookStatus};
use crate::domain::targets::Indicator as Code;
use crate::present::labels::{self, fill};
use crate::present::locale::{self, Lang};
use crate::present::table::{Align, Cell, Column, Format, Money, Table};
use crate::service::figures::{OutlookResponse, OutlookScope};

/// Whole đồng; shares to one decimal; a dash for none.
const FIGURES: Format = Format {
    align: Align::Right,
    places: 1,
    money: Money::Dong,
    missing: "–",
};

/// A status in words.
pub fn status(s: OutlookStatus, lang: Lang) -> &'static str {
    let l = labels::of(lang);
    match s {
        OutlookStatus::Met => l.standing.met,
        OutlookStatus::Below => l.standing.below,
        OutlookStatus::OnTrack => l.outlook.on_track,
        OutlookStatus::AtRisk => l.outlook.at_risk,
        OutlookStatus::OffTrack => l.outlook.off_track,
        OutlookStatus::InsufficientHistory => l.outlook.insufficient_history,
        OutlookStatus::NoTarget => l.standing.no_target,
        OutlookStatus::NoData => l.standing.no_data,
        OutlookStatus::Suppressed => l.outlook.withheld,
    }
}

fn share(x: Option<f64>, lang: Lang) -> String {
    x.map_or_else(|| FIGURES.missing.to_string(), |v| locale::percent(v, 1, lang))
}

/// An indicator's value (a growth as a signed percentage) against its target.
pub fn indicator_line(i: &Indicator, lang: Lang) -> String {
    let value = share(i.value, lang);
    let shown = match i.target_low {
        Some(low) => fill(
            labels::of(lang).outlook.against,
            &[
                ("value", &value),
                ("target", &locale::target_range(low, i.target_high, lang)),
            ],
        ),
        None => value,
    };
    format!("{shown} — {}", status(i.status, lang))
}

/// The outlook as text: its lines, a blank line, the paths' table.
pub fn outlook_table(r: &OutlookResponse, lang: Lang) -> String {
    let l = &labels::of(lang).outlook;
    let o = &r.outlook;
    let scope = match &r.scope {
        OutlookScope::Province => l.province.to_string(),
        OutlookScope::District { code, name, name_en } => {
            fill(l.district, &[("name", lang.name(name, name_en)), ("code", code)])
        }
        OutlookScope::Commune { code, name, .. } => fill(l.commune, &[("name", name), ("code", code)]),
    };
    let through = match r.through {
        Some(m) => locale::month(&format!("{:04}-{m:02}", o.year), lang),
        None => l.no_month.to_string(),
    };
    let money = |v: String| if r.suppressed { Cell::Withheld } else { Cell::Money(v) };
    let mut lines: Vec<(&'static str, Cell)> = vec![
        (l.through, Cell::text(through)),
        (l.version, Cell::Integer(r.dataset_version)),
        (l.ytd_share, Cell::text(share(o.ytd.share, lang))),
        (l.ytd_total, money(o.ytd.total_revenue_vnd.to_string())),
        (l.ytd_ecommerce, money(o.ytd.ecommerce_revenue_vnd.to_string())),
        (l.projection, Cell::text(projection(r, lang))),
        (l.target, Cell::text(target(o, lang))),
        (l.status, Cell::text(status(o.status, lang))),
        (
            l.needed,
            o.needed_monthly_ecommerce_vnd
                .map_or(Cell::Empty, |v| Cell::Money(v.to_string())),
        ),
    ];
    for i in &o.indicators {
        lines.push((indicator_label(i, lang), Cell::text(indicator_line(i, lang))));
    }
    let mut head = Table::labelled("", FIGURES, lines);
    head.columns[1].format = FIGURES.left();
    let path = Table {
        title: "",
        columns: vec![
            Column::new(l.year, FIGURES.left()),
            Column::new(l.program, FIGURES.left()),
            Column::new(l.value, FIGURES.left()),
        ],
        rows: r
            .path
            .iter()
            .map(|p| {
                vec![
                    Cell::text(p.year.to_string()),
                    Cell::text(locale::program(&p.program, lang)),
                    Cell::text(locale::target_range(p.low, p.high, lang)),
                ]
            })
            .collect(),
        ..Table::default()
    };
    // A list of labelled lines has no header row: its text's first line is empty.
    format!(
        "{}\n\n{}\n{}\n{}",
        fill(l.title, &[("year", &o.year.to_string()), ("scope", &scope)]),
        head.to_text(lang).trim_start_matches('\n'),
        l.path,
        path.to_text(lang)
    )
}

/// An indicator's label: growth or communes selling online.
pub fn indicator_label(i: &Indicator, lang: Lang) -> &'static str {
    let l = &labels::of(lang).outlook;
    match Code::parse(i.indicator) {
        Some(Code::CommunesSellingOnline) => l.communes,
        _ => l.growth,
    }
}

/// The projected share and its interval ("9,1 %; từ 8,6 % đến 9,6 % (…)"),
/// or that there is none; a complete year is its own projection, without
/// an interval.
pub fn projection(r: &OutlookResponse, lang: Lang) -> String {
    let l = &labels::of(lang).outlook;
    let o = &r.outlook;
    let interval = match (o.projection.low, o.projection.high) {
        // A complete year is its own projection.
        _ if r.through == Some(12) => String::new(),
        (Some(low), Some(high)) => fill(
            l.interval,
            &[
                ("low", &share(Some(low), lang)),
                ("high", &share(Some(high), lang)),
                ("level", &locale::percent(o.projection.level, 0, lang)),
                ("years", &o.projection.backtest_years.to_string()),
            ],
        ),
        _ if o.projection.share.is_some() => l.no_interval.to_string(),
        _ => String::new(),
    };
    [share(o.projection.share, lang), interval]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The governing target with its programme ("12,0 % theo 1568/QĐ-BCT"), or
/// that there is none.
pub fn target(o: &crate::domain::outlook::Outlook, lang: Lang) -> String {
    match &o.target {
        Some(t) => format!(
            "{} {}",
            locale::target_range(t.low.value(), t.high.map(|h| h.value()), lang),
            fill(
                labels::of(lang).targets.under,
                &[("program", &locale::program(&t.program, lang))]
            )
        ),
        None => labels::of(lang).standing.no_target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::outlook::{MonthlySeries, OutlookInput, outlook};
    use crate::domain::{Period, WeightedVnd};
    use crate::service::figures::PathValue;

    /// 2024 in full and 2025 through March, 1.234.567,5 đồng a month of
    /// total revenue, a tenth of it e-commerce.
    fn response() -> OutlookResponse {
        let mut s = MonthlySeries::new();
        let month = WeightedVnd::from_micro(1_234_567_500_000);
        let tenth = WeightedVnd::from_micro(123_456_750_000);
        for (y, last) in [(2024, 12), (2025, 3)] {
            for m in 1..=last {
                s.insert(Period::new(y, m).unwrap(), month, tenth).unwrap();
            }
        }
        let target = crate::store::builtin_reference()
            .targets
            .governing(Code::EcommerceShare, 2025, &[]);
        let o = outlook(&OutlookInput {
            series: &s,
            year: 2025,
            through: 3,
            target: target.as_ref(),
            growth_target: None,
            communes: None,
            communes_target: None,
        })
        .unwrap();
        OutlookResponse {
            scope: OutlookScope::Province,
            through: Some(3),
            dataset_version: 7,
            outlook: o,
            path: vec![PathValue {
                year: 2025,
                program: "P/QĐ-X".into(),
                low: 0.1,
                high: Some(0.12),
            }],
            suppressed: false,
        }
    }

    #[test]
    fn the_table_reads_in_either_language_from_the_catalogue() {
        let r = response();
        let vi = outlook_table(&r, Lang::Vi);
        let l = &labels::of(Lang::Vi).outlook;
        assert!(vi.starts_with(&fill(l.title, &[("year", "2025"), ("scope", l.province)])));
        // Three months: 3.703.702,5 đồng, rounded half up.
        let line = |text: &str, label: &str| text.lines().find(|x| x.starts_with(label)).unwrap().to_string();
        assert!(line(&vi, l.ytd_total).ends_with("3.703.703"), "{vi}");
        assert!(line(&vi, l.ytd_share).ends_with("10,0 %"), "{vi}");
        // One earlier year: no interval to judge by.
        assert_eq!(r.outlook.status, OutlookStatus::InsufficientHistory);
        assert!(line(&vi, l.status).ends_with(l.insufficient_history), "{vi}");
        assert!(vi.contains("2025  P/QĐ-X"), "{vi}");
        assert!(vi.contains("10,0 %–12,0 %"), "{vi}");
        let en = outlook_table(&r, Lang::En);
        let e = &labels::of(Lang::En).outlook;
        assert!(line(&en, e.ytd_total).ends_with("3,703,703"), "{en}");
        assert!(line(&en, e.ytd_share).ends_with("10.0%"), "{en}");
    }

    #[test]
    fn withheld_figures_read_as_withheld() {
        let mut r = response();
        r.withhold();
        let vi = outlook_table(&r, Lang::Vi);
        let l = &labels::of(Lang::Vi).outlook;
        let line = |label: &str| vi.lines().find(|x| x.starts_with(label)).unwrap().to_string();
        assert!(line(l.ytd_total).ends_with(locale::SUPPRESSED), "{vi}");
        assert!(line(l.ytd_ecommerce).ends_with(locale::SUPPRESSED), "{vi}");
        assert!(line(l.status).ends_with(l.withheld), "{vi}");
        assert!(line(l.growth).ends_with(l.withheld), "{vi}");
        assert!(line(l.projection).ends_with(FIGURES.missing), "{vi}");
    }
}
