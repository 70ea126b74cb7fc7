//! The validation rules applied column by column.
//!
//! Each rule is one pass over one or two columns, touching only the records
//! that no earlier rule rejected, so a record carries the first rule it fails
//! in the contractual order of `RejectReason`.

use super::{
    COLUMNS, COMMUNE_CODE, DISTRICT_CODE, ECOMMERCE, FileContext, PERIOD, REQUIRED, Rejection, SECTOR_CODE,
    SUBMITTED_AT, TOTAL, UNIT_ID, UNIT_NAME, WEIGHT,
};
use crate::domain::amount::WEIGHT_ONE;
use crate::domain::provenance::{key_hash_with_commune, row_id};
use crate::domain::reference::NotInForce;
use crate::domain::rules::{self, FieldError};
use crate::domain::unit_id::is_valid_unit_id;
use crate::domain::{Period, RejectReason};
use polars::prelude::*;

/// Per-record outcome of one chunk, plus the typed values of accepted records.
pub struct Checked {
    reason: Vec<Option<RejectReason>>,
    message: Vec<Option<String>>,
    records: Vec<i64>,
    total: Vec<i64>,
    ecommerce: Vec<i64>,
    weight_micro: Vec<i64>,
    submitted_us: Vec<i64>,
    /// The district of a filing that names its commune: the commune's
    /// former district (`None`: the district_code as given).
    derived_district: Vec<Option<String>>,
}

impl Checked {
    fn reject(&mut self, i: usize, reason: RejectReason, message: String) {
        self.reason[i] = Some(reason);
        self.message[i] = Some(message);
    }

    fn open(&self, i: usize) -> bool {
        self.reason[i].is_none()
    }

    /// One rule over one column: rejects every open record whose value fails `ok`.
    fn check(
        &mut self,
        values: &StringChunked,
        reason: RejectReason,
        ok: impl Fn(&str) -> bool,
        message: impl Fn(&str) -> String,
    ) {
        for (i, v) in values.iter().enumerate() {
            let v = v.unwrap_or_default();
            if self.open(i) && !ok(v) {
                self.reject(i, reason, message(v));
            }
        }
    }

    pub fn rejections(&self) -> impl Iterator<Item = Rejection> + '_ {
        self.reason.iter().enumerate().filter_map(|(i, r)| {
            r.map(|reason| Rejection {
                record: self.records[i] as u64,
                reason,
                message: self.message[i].clone().unwrap_or_default(),
            })
        })
    }

    /// Splits the raw chunk into the accepted filings (typed, with their
    /// provenance) and the rejected records (as given, with reason and message).
    pub fn split(&self, raw: &DataFrame, file: &str, ctx: &FileContext<'_>) -> PolarsResult<(DataFrame, DataFrame)> {
        let n = raw.height();
        let ok = BooleanChunked::from_iter_values("ok".into(), self.reason.iter().map(Option::is_none));
        let raw_col = |name: &str| -> PolarsResult<Column> { Ok(raw.column(name)?.clone()) };
        let given = raw.column(DISTRICT_CODE)?.str()?;
        let district: StringChunked = given
            .iter()
            .zip(&self.derived_district)
            .map(|(g, d)| d.as_deref().or(g))
            .collect();
        let district = district.with_name(DISTRICT_CODE.into());
        let commune: StringChunked = raw
            .column(COMMUNE_CODE)?
            .str()?
            .iter()
            .map(|c| c.filter(|c| !c.is_empty()))
            .collect();
        let commune = commune.with_name(COMMUNE_CODE.into());
        let key_hash = key_hashes(raw, &district, &commune)?;
        let typed = DataFrame::new(
            n,
            vec![
                raw_col(UNIT_ID)?,
                district.into_column(),
                raw_col(SECTOR_CODE)?.with_name("vsic_code".into()),
                raw_col(PERIOD)?,
                Int64Chunked::from_vec(TOTAL.into(), self.total.clone()).into_column(),
                Int64Chunked::from_vec(ECOMMERCE.into(), self.ecommerce.clone()).into_column(),
                Int64Chunked::from_vec("weight_micro".into(), self.weight_micro.clone()).into_column(),
                Int64Chunked::from_vec("submitted_at_us".into(), self.submitted_us.clone()).into_column(),
                raw_col(UNIT_NAME)?,
                Int64Chunked::full("batch_seq".into(), ctx.batch_seq as i64, n).into_column(),
                Int32Chunked::full("file_index".into(), ctx.file_index as i32, n).into_column(),
                raw_col("record")?,
                Int64Chunked::from_iter_values(
                    "row_id".into(),
                    self.records
                        .iter()
                        .map(|&r| row_id(ctx.batch_seq, ctx.file_index, r as u64)),
                )
                .into_column(),
                key_hash.into_column(),
                commune.into_column(),
            ],
        )?;
        let accepted = typed.filter(&ok)?;

        let mut rejected_cols = vec![
            StringChunked::full("file".into(), file, n).into_column(),
            raw_col("record")?,
            StringChunked::from_iter_options("reason".into(), self.reason.iter().map(|r| r.map(|r| r.code())))
                .into_column(),
            StringChunked::from_iter_options("message".into(), self.message.iter().map(|m| m.as_deref())).into_column(),
            Int64Chunked::full("batch_seq".into(), ctx.batch_seq as i64, n).into_column(),
        ];
        for c in COLUMNS {
            rejected_cols.push(raw_col(c)?);
        }
        let rejected = DataFrame::new(n, rejected_cols)?.filter(&!&ok)?;
        Ok((accepted, rejected))
    }
}

