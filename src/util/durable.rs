//! Durable small-file writes shared by the report archive, the outbox, the
//! schedule state and the data directory's format marker: write a temporary file beside the target, sync it,
//! rename it over the target, sync the directory. A crash leaves either the
//! old file or the new one, never a mix.
//!
//! Every temporary name any command writes comes from [`temp_path`]:
//! `.NAME.PID.KIND` beside its target, so [`sweep`] recognises what a
//! process that died left behind (its PID no longer running, or reused by a
//! later process) and removes
//! it, and never a name that is not temporary or a live process's.

use std::io::Write;
use std::path::Path;

pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// The kinds of temporary names: a file written aside (`tmp`, `new`), a
/// link made aside (`link`), a directory filled aside then renamed into
/// place (`staging`), a restore's directory (`restore`), a migration's copy
/// (`migrate`).
const KINDS: [&str; 6] = ["tmp", "new", "link", "staging", "restore", "migrate"];

/// A hidden temporary name beside `path`, this process's:
/// `.NAME.PID.KIND`. `kind` is one of `tmp`, `new`, `link`, `staging`,
/// `restore`, `migrate`.
pub fn temp_path(path: &Path, kind: &str) -> std::path::PathBuf {
    debug_assert!(KINDS.contains(&kind), "{kind} is not a temporary kind sweep knows");
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.{}.{kind}", std::process::id()))
}

/// The PID a temporary name carries: `.NAME.PID.KIND`, or the report
/// bundles' staging directories of earlier releases, `.staging-NAME-PID`.
/// `None` for any other name.
pub fn temp_owner(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    if let Some(staging) = rest.strip_prefix("staging-") {
        return staging.rsplit_once('-').and_then(|(_, pid)| pid.parse().ok());
    }
    let (head, kind) = rest.rsplit_once('.')?;
    if !KINDS.contains(&kind) {
        return None;
    }
    let (name, pid) = head.rsplit_once('.')?;
    (!name.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Whether the process with this PID that wrote a temporary file last
/// modified at `written` may still be using it: the PID is running (on
/// this host's /proc) and its process started before the file was last
/// written. A process that started later only reuses the PID of the one
/// that died (a container's PID 1 after a restart, this process included).
fn in_use(pid: u32, written: Option<std::time::SystemTime>) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // A zombie (`Z`) or a dying process (`X`) writes nothing more: its
    // state is the first field after the command name in parentheses.
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].split_whitespace().next());
    if matches!(state, Some("Z" | "X")) {
        return false;
    }
    match (process_start(pid), written) {
        // One second of slack: /proc's start time is in ticks of 10 ms,
        // the boot time in whole seconds.
        (Some(start), Some(written)) => written + std::time::Duration::from_secs(1) >= start,
        _ => true,
    }
}

/// When the process `pid` started: its start time in ticks since boot
/// (`/proc/PID/stat`, field 22; Linux's user-visible tick is 1/100 s)
/// plus the boot time (`/proc/stat`, `btime`).
fn process_start(pid: u32) -> Option<std::time::SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_secs(boot) + std::time::Duration::from_millis(ticks * 10))
}

/// Removes, under `root` (not following links, not descending into
/// `skip`'s directories), every temporary file or directory whose writer
/// is gone: what a crash left between writing aside and renaming into
/// place. A writer is gone when its PID is not running, or runs a process
/// that started after the file was last written (the PID reused). Returns
/// what it removed. A name that is not temporary, or a running writer's
/// (this process's included), is never touched.
pub fn sweep(root: &Path, skip: &[&str]) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut removed = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(pid) = temp_owner(&name) {
                let written = entry.metadata().and_then(|m| m.modified()).ok();
                if !in_use(pid, written) {
                    let path = entry.path();
                    let gone = if kind.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                    match gone {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => removed.push(path),
                    }
                }
            } else if kind.is_dir() && !(dir == root && skip.contains(&name.as_ref())) {
                dirs.push(entry.path());
            }
        }
    }
    Ok(removed)
}

