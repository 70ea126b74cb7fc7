//! Browser tests' tools: a small W3C WebDriver client driving Debian's
//! headless Chromium through `chromedriver`, axe-core's accessibility check,
//! and a `Site` (the real server binary with the sample filings and one
//! token per role) to point it at.
//!
//! Owns only test plumbing: it speaks WebDriver's JSON over plain HTTP/1.1
//! on loopback with `std` and `serde_json` (no WebDriver crate, no async
//! runtime); it knows the site only through its pages and its CLI.
//!
//! # Writing a browser test
//!
//! ```ignore
//! use crate::webdriver::{Site, Tools, key};
//! use ecomshare::domain::Role;
//!
//! #[test]
//! fn an_analyst_opens_a_named_query() {
//!     let Some(tools) = Tools::find() else { return }; // skipped without the tools, fails in CI
//!     let site = Site::start();                  // sample filings, a token per role
//!     let b = site.browser(&tools);              // a fresh headless Chromium, closed on drop
//!     site.sign_in(&b, Role::Analyst, "/queries");
//!     b.find("a[href='/queries/share_by_district']").click();
//!     b.find("select[name=district]").select("380");
//!     b.find("form.params").submit();            // or .click() a button, or b.press(key::ENTER)
//!     b.wait_for_url(|u| u.contains("district=380"));
//!     b.check_page("query-share-by-district");   // screenshot + axe-core, fails on serious/critical
//!     let xlsx = b.fetch(&b.find("a.xlsx").attr("href").unwrap()); // the download, with the browser's cookies
//!     assert_eq!(xlsx.status, 200);
//! }
//! ```
//!
//! - Tools: [`Tools::find`] looks for Chromium (`CHROMIUM`, default
//!   `/usr/bin/chromium`), chromedriver (`CHROMEDRIVER`, default
//!   `/usr/bin/chromedriver`) and axe-core (`AXE_CORE`, default
//!   `node_modules/axe-core/axe.min.js` under the project root, from
//!   `npm install --no-save axe-core@4`). A missing one skips the test with
//!   the reason printed, or fails it when `CI` is set (`common::require_tool`).
//!   `.ci/run` installs them all.
//! - A [`Session`] is one browser: `goto` (a path on the site or a URL),
//!   `find`/`find_all`/`try_find` by CSS, [`Element`]'s `click`,
//!   `send_keys` (text, [`key`]s, or a file's path into `<input
//!   type=file>`), `clear`, `select` (an option by value), `submit`, `text`,
//!   `attr`, `prop`, `css`; `press`/`chord` (keys to whatever has focus),
//!   `active` (the focused element), `current_url`/`current_path`, `status`
//!   (the page's HTTP status), `source`, `execute` and
//!   `execute_async` (scripts, with elements as arguments via
//!   [`Element::arg`]), `cookies`, `fetch` (a plain HTTP GET with the
//!   browser's cookies: how downloads are read), `screenshot` (a full-page
//!   PNG under `target/tmp/browser/NAME.png`), `wait_until`/`wait_for_url`.
//!   Nothing waits implicitly: clicks that navigate wait for the new page
//!   (chromedriver does), keys pressed do not, so wait for the URL after
//!   them.
//! - [`assert_accessible`] injects axe.min.js and runs it with the WCAG 2.0
//!   and 2.1 A and AA rules; any violation of impact "serious" or
//!   "critical" fails the test with the rule, its help and the elements.
//!   [`Session::check_page`] takes the screenshot and runs it: call it on
//!   every page a test visits.
//! - A [`Site`] is `ecomshare serve` on a free port over a data directory
//!   holding the sample filings, with a token per role (`token(role)`, for
//!   the sign-in form or `Authorization: Bearer` through [`http`] when a
//!   test compares a page with the API), `sign_in(&session, role, next)`,
//!   `port()` and `env` (the CLI on the same data). Its session cookie has
//!   no `Secure` (plain HTTP on loopback) and no rate limit applies.
//! - Screenshots are kept under `target/tmp/browser/` (Cargo's
//!   `CARGO_TARGET_TMPDIR`) for people to look at; name them after the page.

#![allow(dead_code)]

