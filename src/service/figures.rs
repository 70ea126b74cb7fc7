//! The share request and response as plain data: what a caller asks
//! (`ShareParams`, for an `Audience`) and the figures it gets
//! (`ShareResponse`, `ShareRow`). The service fills them; the surfaces
//! (HTTP, pages, exports, reports) read them without the service itself.

use crate::domain::{Release, Response, Status};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who figures are for: the full figures (admins, the command line) or the
/// figures protected by disclosure control (every other role, the public
/// dashboard, the reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Audience {
    #[default]
    Full,
    Protected,
}

/// Raw share-query parameters, as given on the command line or in a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ShareParams {
    /// Set by the caller's role, never from a request's parameters.
    pub audience: Audience,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub district: Option<String>,
    pub sector: Option<String>,
    pub vsic: Option<String>,
    /// A dataset version to answer as of, instead of the current one.
    pub as_of: Option<String>,
    /// When the months' release states are judged: `None`, now (the app's
    /// clock). Set by the caller, never from a request's parameters: the
    /// monthly report judges at its dataset version's commit time, so that
    /// one version always gives the same report.
    pub judged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShareResponse {
    pub from: String,
    pub to: String,
    pub by: Vec<&'static str>,
    pub dataset_version: u64,
    /// The province target governing the `to` year: its `low` ("at least").
    pub target: Option<f64>,
    /// The programme of `target` (`2326/QĐ-TTg`; `legacy` for the former
    /// three-column table); `None` without a target.
    pub target_program: Option<String>,
    /// Every programme's province target for the `to` year, in the
    /// programmes' order in `targets.csv`.
    pub targets: Vec<TargetValue>,
    pub rows: Vec<ShareRow>,
    pub total: ShareRow,
    /// The first month of the commune level ("2025-07") when the range
    /// crosses it and the figures are by district: from that month a
    /// district's figures are its former area's (the communes whose former
    /// district it is, by the majority rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_break: Option<&'static str>,
}

/// A programme's target for a year and scope: a point target, or the
/// year's value on a horizon's path.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetValue {
    pub program: String,
    pub low: f64,
    /// `None`: at least `low`.
    pub high: Option<f64>,
    /// `point` or `path`.
    pub kind: crate::domain::ValueKind,
}

impl From<crate::domain::Target> for TargetValue {
    /// The domain's exact values as the API lists them.
    fn from(t: crate::domain::Target) -> Self {
        Self {
            program: t.program,
            low: t.low.value(),
            high: t.high.map(|h| h.value()),
            kind: t.kind,
        }
    }
}

/// A row of figures. A row withheld by disclosure control has
/// `suppressed: true`, its figures emptied here and written as nulls.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    /// Key and name fields of the row's dimensions (absent for the others).
    pub keys: BTreeMap<&'static str, Option<String>>,
    /// Σ weight × total revenue, exact, in VND.
    pub total_revenue_vnd: String,
    /// Σ weight × e-commerce revenue, exact, in VND.
    pub ecommerce_revenue_vnd: String,
    pub share: Option<f64>,
    /// The governing target of the row's scope (its district's or
    /// commune's own rows first, then the province's): its `low`.
    pub target: Option<f64>,
    /// The programme of `target`.
    pub target_program: Option<Arc<str>>,
    /// Every programme's target for the row's scope (shared between rows
    /// of one scope).
    pub targets: Arc<[TargetValue]>,
    pub gap_pp: Option<f64>,
    /// E-commerce revenue still needed for the share to reach the target at
    /// the current total: max(0, target × total − e-commerce), exact, in VND;
    /// null without a target.
    pub ecommerce_needed_vnd: Option<String>,
    pub status: Status,
    pub filings: u64,
    pub units: u64,
    pub suppressed: bool,
    /// How final the row's months are: its weakest month's release.
    pub release: Release,
    /// The units expected to file for the row's months and those of them
    /// that did (see `domain::release`); written as `response_rate`.
    pub response: Response,
}

impl ShareRow {
    /// Withholds the row's figures (its keys and targets stay).
    pub(super) fn suppress(&mut self) {
        self.total_revenue_vnd.clear();
        self.ecommerce_revenue_vnd.clear();
        self.share = None;
        self.gap_pp = None;
        self.ecommerce_needed_vnd = None;
        self.status = Status::Suppressed;
        self.filings = 0;
        self.units = 0;
        self.response = Response::default();
        self.suppressed = true;
    }

    /// Units responding over units expected; null when none is expected
    /// or the row is withheld.
    pub fn response_rate(&self) -> Option<f64> {
        if self.suppressed { None } else { self.response.rate() }
    }
}

