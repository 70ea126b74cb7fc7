//! The stored filings table: the columns of an accepted-filings file as
//! ingest writes it, which the warehouse's Delta log declares as the table
//! schema. One list, so that the files and the schema other engines read
//! cannot drift apart (ingest's tests compare its output with it).

/// A stored column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Text,
    Int32,
    Int64,
}

/// The accepted-filings file's columns, in order.
pub const FILING_COLUMNS: [(&str, ColumnType); 15] = [
    ("unit_id", ColumnType::Text),
    ("district_code", ColumnType::Text),
    ("vsic_code", ColumnType::Text),
    ("period", ColumnType::Text),
    ("total_revenue_vnd", ColumnType::Int64),
    ("ecommerce_revenue_vnd", ColumnType::Int64),
    ("weight_micro", ColumnType::Int64),
    ("submitted_at_us", ColumnType::Int64),
    ("unit_name", ColumnType::Text),
    ("batch_seq", ColumnType::Int64),
    ("file_index", ColumnType::Int32),
    ("record", ColumnType::Int64),
    ("row_id", ColumnType::Int64),
    ("key_hash", ColumnType::Int64),
    ("commune_code", ColumnType::Text),
];

/// The superseded-rows file's second column (beside `row_id`): the dataset
/// version whose filings superseded the row.
pub const SUPERSEDED_IN: &str = "superseded_in";

/// The table's partition column, kept in the log rather than in the files:
/// [`KIND_FILING`] for accepted filings, [`KIND_SUPERSEDED`] for the row ids
/// a later version superseded.
pub const KIND: &str = "kind";
pub const KIND_FILING: &str = "filing";
pub const KIND_SUPERSEDED: &str = "superseded";
