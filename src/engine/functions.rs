//! SQL functions that hand the domain's rules to queries, so that a named
//! query or an analyst's SQL decides shares, targets and standing exactly as
//! the share API does — by calling the same code, not by restating it.
//!
//! Money arguments are `DECIMAL(38, 6)` đồng (the type of a sum of
//! `weighted_total_vnd`); their raw integers are micro-đồng, the domain's
//! `WeightedVnd`. A null amount counts as zero, a null district as the
//! province. The scope argument is a district or a commune code (its own
//! targets first, then the province's); the target is the governing one
//! (`domain::targets`: the configured priority, else the provincial
//! programme, else the newest national one), its `low` for met/below.

use crate::domain::{Figures, Reference, Target, WeightedVnd};
use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use std::sync::Arc;

/// Precision and scale of money in đồng with six decimals (micro-đồng units).
pub const MONEY: DataType = DataType::Decimal128(38, 6);

fn downcast<'a, T: 'static>(a: &'a ArrayRef, what: &str) -> Result<&'a T> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| DataFusionError::Internal(format!("expected {what}, got {}", a.data_type())))
}

/// `micro_to_decimal(BIGINT) → DECIMAL(18, 6)`: a micro-unit integer read as
/// the decimal it stands for (weight_micro 1500000 → 1.500000), exactly.
pub fn micro_to_decimal() -> ScalarUDF {
    create_udf(
        "micro_to_decimal",
        vec![DataType::Int64],
        DataType::Decimal128(18, 6),
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let ints = downcast::<Int64Array>(&arrays[0], "BIGINT")?;
            let out: Decimal128Array = ints.iter().map(|v| v.map(i128::from)).collect();
            Ok(ColumnarValue::Array(Arc::new(out.with_precision_and_scale(18, 6)?)))
        }),
    )
}

/// `share_of(ecommerce, total) → DOUBLE`: Σ e-commerce / Σ total, null when
/// the total is zero.
fn share_of() -> ScalarUDF {
    create_udf(
        "share_of",
        vec![MONEY, MONEY],
        DataType::Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let e = downcast::<Decimal128Array>(&arrays[0], "DECIMAL")?;
            let t = downcast::<Decimal128Array>(&arrays[1], "DECIMAL")?;
            let out: Float64Array = (0..e.len()).map(|i| figures(e, t, i).share()).collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    )
}

fn figures(e: &Decimal128Array, t: &Decimal128Array, i: usize) -> Figures {
    let v = |a: &Decimal128Array| WeightedVnd::from_micro(if a.is_null(i) { 0 } else { a.value(i) });
    Figures {
        total: v(t),
        ecommerce: v(e),
        filings: 0,
        units: 0,
    }
}

/// The governing target for row `i` of (year, scope) columns.
fn target_at(reference: &Reference, years: &Int64Array, districts: &StringArray, i: usize) -> Option<Target> {
    if years.is_null(i) {
        return None;
    }
    let year = u16::try_from(years.value(i)).ok()?;
    let district = (!districts.is_null(i)).then(|| districts.value(i));
    reference.target_for(year, district)
}

/// `name(year, scope)`: one value of the governing target per row.
fn of_target<I: 'static>(
    name: &str,
    returns: DataType,
    reference: Arc<Reference>,
    each: impl Fn(Option<Target>) -> I + Send + Sync + 'static,
    finish: impl Fn(Vec<I>) -> ArrayRef + Send + Sync + 'static,
) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int64, DataType::Utf8],
        returns,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let years = downcast::<Int64Array>(&arrays[0], "BIGINT")?;
            let districts = downcast::<StringArray>(&arrays[1], "VARCHAR")?;
            let items = (0..years.len())
                .map(|i| each(target_at(&reference, years, districts, i)))
                .collect();
            Ok(ColumnarValue::Array(finish(items)))
        }),
    )
}

