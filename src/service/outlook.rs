//! The outlook use case (`GET /api/v1/outlook`, `ecomshare outlook`): a
//! year and a scope checked against the reference, the scope's monthly
//! series taken from the version's rollup (sums only, see
//! `Snapshot::month_sums`), the governing targets of the three indicators,
//! the communes selling online counted, `domain::outlook` asked, every
//! programme's path added, and disclosure control for a protected
//! audience. Computes no projection itself.
//!
//! - `through`: the last month of the year with an effective filing
//!   anywhere in the province (the same for every scope, so it says
//!   nothing of a scope). A month of the data's range without any filing
//!   is a month without data; a month with filings elsewhere but none in
//!   the scope is a zero of the scope's series. A commune's series starts
//!   at the 2025 reform.
//! - Communes selling online: over the months from January of the year (or
//!   2025-07, the first month of communes, if later) to `through`, the
//!   communes in force in `through` (of the district, for a district; the
//!   commune itself, for a commune) and, among them, those whose effective
//!   filings of those months hold e-commerce revenue above zero. Weights
//!   are positive and amounts never negative, so a commune's weighted
//!   e-commerce sum is above zero exactly when one of its effective filings
//!   has e-commerce revenue above zero: the rollup's sums count them
//!   exactly. Not given before 2025-07.
//! - Disclosure control: a protected audience gets the outlook only when
//!   the share API would show that audience the scope's total (a
//!   district's: as `district=CODE`; a commune's: its row of `by=commune`)
//!   for every range its figures are computed from — the year so far, the
//!   same months a year earlier, last year's twelve months, and at January
//!   the trailing twelve months before (a commune's ranges from 2025-07).
//!   Otherwise its figures are withheld (status `suppressed`, nulls), the
//!   share API's own code. The interval, one quantile of earlier years'
//!   relative errors, is not judged a disclosure of any one range.

use super::figures::{OutlookParams, OutlookResponse, OutlookScope, PathValue};
use super::versions::Loaded;
use super::{App, AppError, Audience, ShareParams, ShareResponse, month_in_vietnam, parse_as_of};
use crate::domain::outlook::{CommuneCounts, MonthlySeries, OutlookInput, outlook};
use crate::domain::reference::REFORM;
use crate::domain::targets::RowKind;
use crate::domain::{Indicator, Period, Reference, Targets, WeightedVnd};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

