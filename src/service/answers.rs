//! The share use case, answering: a request's parameters checked against the
//! reference, the slice's figures taken from the version's rollup (or its
//! filings), each row's target and standing, disclosure control for a
//! protected audience, and the answer kept once per version.

use super::figures::TargetValue;
use super::versions::{Loaded, MAX_CACHED_ANSWERS};
use super::{
    App, AppError, Audience, ShareParams, ShareResponse, ShareRow, disclose, list, month_in_vietnam, parse_as_of,
};
use crate::domain::{Cell, Dim, Figures, Indicator, Period, Reference, Slice, Target};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// A look-up in the cache of share answers, in the metrics.
fn count_answer(result: &'static str) {
    metrics::counter!("ecomshare_answer_cache_requests_total", "cache" => "share_answers", "result" => result)
        .increment(1);
}

impl App {
    /// Answers a share query: the figures of every group, the total, their
    /// targets and standing, of the latest version (or `as_of`).
    pub async fn share(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        Ok(self.share_with(params, true).await?.0)
    }

    /// [`App::share`] for a caller that takes one answer on its own (the
    /// share API): while another request loads the latest version, or
    /// computes this answer for it, the answer of the version before is
    /// given rather than waited for. Its `dataset_version` says which
    /// version it is. Never for `as_of`; never for callers that combine
    /// several answers (pages, charts, reports), which must agree.
    ///
    /// Also says whether the answer is the latest state's (dataset version
    /// and reference, as [`App::state_tag`] gave them when asked; always for
    /// `as_of`): only such an answer may be kept under that state's ETag.
    pub async fn share_without_waiting(
        self: &Arc<Self>,
        params: &ShareParams,
    ) -> Result<(ShareResponse, bool), AppError> {
        let answer = self.share_with(params, params.as_of.is_some()).await?;
        if !answer.1 && !self.readying.swap(true, std::sync::atomic::Ordering::AcqRel) {
            // A version not installed yet: ready it in the background.
            let app = self.clone();
            tokio::spawn(async move {
                if let Err(e) = app.publish_latest().await {
                    tracing::warn!(error = %e, "readying the latest version failed");
                }
                app.readying.store(false, std::sync::atomic::Ordering::Release);
            });
        }
        Ok(answer)
    }

    async fn share_with(&self, params: &ShareParams, wait: bool) -> Result<(ShareResponse, bool), AppError> {
        let (loaded, latest) = match parse_as_of(params.as_of.as_deref())? {
            None => self.load_with(wait).await?,
            as_of => (self.load_at(as_of).await?, true),
        };
        let now = params.judged_at.unwrap_or_else(|| self.now());
        let key = (params.clone(), self.time_tag_at(now).epoch);
        let cell = {
            let mut answers = loaded.answers.lock().expect("answers lock");
            if answers.len() >= MAX_CACHED_ANSWERS && !answers.contains_key(&key) {
                answers.clear();
            }
            answers.entry(key.clone()).or_default().clone()
        };
        if let Some(response) = cell.value.get() {
            count_answer("hit");
            return Ok((ShareResponse::clone(response), latest));
        }
        let first = !cell.started.swap(true, std::sync::atomic::Ordering::AcqRel);
        if !first
            && !wait
            && let Some(response) = self.previous_answer(&loaded, &key)
        {
            // Another request computes this answer for a new version:
            // meanwhile the version before answers (its figures say which
            // version they are), rather than keep this request waiting.
            count_answer("hit");
            return Ok((response, false));
        }
        count_answer("miss");
        let response = cell
            .value
            .get_or_try_init(|| async { self.compute_share(params, &loaded, false).await.map(Arc::new) })
            .await;
        match response {
            Ok(response) => Ok((ShareResponse::clone(response), latest)),
            Err(e) => {
                cell.started.store(false, std::sync::atomic::Ordering::Release);
                Err(e)
            }
        }
    }

