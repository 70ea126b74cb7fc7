//! Statistical disclosure control of published tables.
//!
//! **Primary suppression.** A cell with contributions is sensitive when
//! fewer than `min_enterprises` enterprises contribute to it, or when its
//! `dominance_n` (2) largest enterprises hold more than `dominance_percent`
//! of its total revenue. Dependent units (`XXXXXXXXXX-NNN`) count under
//! their parent tax code. A cell without any filing is not sensitive.
//!
//! **Secondary suppression.** Then further entries are suppressed so that
//! no suppressed entry can be computed exactly from the published entries
//! and the table's additive structure:
//! - a *line* (1-D table with its total) needs 0 or at least 2 suppressed
//!   entries; the cheapest (smallest revenue) non-empty entry is added;
//! - a *grid* (2-D table with row totals, column totals and the grand
//!   total) is the bipartite graph of its rows and columns (the totals a
//!   row and a column of their own), each entry an edge; a suppressed entry
//!   is computable exactly iff its edge is a bridge of the graph of
//!   suppressed edges. While a bridge remains, the cheapest path of other
//!   entries joining its two ends is suppressed too, closing a cycle
//!   through it (the shortest-path heuristic).
//!
//! Costs are the entries' total revenue, so the least information is lost;
//! empty entries and the grand total are used only when nothing else can.
//! Pure: no I/O.

/// The rule's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub min_enterprises: u32,
    pub dominance_n: usize,
    pub dominance_percent: u32,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            min_enterprises: 3,
            dominance_n: 2,
            dominance_percent: 85,
        }
    }
}

/// What a cell is made of: its enterprises' totals (weighted, exact).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellStats {
    pub enterprises: u32,
    pub total: i128,
    /// The sum of the `dominance_n` largest enterprise totals.
    pub top: i128,
}

impl CellStats {
    /// From the totals of each enterprise in the cell.
    pub fn from_totals(totals: impl IntoIterator<Item = i128>, rule: &Rule) -> Self {
        let mut all: Vec<i128> = totals.into_iter().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        Self {
            enterprises: all.len() as u32,
            total: all.iter().sum(),
            top: all.iter().take(rule.dominance_n).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.enterprises == 0
    }

    /// Sensitive under the rule (primary suppression).
    pub fn sensitive(&self, rule: &Rule) -> bool {
        if self.is_empty() {
            return false;
        }
        self.enterprises < rule.min_enterprises || self.top * 100 > self.total * i128::from(rule.dominance_percent)
    }
}

/// The enterprise a unit counts under: a dependent unit's parent tax code.
pub fn enterprise_of(unit_id: &str) -> &str {
    unit_id.split('-').next().unwrap_or(unit_id)
}

/// The additive structure of a table's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `cells` entries, then their total.
    Line { cells: usize },
    /// `rows × cols` cells row by row, then the row totals, the column
    /// totals and the grand total.
    Grid { rows: usize, cols: usize },
}

impl Shape {
    pub fn len(self) -> usize {
        match self {
            Shape::Line { cells } => cells + 1,
            Shape::Grid { rows, cols } => rows * cols + rows + cols + 1,
        }
    }

    pub fn is_empty(self) -> bool {
        false
    }

    /// A grid entry's edge: (row node, column node); row `rows` and column
    /// `cols` are the totals.
    fn edge(self, entry: usize) -> (usize, usize) {
        let Shape::Grid { rows, cols } = self else {
            unreachable!("edges exist in grids only")
        };
        let cells = rows * cols;
        if entry < cells {
            (entry / cols, entry % cols)
        } else if entry < cells + rows {
            (entry - cells, cols)
        } else if entry < cells + rows + cols {
            (rows, entry - cells - rows)
        } else {
            (rows, cols)
        }
    }

    fn entry(self, row: usize, col: usize) -> usize {
        let Shape::Grid { rows, cols } = self else {
            unreachable!("edges exist in grids only")
        };
        match (row == rows, col == cols) {
            (false, false) => row * cols + col,
            (false, true) => rows * cols + row,
            (true, false) => rows * cols + rows + col,
            (true, true) => rows * cols + rows + cols,
        }
    }
}

