//! Tabular results in the formats officials and their tools take: JSON,
//! CSV, XLSX, Arrow IPC and Parquet — encoded batch by batch, so a large
//! result streams instead of being built in memory first.
//!
//! Takes plain Arrow record batches and a little metadata; knows nothing of
//! queries, sessions or HTTP. Exact decimals stay exact in JSON and CSV (as
//! decimal text), Arrow and Parquet (as DECIMAL); XLSX stores numbers as
//! numbers, which Excel holds as binary floating point.

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray, StringViewArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The formats a result can be had in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Arrow,
    Parquet,
}

impl Format {
    pub const ALL: [Format; 5] = [Self::Json, Self::Csv, Self::Xlsx, Self::Arrow, Self::Parquet];

    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Arrow => "arrow",
            Self::Parquet => "parquet",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Arrow => "application/vnd.apache.arrow.stream",
            Self::Parquet => "application/vnd.apache.parquet",
        }
    }

    /// The format a media type (without parameters) asks for.
    pub fn from_media_type(essence: &str) -> Option<Self> {
        match essence {
            "application/json" => Some(Self::Json),
            "text/csv" => Some(Self::Csv),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Self::Xlsx),
            "application/vnd.apache.arrow.stream" => Some(Self::Arrow),
            "application/vnd.apache.parquet" | "application/x-parquet" => Some(Self::Parquet),
            _ => None,
        }
    }
}

#[derive(Debug, Error)]
pub enum TabularError {
    #[error("the result has more than {max} rows, more than an Excel sheet holds; use CSV, Arrow or Parquet")]
    TooManyRowsForExcel { max: u64 },
    #[error("encoding the result failed: {0}")]
    Encode(String),
}

impl TabularError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyRowsForExcel { .. } => "result_too_large",
            Self::Encode(_) => "encode_failed",
        }
    }
}

fn encode_err(e: impl std::fmt::Display) -> TabularError {
    TabularError::Encode(e.to_string())
}

/// What a result is, for the formats that carry it in the file.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The query's name (or `sql` for analysts' SQL).
    pub query: String,
    pub dataset_version: u64,
    /// The parameters as bound, in order.
    pub params: Vec<(String, String)>,
}

/// Encodes one result: `begin` once, `batch` for each record batch,
/// `finish` once; each returns the bytes to send next.
pub trait Encoder: Send {
    fn begin(&mut self) -> Result<Vec<u8>, TabularError>;
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, TabularError>;
    fn finish(self: Box<Self>) -> Result<Vec<u8>, TabularError>;
}

/// The encoder of `format` for results of `schema`.
pub fn encoder(format: Format, schema: SchemaRef, meta: Meta) -> Result<Box<dyn Encoder>, TabularError> {
    Ok(match format {
        Format::Json => Box::new(JsonEncoder { schema, meta, rows: 0 }),
        Format::Csv => Box::new(CsvEncoder { schema }),
        Format::Xlsx => Box::new(XlsxEncoder::new(schema, &meta)?),
        Format::Arrow => Box::new(arrow_encoder(schema, &meta)?),
        Format::Parquet => Box::new(parquet_encoder(schema, &meta)?),
    })
}

/// Encodes whole results held in memory (small answers, tests).
pub fn encode_all(
    format: Format,
    schema: SchemaRef,
    meta: Meta,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, TabularError> {
    let mut e = encoder(format, schema, meta)?;
    let mut out = e.begin()?;
    for b in batches {
        out.extend(e.batch(b)?);
    }
    out.extend(e.finish()?);
    Ok(out)
}

/// One cell as plain data.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    /// An exact decimal, already as text.
    Decimal(String),
    Text(String),
    Bool(bool),
}

/// `value` × 10^-`scale` as the shortest exact decimal text.
pub fn decimal_text(value: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = value.to_string();
        if value != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let scale = scale as u32;
    let pow = 10i128.pow(scale);
    let int = value / pow;
    let frac = (value % pow).unsigned_abs();
    let sign = if value < 0 && int == 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let digits = format!("{frac:0width$}", width = scale as usize);
    format!("{sign}{int}.{}", digits.trim_end_matches('0'))
}

