//! The monthly report on schedule and its delivery: a scheduled run driven
//! by an injected clock, webhook delivery to a local receiver that fails the
//! first attempts (also across a server kill and restart), e-mail to a
//! local SMTP sink and to a real SMTP server (aiosmtpd) that refuses some
//! addresses, recipients side by side behind a receiver that hangs, and a
//! permanent refusal queued again by hand.

use crate::common;

use chrono::{DateTime, Utc};
use common::{Env, Row, csv, fixture, tax_code};
use ecomshare::delivery::scheduler::{RunOutcome, Scheduler};
use ecomshare::delivery::{
    AddressState, Channel, DEFAULT_MAX_IN_FLIGHT, Delivery, DeliveryOptions, Outbox, Outcome, Recipient, ReportRef,
    RetryPolicy, Secret, Smtp, SmtpSecurity, State, Worker,
};
use ecomshare::domain::MonthlySchedule;
use ecomshare::present::locale::Lang;
use ecomshare::service::{App, IngestSource};
use ecomshare::util::clock::{Clock, ManualClock};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cret-for-the-ministry";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    idempotency_key: String,
    /// `X-Ecomshare-Timestamp`.
    timestamp: i64,
    signature_valid: bool,
    body_sha256: String,
    answered: u16,
    manifest: Value,
    files: Vec<(String, Vec<u8>)>,
}

