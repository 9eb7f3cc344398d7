//! Head-office users' roles and what each may do in the back office
//! ([`may`]): the one table the admin API's handlers ask before acting.
//! The admin token acts as [`Role::Admin`]; the `tillcard-hq` command line
//! too (whoever runs it can read the database anyway).

use serde::{Deserialize, Serialize};

/// A head-office user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Stores, staff, terminals and enrollment codes.
    StoreOps,
    /// Reads here (campaigns come with the next issues).
    Marketing,
    /// Reads only.
    Analyst,
    /// Reads, the audit trail included.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::StoreOps,
        Role::Marketing,
        Role::Analyst,
        Role::Auditor,
    ];

    /// The role as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::StoreOps => "store_ops",
            Role::Marketing => "marketing",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
        }
    }

    /// The role named `text` (as [`Role::as_str`] writes it).
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A back-office operation, as far as permission goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// List stores, staff, terminals, enrollment codes.
    ReadBackOffice,
    /// Create or change stores.
    WriteStores,
    /// Create or change staff.
    WriteStaff,
    /// Issue enrollment codes, revoke terminals.
    WriteTerminals,
    /// List head-office users.
    ReadUsers,
    /// Create users, change roles.
    WriteUsers,
    /// Read the audit trail.
    ReadAudit,
    /// Publish a program version.
    WriteProgram,
    /// Add, change or import catalog items.
    WriteCatalog,
    /// Change a member's standing (freeze, unfreeze).
    MemberCare,
    /// Create, run and stop campaigns.
    Campaigns,
    /// Cash out a member's stored value or adjust their points (above the
    /// thresholds, as a request for a second approver).
    MemberMoney,
    /// Approve or reject another user's member-money request.
    ApproveMemberMoney,
    /// Read the terminals' shift closes (Z reports): the takings by tender
    /// and per clerk, the cash a drawer should hold. Store operations, who
    /// settle the drawers; analysts and auditors, who check them; not
    /// marketing, which has no part in the stores' cash.
    ReadShiftCloses,
}

/// Whether `role` may perform `operation`.
pub fn may(role: Role, operation: Operation) -> bool {
    use Operation::*;
    match role {
        Role::Admin => true,
        Role::StoreOps => matches!(
            operation,
            ReadBackOffice
                | WriteStores
                | WriteStaff
                | WriteTerminals
                | WriteCatalog
                | MemberCare
                | MemberMoney
                | ReadShiftCloses
        ),
        Role::Marketing => matches!(
            operation,
            ReadBackOffice | WriteProgram | WriteCatalog | Campaigns
        ),
        Role::Analyst => matches!(operation, ReadBackOffice | ReadShiftCloses),
        Role::Auditor => matches!(
            operation,
            ReadBackOffice | ReadUsers | ReadAudit | ReadShiftCloses
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_OPERATIONS: [Operation; 14] = [
        Operation::ReadBackOffice,
        Operation::WriteStores,
        Operation::WriteStaff,
        Operation::WriteTerminals,
        Operation::ReadUsers,
        Operation::WriteUsers,
        Operation::ReadAudit,
        Operation::WriteProgram,
        Operation::WriteCatalog,
        Operation::MemberCare,
        Operation::Campaigns,
        Operation::MemberMoney,
        Operation::ApproveMemberMoney,
        Operation::ReadShiftCloses,
    ];

    #[test]
    fn the_role_table() {
        use Operation::*;
        let allowed = |role| {
            ALL_OPERATIONS
                .into_iter()
                .filter(|&op| may(role, op))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(Role::Admin), ALL_OPERATIONS.to_vec());
        assert_eq!(
            allowed(Role::StoreOps),
            vec![
                ReadBackOffice,
                WriteStores,
                WriteStaff,
                WriteTerminals,
                WriteCatalog,
                MemberCare,
                MemberMoney,
                ReadShiftCloses
            ]
        );
        assert_eq!(
            allowed(Role::Marketing),
            vec![ReadBackOffice, WriteProgram, WriteCatalog, Campaigns]
        );
        assert_eq!(
            allowed(Role::Analyst),
            vec![ReadBackOffice, ReadShiftCloses]
        );
        assert_eq!(
            allowed(Role::Auditor),
            vec![ReadBackOffice, ReadUsers, ReadAudit, ReadShiftCloses]
        );
    }

    #[test]
    fn roles_round_trip_as_text() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
