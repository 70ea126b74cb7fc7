//! Figures made readable: numbers in vi-VN or English (`locale`), the
//! dashboard's views (`dashboard`) and pages (`pages`), charts, share tables
//! as CSV and text (`export`), query results in officials' formats
//! (`tabular`), the table model shared by exports and the report (`table`)
//! and the filing template (`template`). Plain data in, bytes
//! out: nothing here reads the store or runs a query.

pub mod charts;
pub mod dashboard;
pub mod export;
pub mod labels;
pub mod locale;
pub mod pages;
pub mod table;
pub mod tabular;
pub mod template;
