//! Dashboard use cases: which share queries a chart needs, and the chart
//! inputs made from their answers, with labels in the reader's language.
//!
//! Every number comes from `App::share` (the share API's figures) or, for
//! the outlook tiles, `App::outlook` (the outlook API's); this
//! module only selects, orders and labels them. It knows nothing of HTTP,
//! DataFusion or plotters' drawing.

use crate::domain::{Indicator, Period, Reference, Release, Status};
use crate::present::charts::{
    Bar, Bars, Chart, Governing, Heatmap, Map, MapPoint, ProgramPath, Standing, TargetPaths, Trend, TrendLegend,
    YearBar, YearTarget, Years, YearsLegend,
};
use crate::present::dashboard_outlook::{self, DashboardOutlook};
use crate::present::labels;
use crate::present::locale::{self, Lang};
use crate::service::{App, AppError, ShareParams, ShareResponse, ShareRow};

/// The charts the dashboard offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    Trend,
    /// The share of each year against every programme's targets.
    Years,
    Districts,
    Heatmap,
    Map,
    Sectors,
}

impl ChartKind {
    pub const ALL: [ChartKind; 6] = [
        Self::Trend,
        Self::Years,
        Self::Districts,
        Self::Heatmap,
        Self::Map,
        Self::Sectors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Trend => "trend",
            Self::Years => "years",
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
        ChartKind::Trend => {
            let years = year_series(app, params, &reference).await?;
            Ok(Chart::Trend(trend(&trend_series(app, params).await?, &years, lang)))
        }
        ChartKind::Years => Ok(Chart::Years(years(&year_series(app, params, &reference).await?, lang))),
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

/// The last month of the range the share API resolves by default for the
/// filters of `params` (its `to`, or the latest month with figures).
async fn latest_month(app: &App, params: &ShareParams) -> Result<Period, AppError> {
    let probe = app
        .share(&ShareParams {
            by: None,
            from: None,
            ..params.clone()
        })
        .await?;
    Ok(Period::parse(&probe.to).expect("the API returns valid months"))
}

/// The series of the trend for the filters of `params`.
async fn trend_series(app: &App, params: &ShareParams) -> Result<TrendSeries, AppError> {
    let to = latest_month(app, params).await?;
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

/// The trend chart of `series`: its months, then on to December of the
/// last year of `years`, with every programme's targets over them.
fn trend(series: &TrendSeries, years: &YearSeries, lang: Lang) -> Trend {
    let (mut share, mut last_year, mut provisional) = (Vec::new(), Vec::new(), Vec::new());
    for (_, now, before) in series.rows() {
        share.push(now.and_then(|r| r.share));
        provisional.push(now.is_some_and(|r| r.release != Release::Final));
        last_year.push(before.and_then(|r| r.share));
    }
    let first = series.months.first().copied().unwrap_or(years.through);
    let last = series.months.last().copied().unwrap_or(first);
    let end = years
        .years
        .last()
        .and_then(|y| Period::new(y.year, 12))
        .map_or(last, |december| december.max(last));
    let months = (0..)
        .map_while(|i| first.add_months(i).filter(|p| *p <= end))
        .map(trend_month)
        .collect();
    let l = labels::of(lang);
    Trend {
        title: title(l.chart.trend, &series.now, lang),
        months,
        share,
        provisional,
        last_year,
        start: (first.year(), first.month()),
        targets: target_paths(years, first.year()..=end.year(), lang),
        legend: TrendLegend {
            share: l.chart.legend_share.into(),
            last_year: l.chart.legend_last_year.into(),
            target: l.chart.governing.into(),
            provisional: l.release.hollow.into(),
        },
    }
}

/// The yearly view starts in this year (the first a programme sets the
/// e-commerce share a target for) …
pub const FIRST_YEAR: u16 = 2022;
/// … and runs at least to this one (the horizon of the 2026–2030
/// programmes), or to the last year of a target or of the data.
pub const HORIZON_YEAR: u16 = 2030;

/// One year's answer of the share API: its figures and its targets.
#[derive(Debug, Clone)]
pub struct YearAnswer {
    pub year: u16,
    /// The first and last months of the year with figures (up to the last
    /// month shown); none for a year without any, whose answer is asked
    /// for its targets only.
    pub months: Option<(Period, Period)>,
    /// The share API's answer over those months (the whole year without
    /// figures), without a breakdown.
    pub answer: ShareResponse,
}

impl YearAnswer {
    /// The year's figures (Σ e-commerce / Σ total of its months, as the
    /// share API sums them); none for a year without figures.
    pub fn row(&self) -> Option<&ShareRow> {
        self.months.map(|_| &self.answer.total)
    }

    /// Figures for some of the year's months only: how many months (from
    /// the first with figures to the last); none for a whole year or a
    /// year without figures.
    pub fn partial(&self) -> Option<i32> {
        self.months
            .filter(|(from, to)| from.month() > 1 || to.month() < 12)
            .map(|(from, to)| to.index() - from.index() + 1)
    }
}

/// The answers behind the yearly chart, its table and the trend's
/// targets: one per year from [`FIRST_YEAR`] (earlier when the trend
/// starts earlier) to [`HORIZON_YEAR`] or later.
#[derive(Debug, Clone)]
pub struct YearSeries {
    /// The last month shown: `to`, default the latest month with data.
    pub through: Period,
    /// Oldest first.
    pub years: Vec<YearAnswer>,
    /// The targets' programmes, oldest first (the targets table's order,
    /// then any other an answer names).
    pub programs: Vec<String>,
}

/// The answers of every year for the filters of `params` (their `from`
/// and `by` are ignored): each an `App::share` over the year's months with
/// figures, so a year's share is its exact sums' ratio, never a mean of
/// months. Which months have figures, an answer by period says.
async fn year_series(app: &App, params: &ShareParams, reference: &Reference) -> Result<YearSeries, AppError> {
    let through = latest_month(app, params).await?;
    let trend_start = through.add_months(1 - TREND_MONTHS).unwrap_or(through);
    let targets_end = reference
        .targets
        .rows()
        .iter()
        .filter(|r| r.indicator == Indicator::EcommerceShare)
        .map(|r| r.year)
        .max()
        .unwrap_or(HORIZON_YEAR);
    let (first, last) = (
        FIRST_YEAR.min(trend_start.year()),
        HORIZON_YEAR.max(targets_end).max(through.year()),
    );
    let span = |from: Period, to: Period, by: Option<&str>| ShareParams {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: by.map(str::to_string),
        ..params.clone()
    };
    // The months with figures (withheld ones too) up to the last shown.
    let months: Vec<Period> = match Period::new(first, 1).filter(|january| *january <= through) {
        Some(january) => app
            .share(&span(january, through, Some("period")))
            .await?
            .rows
            .iter()
            .filter(|r| r.filings > 0 || r.suppressed)
            .filter_map(|r| Period::parse(key(r, "period")))
            .collect(),
        None => Vec::new(),
    };
    let mut years = Vec::new();
    let mut programs: Vec<String> = reference.targets.programs().to_vec();
    for year in first..=last {
        let (Some(january), Some(december)) = (Period::new(year, 1), Period::new(year, 12)) else {
            continue;
        };
        let of_year = months.iter().copied().filter(|p| p.year() == year);
        let with_figures = of_year.clone().min().zip(of_year.max());
        let (from, to) = with_figures.unwrap_or((january, december));
        let answer = app.share(&span(from, to, None)).await?;
        for t in answer.total.targets.iter() {
            if !programs.contains(&t.program) {
                programs.push(t.program.clone());
            }
        }
        years.push(YearAnswer {
            year,
            months: with_figures,
            answer,
        });
    }
    Ok(YearSeries {
        through,
        years,
        programs,
    })
}

/// Every programme's targets (for the filters' scope: a district's own
/// first, then the province's) and the governing one, in the years of
/// `shown`, from the answers of `years`.
pub fn target_paths(years: &YearSeries, shown: std::ops::RangeInclusive<u16>, lang: Lang) -> TargetPaths {
    let n = years.programs.len();
    let mut programs: Vec<ProgramPath> = years
        .programs
        .iter()
        .enumerate()
        .map(|(i, p)| ProgramPath {
            label: locale::program(p, lang),
            recency: n - 1 - i,
            years: Vec::new(),
        })
        .collect();
    let mut governing = Vec::new();
    for y in years.years.iter().filter(|y| shown.contains(&y.year)) {
        let total = &y.answer.total;
        for t in total.targets.iter() {
            if let Some(i) = years.programs.iter().position(|p| *p == t.program) {
                programs[i].years.push(YearTarget {
                    year: y.year,
                    low: t.low,
                    high: t.high,
                });
            }
        }
        if let (Some(target), Some(program)) = (total.target, total.target_program.as_deref()) {
            governing.push(Governing {
                year: y.year,
                target,
                program: locale::program(program, lang),
            });
        }
    }
    programs.retain(|p| !p.years.is_empty());
    TargetPaths { programs, governing }
}

/// A year's label on the yearly chart's axis and in its table: `2025`,
/// or a part of a year's (`1–11/2026`, `12/2023`).
pub fn year_label(y: &YearAnswer, lang: Lang) -> String {
    let l = &labels::of(lang).chart;
    let year = y.year.to_string();
    match y.months.filter(|_| y.partial().is_some()) {
        Some((from, to)) if from == to => labels::fill(
            l.year_month_axis,
            &[("month", &to.month().to_string()), ("year", &year)],
        ),
        Some((from, to)) => labels::fill(
            l.year_part_axis,
            &[
                ("from", &from.month().to_string()),
                ("to", &to.month().to_string()),
                ("year", &year),
            ],
        ),
        None => year,
    }
}

/// The yearly chart of `series`: each year's share, every programme's
/// targets and the governing one.
fn years(series: &YearSeries, lang: Lang) -> Years {
    let l = labels::of(lang);
    let (first, last) = (
        series.years.first().map_or(FIRST_YEAR, |y| y.year),
        series.years.last().map_or(HORIZON_YEAR, |y| y.year),
    );
    let bars = series
        .years
        .iter()
        .map(|y| YearBar {
            year: y.year,
            label: year_label(y, lang),
            share: y.row().and_then(|r| r.share),
            partial: y.partial().is_some(),
            provisional: y.row().is_some_and(|r| r.release != Release::Final),
        })
        .collect();
    let partial = series
        .years
        .iter()
        .filter_map(|y| {
            let months = y.partial()?;
            Some(labels::fill(
                l.chart.year_part,
                &[("label", &year_label(y, lang)), ("months", &months.to_string())],
            ))
        })
        .collect();
    Years {
        title: labels::fill(
            l.chart.years,
            &[("from", &first.to_string()), ("to", &last.to_string())],
        ),
        years: bars,
        targets: target_paths(series, first..=last, lang),
        legend: YearsLegend {
            share: l.chart.legend_year.into(),
            target: l.chart.governing.into(),
            provisional: l.release.hollow_bars.into(),
            partial,
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
    /// The yearly chart and the answers it is drawn from.
    pub years: Years,
    pub year_series: YearSeries,
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
    let year_series = year_series(app, params, &reference).await?;
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
        trend: trend(&trend_series, &year_series, lang),
        trend_series,
        years: years(&year_series, lang),
        year_series,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Response;
    use crate::service::figures::TargetValue;
    use std::collections::BTreeMap;

    /// Every programme's target for `year` as the share API lists them
    /// (the service's conversion of the domain's exact values).
    fn targets_of(reference: &Reference, year: u16) -> Vec<TargetValue> {
        reference
            .targets_for(year, None)
            .into_iter()
            .map(TargetValue::from)
            .collect()
    }

    /// An answer without a breakdown over `from`–`to` with `share`, its
    /// targets those of the year.
    fn answer(reference: &Reference, from: Period, to: Period, share: Option<f64>, release: Release) -> ShareResponse {
        let year = to.year();
        let governing = reference.target_for(year, None);
        let total = ShareRow {
            keys: BTreeMap::new(),
            total_revenue_vnd: "1000".into(),
            ecommerce_revenue_vnd: "60".into(),
            share,
            target: governing.as_ref().map(|t| t.share()),
            target_program: governing.as_ref().map(|t| t.program.as_str().into()),
            targets: targets_of(reference, year).into(),
            gap_pp: None,
            ecommerce_needed_vnd: None,
            status: if share.is_some() { Status::Below } else { Status::NoData },
            filings: u64::from(share.is_some()),
            units: u64::from(share.is_some()),
            suppressed: false,
            release,
            response: Response::default(),
        };
        ShareResponse {
            from: from.to_string(),
            to: to.to_string(),
            by: Vec::new(),
            dataset_version: 3,
            target: total.target,
            target_program: governing.map(|t| t.program),
            targets: targets_of(reference, year),
            rows: Vec::new(),
            total,
            series_break: None,
        }
    }

    fn month(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    /// Years 2022–2030 of the builtin targets: figures from 2023-12 to
    /// 2026-04 (2026 preliminary), none before or after.
    fn series() -> YearSeries {
        let reference = crate::store::builtin_reference();
        let figures: BTreeMap<u16, (Period, Period, f64, Release)> = [
            (2023, (month("2023-12"), month("2023-12"), 0.054, Release::Final)),
            (2024, (month("2024-01"), month("2024-12"), 0.061, Release::Final)),
            (2025, (month("2025-01"), month("2025-12"), 0.072, Release::Final)),
            (2026, (month("2026-01"), month("2026-04"), 0.081, Release::Preliminary)),
        ]
        .into_iter()
        .collect();
        let years = (2022..=2030)
            .map(|year| {
                let (january, december) = (Period::new(year, 1).unwrap(), Period::new(year, 12).unwrap());
                match figures.get(&year) {
                    Some(&(from, to, share, release)) => YearAnswer {
                        year,
                        months: Some((from, to)),
                        answer: answer(&reference, from, to, Some(share), release),
                    },
                    None => YearAnswer {
                        year,
                        months: None,
                        answer: answer(&reference, january, december, None, Release::Final),
                    },
                }
            })
            .collect();
        YearSeries {
            through: month("2026-04"),
            years,
            programs: reference.targets.programs().to_vec(),
        }
    }

    /// A programme's path the textbook way: from `base` in 2025 to
    /// `horizon` in 2030, in equal steps.
    fn linear(base: f64, horizon: f64, year: u16) -> f64 {
        base + (horizon - base) * f64::from(year - 2025) / 5.0
    }

    #[test]
    fn each_programme_has_its_value_of_every_year_and_the_governing_one_is_apart() {
        let s = series();
        let paths = target_paths(&s, 2022..=2030, Lang::Vi);
        let program = |name: &str| paths.programs.iter().find(|p| p.label == name).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // 1568/QĐ-BCT: 20 % by 2030 from 10 % in 2025, a single value: a line.
        let bct = program("1568/QĐ-BCT");
        assert!(!bct.is_band());
        assert_eq!(
            bct.years.iter().map(|v| v.year).collect::<Vec<_>>(),
            (2026..=2030).collect::<Vec<_>>()
        );
        for v in &bct.years {
            assert!(close(v.low, linear(0.10, 0.20, v.year)), "{v:?}");
            assert!(close(v.high.unwrap(), v.low), "{v:?}");
        }
        // 2326/QĐ-TTg: 15–20 % by 2030, a range: a band, each bound on its path.
        let ttg = program("2326/QĐ-TTg");
        assert!(ttg.is_band());
        for v in &ttg.years {
            assert!(v.is_range());
            assert!(close(v.low, linear(0.10, 0.15, v.year)), "{v:?}");
            assert!(close(v.high.unwrap(), linear(0.10, 0.20, v.year)), "{v:?}");
        }
        // The provincial plan's "over 10 %" of 2025: at least, a line.
        let province = program("134/KH-UBND");
        assert_eq!(province.years.len(), 1);
        assert_eq!(province.years[0].high, None);
        assert!(!province.is_band());
        // Colours follow the programmes' age: the newest is 0.
        assert_eq!(ttg.recency, 0);
        assert_eq!(bct.recency, 1);
        // No programme has a share target for 2024; the provincial one
        // governs 2025, the newest national one each year after.
        let governing: Vec<(u16, &str)> = paths.governing.iter().map(|g| (g.year, g.program.as_str())).collect();
        assert_eq!(
            governing,
            vec![
                (2022, "UBQGCĐS-2022"),
                (2023, "UBQGCĐS-2023"),
                (2025, "134/KH-UBND"),
                (2026, "2326/QĐ-TTg"),
                (2027, "2326/QĐ-TTg"),
                (2028, "2326/QĐ-TTg"),
                (2029, "2326/QĐ-TTg"),
                (2030, "2326/QĐ-TTg"),
            ]
        );
        for g in &paths.governing {
            let row = &s.years.iter().find(|y| y.year == g.year).unwrap().answer.total;
            assert_eq!(Some(g.target), row.target);
        }
        // Only the years asked for; programmes without a value there go.
        let later = target_paths(&s, 2027..=2028, Lang::Vi);
        assert_eq!(
            later.programs.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
            vec!["1568/QĐ-BCT", "2326/QĐ-TTg"]
        );
        assert!(later.programs.iter().all(|p| p.years.len() == 2));
    }

    #[test]
    fn the_yearly_chart_marks_part_years_and_estimates_and_has_no_bar_without_figures() {
        let s = series();
        let chart = years(&s, Lang::Vi);
        assert_eq!(
            chart.title,
            "Tỷ trọng TMĐT theo năm và mục tiêu các chương trình, 2022–2030"
        );
        let labels: Vec<&str> = chart.years.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "2022",
                "12/2023",
                "2024",
                "2025",
                "1–4/2026",
                "2027",
                "2028",
                "2029",
                "2030"
            ]
        );
        for (bar, y) in chart.years.iter().zip(&s.years) {
            // Each bar is the year's answer, as the share API gave it.
            assert_eq!(bar.share, y.row().and_then(|r| r.share), "{}", y.year);
            assert_eq!(bar.partial, matches!(y.year, 2023 | 2026), "{}", y.year);
            assert_eq!(bar.provisional, y.year == 2026, "{}", y.year);
        }
        assert!(
            chart
                .years
                .iter()
                .filter(|b| b.year < 2023 || b.year > 2026)
                .all(|b| b.share.is_none())
        );
        assert_eq!(
            chart.legend.partial,
            vec![
                "12/2023: chưa đủ năm (số tháng có số liệu: 1)",
                "1–4/2026: chưa đủ năm (số tháng có số liệu: 4)"
            ]
        );
        assert_eq!(chart.targets, target_paths(&s, 2022..=2030, Lang::Vi));
        let en = years(&s, Lang::En);
        assert_eq!(en.legend.target, "Governing target of each year");
        assert_eq!(s.years[4].partial(), Some(4));
        assert_eq!(s.years[2].partial(), None);
        assert_eq!(s.years[0].partial(), None, "no figures: not a part year either");
    }

    #[test]
    fn the_trend_runs_on_to_december_of_the_last_year_with_its_targets() {
        let s = series();
        let reference = crate::store::builtin_reference();
        let from = month("2024-05");
        let months: Vec<Period> = (0..TREND_MONTHS).map(|i| from.add_months(i).unwrap()).collect();
        let rows = |months: &[Period]| -> Vec<ShareRow> {
            months
                .iter()
                .map(|p| {
                    let mut r = answer(&reference, *p, *p, Some(0.05), Release::Final).total;
                    r.keys.insert("period", Some(p.to_string()));
                    r
                })
                .collect()
        };
        let mut now = answer(&reference, from, month("2026-04"), Some(0.05), Release::Final);
        now.rows = rows(&months);
        now.rows.last_mut().unwrap().release = Release::Estimate;
        let before: Vec<Period> = months.iter().map(|p| p.add_months(-12).unwrap()).collect();
        let mut year_before = answer(&reference, before[0], month("2025-04"), Some(0.04), Release::Final);
        year_before.rows = rows(&before);
        let t = trend(
            &TrendSeries {
                months,
                now,
                year_before,
            },
            &s,
            Lang::Vi,
        );
        // 2024-05 to 2030-12: 8 + 12 × 6 months; the data's 24 first.
        assert_eq!(t.months.len(), 8 + 72);
        assert_eq!(t.months.first().unwrap(), "5/24");
        assert_eq!(t.months.last().unwrap(), "12/30");
        assert_eq!((t.share.len(), t.last_year.len(), t.provisional.len()), (24, 24, 24));
        assert_eq!(t.provisional.iter().filter(|p| **p).count(), 1);
        assert_eq!(t.start, (2024, 5));
        assert_eq!(t.targets, target_paths(&s, 2024..=2030, Lang::Vi));
        assert_eq!(t.legend.target, "Mục tiêu áp dụng từng năm");
    }
}
