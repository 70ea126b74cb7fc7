//! Configuration, layered: built-in defaults, then a TOML file, then
//! `ECOMSHARE_*` environment variables, then command-line flags (the last
//! two merged by the CLI parser). Read once at start.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const DEFAULT_DATA: &str = "./data";
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Extra named queries, read when the directory exists.
pub const DEFAULT_QUERIES: &str = "./queries";
pub const DEFAULT_SQL_MEMORY_MB: u64 = 1024;
pub const DEFAULT_QUERY_TIMEOUT_S: u64 = 30;
pub const DEFAULT_SQL_ROW_CAP: u64 = 100_000;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        "invalid_config"
    }
}

/// The TOML file's keys; all optional.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub addr: Option<String>,
    /// Load the demo dataset into an empty data directory at `serve`.
    pub demo: Option<bool>,
    /// Compute the dashboard's default views in the background after each
    /// new dataset version (default true).
    pub warm: Option<bool>,
    /// A directory of extra named queries.
    pub queries: Option<PathBuf>,
    /// Memory pool of named and analysts' queries, in MiB.
    pub sql_memory_mb: Option<u64>,
    /// Longest a query may run to its first rows, in seconds.
    pub query_timeout_s: Option<u64>,
    /// Most rows an analyst's SQL may return.
    pub sql_row_cap: Option<u64>,
}

/// Values given by flags or environment (already merged by the CLI parser).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data: Option<PathBuf>,
    pub addr: Option<String>,
    pub no_demo: bool,
    pub no_warm: bool,
    pub queries: Option<PathBuf>,
    pub sql_memory_mb: Option<u64>,
    pub query_timeout_s: Option<u64>,
    pub sql_row_cap: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data: PathBuf,
    pub addr: String,
    pub demo: bool,
    pub warm: bool,
    pub queries: PathBuf,
    pub sql_memory_mb: u64,
    pub query_timeout_s: u64,
    pub sql_row_cap: u64,
}

impl FileConfig {
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

pub fn resolve(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
    let file = match file {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    Ok(Config {
        data: overrides
            .data
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
        addr: overrides.addr.or(file.addr).unwrap_or_else(|| DEFAULT_ADDR.to_string()),
        demo: !overrides.no_demo && file.demo.unwrap_or(true),
        warm: !overrides.no_warm && file.warm.unwrap_or(true),
        queries: overrides
            .queries
            .or(file.queries)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_QUERIES)),
        sql_memory_mb: overrides
            .sql_memory_mb
            .or(file.sql_memory_mb)
            .unwrap_or(DEFAULT_SQL_MEMORY_MB),
        query_timeout_s: overrides
            .query_timeout_s
            .or(file.query_timeout_s)
            .unwrap_or(DEFAULT_QUERY_TIMEOUT_S),
        sql_row_cap: overrides
            .sql_row_cap
            .or(file.sql_row_cap)
            .unwrap_or(DEFAULT_SQL_ROW_CAP),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecomshare.toml");
        std::fs::write(
            &path,
            "data = \"/srv/ecomshare\"\naddr = \"0.0.0.0:9000\"\ndemo = false\nsql_row_cap = 500\n",
        )
        .unwrap();
        let c = resolve(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.data, PathBuf::from("/srv/ecomshare"));
        assert!(!c.demo);
        assert_eq!(c.sql_row_cap, 500);
        assert_eq!(c.query_timeout_s, DEFAULT_QUERY_TIMEOUT_S);
        let c = resolve(
            Some(&path),
            Overrides {
                addr: Some("127.0.0.1:1".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.addr, "127.0.0.1:1");
        let c = resolve(None, Overrides::default()).unwrap();
        assert_eq!(
            (c.data.to_str().unwrap(), c.addr.as_str(), c.demo),
            (DEFAULT_DATA, DEFAULT_ADDR, true)
        );
    }

    #[test]
    fn unknown_keys_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "dta = \"x\"\n").unwrap();
        assert!(resolve(Some(&path), Overrides::default()).is_err());
    }
}
