//! ecomshare: the e-commerce share of total retail sales against the
//! national target, for Thanh Hóa province.
//!
//! Data flows filings → [`ingest`] (polars) → [`warehouse`] (Parquet +
//! manifest) → [`engine`] (DataFusion, `queries/`) → [`app`] (figures against
//! targets) → [`http`] (axum) and the CLI. [`domain`] holds the pure types and
//! rules every layer shares. See ARCHITECTURE.md.

pub mod app;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod charts;
pub mod clock;
pub mod commands;
pub mod config;
pub mod csv;
pub mod dashboard;
pub mod delivery;
pub mod demo;
pub mod digest;
pub mod domain;
pub mod engine;
pub mod export;
pub mod fsutil;
pub mod http;
pub mod ingest;
pub mod locale;
pub mod pdf;
pub mod report;
pub mod rollup;
pub mod schedule;
pub mod tabular;
pub mod template;
pub mod warehouse;
pub mod web;