    /// `share` without the per-version cache of answers: always runs the
    /// engine (benchmarks of the query itself use it).
    pub async fn share_uncached(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_share(params, &loaded, false).await
    }

    /// `share_uncached` from a scan of the raw filings, bypassing the
    /// version's rollup: tests and benchmarks compare the two paths.
    pub async fn share_from_filings(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_share(params, &loaded, true).await
    }

    /// Whether the current version has a rollup.
    pub async fn has_rollup(&self) -> Result<bool, AppError> {
        Ok(self.load().await?.snapshot.has_rollup())
    }

    /// The answer for `key` of the version loaded before `current`, if it
    /// was computed and is of another dataset version (an answer of the
    /// same version under the reference before would not say so).
    fn previous_answer(&self, current: &Loaded, key: &super::versions::AnswerKey) -> Option<ShareResponse> {
        let previous = self.previous.lock().expect("cache lock").clone()?;
        if previous.tag.dataset_version == current.tag.dataset_version {
            return None;
        }
        let answers = previous.answers.lock().expect("answers lock");
        answers
            .get(key)
            .and_then(|c| c.value.get())
            .map(|r| ShareResponse::clone(r))
    }

    pub(super) async fn compute_share(
        &self,
        params: &ShareParams,
        loaded: &Loaded,
        raw: bool,
    ) -> Result<ShareResponse, AppError> {
        self.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reference = &loaded.reference;
        let slice = self.resolve(params, loaded).await?;
        let crate::engine::Breakdown {
            cells,
            total: total_cell,
        } = if raw {
            loaded.snapshot.breakdown_raw(&slice).await?
        } else {
            loaded.snapshot.breakdown(&slice).await?
        };
        let mut responses = if raw {
            loaded.snapshot.responses_raw(&slice).await?
        } else {
            loaded.snapshot.responses(&slice).await?
        };
        let now = params.judged_at.unwrap_or_else(|| self.now());
        let policy = self.options.release;
        let release = |keys: &[Option<String>]| {
            let (from, to) = crate::domain::release::row_months(&slice.by, keys, slice.from, slice.to);
            policy.range_release(from, to, now)
        };
        let to_year = slice.to.year();
        let single_district = (slice.districts.len() == 1).then(|| slice.districts[0].as_str());
        let district_pos = slice.by.iter().position(|d| *d == Dim::District);
        let commune_pos = slice.by.iter().position(|d| *d == Dim::Commune);
        let cells = match district_pos {
            Some(pos) => fill_districts(cells, pos, slice.by.len(), reference, &slice),
            None => cells,
        };
        // One look-up per scope: a commune's own rows, then its district's
        // (by district, or the one district filtered), then the province's.
        let mut targets = HashMap::new();
        let rows = cells
            .iter()
            .map(|cell| {
                let key = |pos: Option<usize>| pos.and_then(|p| cell.keys[p].as_deref());
                let district = key(district_pos).or(single_district);
                let target = RowTarget::cached(&mut targets, reference, to_year, key(commune_pos), district);
                let mut row = share_row(&slice.by, &cell.keys, &cell.figures, &target, reference);
                row.release = release(&cell.keys);
                row.response = responses.rows.remove(&cell.keys).unwrap_or_default();
                row
            })
            .collect();
        let total_target = RowTarget::cached(&mut targets, reference, to_year, None, single_district);
        let mut total = share_row(&[], &[], &total_cell, &total_target, reference);
        total.release = release(&[]);
        total.response = responses.total;
        let province = RowTarget::of(reference, to_year, &[]);
        let mut response = ShareResponse {
            from: slice.from.to_string(),
            to: slice.to.to_string(),
            by: slice.by.iter().map(|d| d.name()).collect(),
            dataset_version: loaded.tag.dataset_version,
            target: province.governing.as_ref().map(|t| t.share()),
            target_program: province.program.as_deref().map(str::to_string),
            targets: province.all.to_vec(),
            rows,
            total,
            series_break: crosses_reform(&slice).then_some(crate::domain::reference::REFORM_TEXT),
        };
        if params.audience == Audience::Protected {
            let dims = disclose::totals_dims(&slice.by);
            let counted = Slice {
                by: dims.clone(),
                ..slice.clone()
            };
            let rule = &self.options.disclosure;
            let decided = self.options.kept_contributions
                && disclose::protect(
                    &mut response,
                    &slice.by,
                    &dims,
                    &self.kept_parts(loaded, &counted).await?,
                    rule,
                );
            if !decided {
                let exact = self.exact_parts(loaded, &counted).await?;
                disclose::protect(&mut response, &slice.by, &dims, &exact, rule);
            }
        }
        Ok(response)
    }

