//! Backups of a data directory: one zip file holding a consistent snapshot
//! and a checksum manifest, and its restore into a new directory.
//!
//! What a snapshot holds, and how each part is read so that it is
//! consistent while a server keeps committing:
//!
//! 1. Files that change by atomic replacement (`tokens.json`,
//!    `schedule.json`, `outbox/*.json`, `queries/`, `reference/`, anything
//!    else not named below) are read once, into memory, first; the archive's
//!    months (`reports/YYYY-MM`) are links, read once; the bundles they
//!    point at never change, so only their names are taken. The caller adds
//!    the audit trail, cut at a verified head (`access::audit`), before.
//! 2. Then the dataset version: the newest committed at that moment, `V`.
//!    Every report, delivery and audit line read in step 1 refers to a
//!    version at most `V`.
//! 3. Then what `V` and every earlier version need: the Delta log's
//!    entries `0..=V` (not its checkpoints, which readers do without) and
//!    the batch directories they name (filings, rejections, superseded row
//!    ids, the reference copy, rollup and units, ingest report), and the
//!    segments published for runs within `V` (the index read once, cut to
//!    them). These files never change once named, so they are copied
//!    without any lock while ingests go on.
//!
//! Left out: derived or transient data (`cache/`, `uploads/`, `staging/`,
//! lock and temporary files) and `session.key` (browser sessions sign in
//! again; a backup then holds no key that signs cookies).
//!
//! The zip holds each file under its path in the data directory (Parquet
//! stored, the rest deflated), then `ecomshare-backup.json` (format
//! versions, dataset version, creation time, ecomshare version, each file's
//! size and SHA-256, the links) and `ecomshare-backup.json.sha256` (the
//! manifest's own digest). A restore checks all of it while writing into a
//! hidden staging directory, which is renamed into place only when every
//! file matched: a damaged backup leaves nothing, a crash leaves no
//! directory that looks restored.
//!
//! Owns the backup file's format and the data directory's part of the
//! snapshot; knows nothing of what the files mean beyond their paths.

use super::{Warehouse, WarehouseError, format, io};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// The backup file's own layout (its entries and manifest).
pub const BACKUP_FORMAT: u32 = 1;
const MANIFEST: &str = "ecomshare-backup.json";
const MANIFEST_SUM: &str = "ecomshare-backup.json.sha256";

#[derive(Debug, Error)]
pub enum BackupError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the backup {backup} is damaged: {what}: {detail}")]
    Damaged {
        backup: PathBuf,
        /// The damaged entry (a path in the data directory, the manifest,
        /// or the archive itself).
        what: String,
        detail: String,
    },
    #[error("restoring into {0}: it exists and is not empty; restore into a new directory")]
    TargetNotEmpty(PathBuf),
    #[error(
        "the backup {backup} holds a data directory of format {found}; this binary (ecomshare {}) \
         reads formats up to {supported}: use a newer ecomshare",
        env!("CARGO_PKG_VERSION")
    )]
    NewerFormat {
        backup: PathBuf,
        found: u32,
        supported: u32,
    },
}

impl BackupError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Warehouse(e) => e.code(),
            Self::Io { .. } => "io_error",
            Self::Damaged { .. } => "backup_damaged",
            Self::TargetNotEmpty(_) => "restore_target_not_empty",
            Self::NewerFormat { .. } => "data_format_too_new",
        }
    }
}

fn bio(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The manifest inside a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupManifest {
    pub backup_format: u32,
    /// The data directory's format (`store::format`).
    pub data_format: u32,
    /// The newest dataset version held; every earlier one is held too.
    pub dataset_version: u64,
    /// When the backup was made (RFC 3339, UTC).
    pub created_at: String,
    /// The ecomshare that made it.
    pub ecomshare: String,
    pub files: Vec<BackupFile>,
    pub links: Vec<BackupLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// Relative to the data directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// A symbolic link of the data directory (a month of the report archive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupLink {
    pub path: String,
    /// Relative to the link's directory; never leaves the data directory.
    pub target: String,
}

/// What a backup or a restore did, printed as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSummary {
    /// The backup file.
    pub backup: String,
    /// The data directory backed up or restored.
    pub data: String,
    pub dataset_version: u64,
    pub data_format: u32,
    pub created_at: String,
    pub files: usize,
    /// The files' bytes (before compression).
    pub bytes: u64,
    pub backup_bytes: u64,
    /// SHA-256 of the backup file.
    pub backup_sha256: String,
}

