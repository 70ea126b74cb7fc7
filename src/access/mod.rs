//! Who is calling and what they did: access tokens and browser sessions
//! (`tokens`), and the hash-chained audit trail (`audit`). Files under the
//! data directory only; the decision whether a role may use a route is the
//! domain's (`domain::roles`), the middleware that applies it is http's.

pub mod audit;
pub mod tokens;
