//! Reference tables: districts, the commune-level units that replaced them
//! on 1 July 2025 (and the former communes that formed each), retail sector
//! groups, VSIC codes and targets, parsed from their CSV text. Codes are
//! effective-dated: a district is in force until its `valid_to` (Đông Sơn,
//! 405, until 2024-12, successor 380) or, at the latest, until the district
//! level ended (the month before [`REFORM`]); communes are in force from
//! [`REFORM`]. Which text (compiled-in fixtures or a data directory's
//! override) is the caller's business: this module reads no files.

use super::period::Period;
use super::targets::{Indicator, Target, Targets};
use crate::util::csv;
use serde::Serialize;
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
    /// A value of one field: its line in the file (the header is line 1)
    /// and its column's name.
    #[error("{file}, line {line}, column {column}: {message}")]
    Field {
        file: &'static str,
        line: usize,
        column: &'static str,
        message: String,
    },
}

impl ReferenceError {
    pub fn code(&self) -> &'static str {
        "invalid_reference"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct District {
    pub district_code: String,
    pub district_name: String,
    pub district_type: String,
    pub name_en: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub successor_code: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

/// A commune-level unit of the 2025 reform (phường or xã), with the former
/// district it mostly lies in (as districts stood on 30 June 2025; by the
/// majority of the communes merged into it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commune {
    pub commune_code: String,
    pub commune_name: String,
    pub commune_type: String,
    pub district_code: String,
    /// The first month the code is in force: [`REFORM`].
    pub valid_from: String,
    /// The former districts its former communes lay in, when more than one
    /// (`district_code` first): units that span a former boundary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<String>,
}

/// The first month of the commune level: Resolution 1686/NQ-UBTVQH15
/// abolished Thanh Hóa's districts on 1 July 2025.
pub const REFORM: Period = Period::new_unchecked(2025, 7);
/// [`REFORM`] written out.
pub const REFORM_TEXT: &str = "2025-07";

/// Why a code cannot be used for a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotInForce {
    /// Not yet in force (a commune before the reform).
    Before(Period),
    /// No longer in force, with the code that succeeded it, if one did.
    After(Period, Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectorGroup {
    pub group_code: String,
    pub kind: String,
    pub group_name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VsicCode {
    pub vsic_code: String,
    pub group_code: String,
    pub vsic_name: String,
}

/// The text of each reference file.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceTexts<'a> {
    pub districts: &'a str,
    pub sector_groups: &'a str,
    pub vsic_codes: &'a str,
    pub targets: &'a str,
    /// units_2025.csv: the commune-level units from the reform.
    pub communes: &'a str,
    /// units_2025_from_communes.csv: the former communes of each unit.
    pub commune_sources: &'a str,
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub districts: Vec<District>,
    pub communes: Vec<Commune>,
    pub sectors: Vec<SectorGroup>,
    pub vsic: Vec<VsicCode>,
    /// The targets' programmes (`targets.csv`) and their priority.
    pub targets: Targets,
    district_index: HashMap<String, usize>,
    commune_index: HashMap<String, usize>,
    sector_index: HashMap<String, usize>,
    vsic_index: HashMap<String, usize>,
}

impl Reference {
    pub fn parse(t: ReferenceTexts<'_>) -> Result<Self, ReferenceError> {
        let districts = parse_districts(t.districts)?;
        let sectors = parse_sectors(t.sector_groups)?;
        let vsic = parse_vsic(t.vsic_codes)?;
        let targets = Targets::parse(t.targets)?;
        let mut communes = Table::parse("units_2025.csv", t.communes)?.rows(
            &["unit_code", "unit_name", "unit_type", "former_district_code"],
            |f, v| {
                let get = |n: &str| v.get(n);
                let code = f.code(get("unit_code"))?;
                if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(f.err(format!("a commune code is 5 digits: {code:?}")));
                }
                Ok(Commune {
                    commune_code: code,
                    commune_name: get("unit_name").to_string(),
                    commune_type: get("unit_type").to_string(),
                    district_code: f.code(get("former_district_code"))?,
                    valid_from: REFORM_TEXT.to_string(),
                    spans: Vec::new(),
                })
            },
        )?;
        let sources = Table::parse("units_2025_from_communes.csv", t.commune_sources)?.rows(
            &["unit_code", "old_district_code_at_2025_06_30"],
            |f, v| {
                Ok((
                    f.code(v.get("unit_code"))?,
                    f.code(v.get("old_district_code_at_2025_06_30"))?,
                ))
            },
        )?;
        let district_index = index(&districts, |d| &d.district_code, "districts.csv")?;
        let commune_index = index(&communes, |c| &c.commune_code, "units_2025.csv")?;
        for c in &communes {
            if !district_index.contains_key(&c.district_code) {
                return Err(ReferenceError::Invalid {
                    file: "units_2025.csv",
                    message: format!("unit {} lies in unknown district {}", c.commune_code, c.district_code),
                });
            }
        }
        for (unit, district) in sources {
            let Some(&i) = commune_index.get(&unit) else {
                return Err(ReferenceError::Invalid {
                    file: "units_2025_from_communes.csv",
                    message: format!("unit {unit} is not in units_2025.csv"),
                });
            };
            let c = &mut communes[i];
            if district != c.district_code && !c.spans.contains(&district) {
                if c.spans.is_empty() {
                    c.spans.push(c.district_code.clone());
                }
                c.spans.push(district);
            }
        }
        let sector_index = index(&sectors, |s| &s.group_code, "sector_groups.csv")?;
        let vsic_index = index(&vsic, |v| &v.vsic_code, "vsic_codes.csv")?;
        for v in &vsic {
            if !sector_index.contains_key(&v.group_code) {
                return Err(ReferenceError::Invalid {
                    file: "vsic_codes.csv",
                    message: format!("VSIC {} maps to unknown group {}", v.vsic_code, v.group_code),
                });
            }
        }
        for t in targets.rows() {
            if t.scope != "province" && !district_index.contains_key(&t.scope) && !commune_index.contains_key(&t.scope)
            {
                return Err(ReferenceError::Field {
                    file: "targets.csv",
                    line: t.line,
                    column: "scope",
                    message: format!("{:?} is neither province nor a district or commune code", t.scope),
                });
            }
        }
        Ok(Self {
            districts,
            communes,
            sectors,
            vsic,
            targets,
            district_index,
            commune_index,
            sector_index,
            vsic_index,
        })
    }

    pub fn district(&self, code: &str) -> Option<&District> {
        self.district_index.get(code).map(|&i| &self.districts[i])
    }

    pub fn commune(&self, code: &str) -> Option<&Commune> {
        self.commune_index.get(code).map(|&i| &self.communes[i])
    }

    /// The last month district codes are used in filings: the month before
    /// the commune level began, when the reference has communes.
    pub fn districts_until(&self) -> Option<Period> {
        (!self.communes.is_empty()).then(|| REFORM.add_months(-1).expect("2025-06"))
    }

    /// The last month district `code` is in force: its own `valid_to`, or
    /// the end of the district level, whichever comes first.
    pub fn district_valid_to(&self, code: &str) -> Option<Period> {
        let own = self.district(code)?.valid_to.as_deref().and_then(Period::parse);
        match (own, self.districts_until()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether district `code` (known) may be used for `period`: in force
    /// from its `valid_from` to its `valid_to`, and never after the district
    /// level ended. A district merged into another names its successor.
    pub fn district_in_force(&self, code: &str, period: Period) -> Result<(), NotInForce> {
        let Some(d) = self.district(code) else {
            return Ok(());
        };
        let month = |v: &Option<String>| v.as_deref().and_then(Period::parse);
        if let Some(from) = month(&d.valid_from)
            && period < from
        {
            return Err(NotInForce::Before(from));
        }
        match self.district_valid_to(code) {
            Some(until) if period > until => {
                let successor = d.successor_code.clone().filter(|_| month(&d.valid_to) == Some(until));
                Err(NotInForce::After(until, successor))
            }
            _ => Ok(()),
        }
    }

    /// Whether district `code`'s area existed in some month of `from..=to`:
    /// from its `valid_from` to its own `valid_to` (a district merged into
    /// another ends; the district level's end does not end its area, which
    /// the communes continue).
    pub fn district_area_in(&self, code: &str, from: Period, to: Period) -> bool {
        let Some(d) = self.district(code) else {
            return false;
        };
        let month = |v: &Option<String>| v.as_deref().and_then(Period::parse);
        month(&d.valid_from).is_none_or(|f| f <= to) && month(&d.valid_to).is_none_or(|t| t >= from)
    }

    /// Whether commune `code` (known) may be used for `period`: from the reform on.
    pub fn commune_in_force(&self, period: Period) -> Result<(), NotInForce> {
        if period < REFORM {
            Err(NotInForce::Before(REFORM))
        } else {
            Ok(())
        }
    }

    /// The units that span two or more former districts, for the
    /// methodology: their figures count in `district_code` only.
    pub fn spanning_communes(&self) -> impl Iterator<Item = &Commune> {
        self.communes.iter().filter(|c| !c.spans.is_empty())
    }

    pub fn sector(&self, code: &str) -> Option<&SectorGroup> {
        self.sector_index.get(code).map(|&i| &self.sectors[i])
    }

    pub fn vsic(&self, code: &str) -> Option<&VsicCode> {
        self.vsic_index.get(code).map(|&i| &self.vsic[i])
    }

    /// The e-commerce share target governing `year` for a district or a
    /// commune (its own rows first), or the province when `scope` is
    /// `None`: see [`Targets::governing`].
    pub fn target_for(&self, year: u16, scope: Option<&str>) -> Option<Target> {
        self.targets
            .governing(Indicator::EcommerceShare, year, scope.as_slice())
    }

    /// Every programme's e-commerce share target for `year` and `scope`
    /// (see [`Targets::all`]).
    pub fn targets_for(&self, year: u16, scope: Option<&str>) -> Vec<Target> {
        self.targets.all(Indicator::EcommerceShare, year, scope.as_slice())
    }

    /// The same reference with `programs` as the targets' configured priority.
    pub fn with_target_priority(mut self, programs: Vec<String>) -> Self {
        self.targets = self.targets.with_priority(programs);
        self
    }
}

/// `districts.csv`: the district-level units with their months in force and centroids.
fn parse_districts(text: &str) -> Result<Vec<District>, ReferenceError> {
    Table::parse("districts.csv", text)?.rows(
        &[
            "district_code",
            "district_name",
            "district_type",
            "name_en",
            "valid_from",
            "valid_to",
            "successor_code",
            "lat",
            "lon",
        ],
        |f, v| {
            let get = |n: &str| v.get(n);
            let coord = |name: &str| {
                get(name)
                    .parse::<f64>()
                    .map_err(|_| f.err(format!("{name} is not a number: {:?}", get(name))))
            };
            let month = |name: &str| -> Result<Option<String>, ReferenceError> {
                match get(name) {
                    "" => Ok(None),
                    v => Period::parse(v)
                        .map(|p| Some(p.to_string()))
                        .ok_or_else(|| f.err(format!("{name} is not YYYY-MM: {v:?}"))),
                }
            };
            Ok(District {
                district_code: f.code(get("district_code"))?,
                district_name: get("district_name").to_string(),
                district_type: get("district_type").to_string(),
                name_en: get("name_en").to_string(),
                valid_from: month("valid_from")?,
                valid_to: month("valid_to")?,
                successor_code: Some(get("successor_code").to_string()).filter(|s| !s.is_empty()),
                lat: coord("lat")?,
                lon: coord("lon")?,
            })
        },
    )
}

/// `sector_groups.csv`: the retail sector groups.
fn parse_sectors(text: &str) -> Result<Vec<SectorGroup>, ReferenceError> {
    Table::parse("sector_groups.csv", text)?.rows(&["group_code", "kind", "group_name", "name_en"], |f, v| {
        let get = |n: &str| v.get(n);
        Ok(SectorGroup {
            group_code: f.code(get("group_code"))?,
            kind: get("kind").to_string(),
            group_name: get("group_name").to_string(),
            name_en: get("name_en").to_string(),
        })
    })
}

/// `vsic_codes.csv`: VSIC codes (4 or 5 digits) and their groups.
fn parse_vsic(text: &str) -> Result<Vec<VsicCode>, ReferenceError> {
    Table::parse("vsic_codes.csv", text)?.rows(&["vsic_code", "group_code", "vsic_name"], |f, v| {
        let get = |n: &str| v.get(n);
        let code = f.code(get("vsic_code"))?;
        if !(4..=5).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(f.err(format!("VSIC code must be 4 or 5 digits: {code:?}")));
        }
        Ok(VsicCode {
            vsic_code: code,
            group_code: f.code(get("group_code"))?,
            vsic_name: get("vsic_name").to_string(),
        })
    })
}

/// Parses a decimal in [0, 1] with at most 12 fractional digits into an
/// exact fraction over a power of ten.
pub(super) fn parse_fraction(s: &str) -> Option<(u64, u64)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 12 {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let den = 10u64.pow(frac.len() as u32);
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let num = int.checked_mul(den)?.checked_add(frac_v)?;
    (num <= den).then_some((num, den))
}

fn index<T>(
    rows: &[T],
    key: impl Fn(&T) -> &String,
    file: &'static str,
) -> Result<HashMap<String, usize>, ReferenceError> {
    let mut map = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if map.insert(key(r).clone(), i).is_some() {
            return Err(ReferenceError::Invalid {
                file,
                message: format!("duplicate code {}", key(r)),
            });
        }
    }
    Ok(map)
}

/// A parsed CSV table with named columns.
pub(super) struct Table {
    file: &'static str,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The line each row starts on (the header's is 1, when it is first).
    lines: Vec<usize>,
}

