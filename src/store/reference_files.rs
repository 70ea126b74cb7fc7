//! The reference tables in force for a data directory: the compiled-in
//! fixtures, each file replaced by `DATA/reference/<name>` when present.

use super::{Warehouse, WarehouseError, io};
use crate::domain::reference::{Reference, ReferenceTexts};
use std::fs;

const DISTRICTS: &str = include_str!("../../fixtures/reference/districts.csv");
const SECTOR_GROUPS: &str = include_str!("../../fixtures/reference/sector_groups.csv");
const VSIC_CODES: &str = include_str!("../../fixtures/reference/vsic_codes.csv");
const TARGETS: &str = include_str!("../../fixtures/reference/targets.csv");
const COMMUNES: &str = include_str!("../../fixtures/reference/units_2025.csv");
const COMMUNE_SOURCES: &str = include_str!("../../fixtures/reference/units_2025_from_communes.csv");

fn builtin_communes() -> String {
    COMMUNES.to_string()
}

fn builtin_commune_sources() -> String {
    COMMUNE_SOURCES.to_string()
}

/// The four reference files' texts, as read or as kept with a batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceFiles {
    pub districts: String,
    pub sector_groups: String,
    pub vsic_codes: String,
    pub targets: String,
    /// Kept with batches since the 2025 reform's units were added; a batch
    /// kept before then is read with the compiled-in ones (its filings name
    /// no commune).
    #[serde(default = "builtin_communes")]
    pub communes: String,
    #[serde(default = "builtin_commune_sources")]
    pub commune_sources: String,
}

impl ReferenceFiles {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings serialize")
    }

    pub fn parse(&self) -> Result<Reference, WarehouseError> {
        Ok(Reference::parse(ReferenceTexts {
            districts: &self.districts,
            sector_groups: &self.sector_groups,
            vsic_codes: &self.vsic_codes,
            targets: &self.targets,
            communes: &self.communes,
            commune_sources: &self.commune_sources,
        })?)
    }
}

/// The reference kept with a committed batch (`relative` to the data directory).
pub fn recorded_reference(warehouse: &Warehouse, relative: &str) -> Result<Reference, WarehouseError> {
    let path = warehouse.path_of(relative);
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let files: ReferenceFiles = serde_json::from_str(&text)
        .map_err(|e| io(&path)(std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())))?;
    files.parse()
}

/// The reference files' names under `DATA/reference/`, in the order
/// [`reference_files`] reads them.
pub const FILE_NAMES: [&str; 6] = [
    "districts.csv",
    "sector_groups.csv",
    "vsic_codes.csv",
    "targets.csv",
    "units_2025.csv",
    "units_2025_from_communes.csv",
];

/// The texts of the reference files in force for `warehouse`.
pub fn reference_files(warehouse: &Warehouse) -> Result<ReferenceFiles, WarehouseError> {
    let dir = warehouse.root().join("reference");
    let read = |name: &str, builtin: &'static str| -> Result<String, WarehouseError> {
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin.to_string()),
            Err(e) => Err(io(&path)(e)),
        }
    };
    let [districts, sector_groups, vsic_codes, targets, communes, commune_sources] = FILE_NAMES;
    Ok(ReferenceFiles {
        districts: read(districts, DISTRICTS)?,
        sector_groups: read(sector_groups, SECTOR_GROUPS)?,
        vsic_codes: read(vsic_codes, VSIC_CODES)?,
        targets: read(targets, TARGETS)?,
        communes: read(communes, COMMUNES)?,
        commune_sources: read(commune_sources, COMMUNE_SOURCES)?,
    })
}

/// The compiled-in reference alone.
pub fn builtin_reference() -> Reference {
    Reference::parse(ReferenceTexts {
        districts: DISTRICTS,
        sector_groups: SECTOR_GROUPS,
        vsic_codes: VSIC_CODES,
        targets: TARGETS,
        communes: COMMUNES,
        commune_sources: COMMUNE_SOURCES,
    })
    .expect("the bundled reference tables are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_reference_is_complete() {
        let r = builtin_reference();
        assert_eq!(r.districts.len(), 27);
        assert_eq!(r.sectors.len(), 15);
        assert!(r.vsic.len() >= 50);
        let t = r.target_for(2025, None).unwrap();
        assert_eq!((t.share(), t.program.as_str()), (0.10, "134/KH-UBND"));
        let t = r.target_for(2026, None).unwrap();
        assert_eq!((t.share(), t.program.as_str()), (0.11, "2326/QĐ-TTg"));
    }

    #[test]
    fn a_data_directory_file_overrides_the_builtin() {
        let dir = tempfile::tempdir().unwrap();
        let w = Warehouse::open(dir.path()).unwrap();
        fs::create_dir_all(dir.path().join("reference")).unwrap();
        fs::write(
            dir.path().join("reference/targets.csv"),
            "year,scope,target_share,source\n2024,province,0.09,local plan\n",
        )
        .unwrap();
        let r = reference_files(&w).unwrap().parse().unwrap();
        // The former three-column shape: the programme `legacy`, its
        // latest row not after the year.
        let t = r.target_for(2025, None).unwrap();
        assert_eq!((t.share(), t.program.as_str()), (0.09, "legacy"));
        assert_eq!(r.districts.len(), 27);
    }
}