    pub(super) async fn resolve(&self, p: &ShareParams, loaded: &Loaded) -> Result<Slice, AppError> {
        let reference = &loaded.reference;
        let period = |name: &str, v: &Option<String>| -> Result<Option<Period>, AppError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => Period::parse(s).map(Some).ok_or_else(|| {
                    AppError::bad("invalid_period", format!("{name}={s:?} is not a month written YYYY-MM"))
                }),
            }
        };
        let from = period("from", &p.from)?;
        let to = period("to", &p.to)?;
        let latest = match to {
            Some(t) => t,
            None => match loaded.snapshot.period_range().await? {
                Some((_, hi)) => hi,
                None => month_in_vietnam(self.now()),
            },
        };
        let to = to.unwrap_or(latest);
        let from = match from {
            Some(f) => f,
            None => to.add_months(-11).unwrap_or(to),
        };
        if from > to {
            return Err(AppError::bad("invalid_range", format!("from={from} is after to={to}")));
        }
        let mut by = Vec::new();
        for name in list(&p.by) {
            let dim = Dim::parse(&name).ok_or_else(|| {
                AppError::bad(
                    "invalid_dimension",
                    format!(
                        "by={name:?} is not a dimension; use a comma list of {}",
                        Dim::ALL.map(|d| d.name()).join(", ")
                    ),
                )
            })?;
            if !by.contains(&dim) {
                by.push(dim);
            }
        }
        let codes = |values: Vec<String>, known: &dyn Fn(&str) -> bool, code: &'static str, what: &str| match values
            .iter()
            .find(|v| !known(v))
        {
            Some(bad) => Err(AppError::bad(code, format!("{bad:?} is not a known {what}"))),
            None => Ok(values),
        };
        if by.contains(&Dim::Commune) && from < crate::domain::reference::REFORM {
            return Err(AppError::bad(
                "invalid_range",
                format!(
                    "by=commune needs from={} or later: communes replaced districts on 1 July 2025 (from={from})",
                    crate::domain::reference::REFORM
                ),
            ));
        }
        Ok(Slice {
            from,
            to,
            by,
            districts: codes(
                list(&p.district),
                &|c| reference.district(c).is_some(),
                "unknown_district",
                "district code",
            )?,
            sectors: codes(
                list(&p.sector),
                &|c| reference.sector(c).is_some(),
                "unknown_sector",
                "sector group code",
            )?,
            vsic: codes(
                list(&p.vsic),
                &|c| reference.vsic(c).is_some(),
                "unknown_vsic",
                "VSIC code",
            )?,
        })
    }
}

/// Whether a slice's figures are by district (broken down or filtered)
/// over months on both sides of the 2025 reform.
fn crosses_reform(slice: &Slice) -> bool {
    let reform = crate::domain::reference::REFORM;
    slice.from < reform && slice.to >= reform && (slice.by.contains(&Dim::District) || !slice.districts.is_empty())
}