/// Writes `bytes` to a synced temporary file beside `path`.
fn write_beside(path: &Path, bytes: &[u8], suffix: &str) -> std::io::Result<std::path::PathBuf> {
    let tmp = temp_path(path, suffix);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(tmp)
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = write_beside(path, bytes, "tmp")?;
    super::fault::before_rename(path);
    std::fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Points the symbolic link `link` at `target`, atomically: a link made
/// beside it, then renamed over it.
pub fn symlink_atomic(target: &Path, link: &Path) -> std::io::Result<()> {
    let tmp = temp_path(link, "link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    super::fault::before_rename(link);
    std::fs::rename(&tmp, link)?;
    sync_dir(link.parent().unwrap_or(Path::new(".")))
}

/// Creates `path` with `bytes` only if nothing is there yet; `Ok(false)`
/// when it already exists. Atomic: the file appears complete or not at all.
pub fn create_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let tmp = write_beside(path, bytes, "new")?;
    super::fault::before_rename(path);
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

    #[test]
    fn temporary_names_carry_their_writer_and_nothing_else_looks_temporary() {
        let p = Path::new("/d/segments/index.json");
        let tmp = temp_path(p, "tmp");
        let name = tmp.file_name().unwrap().to_str().unwrap();
        assert_eq!(name, format!(".index.json.{}.tmp", std::process::id()));
        assert_eq!(temp_owner(name), Some(std::process::id()));
        assert_eq!(temp_owner(".staging-2025-03-vi-v2-abc-4242"), Some(4242));
        assert_eq!(temp_owner(".2025-03.77.link"), Some(77));
        for not_temporary in [
            "index.json",
            ".lock",
            ".bundles",
            "00000001.json",
            ".index.json.tmp",
            ".x.12.bak",
            "..12.tmp",
            ".a.1b.tmp",
        ] {
            assert_eq!(temp_owner(not_temporary), None, "{not_temporary}");
        }
    }

    /// What a dead writer left is removed, at any depth; a running
    /// process's (this one's) and every other name stay; a skipped
    /// directory is not entered.
    #[test]
    fn sweep_removes_only_dead_writers_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // A PID past the kernel's limit (pid_max is at most 2^22): never running.
        let dead = 4_194_999u32;
        let mine = std::process::id();
        for rel in [
            "audit",
            "reports/.bundles/2025-03-vi-v2-abc",
            "cache/kept",
            "batches/00000001",
        ] {
            std::fs::create_dir_all(root.join(rel)).unwrap();
        }
        let keep = [
            "audit/audit.jsonl".to_string(),
            "reports/.bundles/2025-03-vi-v2-abc/report.json".into(),
            format!("cache/kept/.2025-03-v2-k1.json.{mine}.tmp"),
            format!("batches/00000001/.x.{dead}.tmp"),
        ];
        let gone = [
            format!("audit/.head.json.{dead}.tmp"),
            format!("cache/kept/.2025-03-v2-k1.json.{dead}.tmp"),
            format!("reports/.2025-03.{dead}.link"),
        ];
        for rel in keep.iter().chain(&gone) {
            std::fs::write(root.join(rel), b"x").unwrap();
        }
        let staging = root.join(format!("reports/.bundles/.staging-2025-04-vi-v3-def-{dead}"));
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("report.pdf"), b"partial").unwrap();
        let removed = sweep(root, &["batches"]).unwrap();
        assert_eq!(removed.len(), 4, "{removed:?}");
        for rel in &gone {
            assert!(!root.join(rel).exists(), "{rel} left");
        }
        assert!(!staging.exists());
        for rel in &keep {
            assert!(root.join(rel).exists(), "{rel} removed");
        }
    }

    /// Regression: a container restarted after a kill runs as PID 1 again,
    /// so the dead writer's PID is this process's; what it left, written
    /// before this process started, is still removed.
    #[test]
    fn sweep_removes_a_reused_pids_leftover_written_before_the_process_started() {
        let dir = tempfile::tempdir().unwrap();
        let mine = std::process::id();
        let old = dir.path().join(format!(".index.json.{mine}.tmp"));
        let fresh = dir.path().join(format!(".head.json.{mine}.tmp"));
        std::fs::write(&old, b"x").unwrap();
        std::fs::write(&fresh, b"x").unwrap();
        let before_start = process_start(mine).unwrap() - std::time::Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(before_start)
            .unwrap();
        assert_eq!(sweep(dir.path(), &[]).unwrap(), vec![old.clone()]);
        assert!(fresh.exists());
    }

    /// A writer that died but was not reaped yet (a zombie still has its
    /// /proc entry) writes nothing more: what it left is removed.
    #[test]
    fn sweep_removes_a_zombies_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let left = dir.path().join(format!(".head.json.{pid}.tmp"));
        std::fs::write(&left, b"x").unwrap();
        // Exited and not reaped: a zombie.
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap()
            .contains(") Z")
        {
            assert!(started.elapsed().as_secs() < 10, "the child never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(sweep(dir.path(), &[]).unwrap(), vec![left]);
        child.wait().unwrap();
    }
}