/// Where a file of the snapshot comes from.
pub enum Source {
    /// Read once, when the snapshot was taken.
    Bytes(Vec<u8>),
    /// A file that never changes once named: copied when written.
    Immutable(PathBuf),
}

/// A consistent set of files of a data directory (see the module comment).
pub struct Snapshot {
    pub dataset_version: u64,
    pub data_format: u32,
    files: BTreeMap<String, Source>,
    links: Vec<BackupLink>,
}

/// Top-level entries a snapshot takes in step 3, or leaves out.
const VERSIONED: [&str; 5] = [super::delta::LOG_DIR, "manifest", "batches", "segments", "staging"];
/// `audit/` is the caller's to give (cut at its head).
const LEFT_OUT: [&str; 5] = ["audit", "cache", "uploads", "session.key", format::MARKER];

impl Warehouse {
    /// A snapshot of the directory, with `extra` files (relative path and
    /// bytes, read by their owner: the audit trail) taken before it.
    pub fn snapshot(&self, extra: Vec<(String, Vec<u8>)>) -> Result<Snapshot, BackupError> {
        let mut snapshot = Snapshot {
            dataset_version: 0,
            data_format: format::read(&self.root)?.unwrap_or(1),
            files: extra.into_iter().map(|(p, b)| (p, Source::Bytes(b))).collect(),
            links: Vec::new(),
        };
        // 1. What changes by replacement, read once.
        let taken: Vec<String> = snapshot.files.keys().cloned().collect();
        self.read_once(&self.root, "", &taken, &mut snapshot)?;
        // 2. The version.
        let version = self.latest_version()?.unwrap_or(0);
        snapshot.dataset_version = version;
        // 3. What every version up to it needs.
        if version > 0 {
            let manifest = self.manifest(version)?;
            for v in 0..=version {
                let rel = format!("{}/{}", super::delta::LOG_DIR, super::delta::entry_name(v));
                snapshot.add_immutable(rel.clone(), self.root.join(&rel));
            }
            for batch in &manifest.batches {
                let rel = format!("batches/{}", super::batch_dir_name(batch.seq));
                self.immutable_tree(&rel, &mut snapshot)?;
            }
        }
        let mut index = self.segments()?;
        index.segments.retain(|s| s.last <= version);
        if !index.segments.is_empty() {
            for s in &index.segments {
                self.immutable_tree(
                    &format!("segments/{}", super::segments::segment_dir(s.first, s.last)),
                    &mut snapshot,
                )?;
            }
            let bytes = serde_json::to_vec_pretty(&index).expect("an index serializes");
            snapshot
                .files
                .insert("segments/index.json".into(), Source::Bytes(bytes));
        }
        Ok(snapshot)
    }

