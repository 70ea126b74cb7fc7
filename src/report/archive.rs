//! The report archive under `DATA/reports/`: a report's files (JSON, PDF,
//! HTML, XLSX) written atomically as a bundle that never changes, each month
//! pointed at its bundle by a symlink, and the archive listed and read back.
//! Takes finished reports; never builds one.

use super::ReportError;
use super::html::to_html;
use super::model::{Report, to_json};
use super::xlsx::to_xlsx;
use crate::domain::Period;
use serde::Serialize;
use std::path::Path;

/// The files of a report bundle, by name.
pub fn files(report: &Report) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    Ok(vec![
        ("report.json", to_json(report).into_bytes()),
        ("report.pdf", super::pdf::render(report)?),
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
        let tmp = crate::util::durable::temp_path(&path, "tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        crate::util::fault::before_rename(&path);
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

/// The archive's bundle of `month` for this dataset version and language,
/// if it has one: the month is pointed at it again and it is kept as it is.
pub(super) fn archived(
    archive: &Path,
    month: Period,
    language: &str,
    version: u64,
) -> Result<Option<Generated>, ReportError> {
    let prefix = format!("{month}-{language}-v{version}-");
    let existing = std::fs::read_dir(archive.join(BUNDLES)).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix) && archive.join(BUNDLES).join(n).join("report.json").is_file())
            .min()
    });
    let Some(bundle) = existing else {
        return Ok(None);
    };
    let dir = archive.join(BUNDLES).join(&bundle);
    let meta: serde_json::Value = std::fs::read(dir.join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    point_month(archive, &month.to_string(), &bundle)?;
    Ok(Some(Generated {
        bundle,
        month: month.to_string(),
        language: language.to_string(),
        dataset_version: version,
        dataset_committed_at: meta["dataset_committed_at"].as_str().unwrap_or_default().to_string(),
        content_sha256: meta["content_sha256"].as_str().unwrap_or_default().to_string(),
        generated: false,
    }))
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
        let staging = crate::util::durable::temp_path(&dir, "staging");
        let _ = std::fs::remove_dir_all(&staging);
        write(report, &staging)?;
        crate::util::durable::sync_dir(&staging).map_err(io_at(&staging))?;
        crate::util::fault::before_rename(&dir);
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
/// atomically). Months archived before bundles were moved into bundles
/// when the data directory was upgraded to format 2 (`store::format`).
fn point_month(archive: &Path, month: &str, bundle: &str) -> Result<(), ReportError> {
    let link = archive.join(month);
    let target = Path::new(BUNDLES).join(bundle);
    if std::fs::read_link(&link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    crate::util::durable::symlink_atomic(&target, &link).map_err(io_at(&link))
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
