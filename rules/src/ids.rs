//! Identifiers the rules pass around. They are minted outside the rules (the
//! store draws UUIDv7s) and only compared and copied here, so the rules stay
//! free of randomness.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member, the same at every terminal and at head office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct MemberId(pub Uuid);

/// One business action (a sale, refund, top-up, adjustment, enrollment,
/// expiry run...). Every ledger entry carries the action that produced it, so
/// booking the same action twice is detectable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct SourceId(pub Uuid);

/// A lot of earned points. A lot is named by the action that earned it; one
/// action earns at most one lot per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct LotId(pub SourceId);

/// A coupon held by a member: the action that issued it and its position
/// among the coupons that action issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CouponId {
    /// The action that issued the coupon.
    pub issued_by: SourceId,
    /// Position among the coupons issued by that action.
    pub index: u16,
}

/// A point in time with the store's UTC offset. Rules read local dates from
/// it (birthday month, member day, expiry at month end).
pub type Timestamp = chrono::DateTime<chrono::FixedOffset>;

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for CouponId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.issued_by, self.index)
    }
}
