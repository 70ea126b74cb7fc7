//! Figures made readable: numbers in vi-VN or English (`locale`), the
//! dashboard's views (`dashboard`), its tables for the page and their
//! downloads (`page_tables`) and pages (`pages`), charts, share tables
//! as CSV and text (`export`), the table model shared by exports and the
//! report (`table`), the label catalogue (`labels`) and the filing template
//! (`template`). Plain data in, bytes out: nothing here reads the store or
//! runs a query; `dashboard` alone asks `App` for the answers it lays out.

pub mod charts;
pub mod dashboard;
pub mod export;
pub mod labels;
pub mod locale;
pub mod page_tables;
pub mod pages;
pub mod table;
pub mod template;
