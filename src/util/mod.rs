//! Small helpers with no knowledge of filings or figures: the CSV
//! tokenizer, hex digests, durable file writes and the sweep of their
//! leftovers, the clock, the stop request of long-running loops and the
//! test-only fault points. Nothing here
//! imports another module of this crate.

pub mod clock;
pub mod csv;
pub mod digest;
pub mod durable;
pub mod fault;
pub mod stop;
