//! A breakdown answered from the cells: the group a cell falls in within a
//! slice (`group_of`, shared with disclosure control), groups summed exactly
//! with their unit sets united once, keys sorted nulls last; and months'
//! exact sums alone, without units (`month_sums`, the outlook's series).
//! Reads cells and changes none.

use super::cells::{Agg, CellCodes};
use super::parts::Span;
use super::units::Units;
use super::{Rollup, RollupError};
use crate::domain::{Breakdown, Cell, Dim, Figures, Period, Quarter, Reference, Slice, WeightedVnd};
use roaring::{MultiOps, RoaringBitmap};
use std::cmp::Ordering;
use std::collections::HashMap;

impl Rollup {
    /// The figures of every group of `slice.by` with effective filings,
    /// sorted by keys (nulls last), and of the whole slice — as the engine's
    /// scan of the raw filings gives them. Sector groups come from
    /// `reference` (a VSIC code it does not know has no sector).
    ///
    /// One pass over the cells of the parts that cover the slice's months,
    /// with borrowed keys (no allocation per cell), then one multi-way union
    /// of unit sets per group.
    pub fn breakdown(&self, slice: &Slice, reference: &Reference) -> Result<Breakdown, RollupError> {
        let by_area_and_time = slice.sectors.is_empty()
            && slice.vsic.is_empty()
            && !slice
                .by
                .iter()
                .any(|d| matches!(d, Dim::Sector | Dim::Vsic | Dim::Commune));
        let finest = if slice.by.contains(&Dim::Period) {
            Dim::Period
        } else if slice.by.contains(&Dim::Quarter) {
            Dim::Quarter
        } else {
            Dim::Year
        };
        let by = &slice.by;
        let mut into = Groups {
            by_nothing: by.is_empty(),
            groups: HashMap::new(),
            total: Group::default(),
        };
        let names: Vec<(Span, String)> = self
            .cover(slice.from, slice.to, finest)
            .into_iter()
            .map(|s| (s, s.name()))
            .collect();
        for (span, name) in &names {
            let Some(part) = self.parts.get(span) else { continue };
            let cells = self.part(part)?;
            if by_area_and_time {
                for (district, a) in cells.by_district()? {
                    into.add(group_key(slice, reference, *span, name, (district, "", "")), a)?;
                }
                continue;
            }
            for (codes, a) in cells.codes.iter().zip(&cells.aggs) {
                if a.filings != 0 {
                    into.add(
                        group_key(slice, reference, *span, name, (&codes[0], &codes[1], &codes[2])),
                        a,
                    )?;
                }
            }
        }
        let Groups { groups, total, .. } = into;
        // Each group's units are united once; the total's units are the
        // union of the groups' (not of every cell again).
        let groups: Vec<(GroupKey<'_>, Agg)> = groups.into_iter().map(|(k, g)| (k, g.into_agg())).collect();
        let total = if by.is_empty() {
            total.into_agg()
        } else {
            let mut t = Group::default();
            for (_, a) in &groups {
                t.add(a)?;
            }
            t.into_agg()
        };
        let mut cells: Vec<Cell> = groups
            .iter()
            .map(|(key, a)| Cell {
                keys: key[..by.len()].iter().copied().map(KeyPart::to_key).collect(),
                figures: a.figures(),
            })
            .collect();
        cells.sort_by(|a, b| nulls_last(&a.keys, &b.keys));
        Ok(Breakdown {
            cells,
            total: total.figures(),
        })
    }
}

/// One month's exact sums (of one commune, when asked by commune).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSums {
    pub period: Period,
    /// The commune, when asked by commune and the month is from the 2025
    /// reform on (`None` before it: cells had no commune).
    pub commune: Option<String>,
    /// Σ weight × total revenue, micro-đồng.
    pub total: i128,
    /// Σ weight × e-commerce revenue, micro-đồng.
    pub ecommerce: i128,
    pub filings: i64,
}

impl Rollup {
    /// The exact sums of every month of `from..=to` with an effective
    /// filing in `districts` (every district when empty), by commune too
    /// when `by_commune` — the figures of [`Rollup::breakdown`] by period
    /// (and commune), without counting units: no unit set is read or
    /// united, so a year's outlook costs a pass over its months' cells.
    pub fn month_sums(
        &self,
        from: Period,
        to: Period,
        districts: &[String],
        by_commune: bool,
    ) -> Result<Vec<MonthSums>, RollupError> {
        let mut out = Vec::new();
        for span in self.cover(from, to, Dim::Period) {
            let Span::Month(period) = span else { continue };
            let Some(part) = self.parts.get(&span) else { continue };
            let cells = self.part(part)?;
            let wanted = cells.codes.iter().zip(&cells.aggs).filter(|(codes, a)| {
                a.filings != 0 && (districts.is_empty() || districts.iter().any(|d| **d == *codes[0]))
            });
            let add = |s: &mut (i128, i128, i64), a: &Agg| {
                s.0 += a.total;
                s.1 += a.ecommerce;
                s.2 += a.filings;
            };
            let mut month: Vec<MonthSums> = Vec::new();
            let make = |commune: &str, (total, ecommerce, filings): (i128, i128, i64)| MonthSums {
                period,
                commune: (!commune.is_empty()).then(|| commune.to_string()),
                total,
                ecommerce,
                filings,
            };
            if by_commune {
                let mut sums: HashMap<&str, (i128, i128, i64)> = HashMap::new();
                for (codes, a) in wanted {
                    add(sums.entry(&codes[1]).or_default(), a);
                }
                month.extend(sums.into_iter().map(|(c, s)| make(c, s)));
                month.sort_by(|a, b| a.commune.cmp(&b.commune));
            } else {
                let mut sum = (0, 0, 0);
                for (_, a) in wanted {
                    add(&mut sum, a);
                }
                if sum.2 != 0 {
                    month.push(make("", sum));
                }
            }
            out.extend(month);
        }
        Ok(out)
    }
}

