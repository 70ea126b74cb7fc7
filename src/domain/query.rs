//! What a share query asks for: a period range, dimensions to break down by
//! and filters. Parsed and checked here, answered by the engine.

use super::period::Period;

/// A dimension of a breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    District,
    /// The commune-level unit, for months from the 2025 reform.
    Commune,
    Sector,
    Vsic,
    Period,
    Quarter,
    Year,
}

impl Dim {
    pub const ALL: [Dim; 7] = [
        Dim::District,
        Dim::Commune,
        Dim::Sector,
        Dim::Vsic,
        Dim::Period,
        Dim::Quarter,
        Dim::Year,
    ];

    /// The name used in `by=` lists.
    pub fn name(self) -> &'static str {
        match self {
            Dim::District => "district",
            Dim::Commune => "commune",
            Dim::Sector => "sector",
            Dim::Vsic => "vsic",
            Dim::Period => "period",
            Dim::Quarter => "quarter",
            Dim::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == s)
    }

    /// The key field of a row for this dimension (also the engine's column).
    pub fn key_field(self) -> &'static str {
        match self {
            Dim::District => "district_code",
            Dim::Commune => "commune_code",
            Dim::Sector => "sector_code",
            Dim::Vsic => "vsic_code",
            Dim::Period => "period",
            Dim::Quarter => "quarter",
            Dim::Year => "year",
        }
    }

    /// The name field accompanying the key, for coded dimensions.
    pub fn name_field(self) -> Option<&'static str> {
        match self {
            Dim::District => Some("district_name"),
            Dim::Commune => Some("commune_name"),
            Dim::Sector => Some("sector_name"),
            Dim::Vsic => Some("vsic_name"),
            _ => None,
        }
    }
}

/// A slice of effective filings and how to break it down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub from: Period,
    pub to: Period,
    pub by: Vec<Dim>,
    /// Empty means every district.
    pub districts: Vec<String>,
    /// Retail sector groups; empty means all.
    pub sectors: Vec<String>,
    /// VSIC codes; empty means all.
    pub vsic: Vec<String>,
}

/// One group of a breakdown: its keys (in `by` order) and its exact sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub keys: Vec<Option<String>>,
    pub figures: super::share::Figures,
}

/// The groups of a slice and its total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub cells: Vec<Cell>,
    pub total: super::share::Figures,
}