/// What secondary suppression needs of an entry: whether it is sensitive,
/// whether it is empty, and its total (the cost of withholding it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub sensitive: bool,
    pub empty: bool,
    pub total: i128,
}

impl CellStats {
    pub fn entry(&self, rule: &Rule) -> Entry {
        Entry {
            sensitive: self.sensitive(rule),
            empty: self.is_empty(),
            total: self.total,
        }
    }
}

/// One cell's enterprises as kept to decide disclosure without the raw
/// filings: how many there are, their total, and the largest enterprise
/// totals (largest first; every one of them when `enterprises` is not more
/// than `top.len()`). Enterprises are numbered by [`enterprise_number`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contributions {
    pub enterprises: u32,
    pub total: i128,
    pub top: Vec<(u64, i128)>,
}

impl Contributions {
    /// From each enterprise's total in the cell, keeping the `k` largest.
    pub fn from_totals(mut totals: Vec<(u64, i128)>, k: usize) -> Self {
        totals.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let (enterprises, total) = (totals.len() as u32, totals.iter().map(|t| t.1).sum());
        // Not `into_iter().take(k).collect()`: collecting in place keeps
        // the whole vector's allocation.
        totals.truncate(k);
        totals.shrink_to_fit();
        Self {
            enterprises,
            total,
            top: totals,
        }
    }

    /// Whether every enterprise of the cell is in `top`.
    fn complete(&self) -> bool {
        self.enterprises as usize <= self.top.len()
    }

    /// The most an enterprise not in `top` holds in this cell.
    fn unlisted_bound(&self) -> i128 {
        if self.complete() {
            0
        } else {
            self.top.last().map_or(0, |t| t.1)
        }
    }
}

/// How many largest enterprises a cell keeps for `rule` to be decided
/// mostly without the raw filings: at least `min_enterprises`, so the count
/// test is always exact, and a few more than `dominance_n`, so that bounds
/// on the largest are tight.
pub fn kept_per_cell(rule: &Rule) -> usize {
    (rule.min_enterprises as usize).max(rule.dominance_n + 3)
}

/// An enterprise's tax code (10 digits) or personal number (12 digits) as
/// a number, the length kept so that the two kinds never meet; `None` for
/// anything else.
pub fn enterprise_number(enterprise: &str) -> Option<u64> {
    let len = enterprise.len();
    if !(1..=18).contains(&len) || !enterprise.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = enterprise.parse().ok()?;
    Some(n | ((len as u64) << 60))
}

/// The entry made of `cells` (each cell's kept contributions), decided
/// from bounds on its enterprises' totals: `None` when the bounds cannot
/// tell whether it is sensitive (the caller then counts from the raw
/// filings). When it answers, the answer is the one [`CellStats`] gives
/// from the exact totals:
/// - the count test is exact: a cell with more enterprises than it keeps
///   lists at least `min_enterprises` of them;
/// - an enterprise's total is at least the sum of its listed contributions
///   and at most that plus, for each cell not listing it, the smallest
///   contribution the cell lists (when the cell has more than it lists);
///   the largest `dominance_n` totals lie between the largest lower bounds
///   and the largest upper bounds.
pub fn bounded_entry(cells: &[&Contributions], rule: &Rule) -> Option<Entry> {
    let total: i128 = cells.iter().map(|c| c.total).sum();
    let enterprises: u64 = cells.iter().map(|c| u64::from(c.enterprises)).sum();
    if enterprises == 0 {
        return Some(Entry {
            sensitive: false,
            empty: true,
            total,
        });
    }
    if cells.iter().any(|c| c.total < 0 || c.top.iter().any(|t| t.1 < 0)) {
        return None;
    }
    // Per listed enterprise: its listed sum, and the unlisted bounds of the
    // cells that list it (which do not apply to it).
    let mut listed: std::collections::HashMap<u64, (i128, i128)> = std::collections::HashMap::new();
    let mut unlisted_all: i128 = 0;
    let mut complete = true;
    for c in cells {
        let bound = c.unlisted_bound();
        unlisted_all += bound;
        complete &= c.complete();
        for (e, v) in &c.top {
            let slot = listed.entry(*e).or_default();
            slot.0 += v;
            slot.1 += bound;
        }
    }
    let known = listed.len() as u64;
    let min = u64::from(rule.min_enterprises);
    let too_few = if complete {
        known < min
    } else if known >= min {
        false
    } else {
        return None;
    };
    if too_few {
        return Some(Entry {
            sensitive: true,
            empty: false,
            total,
        });
    }
    let n = rule.dominance_n;
    let largest = |mut v: Vec<i128>| -> i128 {
        v.sort_unstable_by(|a, b| b.cmp(a));
        v.into_iter().take(n).sum()
    };
    let lower = largest(listed.values().map(|l| l.0).collect());
    let mut uppers: Vec<i128> = listed.values().map(|l| l.0 + unlisted_all - l.1).collect();
    if !complete {
        uppers.extend(std::iter::repeat_n(unlisted_all, n));
    }
    let upper = largest(uppers).min(total);
    let percent = i128::from(rule.dominance_percent);
    let sensitive = if lower * 100 > total * percent {
        true
    } else if upper * 100 <= total * percent {
        false
    } else {
        return None;
    };
    Some(Entry {
        sensitive,
        empty: false,
        total,
    })
}

