//! The corpus of broken and hostile files in `fixtures/bad/`: each is
//! refused whole with its stable code (nothing committed) or has its records
//! counted and rejected with reasons, as `fixtures/bad/expected.json` says;
//! none crashes the ingest, and the next good file still goes in. Each is
//! sent as its extension declares, and its format decided from its content
//! too (a declaration the content contradicts is `format_mismatch`).

use crate::common;

use common::fixture;
use ecomshare::ingest::Format;
use ecomshare::service::{App, IngestSource};
use serde_json::{Value, json};

fn outcome(app: &App, name: &str, bytes: Vec<u8>) -> Value {
    let format = Format::from_path(name).expect("a known extension");
    match app.ingest(vec![IngestSource::Bytes {
        name: name.into(),
        format: Some(format),
        bytes,
    }]) {
        Ok(r) => json!({
            "accepted": r.files[0].accepted,
            "rejected": r.files[0].rejected,
            "reasons": r.rejections.iter().map(|x| x.reason).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "error": e.code() }),
    }
}

#[test]
fn every_file_of_the_corpus_has_its_expected_outcome_and_nothing_half_done() {
    let dir = fixture("bad");
    let expected: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "expected.json" || name == "README.md" || name == "requests.json" || name.ends_with(".py") {
            continue;
        }
        let want = expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no expected outcome in expected.json"));
        let data = tempfile::tempdir().unwrap();
        let app = App::open(data.path().join("data")).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let got = outcome(&app, &name, bytes.clone());
        assert_eq!(&got, want, "{name}");
        // The dry run the fuzz targets use agrees with the ingest.
        let reference = ecomshare::store::builtin_reference();
        let ctx = common::file_context(&reference);
        let options = Default::default();
        let head = &bytes[..bytes.len().min(ecomshare::ingest::HEAD_BYTES)];
        let decided = ecomshare::ingest::decide(&name, Format::from_path(&name), head, &options);
        let dry = match decided.and_then(|format| ecomshare::ingest::check(&bytes[..], format, &options, &name, &ctx)) {
            Ok((records, accepted, rejected)) => {
                assert_eq!(records, accepted + rejected);
                json!({"accepted": accepted, "rejected": rejected})
            }
            Err(e) => json!({ "error": e.code() }),
        };
        match want.get("error") {
            Some(code) => assert_eq!(dry["error"], *code, "{name}"),
            None => assert_eq!(
                (&dry["accepted"], &dry["rejected"]),
                (&want["accepted"], &want["rejected"]),
                "{name}"
            ),
        }
        let version = app.dataset_version().unwrap();
        if got.get("error").is_some() {
            assert_eq!(version, 0, "{name}: a refused file commits nothing");
        }
        // The warehouse still takes a good file.
        let good = std::fs::read(fixture("sample_filings.csv")).unwrap();
        let after = outcome(&app, "sample.csv", good);
        assert_eq!(after["rejected"], 0, "{name}: {after}");
        assert_eq!(app.dataset_version().unwrap(), version + 1);
        seen += 1;
    }
    assert_eq!(seen, expected.len(), "every expected outcome has its file");
}

#[test]
fn a_sixteen_mib_field_is_read_within_bounds() {
    let data = tempfile::tempdir().unwrap();
    let app = App::open(data.path().join("data")).unwrap();
    let mut text = String::from(common::HEADER);
    text.push('\n');
    text.push_str(&format!(
        "{},380,4711,2025-03,1000,100,,,{}\n",
        common::tax_code(1),
        "x".repeat(16 << 20)
    ));
    assert_eq!(
        outcome(&app, "huge.csv", text.into_bytes()),
        json!({"accepted": 1, "rejected": 0, "reasons": []})
    );
}
