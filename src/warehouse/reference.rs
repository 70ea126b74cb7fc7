//! The reference tables in force for a data directory: the compiled-in
//! fixtures, each file replaced by `DATA/reference/<name>` when present.

use super::{Warehouse, WarehouseError, io};
use crate::domain::reference::{Reference, ReferenceTexts};
use std::fs;

const DISTRICTS: &str = include_str!("../../fixtures/reference/districts.csv");
const SECTOR_GROUPS: &str = include_str!("../../fixtures/reference/sector_groups.csv");
const VSIC_CODES: &str = include_str!("../../fixtures/reference/vsic_codes.csv");
const TARGETS: &str = include_str!("../../fixtures/reference/targets.csv");

/// Reads the reference in force for `warehouse`.
pub fn load_reference(warehouse: &Warehouse) -> Result<Reference, WarehouseError> {
    let dir = warehouse.root().join("reference");
    let read = |name: &str, builtin: &'static str| -> Result<String, WarehouseError> {
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(builtin.to_string()),
            Err(e) => Err(io(&path)(e)),
        }
    };
    let districts = read("districts.csv", DISTRICTS)?;
    let sector_groups = read("sector_groups.csv", SECTOR_GROUPS)?;
    let vsic_codes = read("vsic_codes.csv", VSIC_CODES)?;
    let targets = read("targets.csv", TARGETS)?;
    Ok(Reference::parse(ReferenceTexts {
        districts: &districts,
        sector_groups: &sector_groups,
        vsic_codes: &vsic_codes,
        targets: &targets,
    })?)
}

/// The compiled-in reference alone.
pub fn builtin_reference() -> Reference {
    Reference::parse(ReferenceTexts {
        districts: DISTRICTS,
        sector_groups: SECTOR_GROUPS,
        vsic_codes: VSIC_CODES,
        targets: TARGETS,
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
        assert_eq!(r.target_for(2025, None).unwrap().share(), 0.10);
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
        let r = load_reference(&w).unwrap();
        assert_eq!(r.target_for(2025, None).unwrap().share(), 0.09);
        assert_eq!(r.districts.len(), 27);
    }
}
