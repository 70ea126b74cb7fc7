//! The projection on synthetic province-years with known seasonality and
//! growth: does the 80 % interval cover the realised share about 80 % of
//! the time, and does the projection beat "no change" (the full year's
//! share = the share so far)?
//!
//! Each province has its own scale (a commune's to a province's), its own
//! growth of total revenue (5–12 % a year) and a faster one of e-commerce
//! (15–30 %), each year drawn around it; twelve monthly factors for each
//! series (e-commerce peaks with the November and December sales), Tết's
//! spike split between January and February at random each year (smaller
//! for e-commerce), and multiplicative monthly noise (3 % and 5 %). A
//! seeded xorshift: the same figures on every run.

use super::*;

/// xorshift64* (Vigna), seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform(); // (0, 1]
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Monthly factors; January and February carry the Tết spike on top.
const SEASON_TOTAL: [f64; 12] = [0.9, 0.9, 0.92, 0.93, 0.96, 0.97, 0.98, 0.99, 1.0, 1.02, 1.05, 1.18];
const SEASON_ECOMMERCE: [f64; 12] = [0.95, 0.95, 0.9, 0.92, 0.95, 1.08, 0.95, 0.97, 1.02, 1.05, 1.22, 1.3];
const TET_TOTAL: f64 = 0.5;
const TET_ECOMMERCE: f64 = 0.2;

/// One province's `years` years of (total, e-commerce) in đồng by month.
fn province(rng: &mut Rng, years: usize) -> Vec<[(i64, i64); 12]> {
    let scale = 10f64.powf(rng.between(9.0, 13.0));
    let growth_total = rng.between(0.05, 0.12);
    let growth_ecommerce = rng.between(0.15, 0.30);
    let (mut level_total, mut level_ecommerce) = (0.0, rng.between(0.03, 0.10).ln());
    (0..years)
        .map(|_| {
            let rt = growth_total + 0.02 * rng.normal();
            let re = growth_ecommerce + 0.04 * rng.normal();
            let in_january = rng.uniform();
            let mut months = [(0, 0); 12];
            for (m, out) in months.iter_mut().enumerate() {
                let (mut st, mut se) = (SEASON_TOTAL[m], SEASON_ECOMMERCE[m]);
                let tet = match m {
                    0 => in_january,
                    1 => 1.0 - in_january,
                    _ => 0.0,
                };
                st += TET_TOTAL * tet;
                se += TET_ECOMMERCE * tet;
                let x = (m as f64 + 0.5) / 12.0;
                let total = scale * (level_total + rt * x + 0.03 * rng.normal()).exp() * st;
                let ecommerce = scale * (level_ecommerce + re * x + 0.05 * rng.normal()).exp() * se;
                *out = (total.round() as i64, ecommerce.round() as i64);
            }
            level_total += rt;
            level_ecommerce += re;
            months
        })
        .collect()
}

#[test]
fn the_interval_covers_about_eighty_percent_and_the_projection_beats_no_change() {
    const PROVINCES: usize = 300;
    const { assert!(PROVINCES >= 30, "at least 30 province-years") };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let target = super::tests::target(12, 100);
    let (mut cases, mut covered) = (0usize, 0usize);
    let (mut error, mut error_no_change) = (0.0, 0.0);
    let mut by_month = [(0usize, 0usize, 0.0f64); 12];
    for _ in 0..PROVINCES {
        let history = 5 + (rng.next() % 6) as usize; // 5–10 earlier years
        let years = province(&mut rng, history + 1);
        let first = 2030 - history as u16;
        let mut series = MonthlySeries::new();
        for (i, months) in years.iter().enumerate() {
            for (m, (t, e)) in months.iter().enumerate() {
                let p = Period::new(first + i as u16, m as u8 + 1).unwrap();
                series
                    .insert(p, WeightedVnd::of(*t, WEIGHT_ONE), WeightedVnd::of(*e, WEIGHT_ONE))
                    .unwrap();
            }
        }
        let this = &years[history];
        let sum = |months: &[(i64, i64)]| {
            months
                .iter()
                .fold((0i128, 0i128), |(t, e), m| (t + i128::from(m.0), e + i128::from(m.1)))
        };
        let (t, e) = sum(this);
        let realised = e as f64 / t as f64;
        for through in 1..=11u8 {
            let input = OutlookInput {
                series: &series,
                year: 2030,
                through,
                target: Some(&target),
                growth_target: None,
                communes: None,
                communes_target: None,
            };
            let o = outlook(&input).unwrap();
            let p = &o.projection;
            let expected_years = history - 1 - usize::from(through == 1);
            assert_eq!(p.backtest_years, expected_years, "every earlier year replays");
            let (share, low, high) = (p.share.unwrap(), p.low.unwrap(), p.high.unwrap());
            assert!(low <= share && share <= high);
            let hit = low <= realised && realised <= high;
            cases += 1;
            covered += usize::from(hit);
            let slot = &mut by_month[usize::from(through)];
            slot.0 += 1;
            slot.1 += usize::from(hit);
            slot.2 += (share - realised).abs();
            error += (share - realised).abs();
            error_no_change += (o.ytd.share.unwrap() - realised).abs();
        }
    }
    let coverage = covered as f64 / cases as f64;
    let (mae, mae_no_change) = (error / cases as f64, error_no_change / cases as f64);
    eprintln!(
        "outlook simulation: {PROVINCES} province-years, {cases} projections (through 1–11): \
         coverage of the 80 % interval {:.1} %; mean absolute error {:.3} pp, \
         no-change baseline {:.3} pp",
        coverage * 100.0,
        mae * 100.0,
        mae_no_change * 100.0
    );
    let per_month: Vec<String> = (1..=11)
        .map(|m| {
            let (n, hit, err) = by_month[m];
            format!(
                "{m}: {:.0} % / {:.2} pp",
                100.0 * hit as f64 / n as f64,
                100.0 * err / n as f64
            )
        })
        .collect();
    eprintln!(
        "coverage / mean absolute error by last month with data: {}",
        per_month.join(", ")
    );
    assert!((0.70..=0.90).contains(&coverage), "coverage {coverage}");
    assert!(mae < mae_no_change, "projection {mae} vs no change {mae_no_change}");
}
