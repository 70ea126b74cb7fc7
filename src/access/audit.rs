//! The audit trail: `DATA/audit/audit.jsonl`, append-only JSON lines, one
//! per authenticated action and per refusal, hash-chained.
//!
//! Each line holds `seq` (1, 2, …), the event, `prev` (the previous line's
//! hash; 64 zeros for the first) and `hash`: the hex SHA-256 of the line's
//! JSON without `hash` (keys sorted). `DATA/audit/head.json` holds the last
//! line's seq and hash, rewritten atomically after each append, so removing
//! lines from the end is seen as well as an edited, deleted or reordered
//! line. Appends from several processes are serialised by an OS lock.
//!
//! Events carry no token, secret or cookie: only the token's id and role.

use crate::util::durable;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("audit trail broken at line {line}: {reason}")]
    Broken { line: u64, reason: String },
}

impl AuditError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "io_error",
            Self::Broken { .. } => "audit_broken",
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One action or refusal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339, UTC.
    pub time: String,
    /// The token's id; null for anonymous callers and open local mode.
    pub token_id: Option<String>,
    pub role: Option<String>,
    /// `METHOD /route/{param}` or a CLI command (`cli token create`).
    pub action: String,
    /// The request's path and query parameters, or the command's arguments.
    pub params: Value,
    pub dataset_version: Option<u64>,
    /// `done`, `refused` (4xx) or `failed` (5xx).
    pub outcome: String,
    pub status: Option<u16>,
    pub address: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

/// A line as hashed: the event with `seq` and `prev`, fields in the
/// sorted order of a JSON object's keys (as `digest` serializes the line
/// that `verify` reads back).
#[derive(Serialize)]
struct Unhashed<'a> {
    action: &'a str,
    address: &'a Option<String>,
    dataset_version: Option<u64>,
    outcome: &'a str,
    params: &'a Value,
    prev: &'a str,
    role: &'a Option<String>,
    seq: u64,
    status: Option<u16>,
    time: &'a str,
    token_id: &'a Option<String>,
}

impl<'a> Unhashed<'a> {
    fn of(e: &'a Event, seq: u64, prev: &'a str) -> Self {
        let Event {
            time,
            token_id,
            role,
            action,
            params,
            dataset_version,
            outcome,
            status,
            address,
        } = e;
        Self {
            action,
            address,
            dataset_version: *dataset_version,
            outcome,
            params,
            prev,
            role,
            seq,
            status: *status,
            time,
            token_id,
        }
    }
}

/// The trail of a data directory.
pub struct AuditLog {
    dir: PathBuf,
}

/// What `verify` found.
#[derive(Debug, Serialize)]
pub struct Verified {
    pub lines: u64,
    pub head: String,
}

fn digest(v: &Value) -> String {
    let text = serde_json::to_string(v).expect("JSON serializes");
    crate::util::digest::sha256_hex(text.as_bytes())
}

