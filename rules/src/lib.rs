//! Tillcard's membership program as pure functions over data.
//!
//! Nothing in this crate reads a clock, touches a file or the network, or
//! draws a random number: time, identifiers and configuration are arguments.
//! That is what makes every rule exhaustively testable, and what lets the
//! terminal and head office price and book with exactly the same code.
//!
//! Code map, in the order data flows through a checkout:
//! - [`money`]: the `Money` newtype (fen), half-up rounding, largest-remainder
//!   allocation.
//! - [`limits`]: the bounds on every amount, count, text and moment that
//!   comes from outside, and the checks that hold entries and quotes to them.
//! - [`ids`]: member, action, lot and coupon identifiers; timestamps.
//! - [`program`]: the program as serde data, its defaults and validation.
//! - [`ledger`]: ledger entries, the only record of what happened.
//! - [`account`]: a member's balances as a fold over ledger entries.
//! - [`pricing`]: basket + member + program + moment -> itemized quote.
//! - [`booking`]: quote (or top-up, adjustment, enrollment) -> ledger entries.
//! - [`refund`]: full and partial refunds.
//! - [`tier`]: upgrade after purchase, periodic evaluation.
//! - [`expiry`]: lot expiry dates and the entries expiring due lots.

pub mod account;
pub mod booking;
pub mod expiry;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod pricing;
pub mod program;
pub mod refund;
pub mod tier;
pub mod timestamp;

pub use account::{MemberAccount, StoredValue};
pub use booking::{Authority, BookingError, TopUp};
pub use ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
pub use ledger::{EntryKind, LedgerEntry};
pub use money::Money;
pub use pricing::{
    Basket, BasketLine, Context, MemberProfile, PricingRequest, Quote, TenderRequest,
};
pub use program::{Program, TierLevel};