    /// Step 1 under `dir` (`rel` its relative path): files read into memory,
    /// links taken, report bundles named; dot files (locks, temporary
    /// files, staging) skipped.
    fn read_once(&self, dir: &Path, rel: &str, taken: &[String], snapshot: &mut Snapshot) -> Result<(), BackupError> {
        let mut entries: Vec<_> = match fs::read_dir(dir) {
            Ok(entries) => entries.collect::<Result<_, _>>().map_err(io(dir))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(dir)(e).into()),
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!(path = %entry.path().display(), "not backed up: the name is not UTF-8");
                continue;
            };
            let path = entry.path();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if child == "reports/.bundles" {
                self.immutable_tree(&child, snapshot)?;
                continue;
            }
            let top_level = rel.is_empty();
            if name.starts_with('.')
                || taken.contains(&child)
                || (top_level && (VERSIONED.contains(&name.as_str()) || LEFT_OUT.contains(&name.as_str())))
            {
                continue;
            }
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_symlink() {
                let target = fs::read_link(&path).map_err(io(&path))?;
                match target.to_str().filter(|t| link_stays_inside(&child, t)) {
                    Some(t) => snapshot.links.push(BackupLink {
                        path: child,
                        target: t.to_string(),
                    }),
                    None => {
                        tracing::warn!(path = %path.display(), "not backed up: a link leading out of the data directory")
                    }
                }
            } else if kind.is_dir() {
                self.read_once(&path, &child, taken, snapshot)?;
            } else if kind.is_file() {
                let bytes = match fs::read(&path) {
                    Ok(b) => b,
                    // Removed since it was listed (an outbox record, a spool).
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io(&path)(e).into()),
                };
                snapshot.files.insert(child, Source::Bytes(bytes));
            }
        }
        Ok(())
    }

    /// Every file under `rel`, a tree whose files never change once there.
    fn immutable_tree(&self, rel: &str, snapshot: &mut Snapshot) -> Result<(), BackupError> {
        let dir = self.root.join(rel);
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .map_err(io(&dir))?
            .collect::<Result<_, _>>()
            .map_err(io(&dir))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let child = format!("{rel}/{name}");
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            if kind.is_dir() {
                self.immutable_tree(&child, snapshot)?;
            } else if kind.is_file() {
                snapshot.add_immutable(child, entry.path());
            }
        }
        Ok(())
    }
}

impl Snapshot {
    fn add_immutable(&mut self, rel: String, path: PathBuf) {
        self.files.insert(rel, Source::Immutable(path));
    }

    /// The relative paths the snapshot holds, in the order written.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

/// Whether a relative path is safe to create under a directory: plain
/// names only (no `..`, no root, no `.`), `/`-separated.
fn safe_relative(path: &str) -> bool {
    path.split('/')
        .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(['\\', '\0']))
}

/// Whether a link at `path` pointing at `target` stays inside the data
/// directory.
fn link_stays_inside(path: &str, target: &str) -> bool {
    if !safe_relative(path) || target.is_empty() || Path::new(target).is_absolute() {
        return false;
    }
    let mut depth = path.split('/').count() as i64 - 1;
    for c in Path::new(target).components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn hex(&self) -> String {
        crate::util::digest::hex(&self.hasher.clone().finalize())
    }
}

fn zip_err(path: &Path) -> impl FnOnce(zip::result::ZipError) -> BackupError + '_ {
    move |e| BackupError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// Writes `snapshot` of `data` as a backup at `out`: a temporary file
