//! The gate in front of analysts' SQL: one read-only query over the public
//! views, or a refusal that says why — before anything is planned or run.
//!
//! Refused: anything but a single query (DDL, DML, COPY, SET, EXPLAIN,
//! several statements), table functions (`generate_series(…)`, `range(…)`),
//! and any relation that is not a public view or a CTE of the query itself
//! (so no file paths, URLs, internal tables or other catalogs). The planner
//! checks again with DDL, DML and statements disallowed.

use datafusion::sql::parser::{DFParser, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{
    ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit, Visitor,
};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Why a statement is not run; `code` is the API's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Longest SQL text accepted.
pub const MAX_SQL_BYTES: usize = 64 * 1024;

/// Parses `sql` and checks it is one read-only query over `allowed`
/// relations; returns the parsed statement for planning.
pub fn check(sql: &str, allowed: &[&str]) -> Result<DfStatement, Refusal> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(refuse(
            "invalid_sql",
            format!("the SQL text is longer than {MAX_SQL_BYTES} bytes"),
        ));
    }
    let mut statements = DFParser::parse_sql(sql).map_err(|e| refuse("invalid_sql", e.to_string()))?;
    let statement = match (statements.pop_front(), statements.is_empty()) {
        (None, _) => return Err(refuse("invalid_sql", "the SQL text holds no statement")),
        (Some(_), false) => {
            return Err(refuse(
                "sql_refused",
                "only one statement may be sent; remove the other statements",
            ));
        }
        (Some(s), true) => s,
    };
    let query = match &statement {
        DfStatement::Statement(s) => match s.as_ref() {
            Statement::Query(q) => q.clone(),
            other => {
                return Err(refuse(
                    "sql_refused",
                    format!("{} is not allowed: only SELECT queries run here", kind(other)),
                ));
            }
        },
        DfStatement::CreateExternalTable(_) => {
            return Err(refuse(
                "sql_refused",
                "CREATE EXTERNAL TABLE is not allowed: only SELECT queries run here",
            ));
        }
        DfStatement::CopyTo(_) => {
            return Err(refuse(
                "sql_refused",
                "COPY is not allowed: only SELECT queries run here",
            ));
        }
        DfStatement::Explain(_) => {
            return Err(refuse(
                "sql_refused",
                "EXPLAIN is not allowed: only SELECT queries run here",
            ));
        }
        _ => return Err(refuse("sql_refused", "only SELECT queries run here")),
    };
    check_query(&query, allowed)?;
    Ok(statement)
}

fn kind(s: &Statement) -> String {
    let text = s.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.first().map(|w| w.to_ascii_uppercase()) {
        Some(w) if ["CREATE", "DROP", "ALTER"].contains(&w.as_str()) => words.join(" ").to_ascii_uppercase(),
        Some(w) => w,
        None => "this statement".into(),
    }
}

struct Relations<'a> {
    allowed: &'a [&'a str],
    ctes: BTreeSet<String>,
    refusal: Option<Refusal>,
}

fn one_part(name: &ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Some(if ident.quote_style.is_some() {
            ident.value.clone()
        } else {
            ident.value.to_lowercase()
        }),
        _ => None,
    }
}

impl Visitor for Relations<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        if let SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) = query.body.as_ref() {
            self.refusal = Some(refuse(
                "sql_refused",
                "data changes are not allowed: only SELECT queries run here",
            ));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let function = match factor {
            TableFactor::Table {
                name, args: Some(_), ..
            } => Some(name.to_string()),
            TableFactor::TableFunction { expr, .. } => Some(expr.to_string()),
            TableFactor::Function { name, .. } => Some(name.to_string()),
            _ => None,
        };
        if let Some(f) = function {
            self.refusal = Some(refuse(
                "table_function_refused",
                format!(
                    "table functions such as {f} are not allowed; query the views: {}",
                    self.allowed.join(", ")
                ),
            ));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let known = one_part(relation)
            .is_some_and(|n| self.allowed.contains(&n.as_str()) || self.ctes.contains(&n.to_lowercase()));
        if !known {
            self.refusal = Some(refuse(
                "unknown_table",
                format!(
                    "{relation} is not a view you may query; the views are: {}",
                    self.allowed.join(", ")
                ),
            ));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn check_query(query: &Query, allowed: &[&str]) -> Result<(), Refusal> {
    let mut v = Relations {
        allowed,
        ctes: BTreeSet::new(),
        refusal: None,
    };
    // CTE names are collected as each query is entered, before its body's
    // relations are visited.
    let _ = query.visit(&mut v);
    match v.refusal {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEWS: [&str; 2] = ["filings", "districts"];

    fn code(sql: &str) -> &'static str {
        match check(sql, &VIEWS) {
            Ok(_) => "ok",
            Err(r) => r.code,
        }
    }

    #[test]
    fn read_only_queries_over_the_views_pass() {
        assert_eq!(code("SELECT district_code, count(*) FROM filings GROUP BY 1"), "ok");
        assert_eq!(
            code("WITH t AS (SELECT * FROM filings) SELECT * FROM t JOIN districts d USING (district_code)"),
            "ok"
        );
        assert_eq!(
            code("SELECT * FROM \"filings\" WHERE unit_id IN (SELECT unit_id FROM filings)"),
            "ok"
        );
        assert_eq!(code("SELECT 1"), "ok");
    }

    #[test]
    fn every_refused_form_has_its_code() {
        for (sql, expected) in [
            ("CREATE TABLE x AS SELECT 1", "sql_refused"),
            ("CREATE VIEW v AS SELECT * FROM filings", "sql_refused"),
            ("DROP TABLE filings", "sql_refused"),
            ("INSERT INTO filings VALUES (1)", "sql_refused"),
            ("UPDATE filings SET unit_id = 'x'", "sql_refused"),
            ("DELETE FROM filings", "sql_refused"),
            ("COPY filings TO '/tmp/x.csv'", "sql_refused"),
            ("SET datafusion.execution.batch_size = 1", "sql_refused"),
            (
                "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/etc/passwd'",
                "sql_refused",
            ),
            ("EXPLAIN SELECT 1", "sql_refused"),
            ("SELECT 1; SELECT 2", "sql_refused"),
            (
                "SELECT * FROM generate_series(1, 1000000000000)",
                "table_function_refused",
            ),
            ("SELECT * FROM range(10)", "table_function_refused"),
            ("SELECT * FROM '/etc/passwd'", "unknown_table"),
            ("SELECT * FROM 'https://example.com/x.parquet'", "unknown_table"),
            ("SELECT * FROM superseded", "unknown_table"),
            ("SELECT * FROM information_schema.tables", "unknown_table"),
            ("SELECT * FROM datafusion.public.filings", "unknown_table"),
            (
                "SELECT * FROM filings WHERE unit_id IN (SELECT row_id FROM stored)",
                "unknown_table",
            ),
            ("SELEC 1", "invalid_sql"),
            ("", "invalid_sql"),
        ] {
            assert_eq!(code(sql), expected, "{sql}");
        }
    }
}
