//! The audit trail: `DATA/audit/audit.jsonl`, append-only JSON lines, one
//! per authenticated action and per refusal, hash-chained.
//!
//! Each line holds `seq` (1, 2, …), the event, `prev` (the previous line's
//! hash; 64 zeros for the first) and `hash`: the hex SHA-256 of the line's
//! JSON without `hash` (keys sorted). `DATA/audit/head.json` holds the last
//! line's seq and hash and the trail's length in bytes, rewritten
//! atomically after each append, so removing lines from the end is seen
//! as well as an edited, deleted or reordered line. Appends from several
//! processes are serialised by an OS lock.
//!
//! An append writes its lines, syncs them, then replaces the head; a crash
//! can stop it between any two of those. What lies past the head's length
//! is therefore an append that did not finish, and the next open (or
//! append, or verify) resolves it under the lock before anything else
//! (see [`AuditLog::recover`]): complete lines that continue the chain are
//! adopted, a torn last line is cut, and the repair is itself appended as
//! an event (`audit repair`). Nothing at or before the head's length is
//! ever rewritten, so a removed, edited or moved line is still found.
//!
//! Events carry no token, secret or cookie: only the token's id and role.

use crate::util::{durable, fault};
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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
    /// The trail's length in bytes at this head; absent in heads written
    /// before it was recorded (found by counting lines, then recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    len: Option<u64>,
}

impl Head {
    fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS.into(),
            len: Some(0),
        }
    }
}

