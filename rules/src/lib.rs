//! Tillcard's membership program as pure functions over data.
//!
//! Nothing in this crate reads a clock, touches a file or the network, or
//! draws a random number: time, identifiers and configuration are arguments.
//! That is what makes every rule exhaustively testable, and what lets the
//! terminal and head office price and book with exactly the same code.
//!
//! A checkout flows through [`pricing`] (basket + member + program +
//! moment → itemized quote) and [`booking`] (quote → ledger entries); a
//! member's balances are a fold over those entries ([`account`]). What each
//! module owns: ARCHITECTURE.md, the one code map (section "Inside
//! `rules/`").

pub mod account;
pub mod booking;
pub mod catalog;
pub mod expiry;
pub mod gifts;
pub mod ids;
pub mod ledger;
pub mod limits;
pub mod money;
pub mod pricing;
pub mod program;
pub mod refund;
pub mod reverify;
pub mod shift;
pub mod tenders;
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