impl AuditLog {
    pub fn new(data: &Path) -> Self {
        Self {
            dir: data.join("audit"),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    fn head_path(&self) -> PathBuf {
        self.dir.join("head.json")
    }

    /// Appends events in order, chained to the trail, under the lock; one
    /// fsync for all of them.
    pub fn append(&self, events: &[Event]) -> Result<(), AuditError> {
        if events.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.append_locked(events)?;
        metrics::histogram!("ecomshare_audit_append_duration_seconds").record(started.elapsed());
        metrics::counter!("ecomshare_audit_events_total").increment(events.len() as u64);
        Ok(())
    }

    fn append_locked(&self, events: &[Event]) -> Result<(), AuditError> {
        let _lock = self.lock()?;
        let head_path = self.head_path();
        let mut head: Head = match std::fs::read(&head_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| AuditError::Broken {
                line: 0,
                reason: format!("head.json: {e}"),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Head {
                seq: 0,
                hash: GENESIS.into(),
            },
            Err(e) => return Err(io(&head_path)(e)),
        };
        let mut text = Vec::new();
        for e in events {
            let seq = head.seq + 1;
            // The line without its hash, written as `digest` would write it
            // (keys sorted), then the hash appended: the same line,
            // without building a JSON tree per event.
            let start = text.len();
            serde_json::to_writer(&mut text, &Unhashed::of(e, seq, &head.hash)).expect("an event serializes");
            let hash = crate::util::digest::sha256_hex(&text[start..]);
            text.pop();
            text.extend_from_slice(b",\"hash\":\"");
            text.extend_from_slice(hash.as_bytes());
            text.extend_from_slice(b"\"}\n");
            head = Head { seq, hash };
        }
        let path = self.log_path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        f.write_all(&text).map_err(io(&path))?;
        f.sync_data().map_err(io(&path))?;
        durable::write_atomic(&head_path, &serde_json::to_vec(&head).expect("head serializes")).map_err(io(&head_path))
    }

    /// The OS lock that serialises appends (and lets `verify` read a trail
    /// and its head from the same moment).
    fn lock(&self) -> Result<std::fs::File, AuditError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let lock_path = self.dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        lock.lock().map_err(io(&lock_path))?;
        Ok(lock)
    }

    /// Checks every line's hash, the chain, the sequence and the head.
    pub fn verify(&self) -> Result<Verified, AuditError> {
        let _lock = self.lock()?;
        let path = self.log_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let (n, prev) = check_chain(text.lines())?;
        let head = match self.read_head()? {
            Some(head) => head,
            None if n == 0 => Head {
                seq: 0,
                hash: GENESIS.into(),
            },
            None => return Err(io(&self.head_path())(std::io::ErrorKind::NotFound.into())),
        };
        if head.seq != n || head.hash != prev {
            return Err(AuditError::Broken {
                line: n,
                reason: format!(
                    "the trail ends at line {n} but its head records line {}: lines were removed from the end",
                    head.seq
                ),
            });
        }
        Ok(Verified { lines: n, head: prev })
    }

    /// The head as written, `None` when there is none yet.
    fn read_head(&self) -> Result<Option<Head>, AuditError> {
        match std::fs::read(self.head_path()) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AuditError::Broken {
                line: 0,
                reason: format!("head.json: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.head_path())(e)),
        }
    }

    /// The trail up to its head, verified, without taking the lock (so
    /// appends go on): the head is read first, then the trail, which holds
    /// at least the lines the head names (an append writes its lines
    /// before their head); lines after them are left out. Returns the
    /// files (relative to the data directory) and their bytes, none when
    /// the trail is empty; a backup holds them.
    pub fn snapshot(&self) -> Result<Vec<(String, Vec<u8>)>, AuditError> {
        let Some(head) = self.read_head()? else {
            return Ok(Vec::new());
        };
        let path = self.log_path();
        let text = std::fs::read(&path).map_err(io(&path))?;
        let mut end = 0;
        for _ in 0..head.seq {
            match text[end..].iter().position(|&b| b == b'\n') {
                Some(i) => end += i + 1,
                None => {
                    return Err(AuditError::Broken {
                        line: head.seq,
                        reason: "the trail is shorter than its head".into(),
                    });
                }
            }
        }
        let prefix = &text[..end];
        let lines = std::str::from_utf8(prefix).map_err(|e| AuditError::Broken {
            line: 0,
            reason: format!("not UTF-8: {e}"),
        })?;
        let (n, last) = check_chain(lines.lines())?;
        if n != head.seq || last != head.hash {
            return Err(AuditError::Broken {
                line: n,
                reason: "the trail does not end at its head".into(),
            });
        }
        Ok(vec![
            ("audit/audit.jsonl".into(), prefix.to_vec()),
            (
                "audit/head.json".into(),
                serde_json::to_vec(&head).expect("head serializes"),
            ),
        ])
    }
}

/// Checks each line's hash, the chain and the sequence; returns the number
/// of lines and the last hash.
fn check_chain<'a>(lines: impl Iterator<Item = &'a str>) -> Result<(u64, String), AuditError> {
    let mut prev = GENESIS.to_string();
    let mut n = 0u64;
    for (i, raw) in lines.enumerate() {
        let line_no = i as u64 + 1;
        let broken = |reason: String| AuditError::Broken { line: line_no, reason };
        let mut v: Value = serde_json::from_str(raw).map_err(|e| broken(format!("not JSON: {e}")))?;
        let hash = v
            .as_object_mut()
            .and_then(|o| o.remove("hash"))
            .and_then(|h| h.as_str().map(str::to_string))
            .ok_or_else(|| broken("no hash".into()))?;
        if digest(&v) != hash {
            return Err(broken("the line was changed (its hash does not match)".into()));
        }
        if v["prev"].as_str() != Some(prev.as_str()) {
            return Err(broken(
                "the chain is broken: a line before it was removed, changed or moved".into(),
            ));
        }
        if v["seq"].as_u64() != Some(line_no) {
            return Err(broken(format!("sequence {} where {line_no} was expected", v["seq"])));
        }
        prev = hash;
        n = line_no;
    }
    Ok((n, prev))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(i: u64) -> Event {
        Event {
            time: format!("2026-01-01T00:00:{i:02}Z"),
            token_id: Some("a1b2c3d4".into()),
            role: Some("analyst".into()),
            action: "GET /api/v1/share".into(),
            params: json!({"query": format!("by=district&n={i}")}),
            dataset_version: Some(3),
            outcome: "done".into(),
            status: Some(200),
            address: Some("10.0.0.7".into()),
        }
    }

    fn trail() -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&[event(1), event(2)]).unwrap();
        log.append(&[event(3)]).unwrap();
        log.append(&[event(4), event(5)]).unwrap();
        (dir, log)
    }

