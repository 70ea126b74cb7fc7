//! The year's outlook through the real router and the real binary, on
//! seeded random filings from 2022 to 2026-04 in three batches (revisions,
//! weights, filings by district before the 2025 reform and by commune
//! after it): the year so far, e-commerce growth and communes selling
//! online equal a naive oracle that resolves the revisions itself from the
//! raw filings; the year so far equals the share API's sums for the same
//! months; the API and the command line give the same document; the
//! rollup and a scan of the filings agree; disclosure control withholds a
//! scope the share API withholds; errors have their codes; ETags follow
//! the version and the targets.

use crate::common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use ecomshare::access::tokens::TokenStore;
use ecomshare::domain::{Role, WeightedVnd};
use ecomshare::http::HttpOptions;
use ecomshare::ingest::Format;
use ecomshare::service::{App, IngestSource, OutlookParams};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tower::ServiceExt;

const HEADER: &str =
    "unit_id,district_code,commune_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight";

/// A reporting unit: its district before the reform, its commune (in that
/// former district) from it, whether it ever sells online, its size.
struct Unit {
    n: u32,
    district: &'static str,
    commune: &'static str,
    vsic: &'static str,
    sells: bool,
    size: i64,
}

const fn unit(n: u32, district: &'static str, commune: &'static str, vsic: &'static str, sells: bool) -> Unit {
    Unit {
        n,
        district,
        commune,
        vsic,
        sells,
        size: 1_000_000 + 37_000 * n as i64,
    }
}

/// District 381 has one enterprise (always withheld for a protected
/// audience); commune 15925 one unit that never sells online.
const UNITS: [Unit; 12] = [
    unit(1, "380", "14758", "4711", true),
    unit(2, "380", "14758", "4791", true),
    unit(3, "380", "14758", "5610", true),
    unit(4, "380", "14797", "4711", true),
    unit(5, "380", "14797", "4791", true),
    unit(6, "380", "15853", "4711", true),
    unit(7, "380", "15853", "5610", false),
    unit(8, "380", "15925", "4711", false),
    unit(9, "381", "14812", "4711", true),
    unit(10, "382", "16516", "4711", true),
    unit(11, "382", "16516", "4791", true),
    unit(12, "382", "16531", "4711", true),
];

const WEIGHTS: [(&str, i128); 5] = [
    ("", 1_000_000),
    ("1", 1_000_000),
    ("0.5", 500_000),
    ("2.25", 2_250_000),
    ("1.5", 1_500_000),
];

/// Months from 2022-01 to 2026-04, as (year, month).
fn months() -> Vec<(u16, u8)> {
    (2022..=2026u16)
        .flat_map(|y| (1..=12u8).map(move |m| (y, m)))
        .filter(|&(y, m)| (y, m) <= (2026, 4))
        .collect()
}

const REFORM: (u16, u8) = (2025, 7);

#[derive(Debug, Clone)]
pub(crate) struct Filing {
    unit: usize,
    period: (u16, u8),
    total: i64,
    ecom: i64,
    weight: usize,
}

/// SplitMix64: a reproducible stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn amounts(rng: &mut Rng, u: &Unit, (y, m): (u16, u8)) -> (i64, i64) {
    // Growth of some 10 % a year, a Tết peak, noise.
    let season = match m {
        1 | 2 => 150,
        12 => 130,
        _ => 100,
    };
    let growth = 100 + 10 * i64::from(y - 2022);
    let total = u.size * season / 100 * growth / 100 * (80 + rng.below(40) as i64) / 100;
    let ecom = if u.sells && rng.below(5) != 0 {
        total * (2 + rng.below(20) as i64 + 2 * i64::from(y - 2022)) / 100
    } else {
        0
    };
    (total, ecom)
}