/// Which entries to suppress: the sensitive ones and enough others.
pub fn protect(shape: Shape, entries: &[CellStats], rule: &Rule) -> Vec<bool> {
    let entries: Vec<Entry> = entries.iter().map(|e| e.entry(rule)).collect();
    protect_entries(shape, &entries)
}

/// [`protect`] for entries already judged.
pub fn protect_entries(shape: Shape, entries: &[Entry]) -> Vec<bool> {
    assert_eq!(entries.len(), shape.len(), "one entry per position of the shape");
    let mut suppressed: Vec<bool> = entries.iter().map(|e| e.sensitive).collect();
    // Cheapest first: revenue, with empty entries and the grand total last.
    let grand = shape.len() - 1;
    let cost = |i: usize| -> (u8, i128) {
        let tier = if i == grand {
            2
        } else if entries[i].empty {
            1
        } else {
            0
        };
        (tier, entries[i].total)
    };
    match shape {
        Shape::Line { .. } => {
            if suppressed.iter().filter(|s| **s).count() == 1
                && let Some(extra) = (0..entries.len()).filter(|i| !suppressed[*i]).min_by_key(|i| cost(*i))
            {
                suppressed[extra] = true;
            }
        }
        Shape::Grid { .. } => {
            while let Some(bridge) = bridges(shape, &suppressed).into_iter().next() {
                let (u, v) = shape.edge(bridge);
                for e in cheapest_path(shape, &suppressed, bridge, u, v, &cost) {
                    suppressed[e] = true;
                }
            }
        }
    }
    suppressed
}

