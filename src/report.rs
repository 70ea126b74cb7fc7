//! Monthly report to the ministries: the figures of one month gathered into
//! one plain structure — headline, trend, districts (with rank and changes),
//! sectors, district × sector, data quality, methodology — and written as
//! `report.json`.
//!
//! Every figure comes from `App::share` (the share API's figures); this
//! module selects and arranges them. The report is a function of the dataset
//! version: its date is the version's commit time, never the clock, so the
//! same version gives byte-identical files. Knows nothing of HTTP or of
//! DataFusion.

use crate::app::{App, AppError, ShareParams, ShareRow};
use crate::domain::Period;
use crate::domain::share::change_pp;
use crate::locale::Lang;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Months of the report's trend.
pub const TREND_MONTHS: i32 = 24;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The month reported, `YYYY-MM`.
    pub month: String,
    pub language: &'static str,
    pub dataset_version: u64,
    /// When that dataset version was committed: the report's own date.
    pub dataset_committed_at: String,
    /// The province target in force for the month's year.
    pub target: Option<f64>,
    pub headline: Headline,
    /// The province, month by month, up to the month reported.
    pub trend: Vec<ShareRow>,
    /// Every district for the month.
    pub districts: Vec<DistrictLine>,
    /// Every retail sector group for the month.
    pub sectors: Vec<ShareRow>,
    /// District × sector group for the month, pairs with filings only.
    pub district_sector: Vec<ShareRow>,
    pub quality: Quality,
    pub methodology: Vec<String>,
    /// SHA-256 of this report's JSON with this field empty.
    pub content_sha256: String,
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
}

fn methodology(lang: Lang) -> Vec<String> {
    let lines: [&str; 4] = match lang {
        Lang::Vi => [
            "Tỷ trọng doanh thu thương mại điện tử = Σ(trọng số × doanh thu TMĐT) / Σ(trọng số × tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng), tính trên các báo cáo có hiệu lực; là tỷ số của hai tổng, không phải bình quân các tỷ số.",
            "Báo cáo điều chỉnh thay thế báo cáo trước của cùng đơn vị, huyện, mã ngành VSIC và kỳ: báo cáo nộp sau cùng được tính.",
            "Mục tiêu: 7% (2022), 8,5% (2023), 10% (2025) theo kế hoạch chuyển đổi số quốc gia và Quyết định 645/QĐ-TTg; năm chưa có mục tiêu riêng dùng mục tiêu gần nhất trước đó.",
            "Các tổng được tính chính xác (không làm tròn); việc đạt hay chưa đạt mục tiêu được quyết định trên số nguyên.",
        ],
        Lang::En => [
            "E-commerce share = Σ(weight × e-commerce revenue) / Σ(weight × total retail sales of goods and consumer services) over the effective filings: a ratio of two sums, not a mean of ratios.",
            "A revision replaces the earlier filing of the same unit, district, VSIC code and period: the latest submission counts.",
            "Targets: 7% (2022), 8.5% (2023), 10% (2025) under the national digital transformation plan and Decision 645/QĐ-TTg; a year without a target of its own uses the latest earlier one.",
            "Sums are exact (no rounding); whether a target is met is decided on integers.",
        ],
    };
    lines.iter().map(|s| s.to_string()).collect()
}

fn code<'a>(row: &'a ShareRow, field: &str) -> Option<&'a str> {
    row.keys.get(field).and_then(|v| v.as_deref())
}

/// Gathers the report of `month` from the current dataset version.
pub async fn build(app: &App, month: Period, lang: Lang) -> Result<Report, AppError> {
    let span = |from: Period, to: Period, by: Option<&str>| ShareParams {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        by: by.map(str::to_string),
        ..ShareParams::default()
    };
    let back = |n: i32| month.add_months(-n).unwrap_or(month);
    let january = Period::new(month.year(), 1).expect("January");
    let this = app.share(&span(month, month, None)).await?;
    let previous = app.share(&span(back(1), back(1), None)).await?;
    let last_year = app.share(&span(back(12), back(12), None)).await?;
    let ytd = app.share(&span(january, month, None)).await?;
    let trend = app.share(&span(back(TREND_MONTHS - 1), month, Some("period"))).await?;
    let districts = app.share(&span(month, month, Some("district"))).await?;
    let districts_before = app.share(&span(back(1), back(1), Some("district"))).await?;
    let districts_last_year = app.share(&span(back(12), back(12), Some("district"))).await?;
    let sectors = app.share(&span(month, month, Some("sector"))).await?;
    let cross = app.share(&span(month, month, Some("district,sector"))).await?;

    let share_of = |rows: &[ShareRow], district: &str| {
        rows.iter()
            .find(|r| code(r, "district_code") == Some(district))
            .and_then(|r| r.share)
    };
    let mut ranked: Vec<(&str, f64)> = districts
        .rows
        .iter()
        .filter_map(|r| Some((code(r, "district_code")?, r.share?)))
        .collect();
    // Highest share first; ties by code, so the order never depends on chance.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let district_lines = districts
        .rows
        .iter()
        .map(|r| {
            let d = code(r, "district_code").unwrap_or("");
            let before = share_of(&districts_before.rows, d);
            let year_ago = share_of(&districts_last_year.rows, d);
            DistrictLine {
                figures: r.clone(),
                rank: ranked.iter().position(|(c, _)| *c == d).map(|i| i + 1),
                previous_month_share: before,
                change_on_previous_month_pp: change_pp(r.share, before),
                same_month_last_year_share: year_ago,
                change_on_last_year_pp: change_pp(r.share, year_ago),
            }
        })
        .collect();

    let manifest = app.manifest()?;
    let files = manifest.batches.iter().flat_map(|b| &b.files);
    let quality = Quality {
        filings: this.total.filings,
        units: this.total.units,
        previous_month_filings: previous.total.filings,
        previous_month_units: previous.total.units,
        files_ingested: files.clone().count() as u64,
        records_received: files.clone().map(|f| f.records).sum(),
        records_rejected: files.map(|f| f.rejected).sum(),
    };
    let mut report = Report {
        month: month.to_string(),
        language: match lang {
            Lang::Vi => "vi",
            Lang::En => "en",
        },
        dataset_version: this.dataset_version,
        dataset_committed_at: manifest.committed_at.clone(),
        target: this.target,
        headline: Headline {
            change_on_last_year_pp: change_pp(this.total.share, last_year.total.share),
            change_on_previous_month_pp: change_pp(this.total.share, previous.total.share),
            month: this.total,
            year_to_date: ytd.total,
            same_month_last_year: last_year.total,
        },
        trend: trend.rows,
        districts: district_lines,
        sectors: sectors.rows,
        district_sector: cross.rows.into_iter().filter(|r| r.filings > 0).collect(),
        quality,
        methodology: methodology(lang),
        content_sha256: String::new(),
    };
    let digest = Sha256::digest(to_json(&report).as_bytes());
    report.content_sha256 = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(report)
}

/// The report as pretty JSON (fields in a fixed order, so the same report
/// gives the same bytes).
pub fn to_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report serializes");
    text.push('\n');
    text
}

/// Writes `report.json` into `dir` (created if missing), atomically: a
/// temporary file, synced, then renamed over any earlier one.
pub fn write(report: &Report, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("report.json");
    let tmp = dir.join(".report.json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(to_json(report).as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(vec![path])
}
