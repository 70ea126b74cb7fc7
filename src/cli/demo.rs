//! A seeded generator of realistic demo filings for Thanh Hóa: every
//! district, the VSIC codes of the reference, a few thousand units with valid
//! tax codes, Tết peaks, a rising trend, urban districts ahead of mountain
//! ones, pure online retailers, sampling weights and revisions.
//!
//! Pure: returns CSV text; the caller decides where it goes. The same seed
//! and end month always give the same bytes.

use crate::domain::unit_id::complete_tax_code;
use crate::domain::{Period, Reference};
use std::fmt::Write;

/// SplitMix64: tiny, fast, and stable across versions (unlike a crate's
/// default generator), which keeps demo files reproducible forever.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Roughly normal, mean 0, sd 1 (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    fn pick<'a, T>(&mut self, weighted: &'a [(T, f64)]) -> &'a T {
        let total: f64 = weighted.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in weighted {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &weighted[weighted.len() - 1].0
    }
}

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    /// The last month with filings (normally last month).
    pub end: Period,
    pub months: u32,
    pub units: u32,
}

/// The generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFiles {
    /// Original monthly filings.
    pub filings: String,
    /// Later revisions of some of them (a second batch).
    pub revisions: String,
}

const URBAN: [&str; 4] = ["380", "382", "381", "407"];
const MOUNTAIN: [&str; 8] = ["384", "385", "386", "387", "388", "396", "402", "389"];

/// Relative number of businesses per district.
fn district_weight(code: &str) -> f64 {
    match code {
        "380" => 14.0,
        "407" => 5.0,
        "382" | "381" => 3.5,
        c if MOUNTAIN.contains(&c) => 0.8,
        _ => 2.0,
    }
}

/// The district's baseline e-commerce share at the start of the series.
fn district_share(code: &str) -> f64 {
    if URBAN.contains(&code) {
        0.075
    } else if MOUNTAIN.contains(&code) {
        0.02
    } else {
        0.045
    }
}

struct Unit {
    id: String,
    name: String,
    district: String,
    vsic: String,
    household: bool,
    /// Typical monthly revenue in VND.
    base: f64,
    /// This unit's e-commerce share at the start, before trend and season.
    share: f64,
    weight: Option<&'static str>,
    /// First and last month index of activity.
    active: (i32, i32),
}

/// VSIC codes with how common they are and a typical monthly revenue (million VND).
fn sector_profile(vsic: &str) -> (f64, f64, f64) {
    // (frequency, revenue in million VND, e-commerce affinity multiplier)
    match vsic {
        "4711" => (10.0, 900.0, 1.0),
        "4719" => (4.0, 600.0, 1.1),
        "4722" | "4721" | "4723" => (6.0, 250.0, 0.6),
        "4781" => (8.0, 90.0, 0.3),
        "4782" | "4789" => (3.0, 70.0, 0.5),
        "4730" => (3.0, 4_500.0, 0.05),
        "4512" | "4513" => (0.6, 18_000.0, 0.35),
        "4541" => (2.0, 2_400.0, 0.4),
        "4520" | "4542" => (2.5, 150.0, 0.3),
        "4741" | "4742" => (2.5, 700.0, 2.4),
        "4759" | "4753" => (2.5, 450.0, 1.8),
        "4771" | "4751" => (4.0, 300.0, 2.2),
        "4772" => (3.0, 350.0, 1.3),
        "4761" | "4763" | "4764" => (1.5, 180.0, 2.0),
        "47732" => (1.2, 2_000.0, 0.3),
        "47735" => (1.0, 200.0, 0.2),
        "5510" | "5590" => (2.0, 500.0, 2.6),
        "5610" | "5630" | "5629" => (7.0, 160.0, 1.2),
        "7911" | "7912" => (0.8, 600.0, 3.0),
        "9631" | "9620" | "9522" | "9529" => (2.0, 60.0, 0.4),
        "4791" => (0.0, 800.0, 1.0), // drawn separately: pure online retailers
        _ => (0.5, 150.0, 0.8),
    }
}

/// The lunar new year (Tết Nguyên đán), 2018–2032.
const TET: [(u16, u8, u8); 15] = [
    (2018, 2, 16),
    (2019, 2, 5),
    (2020, 1, 25),
    (2021, 2, 12),
    (2022, 2, 1),
    (2023, 1, 22),
    (2024, 2, 10),
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
];