/// beside it, synced, renamed into place.
pub fn write(snapshot: &Snapshot, data: &Path, out: &Path, created_at: &str) -> Result<BackupSummary, BackupError> {
    use zip::CompressionMethod::{Deflated, Stored};
    use zip::write::SimpleFileOptions;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = crate::util::durable::temp_path(&dir.join(out.file_name().unwrap_or_default()), "tmp");
    let file = File::create(&tmp).map_err(bio(&tmp))?;
    let result = (|| {
        let mut zip = zip::ZipWriter::new_stream(Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file)));
        let mut files = Vec::with_capacity(snapshot.files.len());
        let mut bytes = 0u64;
        for (rel, source) in &snapshot.files {
            let method = if rel.ends_with(".parquet") { Stored } else { Deflated };
            let (mut reader, size): (Box<dyn Read>, u64) = match source {
                Source::Bytes(b) => (Box::new(b.as_slice()), b.len() as u64),
                Source::Immutable(path) => {
                    let f = File::open(path).map_err(bio(path))?;
                    let size = f.metadata().map_err(bio(path))?.len();
                    (Box::new(f), size)
                }
            };
            let options = SimpleFileOptions::default()
                .compression_method(method)
                .large_file(size >= u64::from(u32::MAX))
                .unix_permissions(0o644);
            zip.start_file(rel.as_str(), options).map_err(zip_err(&tmp))?;
            let mut hashing = Hashing::new(&mut zip);
            std::io::copy(&mut reader, &mut hashing).map_err(bio(&data.join(rel)))?;
            if hashing.bytes != size {
                return Err(BackupError::Io {
                    path: data.join(rel),
                    source: std::io::Error::other(format!(
                        "changed while copied ({size} bytes when opened, {} read)",
                        hashing.bytes
                    )),
                });
            }
            bytes += size;
            files.push(BackupFile {
                path: rel.clone(),
                size,
                sha256: hashing.hex(),
            });
        }
        let manifest = BackupManifest {
            backup_format: BACKUP_FORMAT,
            data_format: snapshot.data_format,
            dataset_version: snapshot.dataset_version,
            created_at: created_at.to_string(),
            ecomshare: env!("CARGO_PKG_VERSION").to_string(),
            files,
            links: snapshot.links.clone(),
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
        let options = SimpleFileOptions::default()
            .compression_method(Deflated)
            .unix_permissions(0o644);
        zip.start_file(MANIFEST, options).map_err(zip_err(&tmp))?;
        zip.write_all(&json).map_err(bio(&tmp))?;
        zip.start_file(MANIFEST_SUM, options).map_err(zip_err(&tmp))?;
        zip.write_all(crate::util::digest::sha256_hex(&json).as_bytes())
            .map_err(bio(&tmp))?;
        let mut hashing = zip.finish().map_err(zip_err(&tmp))?.into_inner();
        hashing.flush().map_err(bio(&tmp))?;
        let backup_sha256 = hashing.hex();
        let backup_bytes = hashing.bytes;
        let file = hashing.inner.into_inner().map_err(|e| bio(&tmp)(e.into_error()))?;
        file.sync_all().map_err(bio(&tmp))?;
        Ok(BackupSummary {
            backup: out.display().to_string(),
            data: data.display().to_string(),
            dataset_version: manifest.dataset_version,
            data_format: manifest.data_format,
            created_at: manifest.created_at,
            files: manifest.files.len(),
            bytes,
            backup_bytes,
            backup_sha256,
        })
    })();
    match result {
        Ok(summary) => {
            crate::util::fault::before_rename(out);
            fs::rename(&tmp, out).map_err(bio(out))?;
            crate::util::durable::sync_dir(dir).map_err(bio(dir))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Restores the backup at `backup` into `target`, which must not exist or
/// be empty. Every entry is checked (the manifest against its digest, each
/// file's size and SHA-256, every path) while it is written into a hidden
/// staging directory beside `target`; only a backup found whole is renamed
/// into place, then opened (an older format is upgraded).
pub fn restore(backup: &Path, target: &Path) -> Result<BackupSummary, BackupError> {
    if !format::is_new(target)? {
        return Err(BackupError::TargetNotEmpty(target.to_path_buf()));
    }
    let damaged = |what: &str, detail: String| BackupError::Damaged {
        backup: backup.to_path_buf(),
        what: what.to_string(),
        detail,
    };
    let file = File::open(backup).map_err(bio(backup))?;
    let backup_bytes = file.metadata().map_err(bio(backup))?.len();
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        damaged(
            "the archive",
            format!("not a whole zip archive ({e}); a truncated or cut-off copy?"),
        )
    })?;
    let (json, _) = read_entry(&mut zip, MANIFEST, None).map_err(|d| damaged(MANIFEST, d))?;
    let (sum, _) = read_entry(&mut zip, MANIFEST_SUM, None).map_err(|d| damaged(MANIFEST_SUM, d))?;
    let expected = String::from_utf8_lossy(&sum).trim().to_string();
    let found = crate::util::digest::sha256_hex(&json);
    if expected != found {
        return Err(damaged(
            MANIFEST,
            format!("SHA-256 {found}, but the backup recorded {expected}"),
        ));
    }
    let manifest: BackupManifest =
        serde_json::from_slice(&json).map_err(|e| damaged(MANIFEST, format!("unreadable: {e}")))?;
    if manifest.backup_format != BACKUP_FORMAT {
        return Err(damaged(
            MANIFEST,
            format!(
                "backup format {} (this binary reads {BACKUP_FORMAT}): use a newer ecomshare",
                manifest.backup_format
            ),
        ));
    }
    if manifest.data_format > format::CURRENT {
        return Err(BackupError::NewerFormat {
            backup: backup.to_path_buf(),
            found: manifest.data_format,
            supported: format::CURRENT,
        });
    }
    // Every path, and every entry listed, before anything is written.
    let listed: std::collections::HashSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for f in &manifest.files {
        if !safe_relative(&f.path) || f.path == format::MARKER {
            return Err(damaged(&f.path, "a path that would leave the data directory".into()));
        }
    }
    for l in &manifest.links {
        if !link_stays_inside(&l.path, &l.target) || listed.contains(l.path.as_str()) {
            return Err(damaged(
                &l.path,
                format!("a link to {} that would leave the data directory", l.target),
            ));
        }
    }
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(|e| damaged("the archive", e.to_string()))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if entry.is_symlink() || entry.is_dir() {
            return Err(damaged(
                &name,
                "a link or directory entry; a backup holds files only".into(),
            ));
        }
        if name != MANIFEST && name != MANIFEST_SUM && !listed.contains(name.as_str()) {
            return Err(damaged(&name, "an entry the manifest does not list".into()));
        }
    }

    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(bio(parent))?;
    let staging = crate::util::durable::temp_path(&parent.join(target.file_name().unwrap_or_default()), "restore");
    let _ = fs::remove_dir_all(&staging);
    let written = (|| {
        let mut bytes = 0u64;
        for f in &manifest.files {
            let path = staging.join(&f.path);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(bio(dir))?;
            }
            let out = File::create(&path).map_err(bio(&path))?;
            let (_, out) = read_entry(&mut zip, &f.path, Some((f, out))).map_err(|d| damaged(&f.path, d))?;
            if let Some(out) = out {
                out.sync_all().map_err(bio(&path))?;
            }
            bytes += f.size;
        }
        for l in &manifest.links {
            let path = staging.join(&l.path);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(bio(dir))?;
            }
            std::os::unix::fs::symlink(&l.target, &path).map_err(bio(&path))?;
        }
        let marker = staging.join(format::MARKER);
        crate::util::durable::write_atomic(&marker, &format::marker_bytes(manifest.data_format))
            .map_err(bio(&marker))?;
        sync_tree(&staging)?;
        Ok::<u64, BackupError>(bytes)
    })();
    let bytes = match written {
        Ok(b) => b,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // An empty target directory is replaced.
    if target.exists() {
        fs::remove_dir(target).map_err(bio(target))?;
    }
    crate::util::fault::before_rename(target);
    fs::rename(&staging, target).map_err(bio(target))?;
    crate::util::durable::sync_dir(parent).map_err(bio(parent))?;
    tracing::info!(data = %target.display(), dataset_version = manifest.dataset_version, "backup restored");
    // An older format is upgraded now.
    Warehouse::open(target)?;
    let mut hashing = Hashing::new(std::io::sink());
    std::io::copy(&mut File::open(backup).map_err(bio(backup))?, &mut hashing).map_err(bio(backup))?;
    Ok(BackupSummary {
        backup: backup.display().to_string(),
        data: target.display().to_string(),
        dataset_version: manifest.dataset_version,
        data_format: format::CURRENT,
        created_at: manifest.created_at,
        files: manifest.files.len(),
        bytes,
        backup_bytes,
        backup_sha256: hashing.hex(),
    })
}