impl Agg {
    /// A group's figures (its units are united, so counting cannot fail).
    fn figures(&self) -> Figures {
        Figures {
            total: WeightedVnd::from_micro(self.total),
            ecommerce: WeightedVnd::from_micro(self.ecommerce),
            filings: self.filings as u64,
            units: self.units.get().map_or(0, |u| u.len()),
        }
    }
}

/// At most this many dimensions in a breakdown (each of `Dim` once).
const MAX_DIMS: usize = Dim::ALL.len();

/// The keys (in `slice.by` order) of the group that the cell `codes` of
/// month `period` falls in, or `None` when the slice leaves the cell out —
/// the grouping of [`Rollup::breakdown`].
pub fn group_of(slice: &Slice, reference: &Reference, period: &str, codes: &CellCodes) -> Option<Vec<Option<String>>> {
    let month = Period::parse(period).filter(|m| *m >= slice.from && *m <= slice.to)?;
    let cell = (codes.district.as_str(), codes.commune.as_str(), codes.vsic.as_str());
    let key = group_key(slice, reference, Span::Month(month), period, cell)?;
    Some(key[..slice.by.len()].iter().copied().map(KeyPart::to_key).collect())
}

/// [`group_of`] with borrowed parts, for a cell of the part `span` (named
/// `name`) within the slice's months: a month's, or when the slice is not by
/// month a quarter's, or when not by quarter either a year's.
pub(super) fn group_key<'a>(
    slice: &Slice,
    reference: &'a Reference,
    span: Span,
    name: &'a str,
    (district, commune, vsic): (&'a str, &'a str, &'a str),
) -> Option<GroupKey<'a>> {
    if !slice.districts.is_empty() && !slice.districts.iter().any(|d| d == district) {
        return None;
    }
    if !slice.vsic.is_empty() && !slice.vsic.iter().any(|v| v == vsic) {
        return None;
    }
    let sector = reference.vsic(vsic).map(|v| v.group_code.as_str());
    if !slice.sectors.is_empty() && !sector.is_some_and(|s| slice.sectors.iter().any(|x| x == s)) {
        return None;
    }
    let mut key: GroupKey<'a> = [KeyPart::Null; MAX_DIMS];
    for (slot, d) in key.iter_mut().zip(&slice.by) {
        *slot = match d {
            Dim::District => KeyPart::Text(district),
            Dim::Commune if commune.is_empty() => KeyPart::Null,
            Dim::Commune => KeyPart::Text(commune),
            Dim::Sector => sector.map_or(KeyPart::Null, KeyPart::Text),
            Dim::Vsic => KeyPart::Text(vsic),
            Dim::Period => KeyPart::Text(name),
            Dim::Quarter => match span {
                Span::Month(p) => KeyPart::Quarter(p.quarter()),
                Span::Quarter(q) => KeyPart::Quarter(q),
                Span::Year(_) => unreachable!("a slice by quarter is covered by quarters and months"),
            },
            Dim::Year => KeyPart::Text(&name[..4]),
        };
    }
    Some(key)
}

/// One key of a group, borrowed from the cell it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum KeyPart<'a> {
    Null,
    Text(&'a str),
    Quarter(Quarter),
}

impl KeyPart<'_> {
    pub(super) fn to_key(self) -> Option<String> {
        match self {
            KeyPart::Null => None,
            KeyPart::Text(s) => Some(s.to_string()),
            KeyPart::Quarter(q) => Some(q.to_string()),
        }
    }
}

pub(super) type GroupKey<'a> = [KeyPart<'a>; MAX_DIMS];

/// A group being summed: exact sums now, unit sets united at the end.
#[derive(Default)]
pub(super) struct Group<'a> {
    total: i128,
    ecommerce: i128,
    filings: i64,
    units: Vec<&'a RoaringBitmap>,
}

impl<'a> Group<'a> {
    pub(super) fn add(&mut self, a: &'a Agg) -> Result<(), RollupError> {
        self.total += a.total;
        self.ecommerce += a.ecommerce;
        self.filings += a.filings;
        self.units.push(a.units.get()?);
        Ok(())
    }

    pub(super) fn into_agg(self) -> Agg {
        Agg {
            total: self.total,
            ecommerce: self.ecommerce,
            filings: self.filings,
            units: Units::of(self.units.into_iter().union()),
        }
    }
}

/// The groups of a breakdown being summed, or its total alone when it is
/// by nothing.
struct Groups<'a> {
    by_nothing: bool,
    groups: HashMap<GroupKey<'a>, Group<'a>>,
    total: Group<'a>,
}

impl<'a> Groups<'a> {
    fn add(&mut self, key: Option<GroupKey<'a>>, a: &'a Agg) -> Result<(), RollupError> {
        match key {
            None => Ok(()),
            Some(_) if self.by_nothing => self.total.add(a),
            Some(key) => self.groups.entry(key).or_default().add(a),
        }
    }
}

/// Orders keys element by element, a missing key after any present one.
fn nulls_last(a: &[Option<String>], b: &[Option<String>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_with_missing_ones_last() {
        let mut keys = [vec![None], vec![Some("B".to_string())], vec![Some("A".to_string())]];
        keys.sort_by(|a, b| nulls_last(a, b));
        assert_eq!(keys[0], vec![Some("A".to_string())]);
        assert_eq!(keys[2], vec![None]);
    }
}
