//! Durable small-file writes shared by the report archive, the outbox, the
//! schedule state and the data directory's format marker: write a temporary file beside the target, sync it,
//! rename it over the target, sync the directory. A crash leaves either the
//! old file or the new one, never a mix.

use std::io::Write;
use std::path::Path;

pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// A hidden temporary name beside `path`, this process's.
fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.{suffix}", std::process::id()))
}

/// Writes `bytes` to a synced temporary file beside `path`.
fn write_beside(path: &Path, bytes: &[u8], suffix: &str) -> std::io::Result<std::path::PathBuf> {
    let tmp = beside(path, suffix);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(tmp)
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_beside(path, bytes, "tmp")?;
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Points the symbolic link `link` at `target`, atomically: a link made
/// beside it, then renamed over it.
pub fn symlink_atomic(target: &Path, link: &Path) -> std::io::Result<()> {
    let tmp = beside(link, "link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)?;
    sync_dir(link.parent().unwrap_or(Path::new(".")))
}

/// Creates `path` with `bytes` only if nothing is there yet; `Ok(false)`
/// when it already exists. Atomic: the file appears complete or not at all.
pub fn create_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let tmp = write_beside(path, bytes, "new")?;
    let linked = std::fs::hard_link(&tmp, path);
    std::fs::remove_file(&tmp)?;
    match linked {
        Ok(()) => sync_dir(path.parent().unwrap_or(Path::new("."))).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_atomic_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        assert!(create_atomic(&p, b"first").unwrap());
        assert!(!create_atomic(&p, b"second").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"third").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"third");
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
