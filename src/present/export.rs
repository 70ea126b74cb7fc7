//! Share figures as CSV and as a text table, from the plain response.
//! Formats only; computes nothing.

use crate::present::locale::{self, Lang};
use crate::service::{ShareResponse, ShareRow};

/// Quotes a CSV field when it holds a separator, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The key and name columns of a response's rows, in `by` order.
fn key_columns(resp: &ShareResponse) -> Vec<&'static str> {
    let mut cols = Vec::new();
    for name in &resp.by {
        let dim = crate::domain::Dim::parse(name).expect("response dimensions are valid");
        cols.push(dim.key_field());
        if let Some(n) = dim.name_field() {
            cols.push(n);
        }
    }
    cols
}

const FIGURE_COLUMNS: [&str; 10] = [
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "share",
    "target",
    "gap_pp",
    "status",
    "filings",
    "units",
    "suppressed",
    "row",
];

fn figure_values(r: &ShareRow, kind: &str) -> Vec<String> {
    let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
    vec![
        r.total_revenue_vnd.clone(),
        r.ecommerce_revenue_vnd.clone(),
        num(r.share),
        num(r.target),
        num(r.gap_pp),
        r.status.code().to_string(),
        if r.suppressed {
            String::new()
        } else {
            r.filings.to_string()
        },
        if r.suppressed {
            String::new()
        } else {
            r.units.to_string()
        },
        r.suppressed.to_string(),
        kind.to_string(),
    ]
}

/// CSV with a header, one line per row and a last line for the total
/// (`row` = `total`, key columns empty). Numbers unformatted, for machines.
pub fn share_csv(resp: &ShareResponse) -> String {
    let keys = key_columns(resp);
    let mut out = String::new();
    let header: Vec<&str> = keys.iter().copied().chain(FIGURE_COLUMNS).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    let mut line = |row: &ShareRow, kind: &str| {
        let mut fields: Vec<String> = keys
            .iter()
            .map(|k| csv_field(row.keys.get(k).cloned().flatten().as_deref().unwrap_or("")))
            .collect();
        fields.extend(figure_values(row, kind).iter().map(|v| csv_field(v)));
        out.push_str(&fields.join(","));
        out.push('\n');
    };
    for r in &resp.rows {
        line(r, "row");
    }
    line(&resp.total, "total");
    out
}

/// An exact non-negative decimal string rounded half up to a whole number,
/// without passing through a float (sums may exceed 2^53).
fn round_decimal(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i128 = int.parse().unwrap_or(0);
    whole + i128::from(frac.as_bytes().first().is_some_and(|&d| d >= b'5'))
}

/// An aligned text table for people, numbers in the language's style.
pub fn share_table(resp: &ShareResponse, lang: Lang) -> String {
    let keys = key_columns(resp);
    let (h_total, h_ecom, h_share, h_target, h_gap, h_status, h_filings, h_units, total_label) = match lang {
        Lang::Vi => (
            "Tổng mức bán lẻ (đồng)",
            "Doanh thu TMĐT (đồng)",
            "Tỷ trọng",
            "Mục tiêu",
            "Chênh lệch",
            "Đánh giá",
            "Báo cáo",
            "Đơn vị",
            "Tổng số",
        ),
        Lang::En => (
            "Total retail (VND)",
            "E-commerce (VND)",
            "Share",
            "Target",
            "Gap",
            "Status",
            "Filings",
            "Units",
            "Total",
        ),
    };
    let status = |r: &ShareRow| -> &str {
        match (lang, r.status.code()) {
            (Lang::Vi, "met") => "đạt",
            (Lang::Vi, "below") => "chưa đạt",
            (Lang::Vi, "no_target") => "không có mục tiêu",
            (Lang::Vi, _) => "không có số liệu",
            (Lang::En, "met") => "met",
            (Lang::En, "below") => "below",
            (Lang::En, "no_target") => "no target",
            (Lang::En, _) => "no data",
        }
    };
    let money = |s: &str| {
        if s.is_empty() {
            locale::SUPPRESSED.to_string()
        } else {
            locale::integer(round_decimal(s), lang)
        }
    };
    let mut header: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    header.extend([h_total, h_ecom, h_share, h_target, h_gap, h_status, h_filings, h_units].map(String::from));
    let mut lines = vec![header];
    let count = |r: &ShareRow, n: u64| {
        if r.suppressed {
            locale::SUPPRESSED.to_string()
        } else {
            locale::integer(i128::from(n), lang)
        }
    };
    let row_cells = |r: &ShareRow, label: Option<&str>| -> Vec<String> {
        let mut cells: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match label {
                Some(l) if i == 0 => l.to_string(),
                Some(_) => String::new(),
                None => r.keys.get(k).cloned().flatten().unwrap_or_default(),
            })
            .collect();
        cells.extend([
            money(&r.total_revenue_vnd),
            money(&r.ecommerce_revenue_vnd),
            r.share
                .map(|s| locale::percent(s, 2, lang))
                .unwrap_or_else(|| "–".into()),
            r.target
                .map(|t| locale::percent(t, 1, lang))
                .unwrap_or_else(|| "–".into()),
            r.gap_pp
                .map(|g| locale::points(g, 2, lang))
                .unwrap_or_else(|| "–".into()),
            status(r).to_string(),
            count(r, r.filings),
            count(r, r.units),
        ]);
        cells
    };
    for r in &resp.rows {
        lines.push(row_cells(r, None));
    }
    let mut total = row_cells(&resp.total, Some(total_label));
    if keys.is_empty() {
        total.insert(0, total_label.to_string());
        lines[0].insert(0, String::new());
    }
    lines.push(total);
    let width = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..width)
        .map(|c| {
            lines
                .iter()
                .map(|l| l.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c] - s.chars().count();
                if c < keys.len().max(1) {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_stays_exact_beyond_f64() {
        assert_eq!(round_decimal("12345678901234567890.5"), 12345678901234567891);
        assert_eq!(round_decimal("7.49"), 7);
        assert_eq!(round_decimal("7"), 7);
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("abc"), "abc");
        assert_eq!(csv_field("Lương thực, thực phẩm"), "\"Lương thực, thực phẩm\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
