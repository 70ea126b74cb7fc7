//! The dashboard in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `.ci/run`) loads the page from the real server binary. The
//! headline figures must be the share API's, every chart image must load,
//! the console must stay free of errors, and a screenshot is kept under
//! `target/browser/` for people to look at.
//!
//! Set `CHROMIUM` to use another browser binary.

use crate::common;

use common::{Env, fixture};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "no Chromium at {}: install Debian's chromium (bash .ci/run does) or set CHROMIUM",
        path.display()
    );
    path
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET on loopback: (status, body).
fn get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw[split + 4..].to_vec();
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(&body)
    } else {
        body
    };
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&b[..line_end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[line_end + 2..line_end + 2 + size]);
        b = &b[line_end + 2 + size + 2..];
    }
}

fn serve(env: &Env) -> Server {
    let port = common::free_port();
    let child = env
        .cmd()
        .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    common::wait_for_port(port);
    server
}

fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--accept-lang=vi-VN,vi",
        "--window-size=1280,3000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_dashboard_in_headless_chromium() {
    let browser = chromium();
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let server = serve(&env);
    let url = format!("http://127.0.0.1:{}/", server.port);

    let out = headless(&browser, &env.path("profile-dom"))
        .args(["--virtual-time-budget=5000", "--dump-dom", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8(out.stdout).unwrap();
    let console = String::from_utf8_lossy(&out.stderr).to_string();

    // The headline figures are the API's.
    let (_, ytd) = get(server.port, "/api/v1/share?from=2025-01&to=2025-03");
    let ytd: Value = serde_json::from_slice(&ytd).unwrap();
    let share = ecomshare::present::locale::percent(
        ytd["total"]["share"].as_f64().unwrap(),
        1,
        ecomshare::present::locale::Lang::Vi,
    );
    assert!(
        dom.contains(&format!("<div class=\"value\">{share}</div>")),
        "year-to-date share {share} on the page"
    );
    assert!(dom.contains("Lũy kế từ đầu năm"));

    // Every chart image loads.
    let sources: Vec<String> = dom
        .split("<img src=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(sources.len(), 5, "five charts");
    for src in &sources {
        let (status, body) = get(server.port, src);
        assert_eq!(status, 200, "{src}");
        assert!(body.starts_with(b"<svg"), "{src} is an SVG");
    }

    // No console errors (script errors, failed loads).
    for line in console
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load"))
    {
        assert!(
            !(line.contains("Uncaught") || line.contains("Failed to load") || line.contains("ERROR:CONSOLE")),
            "console: {line}"
        );
    }

    // A screenshot for people.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(&browser, &env.path("profile-shot"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}