/// The text column `name` of a chunk.
fn col<'a>(raw: &'a DataFrame, name: &str) -> PolarsResult<&'a StringChunked> {
    raw.column(name)?.str()
}

/// The key hash of every record (rejected ones included; they are filtered
/// out), over its district as derived and its commune.
fn key_hashes(raw: &DataFrame, district: &StringChunked, commune: &StringChunked) -> PolarsResult<Int64Chunked> {
    let (u, s, p) = (col(raw, UNIT_ID)?, col(raw, SECTOR_CODE)?, col(raw, PERIOD)?);
    Ok(Int64Chunked::from_iter_values(
        "key_hash".into(),
        u.iter()
            .zip(district.iter())
            .zip(commune.iter())
            .zip(s.iter())
            .zip(p.iter())
            .map(|((((u, d), c), s), p)| {
                key_hash_with_commune(
                    u.unwrap_or_default(),
                    d.unwrap_or_default(),
                    c.unwrap_or_default(),
                    s.unwrap_or_default(),
                    p.unwrap_or_default(),
                )
            }),
    ))
}

/// Every rule, in the contractual order of `RejectReason`: a record
/// carries the first rule it fails.
pub fn validate(raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<Checked> {
    let n = raw.height();
    let mut c = Checked {
        reason: vec![None; n],
        message: vec![None; n],
        records: raw.column("record")?.i64()?.into_no_null_iter().collect(),
        total: vec![0; n],
        ecommerce: vec![0; n],
        weight_micro: vec![WEIGHT_ONE; n],
        submitted_us: vec![ctx.ingest_time_us; n],
        derived_district: vec![None; n],
    };
    malformed_rows(&mut c, raw)?;
    missing_fields(&mut c, raw)?;
    known_unit_and_district(&mut c, raw, ctx)?;
    codes_in_force(&mut c, raw, ctx)?;
    known_communes(&mut c, raw, ctx)?;
    known_sector(&mut c, raw, ctx)?;
    periods(&mut c, raw, ctx)?;
    amounts(&mut c, raw, ctx)?;
    weights(&mut c, raw, ctx)?;
    timestamps(&mut c, raw)?;
    ecommerce_within_total(&mut c);
    Ok(c)
}

/// malformed_row: what the reader could not split into fields.
fn malformed_rows(c: &mut Checked, raw: &DataFrame) -> PolarsResult<()> {
    for (i, m) in col(raw, "malformed")?.iter().enumerate() {
        if let Some(m) = m {
            c.reject(i, RejectReason::MalformedRow, m.to_string());
        }
    }
    Ok(())
}

/// missing_field: the required columns, in contract order; a filing
/// that names its commune may leave its district empty.
fn missing_fields(c: &mut Checked, raw: &DataFrame) -> PolarsResult<()> {
    let communes = col(raw, COMMUNE_CODE)?;
    let named_commune = |i: usize| communes.get(i).is_some_and(|c| !c.is_empty());
    for name in REQUIRED {
        for (i, v) in col(raw, name)?.iter().enumerate() {
            if c.open(i) && v.is_none_or(str::is_empty) && !(name == DISTRICT_CODE && named_commune(i)) {
                let hint = if name == DISTRICT_CODE {
                    " (or name the commune in commune_code, from 2025-07)"
                } else {
                    ""
                };
                c.reject(
                    i,
                    RejectReason::MissingField,
                    format!("required field {name} is empty{hint}"),
                );
            }
        }
    }
    Ok(())
}

/// invalid_unit_id, then unknown_district.
fn known_unit_and_district(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    c.check(col(raw, UNIT_ID)?, RejectReason::InvalidUnitId, is_valid_unit_id, |v| {
        format!(
            "unit_id {v:?} is not a valid tax code, dependent-unit code (tax code-001…999) or 12-digit personal identification number"
        )
    });
    c.check(
        col(raw, DISTRICT_CODE)?,
        RejectReason::UnknownDistrict,
        |v| v.is_empty() || ctx.reference.district(v).is_some(),
        |v| format!("district_code {v:?} is not in the district reference"),
    );
    Ok(())
}

/// code_not_in_force: a known code used for a month it is not in force
/// (a record whose period is not a month is left to invalid_period).
fn codes_in_force(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    let communes = col(raw, COMMUNE_CODE)?;
    let districts = col(raw, DISTRICT_CODE)?;
    let months: Vec<Option<Period>> = col(raw, PERIOD)?.iter().map(|v| v.and_then(Period::parse)).collect();
    for (i, month) in months.iter().enumerate() {
        let (true, Some(month)) = (c.open(i), *month) else {
            continue;
        };
        let commune = communes.get(i).unwrap_or_default();
        let district = districts.get(i).unwrap_or_default();
        if !commune.is_empty() {
            if ctx.reference.commune(commune).is_some()
                && let Err(NotInForce::Before(from)) = ctx.reference.commune_in_force(month)
            {
                c.reject(
                    i,
                    RejectReason::CodeNotInForce,
                    format!(
                        "commune_code {commune:?} is in force from {from}; for {month} name the district (district_code) and leave commune_code empty"
                    ),
                );
            }
        } else if let Err(e) = ctx.reference.district_in_force(district, month) {
            let message = match e {
                NotInForce::Before(from) => {
                    format!("district_code {district:?} is in force from {from}, not in {month}")
                }
                NotInForce::After(until, Some(successor)) => {
                    let name = ctx
                        .reference
                        .district(&successor)
                        .map(|d| format!(" ({})", d.district_name))
                        .unwrap_or_default();
                    format!(
                        "district_code {district:?} is not in force in {month}: it was in force until {until}; its successor is {successor}{name}"
                    )
                }
                NotInForce::After(until, None) => format!(
                    "district_code {district:?} is not in force in {month}: districts were in force until {until}; from the 2025 reform on, name the commune (commune_code)"
                ),
            };
            c.reject(i, RejectReason::CodeNotInForce, message);
        }
    }
    Ok(())
}

/// unknown_commune: a commune not in the reference, or one whose former
/// district is not the district_code given with it. Known ones give the
/// filing its district.
fn known_communes(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    let (communes, districts) = (col(raw, COMMUNE_CODE)?, col(raw, DISTRICT_CODE)?);
    let n = raw.height();
    for i in 0..n {
        let commune = communes.get(i).unwrap_or_default();
        if !c.open(i) || commune.is_empty() {
            continue;
        }
        let district = districts.get(i).unwrap_or_default();
        match ctx.reference.commune(commune) {
            None => c.reject(
                i,
                RejectReason::UnknownCommune,
                format!("commune_code {commune:?} is not in the commune reference (the 166 units of 2025)"),
            ),
            Some(k) if !district.is_empty() && district != k.district_code => c.reject(
                i,
                RejectReason::UnknownCommune,
                format!(
                    "commune_code {commune:?} ({}) lies in former district {}, not in district_code {district:?}",
                    k.commune_name, k.district_code
                ),
            ),
            Some(k) => c.derived_district[i] = Some(k.district_code.clone()),
        }
    }
    Ok(())
}

/// unknown_sector: a VSIC code the reference does not have.
fn known_sector(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    c.check(
        col(raw, SECTOR_CODE)?,
        RejectReason::UnknownSector,
        |v| ctx.reference.vsic(v).is_some(),
        |v| format!("sector_code {v:?} is not a VSIC code in the reference"),
    );
    Ok(())
}

/// invalid_period, then future_period.
fn periods(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    let n = raw.height();
    let mut periods: Vec<Option<Period>> = vec![None; n];
    for (i, v) in col(raw, PERIOD)?.iter().enumerate() {
        let v = v.unwrap_or_default();
        if !c.open(i) {
            continue;
        }
        match Period::parse(v) {
            Some(p) => periods[i] = Some(p),
            None => c.reject(
                i,
                RejectReason::InvalidPeriod,
                format!("period {v:?} is not a month written YYYY-MM"),
            ),
        }
    }
    for (i, period) in periods.iter().enumerate() {
        if let (true, Some(p)) = (c.open(i), *period)
            && rules::is_future(p, ctx.current_month)
        {
            c.reject(
                i,
                RejectReason::FuturePeriod,
                format!("period {p} is after the current month {}", ctx.current_month),
            );
        }
    }
    Ok(())
}

/// invalid_amount, negative_amount, amount_out_of_range: every amount
/// rule over both columns before the next rule.
fn amounts(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    let totals = col(raw, TOTAL)?;
    let ecoms = col(raw, ECOMMERCE)?;
    let mut parsed: Vec<[Result<i64, FieldError>; 2]> = totals
        .iter()
        .zip(ecoms.iter())
        .map(|(t, e)| {
            [
                rules::parse_amount_in(t.unwrap_or_default(), ctx.numbers),
                rules::parse_amount_in(e.unwrap_or_default(), ctx.numbers),
            ]
        })
        .collect();
    for (error, reason, what) in [
        (
            FieldError::Invalid,
            RejectReason::InvalidAmount,
            "is not a whole number of đồng written with digits only",
        ),
        (FieldError::Negative, RejectReason::NegativeAmount, "is negative"),
        (
            FieldError::OutOfRange,
            RejectReason::AmountOutOfRange,
            "exceeds 10^15 VND",
        ),
    ] {
        for (i, pair) in parsed.iter().enumerate() {
            if !c.open(i) {
                continue;
            }
            for (k, (name, value)) in [(TOTAL, totals.get(i)), (ECOMMERCE, ecoms.get(i))]
                .into_iter()
                .enumerate()
            {
                if pair[k] == Err(error) {
                    c.reject(i, reason, format!("{name} {:?} {what}", value.unwrap_or_default()));
                    break;
                }
            }
        }
    }
    for (i, pair) in parsed.iter_mut().enumerate() {
        if let [Ok(t), Ok(e)] = *pair {
            c.total[i] = t;
            c.ecommerce[i] = e;
        }
    }
    Ok(())
}

/// invalid_weight (empty means 1).
fn weights(c: &mut Checked, raw: &DataFrame, ctx: &FileContext<'_>) -> PolarsResult<()> {
    for (i, v) in col(raw, WEIGHT)?.iter().enumerate() {
        match v {
            Some(v) if !v.is_empty() && c.open(i) => match rules::parse_weight_in(v, ctx.numbers) {
                Ok(w) => c.weight_micro[i] = w,
                Err(_) => c.reject(
                    i,
                    RejectReason::InvalidWeight,
                    format!("weight {v:?} is not a decimal > 0 and ≤ 1000000 with at most 6 decimal places"),
                ),
            },
            _ => {}
        }
    }
    Ok(())
}

/// invalid_timestamp (empty means the time of ingest).
fn timestamps(c: &mut Checked, raw: &DataFrame) -> PolarsResult<()> {
    for (i, v) in col(raw, SUBMITTED_AT)?.iter().enumerate() {
        match v {
            Some(v) if !v.is_empty() && c.open(i) => match rules::parse_timestamp(v) {
                Some(us) => c.submitted_us[i] = us,
                None => c.reject(
                    i,
                    RejectReason::InvalidTimestamp,
                    format!("submitted_at {v:?} is not an RFC 3339 timestamp with an offset"),
                ),
            },
            _ => {}
        }
    }
    Ok(())
}

/// ecommerce_exceeds_total.
fn ecommerce_within_total(c: &mut Checked) {
    for i in 0..c.records.len() {
        if c.open(i) && c.ecommerce[i] > c.total[i] {
            let (e, t) = (c.ecommerce[i], c.total[i]);
            c.reject(
                i,
                RejectReason::EcommerceExceedsTotal,
                format!("ecommerce_revenue_vnd {e} exceeds total_revenue_vnd {t}"),
            );
        }
    }
}
