//! Monthly report to the ministries: the figures of one month gathered into
//! one plain structure — headline, trend, districts (with rank and changes),
//! sectors, district × sector, data quality, methodology, and from 2025-07
//! an annex by commune — and written as
//! `report.pdf` (see `pdf.rs`), `report.html`, `report.xlsx` and
//! `report.json`.
//!
//! Every figure comes from `App::share` (the share API's figures); this
//! module selects and arranges them. The report is a function of the dataset
//! version: its date is the version's commit time, never the clock, so the
//! same version gives byte-identical files. Knows nothing of HTTP or of
//! DataFusion.

pub mod pdf;
pub mod scheduler;

use crate::domain::Period;
use crate::domain::share::change_pp;
use crate::present::locale::Lang;
use crate::service::{App, AppError, Audience, ShareParams, ShareRow};
use serde::Serialize;
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

fn methodology(
    lang: Lang,
    rule: &crate::domain::disclosure::Rule,
    reference: &crate::domain::Reference,
) -> Vec<String> {
    let lines: [&str; 4] = match lang {
        Lang::Vi => [
            "Tỷ trọng doanh thu thương mại điện tử = Σ(trọng số × doanh thu TMĐT) / Σ(trọng số × tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng), tính trên các báo cáo có hiệu lực; là tỷ số của hai tổng, không phải bình quân các tỷ số.",
            "Báo cáo điều chỉnh thay thế báo cáo trước của cùng đơn vị, huyện, xã (từ kỳ 2025-07), mã ngành VSIC và kỳ: báo cáo nộp sau cùng được tính.",
            "Mục tiêu: 7% (2022), 8,5% (2023), 10% (2025) theo kế hoạch chuyển đổi số quốc gia và Quyết định 645/QĐ-TTg; năm chưa có mục tiêu riêng dùng mục tiêu gần nhất trước đó.",
            "Các tổng được tính chính xác (không làm tròn); việc đạt hay chưa đạt mục tiêu được quyết định trên số nguyên.",
        ],
        Lang::En => [
            "E-commerce share = Σ(weight × e-commerce revenue) / Σ(weight × total retail sales of goods and consumer services) over the effective filings: a ratio of two sums, not a mean of ratios.",
            "A revision replaces the earlier filing of the same unit, district, commune (from 2025-07), VSIC code and period: the latest submission counts.",
            "Targets: 7% (2022), 8.5% (2023), 10% (2025) under the national digital transformation plan and Decision 645/QĐ-TTg; a year without a target of its own uses the latest earlier one.",
            "Sums are exact (no rounding); whether a target is met is decided on integers.",
        ],
    };
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    // The 2025 reform: how the district series continues, and the units
    // that span two former districts.
    let district_name = |code: &str| {
        reference
            .district(code)
            .map_or_else(|| code.to_string(), |d| d.district_name.clone())
    };
    let spanning: Vec<String> = reference
        .spanning_communes()
        .map(|c| {
            let others: Vec<String> = c.spans[1..].iter().map(|d| district_name(d)).collect();
            match lang {
                Lang::Vi => format!(
                    "{} ({}; tính vào {}, gồm cả phần của {})",
                    c.commune_name,
                    c.commune_code,
                    district_name(&c.district_code),
                    others.join(", ")
                ),
                Lang::En => format!(
                    "{} ({}; counted in {}, including its part of {})",
                    c.commune_name,
                    c.commune_code,
                    district_name(&c.district_code),
                    others.join(", ")
                ),
            }
        })
        .collect();
    if !reference.communes.is_empty() {
        out.push(match lang {
            Lang::Vi => format!(
                "Sắp xếp đơn vị hành chính 2025: từ ngày 01/7/2025 cấp huyện không còn; báo cáo từ kỳ 2025-07 ghi mã xã, phường ({} đơn vị). Để chuỗi số liệu theo huyện liên tục, từ kỳ 2025-07 một huyện là địa bàn cũ của huyện đó: các xã, phường có huyện cũ là huyện đó theo nguyên tắc đa số (xã nhập toàn bộ tính 1, nhập một phần tính 0,5). Các đơn vị nằm trên địa bàn hai huyện cũ: {}. Đông Sơn (405) đã nhập vào thành phố Thanh Hóa (380) từ ngày 01/01/2025.",
                reference.communes.len(),
                spanning.join("; ")
            ),
            Lang::En => format!(
                "The 2025 administrative reform: from 1 July 2025 the district level no longer exists; filings from 2025-07 name their commune ({} units). To keep the district series continuous, from 2025-07 a district means its former area: the communes whose former district it is, by the majority rule (a commune merged whole counts 1, in part 0.5). Units spanning two former districts: {}. Đông Sơn (405) merged into Thanh Hóa city (380) on 1 January 2025.",
                reference.communes.len(),
                spanning.join("; ")
            ),
        });
    }
    out.push(match lang {
        Lang::Vi => format!(
            "Bảo mật số liệu: ô có dưới {} doanh nghiệp (đơn vị phụ thuộc tính theo mã số thuế của doanh nghiệp mẹ), hoặc có {} doanh nghiệp lớn nhất chiếm trên {}% tổng mức bán lẻ của ô, được ẩn số liệu (ký hiệu {}); sau đó ẩn thêm các ô khác (ưu tiên ô có doanh thu nhỏ nhất) để không ô bị ẩn nào có thể tính ngược chính xác từ các ô và tổng cộng được công bố của cùng bảng (bảng một và hai chiều có dòng tổng).",
            rule.min_enterprises, rule.dominance_n, rule.dominance_percent, crate::present::locale::SUPPRESSED
        ),
        Lang::En => format!(
            "Disclosure control: a cell with fewer than {} enterprises (dependent units counted under their parent's tax code), or whose {} largest enterprises hold more than {}% of its retail sales, is suppressed (shown {}); further cells (the smallest first) are then suppressed so that no suppressed cell can be computed exactly from the published cells and totals of the same table (one- and two-dimensional tables with margins).",
            rule.min_enterprises, rule.dominance_n, rule.dominance_percent, crate::present::locale::SUPPRESSED
        ),
    });
    out
}