/// The month of the pre-Tết shopping peak (the ten days before Tết fall mostly in it).
fn tet_peak_month(year: u16) -> u8 {
    match TET.iter().find(|(y, _, _)| *y == year) {
        Some(&(_, month, day)) if day > 10 => month,
        Some(&(_, month, _)) => month - 1,
        None => 1,
    }
}

/// Month factor for total retail: the pre-Tết peak, a dip after Tết, a
/// year-end rise.
fn season_total(period: Period) -> f64 {
    let peak = tet_peak_month(period.year());
    match period.month() {
        m if m == peak => 1.3,
        m if m == peak + 1 => 0.92,
        1 | 2 => 1.05,
        3 => 0.93,
        4..=8 => 0.97,
        9 | 10 => 1.0,
        11 => 1.04,
        _ => 1.12,
    }
}

/// Month-of-year factor for the e-commerce share: double-day sales
/// (11.11, 12.12) lift it, Tết shopping in markets lowers it.
fn season_share(month: u8) -> f64 {
    match month {
        1 | 2 => 0.93,
        11 | 12 => 1.12,
        6 | 7 => 1.04,
        _ => 1.0,
    }
}

const GIVEN_NAMES: [&str; 12] = [
    "Hòa Bình",
    "Minh Phát",
    "Thành Đạt",
    "Phúc Lộc",
    "Hưng Thịnh",
    "An Khang",
    "Tân Tiến",
    "Đức Thành",
    "Hoàng Long",
    "Xuân Mai",
    "Sao Việt",
    "Quảng Xương",
];

pub fn generate(reference: &Reference, opt: &DemoOptions) -> DemoFiles {
    let mut rng = Rng(opt.seed ^ 0x5EED_0F7A_1F0A);
    let pools = Pools {
        districts: reference
            .districts
            .iter()
            .map(|d| (d.district_code.as_str(), district_weight(&d.district_code)))
            .collect(),
        sectors: reference
            .vsic
            .iter()
            .map(|v| (v.vsic_code.as_str(), sector_profile(&v.vsic_code).0))
            .collect(),
        online_vsic: reference.vsic("4791").is_some(),
    };
    let end = opt.end.index();
    let start = end - opt.months as i32 + 1;
    let mut units = Vec::with_capacity(opt.units as usize);
    let mut used = std::collections::HashSet::new();
    while units.len() < opt.units as usize {
        if let Some(unit) = draw_unit(&mut rng, &pools, &mut used, opt.months, (start, end)) {
            units.push(unit);
        }
    }
    let unit_communes = communes_after_reform(reference, &units);
    let header = "unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd,submitted_at,weight,unit_name,commune_code\n";
    let mut files = DemoFiles {
        filings: String::from(header),
        revisions: String::from(header),
    };
    for m in start..=end {
        for (u, unit_commune) in units.iter().zip(&unit_communes) {
            if m < u.active.0 || m > u.active.1 {
                continue;
            }
            file_month(&mut files, &mut rng, u, *unit_commune, m, start);
        }
    }
    files
}

