//! The data directory's format version: `DATA/format.json`, checked by
//! [`super::Warehouse::open`] (the door every command and the server go
//! through) before anything is read or written. Owns the marker, the list
//! of formats and the upgrade steps between them; knows no Parquet and no
//! report, delivery or token file beyond the paths an upgrade step moves.
//!
//! Formats:
//!
//! - **1** (no marker): the layout of `store/mod.rs` (manifests at manifest
//!   format 3, `batches/`, `staging/`, `segments/`, `reference/`), with
//!   `queries/`, `cache/kept/`, `uploads/`, `tokens.json`, `session.key`,
//!   `audit/` (`audit.jsonl`, `head.json`), `outbox/`, `schedule.json`, and
//!   `reports/` where a month is either a link to an immutable bundle under
//!   `reports/.bundles/` or, from before bundles, a directory of its own.
//! - **2**: format 1 with the marker, and every archived month a link to a
//!   bundle (each file of the archive is then immutable, which a backup
//!   relies on to copy it without a lock).
//! - **3**: format 2, where a batch's rollup file may keep parts in earlier
//!   batches' rollup files (named in its metadata); a binary of format 2
//!   would read such a file without them. Nothing to upgrade.
//! - **4**: format 3 with its versions in a Delta Lake log (`_delta_log/`,
//!   see `delta.rs`) instead of `manifest/`: the upgrade commits each
//!   manifest's last batch as the Delta version of the same number, in
//!   order, then removes `manifest/`. Data files stay where they are.
//!
//! An upgrade runs under the commit lock, one idempotent step per format,
//! and writes the marker last (atomically): a crash anywhere leaves a
//! directory without the new marker, which the next open upgrades again.
//! A directory of a format above [`CURRENT`] is refused before anything is
//! touched.

use super::{Manifest, Warehouse, WarehouseError, delta, fault_point, io, manifest};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::Path;

/// The format this binary writes (and the newest it reads).
pub const CURRENT: u32 = 4;

/// The marker's name in the data directory.
pub const MARKER: &str = "format.json";

#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    format: u32,
    /// The ecomshare version that wrote the marker.
    written_by: String,
}

/// The marker's bytes for `format`, written by this binary.
pub fn marker_bytes(format: u32) -> Vec<u8> {
    let marker = Marker {
        format,
        written_by: concat!("ecomshare ", env!("CARGO_PKG_VERSION")).to_string(),
    };
    serde_json::to_vec_pretty(&marker).expect("a marker serializes")
}

/// The format `root` records: `None` without a marker (format 1, or a new
/// directory).
pub fn read(root: &Path) -> Result<Option<u32>, WarehouseError> {
    let path = root.join(MARKER);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Marker>(&bytes)
            .map(|m| Some(m.format))
            .map_err(|e| WarehouseError::CorruptManifest {
                path,
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Refuses a format this binary does not read.
pub fn check(root: &Path, found: u32) -> Result<(), WarehouseError> {
    if found > CURRENT {
        return Err(WarehouseError::NewerFormat {
            path: root.to_path_buf(),
            found,
            supported: CURRENT,
        });
    }
    Ok(())
}

/// Whether `root` holds nothing yet (absent, or an empty directory).
pub fn is_new(root: &Path) -> Result<bool, WarehouseError> {
    match fs::read_dir(root) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(root)(e)),
    }
}

impl Warehouse {
    /// Brings the directory to [`CURRENT`]: a new one gets the marker, an
    /// older one is upgraded under the commit lock. `new` says the
    /// directory held nothing before `open` created its folders.
    pub(super) fn upgrade(&self, new: bool) -> Result<(), WarehouseError> {
        let _lock = self.lock_waiting()?;
        // Another process may have upgraded it while this one waited.
        let found = read(&self.root)?.unwrap_or(1);
        check(&self.root, found)?;
        if found == CURRENT {
            return Ok(());
        }
        if !new {
            tracing::info!(data = %self.root.display(), from = found, to = CURRENT, "upgrading the data directory's format");
        }
        if found < 2 {
            let linked = link_legacy_reports(&self.root)?;
            if linked > 0 {
                tracing::info!(
                    months = linked,
                    "format 2: archived months moved into bundles and linked"
                );
            }
        }
        if found < 4 {
            let versions = self.log_from_manifests()?;
            if versions > 0 {
                tracing::info!(versions, "format 4: the manifests' versions committed to the Delta log");
            }
        }
        fault_point("upgrade:before_marker");
        let path = self.root.join(MARKER);
        crate::util::durable::write_atomic(&path, &marker_bytes(CURRENT)).map_err(io(&path))?;
        if !new {
            tracing::info!(data = %self.root.display(), format = CURRENT, "data directory upgraded");
        }
        Ok(())
    }
}

impl Warehouse {
    /// Format 3 → 4: creates the Delta log and commits each manifest's
    /// batch to it as the same version, from the first version the log does
    /// not have yet (a crash midway resumes there), then removes the
    /// manifests. Returns the versions committed.
    fn log_from_manifests(&self) -> Result<u64, WarehouseError> {
        delta::create(&self.root)?;
        let dir = self.manifest_dir();
        let mut versions: Vec<u64> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .map(|e| e.map(|e| manifest::parse_file_name(&e.file_name().to_string_lossy())))
                .filter_map(Result::transpose)
                .collect::<Result<_, _>>()
                .map_err(io(&dir))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&dir)(e)),
        };
        versions.sort_unstable();
        let done = delta::latest(&self.root)?.unwrap_or(0);
        let mut committed = 0;
        for (i, &version) in versions.iter().enumerate() {
            let path = dir.join(manifest::file_name(version));
            let corrupt = |message: String| WarehouseError::CorruptManifest {
                path: path.clone(),
                message,
            };
            if version != i as u64 + 1 {
                return Err(corrupt(format!("version {} is missing", i + 1)));
            }
            if version <= done {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            let m = Manifest::from_json(&text).map_err(&corrupt)?;
            let batch = m
                .batches
                .last()
                .filter(|b| b.seq == version && m.version == version)
                .ok_or_else(|| corrupt("its last batch is not its version".into()))?;
            let files = delta::files_of(batch, None);
            delta::commit(&self.root, version, batch, &files)?;
            committed += 1;
            fault_point("upgrade:after_log_entry");
        }
        super::remove_any(&dir)?;
        Ok(committed)
    }
}

