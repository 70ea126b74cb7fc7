//! The pages as people use them, in headless Chromium through WebDriver
//! (`webdriver`): a signed-out browser is sent to sign in and back, signs
//! in with the keyboard, sees its role's pages in the header, switches
//! language, walks the dashboard with the keyboard (focus always visible),
//! filters it, reads a download with its cookies, and signs out; a forged
//! form is refused; axe-core finds no serious or critical violation on any
//! page (dashboard in both languages, a district, a sector, sign-in, the
//! refused role's page), and fails a control without a label. Each page
//! visited leaves a screenshot under `target/tmp/browser/`.
//!
//! Skipped without Chromium, chromedriver or axe-core; failed instead under
//! `CI`.

use crate::webdriver::{Session, Site, Tools, key};
use ecomshare::domain::Role;

/// The header's navigation links (their `href`s).
fn nav_links(b: &Session) -> Vec<String> {
    b.find_all("header.site nav a")
        .iter()
        .map(|a| a.attr("href").unwrap_or_default())
        .collect()
}

/// Presses Tab until `css` has focus (at most `limit` times), checking at
/// each step that the focused element's outline shows; the descriptions
/// of the elements passed.
fn tab_to(b: &Session, css: &str, limit: usize) -> Vec<String> {
    let target = b.find(css);
    let mut passed = Vec::new();
    for _ in 0..limit {
        b.press(key::TAB);
        let focus = b.active();
        let what = b
            .execute(
                "const e = document.activeElement; return e.tagName.toLowerCase() + (e.name ? '[name=' + e.name + ']' : '') + ' ' + (e.getAttribute('href') || e.textContent.trim().slice(0, 30));",
                &[],
            )
            .as_str()
            .unwrap_or("")
            .to_string();
        let (style, width) = (focus.css("outline-style"), focus.css("outline-width"));
        let px: f64 = width.trim_end_matches("px").parse().unwrap_or(0.0);
        assert!(
            style != "none" && px >= 2.0,
            "focus is visible on {what}: outline {style} {width}"
        );
        passed.push(what);
        if focus.is(&target) {
            return passed;
        }
    }
    panic!("Tab never reached {css} in {limit} presses: {passed:#?}");
}

#[test]
fn a_viewer_signs_in_with_the_keyboard_walks_the_dashboard_and_signs_out() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);

    // Signed out, the dashboard sends the browser to sign in, remembering where.
    b.goto("/?district=380");
    b.wait_for_url(|u| u.starts_with("/signin"));
    assert_eq!(b.current_path(), "/signin?next=%2F%3Fdistrict%3D380");
    b.screenshot("signin-redirected");

    // The keyboard alone: Tab to the token field, type, Enter.
    tab_to(&b, "#token", 10);
    b.press(site.token(Role::Viewer));
    b.press(key::ENTER);
    b.wait_for_url(|u| u == "/?district=380");
    assert_eq!(b.find("select[name=district]").prop("value"), "380");
    b.screenshot("dashboard-viewer-district-filter");

    // The header: the viewer's pages only, its role, signing out.
    assert_eq!(nav_links(&b), vec!["/"]);
    assert_eq!(
        b.find("header.site nav a[aria-current=page]").attr("href").as_deref(),
        Some("/")
    );
    assert_eq!(b.find("header.site .role").text(), "Vai trò: Xem số liệu");
    assert!(b.try_find("header.site form.signout button").is_some());

    // The filters by the keyboard and the mouse: choose a sector, apply.
    b.goto("/");
    let walked = tab_to(&b, "form.filters select[name=district]", 40);
    assert!(
        walked
            .iter()
            .any(|w| w.starts_with("button") && w.contains("Đăng xuất")),
        "Tab passes the sign-out button on the way: {walked:#?}"
    );
    tab_to(&b, "form.filters button[type=submit]", 5);
    b.find("form.filters select[name=sector]").select("FOOD");
    b.find("form.filters button[type=submit]").click();
    b.wait_for_url(|u| u.contains("sector=FOOD"));
    b.screenshot("dashboard-sector-filter");

    // A download read with the browser's cookies (the session is HttpOnly):
    // the chart behind the page, refused without them.
    let src = b.find("section.charts img").attr("src").unwrap();
    let chart = b.fetch(&src);
    assert_eq!(chart.status, 200, "{src}: {}", chart.text());
    assert!(chart.body.starts_with(b"<svg"));
    assert_eq!(crate::webdriver::get(site.port(), &src).status, 401);

    // A form posted from the page without the anti-forgery field is refused…
    b.execute(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/signout';
         document.body.appendChild(f); f.submit();",
        &[],
    );
    b.wait_for_url(|u| u == "/signout");
    assert_eq!(b.status(), 403);
    assert!(b.source().contains("csrf_failed"), "{}", b.source());
    // … and signed nobody out.
    b.goto("/");
    b.wait_for_url(|u| u == "/");

    // Signing out with the header's button ends the session.
    b.find("header.site form.signout button").click();
    b.wait_for_url(|u| u == "/signin");
    b.screenshot("signed-out");
    b.goto("/");
    b.wait_for_url(|u| u.starts_with("/signin"));
}

