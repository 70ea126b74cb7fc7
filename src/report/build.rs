//! Gathering one month's report from the app: every figure from
//! `App::share` (the share API's figures, protected by disclosure control),
//! ranked and compared, and the year's outlook from `App::outlook` (the
//! outlook API's document), with the data quality and the methodology; and
//! `generate`, which builds a month's report only when the archive lacks it.
//! Selects and arranges figures; writes no file format itself.

use super::ReportError;
use super::archive::{Generated, archive_report, archived, list};
use super::model::{DistrictLine, Headline, MonthRelease, Quality, RankedLine, Report, code, to_json};
use crate::domain::Period;
use crate::domain::Reference;
use crate::domain::share::change_pp;
use crate::present::labels;
use crate::present::locale::Lang;
use crate::service::{App, AppError, Audience, OutlookParams, OutlookResponse, ShareParams, ShareResponse, ShareRow};
use crate::store::Manifest;
use std::path::Path;

/// Months of the report's trend.
pub const TREND_MONTHS: i32 = 24;

/// The methodology's paragraphs: the share, revisions, targets (the path
/// rule and the governing programme) and the year's, the outlook (see
/// `outlook_methodology`), exact sums, the release states and the response
/// rate, the 2025 reform (when the reference has communes) and disclosure
/// control.
fn methodology(
    lang: Lang,
    rule: &crate::domain::disclosure::Rule,
    policy: crate::domain::ReleasePolicy,
    reference: &crate::domain::Reference,
    month: &ShareResponse,
    outlook: &OutlookResponse,
) -> Vec<String> {
    let l = &labels::of(lang).report;
    let mut out: Vec<String> = [l.method_share, l.method_revision, l.method_targets]
        .map(String::from)
        .to_vec();
    out.push(programs(l, month, outlook.outlook.year, lang));
    out.extend(outlook_methodology(lang, outlook));
    out.push(l.method_exact.to_string());
    let r = &labels::of(lang).release;
    out.push(labels::fill(
        r.method,
        &[
            ("deadline_day", &policy.deadline_day().to_string()),
            ("final_after_months", &policy.final_after_months().to_string()),
        ],
    ));
    out.push(r.method_response.to_string());
    if !reference.communes.is_empty() {
        let units = reference.communes.len().to_string();
        let spanning = spanning_communes(l, reference).join("; ");
        out.push(labels::fill(
            l.method_reform,
            &[("units", &units), ("spanning", &spanning)],
        ));
    }
    let values = [
        ("min", rule.min_enterprises.to_string()),
        ("largest", rule.dominance_n.to_string()),
        ("percent", rule.dominance_percent.to_string()),
        ("withheld", crate::present::locale::SUPPRESSED.to_string()),
    ];
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    out.push(labels::fill(l.method_disclosure, &values));
    out
}

/// The methodology of the outlook: the projection, its interval (with the
/// number of earlier years replayed for the report's year), the statuses,
/// the e-commerce needed, the indicators and the limits. The path rule,
/// the governing programme and the release states are said with the
/// targets and the release states.
fn outlook_methodology(lang: Lang, outlook: &OutlookResponse) -> Vec<String> {
    use crate::present::locale::{decimal, percent};
    let all = labels::of(lang);
    let (l, o) = (&all.report, &all.outlook);
    let p = &outlook.outlook.projection;
    let level = percent(p.level, 0, lang);
    vec![
        labels::fill(l.method_outlook, &[("method", p.method)]),
        labels::fill(
            l.method_interval,
            &[
                ("level", &level),
                ("fraction", &decimal(p.level, 1, lang)),
                ("year", &outlook.outlook.year.to_string()),
                ("years", &p.backtest_years.to_string()),
            ],
        ),
        labels::fill(
            l.method_outlook_status,
            &[
                ("met", all.standing.met),
                ("below", all.standing.below),
                ("on_track", o.on_track),
                ("at_risk", o.at_risk),
                ("off_track", o.off_track),
                ("insufficient", o.insufficient_history),
            ],
        ),
        l.method_needed.to_string(),
        labels::fill(l.method_indicators, &[("on_track", o.on_track), ("at_risk", o.at_risk)]),
        labels::fill(l.method_outlook_limits, &[("level", &level)]),
    ]
}