use crate::common::{self, Env, fixture};
use ecomshare::domain::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long waits and HTTP reads last before a test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// The W3C name of an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Keys for `send_keys`, `press` and `chord` (WebDriver's code points).
pub mod key {
    pub const BACKSPACE: &str = "\u{E003}";
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SHIFT: &str = "\u{E008}";
    pub const CONTROL: &str = "\u{E009}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SPACE: &str = "\u{E00D}";
    pub const DOWN: &str = "\u{E015}";
    pub const UP: &str = "\u{E013}";
}

// ---------------------------------------------------------------- HTTP/1.1

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on loopback (`Connection: close`; the body read by
/// its length, chunks or to the end, as the answer says: chromedriver keeps
/// the connection open regardless).
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to port {port}: {e}"));
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let fail = |e: std::io::Error| -> ! { panic!("{method} {path} on port {port}: {e}") };
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap_or_else(|e| fail(e));
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line in {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap_or_else(|e| fail(e));
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let find = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap_or_else(|e| fail(e));
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("a chunk size: {line:?}"));
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).unwrap_or_else(|e| fail(e));
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(n) = find("content-length").and_then(|n| n.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body).unwrap_or_else(|e| fail(e));
    } else if method != "HEAD" && !matches!(status, 204 | 304) {
        r.read_to_end(&mut body).unwrap_or_else(|e| fail(e));
    }
    Response { status, headers, body }
}

/// A plain GET on loopback.
pub fn get(port: u16, path: &str) -> Response {
    http(port, "GET", path, &[], b"")
}

