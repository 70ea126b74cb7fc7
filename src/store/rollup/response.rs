//! The response rates of a breakdown from the cells: for each scope of the
//! slice (its keys other than time) the units of each month, united from
//! the month parts' unit sets, from `LOOKBACK` months before the slice to
//! its end; `domain::release` does the counting. Reads cells, changes none.

use super::groups::{GroupKey, group_key};
use super::parts::Span;
use super::{Rollup, RollupError};
use crate::domain::release::{self, LOOKBACK, Responses, UnitSet};
use crate::domain::{Period, Reference, Slice};
use roaring::{MultiOps, RoaringBitmap};
use std::collections::{BTreeMap, HashMap};

impl UnitSet for RoaringBitmap {
    fn union_of(sets: &[&Self]) -> Self {
        sets.iter().copied().union()
    }

    fn count(&self) -> u64 {
        self.len()
    }

    fn common(&self, other: &Self) -> u64 {
        self.intersection_len(other)
    }
}

impl Rollup {
    /// The response of every row of `slice`'s breakdown and of its total
    /// (see `domain::release`), as a scan of the raw filings gives them.
    pub fn responses(&self, slice: &Slice, reference: &Reference) -> Result<Responses, RollupError> {
        let scope = Slice {
            from: slice.from.add_months(-LOOKBACK).unwrap_or(slice.from),
            by: slice.by.iter().copied().filter(|d| !release::is_time(*d)).collect(),
            ..slice.clone()
        };
        let width = scope.by.len();
        let months: Vec<(Period, String)> = (0..)
            .map_while(|i| scope.from.add_months(i))
            .take_while(|m| *m <= slice.to)
            .map(|m| (m, m.to_string()))
            .collect();
        // Keys borrowed from the cells while they are gathered.
        let mut sets: HashMap<GroupKey<'_>, BTreeMap<Period, Vec<&RoaringBitmap>>> = HashMap::new();
        for (month, name) in &months {
            let Some(part) = self.parts.get(&Span::Month(*month)) else {
                continue;
            };
            let cells = self.part(part)?;
            for (codes, a) in cells.codes.iter().zip(&cells.aggs) {
                if a.filings == 0 {
                    continue;
                }
                let cell = (&*codes[0], &*codes[1], &*codes[2]);
                let Some(key) = group_key(&scope, reference, Span::Month(*month), name, cell) else {
                    continue;
                };
                sets.entry(key)
                    .or_default()
                    .entry(*month)
                    .or_default()
                    .push(a.units.get()?);
            }
        }
        let units = sets
            .into_iter()
            .map(|(key, months)| {
                let united = months
                    .into_iter()
                    .map(|(m, sets)| (m, RoaringBitmap::union_of(&sets)))
                    .collect();
                (key[..width].iter().map(|k| k.to_key()).collect(), united)
            })
            .collect();
        Ok(release::responses(&slice.by, slice.from, slice.to, units))
    }
}