    fn rewrite(log: &AuditLog, f: impl FnOnce(&mut Vec<String>)) {
        let mut lines: Vec<String> = std::fs::read_to_string(log.log_path())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        f(&mut lines);
        std::fs::write(log.log_path(), lines.join("\n") + "\n").unwrap();
    }

    /// Each line is hashed as written, not rebuilt as a JSON tree: absent
    /// fields, text to escape and Vietnamese text must hash as `verify`
    /// reads them back.
    #[test]
    fn lines_with_absent_fields_and_text_to_escape_verify() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        let odd = Event {
            token_id: None,
            role: None,
            dataset_version: None,
            status: None,
            address: None,
            action: "cli token create \"Thanh Hóa\"\n\t\u{1}".into(),
            params: json!({"name": "Sở Công Thương", "path": "/a\\b", "query": null, "n": [1, 2.5]}),
            ..event(1)
        };
        log.append(&[odd.clone(), event(2)]).unwrap();
        log.append(&[odd]).unwrap();
        assert_eq!(log.verify().unwrap().lines, 3);
        let first = std::fs::read_to_string(log.log_path()).unwrap();
        let line: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        assert_eq!(line["action"], "cli token create \"Thanh Hóa\"\n\t\u{1}");
        assert_eq!(line["seq"], 1);
        assert_eq!(line["prev"], GENESIS);
    }

    #[test]
    fn a_snapshot_ends_at_the_head_and_leaves_later_lines_out() {
        let (_d, log) = trail();
        // An append caught between its lines and its head.
        let extra = std::fs::read_to_string(log.log_path())
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        let mut f = std::fs::OpenOptions::new().append(true).open(log.log_path()).unwrap();
        writeln!(f, "{extra}").unwrap();
        let files = log.snapshot().unwrap();
        assert_eq!(files[0].1.iter().filter(|&&b| b == b'\n').count(), 5);
        let copy = tempfile::tempdir().unwrap();
        for (rel, bytes) in &files {
            let p = copy.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        assert_eq!(AuditLog::new(copy.path()).verify().unwrap().lines, 5);
        assert!(
            AuditLog::new(copy.path().join("none").as_path())
                .snapshot()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn an_intact_trail_verifies() {
        let (_d, log) = trail();
        assert_eq!(log.verify().unwrap().lines, 5);
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(AuditLog::new(empty.path()).verify().unwrap().lines, 0);
    }

    #[test]
    fn an_edited_line_is_detected() {
        let (_d, log) = trail();
        rewrite(&log, |l| l[2] = l[2].replace("\"status\":200", "\"status\":403"));
        let e = log.verify().unwrap_err();
        assert!(matches!(e, AuditError::Broken { line: 3, .. }), "{e}");
    }

    #[test]
    fn a_deleted_line_is_detected() {
        let (_d, log) = trail();
        rewrite(&log, |l| {
            l.remove(1);
        });
        assert!(matches!(log.verify().unwrap_err(), AuditError::Broken { line: 2, .. }));
        // Also from the end.
        let (_d, log) = trail();
        rewrite(&log, |l| {
            l.pop();
        });
        assert!(log.verify().unwrap_err().to_string().contains("removed from the end"));
    }

    #[test]
    fn reordered_lines_are_detected() {
        let (_d, log) = trail();
        rewrite(&log, |l| l.swap(1, 3));
        assert!(matches!(log.verify().unwrap_err(), AuditError::Broken { line: 2, .. }));
    }
}
