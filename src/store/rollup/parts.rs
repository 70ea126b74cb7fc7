//! The parts of a rollup's calendar: a month, a quarter or a year (`Span`),
//! each loaded or still in its file (`Part`); the parts that cover a range
//! of months; and the quarters and years made again from their months.
//! Reads and writes no file (`storage` does) and adds no filing (`apply`).

use super::cells::{Cells, Codes};
use super::groups::Group;
use super::storage::Stored;
use super::{Rollup, RollupError};
use crate::domain::{Dim, Period, Quarter};
use std::collections::BTreeMap;
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
    /// Makes again the quarters and years of the months changed since the
    /// rollup was read (all of them, for a rollup read from a file without
    /// them).
    pub(super) fn settle_levels(&mut self) -> Result<(), RollupError> {
        let stale: std::collections::BTreeSet<Span> = self
            .parts
            .keys()
            .filter_map(|s| match s {
                Span::Month(m) if !self.levels || self.touched.contains(&s.name()) => Some(Span::levels_of(*m)),
                _ => None,
            })
            .flatten()
            .collect();
        for level in stale {
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

    /// The cells of a quarter or a year, from its months' (cells with
    /// effective filings only, as a slice of those months counts them).
    fn level(&self, level: Span) -> Result<Cells, RollupError> {
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