fn code<'a>(row: &'a ShareRow, field: &str) -> Option<&'a str> {
    row.keys.get(field).and_then(|v| v.as_deref())
}

/// Gathers the report of `month` from the current dataset version.
pub async fn build(app: &App, month: Period, lang: Lang) -> Result<Report, AppError> {
    // A report is a publication: its figures are protected by disclosure control.
    let span = |from: Period, to: Period, by: Option<&str>| ShareParams {
        audience: Audience::Protected,
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
    let communes = if month >= crate::domain::reference::REFORM {
        app.share(&span(month, month, Some("commune"))).await?.rows
    } else {
        Vec::new()
    };

    let share_of = |rows: &[ShareRow], district: &str| {
        rows.iter()
            .find(|r| code(r, "district_code") == Some(district))
            .and_then(|r| r.share)
    };
    let ranked = ranking(&districts.rows, "district_code");
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
    let previous_report_version = list(&app.data_dir().join("reports"))
        .into_iter()
        .find(|r| r.month == back(1).to_string())
        .map(|r| r.dataset_version)
        .filter(|v| *v <= this.dataset_version);
    let revisions_since_previous_report = match previous_report_version {
        Some(v) => Some(revisions_between(app, v, this.dataset_version).await?),
        None => None,
    };
    let files = manifest.batches.iter().flat_map(|b| &b.files);
    let quality = Quality {
        filings: this.total.filings,
        units: this.total.units,
        previous_month_filings: previous.total.filings,
        previous_month_units: previous.total.units,
        files_ingested: files.clone().count() as u64,
        records_received: files.clone().map(|f| f.records).sum(),
        records_rejected: files.map(|f| f.rejected).sum(),
        previous_report_version,
        revisions_since_previous_report,
    };
    let reference = app.reference()?;
    let mut report = Report {
        month: month.to_string(),
        language: lang_code(lang),
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
        series_break: (back(12) < crate::domain::reference::REFORM && month >= crate::domain::reference::REFORM)
            .then_some(crate::domain::reference::REFORM_TEXT),
        sectors: sectors.rows,
        district_sector: cross
            .rows
            .into_iter()
            .filter(|r| r.filings > 0 || r.suppressed)
            .collect(),
        communes: {
            let ranked = ranking(&communes, "commune_code");
            let mut lines: Vec<RankedLine> = communes
                .into_iter()
                .filter(|r| r.filings > 0 || r.suppressed)
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
        },
        quality,
        methodology: methodology(lang, &app.disclosure_rule(), &reference),
        content_sha256: String::new(),
        charts: Vec::new(),
    };
    let size = crate::present::charts::Size::new(900, 420).expect("a valid chart size");
    for (kind, params) in [
        (crate::present::dashboard::ChartKind::Trend, span(month, month, None)),
        (
            crate::present::dashboard::ChartKind::Districts,
            span(month, month, None),
        ),
    ] {
        let chart = crate::present::dashboard::chart(app, kind, &params, lang).await?;
        let alt = crate::present::charts::describe(&chart);
        let svg =
            crate::present::charts::render(&chart, crate::present::charts::Format::Svg, size, lang).map_err(|e| {
                AppError::BadParameter {
                    code: "chart_failed",
                    message: e.to_string(),
                }
            })?;
        report.charts.push((alt, String::from_utf8_lossy(&svg).into_owned()));
    }
    report.content_sha256 = crate::util::digest::sha256_hex(to_json(&report).as_bytes());
    Ok(report)
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
    let plan = app.query_plan("revisions", params, None, crate::present::tabular::Format::Json)?;
    let body = app.run_query(&plan).await?.collect().await?;
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| AppError::BadParameter {
        code: "query_failed",
        message: e.to_string(),
    })?;
    Ok(value["row_count"].as_u64().unwrap_or(0))
}

