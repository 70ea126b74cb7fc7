//! The serving lifecycle on the real binary: `/livez` and `/readyz` (on the
//! main listener and on the ops listener, without a token), and SIGTERM:
//! `/readyz` turns 503 first, an upload still arriving is refused or
//! committed whole, a query in flight finishes with its whole answer,
//! requests still in flight past the grace are cut, the audit trail is
//! written, exit 0; a second signal exits at once.
//!
//! A request is known to be in flight, without a sleep, by `Expect:
//! 100-continue`: the server answers `100 Continue` when its handler first
//! reads the body.

use crate::common::{self, Env, Row};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a debug build on a busy machine; polls end sooner.
const PATIENCE: Duration = Duration::from_secs(90);

struct Server {
    child: Child,
    port: u16,
    ops: u16,
    log: PathBuf,
}

impl Server {
    /// `serve` on free ports, the ops listener given as a bare port.
    fn start(env: &Env, extra: &[&str]) -> Self {
        let port = common::free_port();
        let ops = common::free_port();
        let log = env.path(&format!("serve-{port}.log"));
        let child = env
            .cmd()
            .env("ECOMSHARE_LOG", "info")
            .args(["serve", "--no-demo", "--no-warm", "--rate-limit-per-s", "0", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--metrics-addr")
            .arg(ops.to_string())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        common::wait_for_port(port);
        common::wait_for_port(ops);
        Self { child, port, ops, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls the ops listener's `/readyz` until it answers `status`.
    fn readyz_until(&self, status: u16) -> Value {
        poll(&format!("/readyz {status}"), || {
            let (s, body) = get(self.ops, "/readyz");
            (s == status).then_some(body)
        })
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    /// The exit code, waiting for the process to end.
    fn exit_code(&mut self) -> i32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("the server did not exit:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` every 20 ms until it gives a value.
fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < PATIENCE, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The status and body of an answer read to the end of the connection
/// (chunked bodies decoded).
fn parse(raw: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header") + 4;
    let head = text[..split].to_ascii_lowercase();
    let mut body = raw[split..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut plain = Vec::new();
        let mut rest = &body[..];
        loop {
            let line = rest.windows(2).position(|w| w == b"\r\n").expect("a chunk size");
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            plain.extend_from_slice(&rest[line + 2..line + 2 + size]);
            rest = &rest[line + 2 + size + 2..];
        }
        body = plain;
    }
    (status, body)
}

/// A GET with `Connection: close`; status 0 when nothing answers.
fn get(port: u16, path: &str) -> (u16, Value) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Value::Null);
    };
    let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    if s.write_all(head.as_bytes())
        .and_then(|()| s.read_to_end(&mut raw))
        .is_err()
        || raw.is_empty()
    {
        return (0, Value::Null);
    }
    let (status, body) = parse(&raw);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A request whose handler has begun reading its body (the server said
/// `100 Continue`); the body is sent later, or never.
struct InFlight {
    stream: TcpStream,
}

impl InFlight {
    fn begin(port: u16, target: &str, content_type: &str, length: usize) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).unwrap(), 1, "the server closed: {got:?}");
            got.push(byte[0]);
        }
        assert!(got.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&got));
        Self { stream }
    }

    /// Sends more of the body; the server may have answered and closed
    /// already (a refusal), which `answer` then reads.
    fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    fn answer(mut self) -> (u16, Vec<u8>) {
        let mut raw = Vec::new();
        let read = self.stream.read_to_end(&mut raw);
        assert!(!raw.is_empty(), "no answer: {read:?}");
        parse(&raw)
    }
}

fn rows(units: std::ops::Range<u32>, period: &str) -> String {
    let rows: Vec<Row> = units
        .map(|n| {
            Row::new(
                &common::tax_code(n),
                "380",
                "4711",
                period,
                1000 + n as i64,
                (n % 1000) as i64,
            )
        })
        .collect();
    common::csv(&rows)
}

/// The dataset version and the number of filings, read by the command line.
fn state(env: &Env) -> (u64, u64) {
    let v = env.share(&["--from", "2025-01", "--to", "2025-03"]);
    (
        v["dataset_version"].as_u64().unwrap(),
        v["total"]["filings"].as_u64().unwrap(),
    )
}

fn ingest(env: &Env, name: &str, text: &str) {
    let file = env.write(name, text);
    let run = env.ingest(&[&file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn sigterm_during_a_slow_upload_turns_readyz_503_refuses_the_upload_and_exits_0() {
    let env = Env::new();
    ingest(&env, "first.csv", &rows(0..40, "2025-01"));
    let before = state(&env);
    let mut server = Server::start(&env, &[]);
    assert_eq!(
        server.readyz_until(200),
        serde_json::json!({"status": "ready", "dataset_version": 1})
    );

    let body = rows(1000..1100, "2025-02");
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    let mut upload = InFlight::begin(server.port, "/api/v1/filings?name=late.csv", "text/csv", body.len());
    upload.send(first);
    server.signal("TERM");
    // Readiness first, while the upload is still arriving.
    assert_eq!(
        server.readyz_until(503),
        serde_json::json!({"status": "not_ready", "reason": "shutting_down"})
    );
    assert_eq!(get(server.ops, "/livez").0, 200, "live while draining");
    upload.send(rest);
    let (status, answer) = upload.answer();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (503, Some("shutting_down")),
        "{answer}"
    );
    assert_eq!(server.exit_code(), 0, "{}", server.log());
    assert_eq!(state(&env), before, "nothing of the upload was committed");
    let uploads = env.data().join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads).unwrap().filter_map(Result::ok).collect();
    assert!(left.is_empty(), "spool files left: {left:?}");
}

#[test]
fn sigterm_as_an_upload_ends_either_refuses_it_or_commits_it_whole_and_says_which() {
    let env = Env::new();
    ingest(&env, "first.csv", &rows(0..40, "2025-01"));
    let (version, filings) = state(&env);
    let mut server = Server::start(&env, &[]);
    server.readyz_until(200);
    // Large enough that its commit takes a while: the signal comes while
    // it is read, validated or committed.
    let added = 20_000u64;
    let body = rows(100_000..100_000 + added as u32, "2025-03");
    let mut upload = InFlight::begin(server.port, "/api/v1/filings?name=big.csv", "text/csv", body.len());
    upload.send(body.as_bytes());
    server.signal("TERM");
    let (status, answer) = upload.answer();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(server.exit_code(), 0, "{}", server.log());
    match status {
        201 => {
            assert_eq!(answer["dataset_version"], version + 1, "{answer}");
            assert_eq!(
                state(&env),
                (version + 1, filings + added),
                "committed whole: {}",
                answer["files"]
            );
        }
        503 => {
            assert_eq!(answer["error"]["code"], "shutting_down", "{answer}");
            assert_eq!(state(&env), (version, filings), "refused: nothing committed");
        }
        other => panic!("{other}: {answer}"),
    }
    let log = server.log();
    let running = log.lines().find(|l| l.contains("shutting down: /readyz answers 503"));
    println!("the upload was answered {status}; at the signal: {running:?}");
}

#[test]
fn sigterm_during_a_query_lets_it_finish_with_its_whole_answer_and_writes_its_audit_event() {
    let env = Env::new();
    ingest(&env, "first.csv", &rows(0..40, "2025-01"));
    let mut server = Server::start(&env, &[]);
    server.readyz_until(200);

    let sql = "SELECT district_code, count(*) AS n FROM filings GROUP BY district_code";
    let mut query = InFlight::begin(server.port, "/api/v1/sql", "application/sql", sql.len());
    server.signal("TERM");
    // 503 before the request in flight has even finished arriving.
    server.readyz_until(503);
    assert!(server.alive(), "the query in flight is waited for");
    query.send(sql.as_bytes());
    let (status, answer) = query.answer();
    let answer: Value =
        serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer)));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["rows"],
        serde_json::json!([{"district_code": "380", "n": 40}]),
        "{answer}"
    );
    assert_eq!(server.exit_code(), 0, "{}", server.log());

    // The query's event (open local mode: every caller is admin, audited)
    // was written before the exit, and the trail holds together.
    let trail = std::fs::read_to_string(env.data().join("audit/audit.jsonl")).unwrap();
    let last = trail.lines().last().map(|l| serde_json::from_str::<Value>(l).unwrap());
    let last = last.expect("an audit line");
    assert_eq!(
        (last["action"].as_str(), last["status"].as_u64()),
        (Some("POST /api/v1/sql"), Some(200))
    );
    assert_eq!(env.run(&["audit", "verify"]).code, 0);
}

