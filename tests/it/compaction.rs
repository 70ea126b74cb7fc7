//! Compaction of small batches into segments: no answer of any version
//! changes (compared with a twin data directory that never compacts, fed
//! the same batches), no manifest changes, later versions read fewer files,
//! and a compaction killed before its publication leaves nothing behind.

use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Env, Row, csv, tax_code};
use ecomshare::service::{App, CompactPolicy, IngestSource};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const DISTRICTS: [&str; 5] = ["380", "381", "384", "389", "407"];
const VSIC: [&str; 4] = ["4711", "4722", "4752", "4791"];
const PERIODS: [&str; 3] = ["2025-01", "2025-02", "2025-03"];

/// `n` small batches of filings; from the third on, a third of each
/// batch's filings revise an earlier key (a later `submitted_at`), some
/// with weights, so supersession crosses batches and segments.
fn batches(n: usize) -> Vec<String> {
    let mut state = 0x5eed_u64;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut keys: Vec<(String, &str, &str, &str)> = Vec::new();
    (0..n)
        .map(|b| {
            let rows: Vec<Row> = (0..24)
                .map(|i| {
                    let revise = b >= 2 && next(3) == 0 && !keys.is_empty();
                    let (unit, district, vsic, period) = if revise {
                        keys[next(keys.len() as u64) as usize].clone()
                    } else {
                        let k = (
                            tax_code((b * 100 + i) as u32 % 40),
                            DISTRICTS[next(5) as usize],
                            VSIC[next(4) as usize],
                            PERIODS[next(3) as usize],
                        );
                        keys.push(k.clone());
                        k
                    };
                    let total = 1_000_000 + next(9_000_000) as i64;
                    let row = Row::new(&unit, district, vsic, period, total, total / (2 + next(20) as i64))
                        .at(&format!("2025-04-{:02}T08:{:02}:00+07:00", 1 + b, i));
                    if next(5) == 0 { row.weight("2.5") } else { row }
                })
                .collect();
            csv(&rows)
        })
        .collect()
}

fn ingest(app: &App, name: &str, text: &str) {
    app.ingest(vec![IngestSource::Bytes {
        name: name.into(),
        format: Some(ecomshare::ingest::Format::Csv),
        bytes: text.as_bytes().to_vec(),
    }])
    .unwrap();
}

