//! One month's weighted totals by cell and enterprise, for disclosure
//! control (`EnterpriseTotals`). Shares the cell index with the rollup but
//! none of its state; writes nothing.

use super::RollupError;
use super::cells::{CellCodes, CellIndex, FastMap, Runs};
use super::columns::{commune_text, ints, text};
use crate::domain::disclosure::{Contributions, enterprise_number, enterprise_of};
use datafusion::arrow::array::RecordBatch;

/// One month's weighted totals by cell and enterprise, summed as the
/// month's effective filings stream by: what disclosure control keeps
/// ([`Contributions`]). Numbers, not strings, so that a month's totals
/// stay small in memory.
#[derive(Debug, Default)]
pub struct EnterpriseTotals {
    index: CellIndex,
    codes: Vec<CellCodes>,
    totals: FastMap<(u32, u64), i128>,
}

impl EnterpriseTotals {
    /// Adds a batch of filings (`unit_id`, `district_code`, `commune_code`
    /// — empty or absent before the reform —, `vsic_code`,
    /// `total_revenue_vnd`, `weight_micro`). A dependent unit
    /// (`XXXXXXXXXX-NNN`) counts under its parent tax code.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let (district, commune, vsic) = (
            text(batch, "district_code")?,
            commune_text(batch)?,
            text(batch, "vsic_code")?,
        );
        let (total, weight) = (ints(batch, "total_revenue_vnd")?, ints(batch, "weight_micro")?);
        let mut runs = Runs::default();
        for i in 0..batch.num_rows() {
            let codes = [district.value(i), commune.value(i), vsic.value(i)];
            let cell = runs.position(&mut self.index, codes, || {
                self.codes.push(CellCodes {
                    district: codes[0].to_string(),
                    commune: codes[1].to_string(),
                    vsic: codes[2].to_string(),
                })
            });
            let e = enterprise_of(unit.value(i));
            let number = enterprise_number(e)
                .ok_or_else(|| RollupError::Input(format!("enterprise {e:?} is not a tax code or personal number")))?;
            *self.totals.entry((cell, number)).or_default() += i128::from(total.value(i)) * i128::from(weight.value(i));
        }
        Ok(())
    }

    /// Each cell with its enterprises' count and total and the `k` largest
    /// enterprise totals.
    pub fn finish(self, k: usize) -> Vec<(CellCodes, Contributions)> {
        let mut by_cell: Vec<Vec<(u64, i128)>> = vec![Vec::new(); self.codes.len()];
        for ((cell, number), total) in self.totals {
            by_cell[cell as usize].push((number, total));
        }
        self.codes
            .into_iter()
            .zip(by_cell)
            .map(|(codes, totals)| (codes, Contributions::from_totals(totals, k)))
            .collect()
    }
}