/// What units are drawn from: districts and VSIC codes with their weights,
/// and whether the reference has the online-retail code.
struct Pools<'r> {
    districts: Vec<(&'r str, f64)>,
    sectors: Vec<(&'r str, f64)>,
    online_vsic: bool,
}

/// One reporting unit, or `None` when its drawn tax code has no valid
/// check digit or its id is in `used` already (the caller draws again).
fn draw_unit(
    rng: &mut Rng,
    pools: &Pools<'_>,
    used: &mut std::collections::HashSet<String>,
    months: u32,
    (start, end): (i32, i32),
) -> Option<Unit> {
    let online = rng.unit() < 0.01;
    let mut district = rng.pick(&pools.districts).to_string();
    let household = !online && rng.unit() < 0.4;
    let vsic = if online && pools.online_vsic {
        "4791".to_string()
    } else {
        rng.pick(&pools.sectors).to_string()
    };
    if online {
        // Online retailers cluster in the city and the towns.
        district = if rng.unit() < 0.7 {
            "380".into()
        } else {
            URBAN[rng.below(URBAN.len() as u64) as usize].into()
        };
    }
    let id = if household {
        // 12-digit personal identification number: 038 (Thanh Hóa) + gender/century + year + serial.
        format!(
            "038{}{:02}{:06}",
            rng.below(2),
            60 + rng.below(40),
            rng.below(1_000_000)
        )
    } else {
        let code = complete_tax_code(&format!("28{:07}", rng.below(10_000_000)))?;
        if rng.unit() < 0.06 {
            format!("{code}-{:03}", 1 + rng.below(30))
        } else {
            code
        }
    };
    if !used.insert(id.clone()) {
        return None;
    }
    let (_, revenue_m, affinity) = sector_profile(&vsic);
    let scale = if household { 0.25 } else { 1.0 };
    let base = revenue_m * 1e6 * scale * (0.6 * rng.normal()).exp();
    let share = if online {
        rng.range(0.55, 0.9)
    } else {
        (district_share(&district) * affinity * (0.35 * rng.normal()).exp()).min(0.6)
    };
    let weight = if household {
        Some(*rng.pick(&[("1", 5.0), ("2.5", 3.0), ("4", 2.0), ("1.75", 1.0)]))
    } else {
        None
    };
    let first = if rng.unit() < 0.85 {
        start
    } else {
        start + rng.below(months as u64) as i32
    };
    let last = if rng.unit() < 0.93 {
        end
    } else {
        first + rng.below((end - first + 1) as u64) as i32
    };
    let kind = if household {
        "Hộ kinh doanh"
    } else if online {
        "Công ty TNHH Thương mại điện tử"
    } else {
        "Công ty TNHH"
    };
    let name = format!("{kind} {}", GIVEN_NAMES[rng.below(GIVEN_NAMES.len() as u64) as usize]);
    Some(Unit {
        id,
        name,
        district,
        vsic,
        household,
        base,
        share,
        weight,
        active: (first, last),
    })
}

/// Each unit's commune after the reform (Đông Sơn's units are then in
/// Thanh Hóa city), chosen once.
fn communes_after_reform<'r>(reference: &'r Reference, units: &[Unit]) -> Vec<Option<(&'r str, bool)>> {
    let mut by_district: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for c in &reference.communes {
        by_district
            .entry(c.district_code.as_str())
            .or_default()
            .push(c.commune_code.as_str());
    }
    units
        .iter()
        .map(|u| {
            let district = if u.district == "405" {
                "380"
            } else {
                u.district.as_str()
            };
            commune_of(&by_district, &u.id, district)
        })
        .collect()
}

/// One unit's filing for month `m` (and, now and then, its revision).
fn file_month(files: &mut DemoFiles, rng: &mut Rng, u: &Unit, unit_commune: Option<(&str, bool)>, m: i32, start: i32) {
    let reform = crate::domain::reference::REFORM.index();
    let dong_son_end = Period::new(2024, 12).expect("valid").index();
    let period = Period::from_index(m).expect("month in range");
    let years = f64::from(m - start) / 12.0;
    let growth = 1.07f64.powf(years);
    let trend = 1.0 + 0.2 * years;
    // Đông Sơn merged into Thanh Hóa city from 2025: its units file
    // there. From the 2025 reform units name their commune; most
    // leave the district empty, the others give its former district.
    let district = if u.district == "405" && m > dong_son_end {
        "380"
    } else {
        u.district.as_str()
    };
    let (district, commune) = match unit_commune {
        Some((commune, both)) if m >= reform => (if both { district } else { "" }, commune),
        _ => (district, ""),
    };
    let noise = (0.12 * rng.normal()).exp();
    let total = (u.base * growth * season_total(period) * noise).round().max(0.0);
    let household_dampen = if u.household { 0.6 } else { 1.0 };
    let share = (u.share * trend * season_share(period.month()) * household_dampen * (0.15 * rng.normal()).exp())
        .clamp(0.0, 0.98);
    let ecommerce = (total * share).round().min(total);
    let next = Period::from_index(m + 1).expect("month in range");
    let day = 5 + rng.below(11);
    let submitted = format!("{next}-{day:02}T{:02}:{:02}:00+07:00", 8 + rng.below(9), rng.below(60));
    write_row(
        &mut files.filings,
        u,
        (district, commune),
        period,
        total as i64,
        ecommerce as i64,
        &submitted,
    );
    if rng.unit() < 0.03 {
        // A revision: corrected figures, submitted later in the following month.
        let factor = rng.range(0.9, 1.1);
        let total2 = (total * factor).round();
        let ecommerce2 = (total2 * (share * rng.range(0.85, 1.2)).min(0.98)).round().min(total2);
        let submitted2 = format!("{next}-{:02}T15:30:00+07:00", 20 + rng.below(8));
        write_row(
            &mut files.revisions,
            u,
            (district, commune),
            period,
            total2 as i64,
            ecommerce2 as i64,
            &submitted2,
        );
    }
}