/// Adds a no-data cell for every district (of the filter, or of the
/// reference: those whose area existed in the slice's months) missing from
/// each combination of the other keys.
fn fill_districts(cells: Vec<Cell>, pos: usize, width: usize, reference: &Reference, slice: &Slice) -> Vec<Cell> {
    let districts: Vec<&str> = if slice.districts.is_empty() {
        reference
            .districts
            .iter()
            .filter(|d| reference.district_area_in(&d.district_code, slice.from, slice.to))
            .map(|d| d.district_code.as_str())
            .collect()
    } else {
        slice.districts.iter().map(String::as_str).collect()
    };
    let others = |keys: &[Option<String>]| -> Vec<Option<String>> {
        keys.iter()
            .enumerate()
            .filter(|(i, _)| *i != pos)
            .map(|(_, k)| k.clone())
            .collect()
    };
    let mut combos: BTreeSet<Vec<Option<String>>> = cells.iter().map(|c| others(&c.keys)).collect();
    if width == 1 {
        combos.insert(Vec::new());
    }
    let present: HashSet<Vec<Option<String>>> = cells.iter().map(|c| c.keys.clone()).collect();
    let mut out = cells;
    for combo in &combos {
        for d in &districts {
            let mut keys = combo.clone();
            keys.insert(pos, Some(d.to_string()));
            if !present.contains(&keys) {
                out.push(Cell {
                    keys,
                    figures: Figures::default(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.keys.cmp(&b.keys));
    out
}

/// A scope's targets for a year: the governing one and every programme's.
#[derive(Clone)]
struct RowTarget {
    governing: Option<Target>,
    program: Option<Arc<str>>,
    all: Arc<[TargetValue]>,
}

impl RowTarget {
    /// The targets of a commune's and district's scope, looked up once per
    /// answer in `cache`.
    fn cached<'a>(
        cache: &mut HashMap<(Option<&'a str>, Option<&'a str>), RowTarget>,
        reference: &Reference,
        year: u16,
        commune: Option<&'a str>,
        district: Option<&'a str>,
    ) -> Self {
        cache
            .entry((commune, district))
            .or_insert_with(|| {
                let scopes: Vec<&str> = commune.into_iter().chain(district).collect();
                Self::of(reference, year, &scopes)
            })
            .clone()
    }

    /// `scopes`: most specific first; the province's rows come after them.
    fn of(reference: &Reference, year: u16, scopes: &[&str]) -> Self {
        let targets = &reference.targets;
        let governing = targets.governing(Indicator::EcommerceShare, year, scopes);
        let all = targets
            .all(Indicator::EcommerceShare, year, scopes)
            .into_iter()
            .map(TargetValue::from)
            .collect();
        Self {
            program: governing.as_ref().map(|t| Arc::from(t.program.as_str())),
            governing,
            all,
        }
    }
}

fn share_row(by: &[Dim], keys: &[Option<String>], f: &Figures, t: &RowTarget, reference: &Reference) -> ShareRow {
    let target = t.governing.as_ref();
    let mut map = BTreeMap::new();
    for (dim, key) in by.iter().zip(keys) {
        map.insert(dim.key_field(), key.clone());
        if let Some(name_field) = dim.name_field() {
            let name = key.as_deref().and_then(|k| match dim {
                Dim::District => reference.district(k).map(|d| d.district_name.clone()),
                Dim::Commune => reference.commune(k).map(|c| c.commune_name.clone()),
                Dim::Sector => reference.sector(k).map(|s| s.group_name.clone()),
                Dim::Vsic => reference.vsic(k).map(|v| v.vsic_name.clone()),
                _ => None,
            });
            map.insert(name_field, name);
        }
    }
    ShareRow {
        keys: map,
        total_revenue_vnd: f.total.to_string(),
        ecommerce_revenue_vnd: f.ecommerce.to_string(),
        share: f.share(),
        target: target.map(|t| t.share()),
        target_program: t.program.clone(),
        targets: t.all.clone(),
        gap_pp: f.gap_pp(target),
        ecommerce_needed_vnd: f.ecommerce_needed(target).map(|v| v.to_string()),
        status: f.status(target),
        filings: f.filings,
        units: f.units,
        suppressed: false,
        release: crate::domain::Release::Final,
        response: crate::domain::Response::default(),
    }
}
