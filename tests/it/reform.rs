//! The 2025 reform through the real binary: districts before 2025-07,
//! communes from it, codes used outside their months rejected, and the
//! district series continuous across the break.

use crate::common;

use common::{Env, tax_code};
use serde_json::Value;

const HEADER: &str =
    "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight";

fn rows(lines: &[String]) -> String {
    let mut s = String::from(HEADER);
    for l in lines {
        s.push('\n');
        s.push_str(l);
    }
    s.push('\n');
    s
}

/// The row of `resp` whose keys are `keys`.
fn row<'a>(resp: &'a Value, keys: &[(&str, &str)]) -> &'a Value {
    resp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| keys.iter().all(|(k, v)| r[*k] == *v))
        .unwrap_or_else(|| panic!("no row {keys:?} in {resp}"))
}

#[test]
fn filings_on_both_sides_of_the_reform() {
    let env = Env::new();
    let (a, b, c) = (tax_code(1), tax_code(2), tax_code(3));
    // Version 1: before the reform, by district.
    let before = env.write(
        "before.csv",
        &rows(&[
            format!("{a},381,,4711,2025-06,1000000,100000,,"),
            format!("{b},380,,4711,2025-06,2000000,300000,,"),
            format!("{c},382,,5610,2025-06,500000,50000,,"),
        ]),
    );
    let r = env.ingest(&[&before]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["files"][0]["accepted"], 3);
    let v1 = env.share(&["--from", "2025-06", "--to", "2025-06", "--by", "district"]);

    // Version 2: after it, by commune — with the district left empty or
    // given as the commune's former one — and every code used out of its
    // months rejected with its reason.
    let after = env.write(
        "after.csv",
        &rows(&[
            // Unit a only changed its code: Phường Quang Trung lies in 381.
            format!("{a},,14818,4711,2025-07,1000000,100000,,"),
            format!("{b},380,14758,4711,2025-07,2500000,400000,,"),
            format!("{c},,16516,5610,2025-07,700000,70000,,"),
            format!("{a},405,,4711,2025-03,1,0,,"),
            format!("{a},381,14758,4711,2025-08,1,0,,"),
            format!("{a},,99999,4711,2025-08,1,0,,"),
            format!("{a},,14818,4711,2025-05,1,0,,"),
            format!("{a},381,,4711,2025-08,1,0,,"),
            // A revision of b's July filing naming only the commune: the
            // same key (the district is derived), and filed later in the
            // batch, so it replaces it.
            format!("{b},,14758,4711,2025-07,2600000,420000,,"),
        ]),
    );
    let r = env.ingest(&[&after]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_eq!(report["files"][0]["accepted"], 4);
    let rejections: Vec<(u64, &str, &str)> = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["reason"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    let reasons: Vec<(u64, &str)> = rejections.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        reasons,
        [
            (4, "code_not_in_force"),
            (5, "unknown_commune"),
            (6, "unknown_commune"),
            (7, "code_not_in_force"),
            (8, "code_not_in_force"),
        ]
    );
    assert!(
        rejections[0].2.contains("successor is 380"),
        "Đông Sơn's message names its successor: {}",
        rejections[0].2
    );
    assert!(
        rejections[1].2.contains("lies in former district 380"),
        "{}",
        rejections[1].2
    );
    assert!(rejections[4].2.contains("commune_code"), "{}", rejections[4].2);

    // by=district is continuous: unit a's district is the same before and after.
    let by_month = env.share(&["--from", "2025-06", "--to", "2025-07", "--by", "district,period"]);
    for field in ["total_revenue_vnd", "ecommerce_revenue_vnd", "filings", "units"] {
        assert_eq!(
            row(&by_month, &[("district_code", "381"), ("period", "2025-06")])[field],
            row(&by_month, &[("district_code", "381"), ("period", "2025-07")])[field],
            "{field}"
        );
    }
    // The revision replaced b's July filing (one filing, the later figures).
    let july = row(&by_month, &[("district_code", "380"), ("period", "2025-07")]);
    assert_eq!(july["filings"], 1);
    assert_eq!(july["total_revenue_vnd"], "2600000");
    // Nam Sầm Sơn spans 382 and 406; its figures count in 382, its majority district.
    assert_eq!(
        row(&by_month, &[("district_code", "382"), ("period", "2025-07")])["total_revenue_vnd"],
        "700000"
    );
    assert_eq!(by_month["series_break"], "2025-07", "the series crosses the reform");

    // by=commune: code and name, and the communes add up to the province.
    let communes = env.share(&["--from", "2025-07", "--to", "2025-08", "--by", "commune"]);
    assert!(communes.get("series_break").is_none());
    let list = communes["rows"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(
        row(&communes, &[("commune_code", "14818")])["commune_name"],
        "Phường Quang Trung"
    );
    let sum: u64 = list
        .iter()
        .map(|r| r["total_revenue_vnd"].as_str().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(
        sum.to_string(),
        communes["total"]["total_revenue_vnd"].as_str().unwrap()
    );
    let province = env.share(&["--from", "2025-07", "--to", "2025-08"]);
    assert_eq!(province["total"], communes["total"]);
    // Communes began in 2025-07: a commune breakdown from before is refused.
    let r = env.run(&["share", "--from", "2025-06", "--to", "2025-08", "--by", "commune"]);
    assert_ne!(r.code, 0);
    assert_eq!(r.json()["error"]["code"], "invalid_range");

    // as_of: version 1's figures are as they were.
    let as_of = env.share(&[
        "--from", "2025-06", "--to", "2025-06", "--by", "district", "--as-of", "1",
    ]);
    assert_eq!(as_of["rows"], v1["rows"]);
    assert_eq!(as_of["total"], v1["total"]);
}

#[test]
fn the_monthly_report_gains_a_commune_annex_from_the_reform() {
    let env = Env::new();
    let mut lines = Vec::new();
    for (i, commune) in ["14758", "14797", "14812", "14818"].iter().enumerate() {
        for n in 0..3u32 {
            let unit = tax_code(10 * i as u32 + n + 1);
            lines.push(format!(
                "{unit},,{commune},4711,2025-07,{},{},,",
                1_000_000 * (n + 1),
                100_000 * (i as u32 + 1)
            ));
            lines.push(format!("{unit},380,,4711,2025-06,1000000,100000,,"));
        }
    }
    let file = env.write("filings.csv", &rows(&lines));
    assert_eq!(env.ingest(&[&file]).code, 0);
    let report = |month: &str| -> Value {
        let out = env.path(&format!("report-{month}"));
        let r = env.run(&["report", "--month", month, "--out", out.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
    };
    let july = report("2025-07");
    let annex = july["communes"].as_array().unwrap();
    assert_eq!(annex.len(), 4);
    // Ranked by share, highest first; the figures are the share API's (protected).
    let ranks: Vec<u64> = annex.iter().map(|c| c["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, [1, 2, 3, 4]);
    let share = env
        .run(&["share", "--from", "2025-07", "--to", "2025-07", "--by", "commune"])
        .json();
    for line in annex {
        let api = row(&share, &[("commune_code", line["commune_code"].as_str().unwrap())]);
        assert_eq!(line["share"], api["share"]);
    }
    assert_eq!(annex[0]["commune_code"], "14818");
    assert_eq!(annex[0]["former_district"], "Bỉm Sơn");
    let methodology = july["methodology"].to_string();
    for unit in ["14812", "15448", "15853", "16369", "16516"] {
        assert!(methodology.contains(unit), "the methodology lists {unit}");
    }
    let html = std::fs::read_to_string(env.path("report-2025-07").join("report.html")).unwrap();
    assert!(html.contains("Phụ lục: theo xã, phường"));
    // The districts' comparison with a year earlier crosses the reform.
    assert_eq!(july["series_break"], "2025-07");
    assert!(html.contains("vượt qua mốc 01/7/2025"));
    // Before the reform there is no annex, and nothing crosses it.
    let june = report("2025-06");
    assert!(june.get("communes").is_none() && june.get("series_break").is_none());
}

/// The dashboard through the real router: the district views keep the long
/// series (with a note where it crosses the reform), and recent periods gain
/// a commune table ranked by share.
#[test]
fn the_dashboard_adds_a_commune_table_for_recent_periods() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let app = std::sync::Arc::new(ecomshare::service::App::open(dir.path().join("data")).unwrap());
    let mut lines = Vec::new();
    for (i, commune) in ["14758", "14818"].iter().enumerate() {
        for n in 0..3u32 {
            let unit = tax_code(10 * i as u32 + n + 1);
            lines.push(format!(
                "{unit},,{commune},4711,2025-08,1000000,{},,",
                100_000 * (i as u32 + 1)
            ));
            lines.push(format!("{unit},380,,4711,2025-06,1000000,100000,,"));
        }
    }
    app.ingest(vec![ecomshare::service::IngestSource::Bytes {
        name: "f.csv".into(),
        format: Some(ecomshare::ingest::Format::Csv),
        bytes: rows(&lines).into_bytes(),
    }])
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let router = ecomshare::http::router(app);
    let page = |uri: &'static str| {
        let router = router.clone();
        async move {
            let resp = router
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
        }
    };
    let html = rt.block_on(page("/?from=2025-05&to=2025-08"));
    assert!(html.contains("Theo xã, phường"), "a commune table");
    assert!(html.contains("Phường Quang Trung"));
    let ranked = html.find("Phường Quang Trung").unwrap() < html.find("Phường Hàm Rồng").unwrap();
    assert!(ranked, "the commune with the higher share first");
    assert!(
        html.contains("địa bàn cũ của huyện"),
        "the district series is marked where it crosses the reform"
    );
    let before = rt.block_on(page("/?from=2025-01&to=2025-06"));
    assert!(!before.contains("Theo xã, phường") && !before.contains("địa bàn cũ của huyện"));
    let english = rt.block_on(page("/?from=2025-05&to=2025-08&lang=en"));
    assert!(english.contains("By commune"));

    // The reference tables say when each code is in force.
    let json = |uri: &'static str| -> serde_json::Value { serde_json::from_str(&rt.block_on(page(uri))).unwrap() };
    let communes = json("/api/v1/reference/communes");
    assert_eq!(communes.as_array().unwrap().len(), 166);
    assert!(
        communes
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["valid_from"] == "2025-07")
    );
    let districts = json("/api/v1/reference/districts");
    let valid_to = |code: &str| {
        districts
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["district_code"] == code)
            .unwrap()["valid_to"]
            .clone()
    };
    assert_eq!(valid_to("405"), "2024-12");
    assert_eq!(valid_to("380"), "2025-06");
}

/// Rewrites every Parquet file `name_prefix*` under `DATA/batches/` without
/// its `commune_code` column: the files as written before communes existed.
fn strip_commune(data: &std::path::Path, name_prefix: &str) -> usize {
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut stripped = 0;
    for batch_dir in std::fs::read_dir(data.join("batches")).unwrap() {
        for file in std::fs::read_dir(batch_dir.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(name_prefix) || !name.ends_with(".parquet") {
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                .unwrap()
                .build()
                .unwrap();
            let batches: Vec<_> = reader.map(Result::unwrap).collect();
            let Some(first) = batches.first() else { continue };
            let schema = first.schema();
            let keep: Vec<usize> = (0..schema.fields().len())
                .filter(|i| schema.field(*i).name() != "commune_code")
                .collect();
            if keep.len() == schema.fields().len() {
                continue;
            }
            let out_schema = std::sync::Arc::new(schema.project(&keep).unwrap());
            let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), out_schema, None).unwrap();
            for b in &batches {
                writer.write(&b.project(&keep).unwrap()).unwrap();
            }
            writer.close().unwrap();
            stripped += 1;
        }
    }
    stripped
}

/// Regression: a data directory written before communes existed (filings
/// and rollups without a commune_code column) failed every query with
/// "No field named f.commune_code". It reads as before, takes new filings
/// with communes beside the old ones, and old keys are still revised.
#[test]
fn a_data_directory_from_before_communes_still_answers_and_takes_new_filings() {
    let env = Env::new();
    let (a, b) = (tax_code(1), tax_code(2));
    let old = env.write(
        "old.csv",
        &rows(&[
            format!("{a},381,,4711,2025-06,1000000,100000,,"),
            format!("{b},380,,4711,2025-06,2000000,300000,,"),
        ]),
    );
    assert_eq!(env.ingest(&[&old]).code, 0);
    let args = ["--from", "2025-06", "--to", "2025-06", "--by", "district"];
    let before = env.share(&args);
    assert!(strip_commune(&env.data(), "filings_") >= 1);
    assert_eq!(strip_commune(&env.data(), "rollup"), 1);
    assert_eq!(env.share(&args), before, "old files answer as before");
    let query = env.run(&["query", "coverage_by_district", "--param", "period=2025-06"]);
    assert_eq!(query.code, 0, "named queries read the old files: {}", query.stderr);

    let new = env.write(
        "new.csv",
        &rows(&[
            format!("{a},,14818,4711,2025-07,1000000,100000,,"),
            // A revision of an old filing: same key, no commune.
            format!("{b},380,,4711,2025-06,2500000,400000,,"),
        ]),
    );
    let r = env.ingest(&[&new]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["files"][0]["accepted"], 2);
    let after = env.share(&["--from", "2025-06", "--to", "2025-07", "--by", "district,period"]);
    let june = row(&after, &[("district_code", "380"), ("period", "2025-06")]);
    assert_eq!(june["filings"], 1, "the revision replaced the old filing");
    assert_eq!(june["total_revenue_vnd"], "2500000");
    let communes = env.share(&["--from", "2025-07", "--to", "2025-07", "--by", "commune"]);
    assert_eq!(
        row(&communes, &[("commune_code", "14818")])["total_revenue_vnd"],
        "1000000"
    );
}