/// The commune a unit in `district` files under after the reform — one of
/// the district's, picked by a hash of the unit id (the demo's random
/// sequence stays as it was before communes) — and whether it also gives
/// its district; `None` when the reference has no commune there.
fn commune_of<'r>(
    by_district: &std::collections::HashMap<&str, Vec<&'r str>>,
    unit: &str,
    district: &str,
) -> Option<(&'r str, bool)> {
    let here = by_district.get(district).filter(|c| !c.is_empty())?;
    let h = unit.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    Some((here[(h % here.len() as u64) as usize], h % 10 < 3))
}

fn write_row(
    out: &mut String,
    u: &Unit,
    (district, commune): (&str, &str),
    period: Period,
    total: i64,
    ecommerce: i64,
    submitted: &str,
) {
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},\"{}\",{}",
        u.id,
        district,
        u.vsic,
        period,
        total,
        ecommerce,
        submitted,
        u.weight.unwrap_or(""),
        u.name.replace('"', "\"\""),
        commune
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::unit_id::is_valid_unit_id;
    use crate::store::builtin_reference;

    fn options() -> DemoOptions {
        DemoOptions {
            seed: 7,
            end: Period::new(2026, 10).unwrap(),
            months: 36,
            units: 400,
        }
    }

    #[test]
    fn the_tet_peak_follows_the_lunar_calendar() {
        assert_eq!(tet_peak_month(2025), 1); // Tết on 29 January
        assert_eq!(tet_peak_month(2026), 2); // Tết on 17 February
        assert_eq!(tet_peak_month(2024), 1); // Tết on 10 February: the peak is late January
        let jan = season_total(Period::new(2025, 1).unwrap());
        let feb = season_total(Period::new(2025, 2).unwrap());
        assert!(jan > feb);
    }

    #[test]
    fn same_seed_same_bytes() {
        let r = builtin_reference();
        assert_eq!(generate(&r, &options()), generate(&r, &options()));
        let other = DemoOptions { seed: 8, ..options() };
        assert_ne!(generate(&r, &options()).filings, generate(&r, &other).filings);
    }

    #[test]
    fn every_generated_record_is_valid_and_covers_the_province() {
        let r = builtin_reference();
        let files = generate(&r, &options());
        let records = crate::util::csv::read_all(files.filings.as_bytes());
        let mut districts = std::collections::HashSet::new();
        let mut communes = std::collections::HashSet::new();
        let (mut commune_only, mut both) = (0, 0);
        let mut periods = std::collections::HashSet::new();
        let (mut total, mut ecom) = (0f64, 0f64);
        for i in 1..records.len() {
            let f = |k| std::str::from_utf8(records.field(i, k).unwrap()).unwrap();
            assert!(is_valid_unit_id(f(0)), "{}", f(0));
            let month = Period::parse(f(3)).unwrap();
            // Both sides of the 2025 reform: districts in force before,
            // communes (with their former district or none) from 2025-07.
            if month < crate::domain::reference::REFORM {
                assert_eq!(f(9), "");
                assert_eq!(r.district_in_force(f(1), month), Ok(()), "{} in {month}", f(1));
                districts.insert(f(1).to_string());
            } else {
                let commune = r
                    .commune(f(9))
                    .unwrap_or_else(|| panic!("commune {:?} in {month}", f(9)));
                match f(1) {
                    "" => commune_only += 1,
                    d => {
                        assert_eq!(d, commune.district_code);
                        both += 1;
                    }
                }
                communes.insert(f(9).to_string());
            }
            assert!(r.vsic(f(2)).is_some());
            let (t, e): (i64, i64) = (f(4).parse().unwrap(), f(5).parse().unwrap());
            assert!(0 <= e && e <= t);
            districts.insert(f(1).to_string());
            periods.insert(f(3).to_string());
            total += t as f64;
            ecom += e as f64;
        }
        assert!(districts.len() >= 26, "{}", districts.len());
        assert!(communes.len() >= 100, "{}", communes.len());
        assert!(commune_only > both && both > 0, "{commune_only} {both}");
        assert_eq!(periods.len(), 36);
        let share = ecom / total;
        assert!((0.04..0.11).contains(&share), "province share {share}");
        assert!(files.revisions.lines().count() > 10);
    }
}
