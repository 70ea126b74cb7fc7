//! Catalog: the named queries on offer — compiled in from `queries/*.sql`,
//! then read at run time from the configured queries directory and from the
//! data directory's `queries/`, a later source replacing an earlier one of
//! the same name. Dropping a file into either directory adds a query
//! without a rebuild or a restart: the directories are listed again on every
//! use and files re-read when their size or time changes.
//!
//! Owns finding and parsing query files and reporting the broken ones; never
//! runs a query (the engine does) and never touches HTTP.

use crate::domain::QueryDef;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The queries shipped with the binary.
pub const BUILTIN: [(&str, &str); 8] = [
    ("share_by_district", include_str!("../../queries/share_by_district.sql")),
    ("share_by_sector", include_str!("../../queries/share_by_sector.sql")),
    (
        "share_by_district_sector",
        include_str!("../../queries/share_by_district_sector.sql"),
    ),
    ("monthly_trend", include_str!("../../queries/monthly_trend.sql")),
    ("yoy_by_district", include_str!("../../queries/yoy_by_district.sql")),
    (
        "gap_to_target_by_district",
        include_str!("../../queries/gap_to_target_by_district.sql"),
    ),
    (
        "coverage_by_district",
        include_str!("../../queries/coverage_by_district.sql"),
    ),
    ("revisions", include_str!("../../queries/revisions.sql")),
];

/// Where a query came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub def: Arc<QueryDef>,
    pub source: Source,
    /// SHA-256 of the file's text: a changed query gives changed ETags.
    pub digest: String,
}

/// A query file that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub message: String,
}

/// The queries in force.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub queries: BTreeMap<String, Entry>,
    pub problems: Vec<Problem>,
}

impl Listing {
    /// The listing as JSON: each query with its titles, description and
    /// parameters (type, default, descriptions), then the files skipped.
    pub fn to_json(&self) -> serde_json::Value {
        let queries: Vec<serde_json::Value> = self
            .queries
            .values()
            .map(|e| {
                let d = &e.def;
                let params: Vec<serde_json::Value> = d
                    .params
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name,
                            "type": p.kind.name(),
                            "default": p.default.to_string(),
                            "description": {"vi": p.description_vi, "en": p.description_en},
                        })
                    })
                    .collect();
                serde_json::json!({
                    "name": d.name,
                    "title": {"vi": d.title_vi, "en": d.title_en},
                    "description": d.description,
                    "description_vi": d.description_vi,
                    "params": params,
                    "source": match e.source { Source::Builtin => "builtin", Source::File(_) => "file" },
                    // Who may run it: `protected` (any analyst; figures under
                    // disclosure control) or `full` (admins only).
                    "access": if d.protectable() { "protected" } else { "full" },
                    "href": format!("/api/v1/queries/{}", d.name),
                })
            })
            .collect();
        let problems: Vec<serde_json::Value> = self
            .problems
            .iter()
            .map(|p| {
                serde_json::json!({
                    "file": p.file.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "message": p.message,
                })
            })
            .collect();
        serde_json::json!({"queries": queries, "problems": problems})
    }
}

type Signature = Vec<(PathBuf, u64, Option<SystemTime>)>;

pub struct Catalog {
    dirs: Vec<PathBuf>,
    state: Mutex<Option<(Signature, Arc<Listing>)>>,
}

fn digest(text: &str) -> String {
    crate::util::digest::sha256_hex(text.as_bytes())
}

/// The `.sql` files of `dir`, by name; none when it does not exist.
fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql") && p.is_file())
        .collect();
    files.sort();
    files
}

impl Catalog {
    /// A catalog reading `dirs` in order, after the built-in queries.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self {
            dirs,
            state: Mutex::new(None),
        }
    }

    /// The queries in force now.
    pub fn listing(&self) -> Arc<Listing> {
        let files: Vec<PathBuf> = self.dirs.iter().flat_map(|d| sql_files(d)).collect();
        let signature: Signature = files
            .iter()
            .map(|f| {
                let meta = fs::metadata(f).ok();
                (
                    f.clone(),
                    meta.as_ref().map_or(0, |m| m.len()),
                    meta.and_then(|m| m.modified().ok()),
                )
            })
            .collect();
        let mut state = self.state.lock().expect("catalog lock");
        if let Some((sig, listing)) = state.as_ref()
            && *sig == signature
        {
            return listing.clone();
        }
        let listing = Arc::new(build(&files));
        *state = Some((signature, listing.clone()));
        listing
    }

    pub fn get(&self, name: &str) -> Option<Entry> {
        self.listing().queries.get(name).cloned()
    }
}

fn build(files: &[PathBuf]) -> Listing {
    let mut listing = Listing::default();
    for (name, text) in BUILTIN {
        let def = QueryDef::parse(name, text).unwrap_or_else(|e| panic!("built-in query {name} is broken: {e}"));
        listing.queries.insert(
            name.to_string(),
            Entry {
                def: Arc::new(def),
                source: Source::Builtin,
                digest: digest(text),
            },
        );
    }
    for file in files {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|text| QueryDef::parse(&name, &text).map(|def| (def, digest(&text))));
        match parsed {
            Ok((def, digest)) => {
                listing.queries.insert(
                    name,
                    Entry {
                        def: Arc::new(def),
                        source: Source::File(file.clone()),
                        digest,
                    },
                );
            }
            Err(message) => {
                tracing::warn!(file = %file.display(), %message, "query file skipped");
                listing.problems.push(Problem {
                    file: file.clone(),
                    message,
                });
            }
        }
    }
    listing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_file_in_the_tree_is_built_in_and_parses() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let on_disk: Vec<String> = sql_files(&dir)
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let mut built_in: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        built_in.sort();
        assert_eq!(on_disk, built_in, "list each queries/*.sql in catalog::BUILTIN");
        let listing = Catalog::new(vec![]).listing();
        assert_eq!(listing.queries.len(), BUILTIN.len());
        assert!(listing.problems.is_empty());
    }

    #[test]
    fn a_dropped_file_adds_or_replaces_a_query_and_a_broken_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(vec![dir.path().to_path_buf()]);
        assert!(catalog.get("my_count").is_none());
        fs::write(
            dir.path().join("my_count.sql"),
            "-- title.vi: Đếm\n-- title.en: Count\nSELECT count(*) AS n FROM filings\n",
        )
        .unwrap();
        let entry = catalog.get("my_count").expect("picked up without a restart");
        assert_eq!(entry.source, Source::File(dir.path().join("my_count.sql")));
        fs::write(
            dir.path().join("revisions.sql"),
            "-- title.vi: Khác\n-- title.en: Other\nSELECT 1 AS one\n",
        )
        .unwrap();
        assert_eq!(catalog.get("revisions").unwrap().def.title_en, "Other");
        fs::write(dir.path().join("broken.sql"), "SELECT 1\n").unwrap();
        let listing = catalog.listing();
        assert!(!listing.queries.contains_key("broken"));
        assert_eq!(listing.problems.len(), 1);
        assert!(listing.problems[0].message.contains("title"), "{:?}", listing.problems);
    }
}