/// Standard base64 (screenshots come as it).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c:#x}"),
        }
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for group in digits.chunks(4) {
        let n = group.iter().fold(0u32, |n, c| (n << 6) | value(*c)) << (6 * (4 - group.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    out
}

// ---------------------------------------------------------------- tools

/// Where the browser tests' tools are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// axe-core's `axe.min.js`.
    pub axe: PathBuf,
}

impl Tools {
    /// Chromium, chromedriver and axe-core; `None` (the test skips, with
    /// the reason printed) when one is missing outside CI.
    pub fn find() -> Option<Self> {
        let env_or = |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
        let chromium = common::require_tool(
            "Chromium",
            env_or("CHROMIUM", "/usr/bin/chromium".into()),
            "apt-get install chromium, or set CHROMIUM",
        )?;
        let chromedriver = common::require_tool(
            "chromedriver",
            env_or("CHROMEDRIVER", "/usr/bin/chromedriver".into()),
            "apt-get install chromium-driver, or set CHROMEDRIVER",
        )?;
        let axe = common::require_tool(
            "axe-core",
            env_or(
                "AXE_CORE",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js"),
            ),
            "npm install --no-save axe-core@4 in the project root, or set AXE_CORE to axe.min.js",
        )?;
        Some(Self {
            chromium,
            chromedriver,
            axe,
        })
    }
}

/// Where screenshots are kept: `target/tmp/browser/`.
pub fn shots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------- WebDriver

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(chromedriver: &Path) -> Self {
        let port = common::free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let driver = Self { child, port };
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/status").json()["value"]["ready"] == true
            {
                return driver;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver error: its code (`no such element`, …) and message.
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

/// One headless Chromium, closed (and its chromedriver killed) on drop.
pub struct Session {
    id: String,
    /// The site's origin (`http://127.0.0.1:PORT`), which `goto("/…")` and
    /// `fetch` use.
    origin: String,
    site_port: u16,
    axe: PathBuf,
    // Dropped last: the session is deleted first.
    driver: Driver,
}

impl Session {
    /// A new browser (Vietnamese first, 1280 px wide) for the site at `site_port`.
    pub fn new(tools: &Tools, site_port: u16) -> Self {
        let driver = Driver::start(&tools.chromedriver);
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "pageLoadStrategy": "normal",
            "timeouts": {"implicit": 0, "pageLoad": 60_000, "script": 60_000},
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--accept-lang=vi-VN,vi",
                    "--window-size=1280,1024",
                ],
                "prefs": {"intl.accept_languages": "vi-VN,vi"},
            },
        }}});
        let body = serde_json::to_vec(&capabilities).unwrap();
        let r = http(
            driver.port,
            "POST",
            "/session",
            &[("Content-Type", "application/json")],
            &body,
        );
        let answer = r.json();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver made no session: {answer}"))
            .to_string();
        Self {
            id,
            origin: format!("http://127.0.0.1:{site_port}"),
            site_port,
            axe: tools.axe.clone(),
            driver,
        }
    }

    /// A WebDriver command on this session (`path` after `/session/ID`).
    pub fn try_command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WebDriverError> {
        let body = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        let body = if method == "POST" && body.is_empty() {
            b"{}".to_vec()
        } else {
            body
        };
        let r = http(
            self.driver.port,
            method,
            &format!("/session/{}{path}", self.id),
            &[("Content-Type", "application/json")],
            &body,
        );
        let mut answer = r.json();
        let value = answer["value"].take();
        match value.get("error").and_then(Value::as_str) {
            Some(error) if r.status >= 400 => Err(WebDriverError {
                error: error.to_string(),
                message: value["message"].as_str().unwrap_or("").to_string(),
            }),
            _ => Ok(value),
        }
    }

    /// A WebDriver command that must succeed.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {}: {}", e.error, e.message))
    }

    /// The site's URL of `path` (a URL stays as it is).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("{}{path}", self.origin)
        } else {
            path.to_string()
        }
    }

    /// Opens a path on the site (or a URL), waiting for it to load.
    pub fn goto(&self, path: &str) {
        self.command("POST", "/url", Some(json!({"url": self.url(path)})));
    }

    pub fn current_url(&self) -> String {
        self.command("GET", "/url", None).as_str().unwrap_or("").to_string()
    }

    /// The current URL's path and query (`/signin?next=%2F`).
    pub fn current_path(&self) -> String {
        let url = self.current_url();
        url.strip_prefix(&self.origin).unwrap_or(&url).to_string()
    }

    pub fn title(&self) -> String {
        self.command("GET", "/title", None).as_str().unwrap_or("").to_string()
    }

    /// The document as serialised now.
    pub fn source(&self) -> String {
        self.command("GET", "/source", None).as_str().unwrap_or("").to_string()
    }

    /// The HTTP status the page shown was answered with (403 for a refused
    /// role's page, …).
    pub fn status(&self) -> u16 {
        let v = self.execute(
            "return performance.getEntriesByType('navigation')[0].responseStatus;",
            &[],
        );
        v.as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .expect("a navigation status")
    }

    pub fn back(&self) {
        self.command("POST", "/back", None);
    }

    /// The first element matching a CSS selector; fails the test when none does.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element matches {css:?} on {}", self.current_url()))
    }

    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        match self.try_command("POST", "/element", Some(json!({"using": "css selector", "value": css}))) {
            Ok(v) => Some(self.element(&v)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("find {css:?}: {}: {}", e.error, e.message),
        }
    }

    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let v = self.command(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array().unwrap().iter().map(|e| self.element(e)).collect()
    }

    /// The element that has focus.
    pub fn active(&self) -> Element<'_> {
        let v = self.command("GET", "/element/active", None);
        self.element(&v)
    }

    fn element(&self, v: &Value) -> Element<'_> {
        Element {
            session: self,
            id: v[ELEMENT].as_str().expect("an element reference").to_string(),
        }
    }

    /// Runs a script (a function body: `arguments[i]`, `return …`).
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.command("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Runs a script that calls its last argument with the result.
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Value {
        self.command("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// Presses and releases each key in turn, at whatever has focus (text
    /// or [`key`]s).
    pub fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for c in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.key_actions(actions);
    }

    /// Holds the keys down together, then releases them (`[key::SHIFT, key::TAB]`).
    pub fn chord(&self, keys: &[&str]) {
        let mut actions: Vec<Value> = keys.iter().map(|k| json!({"type": "keyDown", "value": k})).collect();
        actions.extend(keys.iter().rev().map(|k| json!({"type": "keyUp", "value": k})));
        self.key_actions(actions);
    }

    fn key_actions(&self, actions: Vec<Value>) {
        self.command(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        self.command("DELETE", "/actions", None);
    }

    /// All cookies of the current page, HttpOnly ones included: (name, value).
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.command("GET", "/cookie", None)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or("").to_string(),
                    c["value"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// A GET on the site with this browser's cookies, outside the browser:
    /// how a test reads a download.
    pub fn fetch(&self, path: &str) -> Response {
        let path = path.strip_prefix(&self.origin).unwrap_or(path);
        let cookie = self
            .cookies()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        http(self.site_port, "GET", path, &[("Cookie", &cookie)], b"")
    }

    /// A full-page PNG kept as `target/tmp/browser/NAME.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        // Images loaded lazily would be blank below the window.
        self.execute_async(
            "const done = arguments[arguments.length - 1];
             const images = [...document.images];
             images.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
             Promise.all(images.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
               .then(() => done(true));",
            &[],
        );
        let size = self.execute(
            "const e = document.documentElement; return [Math.max(e.scrollWidth, window.innerWidth), Math.max(e.scrollHeight, window.innerHeight)];",
            &[],
        );
        let (w, h) = (
            size[0].as_f64().unwrap_or(1280.0),
            size[1].as_f64().unwrap_or(1024.0).min(16_000.0),
        );
        let shot = self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": "Page.captureScreenshot", "params": {
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
            }})),
        );
        let png = base64_decode(shot["data"].as_str().expect("a screenshot"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        let path = shots_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Waits (up to a minute) until `done` holds; `what` names it in the failure.
    pub fn wait_until(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let started = Instant::now();
        while !done(self) {
            assert!(
                started.elapsed() < PATIENCE,
                "waited a minute for {what}; at {}",
                self.current_url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the current URL's path and query satisfy `want` and the
    /// page has loaded.
    pub fn wait_for_url(&self, want: impl Fn(&str) -> bool) {
        self.wait_until("the page to load", |s| {
            want(&s.current_path()) && s.execute("return document.readyState", &[]) == "complete"
        });
    }

    /// A screenshot of the page and axe-core's check: for every page a test visits.
    pub fn check_page(&self, name: &str) {
        self.screenshot(name);
        assert_accessible(self, name);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.try_command("DELETE", "", None);
    }
}

/// An element of the page.
pub struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Element<'_> {
    /// The element as a script's argument.
    pub fn arg(&self) -> Value {
        json!({ ELEMENT: self.id })
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.session
            .command(method, &format!("/element/{}{path}", self.id), body)
    }

    /// Clicks it (scrolled into view); a click that navigates waits for the page.
    pub fn click(&self) {
        self.command("POST", "/click", None);
    }

    /// Types into it: text, [`key`]s, or a file's absolute path into `<input type=file>`.
    pub fn send_keys(&self, text: &str) {
        self.command("POST", "/value", Some(json!({"text": text})));
    }

    pub fn clear(&self) {
        self.command("POST", "/clear", None);
    }

    /// Chooses the option with `value` of this `<select>`, as a person would
    /// (the `input` and `change` events fire).
    pub fn select(&self, value: &str) {
        let option = self
            .find_within(&format!("option[value=\"{}\"]", value.replace('"', "\\\"")))
            .unwrap_or_else(|| panic!("no option {value:?}"));
        option.click();
        assert_eq!(self.prop("value"), value, "option {value:?} chosen");
    }

    /// Submits the form this element is or belongs to, as its submit button would.
    pub fn submit(&self) {
        self.session.execute(
            "const f = arguments[0].form || arguments[0]; f.requestSubmit();",
            &[self.arg()],
        );
    }

    pub fn find_within(&self, css: &str) -> Option<Element<'_>> {
        match self.session.try_command(
            "POST",
            &format!("/element/{}/element", self.id),
            Some(json!({"using": "css selector", "value": css})),
        ) {
            Ok(v) => Some(self.session.element(&v)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("find {css:?}: {}: {}", e.error, e.message),
        }
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        self.command("GET", "/text", None).as_str().unwrap_or("").to_string()
    }

    /// An HTML attribute as written.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.command("GET", &format!("/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property (`value`, `checked`, …) as text.
    pub fn prop(&self, name: &str) -> String {
        match self.command("GET", &format!("/property/{name}"), None) {
            Value::String(s) => s,
            Value::Null => String::new(),
            v => v.to_string(),
        }
    }

    /// A computed CSS value.
    pub fn css(&self, property: &str) -> String {
        self.command("GET", &format!("/css/{property}"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn tag(&self) -> String {
        self.command("GET", "/name", None).as_str().unwrap_or("").to_string()
    }

    /// Whether it is the same element as `other`.
    pub fn is(&self, other: &Element<'_>) -> bool {
        self.session
            .execute("return arguments[0] === arguments[1];", &[self.arg(), other.arg()])
            == true
    }
}

// ---------------------------------------------------------------- axe-core

fn axe_source(path: &Path) -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read axe-core at {}: {e}", path.display()))
    })
}

/// Runs axe-core on the page with the WCAG 2.0 and 2.1 A and AA rules and
/// fails listing every violation of impact "serious" or "critical" (rule,
/// help, the elements' selectors). Lesser ones are printed.
pub fn assert_accessible(session: &Session, page: &str) {
    if session.execute("return typeof window.axe", &[]) != "object" {
        let loaded = session.execute(
            &format!("{}\n;return typeof window.axe;", axe_source(&session.axe)),
            &[],
        );
        assert_eq!(loaded, "object", "axe-core loaded from {}", session.axe.display());
    }
    let result = session.execute_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
           .then(r => done({violations: r.violations.map(v => ({
               id: v.id, impact: v.impact, help: v.help,
               nodes: v.nodes.map(n => n.target.join(' ')),
           })), passes: r.passes.length}))
           .catch(e => done({error: String(e)}));",
        &[],
    );
    assert!(
        result["error"].is_null(),
        "axe-core failed on {page}: {}",
        result["error"]
    );
    assert!(
        result["passes"].as_u64() > Some(0),
        "axe-core checked nothing on {page}"
    );
    let violations = result["violations"].as_array().expect("axe-core's violations");
    let mut serious = Vec::new();
    for v in violations {
        let line = format!(
            "[{}] {}: {} — {}",
            v["impact"].as_str().unwrap_or("?"),
            v["id"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or(""),
            v["nodes"]
                .as_array()
                .map(|n| n.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        );
        if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
            serious.push(line);
        } else {
            eprintln!("axe-core on {page} (not failing): {line}");
        }
    }
    assert!(
        serious.is_empty(),
        "axe-core: {} serious or critical violation(s) on {page} ({}):\n{}",
        serious.len(),
        session.current_url(),
        serious.join("\n")
    );
}

// ---------------------------------------------------------------- the site

/// The real server binary on a free loopback port, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `env`'s data directory (with the config file `config`, if any).
pub fn serve(env: &Env, config: Option<&Path>) -> Server {
    let port = common::free_port();
    let mut cmd = env.cmd();
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let child = cmd
        .args(["serve", "--no-demo", "--addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port };
    common::wait_for_port(port);
    server
}

/// The server with the sample filings and one access token per role, its
/// session cookie without `Secure` (plain HTTP on loopback) and no rate
/// limit.
pub struct Site {
    pub env: Env,
    pub server: Server,
    tokens: BTreeMap<Role, String>,
}

impl Site {
    pub fn start() -> Self {
        let env = Env::new();
        let r = env.ingest(&[&fixture("sample_filings.csv")]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let tokens = Role::ALL
            .iter()
            .map(|role| {
                let name = format!("browser {}", role.as_str());
                let r = env.run(&["token", "create", "--role", role.as_str(), "--name", &name]);
                assert_eq!(r.code, 0, "{}", r.stderr);
                (*role, r.json()["token"].as_str().unwrap().to_string())
            })
            .collect();
        let config = env.write("browser.toml", "cookie_secure = false\nrate_limit_per_s = 0\n");
        let server = serve(&env, Some(&config));
        Self { env, server, tokens }
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    /// The token of a role (for the sign-in form or `Authorization: Bearer`).
    pub fn token(&self, role: Role) -> &str {
        &self.tokens[&role]
    }

    /// A fresh browser pointed at this site.
    pub fn browser(&self, tools: &Tools) -> Session {
        Session::new(tools, self.port())
    }

    /// Signs in as `role` through the form, asking for `next`, and waits
    /// for the page it lands on.
    pub fn sign_in(&self, b: &Session, role: Role, next: &str) {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        b.goto(&format!("/signin?{query}"));
        b.find("#token").send_keys(self.token(role));
        b.find("form.signin button[type=submit]").click();
        b.wait_until("signing in", |b| {
            !b.current_path().starts_with("/signin") || b.try_find("[role=alert]").is_some()
        });
        // (The page landed on may hold a hidden alert of its own.)
        assert!(
            !b.current_path().starts_with("/signin"),
            "the {} token was refused",
            role.as_str()
        );
        b.wait_for_url(|_| true);
    }
}
