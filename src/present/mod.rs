//! Figures made readable: numbers in vi-VN or English (`locale`), the
//! dashboard's views (`dashboard`) and outlook tiles (`dashboard_outlook`),
//! its tables for the page and their downloads (`page_tables`) and pages
//! (`pages`), charts, share tables as CSV and text (`export`), the year's
//! outlook as text (`outlook`), the table model shared by exports and the
//! report (`table`), the label catalogue (`labels`), the filing template
//! (`template`) and the filers' pages and rejection downloads
//! (`filing_pages`). Plain data in, bytes out: nothing here reads the store
//! or runs a query; `dashboard` alone asks `App` for the answers it lays out.

pub mod admin_pages;
pub mod charts;
pub mod dashboard;
pub mod dashboard_outlook;
pub mod export;
pub mod filing_pages;
pub mod labels;
pub mod locale;
pub mod outlook;
pub mod page_tables;
pub mod pages;
pub mod query_pages;
pub mod shell;
pub mod table;
pub mod template;
