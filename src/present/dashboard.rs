//! Dashboard use cases: which share queries a chart needs, and the chart
//! inputs made from their answers, with labels in the reader's language.
//!
//! Every number comes from `App::share` (the share API's figures) or, for
//! the outlook tiles, `App::outlook` (the outlook API's); this
//! module only selects, orders and labels them. It knows nothing of HTTP,
//! DataFusion or plotters' drawing.

use crate::domain::{Period, Reference, Status};
use crate::present::charts::{Bar, Bars, Chart, Heatmap, Map, MapPoint, Standing, Trend, TrendLegend};
use crate::present::dashboard_outlook::{self, DashboardOutlook};
use crate::present::labels;
use crate::present::locale::{self, Lang};
use crate::service::{App, AppError, ShareParams, ShareResponse, ShareRow};

/// The charts the dashboard offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    Trend,
    Districts,
    Heatmap,
    Map,
    Sectors,
}

impl ChartKind {
    pub const ALL: [ChartKind; 5] = [Self::Trend, Self::Districts, Self::Heatmap, Self::Map, Self::Sectors];

    pub fn name(self) -> &'static str {
        match self {
            Self::Trend => "trend",
            Self::Districts => "districts",
            Self::Heatmap => "heatmap",
            Self::Map => "map",
            Self::Sectors => "sectors",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Months of the trend chart.
pub const TREND_MONTHS: i32 = 24;

fn standing(s: Status) -> Standing {
    match s {
        Status::Met => Standing::Met,
        Status::Below => Standing::Below,
        Status::NoTarget => Standing::NoTarget,
        // A withheld figure is drawn as no figure.
        Status::NoData | Status::Suppressed => Standing::NoData,
    }
}

fn key<'a>(row: &'a ShareRow, field: &str) -> &'a str {
    row.keys.get(field).and_then(|v| v.as_deref()).unwrap_or("")
}

fn district_label(reference: &Reference, code: &str, lang: Lang) -> String {
    match reference.district(code) {
        Some(d) => lang.name(&d.district_name, &d.name_en).to_string(),
        None => code.to_string(),
    }
}

fn sector_label(reference: &Reference, code: &str, lang: Lang) -> String {
    match reference.sector(code) {
        Some(s) => lang.name(&s.group_name, &s.name_en).to_string(),
        None if code.is_empty() => "?".into(),
        None => code.to_string(),
    }
}

fn month_label(period: &str) -> String {
    Period::parse(period).map_or_else(|| period.to_string(), |p| format!("{}/{}", p.month(), p.year()))
}

fn range_text(resp: &ShareResponse, lang: Lang) -> String {
    let (from, to) = (month_label(&resp.from), month_label(&resp.to));
    labels::fill(labels::of(lang).chart.range, &[("from", &from), ("to", &to)])
}

/// A chart's title: `template` with the range of `resp`.
fn title(template: &str, resp: &ShareResponse, lang: Lang) -> String {
    labels::fill(template, &[("range", &range_text(resp, lang))])
}

fn with_by(params: &ShareParams, by: &str) -> ShareParams {
    ShareParams {
        by: Some(by.to_string()),
        ..params.clone()
    }
}