#[test]
fn every_page_passes_axe_core_in_both_languages() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);

    b.goto("/signin");
    b.check_page("signin");

    site.sign_in(&b, Role::Viewer, "/");
    assert_eq!(b.current_path(), "/");
    b.check_page("dashboard");

    // English, kept for the next pages, then back.
    b.find("header.site a[hreflang=en]").click();
    b.wait_for_url(|u| u.contains("lang=en"));
    assert_eq!(b.find("html").attr("lang").as_deref(), Some("en"));
    b.check_page("dashboard-en");
    b.goto("/districts/380");
    assert_eq!(
        b.find("html").attr("lang").as_deref(),
        Some("en"),
        "the language is kept"
    );
    b.check_page("district-en");
    b.find("header.site a[hreflang=vi]").click();
    b.wait_for_url(|u| u.contains("lang=vi"));
    assert_eq!(b.find("html").attr("lang").as_deref(), Some("vi"));
    b.goto("/");
    assert_eq!(b.find("html").attr("lang").as_deref(), Some("vi"), "Vietnamese is kept");

    b.goto("/districts/380");
    b.check_page("district");
    b.goto("/sectors/FOOD");
    b.check_page("sector");
    b.goto("/sectors/FOOD?lang=en");
    b.check_page("sector-en");

    // A filer may not open the dashboard: the refused role's page.
    let filer = site.browser(&tools);
    site.sign_in(&filer, Role::Filer, "/districts/380");
    filer.goto("/");
    assert!(filer.find("h1").text().len() > 1);
    assert_eq!(nav_links(&filer), vec!["/filings/upload", "/filings/history"]);
    assert_eq!(filer.status(), 403);
    filer.check_page("forbidden");
}

/// The tools checked on themselves: a path typed into a file input
/// chooses that file, and axe-core fails a page with a control that has no
/// label, naming the rule and the element.
#[test]
fn a_file_input_takes_a_path_and_axe_core_fails_it_unlabelled() {
    let Some(tools) = Tools::find() else {
        return;
    };
    let site = Site::start();
    let b = site.browser(&tools);
    b.goto("/signin");
    b.execute(
        "const i = document.createElement('input'); i.type = 'file'; i.id = 'f';
         document.querySelector('main').appendChild(i);",
        &[],
    );
    let file = crate::common::fixture("sample_filings.csv");
    b.find("#f").send_keys(file.to_str().unwrap());
    let chosen = b.execute(
        "const f = document.getElementById('f').files[0]; return [f.name, f.size];",
        &[],
    );
    assert_eq!(chosen[0], "sample_filings.csv");
    assert_eq!(chosen[1], std::fs::metadata(&file).unwrap().len());

    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::webdriver::assert_accessible(&b, "signin-with-an-unlabelled-input")
    }))
    .expect_err("axe-core fails an unlabelled input");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("[critical] label:") && message.contains("#f"),
        "{message}"
    );
}
