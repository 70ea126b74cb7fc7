//! The warehouse as a Delta Lake table: each dataset version a Delta
//! version other engines read (Python `deltalake`, an outside reader, gets
//! the share's sums at every version), and `migrate` from a directory
//! written by the release before Delta (format 3) answers every `as_of`
//! byte for byte as that release did.

use crate::common;

use common::{Env, Row, csv, fixture, tax_code};
use ecomshare::domain::WeightedVnd;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Two batches, the second revising one filing of the first and adding one.
fn two_versions(env: &Env) {
    let first = env.write(
        "first.csv",
        &csv(&[
            Row::new(&tax_code(1), "380", "4711", "2025-01", 1000, 100),
            Row::new(&tax_code(2), "381", "4791", "2025-01", 3000, 600).weight("2.5"),
            Row::new(&tax_code(3), "382", "4711", "2025-02", 700, 7),
        ]),
    );
    let second = env.write(
        "second.csv",
        &csv(&[
            Row::new(&tax_code(1), "380", "4711", "2025-01", 1200, 300),
            Row::new(&tax_code(4), "380", "4719", "2025-02", 5000, 50).weight("1.25"),
        ]),
    );
    for f in [&first, &second] {
        let r = env.ingest(&[f]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

fn log_entry(data: &Path, version: u64) -> PathBuf {
    data.join(format!("_delta_log/{version:020}.json"))
}

#[test]
fn each_dataset_version_is_one_delta_commit_of_its_files_and_batch() {
    let env = Env::new();
    two_versions(&env);
    let data = env.data();
    assert!(log_entry(&data, 0).exists(), "version 0 creates the table");
    assert!(!log_entry(&data, 3).exists());
    assert!(!data.join("manifest").exists(), "no manifest beside the log");
    let actions: Vec<Value> = std::fs::read_to_string(log_entry(&data, 2))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let adds: Vec<(&str, &str)> = actions
        .iter()
        .filter_map(|a| a.get("add"))
        .map(|a| {
            (
                a["path"].as_str().unwrap(),
                a["partitionValues"]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        adds,
        [
            ("batches/00000002/filings_0.parquet", "filing"),
            ("batches/00000002/superseded.parquet", "superseded")
        ]
    );
    let info = actions.iter().find_map(|a| a.get("commitInfo")).unwrap();
    assert_eq!(info["ecomshare"]["dataset_version"], 2);
    assert_eq!(info["ecomshare"]["batch"]["seq"], 2);
    assert!(
        info["ecomshare"]["batch"]["files"][0]["name"]
            .as_str()
            .unwrap()
            .ends_with("second.csv")
    );
    let txn = actions.iter().find_map(|a| a.get("txn")).unwrap();
    assert_eq!(
        (txn["appId"].as_str(), txn["version"].as_u64()),
        (Some("ecomshare"), Some(2))
    );

    // Every column ingest writes is the table's, with the table's type.
    let file = std::fs::File::open(data.join("batches/00000001/filings_0.parquet")).unwrap();
    let reader = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let written: Vec<(String, String)> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), format!("{:?}", f.data_type())))
        .collect();
    let declared: Vec<(String, String)> = ecomshare::domain::stored::FILING_COLUMNS
        .iter()
        .map(|(name, ty)| {
            let ty = match ty {
                ecomshare::domain::stored::ColumnType::Text => ["Utf8", "LargeUtf8", "Utf8View"],
                ecomshare::domain::stored::ColumnType::Int32 => ["Int32"; 3],
                ecomshare::domain::stored::ColumnType::Int64 => ["Int64"; 3],
            };
            let found = written.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone());
            let ty = found
                .filter(|t| ty.contains(&t.as_str()))
                .unwrap_or_else(|| ty[0].to_string());
            (name.to_string(), ty)
        })
        .collect();
    assert_eq!(written, declared);
}

#[test]
fn python_deltalake_reads_the_share_s_sums_at_every_version() {
    if !common::require_python_module("deltalake", "pip install 'deltalake[pyarrow]'") {
        return;
    }
    let env = Env::new();
    two_versions(&env);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/delta_reader.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(env.data())
        .args(["1", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    for version in [1u64, 2] {
        let at = &read[version.to_string()];
        assert_eq!(at["delta_version"], version);
        assert_eq!(at["partition_columns"], serde_json::json!(["kind"]));
        assert_eq!(
            at["protocol"],
            serde_json::json!([1, 2]),
            "no table feature other readers lack"
        );
        let ours = env.share(&[
            "--by",
            "period",
            "--from",
            "2025-01",
            "--to",
            "2025-02",
            "--as-of",
            &version.to_string(),
        ]);
        let rows = ours["rows"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            at["by_period"].as_object().unwrap().len(),
            "version {version}"
        );
        for row in rows {
            let period = row["period"].as_str().unwrap();
            let theirs = &at["by_period"][period];
            let sum = |key: &str| WeightedVnd::from_micro(theirs[key].as_str().unwrap().parse().unwrap()).to_string();
            assert_eq!(
                row["total_revenue_vnd"].as_str().unwrap(),
                sum("total_micro"),
                "{version} {period}"
            );
            assert_eq!(
                row["ecommerce_revenue_vnd"].as_str().unwrap(),
                sum("ecommerce_micro"),
                "{version} {period}"
            );
            assert_eq!(row["filings"], theirs["filings"], "{version} {period}");
        }
    }
    // The revision counts at version 2 only: 1 200 replaced 1 000.
    assert_eq!(read["1"]["by_period"]["2025-01"]["total_micro"], "8500000000");
    assert_eq!(read["2"]["by_period"]["2025-01"]["total_micro"], "8700000000");
}

/// The commands whose answers `fixtures/format3/answers/` holds, as the
/// release before Delta gave them (`fixtures/format3/make.sh`).
fn golden_commands() -> Vec<Vec<String>> {
    std::fs::read_to_string(fixture("format3/commands.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn answers_match_the_release_s(data: &Path, context: &str) {
    for (i, args) in golden_commands().iter().enumerate() {
        let out = common::bin(data).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{context}: {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let golden = std::fs::read(fixture(&format!("format3/answers/{i:02}.out"))).unwrap();
        assert!(
            out.stdout == golden,
            "{context}: `ecomshare {}` answers otherwise than the release did:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn migrate_from_the_release_before_delta_keeps_every_answer_of_every_version() {
    let env = Env::new();
    let old = env.path("old");
    copy_dir(&fixture("format3/data"), &old);
    let before: Vec<(PathBuf, Vec<u8>)> = files(&old);
    let new = env.path("new");
    let out = env.run(&[
        "migrate",
        "--from",
        old.to_str().unwrap(),
        "--to",
        new.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary = out.json();
    assert_eq!(
        (summary["from_format"].as_u64(), summary["data_format"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(summary["dataset_version"], 3);
    assert_eq!(files(&old), before, "the old directory is only read");
    assert!(log_entry(&new, 3).exists() && !new.join("manifest").exists());
    answers_match_the_release_s(&new, "migrated");
    // Into a directory that holds something: refused, nothing touched.
    let again = env.run(&[
        "migrate",
        "--from",
        old.to_str().unwrap(),
        "--to",
        new.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 2);
    assert_eq!(again.json()["error"]["code"], "migrate_target_not_empty");
    // The old directory opened in place is upgraded the same way.
    answers_match_the_release_s(&old, "upgraded in place");
}

#[test]
fn an_upgrade_stopped_midway_resumes_where_it_stopped() {
    let env = Env::new();
    for (point, entries) in [("upgrade:after_log_entry", 1), ("upgrade:before_marker", 3)] {
        let data = env.path(point);
        copy_dir(&fixture("format3/data"), &data);
        let out = common::bin(&data)
            .env("ECOMSHARE_FAULT", point)
            .arg("share")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the process died");
        assert!(
            log_entry(&data, entries).exists() && !log_entry(&data, entries + 1).exists(),
            "{point}"
        );
        answers_match_the_release_s(&data, &format!("resumed after {point}"));
    }
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() && entry.file_name() != ".lock" {
                found.push((entry.path(), std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    found.sort();
    found
}

/// The rounds of the race (the 50; `RACE_ROUNDS` for more).
fn rounds() -> usize {
    std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// Every batch the log holds, in version order (the commits' metadata).
fn committed_batches(data: &Path) -> Vec<Value> {
    let mut versions: Vec<u64> = std::fs::read_dir(data.join("_delta_log"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").and_then(|v| v.parse().ok())
        })
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (0..versions.len() as u64).collect::<Vec<_>>(),
        "versions are contiguous"
    );
    versions[1..]
        .iter()
        .map(|&v| {
            let text = std::fs::read_to_string(log_entry(data, v)).unwrap();
            let info = text
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find_map(|a| a.get("commitInfo").cloned())
                .unwrap();
            assert_eq!(info["ecomshare"]["dataset_version"], v);
            info["ecomshare"]["batch"].clone()
        })
        .collect()
}

#[test]
fn two_processes_ingesting_at_once_commit_every_file_once_in_contiguous_versions() {
    let env = Env::new();
    let n = rounds();
    // Each file: two units of its own, and a revision of one shared key
    // submitted at a time of its own (so that no order of commits changes
    // which filing counts).
    let file = |i: usize| {
        let i = i as u32;
        env.write(
            &format!("f{i}.csv"),
            &csv(&[
                Row::new(
                    &tax_code(100 + 2 * i),
                    ["380", "381", "382"][i as usize % 3],
                    "4711",
                    "2025-01",
                    1000 + i64::from(i),
                    10,
                ),
                Row::new(&tax_code(101 + 2 * i), "383", "4791", "2025-02", 500, i64::from(i)),
                Row::new(&tax_code(1), "380", "4711", "2025-03", 2000 + i64::from(i), 20).at(&format!(
                    "2025-04-01T00:{:02}:{:02}+07:00",
                    i / 60,
                    i % 60
                )),
            ]),
        )
    };
    let files: Vec<PathBuf> = (0..2 * n).map(file).collect();
    for round in files.chunks(2) {
        let children: Vec<_> = round
            .iter()
            .map(|f| {
                common::bin(&env.data())
                    .arg("ingest")
                    .arg(f)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
    }
    let batches = committed_batches(&env.data());
    assert_eq!(batches.len(), 2 * n);
    let mut names: Vec<String> = batches
        .iter()
        .flat_map(|b| b["files"].as_array().unwrap().iter())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut expected: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "each file committed exactly once");

    // The same files one after another, in a directory of their own.
    let serial = env.path("serial");
    for f in &files {
        assert!(
            common::bin(&serial)
                .arg("ingest")
                .arg(f)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    assert_eq!(common::state(&env.data()), common::state(&serial));
}