/// Entries whose edges are bridges of the suppressed edges' graph.
fn bridges(shape: Shape, suppressed: &[bool]) -> Vec<usize> {
    let Shape::Grid { rows, cols } = shape else {
        return Vec::new();
    };
    // Nodes: rows 0..=rows, then columns 0..=cols.
    let n = rows + 1 + cols + 1;
    let mut adjacent: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (e, s) in suppressed.iter().enumerate() {
        if *s {
            let (r, c) = shape.edge(e);
            let (a, b) = (r, rows + 1 + c);
            adjacent[a].push((b, e));
            adjacent[b].push((a, e));
        }
    }
    let mut order = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut out = Vec::new();
    let mut counter = 0;
    for start in 0..n {
        if order[start] != usize::MAX || adjacent[start].is_empty() {
            continue;
        }
        // Iterative DFS: (node, the edge it was entered by, next neighbour index).
        let mut stack = vec![(start, usize::MAX, 0usize)];
        order[start] = counter;
        low[start] = counter;
        counter += 1;
        while let Some(&mut (node, via, ref mut next)) = stack.last_mut() {
            if *next < adjacent[node].len() {
                let (to, edge) = adjacent[node][*next];
                *next += 1;
                if edge == via {
                    continue;
                }
                if order[to] == usize::MAX {
                    order[to] = counter;
                    low[to] = counter;
                    counter += 1;
                    stack.push((to, edge, 0));
                } else {
                    low[node] = low[node].min(order[to]);
                }
            } else {
                stack.pop();
                if let Some(&(parent, _, _)) = stack.last() {
                    low[parent] = low[parent].min(low[node]);
                    if low[node] > order[parent] {
                        out.push(via);
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// The entries (not yet suppressed) on the cheapest path from row node `u`
/// to column node `v` that does not use `bridge`; suppressed entries cost
/// nothing along it.
fn cheapest_path(
    shape: Shape,
    suppressed: &[bool],
    bridge: usize,
    u: usize,
    v: usize,
    cost: &dyn Fn(usize) -> (u8, i128),
) -> Vec<usize> {
    let Shape::Grid { rows, cols } = shape else {
        return Vec::new();
    };
    // Dijkstra over nodes (rows 0..=rows, columns rows+1..); weights
    // compare (tier, revenue) lexicographically via a large tier factor.
    let weight = |e: usize| -> i128 {
        if suppressed[e] {
            0
        } else {
            let (tier, revenue) = cost(e);
            i128::from(tier) * (1i128 << 100) + revenue.max(0) + 1
        }
    };
    let n = rows + 1 + cols + 1;
    let mut dist = vec![i128::MAX; n];
    let mut back: Vec<Option<(usize, usize)>> = vec![None; n];
    let mut done = vec![false; n];
    dist[u] = 0;
    while let Some(node) = (0..n)
        .filter(|i| !done[*i] && dist[*i] < i128::MAX)
        .min_by_key(|i| dist[*i])
    {
        done[node] = true;
        if node == rows + 1 + v {
            break;
        }
        let neighbours: Vec<(usize, usize)> = if node <= rows {
            (0..=cols).map(|c| (rows + 1 + c, shape.entry(node, c))).collect()
        } else {
            (0..=rows).map(|r| (r, shape.entry(r, node - rows - 1))).collect()
        };
        for (to, e) in neighbours {
            if e == bridge || done[to] {
                continue;
            }
            let d = dist[node].saturating_add(weight(e));
            if d < dist[to] {
                dist[to] = d;
                back[to] = Some((node, e));
            }
        }
    }
    let mut path = Vec::new();
    let mut at = rows + 1 + v;
    while let Some((from, e)) = back[at] {
        if !suppressed[e] {
            path.push(e);
        }
        at = from;
    }
    path
}

#[cfg(test)]
mod tests {
    /// Regression (issue 8): each cell's kept largest totals held the
    /// allocation of every enterprise's total (an in-place collect), so a
    /// server's memory grew with every month it kept (measured in
    /// benches/results-2026-11-27-kept.md).
    #[test]
    fn kept_contributions_hold_only_their_largest_totals() {
        let totals: Vec<(u64, i128)> = (0..10_000).map(|n| (n, i128::from(n % 97))).collect();
        let c = super::Contributions::from_totals(totals, 5);
        assert_eq!((c.enterprises, c.top.len()), (10_000, 5));
        assert!(c.top.capacity() <= 5, "capacity {}", c.top.capacity());
        assert_eq!(c.total, (0..10_000).map(|n| i128::from(n % 97)).sum::<i128>());
        assert_eq!(c.top[0], (96, 96));
    }

    use super::*;
    use proptest::prelude::*;

    fn stats(enterprises: u32, total: i128, top: i128) -> CellStats {
        CellStats {
            enterprises,
            total,
            top,
        }
    }

    #[test]
    fn primary_rules() {
        let r = Rule::default();
        assert!(stats(2, 100, 100).sensitive(&r), "fewer than 3 enterprises");
        assert!(stats(5, 100, 86).sensitive(&r), "the 2 largest hold more than 85 %");
        assert!(!stats(5, 100, 85).sensitive(&r), "exactly 85 % is not more than 85 %");
        assert!(!stats(0, 0, 0).sensitive(&r), "an empty cell discloses nothing");
        let s = CellStats::from_totals([10, 70, 5, 15], &r);
        assert_eq!(s, stats(4, 100, 85));
        assert_eq!(enterprise_of("2801079196-001"), "2801079196");
        assert_eq!(enterprise_of("001090012345"), "001090012345");
    }

    #[test]
    fn a_line_with_one_sensitive_cell_loses_its_cheapest_other_cell() {
        let r = Rule::default();
        let cells = [
            stats(10, 500, 100),
            stats(1, 40, 40),
            stats(10, 90, 20),
            stats(0, 0, 0),
            stats(9, 300, 60),
        ];
        let mut entries = cells.to_vec();
        entries.push(stats(30, 930, 200));
        let s = protect(Shape::Line { cells: 5 }, &entries, &r);
        assert_eq!(s, [false, true, true, false, false, false]);
    }

    #[test]
    fn a_grid_suppression_closes_a_cycle() {
        let r = Rule::default();
        // 2 × 2 cells, one sensitive: the cheapest rectangle is added.
        let ok = |t: i128| stats(10, t, t / 5);
        let entries = vec![
            stats(1, 5, 5),
            ok(100),
            ok(50),
            ok(400),
            ok(105),
            ok(450),
            ok(55),
            ok(500),
            ok(555),
        ];
        let s = protect(Shape::Grid { rows: 2, cols: 2 }, &entries, &r);
        assert_eq!(s, [true, true, true, true, false, false, false, false, false]);
    }

    /// Whether entry `k` is fixed by the published entries and the table's
    /// equations (exact rational elimination over the suppressed unknowns).
    fn determined(shape: Shape, suppressed: &[bool], k: usize) -> bool {
        let unknowns: Vec<usize> = (0..suppressed.len()).filter(|i| suppressed[*i]).collect();
        let col = |e: usize| unknowns.iter().position(|u| *u == e);
        let mut equations: Vec<Vec<i128>> = Vec::new();
        let mut add = |members: Vec<(usize, i128)>| {
            let mut row = vec![0i128; unknowns.len()];
            for (e, sign) in members {
                if let Some(c) = col(e) {
                    row[c] += sign;
                }
            }
            equations.push(row);
        };
        match shape {
            Shape::Line { cells } => add((0..cells).map(|e| (e, 1)).chain([(cells, -1)]).collect()),
            Shape::Grid { rows, cols } => {
                for r in 0..=rows {
                    add((0..cols)
                        .map(|c| (shape.entry(r, c), 1))
                        .chain([(shape.entry(r, cols), -1)])
                        .collect());
                }
                for c in 0..=cols {
                    add((0..rows)
                        .map(|r| (shape.entry(r, c), 1))
                        .chain([(shape.entry(rows, c), -1)])
                        .collect());
                }
            }
        }
        let Some(target) = col(k) else { return true };
        let rank = |m: &[Vec<i128>]| -> usize {
            let mut m: Vec<Vec<i128>> = m.to_vec();
            let mut rank = 0;
            let width = unknowns.len();
            for c in 0..width {
                let Some(p) = (rank..m.len()).find(|r| m[*r][c] != 0) else {
                    continue;
                };
                m.swap(rank, p);
                for r in 0..m.len() {
                    if r != rank && m[r][c] != 0 {
                        let (a, b) = (m[rank][c], m[r][c]);
                        let pivot = m[rank].clone();
                        for (x, p) in m[r].iter_mut().zip(&pivot) {
                            *x = *x * a - p * b;
                        }
                        let g = m[r].iter().fold(0i128, |g, x| gcd(g, x.abs()));
                        if g > 1 {
                            m[r].iter_mut().for_each(|x| *x /= g);
                        }
                    }
                }
                rank += 1;
            }
            rank
        };
        let base = rank(&equations);
        let mut with = equations.clone();
        let mut unit = vec![0i128; unknowns.len()];
        unit[target] = 1;
        with.push(unit);
        rank(&with) == base
    }

    fn gcd(a: i128, b: i128) -> i128 {
        if b == 0 { a } else { gcd(b, a % b) }
    }

    fn cell() -> impl Strategy<Value = CellStats> {
        (0u32..6, 0i128..1000, 0u32..=100).prop_map(|(n, total, share)| {
            if n == 0 {
                CellStats::default()
            } else {
                let total = total + i128::from(n);
                stats(n, total, total * i128::from(share.max(100 / n)) / 100)
            }
        })
    }

    /// Cells of random enterprises' contributions: few enterprises, so that
    /// one enterprise often spans cells, and a few big ones so that
    /// dominance sometimes holds.
    fn contributions() -> impl Strategy<Value = Vec<Vec<(u64, i128)>>> {
        let value = prop_oneof![4 => 0i128..1_000, 1 => 0i128..100_000];
        let cell = prop::collection::btree_map(0u64..8, value, 0..7).prop_map(|m| m.into_iter().collect());
        prop::collection::vec(cell, 1..16)
    }

    #[test]
    fn enterprise_numbers_keep_tax_codes_and_personal_numbers_apart() {
        assert_ne!(enterprise_number("0000000001"), enterprise_number("000000000001"));
        assert_eq!(enterprise_number("0102030405"), enterprise_number("0102030405"));
        assert_eq!(enterprise_number("01020304-5"), None);
        assert_eq!(enterprise_number(""), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// The oracle: the exact statistics of the merged enterprise totals.
        /// Whenever the bounds decide, they decide as the exact totals do.
        #[test]
        fn bounds_decide_as_the_exact_totals_do(
            cells in contributions(),
            k in 1usize..6,
            min_enterprises in 1u32..5,
            dominance_percent in prop_oneof![Just(85u32), 30u32..100],
        ) {
            let rule = Rule { min_enterprises, dominance_n: 2, dominance_percent };
            let kept: Vec<Contributions> = cells.iter().map(|c| Contributions::from_totals(c.clone(), k)).collect();
            let mut merged: std::collections::HashMap<u64, i128> = Default::default();
            for (e, v) in cells.iter().flatten() {
                *merged.entry(*e).or_default() += v;
            }
            let exact = CellStats::from_totals(merged.values().copied(), &rule).entry(&rule);
            let refs: Vec<&Contributions> = kept.iter().collect();
            match bounded_entry(&refs, &rule) {
                Some(bounded) => prop_assert_eq!(bounded, exact),
                None => prop_assert!(k < min_enterprises as usize || !exact.empty, "an empty entry is always decided"),
            }
            // With every enterprise kept, the bounds are exact.
            let all: Vec<Contributions> = cells.iter().map(|c| Contributions::from_totals(c.clone(), 64)).collect();
            let refs: Vec<&Contributions> = all.iter().collect();
            prop_assert_eq!(bounded_entry(&refs, &rule), Some(exact));
        }

        #[test]
        fn no_suppressed_entry_of_a_line_can_be_computed(cells in prop::collection::vec(cell(), 1..8), total in cell()) {
            let shape = Shape::Line { cells: cells.len() };
            let mut entries = cells;
            entries.push(total);
            let rule = Rule::default();
            let s = protect(shape, &entries, &rule);
            for (i, e) in entries.iter().enumerate() {
                if e.sensitive(&rule) {
                    prop_assert!(s[i], "a sensitive entry is suppressed");
                }
                if s[i] {
                    prop_assert!(!determined(shape, &s, i), "entry {i} is computable: {s:?}");
                }
            }
        }

        #[test]
        fn no_suppressed_entry_of_a_grid_can_be_computed(
            rows in 1usize..5,
            cols in 1usize..5,
            pool in prop::collection::vec(cell(), 36),
        ) {
            let shape = Shape::Grid { rows, cols };
            let entries: Vec<CellStats> = pool.into_iter().take(shape.len()).collect();
            let rule = Rule::default();
            let s = protect(shape, &entries, &rule);
            for (i, e) in entries.iter().enumerate() {
                if e.sensitive(&rule) {
                    prop_assert!(s[i]);
                }
                if s[i] {
                    prop_assert!(!determined(shape, &s, i), "entry {i} of {rows}×{cols} is computable: {s:?}");
                }
            }
        }
    }
}