/// The chart of `kind` for the filters of `params` (its `by` is ignored).
pub async fn chart(app: &App, kind: ChartKind, params: &ShareParams, lang: Lang) -> Result<Chart, AppError> {
    let reference = app.reference()?;
    match kind {
        ChartKind::Trend => Ok(Chart::Trend(trend(&trend_series(app, params).await?, lang))),
        ChartKind::Districts => {
            let resp = app.share(&with_by(params, "district")).await?;
            let mut chart = bars(&resp, lang, labels::of(lang).chart.districts, |r| {
                district_label(&reference, key(r, "district_code"), lang)
            });
            // Ranked: the highest share first.
            chart
                .bars
                .sort_by(|a, b| b.share.partial_cmp(&a.share).unwrap_or(std::cmp::Ordering::Equal));
            Ok(Chart::Bars(chart))
        }
        ChartKind::Sectors => {
            let resp = app.share(&with_by(params, "sector")).await?;
            Ok(Chart::Bars(bars(&resp, lang, labels::of(lang).chart.sectors, |r| {
                sector_label(&reference, key(r, "sector_code"), lang)
            })))
        }
        ChartKind::Heatmap => {
            let resp = app.share(&with_by(params, "district,sector")).await?;
            Ok(Chart::Heatmap(heatmap(&resp, &reference, lang)))
        }
        ChartKind::Map => {
            let resp = app.share(&with_by(params, "district")).await?;
            let points = resp
                .rows
                .iter()
                .filter_map(|r| {
                    let d = reference.district(key(r, "district_code"))?;
                    Some(MapPoint {
                        label: district_label(&reference, &d.district_code, lang),
                        lat: d.lat,
                        lon: d.lon,
                        total: r.total_revenue_vnd.parse::<f64>().unwrap_or(0.0),
                        share: r.share,
                        standing: standing(r.status),
                    })
                })
                .collect();
            Ok(Chart::Map(Map {
                title: title(labels::of(lang).chart.map, &resp, lang),
                points,
            }))
        }
    }
}

/// One bar per row of `resp`, titled with `template` and the range.
fn bars(resp: &ShareResponse, lang: Lang, template: &str, label: impl Fn(&ShareRow) -> String) -> Bars {
    Bars {
        title: title(template, resp, lang),
        bars: resp
            .rows
            .iter()
            .map(|r| Bar {
                label: label(r),
                share: r.share,
                standing: standing(r.status),
            })
            .collect(),
        target: resp.target,
        target_label: target_label(resp, lang),
    }
}

/// The target line's label: the governing target and its programme.
fn target_label(resp: &ShareResponse, lang: Lang) -> String {
    let l = labels::of(lang);
    match resp.target {
        Some(t) => labels::fill(
            l.chart.target,
            &[
                ("target", &locale::percent(t, 1, lang)),
                (
                    "program",
                    &locale::program(resp.target_program.as_deref().unwrap_or_default(), lang),
                ),
            ],
        ),
        None => l.standing.no_target.into(),
    }
}

/// The district × sector grid of a `by=district,sector` answer, as the heat
/// map and its table show it: a row per district in the answer's order, a
/// column per sector with a filing (or a withheld figure) in some district,
/// by code.
#[derive(Debug)]
pub struct Grid<'a> {
    /// District codes.
    pub rows: Vec<&'a str>,
    /// Sector codes.
    pub columns: Vec<&'a str>,
    /// `cells[row][column]`: the answer's row of that district and sector.
    pub cells: Vec<Vec<Option<&'a ShareRow>>>,
}

/// The grid of `resp`, an answer by district and sector.
pub fn grid(resp: &ShareResponse) -> Grid<'_> {
    let mut rows: Vec<&str> = Vec::new();
    let mut columns: Vec<&str> = Vec::new();
    for r in &resp.rows {
        let (d, s) = (key(r, "district_code"), key(r, "sector_code"));
        if !rows.contains(&d) {
            rows.push(d);
        }
        if (r.filings > 0 || r.suppressed) && !columns.contains(&s) {
            columns.push(s);
        }
    }
    columns.sort();
    let mut cells = vec![vec![None; columns.len()]; rows.len()];
    for r in &resp.rows {
        let ri = rows.iter().position(|d| *d == key(r, "district_code"));
        let ci = columns.iter().position(|s| *s == key(r, "sector_code"));
        if let (Some(ri), Some(ci)) = (ri, ci) {
            cells[ri][ci] = Some(r);
        }
    }
    Grid { rows, columns, cells }
}

/// The heat map of `resp`, an answer by district and sector.
fn heatmap(resp: &ShareResponse, reference: &Reference, lang: Lang) -> Heatmap {
    let g = grid(resp);
    Heatmap {
        title: title(labels::of(lang).chart.heatmap, resp, lang),
        rows: g.rows.iter().map(|d| district_label(reference, d, lang)).collect(),
        columns: g.columns.iter().map(|s| sector_label(reference, s, lang)).collect(),
        values: g
            .cells
            .iter()
            .map(|row| row.iter().map(|c| c.and_then(|r| r.share)).collect())
            .collect(),
    }
}