fn cell(a: &ArrayRef, row: usize) -> Result<Cell, TabularError> {
    if a.is_null(row) {
        return Ok(Cell::Null);
    }
    let any = a.as_any();
    Ok(match a.data_type() {
        DataType::Int64 => Cell::Int(any.downcast_ref::<Int64Array>().expect("Int64").value(row)),
        DataType::Int32 => Cell::Int(i64::from(any.downcast_ref::<Int32Array>().expect("Int32").value(row))),
        DataType::Float64 => Cell::Float(any.downcast_ref::<Float64Array>().expect("Float64").value(row)),
        DataType::Decimal128(_, scale) => Cell::Decimal(decimal_text(
            any.downcast_ref::<Decimal128Array>().expect("Decimal128").value(row),
            *scale,
        )),
        DataType::Utf8 => Cell::Text(any.downcast_ref::<StringArray>().expect("Utf8").value(row).to_string()),
        DataType::Utf8View => Cell::Text(
            any.downcast_ref::<StringViewArray>()
                .expect("Utf8View")
                .value(row)
                .to_string(),
        ),
        DataType::Boolean => Cell::Bool(any.downcast_ref::<BooleanArray>().expect("Boolean").value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let us = any
                .downcast_ref::<TimestampMicrosecondArray>()
                .expect("Timestamp(µs)")
                .value(row);
            Cell::Text(
                chrono::DateTime::from_timestamp_micros(us)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                    .unwrap_or_default(),
            )
        }
        _ => {
            // Anything else (dates, lists, other integer widths) as Arrow's text.
            let formatter = datafusion::arrow::util::display::ArrayFormatter::try_new(
                a.as_ref(),
                &datafusion::arrow::util::display::FormatOptions::default(),
            )
            .map_err(encode_err)?;
            Cell::Text(formatter.value(row).to_string())
        }
    })
}

/// JSON type names of the columns, for the `columns` header.
fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 | DataType::Int32 => "integer",
        DataType::Float64 => "number",
        DataType::Decimal128(_, _) => "decimal",
        DataType::Boolean => "boolean",
        DataType::Timestamp(_, _) => "timestamp",
        _ => "string",
    }
}

struct JsonEncoder {
    schema: SchemaRef,
    meta: Meta,
    rows: u64,
}

impl Encoder for JsonEncoder {
    fn begin(&mut self) -> Result<Vec<u8>, TabularError> {
        let params: serde_json::Map<String, serde_json::Value> = self
            .meta
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        let columns: Vec<serde_json::Value> = self
            .schema
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": type_name(f.data_type())}))
            .collect();
        let head = serde_json::json!({
            "query": self.meta.query,
            "dataset_version": self.meta.dataset_version,
            "params": params,
            "columns": columns,
        })
        .to_string();
        // Reopen the object to append the rows as they come.
        let mut out = head.into_bytes();
        out.pop();
        out.extend_from_slice(b",\"rows\":[");
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, TabularError> {
        let mut out = Vec::with_capacity(batch.num_rows() * 64);
        let names: Vec<String> = self
            .schema
            .fields()
            .iter()
            .map(|f| serde_json::to_string(f.name()).expect("a string serializes"))
            .collect();
        for row in 0..batch.num_rows() {
            if self.rows > 0 {
                out.push(b',');
            }
            self.rows += 1;
            out.push(b'{');
            for (i, column) in batch.columns().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(names[i].as_bytes());
                out.push(b':');
                let value = match cell(column, row)? {
                    Cell::Null => serde_json::Value::Null,
                    Cell::Int(v) => v.into(),
                    Cell::Float(v) => serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
                    Cell::Decimal(s) | Cell::Text(s) => s.into(),
                    Cell::Bool(b) => b.into(),
                };
                serde_json::to_writer(&mut out, &value).map_err(encode_err)?;
            }
            out.push(b'}');
        }
        Ok(out)
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, TabularError> {
        Ok(format!("],\"row_count\":{}}}\n", self.rows).into_bytes())
    }
}

struct CsvEncoder {
    schema: SchemaRef,
}

fn csv_field(out: &mut Vec<u8>, s: &str) {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '=', '+', '-', '@']) && !is_number(s) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