/// The province's outlook for `year`, as a protected audience gets it (the
/// report is a publication), of dataset version `version` (the version the
/// report's share answers came from, should a commit land in between).
async fn outlook(app: &App, year: u16, version: u64) -> Result<OutlookResponse, AppError> {
    let params = |as_of: Option<u64>| OutlookParams {
        audience: Audience::Protected,
        year: Some(year.to_string()),
        as_of: as_of.map(|v| v.to_string()),
        ..OutlookParams::default()
    };
    let answer = app.outlook(&params(None)).await?;
    if answer.dataset_version == version {
        return Ok(answer);
    }
    app.outlook(&params(Some(version))).await
}

/// The year's targets, every programme's and the governing one.
fn programs(l: &labels::Report, month: &ShareResponse, year: u16, lang: Lang) -> String {
    let year = year.to_string();
    if month.targets.is_empty() {
        return labels::fill(l.method_programs_none, &[("year", &year)]);
    }
    let governing = crate::present::locale::target_with_program(month.target, month.target_program.as_deref(), lang);
    labels::fill(
        l.method_programs,
        &[
            ("year", &year),
            (
                "list",
                &crate::present::locale::target_values(&month.targets, lang).join("; "),
            ),
            ("governing", &governing),
        ],
    )
}

/// The 2025 reform's units that span two former districts: each with the
/// former district it counts in and the others it includes a part of.
fn spanning_communes(l: &labels::Report, reference: &crate::domain::Reference) -> Vec<String> {
    let district_name = |code: &str| {
        reference
            .district(code)
            .map_or_else(|| code.to_string(), |d| d.district_name.clone())
    };
    reference
        .spanning_communes()
        .map(|c| {
            let others: Vec<String> = c.spans[1..].iter().map(|d| district_name(d)).collect();
            labels::fill(
                l.method_spanning,
                &[
                    ("name", &c.commune_name),
                    ("code", &c.commune_code),
                    ("district", &district_name(&c.district_code)),
                    ("others", &others.join(", ")),
                ],
            )
        })
        .collect()
}

