//! The counter: what the cashier and the store manager do, as controllers
//! with no Slint types, no SQL and no clock. The UI adapters (`crate::ui`)
//! turn taps into [`Input`]s and render [`Counter`]'s state; the runtime
//! (`crate::terminal`) runs the [`Command`]s it returns on the store's and
//! the uplink's threads and feeds the answers back as inputs.
//!
//! - [`messages`]: the types that go in and out ([`Input`], [`Action`],
//!   [`Done`], [`Command`], [`Page`], ...), with no behaviour.
//! - [`state`]: the [`Counter`] struct, how it starts, the helpers every
//!   flow shares.
//! - [`controller`]: the router: each input to the flow that owns it.
//! - [`flows`]: one module per flow, each owning its actions, commands and
//!   answers:
//!   - [`flows::session`]: signing in, locking, the manager approval.
//!   - [`flows::lookup`]: finding a member by scan or phone.
//!   - [`flows::checkout`]: ringing up a sale, the receipt.
//!   - [`flows::enrollment`]: a new member at the door.
//!   - [`flows::manager_forms`]: top-up, refund, adjustment.
//!   - [`flows::gifts`]: the gift catalogue, a gift redeemed for points.
//!   - [`flows::returns`]: a return from a receipt's QR code, at any store.
//!   - [`flows::settings`]: language, sync now, registering with head office.
//!   - [`flows::typing`]: keypad keys and text fields, for every flow.
//! - [`checkout`]: the sale and its pricing choices (best coupon, most points).
//! - [`customer_view`]: what the customer-facing second display shows.
//! - [`forms`]: enrollment, top-up, refund, return, adjustment and gift forms.
//! - [`member`]: the member as the clerk sees them (masked).
//! - [`receipt`]: quote rows for screen and paper.
//! - [`keypad`]: the on-screen numeric keypad's buffer.
//! - [`keyboard`]: the on-screen text keyboard (names, head office's address, codes).
//! - [`text`]: every clerk-facing word built in Rust, in zh-CN and en.
//!
//! Dependencies run one way: `controller` → `flows` → `state` →
//! `messages`, `text`; no module imports one that imports it back.

pub mod checkout;
pub mod controller;
pub mod customer_view;
pub mod flows;
pub mod forms;
pub mod keyboard;
pub mod keypad;
pub mod member;
pub mod messages;
pub mod printed_receipt;
pub mod printed_shift;
pub mod receipt;
pub mod state;
pub mod text;

pub use messages::{
    Action, CameraStatus, ClerkEntry, Command, Done, EnrollDone, Input, Page, SaleDone, Sound,
};
pub use state::Counter;
