//! The binary end to end: ingest reports, reason codes, revisions,
//! duplicates, refused files, crash safety of a commit, share output.

use crate::common;

use common::{Env, Row, csv, fixture, tax_code};
use serde_json::Value;

fn total(v: &Value) -> &Value {
    &v["total"]
}

#[test]
fn help_and_version_exit_zero() {
    let env = Env::new();
    let r = env.run(&["--help"]);
    assert_eq!(r.code, 0);
    for sub in ["ingest", "share", "serve", "demo"] {
        assert!(r.stdout.contains(sub), "--help lists {sub}");
    }
    assert_eq!(env.run(&["share", "--help"]).code, 0);
}

#[test]
fn every_reason_code_at_its_record() {
    let env = Env::new();
    let r = env.ingest(&[&fixture("bad_filings.csv")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["dataset_version"], 1);
    let file = &report["files"][0];
    assert_eq!(
        (
            file["records"].as_u64(),
            file["accepted"].as_u64(),
            file["rejected"].as_u64()
        ),
        (Some(16), Some(1), Some(15))
    );
    assert_eq!(file["duplicate_file"], false);
    let expected = [
        "malformed_row",
        "missing_field",
        "invalid_unit_id",
        "unknown_district",
        "code_not_in_force",
        "unknown_commune",
        "unknown_sector",
        "invalid_period",
        "future_period",
        "invalid_amount",
        "negative_amount",
        "amount_out_of_range",
        "invalid_weight",
        "invalid_timestamp",
        "ecommerce_exceeds_total",
    ];
    let rejections = report["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), expected.len());
    for (i, (rej, reason)) in rejections.iter().zip(expected).enumerate() {
        assert_eq!(rej["record"], i as u64 + 1);
        assert_eq!(rej["reason"], reason);
        assert!(rej["message"].as_str().unwrap().len() > 10, "a human message");
        assert!(rej["file"].as_str().unwrap().ends_with("bad_filings.csv"));
    }
    // The one good record, whose name holds a line break, is counted.
    let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
    assert_eq!(total(&share)["total_revenue_vnd"], "100");
    assert_eq!(total(&share)["filings"], 1);
    // Rejections are kept under the data directory, with the ingest report,
    // the reference the batch was checked against and the version's rollup.
    let mut kept: Vec<String> = std::fs::read_dir(env.data().join("batches/00000001"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "filings_0.parquet",
            "ingest_report.json",
            "reference.json",
            "rejections_0.parquet",
            "rollup.parquet",
            "units.parquet"
        ]
    );
}

#[test]
fn the_first_failing_rule_wins() {
    let env = Env::new();
    let u = tax_code(1);
    // Unknown district and invalid period and negative amount: the district comes first.
    let f = env.write("a.csv", &format!("{}\n{u},999,4711,2025-13,-5,1,,,\n", common::HEADER));
    let report = env.ingest(&[&f]).json();
    assert_eq!(report["rejections"][0]["reason"], "unknown_district");
    // An invalid e-commerce amount beats a negative total: invalid_amount precedes negative_amount.
    let f = env.write(
        "b.csv",
        &format!("{}\n{u},380,4711,2025-01,-5,1.5,,,\n", common::HEADER),
    );
    assert_eq!(env.ingest(&[&f]).json()["rejections"][0]["reason"], "invalid_amount");
}

#[test]
fn columns_by_name_in_any_order_with_bom_crlf_and_extras() {
    let env = Env::new();
    let u = tax_code(2);
    let text = format!(
        "\u{feff}note,period,ecommerce_revenue_vnd,unit_id,total_revenue_vnd,sector_code,district_code\r\n\"x, y\",2025-03,30,{u},300,4791,380\r\n"
    );
    let f = env.write("reordered.csv", &text);
    let report = env.ingest(&[&f]).json();
    assert_eq!(report["files"][0]["accepted"], 1, "{report}");
    let share = env.share(&["--from", "2025-03", "--to", "2025-03"]);
    assert_eq!(total(&share)["ecommerce_revenue_vnd"], "30");
    assert_eq!(total(&share)["share"], 0.1);
}

#[test]
fn json_filings_with_numbers_or_digit_strings() {
    let env = Env::new();
    let u = tax_code(3);
    let text = format!(
        r#"[{{"unit_id":"{u}","district_code":"380","sector_code":"4711","period":"2025-01","total_revenue_vnd":1000,"ecommerce_revenue_vnd":"70"}},
           {{"unit_id":"{u}","district_code":"381","sector_code":"4711","period":"2025-01","total_revenue_vnd":1.5,"ecommerce_revenue_vnd":0}},
           "not an object"]"#
    );
    let f = env.write("f.json", &text);
    let report = env.ingest(&[&f]).json();
    assert_eq!(report["files"][0]["accepted"], 1);
    assert_eq!(report["rejections"][0]["record"], 2);
    assert_eq!(report["rejections"][0]["reason"], "invalid_amount");
    assert_eq!(report["rejections"][1]["reason"], "malformed_row");
}

#[test]
fn a_file_that_cannot_be_read_is_refused_whole_and_changes_nothing() {
    let env = Env::new();
    let good = env.write(
        "good.csv",
        &csv(&[Row::new(&tax_code(4), "380", "4711", "2025-01", 10, 1)]),
    );
    let missing = env.write(
        "missing.csv",
        "unit_id,district_code,sector_code,period,total_revenue_vnd\n",
    );
    let r = env.ingest(&[&good, &missing]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()["error"]["code"], "missing_columns");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ecommerce_revenue_vnd")
    );
    let latin1 = env.path("latin1.csv");
    std::fs::write(&latin1, b"unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,unit_name\n2801079196,380,4711,2025-01,1,0,Ho\xe0ng\n").unwrap();
    let r = env.ingest(&[&latin1]);
    assert_eq!(r.code, 3);
    assert_eq!(r.json()["error"]["code"], "not_utf8");
    // Nothing was committed by either attempt.
    let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
    assert_eq!(share["dataset_version"], 0);
    assert_eq!(total(&share)["filings"], 0);
    // The good file alone goes in.
    assert_eq!(env.ingest(&[&good]).json()["dataset_version"], 1);
}

