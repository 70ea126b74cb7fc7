//! `GET /metrics` of the real server after a scripted run — ingests (one
//! with rejected records, one unchanged, one refused), share queries (one
//! repeated), refusals, a named query run twice and a report generated
//! then kept — parsed by the `prometheus_client` Python package's parser
//! (`tests/metrics_parse.py`): every counter equals what the run did, and
//! no name or label breaks the rules. And `log_format = "json"`: one JSON
//! object per line on stderr.

use crate::common::{self, Env, Row, csv, http, tax_code};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `serve` on a free port, its flags before the subcommand's `extra`, its
/// log at `level` to `stderr`.
fn serve(env: &Env, extra: &[&str], level: &str, stderr: Stdio) -> (Server, u16) {
    let port = common::free_port();
    let config = env.write("ecomshare.toml", "[compaction]\ninterval_s = 0\n");
    let child = env
        .cmd()
        .arg("--config")
        .arg(&config)
        .args(extra)
        .args(["serve", "--no-demo", "--no-warm", "--rate-limit-per-s", "0", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env("ECOMSHARE_LOG", level)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    common::wait_for_port(port);
    (Server(child), port)
}

/// One request: its status and body.
fn call(port: u16, method: &str, path: &str, token: &str, body: Option<(&str, &str)>) -> (u16, String) {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    if !token.is_empty() {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let (content_type, body) = body.unwrap_or(("", ""));
    if !content_type.is_empty() {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let response = http(port, &request);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line: {response}"));
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, body)
}

fn token(env: &Env, role: &str) -> String {
    let r = env.run(&["token", "create", "--role", role, "--name", role]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.json()["token"].as_str().unwrap().to_string()
}

/// The Prometheus text as `prometheus_client`'s parser reads it.
fn parse(text: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/metrics_parse.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The samples named `name`, by their labels (as `k=v` pairs, sorted).
fn samples(parsed: &Value, name: &str) -> BTreeMap<Vec<String>, f64> {
    parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == name)
        .map(|s| {
            let labels = s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
                .collect();
            (labels, s["value"].as_f64().unwrap())
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Vec<String> {
    let mut v: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    v.sort();
    v
}

fn value(parsed: &Value, name: &str, pairs: &[(&str, &str)]) -> f64 {
    samples(parsed, name).get(&labels(pairs)).copied().unwrap_or(0.0)
}

#[test]
fn metrics_after_a_scripted_run_equal_what_the_run_did() {
    if !common::require_python_module("prometheus_client", "pip install prometheus_client") {
        return;
    }
    let env = Env::new();
    let admin = token(&env, "admin");
    let viewer = token(&env, "viewer");
    let (_server, port) = serve(&env, &[], "warn", Stdio::null());
    let mut did: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    // Each request made, by the route template, method and status it is counted under.
    let mut request = |method: &str, path: &str, route: &str, token: &str, body: Option<(&str, &str)>| {
        let (status, text) = call(port, method, path, token, body);
        *did.entry(labels(&[
            ("route", route),
            ("method", method),
            ("status", &status.to_string()),
        ]))
        .or_default() += 1.0;
        (status, text)
    };

    // Ingests: 3 accepted; 2 accepted and 3 rejected; the first again
    // (unchanged); a file that is no filing (refused).
    let good = csv(&(0..3)
        .map(|i| Row::new(&tax_code(i), "380", "4711", "2025-03", 1000 + i as i64, 70))
        .collect::<Vec<_>>());
    let mixed = csv(&[
        Row::new(&tax_code(10), "381", "4711", "2025-03", 2000, 150),
        Row::new(&tax_code(11), "384", "4711", "2025-02", 3000, 100),
        Row::new("bad", "380", "4711", "2025-03", 1000, 70),
        Row::new("12345", "380", "4711", "2025-03", 1000, 70),
        Row::new(&tax_code(12), "999", "4711", "2025-03", 1000, 70),
    ]);
    let filings = "/api/v1/filings";
    for (name, body, expect) in [
        ("good.csv", good.as_str(), 201),
        ("mixed.csv", mixed.as_str(), 201),
        ("good.csv", good.as_str(), 200),
    ] {
        let (s, report) = request(
            "POST",
            &format!("{filings}?name={name}"),
            filings,
            &admin,
            Some(("text/csv", body)),
        );
        assert_eq!(s, expect, "{name}: {report}");
    }
    let (s, refused) = request(
        "POST",
        &format!("{filings}?name=scan.dat"),
        filings,
        &admin,
        Some(("application/octet-stream", "%PDF-1.7\n%\u{e2}\u{e3}\n1 0 obj\n")),
    );
    assert!((400..500).contains(&s), "{s}: {refused}");

    // Share queries: one repeated (an encoded answer kept), one by another audience.
    let share = "/api/v1/share";
    for t in [&admin, &admin, &viewer] {
        let (s, body) = request("GET", &format!("{share}?by=district"), share, t, None);
        assert_eq!(s, 200, "{body}");
    }
    // Refusals: a role that may not, no such route, a token that proves nothing.
    assert_eq!(
        request("GET", "/api/v1/queries", "/api/v1/queries", &viewer, None).0,
        403
    );
    assert_eq!(request("GET", "/no/such/page?x=1", "unmatched", &admin, None).0, 404);
    assert_eq!(request("GET", share, share, "esk_nothing_nothing", None).0, 401);
    // A named query, twice: the second from the result cache.
    let query = "/api/v1/queries/{name}";
    for _ in 0..2 {
        let (s, body) = request("GET", "/api/v1/queries/share_by_district", query, &admin, None);
        assert_eq!(s, 200, "{body}");
    }
    // The month's report: generated, then kept.
    let report = "/api/v1/reports/{month}";
    for expect in [201, 200] {
        let (s, body) = request("POST", "/api/v1/reports/2025-03", report, &admin, None);
        assert_eq!(s, expect, "{body}");
    }
    assert_eq!(request("GET", "/metrics", "/metrics", &viewer, None).0, 403);

    let (s, text) = request("GET", "/metrics", "/metrics", &admin, None);
    assert_eq!(s, 200, "{text}");
    let response = http(
        port,
        &format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\nConnection: close\r\n\r\n"),
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
        "{response}"
    );
    let m = parse(&text);

    // Requests by route template, method and status: exactly those made
    // before the scrape (the scrape itself is counted after its answer).
    did.remove(&labels(&[("route", "/metrics"), ("method", "GET"), ("status", "200")]));
    assert_eq!(samples(&m, "ecomshare_http_requests_total"), did);
    let count = value(
        &m,
        "ecomshare_http_request_duration_seconds_count",
        &[("route", share), ("method", "GET")],
    );
    assert_eq!(count, 4.0);
    let inf = value(
        &m,
        "ecomshare_http_request_duration_seconds_bucket",
        &[("route", share), ("method", "GET"), ("le", "+Inf")],
    );
    assert_eq!(inf, 4.0, "a real histogram: its +Inf bucket holds every request");
    assert!(
        samples(&m, "ecomshare_http_request_duration_seconds_bucket").len() > 10,
        "buckets"
    );

    // Ingests.
    let batches = samples(&m, "ecomshare_ingest_batches_total");
    assert_eq!(
        batches,
        BTreeMap::from([
            (labels(&[("outcome", "committed")]), 2.0),
            (labels(&[("outcome", "refused")]), 1.0),
            (labels(&[("outcome", "unchanged")]), 1.0),
        ])
    );
    assert_eq!(value(&m, "ecomshare_ingest_records_accepted_total", &[]), 5.0);
    assert_eq!(
        samples(&m, "ecomshare_ingest_records_rejected_total"),
        BTreeMap::from([
            (labels(&[("reason", "invalid_unit_id")]), 2.0),
            (labels(&[("reason", "unknown_district")]), 1.0),
        ])
    );
    assert_eq!(value(&m, "ecomshare_ingest_commit_duration_seconds_count", &[]), 2.0);
    assert!(value(&m, "ecomshare_dataset_ready_duration_seconds_count", &[]) >= 2.0);
    assert_eq!(value(&m, "ecomshare_dataset_version_newest", &[]), 2.0);
    assert_eq!(value(&m, "ecomshare_dataset_version_serving", &[]), 2.0);
    assert_eq!(value(&m, "ecomshare_dataset_version_lag", &[]), 0.0);

    // Caches: the repeated share request and the second run of the query hit.
    let cache = "ecomshare_answer_cache_requests_total";
    let at = |cache_name: &str, result: &str| value(&m, cache, &[("cache", cache_name), ("result", result)]);
    assert_eq!((at("share_bodies", "miss"), at("share_bodies", "hit")), (2.0, 1.0));
    assert_eq!((at("query_results", "miss"), at("query_results", "hit")), (1.0, 1.0));
    assert!(at("share_answers", "miss") >= 2.0, "the share answers computed");
    assert_eq!(value(&m, "ecomshare_queries_running", &[]), 0.0);

    // Reports: one generated, one kept.
    assert_eq!(
        samples(&m, "ecomshare_report_generations_total"),
        BTreeMap::from([
            (labels(&[("outcome", "generated")]), 1.0),
            (labels(&[("outcome", "kept")]), 1.0),
        ])
    );
    assert_eq!(
        value(&m, "ecomshare_report_generation_duration_seconds_count", &[]),
        1.0
    );
    assert_eq!(
        value(&m, "ecomshare_outbox_deliveries", &[("state", "pending")]),
        0.0,
        "no recipients, no deliveries"
    );

    // The process.
    assert!(value(&m, "ecomshare_process_resident_memory_bytes", &[]) > 1e6);
    assert!(value(&m, "ecomshare_process_open_fds", &[]) > 2.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(&m, "ecomshare_process_start_time_seconds", &[]);
    assert!(started > now - 3600.0 && started <= now + 1.0, "{started} {now}");

    // Names and labels: the prefix, a description each, and no label
    // value that is a token, a tax code, a file name or a raw path.
    for f in m["families"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert!(name.starts_with("ecomshare_"), "{name}");
        assert!(!f["help"].as_str().unwrap().is_empty(), "{name} has no HELP");
        assert_ne!(f["type"], "summary", "{name}: histograms, not summaries");
    }
    let mut units: Vec<String> = (0..3).chain(10..13).map(tax_code).collect();
    units.extend(["bad".to_string(), "12345".to_string()]);
    for s in m["samples"].as_array().unwrap() {
        for (k, v) in s["labels"].as_object().unwrap() {
            let v = v.as_str().unwrap();
            let digits = v.chars().filter(char::is_ascii_digit).count();
            assert!(
                !v.starts_with("esk_")
                    && !v.contains(&admin[13..])
                    && !units.iter().any(|u| v == u)
                    && digits < 9
                    && !v.contains('?')
                    && !v.contains(".csv")
                    && !v.contains(".dat")
                    && v != "/no/such/page",
                "{}{{{k}={v:?}}}: a label value of unbounded kind",
                s["name"]
            );
        }
    }
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let env = Env::new();
    let log = env.path("serve.log");
    let (server, port) = serve(
        &env,
        &["--log-format", "json"],
        "info",
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    assert_eq!(call(port, "GET", "/healthz", "", None).0, 200);
    assert_eq!(call(port, "GET", "/nothing", "", None).0, 404);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON object ({e}): {l}")))
        .collect();
    // The server's start (at the test's warn level: open local mode) and
    // the refused request, at least.
    assert!(lines.len() >= 2, "{text}");
    for l in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(l[key].is_string(), "{key} missing: {l}");
        }
    }
    let refused = lines
        .iter()
        .find(|l| l["message"] == "request" && l["status"] == 404)
        .unwrap_or_else(|| panic!("the refused request is logged with its fields: {text}"));
    assert_eq!(
        (&refused["method"], &refused["level"]),
        (&Value::from("GET"), &Value::from("INFO"))
    );

    // The configuration file says so too; the flag wins over it.
    let config = env.write("json.toml", "log_format = \"json\"\n");
    let r = env.run(&["--config", config.to_str().unwrap(), "share", "--as-of", "9"]);
    assert_ne!(r.code, 0);
    let line = r.stderr.lines().last().unwrap();
    let logged: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
    assert_eq!(logged["level"], "ERROR", "{line}");
    let r = env.run(&[
        "--config",
        config.to_str().unwrap(),
        "--log-format",
        "text",
        "share",
        "--as-of",
        "9",
    ]);
    assert!(
        serde_json::from_str::<Value>(r.stderr.lines().last().unwrap()).is_err(),
        "{}",
        r.stderr
    );
}
