//! Test harness: run the real binary in a fresh data directory, build
//! filing files, and compute shares the naive way as an oracle.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    pub fn cmd(&self) -> Command {
        bin(&self.data())
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().expect("run ecomshare"))
    }

    pub fn ingest(&self, files: &[&Path]) -> Run {
        let mut c = self.cmd();
        c.arg("ingest");
        for f in files {
            c.arg(f);
        }
        Run::from(c.output().expect("run ecomshare ingest"))
    }

    pub fn share(&self, args: &[&str]) -> Value {
        let mut all = vec!["share"];
        all.extend_from_slice(args);
        let r = self.run(&all);
        assert_eq!(r.code, 0, "share failed: {}", r.stderr);
        r.json()
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// Valid tax codes for tests: 28 + seven digits + check digit.
pub fn tax_code(n: u32) -> String {
    let mut k = n;
    loop {
        if let Some(c) = ecomshare::domain::unit_id::complete_tax_code(&format!("28{:07}", k % 10_000_000)) {
            return c;
        }
        k += 10_000_000 / 7 + 1;
    }
}

pub const HEADER: &str =
    "unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight,unit_name";

/// One filing row for CSV files.
#[derive(Debug, Clone)]
pub struct Row {
    pub unit: String,
    pub district: String,
    pub vsic: String,
    pub period: String,
    pub total: i64,
    pub ecom: i64,
    pub submitted: String,
    pub weight: String,
}

impl Row {
    pub fn new(unit: &str, district: &str, vsic: &str, period: &str, total: i64, ecom: i64) -> Self {
        Self {
            unit: unit.into(),
            district: district.into(),
            vsic: vsic.into(),
            period: period.into(),
            total,
            ecom,
            submitted: String::new(),
            weight: String::new(),
        }
    }

    pub fn at(mut self, submitted: &str) -> Self {
        self.submitted = submitted.into();
        self
    }

    pub fn weight(mut self, w: &str) -> Self {
        self.weight = w.into();
        self
    }

    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},",
            self.unit, self.district, self.vsic, self.period, self.total, self.ecom, self.submitted, self.weight
        )
    }
}

pub fn csv(rows: &[Row]) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for r in rows {
        s.push_str(&r.csv());
        s.push('\n');
    }
    s
}

/// The binary on a data directory, with no fault armed and quiet logs.
pub fn bin(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ecomshare"));
    c.arg("--data")
        .arg(data)
        .env_remove("ECOMSHARE_DATA")
        .env_remove("ECOMSHARE_FAULT")
        .env_remove("ECOMSHARE_TARGET_PROGRAMS")
        .env_remove("ECOMSHARE_CLOCK_START")
        .env_remove("ECOMSHARE_RELEASE_DEADLINE_DAY")
        .env_remove("ECOMSHARE_RELEASE_FINAL_AFTER_MONTHS")
        .env_remove("ECOMSHARE_DELIVERY_MAX_IN_FLIGHT")
        .env_remove("ECOMSHARE_POLL_INTERVAL_S")
        .env("ECOMSHARE_LOG", "warn");
    c
}

/// `ecomshare serve` on `data` (no demo, no warming, no rate limit) on a
/// free loopback port, once it accepts connections.
pub fn serve(data: &Path) -> (std::process::Child, u16) {
    let port = free_port();
    let child = bin(data)
        .args(["serve", "--no-demo", "--no-warm", "--rate-limit-per-s", "0", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ecomshare serve");
    wait_for_port(port);
    (child, port)
}

/// Kills a child process (`kill -9`) and reaps it.
pub fn kill(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A loopback port free at the moment of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to a minute) until a server accepts connections on `port`.
pub fn wait_for_port(port: u16) {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Whether the tests run in CI (`CI` set and not empty), where no test may
/// skip for want of a tool.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// A program or file a test needs from outside Rust (Chromium,
/// chromedriver, axe-core, poppler's pdftotext): `path` if it exists, or,
/// for a bare name, the first match on `PATH`. Missing, the test is
/// skipped with the reason printed (the caller returns on `None`) — but
/// under `CI` it fails instead, so CI never skips it. `install` says how
/// to get it.
///
/// ```ignore
/// let Some(pdftotext) = common::require_tool("pdftotext", "pdftotext", "apt-get install poppler-utils") else {
///     return;
/// };
/// ```
pub fn require_tool(name: &str, path: impl AsRef<Path>, install: &str) -> Option<PathBuf> {
    let path = path.as_ref();
    let found = if path.components().count() > 1 {
        path.is_file().then(|| path.to_path_buf())
    } else {
        std::env::var_os("PATH")
            .and_then(|dirs| std::env::split_paths(&dirs).map(|d| d.join(path)).find(|p| p.is_file()))
    };
    if found.is_none() {
        missing(&format!("{name} not found at {} ({install})", path.display()));
    }
    found
}

/// A Python module a test needs, as [`require_tool`] a program: whether
/// `python3` imports it (the caller returns on `false`: skipped locally,
/// a failure under `CI`).
pub fn require_python_module(module: &str, install: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        missing(&format!("python3 cannot import {module} ({install})"));
    }
    found
}

/// Skips the test for want of a tool, saying `why` — or, under `CI`, fails it.
fn missing(why: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_string();
    assert!(!in_ci(), "{test}: {why}; CI runs every test, none may skip");
    // Straight to the process's stderr: the test harness captures
    // `eprintln!` of a passing test, and a skip must be seen.
    let line = format!("SKIPPED {test}: {why}; CI runs it\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
}

/// One HTTP/1.1 exchange on a fresh connection; the whole response as text.
pub fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Posts a filing file to `POST /api/v1/filings` (open local mode); the
/// response's status line, or an empty string if the server died first.
pub fn post_filings(port: u16, name: &str, body: &[u8]) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let head = format!(
        "POST /api/v1/filings?name={name} HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if s.write_all(head.as_bytes()).and_then(|_| s.write_all(body)).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or("").to_string()
}

/// What a data directory holds: its version, and its figures by district
/// and sector for 2025-01..2025-06 without the version.
pub fn state(data: &Path) -> (u64, Value) {
    let out = bin(data)
        .args([
            "share",
            "--by",
            "district,sector",
            "--from",
            "2025-01",
            "--to",
            "2025-06",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the data directory reads: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = v["dataset_version"].as_u64().unwrap();
    v.as_object_mut().unwrap().remove("dataset_version");
    (version, v)
}

/// The context a file is read in outside a batch (the dry run, a direct
/// `ingest_file`): the built-in reference, November 2026, batch 1, file 0.
pub fn file_context(reference: &ecomshare::domain::Reference) -> ecomshare::ingest::FileContext<'_> {
    ecomshare::ingest::FileContext {
        reference,
        current_month: ecomshare::domain::Period::new(2026, 11).unwrap(),
        batch_seq: 1,
        file_index: 0,
        ingest_time_us: 0,
        numbers: Default::default(),
    }
}

/// One request through a router (in process): its status, headers and
/// whole body.
pub async fn exchange(
    router: axum::Router,
    req: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}