#[test]
fn reingesting_the_same_bytes_changes_nothing() {
    let env = Env::new();
    let f = fixture("sample_filings.csv");
    let first = env.ingest(&[&f]).json();
    let before = env.share(&["--by", "district"]);
    let again = env.ingest(&[&f]);
    assert_eq!(again.code, 0);
    let again = again.json();
    assert_eq!(again["dataset_version"], first["dataset_version"]);
    assert_eq!(again["committed"], false);
    assert_eq!(again["files"][0]["duplicate_file"], true);
    assert_eq!(again["files"][0]["accepted"], 0);
    assert_eq!(env.share(&["--by", "district"]), before);
}

#[test]
fn revisions_latest_submission_wins_then_later_batch_then_later_record() {
    let env = Env::new();
    let u = tax_code(5);
    let row = |t: i64, at: &str| Row::new(&u, "380", "4711", "2025-02", t, 0).at(at);
    // Batch 1: two filings of the same key; the later instant wins even though it is
    // written first, and offsets are compared as instants (09:00+07:00 = 02:00Z).
    let b1 = env.write(
        "b1.csv",
        &csv(&[row(200, "2025-03-10T09:00:00+07:00"), row(100, "2025-03-10T01:59:59Z")]),
    );
    env.ingest(&[&b1]);
    let t = |env: &Env| env.share(&["--from", "2025-02", "--to", "2025-02"])["total"]["total_revenue_vnd"].clone();
    assert_eq!(t(&env), "200");
    // Batch 2: an older submission does not replace a newer one.
    let b2 = env.write("b2.csv", &csv(&[row(300, "2025-03-01T00:00:00+07:00")]));
    env.ingest(&[&b2]);
    assert_eq!(t(&env), "200");
    // Batch 3: the same instant as the winner: the later batch wins.
    let b3 = env.write("b3.csv", &csv(&[row(400, "2025-03-10T02:00:00Z")]));
    env.ingest(&[&b3]);
    assert_eq!(t(&env), "400");
    // Batch 4: equal instants within one batch: the later record wins.
    let b4 = env.write(
        "b4.csv",
        &csv(&[row(500, "2025-04-01T00:00:00Z"), row(600, "2025-04-01T00:00:00Z")]),
    );
    env.ingest(&[&b4]);
    assert_eq!(t(&env), "600");
    assert_eq!(
        env.share(&["--from", "2025-02", "--to", "2025-02"])["total"]["filings"],
        1
    );
    // Without submitted_at, a filing takes the time of its ingest: now, later than all above.
    let b5 = env.write("b5.csv", &csv(&[Row::new(&u, "380", "4711", "2025-02", 700, 0)]));
    env.ingest(&[&b5]);
    assert_eq!(t(&env), "700");
}