impl Serialize for ShareRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.keys {
            m.serialize_entry(k, v)?;
        }
        let shown = !self.suppressed;
        m.serialize_entry("total_revenue_vnd", &shown.then_some(&self.total_revenue_vnd))?;
        m.serialize_entry("ecommerce_revenue_vnd", &shown.then_some(&self.ecommerce_revenue_vnd))?;
        m.serialize_entry("share", &self.share)?;
        m.serialize_entry("target", &self.target)?;
        m.serialize_entry("target_program", &self.target_program.as_deref())?;
        m.serialize_entry("targets", &*self.targets)?;
        m.serialize_entry("gap_pp", &self.gap_pp)?;
        m.serialize_entry("ecommerce_needed_vnd", &self.ecommerce_needed_vnd)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("filings", &shown.then_some(self.filings))?;
        m.serialize_entry("units", &shown.then_some(self.units))?;
        m.serialize_entry("suppressed", &self.suppressed)?;
        m.serialize_entry("release", &self.release)?;
        m.serialize_entry("response_rate", &self.response_rate())?;
        m.end()
    }
}

/// Raw outlook parameters, as given on the command line or in a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OutlookParams {
    /// Set by the caller's role, never from a request's parameters.
    pub audience: Audience,
    /// `YYYY`; default the year of the latest month with data.
    pub year: Option<String>,
    /// A district code (not with `commune`).
    pub district: Option<String>,
    /// A commune code (not with `district`).
    pub commune: Option<String>,
    /// A dataset version to answer as of, instead of the current one.
    pub as_of: Option<String>,
}

/// Whose outlook: the province's, a district's (its former area from the
/// 2025 reform on) or a commune's (from the reform on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutlookScope {
    Province,
    District {
        code: String,
        name: String,
        name_en: String,
    },
    Commune {
        code: String,
        name: String,
        /// Its former district, whose filings hold its figures.
        district: String,
    },
}

/// One programme's e-commerce share target for one year of the path to
/// the latest horizon.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathValue {
    pub year: u16,
    pub program: String,
    pub low: f64,
    /// `None`: at least `low`.
    pub high: Option<f64>,
}

/// The year's outlook for a scope (`GET /api/v1/outlook`): the domain's
/// answer, the last month with data (`None`: the year has none), the
/// dataset version and every programme's path. Withheld by disclosure
/// control, its figures are emptied (`withhold`) and written as nulls; the
/// targets and the path stay.
#[derive(Debug, Clone, PartialEq)]
pub struct OutlookResponse {
    pub scope: OutlookScope,
    pub through: Option<u8>,
    pub dataset_version: u64,
    pub outlook: crate::domain::outlook::Outlook,
    pub path: Vec<PathValue>,
    pub suppressed: bool,
}

impl OutlookResponse {
    /// Withholds the figures (the year so far, the projection, the needed
    /// revenue, the indicators' values); status `suppressed`.
    pub fn withhold(&mut self) {
        use crate::domain::outlook::OutlookStatus;
        let o = &mut self.outlook;
        o.ytd.share = None;
        o.projection.share = None;
        o.projection.low = None;
        o.projection.high = None;
        o.status = OutlookStatus::Suppressed;
        o.needed_monthly_ecommerce_vnd = None;
        for i in &mut o.indicators {
            i.value = None;
            i.status = OutlookStatus::Suppressed;
        }
        self.suppressed = true;
    }
}

impl Serialize for OutlookResponse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let o = &self.outlook;
        let shown = !self.suppressed;
        /// The year so far, its amounts null when withheld.
        #[derive(Serialize)]
        struct Ytd {
            share: Option<f64>,
            total_revenue_vnd: Option<String>,
            ecommerce_revenue_vnd: Option<String>,
        }
        let ytd = Ytd {
            share: o.ytd.share,
            total_revenue_vnd: shown.then(|| o.ytd.total_revenue_vnd.to_string()),
            ecommerce_revenue_vnd: shown.then(|| o.ytd.ecommerce_revenue_vnd.to_string()),
        };
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("year", &o.year)?;
        m.serialize_entry("through", &self.through)?;
        m.serialize_entry("dataset_version", &self.dataset_version)?;
        m.serialize_entry("ytd", &ytd)?;
        m.serialize_entry("projection", &o.projection)?;
        m.serialize_entry("target", &o.target)?;
        m.serialize_entry("status", &o.status)?;
        m.serialize_entry(
            "needed_monthly_ecommerce_vnd",
            &o.needed_monthly_ecommerce_vnd.map(|v| v.to_string()),
        )?;
        m.serialize_entry("indicators", &o.indicators)?;
        m.serialize_entry("path", &self.path)?;
        m.end()
    }
}