#[test]
fn a_request_still_in_flight_when_the_grace_is_over_is_cut_and_the_process_exits_0() {
    let env = Env::new();
    ingest(&env, "first.csv", &rows(0..40, "2025-01"));
    let mut server = Server::start(&env, &["--shutdown-grace-s", "1"]);
    server.readyz_until(200);
    // An upload whose body never comes.
    let stalled = InFlight::begin(server.port, "/api/v1/filings?name=never.csv", "text/csv", 1 << 20);
    server.signal("TERM");
    let (status, answer) = stalled.answer();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("shutting_down")));
    assert_eq!(server.exit_code(), 0, "{}", server.log());
    let log = server.log();
    assert!(
        log.contains("requests still in flight are cut") && log.contains("requests=1"),
        "{log}"
    );
    assert_eq!(state(&env).0, 1);
}

#[test]
fn a_second_signal_during_the_drain_exits_at_once_with_128_plus_its_number() {
    let env = Env::new();
    let mut server = Server::start(&env, &["--shutdown-grace-s", "600"]);
    server.readyz_until(200);
    let _stalled = InFlight::begin(server.port, "/api/v1/filings?name=never.csv", "text/csv", 1 << 20);
    server.signal("TERM");
    server.readyz_until(503);
    assert!(server.alive(), "draining: the stalled upload has 600 s");
    server.signal("INT");
    assert_eq!(server.exit_code(), 130, "{}", server.log());
}

