//! The report as plain data: what one month's report holds (headline, the
//! year's outlook and the targets' paths, trend, districts, sectors,
//! quality, the months not final, methodology, the annex by commune) and
//! its JSON. No I/O, no app: the builder fills it, the writers read it.

use crate::present::locale::Lang;
use crate::service::figures::{OutlookResponse, ShareRow};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The month reported, `YYYY-MM`.
    pub month: String,
    pub language: &'static str,
    pub dataset_version: u64,
    /// When that dataset version was committed: the report's own date.
    pub dataset_committed_at: String,
    /// The province target governing the month's year (its low).
    pub target: Option<f64>,
    /// The programme of `target`.
    pub target_program: Option<String>,
    /// Every programme's province target for the month's year.
    pub targets: Vec<crate::service::figures::TargetValue>,
    pub headline: Headline,
    /// The province's outlook for the month's year, as `App::outlook` gives
    /// it to a protected audience (the document `GET /api/v1/outlook?year=`
    /// gives a viewer): the projection and its interval, the status, the
    /// governing target, the e-commerce needed per remaining month, the
    /// indicators, and every programme's path from the year to the latest
    /// horizon.
    pub outlook: OutlookResponse,
    /// How final the outlook's last month with data is (none without data
    /// in the year).
    pub outlook_through: Option<MonthRelease>,
    /// The province, month by month, up to the month reported.
    pub trend: Vec<ShareRow>,
    /// Every district for the month.
    pub districts: Vec<DistrictLine>,
    /// "2025-07" when the districts' comparisons (previous month, same
    /// month a year earlier) reach back across the 2025 reform: from then a
    /// district's figures are its former area's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_break: Option<&'static str>,
    /// Every retail sector group for the month.
    pub sectors: Vec<ShareRow>,
    /// District × sector group for the month, pairs with filings only.
    pub district_sector: Vec<ShareRow>,
    /// The annex by commune, for months from the 2025 reform: the communes
    /// with filings, ranked by share (absent before the reform).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub communes: Vec<RankedLine>,
    pub quality: Quality,
    /// The months of the trend whose figures are not final yet, oldest
    /// first, judged at the dataset version's commit time.
    pub not_final: Vec<MonthRelease>,
    pub methodology: Vec<String>,
    /// SHA-256 of this report's JSON with this field empty.
    pub content_sha256: String,
    /// The trend and district ranking charts as SVG, drawn from the same
    /// share figures (not part of the JSON).
    #[serde(skip)]
    pub charts: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Headline {
    pub month: ShareRow,
    pub year_to_date: ShareRow,
    pub same_month_last_year: ShareRow,
    /// The month's share against the same month a year earlier, in points.
    pub change_on_last_year_pp: Option<f64>,
    /// The month's share against the month before, in points.
    pub change_on_previous_month_pp: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DistrictLine {
    #[serde(flatten)]
    pub figures: ShareRow,
    /// Rank by share among the districts with revenue this month (1 = highest).
    pub rank: Option<usize>,
    pub previous_month_share: Option<f64>,
    pub change_on_previous_month_pp: Option<f64>,
    pub same_month_last_year_share: Option<f64>,
    pub change_on_last_year_pp: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankedLine {
    #[serde(flatten)]
    pub figures: ShareRow,
    /// The former district (name) whose area the commune's figures count in.
    pub former_district: String,
    /// Rank by share among the lines with revenue (1 = highest).
    pub rank: Option<usize>,
}

/// A month and how final its figures are: its release state and response
/// rate (null when none is expected or the figures are withheld).
#[derive(Debug, Clone, Serialize)]
pub struct MonthRelease {
    pub month: String,
    pub release: crate::domain::Release,
    pub response_rate: Option<f64>,
}

impl MonthRelease {
    /// The month of a share row (`period` key) with its release state.
    pub fn of(row: &ShareRow, month: &str) -> Self {
        Self {
            month: month.to_string(),
            release: row.release,
            response_rate: row.response_rate(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    /// Effective filings and reporting units of the month.
    pub filings: u64,
    pub units: u64,
    /// The same for the month before (coverage).
    pub previous_month_filings: u64,
    pub previous_month_units: u64,
    /// Over every batch of the dataset version: files, records received,
    /// records rejected with a reason.
    pub files_ingested: u64,
    pub records_received: u64,
    pub records_rejected: u64,
    /// The dataset version of the previous month's archived report, if any.
    pub previous_report_version: Option<u64>,
    /// Filings whose figures were revised since that version (the
    /// `revisions` query between the two versions); null without one.
    pub revisions_since_previous_report: Option<u64>,
}

impl Report {
    /// The language the report is written in.
    pub fn lang(&self) -> Lang {
        Lang::parse(self.language).unwrap_or(Lang::En)
    }
}

/// The report as pretty JSON (fields in a fixed order, so the same report
/// gives the same bytes).
pub fn to_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report serializes");
    text.push('\n');
    text
}

/// A row's key or name for `field` (`district_code`, `sector_name`, …).
pub(crate) fn code<'a>(row: &'a ShareRow, field: &str) -> Option<&'a str> {
    row.keys.get(field).and_then(|v| v.as_deref())
}
