//! Small helpers with no knowledge of filings or figures: the CSV
//! tokenizer, hex digests, durable file writes and the clock. Nothing here
//! imports another module of this crate.

pub mod clock;
pub mod csv;
pub mod digest;
pub mod durable;