const BUNDLES: &str = ".bundles";
const LEGACY: &str = "legacy-";

/// Format 1 → 2: each month of the report archive that is a directory of
/// its own is moved into the bundles (`.bundles/legacy-MONTH-…`) and the
/// month linked to it; a month left unlinked by a crash after its move is
/// linked to its moved bundle. Returns the months linked.
fn link_legacy_reports(root: &Path) -> Result<usize, WarehouseError> {
    let reports = root.join("reports");
    let Ok(entries) = fs::read_dir(&reports) else {
        return Ok(0);
    };
    let bundles = reports.join(BUNDLES);
    let mut linked = 0;
    for entry in entries {
        let entry = entry.map_err(io(&reports))?;
        let month = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().map_err(io(&entry.path()))?.is_dir();
        if !is_dir || crate::domain::Period::parse(&month).is_none() {
            continue;
        }
        fs::create_dir_all(&bundles).map_err(io(&bundles))?;
        let name = format!("{LEGACY}{month}-{}", crate::util::digest::hex(&random_suffix()));
        crate::util::fault::before_rename(&bundles.join(&name));
        fs::rename(entry.path(), bundles.join(&name)).map_err(io(&entry.path()))?;
        crate::util::durable::sync_dir(&reports).map_err(io(&reports))?;
        fault_point("upgrade:after_move");
        link(&reports, &month, &name)?;
        linked += 1;
    }
    // Moved before a crash, not linked yet.
    let Ok(moved) = fs::read_dir(&bundles) else {
        return Ok(linked);
    };
    let mut unlinked: Vec<(String, String)> = Vec::new();
    for entry in moved {
        let name = entry.map_err(io(&bundles))?.file_name().to_string_lossy().into_owned();
        let Some(month) = name.strip_prefix(LEGACY).and_then(|rest| rest.get(..7)) else {
            continue;
        };
        if crate::domain::Period::parse(month).is_some() && fs::symlink_metadata(reports.join(month)).is_err() {
            unlinked.push((month.to_string(), name));
        }
    }
    unlinked.sort();
    unlinked.dedup_by(|later, earlier| later.0 == earlier.0);
    for (month, name) in unlinked {
        link(&reports, &month, &name)?;
        linked += 1;
    }
    Ok(linked)
}

fn link(reports: &Path, month: &str, bundle: &str) -> Result<(), WarehouseError> {
    let link = reports.join(month);
    crate::util::durable::symlink_atomic(&Path::new(BUNDLES).join(bundle), &link).map_err(io(&link))
}

/// Four bytes that make a moved bundle's name unique.
fn random_suffix() -> [u8; 4] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    (nanos ^ std::process::id()).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_gets_the_current_format_and_an_old_one_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        Warehouse::open(&new).unwrap();
        assert_eq!(read(&new).unwrap(), Some(CURRENT));

        // Format 1: no marker, a month archived before bundles.
        let old = dir.path().join("old");
        fs::create_dir_all(old.join("manifest")).unwrap();
        fs::create_dir_all(old.join("reports/2025-03")).unwrap();
        fs::write(old.join("reports/2025-03/report.json"), b"{}").unwrap();
        Warehouse::open(&old).unwrap();
        assert_eq!(read(&old).unwrap(), Some(CURRENT));
        let target = fs::read_link(old.join("reports/2025-03")).unwrap();
        assert!(
            target.to_string_lossy().starts_with(".bundles/legacy-2025-03-"),
            "{target:?}"
        );
        assert_eq!(fs::read(old.join("reports/2025-03/report.json")).unwrap(), b"{}");
        // Opening again changes nothing.
        Warehouse::open(&old).unwrap();
        assert_eq!(fs::read_link(old.join("reports/2025-03")).unwrap(), target);
    }

    #[test]
    fn a_month_moved_but_not_linked_is_linked_at_the_next_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("reports/.bundles/legacy-2025-04-00ff")).unwrap();
        assert_eq!(link_legacy_reports(dir.path()).unwrap(), 1);
        assert_eq!(
            fs::read_link(dir.path().join("reports/2025-04")).unwrap(),
            Path::new(".bundles/legacy-2025-04-00ff")
        );
        assert_eq!(link_legacy_reports(dir.path()).unwrap(), 0);
    }

    #[test]
    fn a_newer_format_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MARKER), marker_bytes(CURRENT + 1)).unwrap();
        let e = Warehouse::open(dir.path()).unwrap_err();
        assert_eq!(e.code(), "data_format_too_new");
        assert!(e.to_string().contains("use a newer ecomshare"), "{e}");
        assert!(!dir.path().join("manifest").exists());
    }
}