/// The monthly series behind the trend chart and its table: the last
/// `TREND_MONTHS` months up to `to` (default: the latest month with data),
/// and the answers by period over them and over the same months a year
/// earlier.
#[derive(Debug, Clone)]
pub struct TrendSeries {
    /// The months shown, oldest first.
    pub months: Vec<Period>,
    pub now: ShareResponse,
    pub year_before: ShareResponse,
}

impl TrendSeries {
    /// Each month with its row, and the row of the same month a year earlier.
    pub fn rows(&self) -> impl Iterator<Item = (Period, Option<&ShareRow>, Option<&ShareRow>)> + '_ {
        self.months.iter().map(move |&p| {
            (
                p,
                period_row(&self.now, p),
                period_row(&self.year_before, year_before(p)),
            )
        })
    }
}

/// The row of month `p` in an answer by period.
fn period_row(resp: &ShareResponse, p: Period) -> Option<&ShareRow> {
    let p = p.to_string();
    resp.rows.iter().find(|r| key(r, "period") == p)
}

fn year_before(p: Period) -> Period {
    p.add_months(-12).unwrap_or(p)
}

/// A month of the trend as its axis and table read it: `6/25`.
pub fn trend_month(p: Period) -> String {
    format!("{}/{}", p.month(), p.year() % 100)
}

/// The series of the trend for the filters of `params`.
async fn trend_series(app: &App, params: &ShareParams) -> Result<TrendSeries, AppError> {
    // The range the share API resolves by default gives the latest month.
    let probe = app
        .share(&ShareParams {
            by: None,
            from: None,
            ..params.clone()
        })
        .await?;
    let to = Period::parse(&probe.to).expect("the API returns valid months");
    let from = to.add_months(1 - TREND_MONTHS).unwrap_or(to);
    let series = |from: Period, to: Period| ShareParams {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: Some("period".into()),
        ..params.clone()
    };
    let now = app.share(&series(from, to)).await?;
    let year_before_ = app.share(&series(year_before(from), year_before(to))).await?;
    let months = (0..TREND_MONTHS).map_while(|i| from.add_months(i)).collect();
    Ok(TrendSeries {
        months,
        now,
        year_before: year_before_,
    })
}

/// The trend chart of `series`.
fn trend(series: &TrendSeries, lang: Lang) -> Trend {
    let (mut months, mut share, mut last_year) = (Vec::new(), Vec::new(), Vec::new());
    let mut provisional = Vec::new();
    for (p, now, before) in series.rows() {
        months.push(trend_month(p));
        share.push(now.and_then(|r| r.share));
        provisional.push(now.is_some_and(|r| r.release != crate::domain::Release::Final));
        last_year.push(before.and_then(|r| r.share));
    }
    let now = &series.now;
    Trend {
        title: title(labels::of(lang).chart.trend, now, lang),
        months,
        share,
        provisional,
        last_year,
        target: now.target,
        legend: TrendLegend {
            share: labels::of(lang).chart.legend_share.into(),
            last_year: labels::of(lang).chart.legend_last_year.into(),
            target: target_label(now, lang),
            provisional: labels::of(lang).release.hollow.into(),
        },
    }
}

/// Everything the overview page shows, as the share API gives it.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The province (or filtered) total for the latest month with data.
    pub latest_month: ShareResponse,
    /// Year to date: January of the latest month's year up to it.
    pub year_to_date: ShareResponse,
    /// The same months a year earlier.
    pub same_period_last_year: ShareResponse,
    /// Year-to-date share against the same period last year, in points.
    pub change_pp: Option<f64>,
    /// Districts over the selected range.
    pub districts: ShareResponse,
    /// Sectors over the selected range.
    pub sectors: ShareResponse,
    /// Communes over the part of the selected range from the 2025 reform
    /// on (none when the range ends before it).
    pub communes: Option<ShareResponse>,
    /// With exactly one district selected: its rank by share among the
    /// districts with data, and how many there are.
    pub rank: Option<(usize, usize)>,
    /// The trend and heat-map charts, and the answers they are drawn
    /// from, for the tables behind them.
    pub trend: Trend,
    pub trend_series: TrendSeries,
    pub heatmap: Heatmap,
    /// Districts by sectors over the selected range (see [`grid`]).
    pub district_sector: ShareResponse,
    pub reference: std::sync::Arc<Reference>,
    /// The rule by which figures are withheld, for the note that explains them.
    pub disclosure: crate::domain::disclosure::Rule,
    /// The year's outlook for the page's scope and its latest month's year
    /// (`None` when the filters select what the outlook does not cover).
    pub outlook: Option<DashboardOutlook>,
}

