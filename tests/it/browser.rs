//! The dashboard in a real browser: headless Chromium (Debian's `chromium`,
//! installed by `.ci/run`) loads the page from the real server binary. The
//! headline figures must be the share API's, every chart image must load,
//! the console must stay free of errors, and a screenshot is kept under
//! `target/tmp/browser/` for people to look at. Skipped without Chromium,
//! failed instead under `CI` (`common::require_tool`).
//!
//! Set `CHROMIUM` to use another browser binary. The pages' walks through
//! WebDriver, with axe-core, are `pages_browser` (tools in `webdriver`).

use crate::common;
use crate::webdriver::{self, get, serve};

use common::{Env, fixture};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Chromium, or `CHROMIUM`; `None` (skipped) without it outside CI.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    common::require_tool("Chromium", path, "apt-get install chromium, or set CHROMIUM")
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
    let Some(browser) = chromium() else {
        return;
    };
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let server = serve(&env, None);
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
    let ytd: Value = get(server.port, "/api/v1/share?from=2025-01&to=2025-03").json();
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
    assert_eq!(sources.len(), 6, "six charts");
    assert!(
        sources.iter().any(|s| s.starts_with("/charts/years.svg")),
        "{sources:?}"
    );
    for src in &sources {
        let r = get(server.port, src);
        assert_eq!(r.status, 200, "{src}");
        assert!(r.body.starts_with(b"<svg"), "{src} is an SVG");
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
    let shot = webdriver::shots_dir().join("dashboard-dump.png");
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