/// Three batches: every unit's filings (each month with probability 0.9),
/// then revisions and late filings twice.
pub(crate) fn batches(seed: u64) -> Vec<Vec<Filing>> {
    let mut rng = Rng(seed);
    let mut first = Vec::new();
    for period in months() {
        for (i, u) in UNITS.iter().enumerate() {
            if rng.below(10) != 0 {
                let (total, ecom) = amounts(&mut rng, u, period);
                first.push(Filing {
                    unit: i,
                    period,
                    total,
                    ecom,
                    weight: rng.below(WEIGHTS.len() as u64) as usize,
                });
            }
        }
    }
    let mut out = vec![first];
    for _ in 0..2 {
        let mut batch = Vec::new();
        for period in months() {
            for (i, u) in UNITS.iter().enumerate() {
                if rng.below(8) == 0 {
                    let (total, mut ecom) = amounts(&mut rng, u, period);
                    // A revision may turn a month's e-commerce to zero, or
                    // (once in a while) give the non-seller some.
                    if rng.below(4) == 0 {
                        ecom = if ecom == 0 { total / 50 } else { 0 };
                    }
                    batch.push(Filing {
                        unit: i,
                        period,
                        total,
                        ecom,
                        weight: rng.below(WEIGHTS.len() as u64) as usize,
                    });
                }
            }
        }
        out.push(batch);
    }
    out
}

/// Ingests one batch of generated filings as `batch{b}.csv`; none refused.
pub(crate) async fn ingest(app: &Arc<App>, b: usize, batch: &[Filing]) {
    let app = app.clone();
    let text = file_text(batch);
    let report = tokio::task::spawn_blocking(move || {
        app.ingest(vec![IngestSource::Bytes {
            name: format!("batch{b}.csv"),
            format: Some(Format::Csv),
            bytes: text.into_bytes(),
        }])
        .unwrap()
    })
    .await
    .unwrap();
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
}

pub(crate) fn file_text(filings: &[Filing]) -> String {
    let mut s = format!("{HEADER}\n");
    for f in filings {
        let u = &UNITS[f.unit];
        let (district, commune) = if f.period >= REFORM {
            ("", u.commune)
        } else {
            (u.district, "")
        };
        s.push_str(&format!(
            "{},{district},{commune},{},{:04}-{:02},{},{},,{}\n",
            common::tax_code(u.n),
            u.vsic,
            f.period.0,
            f.period.1,
            f.total,
            f.ecom,
            WEIGHTS[f.weight].0
        ));
    }
    s
}

