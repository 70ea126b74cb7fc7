//! Domain types and rules: periods, codes, amounts, shares, targets, the
//! reference tables, the validation rules of a filing, and how final a
//! month's figures are (release states, response rates).
//!
//! Pure: no I/O, no clock, no polars, no DataFusion, no HTTP. Everything here
//! is a function of its arguments, so every rule can be tested in isolation
//! and reused by ingest, engine, http and reports without dragging them in.

pub mod amount;
pub mod disclosure;
pub mod named_query;
pub mod outlook;
pub mod period;
pub mod provenance;
pub mod query;
pub mod reference;
pub mod release;
pub mod roles;
pub mod rules;
pub mod schedule;
pub mod share;
pub mod stored;
pub mod targets;
pub mod unit_id;

pub use amount::WeightedVnd;
pub use named_query::{BindContext, BindError, BoundValue, ParamDef, ParamKind, QueryDef};
pub use period::{Period, Quarter};
pub use query::{Breakdown, Cell, Dim, Slice};
pub use reference::{District, Reference, ReferenceError, SectorGroup, VsicCode};
pub use release::{Release, ReleasePolicy, Response};
pub use roles::{Access, Role};
pub use rules::{FieldError, RejectReason};
pub use schedule::MonthlySchedule;
pub use share::{Figures, Status};
pub use targets::{Fraction, Indicator, Target, TargetRow, Targets, ValueKind};
