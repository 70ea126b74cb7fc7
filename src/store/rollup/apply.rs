//! A commit's changes to a rollup: a batch's filings added or subtracted
//! cell by cell, the months they touch recorded, and the units first met
//! numbered for good. Writes no file (`storage` does, after).

use super::cells::Runs;
use super::columns::{bad_period, ints, key_columns, text};
use super::parts::Span;
use super::units::UnitDictionary;
use super::{Rollup, RollupError};
use crate::domain::Period;
use datafusion::arrow::array::RecordBatch;
use roaring::RoaringBitmap;

impl Rollup {
    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a batch of filings.
    /// Subtracting leaves unit sets as they are (see the module comment).
    pub fn apply(&mut self, batch: &RecordBatch, units: &mut UnitDictionary, sign: i8) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let [period, district, commune, vsic] = key_columns(batch)?;
        let total = ints(batch, "total_revenue_vnd")?;
        let ecommerce = ints(batch, "ecommerce_revenue_vnd")?;
        let weight = ints(batch, "weight_micro")?;
        let mut i = 0;
        // Filings come sorted by month: one part per run of a month.
        while i < batch.num_rows() {
            let name = period.value(i);
            let month = Period::parse(name).ok_or_else(|| bad_period(name))?;
            self.touched.insert(name.to_string());
            let cells = self.part_mut(Span::Month(month))?;
            let mut runs = Runs::default();
            while i < batch.num_rows() && period.value(i) == name {
                let slot = cells.slot_in_run(&mut runs, [district.value(i), commune.value(i), vsic.value(i)]);
                let w = i128::from(weight.value(i));
                let (t, e) = (i128::from(total.value(i)) * w, i128::from(ecommerce.value(i)) * w);
                let agg = &mut cells.aggs[slot];
                if sign > 0 {
                    let u = units.position(unit.value(i), district.value(i), vsic.value(i))?;
                    agg.total += t;
                    agg.ecommerce += e;
                    agg.filings += 1;
                    agg.units.get_mut()?.insert(u);
                } else {
                    agg.total -= t;
                    agg.ecommerce -= e;
                    agg.filings -= 1;
                }
                i += 1;
            }
        }
        Ok(())
    }

    /// The months of the filings added or subtracted since this rollup
    /// was read: the months whose figures the batch changed.
    pub fn touched_periods(&self) -> Vec<String> {
        self.touched.iter().cloned().collect()
    }

    /// Gives the units first met in the filings added since the last call
    /// their final positions (see `UnitDictionary`), renumbering them in the
    /// cells' unit sets, and stores each changed set in its most compact
    /// form. Sets still as stored hold no new unit.
    pub fn settle_units(&mut self, units: &mut UnitDictionary) -> Result<(), RollupError> {
        let base = units.len();
        let remap = units.settle()?;
        // Only month parts get filings; only those read can have changed.
        for (_, part) in self.parts.iter_mut().filter(|(s, _)| matches!(s, Span::Month(_))) {
            let Some(cells) = part.cells.get_mut() else { continue };
            for a in cells.aggs.iter_mut().filter(|a| a.units.changed()) {
                let set = a.units.get_mut()?;
                if set.max().is_some_and(|m| m >= base) {
                    let mut moved: Vec<u32> = set
                        .iter()
                        .filter(|u| *u >= base)
                        .map(|u| remap[(u - base) as usize])
                        .collect();
                    moved.sort_unstable();
                    set.remove_range(base..);
                    *set |= RoaringBitmap::from_sorted_iter(moved).expect("sorted positions");
                }
                set.optimize();
            }
        }
        Ok(())
    }
}
