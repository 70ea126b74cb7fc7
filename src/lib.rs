//! ecomshare: the e-commerce share of total retail sales against the
//! national target, for Thanh Hóa province. See ARCHITECTURE.md.
//!
//! Modules in the order the data flows through them.

/// Access tokens, browser sessions and the audit trail.
pub mod access;
/// The command line: one function per subcommand, configuration, demo data.
pub mod cli;
/// Archived reports delivered to their recipients by webhook and e-mail, through an outbox.
pub mod delivery;
/// Pure types and rules: periods, codes, amounts, shares, targets, reference tables, validation rules.
pub mod domain;
/// SQL over a dataset version with DataFusion: snapshots, named-query catalog, analysts' SQL gate.
pub mod engine;
/// The REST API and the browser pages over axum.
pub mod http;
/// Filing files (CSV, XLSX, JSON) in, validated columns out, written as Parquet (polars).
pub mod ingest;
/// Figures made readable: locale, dashboard, pages, charts, exports, the filing template.
pub mod present;
/// The monthly report to the ministries: build, PDF, archive, schedule.
pub mod report;
/// The use cases the CLI and HTTP share: ingest, share figures, named queries and SQL, compaction.
pub mod service;
/// The data directory: versioned manifests, Parquet batches, segments, rollups, reference files.
pub mod store;
/// The process's metrics (Prometheus): the recorder, each metric's description, `/proc` figures.
pub mod telemetry;
/// Helpers that know nothing of filings: CSV tokenizer, digests, durable writes, the clock.
pub mod util;