/// The functions that depend on the target governing (year, scope):
/// `target_share` (its low), `target_high` (null: at least the low),
/// `target_program`, and `target_status`, `gap_pp`, `ecommerce_needed`.
fn target_functions(reference: Arc<Reference>) -> Vec<ScalarUDF> {
    let floats = |items: Vec<Option<f64>>| -> ArrayRef { Arc::new(Float64Array::from(items)) };
    let target_share = of_target(
        "target_share",
        DataType::Float64,
        reference.clone(),
        |t| t.map(|t| t.share()),
        floats,
    );
    let target_high = of_target(
        "target_high",
        DataType::Float64,
        reference.clone(),
        |t| t.and_then(|t| t.high).map(|h| h.value()),
        floats,
    );
    let target_program = of_target(
        "target_program",
        DataType::Utf8,
        reference.clone(),
        |t| t.map(|t| t.program),
        |items| Arc::new(StringArray::from(items)),
    );
    // (e-commerce, total, year, district) → one value per row.
    fn with_target<I: 'static>(
        name: &str,
        returns: DataType,
        reference: Arc<Reference>,
        each: impl Fn(&Figures, Option<&Target>) -> I + Send + Sync + 'static,
        finish: impl Fn(Vec<I>) -> Result<ArrayRef> + Send + Sync + 'static,
    ) -> ScalarUDF {
        create_udf(
            name,
            vec![MONEY, MONEY, DataType::Int64, DataType::Utf8],
            returns,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                let e = downcast::<Decimal128Array>(&arrays[0], "DECIMAL")?;
                let t = downcast::<Decimal128Array>(&arrays[1], "DECIMAL")?;
                let years = downcast::<Int64Array>(&arrays[2], "BIGINT")?;
                let districts = downcast::<StringArray>(&arrays[3], "VARCHAR")?;
                let items = (0..e.len())
                    .map(|i| each(&figures(e, t, i), target_at(&reference, years, districts, i).as_ref()))
                    .collect();
                Ok(ColumnarValue::Array(finish(items)?))
            }),
        )
    }
    vec![
        target_share,
        target_high,
        target_program,
        with_target(
            "target_status",
            DataType::Utf8,
            reference.clone(),
            |f, t| Some(f.status(t).code().to_string()),
            |items| Ok(Arc::new(StringArray::from(items))),
        ),
        with_target(
            "gap_pp",
            DataType::Float64,
            reference.clone(),
            |f, t| f.gap_pp(t),
            |items| Ok(Arc::new(Float64Array::from(items))),
        ),
        with_target(
            "ecommerce_needed",
            MONEY,
            reference,
            |f, t| f.ecommerce_needed(t).map(|v| v.micro()),
            |items| Ok(Arc::new(Decimal128Array::from(items).with_precision_and_scale(38, 6)?)),
        ),
    ]
}

/// Every function queries may call, bound to `reference`.
pub fn all(reference: Arc<Reference>) -> Vec<ScalarUDF> {
    let mut fns = vec![micro_to_decimal(), share_of()];
    fns.extend(target_functions(reference));
    fns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::builtin_reference;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn functions_decide_like_the_domain() {
        let ctx = SessionContext::new();
        for f in all(Arc::new(builtin_reference())) {
            ctx.register_udf(f);
        }
        let sql = "SELECT
            share_of(CAST(7 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6))) AS s,
            share_of(CAST(7 AS DECIMAL(38, 6)), CAST(0 AS DECIMAL(38, 6))) AS s0,
            target_share(2023, '380') AS t,
            target_status(CAST(8.5 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6)), 2023, NULL) AS met,
            target_status(CAST(8.499999 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6)), 2023, NULL) AS below,
            CAST(ecommerce_needed(CAST(8 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6)), 2023, NULL) AS VARCHAR) AS needed,
            micro_to_decimal(1500000) AS w";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        // 2023's province target is 8.5 %; 8 of 100 leaves 0.5 đồng to find.
        assert!(
            text.contains("| 0.07 |    | 0.085 | met | below | 0.500000 | 1.500000 |"),
            "{text}"
        );
    }

    /// 2026: the newest national programme's path (2326/QĐ-TTg, 11–12 %)
    /// by default, 1568/QĐ-BCT's (12 %) when configured first; 2024 has
    /// no programme's target (none is carried forward).
    #[tokio::test]
    async fn the_governing_programme_answers_for_2026() {
        let run = |reference: Reference| async move {
            let ctx = SessionContext::new();
            for f in all(Arc::new(reference)) {
                ctx.register_udf(f);
            }
            let sql = "SELECT target_share(2026, NULL) AS low, target_high(2026, '380') AS high,
                target_program(2026, NULL) AS program, target_share(2024, NULL) AS none,
                target_status(CAST(11 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6)), 2026, NULL) AS status,
                target_status(CAST(11 AS DECIMAL(38, 6)), CAST(100 AS DECIMAL(38, 6)), 2024, NULL) AS status_2024";
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                .unwrap()
                .to_string()
        };
        let text = run(builtin_reference()).await;
        assert!(
            text.contains("| 0.11 | 0.12 | 2326/QĐ-TTg |      | met    | no_target   |"),
            "{text}"
        );
        let text = run(builtin_reference().with_target_priority(vec!["1568/QĐ-BCT".into()])).await;
        assert!(
            text.contains("| 0.12 | 0.12 | 1568/QĐ-BCT |      | below  | no_target   |"),
            "{text}"
        );
    }
}
