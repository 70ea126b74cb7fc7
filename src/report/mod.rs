//! Monthly report to the ministries: the figures of one month gathered into
//! one plain structure — headline, the year's outlook with every
//! programme's path to its horizon, trend, districts (with rank and
//! changes), sectors, district × sector, data quality, the months not final,
//! methodology, and from 2025-07 an annex by commune — and written as
//! `report.pdf` (see `pdf.rs`), `report.html`, `report.xlsx` and
//! `report.json`.
//!
//! Every figure comes from `App::share` (the share API's figures) or
//! `App::outlook` (the outlook API's); this module selects and arranges
//! them. The report is a function of the dataset version: its date is the
//! version's commit time, never the clock, so the same version gives
//! byte-identical files. Knows nothing of HTTP or of DataFusion.
//!
//! Files by job, none importing another in a cycle: `model` (the plain
//! data and its JSON), `build` (the figures from the app, and `generate`,
//! which builds a month's report only when the archive lacks it), `shown`
//! (the sections the HTML and PDF share), the writers `html`, `xlsx` and
//! `pdf` (which read a finished report only, their tables drawn from
//! `present::table`, their texts from `present::labels`) and `archive`
//! (bundles on disk). Knows nothing of delivery: `delivery::scheduler`
//! generates the month's report and queues it.

mod archive;
mod build;
mod html;
mod model;
pub mod pdf;
mod shown;
mod xlsx;

pub use archive::{
    Archived, ArchivedFile, BUNDLES, FILES, Generated, archive_report, archived_file, files, list, write,
};
pub use build::{TREND_MONTHS, build, generate};
pub use html::to_html;
pub use model::{DistrictLine, Headline, Quality, RankedLine, Report, to_json};
pub use shown::{Shown, shown};
pub use xlsx::to_xlsx;

use crate::service::AppError;

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
    Pdf(#[from] pdf::PdfError),
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
