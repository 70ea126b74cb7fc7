//! Crashes at chosen points (issue 26): at every step of an audit append
//! and before every rename `ingest`, `compact`, `report` and an upload to
//! `serve` make (`ECOMSHARE_FAULT=rename#N` stops the process before its
//! Nth rename, so the walk needs no list of names). After each crash the
//! data directory is opened again: its audit trail verifies with every
//! sequence number once, no temporary file is left, and the answers are
//! those of the version before the command or after it.

use crate::common;

use common::{Env, Row, bin, csv, free_port, post_filings, tax_code};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Renames a command may make before it is done; a walk that reaches this
/// many kill points without the command finishing is a failure.
const MOST_RENAMES: usize = 60;

/// Hidden names a data directory keeps for good: its locks and the report
/// archive's bundles. Any other hidden entry is something written aside and
/// never renamed into place.
const KEPT_HIDDEN: [&str; 3] = [".lock", ".tokens.lock", ".bundles"];

fn leftovers(data: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![data.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && !KEPT_HIDDEN.contains(&name.as_str()) {
                found.push(entry.path());
            } else if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    // Staging batches are named openly; none may remain.
    for dir in ["staging"] {
        if let Ok(entries) = std::fs::read_dir(data.join(dir)) {
            found.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    found
}

/// The figures a data directory answers, without its version number.
fn figures(data: &Path) -> Value {
    common::state(data).1
}

/// The audit trail verifies, and its lines carry 1, 2, 3… once each.
fn trail_is_whole(data: &Path, context: &str) -> Vec<Value> {
    let out = bin(data).args(["audit", "verify"]).output().unwrap();
    assert!(
        out.status.success(),
        "{context}: audit verify exits {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(data.join("audit/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{context}");
    lines
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a {} {}", from.display(), to.display());
}

fn died_at_fault(out: &Output) -> bool {
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("ECOMSHARE_FAULT: aborting")
}

/// How a command run with a fault armed ended.
enum Ran {
    /// It stopped at the fault.
    Died,
    /// It finished: the fault's rename was never reached.
    Finished,
    /// It failed otherwise (its error output).
    Failed(String),
}

impl From<Output> for Ran {
    fn from(out: Output) -> Self {
        if died_at_fault(&out) {
            Ran::Died
        } else if out.status.success() {
            Ran::Finished
        } else {
            Ran::Failed(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Runs `command` on copies of `start`, stopped before its 1st, 2nd, …
/// rename until it finishes. After each stop the copy is opened again and
/// must answer `before` or `after`, verify its trail and hold no temporary
/// file. Returns the number of kill points tried.
fn walk_renames(
    env: &Env,
    label: &str,
    start: &Path,
    before: &Value,
    after: &Value,
    command: impl Fn(&Path, &str) -> Ran,
    check: impl Fn(&Path, &str),
) -> usize {
    for n in 1..=MOST_RENAMES {
        let data = env.path(&format!("{label}-{n}"));
        copy_dir(start, &data);
        match command(&data, &format!("rename#{n}")) {
            Ran::Died => {}
            Ran::Finished => return n - 1,
            Ran::Failed(stderr) => panic!("{label}, rename #{n}: {stderr}"),
        }
        let context = format!("{label}, killed before rename #{n}");
        let now = figures(&data);
        assert!(&now == before || &now == after, "{context}: answers neither version");
        trail_is_whole(&data, &context);
        assert_eq!(leftovers(&data), Vec::<PathBuf>::new(), "{context}");
        check(&data, &context);
        let _ = std::fs::remove_dir_all(&data);
    }
    panic!("{label}: still renaming after {MOST_RENAMES} kill points");
}

fn filings(env: &Env, name: &str, first: u32, units: u32) -> PathBuf {
    let rows: Vec<Row> = (first..first + units)
        .flat_map(|u| {
            let district = ["380", "381", "382"][u as usize % 3];
            ["2025-01", "2025-02", "2025-03"].map(|month| {
                Row::new(
                    &tax_code(u),
                    district,
                    "4711",
                    month,
                    1000 + i64::from(u),
                    10 * i64::from(u % 7),
                )
            })
        })
        .collect();
    env.write(name, &csv(&rows))
}

fn faulted(data: &Path, fault: &str, args: &[&str]) -> Ran {
    bin(data)
        .env("ECOMSHARE_FAULT", fault)
        .args(args)
        .output()
        .unwrap()
        .into()
}

#[test]
fn a_crash_at_any_step_of_an_audit_append_leaves_a_trail_that_verifies() {
    let env = Env::new();
    let start = env.path("start");
    let create = |data: &Path, fault: Option<&str>, name: &str| {
        let mut c = bin(data);
        if let Some(fault) = fault {
            c.env("ECOMSHARE_FAULT", fault);
        }
        c.args(["token", "create", "--role", "viewer", "--name", name])
            .output()
            .unwrap()
    };
    for name in ["a", "b"] {
        assert!(create(&start, None, name).status.success());
    }
    for (point, line_kept) in [
        ("audit:torn-write", false),
        ("audit:before-sync", true),
        ("audit:after-sync", true),
        ("before-rename:head.json", true),
    ] {
        let data = env.path(point.replace(':', "-").as_str());
        copy_dir(&start, &data);
        let out = create(&data, Some(point), "c");
        assert!(died_at_fault(&out), "{point}: {}", String::from_utf8_lossy(&out.stderr));
        // Opened again (any command), the trail is repaired and verifies.
        let lines = trail_is_whole(&data, point);
        let repair = lines.last().unwrap();
        assert_eq!(repair["action"], "audit repair", "{point}");
        let adopted = lines.iter().any(|l| l["params"]["name"] == "c");
        assert_eq!(adopted, line_kept, "{point}: the crashed append's line");
        assert_eq!(repair["params"]["adopted_lines"], u64::from(line_kept), "{point}");
        assert_eq!(
            repair["params"]["cut_bytes"].as_u64().unwrap() > 0,
            !line_kept,
            "{point}"
        );
        assert_eq!(leftovers(&data), Vec::<PathBuf>::new(), "{point}");
        // The next append goes on from the repaired trail: no number twice.
        assert!(create(&data, None, "d").status.success());
        let after = trail_is_whole(&data, point);
        assert_eq!(after.len(), lines.len() + 1, "{point}");
        // Verified again, nothing more is repaired.
        assert_eq!(trail_is_whole(&data, point).len(), after.len(), "{point}");
    }
}

/// A repaired trail still finds every real change: a line removed at the
/// end or in the middle, a line edited, two lines swapped.
#[test]
fn audit_verify_still_finds_lines_removed_edited_or_moved() {
    let env = Env::new();
    let start = env.path("start");
    for name in ["a", "b", "c", "d"] {
        let out = bin(&start)
            .args(["token", "create", "--role", "viewer", "--name", name])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    // A crash left a line past the head; the next open adopts it.
    let out = faulted(
        &start,
        "before-rename:head.json",
        &["token", "create", "--role", "viewer", "--name", "e"],
    );
    assert!(matches!(out, Ran::Died));
    let lines = trail_is_whole(&start, "before tampering");
    assert_eq!(lines.len(), 6);
    let text = std::fs::read_to_string(start.join("audit/audit.jsonl")).unwrap();
    let original: Vec<&str> = text.lines().collect();
    let edited_line = original[2].replace("\"name\":\"c\"", "\"name\":\"x\"");
    assert_ne!(edited_line, original[2]);
    let tampered: [(&str, Vec<&str>); 4] = [
        ("last line removed", original[..5].to_vec()),
        ("middle line removed", [&original[..2], &original[3..]].concat()),
        ("line edited", {
            let mut l = original.clone();
            l[2] = &edited_line;
            l
        }),
        ("lines swapped", {
            let mut l = original.clone();
            l.swap(1, 2);
            l
        }),
    ];
    for (what, lines) in tampered {
        let data = env.path(&what.replace(' ', "-"));
        copy_dir(&start, &data);
        let mut body = lines.join("\n");
        body.push('\n');
        std::fs::write(data.join("audit/audit.jsonl"), body).unwrap();
        let out = bin(&data).args(["audit", "verify"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(5),
            "{what}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn ingest_compact_and_report_killed_before_any_rename_leave_one_version_and_no_temporary_file() {
    let env = Env::new();
    let start = env.path("start");
    let first = filings(&env, "first.csv", 1, 30);
    let second = filings(&env, "second.csv", 100, 30);
    assert!(bin(&start).arg("ingest").arg(&first).output().unwrap().status.success());
    let before = figures(&start);
    let done = env.path("done");
    copy_dir(&start, &done);
    assert!(bin(&done).arg("ingest").arg(&second).output().unwrap().status.success());
    let after = figures(&done);
    assert_ne!(before, after);

    let ingest = |data: &Path, fault: &str| {
        bin(data)
            .env("ECOMSHARE_FAULT", fault)
            .arg("ingest")
            .arg(&second)
            .output()
            .unwrap()
            .into()
    };
    let points = walk_renames(&env, "ingest", &start, &before, &after, ingest, |_, _| {});
    assert!(points >= 2, "ingest renames {points} times");
    eprintln!("ingest: {points} kill points");

    // Compaction merges a run of 8 small batches; every answer unchanged.
    for k in 0..6 {
        let more = filings(&env, &format!("more{k}.csv"), 200 + 10 * k, 10);
        assert!(bin(&done).arg("ingest").arg(&more).output().unwrap().status.success());
    }
    let compacted = figures(&done);
    let compact = |data: &Path, fault: &str| faulted(data, fault, &["compact"]);
    let points = walk_renames(&env, "compact", &done, &compacted, &compacted, compact, |_, _| {});
    assert!(points >= 1, "compact renames {points} times");
    eprintln!("compact: {points} kill points");

    // A report: after a crash it is in the archive whole, or not at all.
    let report = |data: &Path, fault: &str| faulted(data, fault, &["report", "--month", "2025-03"]);
    let whole_or_absent = |data: &Path, context: &str| {
        let dir = data.join("reports/2025-03");
        if dir.exists() {
            for file in ["report.json", "report.html", "report.pdf", "report.xlsx"] {
                assert!(
                    dir.join(file).is_file(),
                    "{context}: {file} missing from a listed report"
                );
            }
        }
    };
    let points = walk_renames(&env, "report", &done, &compacted, &compacted, report, whole_or_absent);
    assert!(points >= 1, "report renames {points} times");
    eprintln!("report: {points} kill points");
}

#[test]
fn a_server_killed_before_any_rename_of_an_upload_leaves_one_version_and_no_temporary_file() {
    let env = Env::new();
    let start = env.path("start");
    assert!(
        bin(&start)
            .arg("ingest")
            .arg(filings(&env, "first.csv", 1, 30))
            .output()
            .unwrap()
            .status
            .success()
    );
    let before = figures(&start);
    let second = std::fs::read(filings(&env, "second.csv", 100, 30)).unwrap();
    let done = env.path("done");
    copy_dir(&start, &done);
    let ingested = bin(&done).arg("ingest").arg(env.path("second.csv")).output().unwrap();
    assert!(ingested.status.success());
    let after = figures(&done);

    let serve_and_upload = |data: &Path, fault: &str| {
        let port = free_port();
        let mut server = bin(data)
            .env("ECOMSHARE_FAULT", fault)
            .args(["serve", "--no-demo", "--no-warm", "--rate-limit-per-s", "0", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if server.try_wait().unwrap().is_some() || started.elapsed().as_secs() > 60 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let status = post_filings(port, "second.csv", &second);
        if status.contains(" 201 ") || status.contains(" 200 ") {
            // Done, and the server lives on: stop it as an operator would.
            let _ = server.kill();
            let _ = server.wait();
            return Ran::Finished;
        }
        server.wait_with_output().unwrap().into()
    };
    let points = walk_renames(&env, "upload", &start, &before, &after, serve_and_upload, |_, _| {});
    assert!(points >= 2, "an upload renames {points} times");
    eprintln!("upload: {points} kill points");
}