/// The figures of the overview page for the filters of `params`.
pub async fn overview(app: &App, params: &ShareParams, lang: Lang) -> Result<Overview, AppError> {
    let districts = app.share(&with_by(params, "district")).await?;
    let sectors = app.share(&with_by(params, "sector")).await?;
    let latest = Period::parse(&districts.to).expect("the API returns valid months");
    let span = |from: Period, to: Period| ShareParams {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: None,
        ..params.clone()
    };
    let january = Period::new(latest.year(), 1).expect("January");
    let year_ago = |p: Period| p.add_months(-12).unwrap_or(p);
    let latest_month = app.share(&span(latest, latest)).await?;
    let year_to_date = app.share(&span(january, latest)).await?;
    let same_period_last_year = app.share(&span(year_ago(january), year_ago(latest))).await?;
    let change_pp = crate::domain::share::change_pp(year_to_date.total.share, same_period_last_year.total.share);
    let rank = match params.district.as_deref().map(str::trim) {
        Some(code) if !code.is_empty() && !code.contains(',') => {
            let all = app
                .share(&ShareParams {
                    district: None,
                    ..with_by(params, "district")
                })
                .await?;
            let mut ranked: Vec<&ShareRow> = all.rows.iter().filter(|r| r.share.is_some()).collect();
            ranked.sort_by(|a, b| b.share.partial_cmp(&a.share).unwrap_or(std::cmp::Ordering::Equal));
            ranked
                .iter()
                .position(|r| key(r, "district_code") == code)
                .map(|i| (i + 1, ranked.len()))
        }
        _ => None,
    };
    let outlook = match dashboard_outlook::outlook_params(params, latest.year()) {
        Some(p) => {
            let response = app.outlook(&p).await?;
            let release = match dashboard_outlook::ytd_params(params, &response) {
                Some(ytd) => Some(app.share(&ytd).await?.total.release),
                None => None,
            };
            Some(DashboardOutlook { response, release })
        }
        None => None,
    };
    let reference = app.reference()?;
    let trend_series = trend_series(app, params).await?;
    let district_sector = app.share(&with_by(params, "district,sector")).await?;
    let reform = crate::domain::reference::REFORM;
    let communes = match Period::parse(&districts.from) {
        Some(from) if latest >= reform => Some(
            app.share(&ShareParams {
                from: Some(from.max(reform).to_string()),
                to: Some(latest.to_string()),
                ..with_by(params, "commune")
            })
            .await?,
        ),
        _ => None,
    };
    Ok(Overview {
        communes,
        rank,
        trend: trend(&trend_series, lang),
        trend_series,
        heatmap: heatmap(&district_sector, &reference, lang),
        district_sector,
        latest_month,
        year_to_date,
        same_period_last_year,
        change_pp,
        districts,
        sectors,
        reference,
        disclosure: app.disclosure_rule(),
        outlook,
    })
}

/// Computes the default views (the overview page and every chart, without
/// filters), so that the first visitor after a new dataset version finds
/// their figures already in the answer cache.
pub async fn warm(app: &App) -> Result<(), AppError> {
    for audience in [crate::service::Audience::Protected, crate::service::Audience::Full] {
        let params = ShareParams {
            audience,
            ..ShareParams::default()
        };
        for lang in [Lang::Vi, Lang::En] {
            overview(app, &params, lang).await?;
            for kind in ChartKind::ALL {
                chart(app, kind, &params, lang).await?;
            }
        }
    }
    Ok(())
}