/// The values of one row, by column name.
pub(super) struct RowValues<'r> {
    cols: &'r HashMap<&'static str, usize>,
    row: &'r [String],
}

impl<'r> RowValues<'r> {
    pub(super) fn get(&self, name: &str) -> &'r str {
        self.cols.get(name).map(|&k| self.row[k].as_str()).unwrap_or("")
    }
}

/// Row context for error messages.
pub(super) struct RowCtx {
    file: &'static str,
    /// The record's number after the header, from 1.
    record: usize,
    /// The line the record starts on.
    pub(super) line: usize,
}

impl RowCtx {
    fn err(&self, message: String) -> ReferenceError {
        ReferenceError::Invalid {
            file: self.file,
            message: format!("record {}: {message}", self.record),
        }
    }

    /// An error in `column` of this row, naming its line.
    pub(super) fn at(&self, column: &'static str, message: String) -> ReferenceError {
        ReferenceError::Field {
            file: self.file,
            line: self.line,
            column,
            message,
        }
    }

    fn code(&self, v: &str) -> Result<String, ReferenceError> {
        if v.is_empty() {
            Err(self.err("empty code".into()))
        } else {
            Ok(v.to_string())
        }
    }
}

impl Table {
    pub(super) fn parse(file: &'static str, text: &str) -> Result<Self, ReferenceError> {
        let input = csv::strip_bom(text.as_bytes());
        // Record by record, to know the line each starts on (a quoted
        // field may hold line breaks; empty lines are not records).
        let mut records = csv::Records::new();
        let mut lines = Vec::new();
        let (mut pos, mut line) = (0, 1);
        loop {
            let before = records.len();
            let csv::Step::Advanced(next) = csv::read_record(input, pos, true, &mut records) else {
                break;
            };
            if records.len() > before {
                lines.push(line);
            }
            line += input[pos..next].iter().filter(|&&b| b == b'\n').count();
            pos = next;
        }
        let field = |r: usize, k: usize| {
            String::from_utf8_lossy(records.field(r, k).unwrap_or_default())
                .trim()
                .to_string()
        };
        if records.is_empty() {
            return Err(ReferenceError::Invalid {
                file,
                message: "no header".into(),
            });
        }
        let header: Vec<String> = (0..records.field_count(0)).map(|k| field(0, k)).collect();
        let mut rows = Vec::with_capacity(records.len() - 1);
        for (r, line) in lines.iter().enumerate().skip(1) {
            if records.is_malformed(r) || records.field_count(r) != header.len() {
                return Err(ReferenceError::Invalid {
                    file,
                    message: format!(
                        "record {r} (line {line}) has {} fields, header has {}",
                        records.field_count(r),
                        header.len()
                    ),
                });
            }
            rows.push((0..header.len()).map(|k| field(r, k)).collect());
        }
        lines.remove(0);
        Ok(Self {
            file,
            header,
            rows,
            lines,
        })
    }

