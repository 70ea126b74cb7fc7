//! The parts of a rollup's calendar: a month, a quarter or a year (`Span`),
//! each loaded or still in its file (`Part`); the parts that cover a range
//! of months; and the quarters and years kept up to date with their months.
//! Reads and writes no file (`storage` does) and adds no filing (`apply`).

use super::cells::{Cells, Codes, Runs};
use super::groups::Group;
use super::storage::Stored;
use super::{Rollup, RollupError, Sums};
use crate::domain::{Dim, Period, Quarter};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// Where a part of the calendar falls: a month, a quarter or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Span {
    Month(Period),
    Quarter(Quarter),
    Year(u16),
}

impl Span {
    /// A part's name: "2025-01", "2025-Q1", "2025".
    pub(super) fn parse(name: &str) -> Option<Self> {
        if let Some(p) = Period::parse(name) {
            return Some(Span::Month(p));
        }
        if let Some(q) = Quarter::parse(name) {
            return Some(Span::Quarter(q));
        }
        (name.len() == 4).then(|| name.parse().ok().map(Span::Year))?
    }

    pub(super) fn name(self) -> String {
        match self {
            Span::Month(p) => p.to_string(),
            Span::Quarter(q) => q.to_string(),
            Span::Year(y) => format!("{y:04}"),
        }
    }

    /// Its first and last month.
    fn months(self) -> (Period, Period) {
        match self {
            Span::Month(m) => (m, m),
            Span::Quarter(q) => q.months(),
            Span::Year(y) => (
                Period::new(y, 1).expect("a valid month"),
                Period::new(y, 12).expect("a valid month"),
            ),
        }
    }

    /// The quarter and the year a month falls in.
    fn levels_of(month: Period) -> [Span; 2] {
        [Span::Quarter(month.quarter()), Span::Year(month.year())]
    }
}

/// One part of a rollup: loaded, or still in its file.
#[derive(Debug, Clone, Default)]
pub(super) struct Part {
    pub(super) cells: OnceLock<Cells>,
    /// The file and row group that hold it as it is: set when read from a
    /// file, cleared when changed.
    pub(super) at: Option<At>,
}

/// A part's place in a rollup file.
#[derive(Debug, Clone)]
pub(super) struct At {
    pub(super) file: Arc<Stored>,
    pub(super) row_group: usize,
}

impl Rollup {
    /// Brings the quarters and years up to date with their months: for each
    /// month changed since they were last made, its change (new sums less
    /// the sums before, and its cells' new units) is carried into its
    /// quarter and year. A level is made again from its months instead
    /// when the rollup was read without levels, when the level has no part
    /// yet, or when a cell of the month (or of the level) lost its last
    /// filing, since a cell's units leave a union only with the cell.
    pub(super) fn settle_levels(&mut self) -> Result<(), RollupError> {
        let before = std::mem::take(&mut self.before);
        let mut remake: BTreeSet<Span> = BTreeSet::new();
        if !self.levels {
            remake.extend(
                self.parts
                    .keys()
                    .filter_map(|s| match s {
                        Span::Month(m) => Some(Span::levels_of(*m)),
                        _ => None,
                    })
                    .flatten(),
            );
        }
        for (month, sums) in &before {
            for level in Span::levels_of(*month) {
                if !remake.contains(&level) && !self.carry(*month, sums, level)? {
                    remake.insert(level);
                }
            }
        }
        for level in remake {
            let cells = self.level(level)?;
            self.parts.insert(
                level,
                Part {
                    cells: OnceLock::from(cells),
                    at: None,
                },
            );
        }
        self.levels = true;
        Ok(())
    }

    /// Carries a month's change since `before` into `level`; false (the
    /// level untouched or to be made again) when that cannot be exact.
    fn carry(&mut self, month: Period, before: &[Sums], level: Span) -> Result<bool, RollupError> {
        let Some(mut part) = self.parts.remove(&level) else {
            return Ok(false);
        };
        let done = self.carry_into(month, before, &mut part);
        self.parts.insert(level, part);
        done
    }

    fn carry_into(&self, month: Period, before: &[Sums], part: &mut Part) -> Result<bool, RollupError> {
        let cells = match self.parts.get(&Span::Month(month)) {
            Some(p) => self.part(p)?,
            None => return Ok(before.is_empty()),
        };
        let was = |i: usize| before.get(i).copied().unwrap_or_default();
        if cells
            .aggs
            .iter()
            .enumerate()
            .any(|(i, a)| was(i).2 != 0 && a.filings == 0)
        {
            return Ok(false);
        }
        self.part(part)?;
        part.at = None;
        let into = part.cells.get_mut().expect("loaded just above");
        let mut runs = Runs::default();
        for (i, (codes, a)) in cells.codes.iter().zip(&cells.aggs).enumerate() {
            let (total, ecommerce, filings) = was(i);
            let units = a.units.changed() && a.filings != 0;
            if (total, ecommerce, filings) == (a.total, a.ecommerce, a.filings) && !units {
                continue;
            }
            let slot = into.slot_in_run(&mut runs, [&codes[0], &codes[1], &codes[2]]);
            let agg = &mut into.aggs[slot];
            agg.total += a.total - total;
            agg.ecommerce += a.ecommerce - ecommerce;
            agg.filings += a.filings - filings;
            if agg.filings == 0 {
                return Ok(false);
            }
            if units {
                let set = agg.units.get_mut()?;
                *set |= a.units.get()?;
                set.optimize();
            }
        }
        Ok(true)
    }

    /// The cells of a quarter or a year, from its months' (cells with
    /// effective filings only, as a slice of those months counts them).
    pub(super) fn level(&self, level: Span) -> Result<Cells, RollupError> {
        let (first, last) = level.months();
        let mut groups: BTreeMap<&Codes, Group<'_>> = BTreeMap::new();
        for (_, part) in self.parts.range(Span::Month(first)..=Span::Month(last)) {
            let cells = self.part(part)?;
            for (codes, a) in cells.codes.iter().zip(&cells.aggs) {
                if a.filings != 0 {
                    groups.entry(codes).or_default().add(a)?;
                }
            }
        }
        let mut cells = Cells::default();
        for (codes, g) in groups {
            let mut agg = g.into_agg();
            agg.units.get_mut()?.optimize();
            cells.codes.push(codes.clone());
            cells.aggs.push(agg);
        }
        Ok(cells)
    }

    /// The parts that cover `from..=to` exactly once, the largest first:
    /// whole years and quarters when `finest` allows and the rollup has
    /// them, months otherwise.
    pub(super) fn cover(&self, from: Period, to: Period, finest: Dim) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut at = from;
        while at <= to {
            // The year, else the quarter, that starts at `at`, ends by
            // `to` and is no coarser than the slice's time grouping.
            let allowed = |s: &Span| match s {
                Span::Year(_) => finest == Dim::Year,
                _ => finest != Dim::Period,
            };
            let span = Span::levels_of(at)
                .into_iter()
                .rev()
                .find(|s| self.levels && allowed(s) && s.months().0 == at && s.months().1 <= to)
                .unwrap_or(Span::Month(at));
            spans.push(span);
            match span.months().1.add_months(1) {
                Some(next) => at = next,
                None => break,
            }
        }
        spans
    }
}
