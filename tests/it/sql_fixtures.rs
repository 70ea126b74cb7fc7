//! SQL fixture tests (sqllogictest style) of every named query: the fixture
//! dataset of `fixtures/queries/` is ingested as three versions, then each
//! `query NAME k=v…` block of `tests/sql/*.slt` runs and its rows must equal
//! the block's expected rows (hand-checked answers; see
//! `fixtures/queries/README.md`), with the release states judged at a fixed
//! instant.

use ecomshare::engine::catalog::BUILTIN;
use ecomshare::engine::tabular::Format;
use ecomshare::service::{App, IngestSource};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The clock of the fixtures' answers (`NOW` in `tests/sql/oracle.py`):
/// 2025-03 an estimate, 2025-01 and 2025-02 preliminary, 2024 final.
const NOW: &str = "2025-04-15T12:00:00+07:00";

fn fixture_app(dir: &Path) -> App {
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let app = App::open(dir.join("data"))
        .unwrap()
        .with_clock(std::sync::Arc::new(ecomshare::util::clock::ManualClock::new(now)));
    for file in [
        "fixtures/sample_filings.csv",
        "fixtures/queries/v2_revisions.csv",
        "fixtures/queries/v3_revisions.csv",
    ] {
        let report = app.ingest(vec![IngestSource::Path(root().join(file))]).unwrap();
        assert!(report.rejections.is_empty(), "{file}: {:?}", report.rejections);
        assert!(report.committed);
    }
    app
}

/// One value as the .slt files write it.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => format!("{:.9}", n.as_f64().unwrap()),
        other => other.to_string(),
    }
}

struct Case {
    name: String,
    params: BTreeMap<String, String>,
    as_of: Option<u64>,
    expected: Vec<String>,
    line: usize,
}

fn parse_slt(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let Some(rest) = line.strip_prefix("query ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let name = words.next().expect("a query name").to_string();
        let mut params = BTreeMap::new();
        let mut as_of = None;
        for w in words {
            let (k, v) = w.split_once('=').expect("k=v");
            if k == "as_of" {
                as_of = Some(v.parse().unwrap());
            } else {
                params.insert(k.to_string(), v.to_string());
            }
        }
        assert_eq!(lines.next().map(|(_, l)| l), Some("----"), "line {}", i + 2);
        let mut expected = Vec::new();
        while let Some((_, l)) = lines.peek() {
            if l.trim().is_empty() {
                break;
            }
            expected.push(l.to_string());
            lines.next();
        }
        cases.push(Case {
            name,
            params,
            as_of,
            expected,
            line: i + 1,
        });
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_named_query_gives_the_hand_checked_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = {
        let path = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || fixture_app(&path)).await.unwrap()
    };
    let mut covered = Vec::new();
    for (name, _) in BUILTIN {
        let file = root().join(format!("tests/sql/{name}.slt"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|_| panic!("{name} has no {}", file.display()));
        let cases = parse_slt(&text);
        assert!(!cases.is_empty(), "{} has no query block", file.display());
        for case in cases {
            let plan = app
                .query_plan(&case.name, case.params.clone(), case.as_of, Format::Json)
                .unwrap();
            let body = app.run_query(&plan).await.unwrap().collect().await.unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            let columns: Vec<&str> = v["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            let got: Vec<String> = v["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| columns.iter().map(|c| render(&row[*c])).collect::<Vec<_>>().join("|"))
                .collect();
            assert_eq!(
                got,
                case.expected,
                "{}:{}: query {} {:?} as_of={:?}",
                file.display(),
                case.line,
                case.name,
                case.params,
                case.as_of
            );
            if let Some(v) = case.as_of {
                assert_eq!(plan.dataset_version, v);
            }
        }
        covered.push(name);
    }
    assert_eq!(covered.len(), BUILTIN.len());
}
