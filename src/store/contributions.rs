//! Disclosure control's contributions of a month as kept on disk, under
//! `DATA/cache/kept/` (`Warehouse::kept_contributions_path`): derived data,
//! written atomically, removable at any time (it is counted again). Owns the
//! file format only; what is counted and when is `service::kept`'s.

use super::rollup::CellCodes;
use crate::domain::disclosure::Contributions;
use std::path::Path;

/// One month's contributions by cell (district, commune, VSIC code).
pub type MonthContributions = Vec<(CellCodes, Contributions)>;

/// A month's contributions as kept at `path`; `None` when absent or
/// unreadable.
pub fn read(path: &Path) -> Option<MonthContributions> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Keeps a month's contributions at `path`, atomically.
pub fn write(path: &Path, cells: &MonthContributions) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec(cells).map_err(std::io::Error::other)?;
    crate::util::durable::write_atomic(path, &bytes)
}
