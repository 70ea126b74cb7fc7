//! Who may do what: the four roles and the access each route asks for.
//! Pure: the HTTP layer maps a route to an [`Access`] and a caller to a
//! [`Role`]; this module alone decides whether one grants the other.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The dashboard, share figures, charts.
    Viewer,
    /// A viewer who may also run named queries, export and use ad-hoc SQL.
    Analyst,
    /// Submits filings and reads its own ingest reports; sees no figures.
    Filer,
    /// Everything: tokens, reports, deliveries, unsuppressed figures.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Filer, Role::Admin];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "analyst" => Some(Self::Analyst),
            "filer" => Some(Self::Filer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Analyst => "analyst",
            Self::Filer => "filer",
            Self::Admin => "admin",
        }
    }

    /// Whether this role may use a route that asks for `access`.
    pub fn may(self, access: Access) -> bool {
        match access {
            Access::Public => true,
            Access::Dashboard | Access::Figures => matches!(self, Self::Viewer | Self::Analyst | Self::Admin),
            Access::Analysis => matches!(self, Self::Analyst | Self::Admin),
            Access::Filing => matches!(self, Self::Filer | Self::Admin),
            Access::Admin => self == Self::Admin,
        }
    }

    /// Whether figures shown to this role go through disclosure control.
    pub fn sees_unsuppressed(self) -> bool {
        self == Self::Admin
    }
}

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone: health, the API description, signing in.
    Public,
    /// The dashboard pages and charts (public when the configuration says so).
    Dashboard,
    /// Share figures and reference tables.
    Figures,
    /// Named queries, exports, ad-hoc SQL.
    Analysis,
    /// Submitting filings.
    Filing,
    /// Reports, deliveries, administration.
    Admin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table() {
        use Access::*;
        let table = [
            (Role::Viewer, [true, true, true, false, false, false]),
            (Role::Analyst, [true, true, true, true, false, false]),
            (Role::Filer, [true, false, false, false, true, false]),
            (Role::Admin, [true, true, true, true, true, true]),
        ];
        for (role, expected) in table {
            let got: Vec<bool> = [Public, Dashboard, Figures, Analysis, Filing, Admin]
                .iter()
                .map(|a| role.may(*a))
                .collect();
            assert_eq!(got, expected, "{role:?}");
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