impl App {
    /// The year's outlook for a scope, of the latest version (or `as_of`).
    pub async fn outlook(&self, params: &OutlookParams) -> Result<OutlookResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_outlook(params, &loaded, false).await
    }

    /// `outlook` with the monthly sums from a scan of the raw filings,
    /// bypassing the version's rollup: tests compare the two paths.
    pub async fn outlook_from_filings(&self, params: &OutlookParams) -> Result<OutlookResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_outlook(params, &loaded, true).await
    }

    async fn compute_outlook(
        &self,
        params: &OutlookParams,
        loaded: &Arc<Loaded>,
        raw: bool,
    ) -> Result<OutlookResponse, AppError> {
        let reference = &loaded.reference;
        let scope = resolve_scope(params, reference)?;
        let range = loaded.snapshot.period_range().await?;
        let year = match params.year.as_deref().map(str::trim) {
            None | Some("") => range.map_or_else(|| month_in_vietnam(self.now()).year(), |(_, last)| last.year()),
            Some(y) => parse_year(y)?,
        };
        let sums = |from: Period, to: Period, districts: Vec<String>, by_commune: bool| {
            let snapshot = &loaded.snapshot;
            async move {
                if from > to {
                    return Ok(Vec::new());
                }
                Ok::<_, AppError>(if raw {
                    snapshot.month_sums_raw(from, to, &districts, by_commune).await?
                } else {
                    snapshot.month_sums(from, to, &districts, by_commune).await?
                })
            }
        };
        let december = Period::new(year, 12).ok_or_else(|| year_error(&year.to_string()))?;
        let january = Period::new(year, 1).ok_or_else(|| year_error(&year.to_string()))?;

        // The months with data: any effective filing in the province.
        let (covered, province) = match range {
            Some((first, last)) if first <= december => {
                let province = sums(first, last.min(december), Vec::new(), false).await?;
                let covered: BTreeSet<Period> = province.iter().map(|m| m.period).collect();
                (covered, province)
            }
            _ => (BTreeSet::new(), Vec::new()),
        };
        let through = covered.range(january..=december).next_back().map(|p| p.month());
        let mut series = MonthlySeries::new();
        let mut add = |period: Period, total: i128, ecommerce: i128| {
            series.insert(
                period,
                WeightedVnd::from_micro(total),
                WeightedVnd::from_micro(ecommerce),
            )
        };
        match &scope {
            OutlookScope::Province => {
                for m in &province {
                    add(m.period, m.total, m.ecommerce)?;
                }
            }
            OutlookScope::District { code, .. } => {
                let mine: HashMap<Period, (i128, i128)> = match covered.first().zip(covered.last()) {
                    Some((first, last)) => sums(*first, *last, vec![code.clone()], false)
                        .await?
                        .into_iter()
                        .map(|m| (m.period, (m.total, m.ecommerce)))
                        .collect(),
                    None => HashMap::new(),
                };
                for p in &covered {
                    let (t, e) = mine.get(p).copied().unwrap_or_default();
                    add(*p, t, e)?;
                }
            }
            OutlookScope::Commune { code, district, .. } => {
                let from_reform: Vec<Period> = covered.range(REFORM..).copied().collect();
                let mine: HashMap<Period, (i128, i128)> = match from_reform.first().zip(from_reform.last()) {
                    Some((first, last)) => sums(*first, *last, vec![district.clone()], true)
                        .await?
                        .into_iter()
                        .filter(|m| m.commune.as_deref() == Some(code.as_str()))
                        .map(|m| (m.period, (m.total, m.ecommerce)))
                        .collect(),
                    None => HashMap::new(),
                };
                for p in &from_reform {
                    let (t, e) = mine.get(p).copied().unwrap_or_default();
                    add(*p, t, e)?;
                }
            }
        }

        // Communes selling online, from January (or the reform) to `through`.
        let communes = match through.and_then(|t| Period::new(year, t)) {
            Some(last) if last >= REFORM => {
                let first = january.max(REFORM);
                let in_force: Vec<&str> = reference
                    .communes
                    .iter()
                    .filter(|c| Period::parse(&c.valid_from).is_none_or(|from| from <= last))
                    .filter(|c| match &scope {
                        OutlookScope::Province => true,
                        OutlookScope::District { code, .. } => c.district_code == *code,
                        OutlookScope::Commune { code, .. } => c.commune_code == *code,
                    })
                    .map(|c| c.commune_code.as_str())
                    .collect();
                let districts = match &scope {
                    OutlookScope::Province => Vec::new(),
                    OutlookScope::District { code, .. } => vec![code.clone()],
                    OutlookScope::Commune { district, .. } => vec![district.clone()],
                };
                let mut ecommerce: HashMap<String, i128> = HashMap::new();
                for m in sums(first, last, districts, true).await? {
                    if let Some(c) = m.commune {
                        *ecommerce.entry(c).or_default() += m.ecommerce;
                    }
                }
                let selling = in_force
                    .iter()
                    .filter(|c| ecommerce.get(**c).is_some_and(|e| *e > 0))
                    .count();
                Some(CommuneCounts {
                    selling: selling as u64,
                    in_force: in_force.len() as u64,
                })
            }
            _ => None,
        };

        let scopes = scope.target_scopes();
        let targets = &reference.targets;
        let share_target = targets.governing(Indicator::EcommerceShare, year, &scopes);
        let growth_target = targets.governing(Indicator::EcommerceGrowth, year, &scopes);
        let communes_target = targets.governing(Indicator::CommunesSellingOnline, year, &scopes);
        let mut answer = outlook(&OutlookInput {
            series: &series,
            year,
            // A year without data: its figures are zeros and nulls (status
            // `no_data`); the month asked for is immaterial.
            through: through.unwrap_or(1),
            target: share_target.as_ref(),
            growth_target: growth_target.as_ref(),
            communes,
            communes_target: communes_target.as_ref(),
        })?;
        if through.is_none() {
            answer.projection.backtest_years = 0;
        }
        let path = path(targets, year, &scopes);
        let mut response = OutlookResponse {
            scope,
            through,
            dataset_version: loaded.tag.dataset_version,
            outlook: answer,
            path,
            suppressed: false,
        };
        if params.audience == Audience::Protected
            && let Some(t) = through
            && self.withheld(loaded, params, &response.scope, year, t).await?
        {
            response.withhold();
        }
        Ok(response)
    }

    /// Whether the share API withholds the scope's total, for a protected
    /// audience, in one of the ranges the outlook's figures come from.
    async fn withheld(
        &self,
        loaded: &Arc<Loaded>,
        params: &OutlookParams,
        scope: &OutlookScope,
        year: u16,
        through: u8,
    ) -> Result<bool, AppError> {
        let month = |y: u16, m: u8| Period::new(y, m).ok_or_else(|| year_error(&y.to_string()));
        let mut ranges = vec![(month(year, 1)?, month(year, through)?)];
        if let Some(last) = year.checked_sub(1) {
            ranges.push((month(last, 1)?, month(last, through)?));
            ranges.push((month(last, 1)?, month(last, 12)?));
            if through == 1
                && let Some(before) = year.checked_sub(2)
            {
                ranges.push((month(before, 2)?, month(last, 1)?));
            }
        }
        for (from, to) in ranges {
            let share = |by: Option<&str>, district: Option<&str>, from: Period| ShareParams {
                audience: Audience::Protected,
                from: Some(from.to_string()),
                to: Some(to.to_string()),
                by: by.map(str::to_string),
                district: district.map(str::to_string),
                as_of: params.as_of.clone(),
                ..ShareParams::default()
            };
            let hidden = match scope {
                OutlookScope::Province => self.share_on(loaded, &share(None, None, from)).await?.total.suppressed,
                OutlookScope::District { code, .. } => {
                    self.share_on(loaded, &share(None, Some(code), from))
                        .await?
                        .total
                        .suppressed
                }
                OutlookScope::Commune { code, .. } => {
                    if to < REFORM {
                        continue;
                    }
                    let answer = self
                        .share_on(loaded, &share(Some("commune"), None, from.max(REFORM)))
                        .await?;
                    answer
                        .rows
                        .iter()
                        .find(|r| r.keys.get("commune_code").cloned().flatten().as_deref() == Some(code.as_str()))
                        .is_some_and(|r| r.suppressed)
                }
            };
            if hidden {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A share answer of `loaded`'s version, kept with the version's other
    /// answers (the same the share API gives and keeps).
    async fn share_on(&self, loaded: &Arc<Loaded>, params: &ShareParams) -> Result<Arc<ShareResponse>, AppError> {
        let now = params.judged_at.unwrap_or_else(|| self.now());
        let key = (params.clone(), self.time_tag_at(now).epoch);
        let cell = {
            let mut answers = loaded.answers.lock().expect("answers lock");
            if answers.len() >= super::versions::MAX_CACHED_ANSWERS && !answers.contains_key(&key) {
                answers.clear();
            }
            answers.entry(key).or_default().clone()
        };
        let response = cell
            .value
            .get_or_try_init(|| async { self.compute_share(params, loaded, false).await.map(Arc::new) })
            .await?;
        Ok(response.clone())
    }
}

impl OutlookScope {
    /// The target scopes, most specific first (the province's rows come
    /// after them): a commune's own, then its district's.
    fn target_scopes(&self) -> Vec<&str> {
        match self {
            OutlookScope::Province => Vec::new(),
            OutlookScope::District { code, .. } => vec![code.as_str()],
            OutlookScope::Commune { code, district, .. } => vec![code.as_str(), district.as_str()],
        }
    }
}

fn resolve_scope(p: &OutlookParams, reference: &Reference) -> Result<OutlookScope, AppError> {
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (given(&p.district), given(&p.commune)) {
        (Some(d), Some(c)) => Err(AppError::bad(
            "invalid_scope",
            format!("district={d:?} and commune={c:?}: give one scope, a district or a commune"),
        )),
        (Some(d), None) => {
            let district = reference
                .district(&d)
                .ok_or_else(|| AppError::bad("unknown_district", format!("{d:?} is not a known district code")))?;
            Ok(OutlookScope::District {
                code: d,
                name: district.district_name.clone(),
                name_en: district.name_en.clone(),
            })
        }
        (None, Some(c)) => {
            let commune = reference
                .commune(&c)
                .ok_or_else(|| AppError::bad("unknown_commune", format!("{c:?} is not a known commune code")))?;
            Ok(OutlookScope::Commune {
                code: c,
                name: commune.commune_name.clone(),
                district: commune.district_code.clone(),
            })
        }
        (None, None) => Ok(OutlookScope::Province),
    }
}

fn year_error(y: &str) -> AppError {
    AppError::bad("invalid_year", format!("year={y:?} is not a year written YYYY"))
}

/// A year written `YYYY`, from 0001.
fn parse_year(y: &str) -> Result<u16, AppError> {
    match y.parse::<u16>() {
        Ok(v) if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) && v > 0 => Ok(v),
        _ => Err(year_error(y)),
    }
}

/// Every programme's e-commerce share value for the scope, each year from
/// `year` to the latest horizon of the targets table (`year` alone when
/// no horizon comes later), in the programmes' order within a year.
fn path(targets: &Targets, year: u16, scopes: &[&str]) -> Vec<PathValue> {
    let horizon = targets
        .rows()
        .iter()
        .filter(|r| r.indicator == Indicator::EcommerceShare && r.kind == RowKind::Horizon)
        .map(|r| r.year)
        .max()
        .unwrap_or(year)
        .max(year);
    (year..=horizon)
        .flat_map(|y| {
            targets
                .all(Indicator::EcommerceShare, y, scopes)
                .into_iter()
                .map(move |t| PathValue {
                    year: y,
                    program: t.program,
                    low: t.low.value(),
                    high: t.high.map(|h| h.value()),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_four_digits() {
        assert_eq!(parse_year("2026").unwrap(), 2026);
        for bad in ["26", "20266", "2026a", "+202", "0000", " 2026", "-001"] {
            assert_eq!(parse_year(bad).unwrap_err().code(), "invalid_year", "{bad}");
        }
    }

    #[test]
    fn the_path_runs_from_the_year_to_the_latest_horizon() {
        let t = crate::store::builtin_reference().targets;
        let horizon = t
            .rows()
            .iter()
            .filter(|r| r.indicator == Indicator::EcommerceShare && r.kind == RowKind::Horizon)
            .map(|r| r.year)
            .max()
            .unwrap();
        let p = path(&t, 2026, &[]);
        let years: BTreeSet<u16> = p.iter().map(|v| v.year).collect();
        assert_eq!(years, (2026..=horizon).collect());
        for y in 2026..=horizon {
            let want: Vec<(String, f64, Option<f64>)> = t
                .all(Indicator::EcommerceShare, y, &[])
                .into_iter()
                .map(|v| (v.program, v.low.value(), v.high.map(|h| h.value())))
                .collect();
            assert!(!want.is_empty(), "{y}");
            let got: Vec<(String, f64, Option<f64>)> = p
                .iter()
                .filter(|v| v.year == y)
                .map(|v| (v.program.clone(), v.low, v.high))
                .collect();
            assert_eq!(got, want, "{y}");
        }
        // After the horizon: the year alone.
        let after = path(&t, horizon + 1, &[]);
        assert!(!after.is_empty() && after.iter().all(|v| v.year == horizon + 1));
    }
}
