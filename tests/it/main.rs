//! The integration tests, as one test binary: each module drives the real
//! binary, the real router or the real engine from outside the crate. One
//! binary links the engine once instead of once per file, which keeps a
//! clean debug build's disk use and link time down (the CI machine's disk is
//! not large). Run one module with `cargo test --test it crash::`.

mod common;

// Browser tests' tools (WebDriver, axe-core, the served site).
mod webdriver;

mod access;
mod admin_pages;
mod api;
mod backup;
mod bad_inputs;
mod browser;
mod cli;
mod compaction;
mod crash;
mod dashboard_outlook;
mod delivery;
mod delta;
mod downloads;
mod filing_pages;
mod golden;
mod inputs;
mod layout;
mod lifecycle;
mod metrics;
mod outlook;
mod pages_browser;
mod prop;
mod queries_api;
mod query_pages;
mod recovery;
mod reform;
mod release;
mod report_outlook;
mod sql_fixtures;
mod targets;
mod walks_browser;