    /// Whether the header names `column`.
    pub(super) fn has_column(&self, column: &str) -> bool {
        self.header.iter().any(|h| h == column)
    }

    pub(super) fn rows<T>(
        &self,
        required: &[&'static str],
        make: impl Fn(&RowCtx, &RowValues<'_>) -> Result<T, ReferenceError>,
    ) -> Result<Vec<T>, ReferenceError> {
        let mut cols = HashMap::new();
        for name in required {
            let k = self
                .header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| ReferenceError::Invalid {
                    file: self.file,
                    message: format!("missing column {name}"),
                })?;
            cols.insert(*name, k);
        }
        self.rows
            .iter()
            .zip(&self.lines)
            .enumerate()
            .map(|(i, (row, &line))| {
                let ctx = RowCtx {
                    file: self.file,
                    record: i + 1,
                    line,
                };
                make(&ctx, &RowValues { cols: &cols, row })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> ReferenceTexts<'static> {
        ReferenceTexts {
            districts: "district_code,district_name,district_type,name_en,valid_from,valid_to,successor_code,lat,lon\n380,Thanh Hóa,thành phố,Thanh Hoa City,,,,19.8,105.7\n405,Đông Sơn,huyện,Dong Son,,2024-12,380,19.8,105.7\n",
            sector_groups: "group_code,kind,group_name,name_en\nFOOD,goods,\"Lương thực, thực phẩm\",Food\n",
            vsic_codes: "vsic_code,group_code,vsic_name\n4711,FOOD,x\n47732,FOOD,y\n",
            targets: "year,scope,target_share,source\n2022,province,0.07,a\n2023,province,0.085,b\n2025,province,0.10,c\n2024,405,0.05,d\n",
            communes: "unit_code,unit_name,unit_type,former_district_code,former_district_name\n14758,Phường Hàm Rồng,phường,380,x\n15853,Phường Đông Tiến,phường,380,x\n",
            commune_sources: "unit_code,old_district_code_at_2025_06_30\n14758,380\n15853,380\n15853,405\n",
        }
    }

    #[test]
    fn parses_and_looks_up() {
        let r = Reference::parse(texts()).unwrap();
        assert_eq!(r.district("405").unwrap().successor_code.as_deref(), Some("380"));
        assert_eq!(r.sector("FOOD").unwrap().group_name, "Lương thực, thực phẩm");
        assert_eq!(r.vsic("47732").unwrap().group_code, "FOOD");
        assert!(r.vsic("4799").is_none());
    }

    #[test]
    fn target_in_force_is_latest_year_not_after() {
        let r = Reference::parse(texts()).unwrap();
        assert_eq!(r.target_for(2021, None), None);
        assert_eq!(r.target_for(2022, None).unwrap().low.numerator(), 7);
        assert_eq!(r.target_for(2024, None).unwrap().share(), 0.085);
        assert_eq!(r.target_for(2026, None).unwrap().share(), 0.1);
        // District-specific row wins from its year on, the province before.
        assert_eq!(r.target_for(2024, Some("405")).unwrap().share(), 0.05);
        assert_eq!(r.target_for(2023, Some("405")).unwrap().share(), 0.085);
        assert_eq!(r.target_for(2025, Some("405")).unwrap().share(), 0.05);
        assert_eq!(r.target_for(2025, Some("380")).unwrap().share(), 0.1);
    }

    #[test]
    fn rejects_inconsistent_tables() {
        let mut t = texts();
        t.vsic_codes = "vsic_code,group_code,vsic_name\n4711,NOPE,x\n";
        assert!(Reference::parse(t).is_err());
        let mut t = texts();
        t.targets = "year,scope,target_share,source\n2022,province,1.5,a\n";
        assert!(Reference::parse(t).is_err());
        // A target's scope is the province, a district or a commune.
        let mut t = texts();
        t.targets = "program,indicator,scope,year,kind,low,high,source\nP,ecommerce_share,14758,2026,point,0.2,,a\nP,ecommerce_share,999,2026,point,0.2,,a\n";
        assert_eq!(
            Reference::parse(t).unwrap_err().to_string(),
            "targets.csv, line 3, column scope: \"999\" is neither province nor a district or commune code"
        );
        let mut t = texts();
        t.districts = "district_code,district_name\n380,x\n";
        assert!(Reference::parse(t).is_err());
    }

    #[test]
    fn codes_are_in_force_for_their_months() {
        let r = Reference::parse(texts()).unwrap();
        let m = |s: &str| Period::parse(s).unwrap();
        assert_eq!(r.district_in_force("380", m("2025-06")), Ok(()));
        assert_eq!(
            r.district_in_force("380", m("2025-07")),
            Err(NotInForce::After(m("2025-06"), None))
        );
        assert_eq!(r.district_in_force("405", m("2024-12")), Ok(()));
        assert_eq!(
            r.district_in_force("405", m("2025-03")),
            Err(NotInForce::After(m("2024-12"), Some("380".into())))
        );
        assert_eq!(r.commune_in_force(m("2025-06")), Err(NotInForce::Before(m("2025-07"))));
        assert_eq!(r.commune_in_force(m("2025-07")), Ok(()));
        assert_eq!(r.commune("14758").unwrap().district_code, "380");
        let spanning: Vec<_> = r
            .spanning_communes()
            .map(|c| (c.commune_code.as_str(), c.spans.clone()))
            .collect();
        assert_eq!(spanning, vec![("15853", vec!["380".to_string(), "405".to_string()])]);
    }

    #[test]
    fn the_bundled_reform_units_and_the_five_that_span_two_districts() {
        let r = crate::store::builtin_reference();
        assert_eq!(r.communes.len(), 166);
        assert_eq!(r.communes.iter().filter(|c| c.commune_type == "phường").count(), 19);
        let spanning: Vec<&str> = r.spanning_communes().map(|c| c.commune_code.as_str()).collect();
        assert_eq!(spanning, ["14812", "15448", "15853", "16369", "16516"]);
        assert!(r.communes.iter().all(|c| c.district_code != "405"));
    }

    #[test]
    fn fractions_are_exact() {
        assert_eq!(parse_fraction("0.085"), Some((85, 1000)));
        assert_eq!(parse_fraction("0.10"), Some((10, 100)));
        assert_eq!(parse_fraction("1"), Some((1, 1)));
        assert_eq!(parse_fraction("-0.1"), None);
    }
}