/// Reads entry `name`: into memory (`check` none), or into the file given
/// with the entry it must match (size, SHA-256). The error says what is
/// wrong with the entry.
fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    check: Option<(&BackupFile, File)>,
) -> Result<(Vec<u8>, Option<File>), String> {
    let mut entry = zip
        .by_name(name)
        .map_err(|e| format!("missing from the archive ({e})"))?;
    let (expected, out) = match check {
        Some((f, out)) => (Some(f), Some(out)),
        None => (None, None),
    };
    let mut hashing = Hashing::new(std::io::BufWriter::new(match out {
        Some(out) => Sink::File(out),
        None => Sink::Memory(Vec::new()),
    }));
    let mut buf = vec![0u8; 1 << 16];
    let mut failure = None;
    loop {
        match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if let Err(e) = hashing.write_all(&buf[..n]) {
                    return Err(format!("writing it: {e}"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let found = hashing.hex();
    let size = hashing.bytes;
    let sink = hashing
        .inner
        .into_inner()
        .map_err(|e| format!("writing it: {}", e.error()))?;
    if let Some(f) = expected
        && (f.size != size || f.sha256 != found)
    {
        let why = failure.map(|e| format!(" ({e})")).unwrap_or_default();
        return Err(format!(
            "expected {} bytes with SHA-256 {}, found {size} bytes with SHA-256 {found}{why}",
            f.size, f.sha256
        ));
    }
    if let Some(e) = failure {
        return Err(format!("unreadable: {e}"));
    }
    Ok(match sink {
        Sink::File(f) => (Vec::new(), Some(f)),
        Sink::Memory(memory) => (memory, None),
    })
}

enum Sink {
    File(File),
    Memory(Vec<u8>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::File(f) => f.write(buf),
            Self::Memory(v) => v.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::File(f) => f.flush(),
            Self::Memory(_) => Ok(()),
        }
    }
}

/// Syncs every directory under `dir` (files were synced as written).
fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(dir).map_err(bio(dir))? {
        let entry = entry.map_err(bio(dir))?;
        if entry.file_type().map_err(bio(&entry.path()))?.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    crate::util::durable::sync_dir(dir).map_err(bio(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_links_stay_inside() {
        assert!(safe_relative("batches/00000001/filings_0.parquet"));
        for bad in ["", "../x", "a/../../x", "/etc/passwd", "a/./b", "a\\..\\b"] {
            assert!(!safe_relative(bad), "{bad}");
        }
        assert!(link_stays_inside("reports/2025-03", ".bundles/2025-03-vi-v2-abc"));
        assert!(!link_stays_inside("reports/2025-03", "../../etc"));
        assert!(!link_stays_inside("reports/2025-03", "/etc"));
        assert!(link_stays_inside("reports/2025-03", "../tokens.json"));
    }

    fn backup_of(data_format: u32, extra: Vec<(String, Vec<u8>)>) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let w = Warehouse::open(&data).unwrap();
        fs::write(data.join("tokens.json"), b"{}").unwrap();
        let mut snapshot = w.snapshot(extra).unwrap();
        snapshot.data_format = data_format;
        let file = dir.path().join("b.zip");
        write(&snapshot, &data, &file, "2026-01-01T00:00:00Z").unwrap();
        (dir, file)
    }

    #[test]
    fn a_backup_of_an_older_format_is_upgraded_once_restored_and_a_newer_one_refused() {
        let (dir, file) = backup_of(1, Vec::new());
        let target = dir.path().join("restored");
        let summary = restore(&file, &target).unwrap();
        assert_eq!(summary.data_format, format::CURRENT);
        assert_eq!(format::read(&target).unwrap(), Some(format::CURRENT));
        assert_eq!(fs::read(target.join("tokens.json")).unwrap(), b"{}");

        let (dir, file) = backup_of(format::CURRENT + 1, Vec::new());
        let target = dir.path().join("restored");
        let e = restore(&file, &target).unwrap_err();
        assert_eq!(e.code(), "data_format_too_new");
        assert!(!target.exists());
    }

    #[test]
    fn a_backup_naming_a_path_outside_the_directory_is_refused() {
        let (dir, file) = backup_of(format::CURRENT, vec![("../escaped".into(), b"x".to_vec())]);
        let target = dir.path().join("restored");
        let e = restore(&file, &target).unwrap_err();
        assert_eq!(e.code(), "backup_damaged");
        assert!(e.to_string().contains("../escaped"), "{e}");
        assert!(!target.exists() && !dir.path().join("escaped").exists());
    }
}