/// What [`AuditLog::recover`] did to a trail an append left unfinished.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// Complete lines past the head that continue the chain, now under it.
    pub adopted_lines: u64,
    /// Bytes of a torn last line, cut.
    pub cut_bytes: u64,
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
        let (head, _) = self.recover_locked()?;
        self.write_lines(head, events).map(|_| ())
    }

    /// Appends `events` after `head` (the trail's consistent end) and
    /// makes the new head; returns it.
    fn write_lines(&self, mut head: Head, events: &[Event]) -> Result<Head, AuditError> {
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
            head.seq = seq;
            head.hash = hash;
        }
        let path = self.log_path();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        if fault::armed("audit:torn-write") {
            let _ = f.write_all(&text[..text.len() / 2]);
            fault::point("audit:torn-write");
        }
        f.write_all(&text).map_err(io(&path))?;
        fault::point("audit:before-sync");
        f.sync_data().map_err(io(&path))?;
        fault::point("audit:after-sync");
        head.len = Some(f.metadata().map_err(io(&path))?.len());
        let head_path = self.head_path();
        durable::write_atomic(&head_path, &serde_json::to_vec(&head).expect("head serializes"))
            .map_err(io(&head_path))?;
        Ok(head)
    }

    /// Brings a trail an append left unfinished (a crash between writing
    /// its lines, syncing them and replacing the head) to a consistent
    /// state, under the lock: complete lines past the head that continue
    /// its chain are adopted (the head moves over them), a torn last line
    /// is cut, and the repair is appended as an `audit repair` event, so
    /// sequence numbers are never reused and a crash is never reported as
    /// tampering. Anything else past the head (a line that does not
    /// continue the chain) is left for `verify` to report; nothing at or
    /// before the head is touched. Returns what was done, `None` when the
    /// trail was consistent.
    pub fn recover(&self) -> Result<Option<Repair>, AuditError> {
        if !self.dir.exists() {
            return Ok(None);
        }
        let _lock = self.lock()?;
        self.recover_locked().map(|(_, repair)| repair)
    }

    fn recover_locked(&self) -> Result<(Head, Option<Repair>), AuditError> {
        // A head written aside by a writer that died before renaming it.
        crate::util::durable::sweep(&self.dir, &[]).map_err(io(&self.dir))?;
        let mut head = self.read_head()?.unwrap_or_else(Head::genesis);
        let path = self.log_path();
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&path)(e)),
        };
        let recorded = head.len;
        let start = match recorded {
            Some(len) => len,
            // A head from before lengths were recorded: its line's end,
            // found once (the head then records it).
            None => match line_end(&std::fs::read(&path).map_err(io(&path))?, head.seq) {
                Some(end) => end as u64,
                // Fewer lines than the head names: for `verify` to report.
                None => return Ok((head, None)),
            },
        };
        if size <= start {
            // Consistent (or shorter than its head: for `verify` to report).
            if recorded.is_none() && size == start {
                head.len = Some(start);
                self.write_head(&head)?;
            }
            return Ok((head, None));
        }
        // Only what lies past the head is read.
        let tail = {
            use std::io::{Read, Seek};
            let mut f = std::fs::File::open(&path).map_err(io(&path))?;
            f.seek(std::io::SeekFrom::Start(start)).map_err(io(&path))?;
            let mut tail = Vec::with_capacity((size - start) as usize);
            f.read_to_end(&mut tail).map_err(io(&path))?;
            tail
        };
        let (mut adopted, mut cursor) = (0u64, 0usize);
        while let Some(nl) = tail[cursor..].iter().position(|&b| b == b'\n') {
            let line = &tail[cursor..cursor + nl];
            match continues(line, head.seq + 1, &head.hash) {
                Some(hash) => {
                    head.seq += 1;
                    head.hash = hash;
                    adopted += 1;
                    cursor += nl + 1;
                }
                None => break,
            }
        }
        let rest = &tail[cursor..];
        let torn = !rest.is_empty() && !rest.contains(&b'\n');
        if adopted == 0 && !torn {
            // A complete line that does not continue the chain: not a crash's.
            return Ok((head, None));
        }
        let end = start + cursor as u64;
        if torn {
            let f = std::fs::OpenOptions::new().write(true).open(&path).map_err(io(&path))?;
            f.set_len(end).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
        }
        head.len = Some(end);
        self.write_head(&head)?;
        let repair = Repair {
            adopted_lines: adopted,
            cut_bytes: if torn { rest.len() as u64 } else { 0 },
        };
        tracing::warn!(
            adopted_lines = repair.adopted_lines,
            cut_bytes = repair.cut_bytes,
            "the audit trail was left by an append that did not finish: repaired"
        );
        metrics::counter!("ecomshare_audit_repairs_total").increment(1);
        let event = Event {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            token_id: None,
            role: None,
            action: "audit repair".into(),
            params: serde_json::to_value(&repair).expect("a repair serializes"),
            dataset_version: None,
            outcome: "done".into(),
            status: None,
            address: None,
        };
        let head = self.write_lines(head, &[event])?;
        Ok((head, Some(repair)))
    }

    fn write_head(&self, head: &Head) -> Result<(), AuditError> {
        let path = self.head_path();
        durable::write_atomic(&path, &serde_json::to_vec(head).expect("head serializes")).map_err(io(&path))
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
        self.recover_locked()?;
        let path = self.log_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let (n, prev) = check_chain(text.lines())?;
        let head = match self.read_head()? {
            Some(head) => head,
            None if n == 0 => Head::genesis(),
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

/// The byte offset just past line `n` (0: the start), `None` when the
/// text has fewer lines.
fn line_end(text: &[u8], n: u64) -> Option<usize> {
    let mut end = 0;
    for _ in 0..n {
        end += text[end..].iter().position(|&b| b == b'\n')? + 1;
    }
    Some(end)
}

/// The line's hash when it is the chain's next line: a JSON line whose
/// hash matches, with sequence `seq` and previous hash `prev`.
fn continues(line: &[u8], seq: u64, prev: &str) -> Option<String> {
    let mut v: Value = serde_json::from_slice(line).ok()?;
    let hash = v.as_object_mut()?.remove("hash")?.as_str()?.to_string();
    (digest(&v) == hash && v["prev"].as_str() == Some(prev) && v["seq"].as_u64() == Some(seq)).then_some(hash)
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

    fn lines(log: &AuditLog) -> Vec<Value> {
        std::fs::read_to_string(log.log_path())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// A crash after the lines were synced, before the head was replaced:
    /// the lines are adopted, the repair recorded, and the next append
    /// continues the sequence (regression: the trail was called broken
    /// forever, and new lines reused the orphans' numbers).
    #[test]
    fn lines_past_the_head_are_adopted_and_sequence_numbers_are_not_reused() {
        let (_d, log) = trail();
        let old_head = std::fs::read(log.head_path()).unwrap();
        log.append(&[event(6), event(7)]).unwrap();
        std::fs::write(log.head_path(), &old_head).unwrap();
        assert_eq!(
            log.recover().unwrap(),
            Some(Repair {
                adopted_lines: 2,
                cut_bytes: 0
            })
        );
        assert_eq!(log.recover().unwrap(), None, "consistent once repaired");
        log.append(&[event(9)]).unwrap();
        assert_eq!(log.verify().unwrap().lines, 9);
        let all = lines(&log);
        assert_eq!(all[7]["action"], "audit repair");
        assert_eq!(all[7]["params"], json!({"adopted_lines": 2, "cut_bytes": 0}));
        let seqs: Vec<u64> = all.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=9).collect::<Vec<_>>());
    }

    /// A crash in the middle of writing: whole lines adopted, the torn
    /// last one cut, by the next append as well as by `recover`.
    #[test]
    fn a_torn_last_line_is_cut_and_the_whole_lines_before_it_kept() {
        let (_d, log) = trail();
        let old_head = std::fs::read(log.head_path()).unwrap();
        let before = std::fs::metadata(log.log_path()).unwrap().len();
        log.append(&[event(6), event(7)]).unwrap();
        let full = std::fs::read(log.log_path()).unwrap();
        let second_line_start = before as usize + full[before as usize..].iter().position(|&b| b == b'\n').unwrap() + 1;
        let torn = second_line_start + 40;
        std::fs::write(log.log_path(), &full[..torn]).unwrap();
        std::fs::write(log.head_path(), &old_head).unwrap();
        log.append(&[event(8)]).unwrap();
        let all = lines(&log);
        assert_eq!(all.len(), 8, "5 + line 6 adopted + the repair + the new event");
        assert_eq!(all[6]["params"], json!({"adopted_lines": 1, "cut_bytes": 40}));
        assert_eq!(all[7]["seq"], 8);
        assert_eq!(log.verify().unwrap().lines, 8);
    }

    /// Past the head, a line that does not continue the chain is not a
    /// crash's: it is left, and `verify` reports it.
    #[test]
    fn a_foreign_line_past_the_head_is_left_for_verify() {
        let (_d, log) = trail();
        let first = std::fs::read_to_string(log.log_path())
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        let mut f = std::fs::OpenOptions::new().append(true).open(log.log_path()).unwrap();
        writeln!(f, "{first}").unwrap();
        assert_eq!(log.recover().unwrap(), None);
        assert!(matches!(log.verify().unwrap_err(), AuditError::Broken { line: 6, .. }));
    }

    /// Lines removed from the end stay visible after a recovery and an
    /// append; a head written before lengths were recorded still works.
    #[test]
    fn removal_from_the_end_is_still_found_and_old_heads_are_read() {
        let (_d, log) = trail();
        rewrite(&log, |l| {
            l.pop();
        });
        assert_eq!(log.recover().unwrap(), None);
        log.append(&[event(6)]).unwrap();
        assert!(log.verify().is_err());

        let (_d, log) = trail();
        let mut head: Value = serde_json::from_slice(&std::fs::read(log.head_path()).unwrap()).unwrap();
        head.as_object_mut().unwrap().remove("len");
        std::fs::write(log.head_path(), serde_json::to_vec(&head).unwrap()).unwrap();
        assert_eq!(log.recover().unwrap(), None);
        let recorded: Value = serde_json::from_slice(&std::fs::read(log.head_path()).unwrap()).unwrap();
        assert_eq!(recorded["len"], std::fs::metadata(log.log_path()).unwrap().len());
        log.append(&[event(6)]).unwrap();
        assert_eq!(log.verify().unwrap().lines, 6);
    }

    #[test]
    fn reordered_lines_are_detected() {
        let (_d, log) = trail();
        rewrite(&log, |l| l.swap(1, 3));
        assert!(matches!(log.verify().unwrap_err(), AuditError::Broken { line: 2, .. }));
    }
}
