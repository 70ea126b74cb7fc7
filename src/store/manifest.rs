//! The manifest of a dataset version: every committed batch and its files.

use serde::{Deserialize, Serialize};

/// 2: batches list the row ids they supersede.
/// 3: superseded files also name the version that superseded each row
///    (`superseded_in`), so that history can be read as of any version.
pub const FORMAT: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The dataset version: the number of batches committed so far.
    pub version: u64,
    /// When this version was committed (RFC 3339, UTC); empty for version 0.
    pub committed_at: String,
    pub batches: Vec<BatchEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEntry {
    /// The version this batch created; later batches have larger numbers.
    pub seq: u64,
    pub committed_at: String,
    /// The instant given to filings without submitted_at (µs since the epoch).
    pub ingest_time_us: i64,
    pub files: Vec<FileEntry>,
    /// Row ids of earlier filings (of this or earlier batches) that this
    /// batch's filings supersede (Parquet: `row_id`, and `superseded_in`,
    /// this batch's `seq`), relative to
    /// the data directory; absent when none.
    pub superseded: Option<String>,
    /// The reference tables the batch was validated against (JSON of the
    /// four CSV texts), relative to the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The rollup of the version this batch created (the whole table),
    /// relative to the data directory; absent for batches from before
    /// rollups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollup: Option<String>,
    /// The units this batch added to the rollups' unit dictionary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// The ingest report as returned to the submitter (JSON), relative to
    /// the data directory; absent for batches from before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// The id of the access token that submitted the batch (none from the
    /// command line or open local mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_by: Option<String>,
    /// The months whose effective filings this batch changed (its filings'
    /// and those they supersede); absent for batches from before it was
    /// kept, which count as changing every month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Position of the file in its batch.
    pub index: u32,
    /// The file's name as given to the ingest.
    pub name: String,
    pub sha256: String,
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Accepted filings (Parquet), relative to the data directory; absent when none.
    pub filings: Option<String>,
    /// Rejected records with reasons (Parquet), relative; absent when none.
    pub rejections: Option<String>,
}

impl Manifest {
    pub fn empty() -> Self {
        Self {
            format: FORMAT,
            version: 0,
            committed_at: String::new(),
            batches: Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes")
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        let m: Self = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if m.format != FORMAT {
            return Err(format!(
                "manifest format {} is not supported (expected {FORMAT}); \
                 re-ingest the filings into a new data directory",
                m.format
            ));
        }
        Ok(m)
    }

    /// The reference tables as they stood when this version was committed
    /// (relative path), if recorded.
    pub fn reference_file(&self) -> Option<&str> {
        self.batches.last().and_then(|b| b.reference.as_deref())
    }

    /// This version's rollup (relative path), if it has one.
    pub fn rollup_file(&self) -> Option<&str> {
        self.batches.last().and_then(|b| b.rollup.as_deref())
    }

    /// The unit dictionary files of this version, in batch order.
    pub fn units_files(&self) -> impl Iterator<Item = &str> {
        self.batches.iter().filter_map(|b| b.units.as_deref())
    }
}

pub fn file_name(version: u64) -> String {
    format!("{version:08}.json")
}

pub fn parse_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    (stem.len() == 8 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_round_trip() {
        assert_eq!(file_name(7), "00000007.json");
        assert_eq!(parse_file_name("00000007.json"), Some(7));
        assert_eq!(parse_file_name("00000007.json.tmp"), None);
        assert_eq!(parse_file_name("7.json"), None);
        let m = Manifest::empty();
        assert_eq!(Manifest::from_json(&m.to_json()).unwrap(), m);
        assert!(Manifest::from_json("{\"format\":1,\"version\":0,\"committed_at\":\"\",\"batches\":[]}").is_err());
    }
}
