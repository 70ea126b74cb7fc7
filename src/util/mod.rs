//! Small helpers with no knowledge of filings or figures: the CSV
//! tokenizer, hex digests, durable file writes, the clock and the stop
//! request of long-running loops. Nothing here
//! imports another module of this crate.

pub mod clock;
pub mod csv;
pub mod digest;
pub mod durable;
pub mod stop;