impl Encoder for CsvEncoder {
    fn begin(&mut self) -> Result<Vec<u8>, TabularError> {
        // A byte order mark, so that Excel reads the file as UTF-8.
        let mut out = "\u{feff}".as_bytes().to_vec();
        for (i, f) in self.schema.fields().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            csv_field(&mut out, f.name());
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, TabularError> {
        let mut out = Vec::with_capacity(batch.num_rows() * 64);
        for row in 0..batch.num_rows() {
            for (i, column) in batch.columns().iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match cell(column, row)? {
                    Cell::Null => {}
                    Cell::Int(v) => out.extend_from_slice(v.to_string().as_bytes()),
                    Cell::Float(v) if v.is_finite() => out.extend_from_slice(v.to_string().as_bytes()),
                    Cell::Float(_) => {}
                    Cell::Decimal(s) => out.extend_from_slice(s.as_bytes()),
                    Cell::Text(s) => csv_field(&mut out, &s),
                    Cell::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        Ok(out)
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, TabularError> {
        Ok(Vec::new())
    }
}

/// Rows an Excel sheet holds, the header included.
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

/// How a column is shown in Excel.
#[derive(Clone, Copy)]
enum XlsxKind {
    Money,
    Share,
    Points,
    Count,
    Number,
    Text,
}

fn xlsx_kind(f: &Field) -> XlsxKind {
    let name = f.name().as_str();
    match f.data_type() {
        DataType::Decimal128(_, _) if name.starts_with("weight") && !name.starts_with("weighted") => XlsxKind::Number,
        DataType::Decimal128(_, _) => XlsxKind::Money,
        DataType::Int64 | DataType::Int32 if name.ends_with("_vnd") || name.contains("revenue") => XlsxKind::Money,
        DataType::Int64 | DataType::Int32 => XlsxKind::Count,
        DataType::Float64 if name.contains("share") || name == "target" => XlsxKind::Share,
        DataType::Float64 if name.ends_with("_pp") => XlsxKind::Points,
        DataType::Float64 => XlsxKind::Number,
        _ => XlsxKind::Text,
    }
}

struct XlsxEncoder {
    workbook: rust_xlsxwriter::Workbook,
    kinds: Vec<XlsxKind>,
    formats: HashMap<&'static str, rust_xlsxwriter::Format>,
    row: u32,
}

impl XlsxEncoder {
    fn new(schema: SchemaRef, meta: &Meta) -> Result<Self, TabularError> {
        use rust_xlsxwriter::{Format as XFormat, Workbook};
        let mut workbook = Workbook::new();
        let kinds: Vec<XlsxKind> = schema.fields().iter().map(|f| xlsx_kind(f)).collect();
        // Vietnamese display (LCID 0x042A): Excel shows 1.234.567 and 7,25 % on a vi-VN system.
        let formats = HashMap::from([
            ("money", XFormat::new().set_num_format("[$-42A]#,##0")),
            ("share", XFormat::new().set_num_format("[$-42A]0.00%")),
            ("points", XFormat::new().set_num_format("[$-42A]0.00")),
            ("count", XFormat::new().set_num_format("[$-42A]#,##0")),
            ("number", XFormat::new().set_num_format("[$-42A]#,##0.######")),
            ("header", XFormat::new().set_bold().set_text_wrap()),
        ]);
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(encode_err)?;
        let title: String = meta
            .query
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        if !title.is_empty() {
            sheet.set_name(title).map_err(encode_err)?;
        }
        for (i, (f, kind)) in schema.fields().iter().zip(&kinds).enumerate() {
            let width = match kind {
                XlsxKind::Money => 20.0,
                XlsxKind::Share | XlsxKind::Points => 10.0,
                XlsxKind::Count | XlsxKind::Number => 12.0,
                XlsxKind::Text if f.name().ends_with("_name") => 32.0,
                XlsxKind::Text => 14.0,
            };
            let width = f64::max(width, (f.name().chars().count() as f64 * 1.1).min(40.0));
            sheet.set_column_width(i as u16, width).map_err(encode_err)?;
            sheet
                .write_string_with_format(0, i as u16, f.name(), &formats["header"])
                .map_err(encode_err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(encode_err)?;
        Ok(Self {
            workbook,
            kinds,
            formats,
            row: 1,
        })
    }
}

impl Encoder for XlsxEncoder {
    fn begin(&mut self) -> Result<Vec<u8>, TabularError> {
        Ok(Vec::new())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, TabularError> {
        if u64::from(self.row) + batch.num_rows() as u64 > XLSX_MAX_ROWS {
            return Err(TabularError::TooManyRowsForExcel { max: XLSX_MAX_ROWS - 1 });
        }
        let sheet = self.workbook.worksheet_from_index(0).map_err(encode_err)?;
        for r in 0..batch.num_rows() {
            for (c, column) in batch.columns().iter().enumerate() {
                let (row, col) = (self.row, c as u16);
                let format = &self.formats[match self.kinds[c] {
                    XlsxKind::Money => "money",
                    XlsxKind::Share => "share",
                    XlsxKind::Points => "points",
                    XlsxKind::Count => "count",
                    // Text cells are written without a number format.
                    XlsxKind::Number | XlsxKind::Text => "number",
                }];
                let written = match cell(column, r)? {
                    Cell::Null => continue,
                    Cell::Int(v) => sheet.write_number_with_format(row, col, v as f64, format),
                    Cell::Float(v) if v.is_finite() => sheet.write_number_with_format(row, col, v, format),
                    Cell::Float(_) => continue,
                    Cell::Decimal(s) => {
                        sheet.write_number_with_format(row, col, s.parse::<f64>().map_err(encode_err)?, format)
                    }
                    Cell::Text(s) => sheet.write_string(row, col, s),
                    Cell::Bool(b) => sheet.write_boolean(row, col, b),
                };
                written.map_err(encode_err)?;
            }
            self.row += 1;
        }
        Ok(Vec::new())
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, TabularError> {
        // The sheet's rows went to a temporary file as they came; the
        // compressed archive is assembled here (an XLSX is a zip, whose
        // directory comes last). At most 1,048,575 rows make it bounded.
        self.workbook.save_to_buffer().map_err(encode_err)
    }
}

/// A `Write` whose bytes are taken out as they are written.
#[derive(Clone, Default)]
struct Drain(Arc<Mutex<Vec<u8>>>);

impl Drain {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("drain lock"))
    }
}

impl Write for Drain {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("drain lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn with_metadata(schema: &SchemaRef, meta: &Meta) -> SchemaRef {
    let mut m = schema.metadata().clone();
    m.insert("ecomshare.query".into(), meta.query.clone());
    m.insert("ecomshare.dataset_version".into(), meta.dataset_version.to_string());
    for (k, v) in &meta.params {
        m.insert(format!("ecomshare.param.{k}"), v.clone());
    }
    Arc::new(Schema::new_with_metadata(schema.fields().clone(), m))
}

/// A writer of a binary columnar format over a [`Drain`].
trait ColumnarWriter: Send {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), TabularError>;
    fn close(self) -> Result<(), TabularError>;
}

impl ColumnarWriter for StreamWriter<Drain> {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), TabularError> {
        self.write(batch).map_err(encode_err)
    }
    fn close(mut self) -> Result<(), TabularError> {
        self.finish().map_err(encode_err)
    }
}

impl ColumnarWriter for ArrowWriter<Drain> {
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), TabularError> {
        self.write(batch).map_err(encode_err)
    }
    fn close(self) -> Result<(), TabularError> {
        ArrowWriter::close(self).map(|_| ()).map_err(encode_err)
    }
}

/// Arrow IPC stream or Parquet: each batch written with the metadata-bearing
/// schema, and the bytes written so far handed on.
struct ColumnarEncoder<W> {
    writer: W,
    out: Drain,
    schema: SchemaRef,
}

/// Rows per Parquet row group: each group is sent as soon as it is full.
const PARQUET_ROW_GROUP: usize = 64 * 1024;

fn arrow_encoder(schema: SchemaRef, meta: &Meta) -> Result<ColumnarEncoder<StreamWriter<Drain>>, TabularError> {
    let schema = with_metadata(&schema, meta);
    let out = Drain::default();
    let writer = StreamWriter::try_new(out.clone(), &schema).map_err(encode_err)?;
    Ok(ColumnarEncoder { writer, out, schema })
}

fn parquet_encoder(schema: SchemaRef, meta: &Meta) -> Result<ColumnarEncoder<ArrowWriter<Drain>>, TabularError> {
    let schema = with_metadata(&schema, meta);
    let out = Drain::default();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(PARQUET_ROW_GROUP))
        .build();
    let writer = ArrowWriter::try_new(out.clone(), schema.clone(), Some(props)).map_err(encode_err)?;
    Ok(ColumnarEncoder { writer, out, schema })
}

impl<W: ColumnarWriter> Encoder for ColumnarEncoder<W> {
    fn begin(&mut self) -> Result<Vec<u8>, TabularError> {
        Ok(self.out.take())
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, TabularError> {
        let batch = batch.clone().with_schema(self.schema.clone()).map_err(encode_err)?;
        self.writer.write_batch(&batch)?;
        Ok(self.out.take())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, TabularError> {
        let out = self.out.clone();
        self.writer.close()?;
        Ok(out.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::ipc::reader::StreamReader;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn sample() -> RecordBatch {
        let money: Decimal128Array = vec![Some(1_234_500_000i128), None, Some(-5)]
            .into_iter()
            .collect::<Decimal128Array>()
            .with_precision_and_scale(38, 6)
            .unwrap();
        RecordBatch::try_from_iter(vec![
            (
                "district_name",
                Arc::new(StringArray::from(vec![
                    Some("Thanh Hóa"),
                    Some("Sầm Sơn, \"biển\""),
                    None,
                ])) as ArrayRef,
            ),
            ("total_revenue_vnd", Arc::new(money) as ArrayRef),
            (
                "share",
                Arc::new(Float64Array::from(vec![Some(0.0725), None, Some(f64::NAN)])) as ArrayRef,
            ),
            ("filings", Arc::new(Int64Array::from(vec![3, 0, 1])) as ArrayRef),
        ])
        .unwrap()
    }

    fn meta() -> Meta {
        Meta {
            query: "share_by_district".into(),
            dataset_version: 4,
            params: vec![("to".into(), "2025-03".into())],
        }
    }

    #[test]
    fn decimals_print_exactly_and_shortly() {
        assert_eq!(decimal_text(1_234_500_000, 6), "1234.5");
        assert_eq!(decimal_text(7_000_000, 6), "7");
        assert_eq!(decimal_text(-5, 6), "-0.000005");
        assert_eq!(decimal_text(-1_500_000, 6), "-1.5");
        assert_eq!(decimal_text(0, 6), "0");
        assert_eq!(decimal_text(12, -2), "1200");
        assert_eq!(
            decimal_text(99_999_999_999_999_999_999_999_999_999_999_999_999, 6),
            "99999999999999999999999999999999.999999"
        );
    }

    #[test]
    fn json_carries_version_params_and_exact_values() {
        let b = sample();
        let bytes = encode_all(Format::Json, b.schema(), meta(), &[b.clone(), b]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["dataset_version"], 4);
        assert_eq!(v["params"]["to"], "2025-03");
        assert_eq!(v["columns"][1]["type"], "decimal");
        assert_eq!(v["row_count"], 6);
        assert_eq!(v["rows"][0]["total_revenue_vnd"], "1234.5");
        assert_eq!(v["rows"][0]["share"], 0.0725);
        assert_eq!(v["rows"][2]["share"], serde_json::Value::Null);
        assert_eq!(v["rows"][1]["district_name"], "Sầm Sơn, \"biển\"");
    }

    #[test]
    fn csv_has_a_bom_and_quotes_what_needs_it() {
        let b = sample();
        let text = String::from_utf8(encode_all(Format::Csv, b.schema(), meta(), &[b]).unwrap()).unwrap();
        assert_eq!(
            text,
            "\u{feff}district_name,total_revenue_vnd,share,filings\r\nThanh Hóa,1234.5,0.0725,3\r\n\"Sầm Sơn, \"\"biển\"\"\",,,0\r\n,-0.000005,,1\r\n"
        );
    }

    #[test]
    fn csv_defuses_spreadsheet_formulas() {
        let mut out = Vec::new();
        csv_field(&mut out, "=HYPERLINK(\"x\")");
        csv_field(&mut out, "-12.5");
        assert_eq!(String::from_utf8(out).unwrap(), "\"=HYPERLINK(\"\"x\"\")\"-12.5");
    }

    #[test]
    fn arrow_and_parquet_round_trip_with_metadata() {
        let b = sample();
        let bytes = encode_all(Format::Arrow, b.schema(), meta(), std::slice::from_ref(&b)).unwrap();
        let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        assert_eq!(reader.schema().metadata()["ecomshare.dataset_version"], "4");
        let back: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(back[0].columns(), b.columns());

        let bytes = encode_all(Format::Parquet, b.schema(), meta(), &[b.clone(), b.clone()]).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        let back: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(back.iter().map(|b| b.num_rows()).sum::<usize>(), 6);
        assert_eq!(&back[0].column(1).slice(0, 3), b.column(1));
    }

    #[test]
    fn xlsx_is_a_zip_with_the_rows() {
        let b = sample();
        let bytes = encode_all(Format::Xlsx, b.schema(), meta(), &[b]).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}