/// The effective filings by brute force: of each unit's month (its one
/// key: a unit keeps its district, commune and VSIC code), the filing of
/// the latest batch, the latest in its batch.
fn effective(batches: &[Vec<Filing>]) -> BTreeMap<(usize, (u16, u8)), Filing> {
    let mut best = BTreeMap::new();
    for batch in batches {
        for f in batch {
            best.insert((f.unit, f.period), f.clone());
        }
    }
    best
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Province,
    District(&'static str),
    Commune(&'static str),
}

impl Scope {
    fn query(self) -> String {
        match self {
            Scope::Province => String::new(),
            Scope::District(d) => format!("&district={d}"),
            Scope::Commune(c) => format!("&commune={c}"),
        }
    }

    /// Whether a filing of `unit` for `period` counts in the scope.
    fn holds(self, unit: usize, period: (u16, u8)) -> bool {
        match self {
            Scope::Province => true,
            Scope::District(d) => UNITS[unit].district == d,
            Scope::Commune(c) => period >= REFORM && UNITS[unit].commune == c,
        }
    }
}

/// What the oracle expects of an outlook.
#[derive(Debug)]
struct Expected {
    through: u8,
    total: i128,
    ecom: i128,
    /// (this year's e-commerce so far, the same months a year earlier).
    growth: Option<(i128, i128)>,
    /// (communes selling online, communes in force).
    communes: Option<(u64, u64)>,
}

/// The communes in force from the reform, from the reference file itself:
/// all of them, or those of a former district.
fn communes_in_force(scope: Scope) -> u64 {
    let text = std::fs::read_to_string(common::fixture("reference/units_2025.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            match scope {
                Scope::Province => true,
                Scope::District(d) => cols[3] == d,
                Scope::Commune(c) => cols[0] == c,
            }
        })
        .count() as u64
}

fn oracle(batches: &[Vec<Filing>], scope: Scope, year: u16) -> Expected {
    let filings = effective(batches);
    // Months with data: any effective filing in the province (for a
    // commune, from the reform on).
    let covered: BTreeSet<(u16, u8)> = filings
        .keys()
        .map(|(_, p)| *p)
        .filter(|p| !matches!(scope, Scope::Commune(_)) || *p >= REFORM)
        .collect();
    let through = filings
        .keys()
        .filter(|(_, p)| p.0 == year)
        .map(|(_, p)| p.1)
        .max()
        .unwrap();
    let sum = |y: u16, months: std::ops::RangeInclusive<u8>, pick: fn(&Filing) -> i64| -> i128 {
        filings
            .values()
            .filter(|f| f.period.0 == y && months.contains(&f.period.1) && scope.holds(f.unit, f.period))
            .map(|f| i128::from(pick(f)) * WEIGHTS[f.weight].1)
            .sum()
    };
    let all_covered = |y: u16| (1..=through).all(|m| covered.contains(&(y, m)));
    let (a, b) = (
        sum(year, 1..=through, |f| f.ecom),
        sum(year - 1, 1..=through, |f| f.ecom),
    );
    let growth = (all_covered(year) && all_covered(year - 1) && b != 0).then_some((a, b));
    let communes = ((year, through) >= REFORM).then(|| {
        let from = (year, 1).max(REFORM);
        let selling: BTreeSet<&str> = filings
            .values()
            .filter(|f| f.period >= from && f.period <= (year, through) && f.ecom > 0)
            .filter(|f| scope.holds(f.unit, f.period))
            .map(|f| UNITS[f.unit].commune)
            .collect();
        (selling.len() as u64, communes_in_force(scope))
    });
    Expected {
        through,
        total: sum(year, 1..=through, |f| f.total),
        ecom: a,
        growth,
        communes,
    }
}

fn exact(micro: i128) -> String {
    WeightedVnd::from_micro(micro).to_string()
}

struct Site {
    dir: tempfile::TempDir,
    app: Arc<App>,
    router: axum::Router,
    admin: String,
    viewer: String,
}

impl Site {
    async fn new(batches: &[Vec<Filing>]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        for (b, batch) in batches.iter().enumerate() {
            ingest(&app, b, batch).await;
        }
        let store = TokenStore::new(app.data_dir());
        let (_, admin) = store.create(Role::Admin, "a", None, chrono::Utc::now()).unwrap();
        let (_, viewer) = store.create(Role::Viewer, "v", None, chrono::Utc::now()).unwrap();
        let router = ecomshare::http::router_with(
            app.clone(),
            HttpOptions {
                rate_per_s: None,
                ..HttpOptions::default()
            },
        );
        Self {
            dir,
            app,
            router,
            admin,
            viewer,
        }
    }

    async fn send(&self, uri: &str, token: &str, etag: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(e) = etag {
            req = req.header(header::IF_NONE_MATCH, e);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, headers, v)
    }

    async fn get(&self, uri: &str, token: &str) -> Value {
        let (s, _, v) = self.send(uri, token, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {v}");
        v
    }
}

fn check_against_oracle(v: &Value, want: &Expected, what: &str) {
    assert_eq!(v["through"], want.through, "{what}");
    assert_eq!(v["ytd"]["total_revenue_vnd"], exact(want.total), "{what}");
    assert_eq!(v["ytd"]["ecommerce_revenue_vnd"], exact(want.ecom), "{what}");
    let growth = &v["indicators"][0];
    assert_eq!(growth["indicator"], "ecommerce_growth");
    match want.growth {
        Some((a, b)) => {
            let exact_growth = (a - b) as f64 / b as f64;
            let got = growth["value"].as_f64().unwrap();
            assert!(
                (got - exact_growth).abs() <= 1e-12 * exact_growth.abs().max(1e-9),
                "{what}: {got} vs {exact_growth}"
            );
            // Against the target's low, decided on the integers.
            if let Some(low) = growth["target_low"].as_f64() {
                let (n, d) = ((low * 1000.0).round() as i128, 1000i128);
                let reached = a * d >= b * (n + d);
                let status = match (want.through == 12, reached) {
                    (true, true) => "met",
                    (true, false) => "below",
                    (false, true) => "on_track",
                    (false, false) => "at_risk",
                };
                assert_eq!(growth["status"], status, "{what}");
            } else {
                assert_eq!(growth["status"], "no_target", "{what}");
            }
        }
        None => {
            assert!(growth["value"].is_null(), "{what}: {growth}");
            assert_eq!(growth["status"], "no_data", "{what}");
        }
    }
    let communes = v["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["indicator"] == "communes_selling_online");
    match (want.communes, communes) {
        (None, None) => {}
        (Some((selling, in_force)), Some(c)) => {
            assert_eq!(
                c["value"].as_f64(),
                Some(selling as f64 / in_force as f64),
                "{what}: {c}"
            );
            if let Some(low) = c["target_low"].as_f64() {
                let (n, d) = ((low * 1000.0).round() as u64, 1000u64);
                let reached = selling * d >= in_force * n;
                let status = match (want.through == 12, reached) {
                    (true, true) => "met",
                    (true, false) => "below",
                    (false, true) => "on_track",
                    (false, false) => "at_risk",
                };
                assert_eq!(c["status"], status, "{what}");
            }
        }
        (w, got) => panic!("{what}: communes {w:?} vs {got:?}"),
    }
}

const SCOPES: [Scope; 6] = [
    Scope::Province,
    Scope::District("380"),
    Scope::District("382"),
    Scope::Commune("14758"),
    Scope::Commune("15925"),
    Scope::Commune("16516"),
];

/// A provincial programme's target for the communes selling online in 2026
/// (none ships before 2030), so its status is decided too.
fn targets_with_communes_2026() -> String {
    format!(
        "{}134/KH-UBND,communes_selling_online,province,2026,point,0.03,,test row\n",
        std::fs::read_to_string(common::fixture("reference/targets.csv")).unwrap()
    )
}

#[tokio::test]
async fn the_outlook_equals_the_naive_oracle_and_the_share_api_on_random_filings() {
    for seed in [1u64, 2, 3] {
        let batches = batches(seed);
        let site = Site::new(&batches).await;
        let reference = site.dir.path().join("data/reference");
        std::fs::create_dir_all(&reference).unwrap();
        std::fs::write(reference.join("targets.csv"), targets_with_communes_2026()).unwrap();
        for year in [2024u16, 2025, 2026] {
            for scope in SCOPES {
                if matches!(scope, Scope::Commune(_)) && year < 2025 {
                    continue;
                }
                let what = format!("seed {seed}, {year}, {scope:?}");
                let v = site
                    .get(&format!("/api/v1/outlook?year={year}{}", scope.query()), &site.admin)
                    .await;
                let want = oracle(&batches, scope, year);
                check_against_oracle(&v, &want, &what);
                assert_eq!(v["dataset_version"], 3);
                assert_eq!(v["year"], year);

                // The year so far is the share API's total for those months.
                let from = match scope {
                    Scope::Commune(_) => format!("{year:04}-01").max("2025-07".into()),
                    _ => format!("{year:04}-01"),
                };
                let to = format!("{year:04}-{:02}", want.through);
                let share = match scope {
                    Scope::Province => site
                        .get(&format!("/api/v1/share?from={from}&to={to}"), &site.admin)
                        .await["total"]
                        .clone(),
                    Scope::District(d) => site
                        .get(&format!("/api/v1/share?from={from}&to={to}&district={d}"), &site.admin)
                        .await["total"]
                        .clone(),
                    Scope::Commune(c) => site
                        .get(&format!("/api/v1/share?from={from}&to={to}&by=commune"), &site.admin)
                        .await["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|r| r["commune_code"] == c)
                        .unwrap()
                        .clone(),
                };
                assert_eq!(v["ytd"]["total_revenue_vnd"], share["total_revenue_vnd"], "{what}");
                assert_eq!(
                    v["ytd"]["ecommerce_revenue_vnd"], share["ecommerce_revenue_vnd"],
                    "{what}"
                );
                assert_eq!(v["ytd"]["share"], share["share"], "{what}");

                // The rollup and a scan of the filings give the same answer.
                let params = OutlookParams {
                    year: Some(year.to_string()),
                    district: match scope {
                        Scope::District(d) => Some(d.into()),
                        _ => None,
                    },
                    commune: match scope {
                        Scope::Commune(c) => Some(c.into()),
                        _ => None,
                    },
                    ..OutlookParams::default()
                };
                assert_eq!(
                    site.app.outlook(&params).await.unwrap(),
                    site.app.outlook_from_filings(&params).await.unwrap(),
                    "{what}"
                );
            }
        }
        // As of the first version: the first batch's figures alone.
        let v = site
            .get("/api/v1/outlook?year=2026&district=380&as_of=1", &site.admin)
            .await;
        assert_eq!(v["dataset_version"], 1);
        check_against_oracle(&v, &oracle(&batches[..1], Scope::District("380"), 2026), "as_of=1");
    }
}

#[tokio::test]
async fn the_outlooks_parts_follow_the_targets_and_the_method() {
    let batches = batches(7);
    let site = Site::new(&batches).await;
    let v = site.get("/api/v1/outlook?year=2026", &site.admin).await;
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "year",
        "through",
        "dataset_version",
        "ytd",
        "projection",
        "target",
        "status",
        "needed_monthly_ecommerce_vnd",
        "indicators",
        "path",
    ];
    let mut got = keys.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    // The governing target is the share API's for the year.
    let share = site.get("/api/v1/share?from=2026-01&to=2026-04", &site.admin).await;
    assert_eq!(v["target"]["low"], share["target"]);
    assert_eq!(v["target"]["program"], share["target_program"]);
    // Every programme's value for each year from 2026 to the horizon, each
    // the share API's `targets` for that year.
    let path = v["path"].as_array().unwrap();
    let years: BTreeSet<u64> = path.iter().map(|p| p["year"].as_u64().unwrap()).collect();
    assert_eq!(years.first(), Some(&2026));
    for y in &years {
        let s = site
            .get(&format!("/api/v1/share?from={y}-01&to={y}-01"), &site.admin)
            .await;
        let here: Vec<Value> = path
            .iter()
            .filter(|p| p["year"] == *y)
            .map(|p| serde_json::json!({"program": p["program"], "low": p["low"], "high": p["high"]}))
            .collect();
        let there: Vec<Value> = s["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| serde_json::json!({"program": t["program"], "low": t["low"], "high": t["high"]}))
            .collect();
        assert_eq!(here, there, "{y}");
    }
    // Data from 2022: the method replays on the years with a whole year
    // before them, 2023 to 2025.
    let p = &v["projection"];
    assert_eq!(p["method"], "seasonal_naive_ytd_growth");
    assert_eq!(p["level"], 0.8);
    assert_eq!(p["backtest_years"], 3, "2023, 2024 and 2025 have a year before them");
    let (low, share, high) = (
        p["low"].as_f64().unwrap(),
        p["share"].as_f64().unwrap(),
        p["high"].as_f64().unwrap(),
    );
    assert!(low <= share && share <= high);
    let target = v["target"]["low"].as_f64().unwrap();
    let status = if low >= target {
        "on_track"
    } else if high < target {
        "off_track"
    } else {
        "at_risk"
    };
    assert_eq!(v["status"], status);
    assert!(
        v["needed_monthly_ecommerce_vnd"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .is_ok()
    );
    // A complete year: met or below, no needed revenue, its own projection.
    let v = site.get("/api/v1/outlook?year=2025", &site.admin).await;
    assert_eq!(v["through"], 12);
    assert!(v["needed_monthly_ecommerce_vnd"].is_null());
    assert_eq!(v["projection"]["share"], v["ytd"]["share"]);
    let (e, t): (f64, f64) = (
        v["ytd"]["ecommerce_revenue_vnd"].as_str().unwrap().parse().unwrap(),
        v["ytd"]["total_revenue_vnd"].as_str().unwrap().parse().unwrap(),
    );
    let low = v["target"]["low"].as_f64().unwrap();
    assert_eq!(v["status"], if e / t >= low { "met" } else { "below" });
    // A year without data: through null, status no_data. Default year: the latest.
    let v = site.get("/api/v1/outlook?year=2027", &site.admin).await;
    assert_eq!(
        (&v["through"], &v["status"]),
        (&Value::Null, &serde_json::json!("no_data"))
    );
    assert_eq!(v["ytd"]["total_revenue_vnd"], "0");
    let latest = site.get("/api/v1/outlook", &site.admin).await;
    assert_eq!(latest["year"], 2026);
    // Before the reform there are no communes to count.
    let v = site.get("/api/v1/outlook?year=2024", &site.admin).await;
    assert_eq!(v["indicators"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_command_line_prints_the_apis_document_and_a_table() {
    let batches = batches(4);
    let site = Site::new(&batches).await;
    let data = site.dir.path().join("data");
    for query in ["year=2026", "year=2026&district=380", "year=2025&commune=14758"] {
        let api = site.get(&format!("/api/v1/outlook?{query}"), &site.admin).await;
        let mut args = vec!["outlook".to_string()];
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            args.push(format!("--{k}"));
            args.push(v.to_string());
        }
        let out = common::bin(&data).args(&args).output().unwrap();
        let run = common::Run::from(out);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.json(), api, "{query}");
    }
    // The table: labels from the catalogue, vi-VN numbers.
    let want = oracle(&batches, Scope::District("380"), 2026);
    let run = common::Run::from(
        common::bin(&data)
            .args(["outlook", "--year", "2026", "--district", "380", "--format", "table"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("Triển vọng năm 2026 — Thanh Hóa (380)"),
        "{}",
        run.stdout
    );
    let whole_dong = (want.total + 500_000) / 1_000_000;
    let grouped = {
        let digits = whole_dong.to_string();
        let mut s = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                s.push('.');
            }
            s.push(c);
        }
        s
    };
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Tổng mức bán lẻ lũy kế (đồng)"))
        .unwrap();
    assert!(line.ends_with(&grouped), "{line} vs {grouped}");
    assert!(run.stdout.contains("tháng 4/2026"));
    assert!(run.stdout.contains("2030  1568/QĐ-BCT"));
    let en = common::Run::from(
        common::bin(&data)
            .args(["outlook", "--year", "2026", "--format", "table", "--lang", "en"])
            .output()
            .unwrap(),
    );
    assert!(
        en.stdout.starts_with("Outlook for 2026 — Thanh Hóa province"),
        "{}",
        en.stdout
    );
    // Bad arguments: exit 2, the error's code on stdout.
    for (args, code) in [
        (vec!["outlook", "--year", "26"], "invalid_year"),
        (vec!["outlook", "--district", "999"], "unknown_district"),
        (vec!["outlook", "--commune", "1"], "unknown_commune"),
    ] {
        let run = common::Run::from(common::bin(&data).args(&args).output().unwrap());
        assert_eq!(run.code, 2, "{args:?}");
        assert_eq!(run.json()["error"]["code"], code, "{args:?}");
    }
    let both = common::bin(&data)
        .args(["outlook", "--district", "380", "--commune", "14758"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
}

#[tokio::test]
async fn disclosure_control_withholds_what_the_share_api_withholds() {
    let batches = batches(5);
    let site = Site::new(&batches).await;
    // District 381 and commune 15925 have one enterprise each.
    for scope in ["district=381", "commune=15925"] {
        let seen = site
            .get(&format!("/api/v1/outlook?year=2026&{scope}"), &site.viewer)
            .await;
        assert_eq!(seen["status"], "suppressed", "{scope}: {seen}");
        for figure in [
            &seen["ytd"]["share"],
            &seen["ytd"]["total_revenue_vnd"],
            &seen["ytd"]["ecommerce_revenue_vnd"],
            &seen["projection"]["share"],
            &seen["projection"]["low"],
            &seen["projection"]["high"],
            &seen["needed_monthly_ecommerce_vnd"],
        ] {
            assert!(figure.is_null(), "{scope}: {seen}");
        }
        for i in seen["indicators"].as_array().unwrap() {
            assert!(i["value"].is_null() && i["status"] == "suppressed", "{scope}: {i}");
        }
        // The targets are not figures of the scope: they stay.
        assert!(seen["target"]["low"].is_number());
        assert!(!seen["path"].as_array().unwrap().is_empty());
        // An admin sees the figures.
        let full = site
            .get(&format!("/api/v1/outlook?year=2026&{scope}"), &site.admin)
            .await;
        assert_ne!(full["status"], "suppressed");
        assert!(full["ytd"]["total_revenue_vnd"].is_string());
    }
    // The share API withholds 381's total for the viewer in the year so far.
    let share = site
        .get("/api/v1/share?from=2026-01&to=2026-04&district=381", &site.viewer)
        .await;
    assert_eq!(share["total"]["suppressed"], true);
    // Where the share API shows every range's total, the outlook is shown:
    // the same figures as the admin's.
    for scope in ["", "&district=380"] {
        let ranges = [
            "from=2026-01&to=2026-04",
            "from=2025-01&to=2025-04",
            "from=2025-01&to=2025-12",
        ];
        let mut hidden = false;
        for r in ranges {
            let s = site.get(&format!("/api/v1/share?{r}{scope}"), &site.viewer).await;
            hidden |= s["total"]["suppressed"] == true;
        }
        let seen = site
            .get(&format!("/api/v1/outlook?year=2026{scope}"), &site.viewer)
            .await;
        assert_eq!(seen["status"] == "suppressed", hidden, "{scope}");
        if !hidden {
            let full = site
                .get(&format!("/api/v1/outlook?year=2026{scope}"), &site.admin)
                .await;
            assert_eq!(seen, full, "{scope}");
        }
    }
}

#[tokio::test]
async fn errors_have_their_codes_and_etags_follow_the_version_and_the_targets() {
    let batches = batches(6);
    let site = Site::new(&batches[..2]).await;
    for (query, status, code) in [
        ("year=26", StatusCode::BAD_REQUEST, "invalid_year"),
        ("year=2026x", StatusCode::BAD_REQUEST, "invalid_year"),
        ("year=2026&district=999", StatusCode::BAD_REQUEST, "unknown_district"),
        ("year=2026&commune=1", StatusCode::BAD_REQUEST, "unknown_commune"),
        (
            "year=2026&district=380&commune=14758",
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        ("year=2026&by=district", StatusCode::BAD_REQUEST, "unknown_parameter"),
        ("year=2026&year=2025", StatusCode::BAD_REQUEST, "repeated_parameter"),
        ("year=2026&as_of=x", StatusCode::BAD_REQUEST, "invalid_parameter"),
        ("year=2026&as_of=99", StatusCode::NOT_FOUND, "unknown_version"),
    ] {
        let (s, _, v) = site.send(&format!("/api/v1/outlook?{query}"), &site.admin, None).await;
        assert_eq!((s, v["error"]["code"].as_str()), (status, Some(code)), "{query}: {v}");
        assert!(v["error"]["message"].is_string());
    }
    // A filer may not read figures.
    let store = TokenStore::new(site.app.data_dir());
    let (_, filer) = store.create(Role::Filer, "f", None, chrono::Utc::now()).unwrap();
    let (s, _, _) = site.send("/api/v1/outlook?year=2026", &filer, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let uri = "/api/v1/outlook?year=2026&district=380";
    let (s, h, first) = site.send(uri, &site.admin, None).await;
    assert_eq!(s, StatusCode::OK);
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with("\"v2-"), "{etag}");
    assert_eq!(h["x-dataset-version"], "2");
    let (s, h, body) = site.send(uri, &site.admin, Some(&etag)).await;
    assert_eq!((s, &body), (StatusCode::NOT_MODIFIED, &Value::Null));
    assert_eq!(h[header::ETAG].to_str().unwrap(), etag);
    // Another audience, another tag.
    let (_, h, _) = site.send(uri, &site.viewer, None).await;
    assert_ne!(h[header::ETAG].to_str().unwrap(), etag);
    // A new version: the old tag no longer matches.
    ingest(&site.app, 2, &batches[2]).await;
    let (s, h, second) = site.send(uri, &site.admin, Some(&etag)).await;
    assert_eq!(s, StatusCode::OK);
    let etag2 = h[header::ETAG].to_str().unwrap().to_string();
    assert!(etag2.starts_with("\"v3-") && etag2 != etag);
    assert_eq!(second["dataset_version"], 3);
    assert_eq!(first["dataset_version"], 2);
    // New targets: a new tag and the new target.
    let reference = site.dir.path().join("data/reference");
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::write(
        reference.join("targets.csv"),
        format!(
            "{}134/KH-UBND,ecommerce_share,province,2026,point,0.115,,plan 2026\n",
            std::fs::read_to_string(common::fixture("reference/targets.csv")).unwrap()
        ),
    )
    .unwrap();
    let (s, h, third) = site.send(uri, &site.admin, Some(&etag2)).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(h[header::ETAG].to_str().unwrap(), etag2);
    assert_eq!(third["target"]["program"], "134/KH-UBND");
    assert_eq!(third["target"]["low"], 0.115);
    assert_eq!(third["ytd"], second["ytd"]);
}