/// Gathers the report of `month` from the current dataset version.
pub async fn build(app: &App, month: Period, lang: Lang) -> Result<Report, AppError> {
    let manifest = app.manifest()?;
    // Release states are judged at the version's commit time, as its date
    // is: the same version gives the same report whenever it is made.
    let judged_at = chrono::DateTime::parse_from_rfc3339(&manifest.committed_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok();
    let f = Answers::fetch(app, month, judged_at).await?;
    let districts = district_lines(&f);
    let quality = quality(app, month, &f, &manifest).await?;
    let reference = app.reference()?;
    let reform = crate::domain::reference::REFORM;
    let year_ago = month.add_months(-12).unwrap_or(month);
    let not_final = f
        .trend
        .rows
        .iter()
        .filter(|r| r.release != crate::domain::Release::Final)
        .filter_map(|r| Some(MonthRelease::of(r, code(r, "period")?)))
        .collect();
    let outlook = outlook(app, month.year(), f.this.dataset_version).await?;
    let outlook_through = match outlook.through.and_then(|t| Period::new(month.year(), t)) {
        Some(last) => {
            let answer = app.share(&span(last, last, None, judged_at)).await?;
            Some(MonthRelease::of(&answer.total, &last.to_string()))
        }
        None => None,
    };
    let methodology = methodology(
        lang,
        &app.disclosure_rule(),
        app.release_policy(),
        &reference,
        &f.this,
        &outlook,
    );

    let mut report = Report {
        month: month.to_string(),
        language: lang.code(),
        dataset_version: f.this.dataset_version,
        dataset_committed_at: manifest.committed_at.clone(),
        target: f.this.target,
        target_program: f.this.target_program.clone(),
        targets: f.this.targets.clone(),
        headline: Headline {
            change_on_last_year_pp: change_pp(f.this.total.share, f.last_year.total.share),
            change_on_previous_month_pp: change_pp(f.this.total.share, f.previous.total.share),
            month: f.this.total,
            year_to_date: f.ytd.total,
            same_month_last_year: f.last_year.total,
        },
        outlook,
        outlook_through,
        trend: f.trend.rows,
        districts,
        series_break: (year_ago < reform && month >= reform).then_some(crate::domain::reference::REFORM_TEXT),
        sectors: f.sectors.rows,
        district_sector: f.cross.rows.into_iter().filter(with_filings).collect(),
        communes: commune_lines(f.communes, &reference),
        quality,
        not_final,
        methodology,
        content_sha256: String::new(),
        charts: Vec::new(),
    };
    report.charts = charts(app, month, lang, judged_at).await?;
    report.content_sha256 = crate::util::digest::sha256_hex(to_json(&report).as_bytes());
    Ok(report)
}

/// A share request over `from..=to` by `by`. A report is a publication: its
/// figures are protected by disclosure control.
fn span(from: Period, to: Period, by: Option<&str>, judged_at: Option<chrono::DateTime<chrono::Utc>>) -> ShareParams {
    ShareParams {
        audience: Audience::Protected,
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: by.map(str::to_string),
        judged_at,
        ..ShareParams::default()
    }
}

/// The share answers a report draws on.
struct Answers {
    this: ShareResponse,
    previous: ShareResponse,
    last_year: ShareResponse,
    ytd: ShareResponse,
    trend: ShareResponse,
    districts: ShareResponse,
    districts_before: ShareResponse,
    districts_last_year: ShareResponse,
    sectors: ShareResponse,
    cross: ShareResponse,
    /// By commune, for months from the 2025 reform.
    communes: Vec<ShareRow>,
}

impl Answers {
    async fn fetch(
        app: &App,
        month: Period,
        judged_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Self, AppError> {
        let span = |from, to, by| span(from, to, by, judged_at);
        let back = |n: i32| month.add_months(-n).unwrap_or(month);
        let january = Period::new(month.year(), 1).expect("January");
        let (before, year_ago) = (back(1), back(12));
        Ok(Self {
            this: app.share(&span(month, month, None)).await?,
            previous: app.share(&span(before, before, None)).await?,
            last_year: app.share(&span(year_ago, year_ago, None)).await?,
            ytd: app.share(&span(january, month, None)).await?,
            trend: app.share(&span(back(TREND_MONTHS - 1), month, Some("period"))).await?,
            districts: app.share(&span(month, month, Some("district"))).await?,
            districts_before: app.share(&span(before, before, Some("district"))).await?,
            districts_last_year: app.share(&span(year_ago, year_ago, Some("district"))).await?,
            sectors: app.share(&span(month, month, Some("sector"))).await?,
            cross: app.share(&span(month, month, Some("district,sector"))).await?,
            communes: if month >= crate::domain::reference::REFORM {
                app.share(&span(month, month, Some("commune"))).await?.rows
            } else {
                Vec::new()
            },
        })
    }
}

/// Whether a line has figures to show: filings, or figures withheld.
fn with_filings(r: &ShareRow) -> bool {
    r.filings > 0 || r.suppressed
}

/// Every district of the month, ranked, with its changes on the month
/// before and on the same month a year earlier.
fn district_lines(f: &Answers) -> Vec<DistrictLine> {
    let share_of = |rows: &[ShareRow], district: &str| {
        rows.iter()
            .find(|r| code(r, "district_code") == Some(district))
            .and_then(|r| r.share)
    };
    let ranked = ranking(&f.districts.rows, "district_code");
    f.districts
        .rows
        .iter()
        .map(|r| {
            let d = code(r, "district_code").unwrap_or("");
            let before = share_of(&f.districts_before.rows, d);
            let year_ago = share_of(&f.districts_last_year.rows, d);
            DistrictLine {
                figures: r.clone(),
                rank: ranked.iter().position(|(c, _)| *c == d).map(|i| i + 1),
                previous_month_share: before,
                change_on_previous_month_pp: change_pp(r.share, before),
                same_month_last_year_share: year_ago,
                change_on_last_year_pp: change_pp(r.share, year_ago),
            }
        })
        .collect()
}

/// The communes with figures, ranked by share, each with its former district.
fn commune_lines(communes: Vec<ShareRow>, reference: &Reference) -> Vec<RankedLine> {
    let ranked = ranking(&communes, "commune_code");
    let mut lines: Vec<RankedLine> = communes
        .into_iter()
        .filter(with_filings)
        .map(|r| {
            let c = code(&r, "commune_code").unwrap_or("").to_string();
            let former_district = reference
                .commune(&c)
                .and_then(|k| reference.district(&k.district_code))
                .map(|d| d.district_name.clone())
                .unwrap_or_default();
            RankedLine {
                rank: ranked.iter().position(|(k, _)| *k == c).map(|i| i + 1),
                former_district,
                figures: r,
            }
        })
        .collect();
    lines.sort_by_key(|l| (l.rank.is_none(), l.rank));
    lines
}

/// The month's filings and units against the month before, what the
/// dataset version received, and the revisions since the previous month's
/// archived report.
async fn quality(app: &App, month: Period, f: &Answers, manifest: &Manifest) -> Result<Quality, AppError> {
    let before = month.add_months(-1).unwrap_or(month).to_string();
    let version = f.this.dataset_version;
    let previous_report_version = list(&app.data_dir().join("reports"))
        .into_iter()
        .find(|r| r.month == before)
        .map(|r| r.dataset_version)
        .filter(|v| *v <= version);
    let revisions_since_previous_report = match previous_report_version {
        Some(v) => Some(revisions_between(app, v, version).await?),
        None => None,
    };
    let files = manifest.batches.iter().flat_map(|b| &b.files);
    Ok(Quality {
        filings: f.this.total.filings,
        units: f.this.total.units,
        previous_month_filings: f.previous.total.filings,
        previous_month_units: f.previous.total.units,
        files_ingested: files.clone().count() as u64,
        records_received: files.clone().map(|f| f.records).sum(),
        records_rejected: files.map(|f| f.rejected).sum(),
        previous_report_version,
        revisions_since_previous_report,
    })
}

/// The trend and district ranking charts of the month, as (description, SVG).
async fn charts(
    app: &App,
    month: Period,
    lang: Lang,
    judged_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<(String, String)>, AppError> {
    use crate::present::{charts, dashboard};
    let size = charts::Size::new(900, 420).expect("a valid chart size");
    let mut out = Vec::new();
    for kind in [dashboard::ChartKind::Trend, dashboard::ChartKind::Districts] {
        let chart = dashboard::chart(app, kind, &span(month, month, None, judged_at), lang).await?;
        let alt = charts::describe(&chart, lang);
        let svg = charts::render(&chart, charts::Format::Svg, size, lang).map_err(|e| AppError::BadParameter {
            code: "chart_failed",
            message: e.to_string(),
        })?;
        out.push((alt, String::from_utf8_lossy(&svg).into_owned()));
    }
    Ok(out)
}

/// The rows with a share, highest first (ties by `field`'s code, so the
/// order never depends on chance), as (code, share).
fn ranking(rows: &[ShareRow], field: &str) -> Vec<(String, f64)> {
    let mut ranked: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|r| Some((code(r, field)?.to_string(), r.share?)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

/// How many filings the `revisions` query finds between two versions.
async fn revisions_between(app: &App, from: u64, to: u64) -> Result<u64, AppError> {
    let params = [("from_version", from), ("to_version", to)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let plan = app.query_plan("revisions", params, None, crate::engine::tabular::Format::Json)?;
    let body = app.run_query(&plan).await?.collect().await?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| AppError::BadParameter {
        code: "query_failed",
        message: e.to_string(),
    })?;
    Ok(value["row_count"].as_u64().unwrap_or(0))
}

/// The month's report of the current dataset version, archived under
/// `archive` (`DATA/reports`): built and written unless the archive already
/// has it for this version and language — a report is never generated
/// twice for the same month and dataset version.
pub async fn generate(app: &App, month: Period, lang: Lang, archive: &Path) -> Result<Generated, ReportError> {
    let started = std::time::Instant::now();
    let result = generate_unless_kept(app, month, lang, archive).await;
    let outcome = match &result {
        Ok(g) if g.generated => {
            metrics::histogram!("ecomshare_report_generation_duration_seconds").record(started.elapsed());
            "generated"
        }
        Ok(_) => "kept",
        Err(_) => "failed",
    };
    metrics::counter!("ecomshare_report_generations_total", "outcome" => outcome).increment(1);
    result
}

async fn generate_unless_kept(app: &App, month: Period, lang: Lang, archive: &Path) -> Result<Generated, ReportError> {
    let version = app.manifest()?.version;
    let language = lang.code();
    if let Some(kept) = archived(archive, month, language, version)? {
        return Ok(kept);
    }
    let report = build(app, month, lang).await?;
    let bundle = archive_report(&report, archive)?;
    Ok(Generated {
        bundle,
        month: report.month,
        language: language.to_string(),
        dataset_version: report.dataset_version,
        dataset_committed_at: report.dataset_committed_at,
        content_sha256: report.content_sha256,
        generated: true,
    })
}