/// The report as pretty JSON (fields in a fixed order, so the same report
/// gives the same bytes).
pub fn to_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("a report serializes");
    text.push('\n');
    text
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("building the workbook: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("building the PDF: {0}")]
    Pdf(#[from] crate::report::pdf::PdfError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl ReportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io_error",
            Self::Xlsx(_) | Self::Pdf(_) => "report_failed",
            Self::App(e) => e.code(),
        }
    }
}

/// The files of a report bundle, by name.
pub fn files(report: &Report) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    Ok(vec![
        ("report.json", to_json(report).into_bytes()),
        ("report.pdf", crate::report::pdf::render(report)?),
        ("report.html", to_html(report).into_bytes()),
        ("report.xlsx", to_xlsx(report)?),
    ])
}

/// Writes the bundle into `dir` (created if missing), each file atomically:
/// a temporary file, synced, then renamed over any earlier one.
pub fn write(report: &Report, dir: &Path) -> Result<Vec<std::path::PathBuf>, ReportError> {
    use std::io::Write;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    for (name, bytes) in files(report)? {
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// The archive's directory of bundles, under `DATA/reports/`.
pub const BUNDLES: &str = ".bundles";

/// A report kept in the archive: its bundle and what it reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generated {
    /// The bundle's directory under `DATA/reports/.bundles/`.
    pub bundle: String,
    pub month: String,
    pub language: String,
    pub dataset_version: u64,
    pub dataset_committed_at: String,
    pub content_sha256: String,
    /// False when the archive already held this month's report of this
    /// dataset version in this language, which was kept as it was.
    pub generated: bool,
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The month's report of the current dataset version, archived under
/// `archive` (`DATA/reports`): built and written unless the archive already
/// has it for this version and language — a report is never generated
/// twice for the same month and dataset version.
pub async fn generate(app: &App, month: Period, lang: Lang, archive: &Path) -> Result<Generated, ReportError> {
    let version = app.manifest()?.version;
    let language = lang_code(lang);
    let prefix = format!("{month}-{language}-v{version}-");
    let existing = std::fs::read_dir(archive.join(BUNDLES)).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix) && archive.join(BUNDLES).join(n).join("report.json").is_file())
            .min()
    });
    if let Some(bundle) = existing {
        let dir = archive.join(BUNDLES).join(&bundle);
        let meta: serde_json::Value = std::fs::read(dir.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        point_month(archive, &month.to_string(), &bundle)?;
        return Ok(Generated {
            bundle,
            month: month.to_string(),
            language: language.to_string(),
            dataset_version: version,
            dataset_committed_at: meta["dataset_committed_at"].as_str().unwrap_or_default().to_string(),
            content_sha256: meta["content_sha256"].as_str().unwrap_or_default().to_string(),
            generated: false,
        });
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

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "vi",
        Lang::En => "en",
    }
}