/// A webhook receiver on a loopback port: answers `fail_with` to the first
/// `fail_first` requests, 200 after; checks each signature.
struct Receiver {
    port: u16,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(fail_first: usize, fail_with: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let log = shared.clone();
                let _ = handle_http(stream, &log, fail_first, fail_with);
            }
        });
        Self { port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

fn handle_http(
    stream: TcpStream,
    log: &Mutex<Vec<Received>>,
    fail_first: usize,
    fail_with: u16,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| {
                let (k, v) = h.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let timestamp = header("x-ecomshare-timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signature_valid = header("x-ecomshare-signature") == format!("sha256={}", hex(&mac.finalize().into_bytes()));
    let boundary = header("content-type")
        .split_once("boundary=")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    let (manifest, files) = multipart(&body, &boundary);
    let mut log = log.lock().unwrap();
    let answered = if log.len() < fail_first { fail_with } else { 200 };
    log.push(Received {
        idempotency_key: header("idempotency-key"),
        timestamp: timestamp.parse().unwrap_or(0),
        signature_valid,
        body_sha256: hex(&Sha256::digest(&body)),
        answered,
        manifest,
        files,
    });
    drop(log);
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {answered} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    )?;
    stream.flush()
}

/// The manifest and the files of a multipart body.
fn multipart(body: &[u8], boundary: &str) -> (Value, Vec<(String, Vec<u8>)>) {
    let delimiter = format!("--{boundary}");
    let mut manifest = Value::Null;
    let mut files = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else { break };
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content_start = head_end + 4;
        let next = find(&rest[content_start..], delimiter.as_bytes()).expect("a closing delimiter");
        let content = &rest[content_start..content_start + next - 2];
        if head.contains("name=\"manifest\"") {
            manifest = serde_json::from_slice(content).unwrap();
        } else if let Some((_, name)) = head.split_once("filename=\"") {
            files.push((name.split('"').next().unwrap().to_string(), content.to_vec()));
        }
        rest = &rest[content_start..];
    }
    (manifest, files)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(env: &Env, config: &Path, clock_start: &str) -> Server {
    serve_on(env, config, clock_start).0
}

/// `serve` and the port it listens on.
fn serve_on(env: &Env, config: &Path, clock_start: &str) -> (Server, u16) {
    let port = common::free_port();
    let child = env
        .cmd()
        .args(["--config", config.to_str().unwrap()])
        .args([
            "serve",
            "--no-demo",
            "--no-warm",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ECOMSHARE_CLOCK_START", clock_start)
        .env("ECOMSHARE_HOOK_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::wait_for_port(port);
    (Server(child), port)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn outbox(env: &Env) -> Vec<Delivery> {
    Outbox::new(&env.data()).list().unwrap()
}

/// A monthly schedule on the 5th at 08:00 (Hanoi) and one webhook recipient,
/// `moit`, at `receiver`, retried after 1.5 s then 3 s.
fn webhook_config(env: &Env, receiver: &Receiver) -> std::path::PathBuf {
    env.write(
        "ecomshare.toml",
        &format!(
            r#"
[schedule]
day = 5
time = "08:00"
timezone = "Asia/Ho_Chi_Minh"

[[recipients]]
kind = "webhook"
name = "moit"
url = "{}"
secret_env = "ECOMSHARE_HOOK_SECRET"

[delivery]
initial_backoff_s = 1.5
max_backoff_s = 3
"#,
            receiver.url()
        ),
    )
}

#[test]
fn webhook_delivered_exactly_once_after_failures_and_a_server_kill_between_attempts() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let receiver = Receiver::start(2, 503);
    let config = webhook_config(&env, &receiver);
    // Half a minute after the schedule's time on 5 April 2025, Hanoi time.
    let server = serve(&env, &config, "2025-04-05T08:00:30+07:00");
    wait_until("the first attempt's outcome", Duration::from_secs(60), || {
        outbox(&env)
            .first()
            .is_some_and(|d| d.attempts.len() == 1 && d.attempts[0].outcome.is_some())
    });
    // Killed between attempts; nothing is lost.
    drop(server);
    assert_eq!(receiver.received().len(), 1);
    let d = &outbox(&env)[0];
    assert_eq!((d.state, d.report.month.as_str()), (State::Pending, "2025-03"));

    let _server = serve(&env, &config, "2025-04-05T08:00:40+07:00");
    wait_until("delivery", Duration::from_secs(60), || {
        outbox(&env).first().is_some_and(|d| d.state == State::Delivered)
    });
    // Nothing more after the delivery.
    std::thread::sleep(Duration::from_secs(4));
    let got = receiver.received();
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [503, 503, 200],
        "delivered exactly once, after two failures"
    );
    let d = &outbox(&env)[0];
    assert_eq!(d.attempts.len(), 3);
    assert_eq!(d.id, "2025-03-vi-v1-moit");
    let wall = Utc::now().timestamp();
    for r in &got {
        assert!(r.signature_valid, "every attempt is signed with the secret");
        assert!(
            (wall - 120..=wall).contains(&r.timestamp),
            "signed at the wall clock's time ({wall}), not the rehearsal's: {}",
            r.timestamp
        );
        assert_eq!(r.idempotency_key, d.idempotency_key, "one key per report and recipient");
        assert_eq!(r.body_sha256, got[0].body_sha256, "every attempt sends the same bytes");
    }

    // The files are the archived report's, as the manifest says.
    let last = got.last().unwrap();
    assert_eq!(last.manifest["report"]["month"], "2025-03");
    assert_eq!(last.manifest["report"]["dataset_version"], 1);
    let names: Vec<&str> = last.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["report.json", "report.pdf", "report.html", "report.xlsx"]);
    for (i, (name, bytes)) in last.files.iter().enumerate() {
        let archived = std::fs::read(env.data().join("reports/2025-03").join(name)).unwrap();
        assert_eq!(bytes, &archived, "{name}");
        assert_eq!(last.manifest["files"][i]["sha256"], hex(&Sha256::digest(bytes)));
    }

    // The CLI and the API show the same outbox.
    let r = env.run(&["deliveries"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed = r.json();
    assert_eq!(listed["deliveries"][0]["state"], "delivered");
    let outcomes: Vec<&str> = listed["deliveries"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["retry", "retry", "delivered"]);
    // Listing and queuing again need no secret (ECOMSHARE_HOOK_SECRET is
    // not set for these); delivering does.
    let config_arg = config.to_str().unwrap();
    let r = env.run(&["--config", config_arg, "deliveries"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["deliveries"][0]["state"], "delivered");
    let r = env.run(&["--config", config_arg, "deliveries", "--retry", &d.id]);
    assert_eq!(r.json()["error"]["code"], "delivery_not_failed", "{}", r.stderr);
    let r = env.run(&["--config", config_arg, "serve", "--no-demo", "--addr", "127.0.0.1:0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains("ECOMSHARE_HOOK_SECRET is not set"), "{}", r.stdout);
    // The run is recorded, so a third start does not generate it again.
    let state: Value = serde_json::from_slice(&std::fs::read(env.data().join("schedule.json")).unwrap()).unwrap();
    assert_eq!(state["runs"].as_array().unwrap().len(), 1);
    assert_eq!(state["runs"][0]["outcome"], "generated");
}

#[test]
fn of_two_servers_on_one_store_either_takes_uploads_and_the_standby_takes_over_a_delivery_once() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let receiver = Receiver::start(2, 503);
    let config = webhook_config(&env, &receiver);
    let (first, first_port) = serve_on(&env, &config, "2025-04-05T08:00:30+07:00");
    // The first holds the outbox once its schedule has queued the report.
    wait_until("the report queued", Duration::from_secs(60), || {
        !outbox(&env).is_empty()
    });
    let (_second, second_port) = serve_on(&env, &config, "2025-04-05T08:00:30+07:00");

    // An upload to one server is answered by the other.
    let total_at_second = || {
        let answer = common::http(
            second_port,
            "GET /api/v1/share?from=2025-02&to=2025-02 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
        (body["dataset_version"].clone(), body["total"]["filings"].clone())
    };
    let before = total_at_second();
    assert_eq!(before.0, 1);
    let more = csv(&[Row::new(&tax_code(9), "380", "4711", "2025-02", 4000, 400)]);
    let status = common::post_filings(first_port, "more.csv", more.as_bytes());
    assert!(status.starts_with("HTTP/1.1 201"), "{status}");
    // It finds the version in the log and readies it by itself (its
    // metrics are asked, not its figures), then answers from it.
    wait_until(
        "the other server serving the upload's version",
        Duration::from_secs(30),
        || {
            common::http(
                second_port,
                "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .lines()
            .any(|l| l == "ecomshare_dataset_version_serving 2")
        },
    );
    let after = total_at_second();
    assert_eq!(after.0, 2);
    assert_eq!(
        after.1.as_u64(),
        before.1.as_u64().map(|n| n + 1),
        "{before:?} {after:?}"
    );

    // The holder dies between attempts; the standby takes over.
    wait_until("the first attempt's outcome", Duration::from_secs(60), || {
        outbox(&env)
            .first()
            .is_some_and(|d| d.attempts.len() == 1 && d.attempts[0].outcome.is_some())
    });
    drop(first);
    wait_until("delivery by the other server", Duration::from_secs(60), || {
        outbox(&env).first().is_some_and(|d| d.state == State::Delivered)
    });
    std::thread::sleep(Duration::from_secs(4));
    let answered: Vec<u16> = receiver.received().iter().map(|r| r.answered).collect();
    assert_eq!(answered, [503, 503, 200], "delivered exactly once");
    assert_eq!(
        outbox(&env).len(),
        1,
        "one delivery: the report was not generated again"
    );
    let state: Value = serde_json::from_slice(&std::fs::read(env.data().join("schedule.json")).unwrap()).unwrap();
    assert_eq!(state["runs"].as_array().unwrap().len(), 1);
}

/// Ingest runs its own runtime, so async tests call it off the runtime.
async fn ingest(app: &Arc<App>, source: IngestSource) {
    let app = app.clone();
    let report = tokio::task::spawn_blocking(move || app.ingest(vec![source]))
        .await
        .unwrap()
        .unwrap();
    assert!(report.committed);
}

async fn app_with_fixture() -> (tempfile::TempDir, Arc<App>) {
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(App::open(dir.path().join("data")).unwrap());
    ingest(&app, IngestSource::Path(fixture("sample_filings.csv"))).await;
    (dir, app)
}

async fn ingest_rows(app: &Arc<App>, name: &str, rows: &[Row]) {
    let source = IngestSource::Bytes {
        name: name.into(),
        format: Some(ecomshare::ingest::Format::Csv),
        bytes: csv(rows).into_bytes(),
    };
    ingest(app, source).await;
}

#[tokio::test]
async fn a_scheduled_run_follows_the_injected_clock_catches_up_and_never_repeats() {
    let (_dir, app) = app_with_fixture().await;
    let clock = Arc::new(ManualClock::new(at("2025-04-05T07:59:00+07:00")));
    let recipient = Recipient {
        name: "mst".into(),
        channel: Channel::Webhook {
            url: "http://127.0.0.1:9/unused".into(),
            secret: Secret::new("k"),
        },
        files: vec!["report.pdf".into()],
    };
    let scheduler = Scheduler {
        app: app.clone(),
        schedule: MonthlySchedule::new(5, "08:00", "Asia/Ho_Chi_Minh").unwrap(),
        language: Lang::Vi,
        recipients: vec![recipient],
        clock: clock.clone(),
    };
    let outbox = Outbox::new(app.data_dir());

    // A minute before the time: the latest occurrence is March's (February's report).
    let runs = scheduler.tick().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].month.as_str(), runs[0].outcome),
        ("2025-02", RunOutcome::Generated)
    );
    assert!(scheduler.tick().await.unwrap().is_empty(), "nothing more is due");

    // At 08:00 on the 5th: March's report, and its delivery queued.
    clock.set(at("2025-04-05T08:00:00+07:00"));
    let runs = scheduler.tick().await.unwrap();
    assert_eq!(
        (
            runs.len(),
            runs[0].month.as_str(),
            runs[0].outcome,
            runs[0].deliveries_queued
        ),
        (1, "2025-03", RunOutcome::Generated, 1)
    );
    let archived: Value =
        serde_json::from_slice(&std::fs::read(app.data_dir().join("reports/2025-03/report.json")).unwrap()).unwrap();
    assert_eq!(archived["dataset_version"], 1);
    let ids: Vec<String> = outbox.list().unwrap().into_iter().map(|d| d.id).collect();
    assert_eq!(ids, ["2025-02-vi-v1-mst", "2025-03-vi-v1-mst"]);

    // A new dataset version later that day does not run the occurrence again.
    ingest_rows(
        &app,
        "late.csv",
        &[Row::new(&tax_code(91), "381", "4711", "2025-03", 1000, 100)],
    )
    .await;
    clock.advance(chrono::Duration::hours(3));
    assert!(scheduler.tick().await.unwrap().is_empty());

    // Generating the month again on demand from the same version changes nothing…
    let archive = app.data_dir().join("reports");
    let march = ecomshare::domain::Period::parse("2025-03").unwrap();
    let first = ecomshare::report::generate(&app, march, Lang::Vi, &archive)
        .await
        .unwrap();
    assert!(first.generated, "version 2 is new");
    let again = ecomshare::report::generate(&app, march, Lang::Vi, &archive)
        .await
        .unwrap();
    assert!(!again.generated, "the same month and version is never generated twice");
    assert_eq!(again.bundle, first.bundle);

    // 5 May: April has no filings yet, so its report waits…
    clock.set(at("2025-05-05T08:00:00+07:00"));
    let runs = scheduler.tick().await.unwrap();
    assert_eq!(
        (runs.len(), runs[0].month.as_str(), runs[0].outcome),
        (1, "2025-04", RunOutcome::WaitingForFilings)
    );
    assert_eq!(outbox.list().unwrap().len(), 2);
    // …until they arrive; the server was down in June and July: caught up, oldest first.
    ingest_rows(
        &app,
        "april.csv",
        &[Row::new(&tax_code(92), "382", "4711", "2025-04", 5000, 900)],
    )
    .await;
    ingest_rows(
        &app,
        "may.csv",
        &[Row::new(&tax_code(93), "382", "4711", "2025-05", 5000, 900)],
    )
    .await;
    ingest_rows(
        &app,
        "june.csv",
        &[Row::new(&tax_code(94), "382", "4711", "2025-06", 5000, 900)],
    )
    .await;
    clock.set(at("2025-07-20T10:00:00+07:00"));
    let runs = scheduler.tick().await.unwrap();
    let months: Vec<(&str, RunOutcome)> = runs.iter().map(|r| (r.month.as_str(), r.outcome)).collect();
    assert_eq!(
        months,
        [
            ("2025-04", RunOutcome::Generated),
            ("2025-05", RunOutcome::Generated),
            ("2025-06", RunOutcome::Generated)
        ]
    );
    assert_eq!(outbox.list().unwrap().len(), 5);
    assert!(scheduler.tick().await.unwrap().is_empty());
    let state = scheduler.state().unwrap();
    assert_eq!(state.last_occurrence.as_deref(), Some("2025-07-05T01:00:00.000Z"));
}

/// A local SMTP sink: takes one message per connection, keeps its text.
fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages: Arc<Mutex<Vec<String>>> = Arc::default();
    let shared = messages.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 sink ESMTP\r\n");
            let mut data: Option<String> = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(text) = data.as_mut() {
                    if line == ".\r\n" {
                        shared.lock().unwrap().push(data.take().unwrap());
                        let _ = stream.write_all(b"250 queued\r\n");
                    } else {
                        text.push_str(line.strip_prefix('.').unwrap_or(&line));
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                    "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
                    "DATA" => {
                        data = Some(String::new());
                        b"354 go on\r\n"
                    }
                    "QUIT" => {
                        let _ = stream.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"502 not here\r\n",
                };
                let _ = stream.write_all(reply);
            }
        }
    });
    (port, messages)
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let sextets: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::new();
    for chunk in sextets.chunks(4) {
        let n = chunk.iter().fold(0u32, |acc, &s| (acc << 6) | s as u32) << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// The decoded body of the attachment named `name`.
fn attachment(message: &str, name: &str) -> Vec<u8> {
    let at = message
        .find(&format!("filename=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name}"));
    let body_start = at + message[at..].find("\r\n\r\n").unwrap() + 4;
    let body_end = body_start + message[body_start..].find("\r\n--").unwrap();
    base64_decode(&message[body_start..body_end])
}

fn worker(app: &App, options: DeliveryOptions, clock: Arc<dyn Clock>) -> Arc<Worker> {
    Worker::new(app.data_dir(), Arc::new(options), clock)
}

async fn archive_march(app: &App) -> ReportRef {
    let g = ecomshare::report::generate(
        app,
        ecomshare::domain::Period::parse("2025-03").unwrap(),
        Lang::Vi,
        &app.data_dir().join("reports"),
    )
    .await
    .unwrap();
    ReportRef::from(&g)
}

#[tokio::test]
async fn email_carries_the_pdf_and_workbook_to_a_local_smtp_sink() {
    let (_dir, app) = app_with_fixture().await;
    let (port, messages) = smtp_sink();
    let recipient = Recipient {
        name: "mst-mail".into(),
        channel: Channel::Email {
            to: vec!["vu.kehoach@mst.gov.vn".into(), "Phòng TMĐT <tmdt@moit.gov.vn>".into()],
        },
        files: vec!["report.pdf".into(), "report.xlsx".into()],
    };
    let options = DeliveryOptions {
        recipients: vec![recipient.clone()],
        smtp: Some(Smtp {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            credentials: None,
            from: "Sở Công Thương Thanh Hóa <ecomshare@example.vn>".into(),
        }),
        retry: RetryPolicy::default(),
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    let clock = Arc::new(ManualClock::new(at("2025-04-05T08:00:00+07:00")));
    let report = archive_march(&app).await;
    let outbox = Outbox::new(app.data_dir());
    assert!(
        outbox
            .enqueue(&Delivery::new(&report, &recipient, clock.now()))
            .unwrap()
    );
    let w = worker(&app, options, clock.clone());
    assert_eq!(w.run_due().await.unwrap(), 1);
    let d = &outbox.list().unwrap()[0];
    assert_eq!(d.state, State::Delivered, "{:?}", d.attempts);
    assert_eq!(d.attempts[0].status, Some(250));
    assert_eq!(w.run_due().await.unwrap(), 0, "a delivered report is not sent again");

    let messages = messages.lock().unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(
        m.contains(&format!("Message-ID: <{}@ecomshare>", d.idempotency_key)),
        "{m}"
    );
    assert!(m.contains("vu.kehoach@mst.gov.vn") && m.contains("tmdt@moit.gov.vn"));
    let dir = app.data_dir().join("reports/2025-03");
    assert_eq!(
        attachment(m, "report.pdf"),
        std::fs::read(dir.join("report.pdf")).unwrap()
    );
    assert_eq!(
        attachment(m, "report.xlsx"),
        std::fs::read(dir.join("report.xlsx")).unwrap()
    );
    assert!(!m.contains("filename=\"report.html\""));
}

#[tokio::test]
async fn a_refusal_fails_for_good_and_is_queued_again_by_hand() {
    let (_dir, app) = app_with_fixture().await;
    let receiver = Receiver::start(1, 400);
    let recipient = Recipient {
        name: "ndxp".into(),
        channel: Channel::Webhook {
            url: receiver.url(),
            secret: Secret::new(SECRET),
        },
        files: vec!["report.json".into()],
    };
    let options = DeliveryOptions {
        recipients: vec![recipient.clone()],
        smtp: None,
        retry: RetryPolicy::default(),
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    let clock = Arc::new(ManualClock::new(at("2025-04-05T08:00:00+07:00")));
    let report = archive_march(&app).await;
    let outbox = Outbox::new(app.data_dir());
    outbox
        .enqueue(&Delivery::new(&report, &recipient, clock.now()))
        .unwrap();
    let w = worker(&app, options, clock.clone());
    w.run_due().await.unwrap();
    let d = &outbox.list().unwrap()[0];
    assert_eq!((d.state, d.attempts[0].status), (State::Failed, Some(400)));
    clock.advance(chrono::Duration::days(1));
    assert_eq!(w.run_due().await.unwrap(), 0, "a refusal is not retried by itself");
    outbox.retry(&d.id, clock.now()).unwrap();
    w.run_due().await.unwrap();
    let d = &outbox.list().unwrap()[0];
    assert_eq!(d.state, State::Delivered);
    assert_eq!(receiver.received().len(), 2);
}

/// A TCP listener on loopback that accepts every connection and never
/// answers (nor closes): a receiver that hangs.
fn hanging_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

fn webhook_to(name: &str, url: String) -> Recipient {
    Recipient {
        name: name.into(),
        channel: Channel::Webhook {
            url,
            secret: Secret::new(SECRET),
        },
        files: vec!["report.json".into()],
    }
}

/// Waits for the delivery `id` to leave `pending` and `sending`; its record.
async fn settled(outbox: &Outbox, id: &str, limit: Duration) -> Delivery {
    let started = Instant::now();
    loop {
        let d = outbox.get(id).unwrap().unwrap();
        if matches!(d.state, State::Delivered | State::Failed) {
            return d;
        }
        assert!(started.elapsed() < limit, "{id}: still {:?} after {limit:?}", d.state);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long after its due time a healthy webhook is delivered when a
/// receiver that hangs is due at the same instant (and met first by a
/// worker that sends one at a time), with `max_in_flight` places and each
/// attempt cut after `timeout`.
async fn delay_behind_a_hanging_receiver(max_in_flight: usize, timeout: Duration) -> Duration {
    let (_dir, app) = app_with_fixture().await;
    let hang = hanging_listener();
    let healthy = Receiver::start(0, 200);
    // Sorted first, so that a worker sending one at a time meets it first.
    let hanging = webhook_to("a-hangs", format!("http://127.0.0.1:{hang}/hook"));
    let ok = webhook_to("b-healthy", healthy.url());
    let options = DeliveryOptions {
        recipients: vec![hanging.clone(), ok.clone()],
        smtp: None,
        retry: RetryPolicy {
            timeout,
            ..RetryPolicy::default()
        },
        max_in_flight,
    };
    let clock: Arc<dyn Clock> = Arc::new(ecomshare::util::clock::SystemClock);
    let report = archive_march(&app).await;
    let outbox = Outbox::new(app.data_dir());
    let due = clock.now();
    for r in [&hanging, &ok] {
        outbox.enqueue(&Delivery::new(&report, r, due)).unwrap();
    }
    let (_stopper, stop) = ecomshare::util::stop::stopper();
    let task = tokio::spawn(worker(&app, options, clock.clone()).run(stop));
    let d = settled(&outbox, &format!("2025-03-vi-v1-{}", ok.name), Duration::from_secs(120)).await;
    task.abort();
    assert_eq!(d.state, State::Delivered);
    assert_eq!(healthy.received().len(), 1);
    let delay = (at(d.delivered_at.as_deref().unwrap()) - due).to_std().unwrap();
    let hung = outbox.get(&format!("2025-03-vi-v1-{}", hanging.name)).unwrap().unwrap();
    assert_ne!(hung.state, State::Delivered, "the hanging receiver never answers");
    eprintln!(
        "max_in_flight {max_in_flight}, timeout {timeout:?}: the healthy recipient delivered {delay:?} after its due time"
    );
    delay
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_delays_no_other_recipient() {
    // The default timeout (60 s): one at a time, the healthy one would wait it out.
    let delay = delay_behind_a_hanging_receiver(DEFAULT_MAX_IN_FLIGHT, RetryPolicy::default().timeout).await;
    assert!(delay < Duration::from_secs(2), "delivered {delay:?} after its due time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_place_in_flight_a_recipient_waits_for_the_hanging_one_s_timeout() {
    // The bound holds: one place is one attempt at a time, as every
    // attempt was before recipients went side by side.
    let timeout = Duration::from_secs(3);
    let delay = delay_behind_a_hanging_receiver(1, timeout).await;
    assert!(
        delay >= timeout && delay < timeout + Duration::from_secs(2),
        "delivered {delay:?} after its due time"
    );
}

/// `Worker::run_due` makes its attempts by the worker's own rule (it is
/// `start_due` run until nothing is under way), so a delivery that comes due
/// again while it runs is attempted in the same call, and every recipient's
/// deliveries are attempted, side by side. Pins the unification of the two
/// (`run_due` once kept its own queue per recipient, a second statement of
/// the rule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_due_retries_what_comes_due_again_and_sends_every_recipient_by_the_worker_s_rule() {
    let (_dir, app) = app_with_fixture().await;
    let flaky = Receiver::start(2, 503);
    let healthy = Receiver::start(0, 200);
    let (a, b) = (
        webhook_to("a-flaky", flaky.url()),
        webhook_to("b-healthy", healthy.url()),
    );
    let options = DeliveryOptions {
        recipients: vec![a.clone(), b.clone()],
        smtp: None,
        retry: RetryPolicy {
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            max_attempts: 5,
            timeout: Duration::from_secs(30),
        },
        max_in_flight: 2,
    };
    let clock = Arc::new(ManualClock::new(at("2025-04-05T08:00:00+07:00")));
    let report = archive_march(&app).await;
    let outbox = Outbox::new(app.data_dir());
    for r in [&a, &b] {
        outbox.enqueue(&Delivery::new(&report, r, clock.now())).unwrap();
    }
    let w = worker(&app, options, clock.clone());
    assert_eq!(
        w.run_due().await.unwrap(),
        4,
        "two refusals and a success for one, a success for the other"
    );
    let flaky_d = outbox.get(&format!("2025-03-vi-v1-{}", a.name)).unwrap().unwrap();
    assert_eq!(flaky_d.state, State::Delivered, "{:?}", flaky_d.attempts);
    assert_eq!(
        flaky_d.attempts.iter().map(|t| t.status).collect::<Vec<_>>(),
        [Some(503), Some(503), Some(200)]
    );
    assert_eq!((flaky.received().len(), healthy.received().len()), (3, 1));
    assert_eq!(w.run_due().await.unwrap(), 0, "nothing is due once both are delivered");
}

/// A real SMTP server (Python's aiosmtpd) on a loopback port: refuses
/// `refused…@` addresses for good (550), `busy…@` ones once for now (451),
/// takes the rest; writes each message it takes, with its envelope's
/// recipients, as a JSON line to `log`.
const SMTP_SERVER: &str = r#"
import json, sys, time
from aiosmtpd.controller import Controller

port, log = int(sys.argv[1]), sys.argv[2]
asked = {}

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        asked[address] = asked.get(address, 0) + 1
        if local.startswith("refused"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("busy") and asked[address] == 1:
            return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(log, "a") as f:
            f.write(json.dumps({"to": envelope.rcpt_tos,
                                "content": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 2.0.0 queued"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

/// The aiosmtpd server running; killed when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl SmtpServer {
    /// `None` (the test skipped, or failed under CI) without aiosmtpd.
    fn start(dir: &Path) -> Option<Self> {
        if !common::require_python_module("aiosmtpd", "python3 -m pip install aiosmtpd") {
            return None;
        }
        let port = common::free_port();
        let log = dir.join("smtp.jsonl");
        let mut child = std::process::Command::new("python3")
            .args(["-c", SMTP_SERVER, &port.to_string(), log.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Some(Self { child, port, log })
    }

    /// The messages taken: each one's envelope recipients and text.
    fn messages(&self) -> Vec<(Vec<String>, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let to = v["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                (to, v["content"].as_str().unwrap().to_string())
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_to_the_accepted_addresses_and_names_the_refused_one() {
    let (dir, app) = app_with_fixture().await;
    let Some(server) = SmtpServer::start(dir.path()) else {
        return;
    };
    let hang = hanging_listener();
    let hanging = webhook_to("a-hangs", format!("http://127.0.0.1:{hang}/hook"));
    let mail = Recipient {
        name: "mst-mail".into(),
        channel: Channel::Email {
            to: vec![
                "Vụ Kế hoạch <kehoach@mst.gov.vn>".into(),
                "refused@mst.gov.vn".into(),
                "busy@moit.gov.vn".into(),
            ],
        },
        files: vec!["report.pdf".into()],
    };
    let options = DeliveryOptions {
        recipients: vec![hanging.clone(), mail.clone()],
        smtp: Some(Smtp {
            host: "127.0.0.1".into(),
            port: server.port,
            security: SmtpSecurity::None,
            credentials: None,
            from: "Sở Công Thương Thanh Hóa <ecomshare@example.vn>".into(),
        }),
        retry: RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            ..RetryPolicy::default()
        },
        max_in_flight: DEFAULT_MAX_IN_FLIGHT,
    };
    let clock: Arc<dyn Clock> = Arc::new(ecomshare::util::clock::SystemClock);
    let report = archive_march(&app).await;
    let outbox = Outbox::new(app.data_dir());
    let due = clock.now();
    for r in [&hanging, &mail] {
        outbox.enqueue(&Delivery::new(&report, r, due)).unwrap();
    }
    let (_stopper, stop) = ecomshare::util::stop::stopper();
    let task = tokio::spawn(worker(&app, options.clone(), clock.clone()).run(stop));
    let id = "2025-03-vi-v1-mst-mail";

    // The first attempt, behind a hanging receiver: the accepted address
    // has the message within a second or two of the due time.
    // The attempt is recorded after the server has the message: wait for
    // both (regression: reading the record as soon as the message arrived
    // failed under load, the attempt not yet written).
    let started = Instant::now();
    let first = loop {
        let attempt = outbox.get(id).unwrap().unwrap().attempts.first().cloned();
        if let Some(a) = attempt.filter(|a| a.finished_at.is_some() && !server.messages().is_empty()) {
            break a;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no message, or no attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let finished = at(first.finished_at.as_deref().expect("the first attempt finished"));
    let delay = (finished - due).to_std().unwrap();
    eprintln!("e-mail's first attempt finished {delay:?} after its due time, behind a hanging receiver");
    assert!(delay < Duration::from_secs(2), "{delay:?}");

    // Then the busy address alone, after the backoff; the refused one is
    // not asked again, and the delivery fails naming it.
    let d = settled(&outbox, id, Duration::from_secs(30)).await;
    task.abort();
    let messages = server.messages();
    let envelopes: Vec<&[String]> = messages.iter().map(|(to, _)| to.as_slice()).collect();
    assert_eq!(
        envelopes,
        [
            &["kehoach@mst.gov.vn".to_string()][..],
            &["busy@moit.gov.vn".to_string()][..]
        ],
        "each address is sent the message once"
    );
    let message_id = format!("Message-ID: <{}@ecomshare>", d.idempotency_key);
    for (_, text) in &messages {
        assert!(text.contains(&message_id), "every copy carries the same Message-ID");
        assert!(
            text.contains("refused@mst.gov.vn"),
            "the To: header is the recipient's whole list"
        );
    }
    assert_eq!(d.state, State::Failed);
    let by_address = |a: &str| d.addresses.iter().find(|x| x.address == a).unwrap().clone();
    let refused = by_address("refused@mst.gov.vn");
    assert_eq!((refused.state, refused.code), (AddressState::Failed, Some(550)));
    assert!(
        refused.message.as_deref().unwrap().contains("mailbox unavailable"),
        "{refused:?}"
    );
    assert_eq!(by_address("kehoach@mst.gov.vn").state, AddressState::Delivered);
    let busy = by_address("busy@moit.gov.vn");
    assert_eq!((busy.state, busy.code), (AddressState::Delivered, Some(250)));
    let outcomes: Vec<_> = d.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [Some(Outcome::Retry), Some(Outcome::Failed)]);
    assert!(
        d.attempts[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("busy@moit.gov.vn 451"),
        "{:?}",
        d.attempts[0]
    );
    let last = d.attempts[1].detail.as_deref().unwrap();
    assert!(
        last.starts_with("refused@mst.gov.vn 550: ") && !last.contains("busy"),
        "{last}"
    );
    // As the outbox's JSON (the CLI's and the API's) shows it.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["addresses"][1]["address"], "refused@mst.gov.vn");
    assert_eq!(json["addresses"][1]["state"], "failed");
    assert_eq!(json["addresses"][1]["code"], 550);

    // Sent again by hand: only the refused address is asked for.
    let queued = outbox.retry(id, clock.now()).unwrap();
    assert_eq!(
        by_address("kehoach@mst.gov.vn"),
        queued.addresses[0],
        "a taken address stays taken"
    );
    assert_eq!(queued.addresses[1].state, AddressState::Pending);
    assert_eq!(worker(&app, options, clock.clone()).run_due().await.unwrap(), 1);
    let d = outbox.get(id).unwrap().unwrap();
    assert_eq!((d.state, d.attempts.len()), (State::Failed, 3));
    assert!(
        d.attempts[2]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("refused@mst.gov.vn 550: ")
    );
    assert_eq!(server.messages().len(), 2, "nobody is sent it again");
}

#[test]
fn a_failed_delivery_is_queued_again_by_the_rehearsal_clock_without_its_secret() {
    let env = Env::new();
    let config = env.write(
        "ecomshare.toml",
        "[[recipients]]\nkind = \"webhook\"\nname = \"moit\"\nurl = \"https://a.example.vn/h\"\n\
         secret_env = \"ECOMSHARE_SECRET_NOBODY_SET\"\n",
    );
    let report = ReportRef {
        month: "2025-03".into(),
        language: "vi".into(),
        dataset_version: 1,
        dataset_committed_at: "2025-04-02T00:00:00Z".into(),
        content_sha256: "ab".repeat(32),
        bundle: "2025-03-vi-v1-abababababab".into(),
    };
    let mut d = Delivery::new(
        &report,
        &webhook_to("moit", "https://a.example.vn/h".into()),
        at("2025-04-05T01:00:00Z"),
    );
    d.state = State::Failed;
    Outbox::new(&env.data()).enqueue(&d).unwrap();
    let run = |args: &[&str]| {
        common::Run::from(
            env.cmd()
                .args(["--config", config.to_str().unwrap()])
                .args(args)
                .env("ECOMSHARE_CLOCK_START", "2025-04-06T08:00:00+07:00")
                .output()
                .unwrap(),
        )
    };
    let r = run(&["deliveries"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.json()["deliveries"][0]["state"], "failed");
    let r = run(&["deliveries", "--retry", &d.id]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let next = r.json()["next_attempt_at"].as_str().unwrap().to_string();
    assert!(
        next.starts_with("2025-04-06T01:00:"),
        "due now by the rehearsal's clock, as the worker reads it: {next}"
    );
}

#[test]
fn a_server_killed_while_a_receiver_hangs_sends_the_others_once_and_the_hanging_one_again() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let hang = hanging_listener();
    let receiver = Receiver::start(0, 200);
    let config = env.write(
        "ecomshare.toml",
        &format!(
            r#"
[schedule]
day = 5
time = "08:00"

[[recipients]]
kind = "webhook"
name = "a-hangs"
url = "http://127.0.0.1:{hang}/hook"
secret_env = "ECOMSHARE_HOOK_SECRET"

[[recipients]]
kind = "webhook"
name = "b-healthy"
url = "{}"
secret_env = "ECOMSHARE_HOOK_SECRET"
"#,
            receiver.url()
        ),
    );
    let by_name = |name: &str| outbox(&env).into_iter().find(|d| d.recipient == name);
    let server = serve(&env, &config, "2025-04-05T08:00:30+07:00");
    wait_until("the healthy delivery", Duration::from_secs(60), || {
        by_name("b-healthy").is_some_and(|d| d.state == State::Delivered)
    });
    let healthy = by_name("b-healthy").unwrap();
    let delay = (at(healthy.delivered_at.as_deref().unwrap()) - at(&healthy.created_at))
        .to_std()
        .unwrap();
    eprintln!("serve: the healthy recipient delivered {delay:?} after its due time, beside a hanging one");
    assert!(delay < Duration::from_secs(2), "{delay:?}");
    // Killed while the hanging receiver's attempt is under way.
    let hanging = by_name("a-hangs").unwrap();
    assert_eq!(hanging.state, State::Sending);
    drop(server);

    let _server = serve(&env, &config, "2025-04-05T08:01:00+07:00");
    wait_until("the interrupted attempt made again", Duration::from_secs(60), || {
        by_name("a-hangs").is_some_and(|d| d.attempts.len() == 2)
    });
    let hanging = by_name("a-hangs").unwrap();
    assert_eq!(hanging.attempts[0].outcome, Some(Outcome::Interrupted));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.received().len(), 1, "the delivered one is not sent again");
    assert_eq!(by_name("b-healthy").unwrap().attempts.len(), 1);
}
