//! Backups and format versions, through the real binary: a backup taken
//! while a server ingests and answers restores every version's answers
//! byte for byte, with its tokens and audit trail; a damaged backup is
//! refused naming the damage; an older data directory is upgraded (also
//! after a crash mid-upgrade) and a newer one refused by every command.

use crate::common::{self, Env, Row, bin, csv, kill as stop, serve, tax_code};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn run(data: &Path, args: &[&str]) -> Output {
    bin(data).args(args).output().expect("run ecomshare")
}

fn ok(data: &Path, args: &[&str]) -> Vec<u8> {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// One HTTP request; the status code and body.
fn request(port: u16, method: &str, target: &str, token: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    let auth = if token.is_empty() {
        String::new()
    } else {
        format!("Authorization: Bearer {token}\r\n")
    };
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Demo filings of six months (a seed per file).
fn demo_file(env: &Env, seed: u32) -> PathBuf {
    let dir = env.path(&format!("demo{seed}"));
    let r = env.run(&[
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        &seed.to_string(),
        "--end",
        "2025-06",
        "--months",
        "6",
        "--units",
        "200",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    dir.join("filings.csv")
}

/// A version and its answers: the share API's JSON, a named query's CSV.
type Answers = Vec<(u64, Vec<u8>, Vec<u8>)>;

/// Every answer that must survive a backup, an upgrade or a restore: for
/// each version, the share API by district and a named query, as bytes.
fn answers(data: &Path, versions: u64) -> Answers {
    (1..=versions)
        .map(|v| {
            let v_text = v.to_string();
            let share = ok(
                data,
                &[
                    "share", "--as-of", &v_text, "--by", "district", "--from", "2025-01", "--to", "2025-06",
                ],
            );
            let query = ok(
                data,
                &[
                    "query",
                    "share_by_district",
                    "--as-of",
                    &v_text,
                    "--param",
                    "from=2025-01",
                    "--param",
                    "to=2025-06",
                    "--format",
                    "csv",
                ],
            );
            (v, share, query)
        })
        .collect()
}

fn version(data: &Path) -> u64 {
    json(&ok(data, &["share"]))["dataset_version"].as_u64().unwrap()
}

#[test]
fn a_backup_taken_while_four_clients_ingest_and_query_restores_every_versions_answers() {
    let env = Env::new();
    let data = env.data();
    for seed in [1, 2] {
        ok(&data, &["ingest", demo_file(&env, seed).to_str().unwrap()]);
    }
    let admin = json(&ok(
        &data,
        &["token", "create", "--role", "admin", "--name", "backup test"],
    ))["token"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&data, &["report", "--month", "2025-06"]);
    let (server, port) = serve(&data);

    // Two clients upload small batches, two ask for figures, until told to stop.
    let stopping = Arc::new(AtomicBool::new(false));
    let uploads = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..4u32 {
        let (stopping, uploads, token) = (stopping.clone(), uploads.clone(), admin.clone());
        clients.push(std::thread::spawn(move || {
            let mut n = 0u32;
            while !stopping.load(Ordering::SeqCst) {
                if c < 2 {
                    let unit = tax_code(900_000 + c * 1000 + n);
                    let body = csv(&[Row::new(&unit, "380", "4711", "2025-03", 1000 + i64::from(n), 10)]);
                    let (status, text) = request(
                        port,
                        "POST",
                        &format!("/api/v1/filings?name=c{c}-{n}.csv"),
                        &token,
                        body.as_bytes(),
                    );
                    assert!(status == 201 || status == 200, "upload: {status} {text}");
                    uploads.fetch_add(1, Ordering::SeqCst);
                } else {
                    let (status, text) = request(port, "GET", "/api/v1/share?by=district", &token, b"");
                    assert_eq!(status, 200, "{text}");
                }
                n += 1;
            }
        }));
    }
    // The backup starts once the clients are committing.
    let started = std::time::Instant::now();
    while uploads.load(Ordering::SeqCst) < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no upload committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let file = env.path("backup.zip");
    let summary = json(&ok(&data, &["backup", "--out", file.to_str().unwrap()]));
    // Three more uploads by two clients: one of them began after the
    // backup ended, so the original moves past the backup's version.
    let uploads_at_backup = uploads.load(Ordering::SeqCst);
    while uploads.load(Ordering::SeqCst) < uploads_at_backup + 3 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "uploads stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stopping.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().expect("a client");
    }
    stop(server);
    let backed_up = summary["dataset_version"].as_u64().unwrap();
    assert!(backed_up >= 4, "{summary}");
    assert!(version(&data) > backed_up, "the original went on past the backup");
    assert_eq!(summary["data_format"], ecomshare::store::format::CURRENT);
    assert_eq!(summary["backup_bytes"], std::fs::metadata(&file).unwrap().len());

    let restored = env.path("restored");
    let r = json(&ok(&restored, &["restore", file.to_str().unwrap()]));
    assert_eq!(r["dataset_version"], backed_up);
    assert_eq!(r["files"], summary["files"]);
    assert_eq!(r["backup_sha256"], summary["backup_sha256"]);
    assert_eq!(version(&restored), backed_up);
    // Every version's answers, byte for byte.
    assert_eq!(answers(&restored, backed_up), answers(&data, backed_up));
    // The archive's reports, the audit trail and the tokens came along.
    assert_eq!(
        std::fs::read(restored.join("reports/2025-06/report.json")).unwrap(),
        std::fs::read(data.join("reports/2025-06/report.json")).unwrap()
    );
    let audit = json(&ok(&restored, &["audit", "verify"]));
    assert!(audit["lines"].as_u64().unwrap() >= 3, "{audit}");
    assert!(json(&ok(&data, &["audit", "verify"]))["lines"].as_u64() > audit["lines"].as_u64());
    let (server, port) = serve(&restored);
    let (status, body) = request(port, "GET", "/api/v1/share?by=district", &admin, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(body.as_bytes())["dataset_version"], backed_up);
    assert_eq!(request(port, "GET", "/api/v1/share", "", b"").0, 401);
    stop(server);
}

/// Flips one bit at `offset` of a copy of `file`.
fn flipped(file: &Path, to: &Path, offset: u64) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset as usize] ^= 0x10;
    std::fs::write(to, bytes).unwrap();
}

/// Where entry `name`'s data lies in the zip at `file`, and its length.
fn entry_data(file: &Path, name: &str) -> (u64, u64) {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let entry = zip.by_name(name).unwrap();
    (
        entry.data_start().expect("the entry's data offset"),
        entry.compressed_size(),
    )
}

fn refused(data: &Path, backup: &Path) -> Value {
    let out = run(data, &["restore", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "nothing restored from a damaged backup");
    let parent = data.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("restore"))
        .collect();
    assert!(left.is_empty(), "no staging left: {left:?}");
    let v = json(&out.stdout);
    assert_eq!(v["error"]["code"], "backup_damaged");
    v
}

#[test]
fn a_truncated_or_bit_flipped_backup_is_refused_naming_the_damage() {
    let env = Env::new();
    let data = env.data();
    ok(
        &data,
        &["ingest", common::fixture("sample_filings.csv").to_str().unwrap()],
    );
    let file = env.path("backup.zip");
    ok(&data, &["backup", "--out", file.to_str().unwrap()]);
    let len = std::fs::metadata(&file).unwrap().len();

    let truncated = env.path("truncated.zip");
    std::fs::write(&truncated, &std::fs::read(&file).unwrap()[..(len / 2) as usize]).unwrap();
    let e = refused(&env.path("from-truncated"), &truncated);
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("truncated.zip") && message.contains("truncated"),
        "{message}"
    );

    let parquet = "batches/00000001/filings_0.parquet";
    let (start, size) = entry_data(&file, parquet);
    let bad_parquet = env.path("bad-parquet.zip");
    flipped(&file, &bad_parquet, start + size / 2);
    let e = refused(&env.path("from-bad-parquet"), &bad_parquet);
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains(parquet) && message.contains("expected"), "{message}");

    let (start, _) = entry_data(&file, "ecomshare-backup.json");
    let bad_manifest = env.path("bad-manifest.zip");
    flipped(&file, &bad_manifest, start + 10);
    let e = refused(&env.path("from-bad-manifest"), &bad_manifest);
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("ecomshare-backup.json"), "{message}");

    // A whole backup is not restored over a directory that holds anything.
    let busy = env.path("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), b"mine").unwrap();
    let out = run(&busy, &["restore", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stdout)["error"]["code"], "restore_target_not_empty");
    assert_eq!(std::fs::read(busy.join("keep.txt")).unwrap(), b"mine");
}