/// Archives a report: its bundle is written once, complete, into
/// `archive/.bundles/NAME/` (a staging directory renamed into place) and
/// never changed after; then `archive/MONTH` is pointed at it by an atomic
/// symlink swap. A crash leaves the month on its old bundle or its new one.
/// Returns the bundle's name.
pub fn archive_report(report: &Report, archive: &Path) -> Result<String, ReportError> {
    let name = format!(
        "{}-{}-v{}-{}",
        report.month,
        report.language,
        report.dataset_version,
        &report.content_sha256[..12]
    );
    let bundles = archive.join(BUNDLES);
    let dir = bundles.join(&name);
    if !dir.join("report.json").is_file() {
        std::fs::create_dir_all(&bundles).map_err(io_at(&bundles))?;
        let staging = bundles.join(format!(".staging-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        write(report, &staging)?;
        crate::util::durable::sync_dir(&staging).map_err(io_at(&staging))?;
        if let Err(e) = std::fs::rename(&staging, &dir) {
            // Another process archived the same bundle first: same bytes.
            let _ = std::fs::remove_dir_all(&staging);
            if !dir.join("report.json").is_file() {
                return Err(io_at(&dir)(e));
            }
        }
        crate::util::durable::sync_dir(&bundles).map_err(io_at(&bundles))?;
    }
    point_month(archive, &report.month, &name)?;
    Ok(name)
}

/// Points `archive/MONTH` at a bundle (a relative symlink, swapped
/// atomically). A month directory of the older layout is moved into the
/// bundles first.
fn point_month(archive: &Path, month: &str, bundle: &str) -> Result<(), ReportError> {
    let link = archive.join(month);
    let target = Path::new(BUNDLES).join(bundle);
    if std::fs::read_link(&link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    if std::fs::symlink_metadata(&link).is_ok_and(|m| m.is_dir()) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let moved = archive.join(BUNDLES).join(format!("legacy-{month}-{nanos}"));
        std::fs::rename(&link, &moved).map_err(io_at(&link))?;
    }
    let tmp = archive.join(format!(".{month}.{}.link", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp).map_err(io_at(&tmp))?;
    std::fs::rename(&tmp, &link).map_err(io_at(&link))?;
    crate::util::durable::sync_dir(archive).map_err(io_at(archive))
}

/// One cell of a report sheet.
enum Val {
    Text(String),
    /// Exact decimal đồng, stored as a number.
    Money(String),
    Share(Option<f64>),
    Points(Option<f64>),
    Count(u64),
}

fn money(s: &str) -> Val {
    if s.is_empty() {
        Val::Text(crate::present::locale::SUPPRESSED.to_string())
    } else {
        Val::Money(s.to_string())
    }
}

fn name_of(row: &ShareRow, field: &str) -> Val {
    Val::Text(code(row, field).unwrap_or("").to_string())
}

fn figure_cells(r: &ShareRow, lang: Lang) -> Vec<Val> {
    vec![
        money(&r.total_revenue_vnd),
        money(&r.ecommerce_revenue_vnd),
        Val::Share(r.share),
        Val::Share(r.target),
        Val::Points(r.gap_pp),
        Val::Text(crate::present::locale::status_label(r.status, lang).to_string()),
        if r.suppressed {
            Val::Text(crate::present::locale::SUPPRESSED.to_string())
        } else {
            Val::Count(r.filings)
        },
        if r.suppressed {
            Val::Text(crate::present::locale::SUPPRESSED.to_string())
        } else {
            Val::Count(r.units)
        },
    ]
}

fn figure_headers(lang: Lang) -> Vec<&'static str> {
    match lang {
        Lang::Vi => vec![
            "Tổng mức bán lẻ (đồng)",
            "Doanh thu TMĐT (đồng)",
            "Tỷ trọng TMĐT",
            "Mục tiêu",
            "Chênh lệch (điểm %)",
            "Tình trạng",
            "Số báo cáo",
            "Số đơn vị",
        ],
        Lang::En => vec![
            "Total retail sales (VND)",
            "E-commerce revenue (VND)",
            "E-commerce share",
            "Target",
            "Gap (points)",
            "Status",
            "Filings",
            "Units",
        ],
    }
}

/// The report as an Excel workbook: sheets Summary, Districts, Sectors,
/// District×Sector, Monthly trend and Methodology, numbers stored as numbers
/// with vi-VN display formats. Its document date is the dataset version's
/// commit time, so the same report gives the same bytes.
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let vi = report.language == "vi";
    let lang = if vi { Lang::Vi } else { Lang::En };
    let mut wb = Workbook::new();
    let created = chrono::DateTime::parse_from_rfc3339(&report.dataset_committed_at)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_string());
    wb.set_properties(
        &DocProperties::new()
            .set_title(if vi {
                "Báo cáo tỷ trọng thương mại điện tử"
            } else {
                "E-commerce share report"
            })
            .set_creation_datetime(&ExcelDateTime::parse_from_str(&created)?),
    );
    let header = Format::new().set_bold().set_text_wrap();
    let formats = [
        Format::new().set_num_format("[$-42A]#,##0"),
        Format::new().set_num_format("[$-42A]0.00%"),
        Format::new().set_num_format("[$-42A]0.00"),
        Format::new().set_num_format("[$-42A]#,##0"),
    ];
    let mut sheet = |name: &str, headers: &[&str], rows: Vec<Vec<Val>>| -> Result<(), rust_xlsxwriter::XlsxError> {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &header)?;
            ws.set_column_width(c as u16, (h.chars().count() as f64 * 1.1).clamp(12.0, 40.0))?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (r, row) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Val::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Val::Money(s) => {
                        ws.write_number_with_format(r, c, s.parse::<f64>().unwrap_or(0.0), &formats[0])?;
                    }
                    Val::Share(Some(x)) => {
                        ws.write_number_with_format(r, c, *x, &formats[1])?;
                    }
                    Val::Points(Some(x)) => {
                        ws.write_number_with_format(r, c, *x, &formats[2])?;
                    }
                    Val::Count(n) => {
                        ws.write_number_with_format(r, c, *n as f64, &formats[3])?;
                    }
                    Val::Share(None) | Val::Points(None) => {}
                }
            }
        }
        Ok(())
    };

    let h = &report.headline;
    let summary: Vec<(&str, &str, Val)> = vec![
        ("Tháng báo cáo", "Month", Val::Text(report.month.clone())),
        (
            "Phiên bản dữ liệu",
            "Dataset version",
            Val::Count(report.dataset_version),
        ),
        (
            "Thời điểm dữ liệu",
            "Dataset committed at",
            Val::Text(report.dataset_committed_at.clone()),
        ),
        ("Mục tiêu năm", "Target for the year", Val::Share(report.target)),
        (
            "Tỷ trọng TMĐT của tháng",
            "E-commerce share, month",
            Val::Share(h.month.share),
        ),
        (
            "Tổng mức bán lẻ của tháng (đồng)",
            "Total retail sales, month (VND)",
            money(&h.month.total_revenue_vnd),
        ),
        (
            "Doanh thu TMĐT của tháng (đồng)",
            "E-commerce revenue, month (VND)",
            money(&h.month.ecommerce_revenue_vnd),
        ),
        (
            "Tỷ trọng TMĐT lũy kế năm",
            "E-commerce share, year to date",
            Val::Share(h.year_to_date.share),
        ),
        (
            "Chênh lệch so với mục tiêu, lũy kế (điểm %)",
            "Gap to target, year to date (points)",
            Val::Points(h.year_to_date.gap_pp),
        ),
        (
            "Tình trạng, lũy kế",
            "Status, year to date",
            Val::Text(crate::present::locale::status_label(h.year_to_date.status, lang).to_string()),
        ),
        (
            "Doanh thu TMĐT còn cần để đạt mục tiêu (đồng)",
            "E-commerce revenue still needed (VND)",
            h.year_to_date
                .ecommerce_needed_vnd
                .as_deref()
                .map_or(Val::Text(String::new()), money),
        ),
        (
            "So với tháng trước (điểm %)",
            "Change on the previous month (points)",
            Val::Points(h.change_on_previous_month_pp),
        ),
        (
            "So với cùng tháng năm trước (điểm %)",
            "Change on the same month last year (points)",
            Val::Points(h.change_on_last_year_pp),
        ),
        (
            "Số báo cáo có hiệu lực",
            "Effective filings",
            Val::Count(report.quality.filings),
        ),
        ("Số đơn vị báo cáo", "Reporting units", Val::Count(report.quality.units)),
        (
            "Số báo cáo tháng trước",
            "Filings, previous month",
            Val::Count(report.quality.previous_month_filings),
        ),
        (
            "Số bản ghi bị từ chối",
            "Records rejected",
            Val::Count(report.quality.records_rejected),
        ),
        (
            "Số báo cáo được điều chỉnh từ báo cáo tháng trước",
            "Filings revised since the previous report",
            report
                .quality
                .revisions_since_previous_report
                .map_or(Val::Text("—".into()), Val::Count),
        ),
        (
            "Mã kiểm tra nội dung (SHA-256)",
            "Content hash (SHA-256)",
            Val::Text(report.content_sha256.clone()),
        ),
    ];
    sheet(
        if vi { "Tóm tắt" } else { "Summary" },
        &[
            if vi { "Chỉ tiêu" } else { "Item" },
            if vi { "Giá trị" } else { "Value" },
        ],
        summary
            .into_iter()
            .map(|(v, e, val)| vec![Val::Text(if vi { v } else { e }.to_string()), val])
            .collect(),
    )?;

    let mut head = vec![
        if vi { "Mã huyện" } else { "District code" },
        if vi { "Huyện" } else { "District" },
    ];
    head.extend(figure_headers(lang));
    head.extend(if vi {
        [
            "Xếp hạng",
            "So với tháng trước (điểm %)",
            "So với cùng kỳ năm trước (điểm %)",
        ]
    } else {
        [
            "Rank",
            "Change on previous month (points)",
            "Change on last year (points)",
        ]
    });
    let rows = report
        .districts
        .iter()
        .map(|d| {
            let mut row = vec![
                name_of(&d.figures, "district_code"),
                name_of(&d.figures, "district_name"),
            ];
            row.extend(figure_cells(&d.figures, lang));
            row.push(d.rank.map_or(Val::Text(String::new()), |r| Val::Count(r as u64)));
            row.push(Val::Points(d.change_on_previous_month_pp));
            row.push(Val::Points(d.change_on_last_year_pp));
            row
        })
        .collect();
    sheet(if vi { "Huyện" } else { "Districts" }, &head, rows)?;

    let mut head = vec![
        if vi { "Mã nhóm ngành" } else { "Sector code" },
        if vi { "Nhóm ngành" } else { "Sector" },
    ];
    head.extend(figure_headers(lang));
    let rows = report
        .sectors
        .iter()
        .map(|r| {
            let mut row = vec![name_of(r, "sector_code"), name_of(r, "sector_name")];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(if vi { "Nhóm ngành" } else { "Sectors" }, &head, rows)?;

    let mut head = vec![
        if vi { "Mã huyện" } else { "District code" },
        if vi { "Huyện" } else { "District" },
        if vi { "Mã nhóm ngành" } else { "Sector code" },
        if vi { "Nhóm ngành" } else { "Sector" },
    ];
    head.extend(figure_headers(lang));
    let rows = report
        .district_sector
        .iter()
        .map(|r| {
            let mut row = vec![
                name_of(r, "district_code"),
                name_of(r, "district_name"),
                name_of(r, "sector_code"),
                name_of(r, "sector_name"),
            ];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(if vi { "Huyện × Ngành" } else { "District×Sector" }, &head, rows)?;

    if !report.communes.is_empty() {
        let mut head = vec![
            if vi { "Mã xã" } else { "Commune code" },
            if vi { "Xã, phường" } else { "Commune" },
            if vi { "Huyện cũ" } else { "Former district" },
        ];
        head.extend(figure_headers(lang));
        head.push(if vi { "Xếp hạng" } else { "Rank" });
        let rows = report
            .communes
            .iter()
            .map(|c| {
                let mut row = vec![
                    name_of(&c.figures, "commune_code"),
                    name_of(&c.figures, "commune_name"),
                    Val::Text(c.former_district.clone()),
                ];
                row.extend(figure_cells(&c.figures, lang));
                row.push(c.rank.map_or(Val::Text(String::new()), |r| Val::Count(r as u64)));
                row
            })
            .collect();
        sheet(
            if vi {
                "Phụ lục xã, phường"
            } else {
                "Annex communes"
            },
            &head,
            rows,
        )?;
    }

    let mut head = vec![if vi { "Tháng" } else { "Month" }];
    head.extend(figure_headers(lang));
    let rows = report
        .trend
        .iter()
        .map(|r| {
            let mut row = vec![name_of(r, "period")];
            row.extend(figure_cells(r, lang));
            row
        })
        .collect();
    sheet(
        if vi {
            "Diễn biến theo tháng"
        } else {
            "Monthly trend"
        },
        &head,
        rows,
    )?;

    sheet(
        if vi { "Phương pháp" } else { "Methodology" },
        &[if vi { "Phương pháp tính" } else { "Methodology" }],
        report.methodology.iter().map(|m| vec![Val::Text(m.clone())]).collect(),
    )?;
    wb.save_to_buffer()
}

/// The files a report bundle may hold, with their media types.
pub const FILES: [(&str, &str); 4] = [
    ("report.json", "application/json"),
    ("report.pdf", "application/pdf"),
    ("report.html", "text/html; charset=utf-8"),
    (
        "report.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
];

/// A report kept in the archive (`DATA/reports/YYYY-MM/`).
#[derive(Debug, Clone, Serialize)]
pub struct Archived {
    pub month: String,
    pub language: String,
    pub dataset_version: u64,
    pub dataset_committed_at: String,
    pub content_sha256: String,
    pub files: Vec<ArchivedFile>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchivedFile {
    pub name: String,
    pub bytes: u64,
    pub href: String,
}

/// The reports kept under `archive`, newest month first. A directory
/// without a readable `report.json` is not a report and is skipped.
pub fn list(archive: &Path) -> Vec<Archived> {
    let Ok(entries) = std::fs::read_dir(archive) else {
        return Vec::new();
    };
    let mut out: Vec<Archived> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let month = e.file_name().to_string_lossy().into_owned();
            Period::parse(&month)?;
            let dir = e.path();
            let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).ok()?).ok()?;
            let files = FILES
                .iter()
                .filter_map(|(name, _)| {
                    let bytes = std::fs::metadata(dir.join(name)).ok()?.len();
                    Some(ArchivedFile {
                        name: name.to_string(),
                        bytes,
                        href: format!("/api/v1/reports/{month}/{name}"),
                    })
                })
                .collect();
            Some(Archived {
                language: meta["language"].as_str()?.to_string(),
                dataset_version: meta["dataset_version"].as_u64()?,
                dataset_committed_at: meta["dataset_committed_at"].as_str()?.to_string(),
                content_sha256: meta["content_sha256"].as_str()?.to_string(),
                month,
                files,
            })
        })
        .collect();
    out.sort_by(|a, b| b.month.cmp(&a.month));
    out
}

/// The bytes and media type of one archived file; `None` for a month or a
/// name that is not a report's (so no path outside the archive is read).
pub fn archived_file(archive: &Path, month: &str, name: &str) -> Option<(Vec<u8>, &'static str)> {
    let month = Period::parse(month)?.to_string();
    let (name, media) = FILES.iter().find(|(n, _)| *n == name)?;
    let bytes = std::fs::read(archive.join(month).join(name)).ok()?;
    Some((bytes, media))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A section of the report as text: a heading, column heads, rows.
pub struct Section {
    pub heading: &'static str,
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The report as text for people, in its language: the sections that the
/// HTML page and the PDF both show, labelled and formatted once.
pub struct Shown {
    pub title: &'static str,
    pub version_label: &'static str,
    pub headline: Section,
    pub districts: Section,
    pub sectors: Section,
    pub quality: Section,
    pub methodology_heading: &'static str,
    /// Said under the districts when their comparisons cross the reform.
    pub series_break_note: Option<&'static str>,
    /// The annex by commune (months from the 2025 reform).
    pub communes: Option<Section>,
}

pub fn shown(report: &Report) -> Shown {
    use crate::present::locale::{integer, percent, points, status_label, ty_dong};
    let vi = report.language == "vi";
    let lang = if vi { Lang::Vi } else { Lang::En };
    let t = |v: &'static str, e: &'static str| if vi { v } else { e };
    let pct = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| percent(x, 2, lang));
    let pp = |x: Option<f64>| x.map_or_else(|| "—".to_string(), |x| points(x, 2, lang));
    let money = |s: &str| {
        if s.is_empty() {
            crate::present::locale::SUPPRESSED.to_string()
        } else {
            ty_dong(s.parse::<f64>().unwrap_or(0.0), 2, lang)
        }
    };
    let count = |n: Option<u64>| n.map_or_else(|| "—".to_string(), |n| integer(i128::from(n), lang));
    let key = |r: &ShareRow, f: &str| code(r, f).unwrap_or("").to_string();
    let labelled = |heading, lines: Vec<(&'static str, String)>| Section {
        heading,
        head: Vec::new(),
        rows: lines.into_iter().map(|(l, v)| vec![l.to_string(), v]).collect(),
    };
    let h = &report.headline;
    let q = &report.quality;
    Shown {
        title: t(
            "Tỷ trọng doanh thu thương mại điện tử trong tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng, tỉnh Thanh Hóa",
            "E-commerce share of total retail sales of goods and consumer services, Thanh Hóa province",
        ),
        version_label: t("Phiên bản dữ liệu", "Dataset version"),
        headline: labelled(
            t("Chỉ tiêu chính", "Headline"),
            vec![
                (
                    t("Tỷ trọng TMĐT của tháng", "E-commerce share, month"),
                    pct(h.month.share),
                ),
                (
                    t("Tỷ trọng TMĐT lũy kế năm", "E-commerce share, year to date"),
                    pct(h.year_to_date.share),
                ),
                (t("Mục tiêu năm", "Target for the year"), pct(report.target)),
                (
                    t("Chênh lệch so với mục tiêu, lũy kế", "Gap to target, year to date"),
                    pp(h.year_to_date.gap_pp),
                ),
                (
                    t("Tình trạng, lũy kế", "Status, year to date"),
                    status_label(h.year_to_date.status, lang).to_string(),
                ),
                (
                    t(
                        "Doanh thu TMĐT còn thiếu để đạt mục tiêu",
                        "E-commerce revenue still needed",
                    ),
                    h.year_to_date
                        .ecommerce_needed_vnd
                        .as_deref()
                        .map_or_else(|| "—".into(), money),
                ),
                (
                    t("So với tháng trước", "Change on the previous month"),
                    pp(h.change_on_previous_month_pp),
                ),
                (
                    t("So với cùng tháng năm trước", "Change on the same month last year"),
                    pp(h.change_on_last_year_pp),
                ),
            ],
        ),
        districts: Section {
            heading: t("Theo huyện", "By district"),
            head: vec![
                t("Mã", "Code"),
                t("Huyện", "District"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
                t("Chênh lệch", "Gap"),
                t("Xếp hạng", "Rank"),
                t("So với tháng trước", "On previous month"),
                t("So với cùng kỳ", "On last year"),
            ],
            rows: report
                .districts
                .iter()
                .map(|d| {
                    let f = &d.figures;
                    vec![
                        key(f, "district_code"),
                        key(f, "district_name"),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                        pp(f.gap_pp),
                        d.rank.map_or_else(|| "—".into(), |r| r.to_string()),
                        pp(d.change_on_previous_month_pp),
                        pp(d.change_on_last_year_pp),
                    ]
                })
                .collect(),
        },
        sectors: Section {
            heading: t("Theo nhóm ngành", "By sector group"),
            head: vec![
                t("Mã", "Code"),
                t("Nhóm ngành", "Sector group"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
            ],
            rows: report
                .sectors
                .iter()
                .map(|f| {
                    vec![
                        key(f, "sector_code"),
                        key(f, "sector_name"),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                    ]
                })
                .collect(),
        },
        quality: labelled(
            t("Chất lượng số liệu", "Data quality"),
            vec![
                (
                    t("Số báo cáo có hiệu lực trong tháng", "Effective filings this month"),
                    count(Some(q.filings)),
                ),
                (
                    t("Số đơn vị báo cáo trong tháng", "Reporting units this month"),
                    count(Some(q.units)),
                ),
                (
                    t("Số báo cáo tháng trước", "Filings the month before"),
                    count(Some(q.previous_month_filings)),
                ),
                (
                    t("Số đơn vị tháng trước", "Units the month before"),
                    count(Some(q.previous_month_units)),
                ),
                (t("Số tệp đã nhận", "Files ingested"), count(Some(q.files_ingested))),
                (
                    t("Số bản ghi đã nhận", "Records received"),
                    count(Some(q.records_received)),
                ),
                (
                    t("Số bản ghi bị từ chối", "Records rejected"),
                    count(Some(q.records_rejected)),
                ),
                (
                    t(
                        "Số báo cáo được điều chỉnh từ báo cáo tháng trước",
                        "Filings revised since the previous report",
                    ),
                    count(q.revisions_since_previous_report),
                ),
            ],
        ),
        methodology_heading: t("Phương pháp tính", "Methodology"),
        series_break_note: report.series_break.map(|_| {
            t(
                "Các so sánh theo huyện vượt qua mốc 01/7/2025 (bỏ cấp huyện): từ tháng 7/2025 số liệu của huyện là của địa bàn cũ của huyện (các xã, phường có huyện cũ là huyện đó), xem Phương pháp tính.",
                "District comparisons reach back across 1 July 2025 (districts abolished): from July 2025 a district's figures are its former area's (the communes whose former district it is); see Methodology.",
            )
        }),
        communes: (!report.communes.is_empty()).then(|| Section {
            heading: t("Phụ lục: theo xã, phường", "Annex: by commune"),
            head: vec![
                t("Mã", "Code"),
                t("Xã, phường", "Commune"),
                t("Huyện cũ", "Former district"),
                t("Tổng mức bán lẻ", "Total retail sales"),
                t("Doanh thu TMĐT", "E-commerce revenue"),
                t("Tỷ trọng", "Share"),
                t("Chênh lệch", "Gap"),
                t("Xếp hạng", "Rank"),
            ],
            rows: report
                .communes
                .iter()
                .map(|c| {
                    let f = &c.figures;
                    vec![
                        key(f, "commune_code"),
                        key(f, "commune_name"),
                        c.former_district.clone(),
                        money(&f.total_revenue_vnd),
                        money(&f.ecommerce_revenue_vnd),
                        pct(f.share),
                        pp(f.gap_pp),
                        c.rank.map_or_else(|| "—".into(), |r| r.to_string()),
                    ]
                })
                .collect(),
        }),
    }
}

/// The report as one self-contained, printable HTML page: the same figures
/// as the JSON and the workbook, the two charts inline as SVG, numbers in
/// the reader's format.
pub fn to_html(report: &Report) -> String {
    let vi = report.language == "vi";
    let shown = shown(report);
    let mut o = String::new();
    o.push_str(&format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title><style>\
         body{{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#111}}\
         table{{border-collapse:collapse;width:100%;margin:.6rem 0 1.2rem}}th,td{{border:1px solid #bbb;padding:.2rem .4rem;text-align:right}}\
         th:nth-child(-n+2),td:first-child,td.t{{text-align:left}}h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.6rem}}\
         figure{{margin:0}}svg{{max-width:100%;height:auto}}.meta{{color:#444;font-size:.85rem}}\
         @page{{size:A4;margin:15mm}}@media print{{h2{{break-after:avoid}}table,figure{{break-inside:avoid}}}}\
         </style></head><body>",
        report.language,
        if vi { "Báo cáo tỷ trọng TMĐT tháng" } else { "E-commerce share report," },
        esc(&report.month)
    ));
    o.push_str(&format!(
        "<h1>{} — {}</h1><p class=\"meta\">{} {} · {} · SHA-256 {}</p>",
        shown.title,
        esc(&report.month),
        shown.version_label,
        report.dataset_version,
        esc(&report.dataset_committed_at),
        esc(&report.content_sha256)
    ));
    let section = |o: &mut String, s: &Section| {
        o.push_str(&format!("<h2>{}</h2><table>", esc(s.heading)));
        if !s.head.is_empty() {
            o.push_str("<tr>");
            for c in &s.head {
                o.push_str(&format!("<th>{}</th>", esc(c)));
            }
            o.push_str("</tr>");
        }
        for row in &s.rows {
            o.push_str("<tr>");
            for (i, c) in row.iter().enumerate() {
                // A labelled section's label is a heading cell; tables keep
                // their two text columns left-aligned.
                if s.head.is_empty() && i == 0 {
                    o.push_str(&format!("<th>{}</th>", esc(c)));
                } else {
                    o.push_str(&format!(
                        "<td{}>{}</td>",
                        if i < 2 { " class=\"t\"" } else { "" },
                        esc(c)
                    ));
                }
            }
            o.push_str("</tr>");
        }
        o.push_str("</table>");
    };
    section(&mut o, &shown.headline);
    for (alt, svg) in &report.charts {
        o.push_str(&format!(
            "<figure role=\"img\" aria-label=\"{}\">{}</figure>",
            esc(alt),
            svg
        ));
    }
    section(&mut o, &shown.districts);
    if let Some(note) = shown.series_break_note {
        o.push_str(&format!("<p class=\"meta\">{}</p>", esc(note)));
    }
    section(&mut o, &shown.sectors);
    section(&mut o, &shown.quality);
    o.push_str(&format!("<h2>{}</h2>", shown.methodology_heading));
    for m in &report.methodology {
        o.push_str(&format!("<p>{}</p>", esc(m)));
    }
    if let Some(communes) = &shown.communes {
        section(&mut o, communes);
    }
    o.push_str("</body></html>\n");
    o
}