#[test]
fn readyz_is_503_loading_while_the_newest_version_cannot_be_loaded_and_the_probes_need_no_token() {
    let env = Env::new();
    ingest(&env, "first.csv", &rows(0..40, "2025-01"));
    // Access tokens exist: the API asks for one, the probes do not.
    assert_eq!(
        env.run(&["token", "create", "--role", "admin", "--name", "ops"]).code,
        0
    );
    // The version's filings damaged: it cannot be loaded, so never readied.
    // (A damaged rollup alone is answered from the filings.)
    std::fs::write(env.data().join("batches/00000001/filings_0.parquet"), b"not parquet").unwrap();
    let mut server = Server::start(&env, &[]);
    poll("the first failed readying", || {
        server.log().contains("loading the newest version failed").then_some(())
    });
    let loading = serde_json::json!({"status": "not_ready", "reason": "loading"});
    for port in [server.ops, server.port] {
        assert_eq!(get(port, "/readyz"), (503, loading.clone()), "port {port}");
        assert_eq!(get(port, "/livez"), (200, serde_json::json!({"status": "live"})));
    }
    assert_eq!(get(server.port, "/api/v1/share").0, 401);
    assert_eq!(
        get(server.ops, "/api/v1/share").0,
        404,
        "the ops listener serves the probes and the metrics only"
    );
    // The metrics: without a token on the ops listener, for admins on the main one.
    assert_eq!(get(server.ops, "/metrics").0, 200);
    assert_eq!(get(server.port, "/metrics").0, 401);
    server.signal("TERM");
    assert_eq!(server.exit_code(), 0, "{}", server.log());
}
