//! Golden files: the exact JSON and CSV a user gets for the sample filings.
//! Regenerate after a reviewed change with `UPDATE_GOLDEN=1 cargo test --test it golden::`.

use crate::common;

use common::{Env, fixture};
use std::path::Path;

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

#[test]
fn sample_share_by_district_and_sector() {
    let env = Env::new();
    let r = env.ingest(&[&fixture("sample_filings.csv")]);
    assert_eq!(r.code, 0);
    // Release states judged at a fixed instant: 2025-03 an estimate, its
    // quarter too; the months before it preliminary.
    let run = |args: &[&str]| {
        common::Run::from(
            env.cmd()
                .env("ECOMSHARE_CLOCK_START", "2025-04-15T12:00:00+07:00")
                .args(args)
                .output()
                .unwrap(),
        )
    };
    let json = run(&["share", "--from", "2025-01", "--to", "2025-03", "--by", "district"]);
    check("share_by_district.json", &json.stdout);
    let csv = run(&[
        "share",
        "--from",
        "2025-01",
        "--to",
        "2025-03",
        "--by",
        "sector,quarter",
        "--format",
        "csv",
    ]);
    check("share_by_sector_quarter.csv", &csv.stdout);
}

#[test]
fn sample_charts_svg() {
    use ecomshare::present::charts::{Format, Size, render};
    use ecomshare::present::dashboard::{ChartKind, chart};
    use ecomshare::present::locale::Lang;
    let dir = tempfile::tempdir().unwrap();
    let app = ecomshare::service::App::open(dir.path().join("data")).unwrap();
    app.ingest(vec![ecomshare::service::IngestSource::Path(fixture(
        "sample_filings.csv",
    ))])
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let params = ecomshare::service::ShareParams::default();
    for kind in ChartKind::ALL {
        let c = rt.block_on(chart(&app, kind, &params, Lang::Vi)).unwrap();
        let svg = String::from_utf8(render(&c, Format::Svg, Size::new(800, 450).unwrap(), Lang::Vi).unwrap()).unwrap();
        check(&format!("chart_{}.svg", kind.name()), &svg);
    }
}

#[test]
fn bad_filings_ingest_report() {
    let env = Env::new();
    let r = env.ingest(&[&fixture("bad_filings.csv")]);
    // The file name is the caller's path and the future_period message names
    // the current month: make both stable.
    let this_month = ecomshare::service::month_in_vietnam(chrono::Utc::now()).to_string();
    let text = r
        .stdout
        .replace(fixture("bad_filings.csv").to_str().unwrap(), "fixtures/bad_filings.csv")
        .replace(&format!("current month {this_month}"), "current month YYYY-MM");
    check("ingest_bad_filings.json", &text);
}