/// The log's entries (the versions' commits), by name.
fn manifests(data: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(data.join("_delta_log"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".json"))
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Every answer compared: share breakdowns, named queries and SQL over the
/// filings and their history, as of each version.
async fn answers(data: &Path, versions: u64) -> Vec<(String, String)> {
    let app = Arc::new(App::open(data).unwrap());
    let router = ecomshare::http::router(app);
    let mut out = Vec::new();
    let ask = |req: Request<Body>, label: String| {
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{label}");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (label, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    for v in 1..=versions {
        for q in [
            "share?by=district,sector&from=2025-01&to=2025-03",
            "share?by=period,district&from=2025-01&to=2025-03",
            "share?by=vsic&from=2025-02&to=2025-02",
            "queries/share_by_district_sector?from=2025-01&to=2025-03",
            "queries/coverage_by_district?period=2025-02",
        ] {
            let uri = format!("/api/v1/{q}&as_of={v}");
            out.push(ask(Request::get(&uri).body(Body::empty()).unwrap(), uri).await);
        }
        if v > 1 {
            let uri = format!("/api/v1/queries/revisions?from_version={}&to_version={v}", v - 1);
            out.push(ask(Request::get(&uri).body(Body::empty()).unwrap(), uri).await);
        }
        let sql = "SELECT count(*) AS n, sum(weighted_total_vnd) AS t, sum(CASE WHEN superseded_in IS NULL THEN 1 ELSE 0 END) AS live, max(row_id) AS r FROM filing_history";
        let req = Request::post(format!("/api/v1/sql?as_of={v}"))
            .header(header::CONTENT_TYPE, "application/sql")
            .body(Body::from(sql))
            .unwrap();
        out.push(ask(req, format!("sql as_of {v}")).await);
    }
    out
}

#[test]
fn compaction_changes_no_answer_of_any_version_nor_any_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, compacted) = (dir.path().join("plain"), dir.path().join("compacted"));
    let policy = CompactPolicy {
        small_rows: 1_000,
        min_batches: 4,
        max_rows: 1_000_000,
    };
    let inputs = batches(14);
    let twins = (App::open(&plain).unwrap(), App::open(&compacted).unwrap());
    let mut reports = Vec::new();
    for (i, text) in inputs.iter().enumerate() {
        ingest(&twins.0, &format!("b{i}.csv"), text);
        ingest(&twins.1, &format!("b{i}.csv"), text);
        // Compact as batches arrive, as `serve` does: two segments (1–4,
        // 5–8; 9–12 once 12 is in), later batches revising their filings.
        if [4, 8, 12].contains(&(i + 1)) {
            let before = manifests(&compacted);
            let r = twins.1.compact(&policy).unwrap();
            assert!(r.compacted, "{r:?}");
            assert!(r.files_after < r.files_before, "{r:?}");
            assert_eq!(manifests(&compacted), before, "compaction commits no version");
            reports.push(r);
        }
    }
    assert_eq!(
        reports
            .iter()
            .map(|r| (r.first_batch.unwrap(), r.last_batch.unwrap()))
            .collect::<Vec<_>>(),
        [(1, 4), (5, 8), (9, 12)]
    );
    let nothing = twins.1.compact(&policy).unwrap();
    assert!(!nothing.compacted, "13 and 14 are too few: {nothing:?}");
    let unchanged = twins
        .0
        .compact(&CompactPolicy {
            min_batches: 1_000,
            ..policy
        })
        .unwrap();
    assert!(!unchanged.compacted);
    assert!(
        nothing.files_before <= 3 * 2 + 2 * 2 && unchanged.files_before >= 14,
        "three segments and two batches against fourteen batches: {nothing:?} {unchanged:?}"
    );
    drop(twins);

    // Fresh servers over both directories: the compacted one reads the
    // segments, the plain one the batches.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let a = runtime.block_on(answers(&plain, 14));
    let b = runtime.block_on(answers(&compacted, 14));
    assert_eq!(a.len(), b.len());
    for ((label, x), (_, y)) in a.iter().zip(&b) {
        assert_eq!(x, y, "{label}");
    }
    assert!(
        a.iter()
            .any(|(l, body)| l.starts_with("/api/v1/queries/revisions") && body.contains("unit_id"))
    );
}

#[test]
fn a_compaction_killed_before_its_publication_leaves_nothing_and_the_next_one_works() {
    let env = Env::new();
    let inputs = batches(4);
    for (i, text) in inputs.iter().enumerate() {
        let f = env.write(&format!("b{i}.csv"), text);
        assert_eq!(env.ingest(&[&f]).code, 0);
    }
    let config = env.write("ecomshare.toml", "[compaction]\nsmall_rows = 1000\nmin_batches = 4\n");
    let share = |env: &Env| env.share(&["--by", "district,sector", "--from", "2025-01", "--to", "2025-03"]);
    let before = share(&env);
    let killed = env
        .cmd()
        .args(["--config", config.to_str().unwrap(), "compact"])
        .env("ECOMSHARE_FAULT", "compaction-before-index")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    assert!(
        env.data().join("segments/00000001-00000004").exists(),
        "the segment was renamed into place, the index not yet written"
    );
    assert!(!env.data().join("segments/index.json").exists());
    assert_eq!(share(&env), before, "an unpublished segment is never read");

    let run = env.run(&["--config", config.to_str().unwrap(), "compact"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rounds = run.json()["compactions"].as_array().unwrap().clone();
    assert_eq!(rounds[0]["compacted"], true);
    assert_eq!(rounds[0]["first_batch"], 1);
    assert_eq!(rounds[0]["last_batch"], 4);
    assert!(
        rounds[0]["files_after"].as_u64() < rounds[0]["files_before"].as_u64(),
        "{rounds:?}"
    );
    assert_eq!(rounds.last().unwrap()["compacted"], false);
    assert_eq!(share(&env), before);
}