/// Regression (issue 8): the first viewer's answer on a directory a
/// one-shot ingest had just made took 13 s at 100M filings, counting every
/// month's contributions for disclosure control. The ingest now keeps the
/// months it changed, on disk, named by the version that changed them.
#[test]
fn an_ingest_keeps_the_disclosure_contributions_of_the_months_it_changed() {
    let env = Env::new();
    let kept = |env: &Env| {
        let mut names: Vec<String> = std::fs::read_dir(env.data().join("cache/kept"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let rows: Vec<Row> = (0..4)
        .flat_map(|u| ["2025-01", "2025-02"].map(|p| Row::new(&tax_code(u), "380", "4711", p, 1000 + u as i64, 10)))
        .collect();
    let b1 = env.write("b1.csv", &csv(&rows));
    assert_eq!(env.ingest(&[&b1]).code, 0);
    assert_eq!(kept(&env), ["2025-01-v1-k5.json", "2025-02-v1-k5.json"]);
    // A revision of one month keeps that month again under the new version.
    let b2 = env.write(
        "b2.csv",
        &csv(&[Row::new(&tax_code(0), "380", "4711", "2025-02", 5000, 10)]),
    );
    assert_eq!(env.ingest(&[&b2]).code, 0);
    assert_eq!(
        kept(&env),
        ["2025-01-v1-k5.json", "2025-02-v1-k5.json", "2025-02-v2-k5.json"]
    );
    // Each file holds the month's cell as counted from its effective
    // filings (amounts in VND; the template's are in millions).
    let cell = |name: &str| {
        let text = std::fs::read_to_string(env.data().join("cache/kept").join(name)).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        (
            v[0][0]["district"].clone(),
            v[0][1]["enterprises"].clone(),
            v[0][1]["total"].clone(),
        )
    };
    assert_eq!(
        cell("2025-02-v1-k5.json"),
        ("380".into(), 4.into(), 4_006_000_000u64.into())
    );
    assert_eq!(
        cell("2025-02-v2-k5.json"),
        ("380".into(), 4.into(), 8_006_000_000u64.into())
    );
}

#[test]
fn a_crash_at_any_point_of_a_commit_leaves_one_whole_version() {
    for point in ["commit:before_rename", "commit:after_rename", "commit:before_log"] {
        let env = Env::new();
        let first = env.write(
            "first.csv",
            &csv(&[Row::new(&tax_code(6), "380", "4711", "2025-01", 1000, 100)]),
        );
        env.ingest(&[&first]);
        let before = env.share(&["--by", "district,period"]);
        let second = env.write(
            "second.csv",
            &csv(&[Row::new(&tax_code(7), "381", "4711", "2025-01", 5000, 50)]),
        );
        let out = env
            .cmd()
            .env("ECOMSHARE_FAULT", point)
            .arg("ingest")
            .arg(&second)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{point}: the process died");
        // The next start is clean and shows the previous version exactly.
        assert_eq!(env.share(&["--by", "district,period"]), before, "{point}");
        assert!(std::fs::read_dir(env.data().join("staging")).unwrap().next().is_none());
        // And the same batch can then be committed normally.
        let report = env.ingest(&[&second]).json();
        assert_eq!(report["dataset_version"], 2, "{point}");
        assert_eq!(report["files"][0]["duplicate_file"], false, "{point}");
    }
    // A crash right after the manifest is in place: the batch is committed.
    let env = Env::new();
    let f = env.write(
        "f.csv",
        &csv(&[Row::new(&tax_code(8), "380", "4711", "2025-01", 10, 1)]),
    );
    let out = env
        .cmd()
        .env("ECOMSHARE_FAULT", "commit:after_commit")
        .arg("ingest")
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(env.share(&[])["dataset_version"], 1);
}

#[test]
fn concurrent_ingests_each_commit_whole() {
    let env = Env::new();
    let files: Vec<_> = (0..4)
        .map(|i| {
            let rows: Vec<Row> = (0..200)
                .map(|k| {
                    Row::new(
                        &tax_code(1000 * i + k),
                        "380",
                        "4711",
                        "2025-01",
                        1000,
                        10 * i64::from(i),
                    )
                })
                .collect();
            env.write(&format!("c{i}.csv"), &csv(&rows))
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            env.cmd()
                .arg("ingest")
                .arg(f)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut versions: Vec<u64> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            serde_json::from_slice::<Value>(&out.stdout).unwrap()["dataset_version"]
                .as_u64()
                .unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(versions, [1, 2, 3, 4], "one version per batch, none lost");
    let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
    assert_eq!(total(&share)["filings"], 800);
    assert_eq!(total(&share)["total_revenue_vnd"], "800000");
    assert_eq!(total(&share)["ecommerce_revenue_vnd"], "12000");
}

#[test]
fn kill_9_at_any_instant_leaves_the_old_or_the_new_version() {
    let env = Env::new();
    let first = env.write(
        "first.csv",
        &csv(&[Row::new(&tax_code(1), "380", "4711", "2025-01", 7, 0)]),
    );
    env.ingest(&[&first]);
    let rows: Vec<Row> = (0..30_000)
        .map(|k| Row::new(&tax_code(10_000 + k), "381", "4711", "2025-01", 1, 0))
        .collect();
    let big = env.write("big.csv", &csv(&rows));
    for delay_ms in [0u64, 5, 20, 50, 100, 200, 400, 800] {
        let mut child = env
            .cmd()
            .arg("ingest")
            .arg(&big)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
        let t = total(&share)["total_revenue_vnd"].as_str().unwrap().to_string();
        assert!(t == "7" || t == "30007", "after a kill at {delay_ms} ms: {t}");
        if t == "30007" {
            break;
        }
    }
    // Whatever happened, the data directory is clean and takes the batch.
    let report = env.ingest(&[&big]).json();
    let t = env.share(&["--from", "2025-01", "--to", "2025-01"])["total"]["total_revenue_vnd"].clone();
    assert_eq!(t, "30007", "{report}");
}

#[test]
fn readers_see_the_old_or_the_new_version_never_a_mix() {
    let env = Env::new();
    let file = |name: &str, first: u32, n: u32, total: i64| {
        let rows: Vec<Row> = (first..first + n)
            .map(|k| Row::new(&tax_code(k), "380", "4711", "2025-01", total, 0))
            .collect();
        env.write(name, &csv(&rows))
    };
    let a = file("a.csv", 0, 10, 1);
    env.ingest(&[&a]);
    // A batch of three files; while it commits, every read is all or nothing.
    let batch: Vec<_> = (0..3u32)
        .map(|i| file(&format!("b{i}.csv"), 100_000 * (i + 1), 20_000, 1000))
        .collect();
    let mut child = env
        .cmd()
        .arg("ingest")
        .args(&batch)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let done = child.try_wait().unwrap().is_some();
        let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
        seen.insert(total(&share)["total_revenue_vnd"].as_str().unwrap().to_string());
        if done {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    let allowed: std::collections::BTreeSet<String> = ["10".to_string(), "60000010".to_string()].into();
    assert!(seen.is_subset(&allowed), "{seen:?}");
    assert!(seen.contains("60000010"));
}

#[test]
fn sums_beyond_64_bits_are_exact() {
    let env = Env::new();
    // 12 filings of 10^15 VND with weight 10^6: 1.2 × 10^22 VND in all.
    let rows: Vec<Row> = (0..12)
        .map(|i| {
            Row::new(
                &tax_code(100 + i),
                "380",
                "4711",
                "2025-01",
                1_000_000_000_000_000,
                100_000_000_000_000,
            )
            .weight("1000000")
        })
        .collect();
    let f = env.write("big.csv", &csv(&rows));
    env.ingest(&[&f]);
    let share = env.share(&["--from", "2025-01", "--to", "2025-01"]);
    assert_eq!(total(&share)["total_revenue_vnd"], "12000000000000000000000");
    assert_eq!(total(&share)["ecommerce_revenue_vnd"], "1200000000000000000000");
    // Exactly on the 2025 target of 10 %: met.
    assert_eq!(total(&share)["share"], 0.1);
    assert_eq!(total(&share)["status"], "met");
}

#[test]
fn share_formats_and_bad_parameters() {
    let env = Env::new();
    env.ingest(&[&fixture("sample_filings.csv")]);
    let csv_out = env.run(&["share", "--by", "sector", "--format", "csv"]);
    assert_eq!(csv_out.code, 0);
    let first_line = csv_out.stdout.lines().next().unwrap();
    assert!(
        first_line.starts_with("sector_code,sector_name,total_revenue_vnd"),
        "{first_line}"
    );
    // The total's line, its programme last (the column added after `row`).
    let program = env.share(&["--by", "sector"])["target_program"]
        .as_str()
        .unwrap()
        .to_string();
    // Then how final the figures are and the response rate.
    assert!(
        first_line.ends_with(",row,target_program,release,response_rate"),
        "{first_line}"
    );
    assert!(
        csv_out
            .stdout
            .lines()
            .last()
            .unwrap()
            .contains(&format!(",total,{program},"))
    );
    let table = env.run(&["share", "--by", "district", "--format", "table"]);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("Tổng số"));
    assert!(table.stdout.contains(" %"), "vi-VN percentages");
    let bad = env.run(&["share", "--by", "month"]);
    assert_eq!(bad.code, 2);
    assert_eq!(bad.json()["error"]["code"], "invalid_dimension");
    let bad = env.run(&["share", "--district", "999"]);
    assert_eq!(bad.json()["error"]["code"], "unknown_district");
    let bad = env.run(&["share", "--from", "2025-05", "--to", "2025-01"]);
    assert_eq!(bad.json()["error"]["code"], "invalid_range");
    assert_eq!(
        env.run(&["share", "--from", "2025-5"]).code,
        2,
        "clap refuses a malformed month"
    );
}

#[test]
fn demo_writes_valid_reproducible_files() {
    let env = Env::new();
    let out = env.path("demo");
    let args = [
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "4",
        "--end",
        "2025-12",
        "--units",
        "150",
    ];
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let filings = std::fs::read(out.join("filings.csv")).unwrap();
    env.run(&args);
    assert_eq!(std::fs::read(out.join("filings.csv")).unwrap(), filings);
    let report = env
        .ingest(&[&out.join("filings.csv"), &out.join("revisions.csv")])
        .json();
    assert_eq!(
        report["rejections"].as_array().unwrap().len(),
        0,
        "{}",
        report["rejections"]
    );
    // The former districts' areas, Đông Sơn (merged into 380 after 2024-12)
    // included while it existed.
    let share = env.share(&["--to", "2025-12", "--by", "district"]);
    assert_eq!(share["rows"].as_array().unwrap().len(), 26);
    let share = env.share(&["--to", "2024-12", "--by", "district"]);
    assert_eq!(share["rows"].as_array().unwrap().len(), 27);
}

#[test]
fn query_runs_a_named_query_lists_them_and_takes_dropped_files() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let r = env.run(&["query", "share_by_district", "--param", "to=2025-03", "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("\u{feff}district_code,"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\r\n380,Thanh Hóa,5244765232,2331199233,"),
        "{}",
        r.stdout
    );

    let r = env.run(&["query", "share_by_district", "--param", "to=2025-13"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json()["error"]["code"], "invalid_period");
    let r = env.run(&["query", "nope"]);
    assert_eq!(
        (r.code, r.json()["error"]["code"].as_str().unwrap()),
        (2, "unknown_query")
    );

    // A file dropped into the data directory's queries/ is a query at once.
    std::fs::create_dir_all(env.data().join("queries")).unwrap();
    std::fs::write(
        env.data().join("queries/units_by_month.sql"),
        "-- title.vi: Số đơn vị theo tháng\n-- title.en: Units by month\n-- param: year year = latest\n\
         SELECT period, count(DISTINCT unit_id) AS units FROM filings WHERE year = $year GROUP BY period ORDER BY period\n",
    )
    .unwrap();
    let r = env.run(&["query", "--list"]);
    assert_eq!(r.code, 0);
    let names: Vec<String> = r.json()["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"units_by_month".to_string()) && names.contains(&"revisions".to_string()));
    let r = env.run(&["query", "units_by_month"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["params"]["year"], "2025");
    assert_eq!(v["rows"][0], serde_json::json!({"period": "2025-01", "units": 10}));
}

#[test]
fn report_json_is_the_share_apis_figures_and_the_same_bytes_for_the_same_version() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let out = env.path("report");
    let out_dir = out.to_str().unwrap();
    let r = env.run(&["report", "--month", "2025-03", "--out", out_dir]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let printed = r.json();
    let first = std::fs::read(out.join("report.json")).unwrap();
    let first_xlsx = std::fs::read(out.join("report.xlsx")).unwrap();
    assert_eq!(&first_xlsx[..2], b"PK");
    let first_pdf = std::fs::read(out.join("report.pdf")).unwrap();
    assert!(first_pdf.starts_with(b"%PDF-"));
    let first_html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(first_html.contains("tỉnh Thanh Hóa") && first_html.matches("<svg").count() == 2);
    for outside in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(
            !first_html.contains(outside),
            "the page loads nothing from elsewhere: {outside}"
        );
    }
    let report: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(report["content_sha256"], printed["content_sha256"]);
    assert_eq!(report["dataset_version"], 1);

    // The headline is the share API's figure for the month.
    let share = env.share(&["--from", "2025-03", "--to", "2025-03"]);
    assert_eq!(report["headline"]["month"], share["total"]);
    assert_eq!(
        report["districts"].as_array().unwrap().len(),
        26,
        "every district in force in 2025"
    );
    // The report is a publication: districts with too few enterprises are
    // withheld (the sample has one filing per district), and only the
    // figures shown are ranked.
    let districts = report["districts"].as_array().unwrap();
    for d in districts.iter().filter(|d| d["suppressed"] == true) {
        assert!(
            d["share"].is_null() && d["total_revenue_vnd"].is_null() && d["rank"].is_null(),
            "{d}"
        );
    }
    let shown: Vec<f64> = districts.iter().filter_map(|d| d["share"].as_f64()).collect();
    match districts.iter().find(|d| d["rank"] == 1) {
        Some(top) => assert_eq!(
            top["share"].as_f64().unwrap(),
            shown.iter().copied().fold(0.0, f64::max)
        ),
        None => assert!(shown.is_empty()),
    }
    assert!(districts.iter().any(|d| d["suppressed"] == true));

    // Later, from the same dataset version: the same bytes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(env.run(&["report", "--month", "2025-03", "--out", out_dir]).code, 0);
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), first);
    assert_eq!(std::fs::read(out.join("report.xlsx")).unwrap(), first_xlsx);
    assert_eq!(std::fs::read_to_string(out.join("report.html")).unwrap(), first_html);
    assert_eq!(std::fs::read(out.join("report.pdf")).unwrap(), first_pdf);

    // A new version gives a new report.
    let extra = env.write(
        "extra.csv",
        &csv(&[Row::new(&tax_code(77), "381", "4711", "2025-03", 1000, 500)]),
    );
    assert_eq!(env.ingest(&[&extra]).code, 0);
    assert_eq!(env.run(&["report", "--month", "2025-03", "--out", out_dir]).code, 0);
    let again: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(again["dataset_version"], 2);
    assert_ne!(again["content_sha256"], report["content_sha256"]);
    let r = env.run(&["report", "--month", "2025-13"]);
    assert_eq!(r.code, 2);
}

#[test]
fn a_report_counts_the_revisions_since_the_previous_months_report() {
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    assert_eq!(env.run(&["report", "--month", "2025-02"]).code, 0);
    assert_eq!(env.ingest(&[&fixture("queries/v2_revisions.csv")]).code, 0);
    let r = env.run(&["report", "--month", "2025-03"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value =
        serde_json::from_slice(&std::fs::read(env.data().join("reports/2025-03/report.json")).unwrap()).unwrap();
    assert_eq!(report["quality"]["previous_report_version"], 1);
    // A changed e-commerce figure and a changed weight; the identical
    // resubmission revises nothing.
    assert_eq!(report["quality"]["revisions_since_previous_report"], 2);
    let first: Value =
        serde_json::from_slice(&std::fs::read(env.data().join("reports/2025-02/report.json")).unwrap()).unwrap();
    assert_eq!(first["quality"]["revisions_since_previous_report"], Value::Null);
}

#[test]
fn the_pdfs_text_carries_the_headline_figures_of_the_share_api() {
    use ecomshare::present::locale::{Lang, percent, points};
    // poppler's pdftotext (Debian poppler-utils; .ci/run installs it).
    let Some(pdftotext) = common::require_tool("pdftotext", "pdftotext", "apt-get install poppler-utils") else {
        return;
    };
    let env = Env::new();
    assert_eq!(env.ingest(&[&fixture("sample_filings.csv")]).code, 0);
    let out = env.path("report");
    let r = env.run(&["report", "--month", "2025-03", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::process::Command::new(pdftotext)
        .args(["-layout", "-enc", "UTF-8"])
        .arg(out.join("report.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    let month = env.share(&["--from", "2025-03", "--to", "2025-03"]);
    let ytd = env.share(&["--from", "2025-01", "--to", "2025-03"]);
    let share = |v: &Value| percent(v["total"]["share"].as_f64().unwrap(), 2, Lang::Vi);
    for (label, figure) in [
        ("Tỷ trọng TMĐT của tháng", share(&month)),
        ("Tỷ trọng TMĐT lũy kế năm", share(&ytd)),
        ("Mục tiêu năm", percent(ytd["target"].as_f64().unwrap(), 2, Lang::Vi)),
        (
            "Chênh lệch so với mục tiêu, lũy kế",
            points(ytd["total"]["gap_pp"].as_f64().unwrap(), 2, Lang::Vi),
        ),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} in the PDF's text:\n{text}"));
        assert!(line.contains(&figure), "{label}: {figure:?} not in {line:?}");
    }
    // Vietnamese text comes out with its diacritics (the font is embedded with its mapping).
    assert!(text.contains("tỉnh Thanh Hóa"), "{text}");
    let report: Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(
        text.contains(report["content_sha256"].as_str().unwrap()),
        "the content hash is printed"
    );
}