/// A directory as today's main (format 1) leaves it: no marker, and a
/// month of the report archive as a directory of its own (as archives
/// from before bundles hold it).
fn make_format_1(env: &Env) -> (PathBuf, Answers, Vec<u8>) {
    let data = env.data();
    for seed in [3, 4] {
        ok(&data, &["ingest", demo_file(env, seed).to_str().unwrap()]);
    }
    ok(&data, &["token", "create", "--role", "viewer", "--name", "old"]);
    ok(&data, &["report", "--month", "2025-05"]);
    let before = answers(&data, 2);
    let month = data.join("reports/2025-05");
    let report = std::fs::read(month.join("report.json")).unwrap();
    let bundle = std::fs::canonicalize(&month).unwrap();
    std::fs::remove_file(&month).unwrap();
    std::fs::rename(&bundle, &month).unwrap();
    std::fs::remove_file(data.join("format.json")).unwrap();
    (data, before, report)
}

fn format_of(data: &Path) -> Option<u64> {
    let bytes = std::fs::read(data.join("format.json")).ok()?;
    json(&bytes)["format"].as_u64()
}

#[test]
fn an_old_format_directory_is_upgraded_with_every_answer_unchanged() {
    let env = Env::new();
    let (data, before, report) = make_format_1(&env);
    let out = bin(&data)
        .env("ECOMSHARE_LOG", "info")
        .args(["share"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("upgrading the data directory") && log.contains("upgraded"),
        "{log}"
    );
    assert_eq!(format_of(&data), Some(u64::from(ecomshare::store::format::CURRENT)));
    assert!(
        std::fs::symlink_metadata(data.join("reports/2025-05"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(std::fs::read(data.join("reports/2025-05/report.json")).unwrap(), report);
    assert_eq!(answers(&data, 2), before);
    assert_eq!(
        json(&ok(&data, &["token", "list"]))["tokens"].as_array().unwrap().len(),
        1
    );
    // Opened again, nothing more to do.
    let out = bin(&data)
        .env("ECOMSHARE_LOG", "info")
        .args(["share"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("upgrading"));
}

#[test]
fn a_crash_during_the_upgrade_leaves_a_directory_the_next_open_upgrades() {
    let env = Env::new();
    let (data, before, report) = make_format_1(&env);
    for point in ["upgrade:after_move", "upgrade:before_marker"] {
        let out = bin(&data).env("ECOMSHARE_FAULT", point).arg("share").output().unwrap();
        assert!(!out.status.success(), "{point}: the process died");
        assert_eq!(format_of(&data), None, "{point}: the marker is written last");
    }
    assert_eq!(answers(&data, 2), before);
    assert_eq!(format_of(&data), Some(u64::from(ecomshare::store::format::CURRENT)));
    assert_eq!(std::fs::read(data.join("reports/2025-05/report.json")).unwrap(), report);
}

#[test]
fn a_directory_of_a_newer_format_is_refused_by_every_command() {
    let env = Env::new();
    let data = env.data();
    let sample = common::fixture("sample_filings.csv");
    ok(&data, &["ingest", sample.to_str().unwrap()]);
    std::fs::write(
        data.join("format.json"),
        format!(
            r#"{{"format": {}, "written_by": "ecomshare 9.0.0"}}"#,
            ecomshare::store::format::CURRENT + 1
        ),
    )
    .unwrap();
    let listing = |d: &Path| -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing(&data);
    let backup = env.path("b.zip");
    let commands: Vec<Vec<&str>> = vec![
        vec!["ingest", sample.to_str().unwrap()],
        vec!["share"],
        vec!["query", "share_by_district"],
        vec!["query", "--list"],
        vec!["report", "--month", "2025-01"],
        vec!["compact"],
        vec!["token", "list"],
        vec!["token", "create", "--role", "viewer", "--name", "x"],
        vec!["audit", "verify"],
        vec!["deliveries"],
        vec!["backup", "--out", backup.to_str().unwrap()],
        vec!["serve", "--no-demo", "--addr", "127.0.0.1:0"],
    ];
    for args in commands {
        let out = run(&data, &args);
        assert_eq!(
            out.status.code(),
            Some(6),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out.stdout);
        assert_eq!(v["error"]["code"], "data_format_too_new", "{args:?}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("format {}", ecomshare::store::format::CURRENT + 1))
                && message.contains(&format!("up to {}", ecomshare::store::format::CURRENT))
                && message.contains("use a newer ecomshare"),
            "{args:?}: {message}"
        );
    }
    assert_eq!(listing(&data), before, "nothing was written");
    assert!(!backup.exists());
}
