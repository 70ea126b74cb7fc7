//! `ecomshare migrate --from OLD --to NEW`: a data directory of this or an
//! older format copied, under its commit lock, into a new location and
//! brought to the current format there. The old directory is only read: a
//! binary of its own format can keep serving it, and the migration can be
//! run again.
//!
//! The copy is written into a hidden directory beside the target and renamed
//! into place only when whole, then opened (which upgrades it, one step per
//! format, as `format.rs` says): a crash leaves no directory that looks
//! migrated, or a whole copy whose next open finishes the upgrade.
//!
//! Owns the copy; knows the data directory only by its paths.

use super::{Warehouse, WarehouseError, format, io};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MigrateError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("no data directory at {0}")]
    NoSource(PathBuf),
    #[error("migrating into {0}: it exists and is not empty; migrate into a new location")]
    TargetNotEmpty(PathBuf),
}

impl MigrateError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Warehouse(e) => e.code(),
            Self::NoSource(_) => "no_data_directory",
            Self::TargetNotEmpty(_) => "migrate_target_not_empty",
        }
    }
}

/// What `migrate` did (printed as JSON).
#[derive(Debug, Serialize)]
pub struct Migrated {
    pub from: String,
    pub to: String,
    /// The old directory's format.
    pub from_format: u32,
    /// The new one's.
    pub data_format: u32,
    pub dataset_version: u64,
    /// Files and bytes copied.
    pub files: u64,
    pub bytes: u64,
}

/// Top-level entries not copied: derived or transient data, and the lock.
const LEFT_OUT: [&str; 4] = [".lock", "cache", "uploads", "staging"];

/// Copies `from` into `to` (absent or empty) and upgrades the copy.
pub fn migrate(from: &Path, to: &Path) -> Result<Migrated, MigrateError> {
    if !from.is_dir() || format::is_new(from)? {
        return Err(MigrateError::NoSource(from.to_path_buf()));
    }
    if !format::is_new(to)? {
        return Err(MigrateError::TargetNotEmpty(to.to_path_buf()));
    }
    let from_format = format::read(from)?.unwrap_or(1);
    format::check(from, from_format)?;
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = crate::util::durable::temp_path(to, "migrate");
    let mut copied = (0u64, 0u64);
    let written = (|| {
        // No commit may land in the old directory while it is copied.
        let _lock = Warehouse::lock_waiting_at(from)?;
        fs::create_dir(&staging).map_err(io(&staging))?;
        copy_tree(from, &staging, true, &mut copied)?;
        fs::create_dir_all(staging.join("staging")).map_err(io(&staging))?;
        crate::util::durable::sync_dir(&staging).map_err(io(&staging))
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e.into());
    }
    if to.exists() {
        fs::remove_dir(to).map_err(io(to))?;
    }
    crate::util::fault::before_rename(to);
    fs::rename(&staging, to).map_err(io(to))?;
    crate::util::durable::sync_dir(parent).map_err(io(parent))?;
    let migrated = Warehouse::open(to)?;
    let dataset_version = migrated.latest_version()?.unwrap_or(0);
    tracing::info!(from = %from.display(), to = %to.display(), from_format, dataset_version, "data directory migrated");
    Ok(Migrated {
        from: from.display().to_string(),
        to: to.display().to_string(),
        from_format,
        data_format: format::CURRENT,
        dataset_version,
        files: copied.0,
        bytes: copied.1,
    })
}

/// Copies the tree `from` into the existing directory `to`: files synced,
/// links as links (the report archive's months), directories recreated.
fn copy_tree(from: &Path, to: &Path, top: bool, copied: &mut (u64, u64)) -> Result<(), WarehouseError> {
    let mut entries: Vec<_> = fs::read_dir(from)
        .map_err(io(from))?
        .collect::<Result<_, _>>()
        .map_err(io(from))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if top && LEFT_OUT.iter().any(|n| name == *n) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type().map_err(io(&source))?;
        if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(io(&source))?;
            std::os::unix::fs::symlink(&link, &target).map_err(io(&target))?;
        } else if kind.is_dir() {
            fs::create_dir(&target).map_err(io(&target))?;
            copy_tree(&source, &target, false, copied)?;
            crate::util::durable::sync_dir(&target).map_err(io(&target))?;
        } else if kind.is_file() {
            copied.1 += fs::copy(&source, &target).map_err(io(&source))?;
            fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(io(&target))?;
            copied.0 += 1;
        }
    }
    Ok(())
}
