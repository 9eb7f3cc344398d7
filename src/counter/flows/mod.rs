//! The counter's flows, one module each, every one an `impl Counter` block
//! over the shared state (`counter::state`) that owns its slice of the
//! [`Action`](super::Action)s, the [`Command`](super::Command)s it sends
//! and the [`Done`](super::Done) answers it handles. The router
//! (`counter::controller`) forwards each input to one of them; no flow
//! imports the router or another flow. Where one flow hands over to the
//! next it calls forward only: lookup gives the loaded member to checkout
//! or enrollment, returns asks session for the manager approval, session
//! opens the manager forms (and the return screen) once approved.
//!
//! - [`session`]: signing in, locking, the manager approval.
//! - [`lookup`]: finding a member by scan or phone, and where they go.
//! - [`checkout`]: ringing up a sale, the receipt.
//! - [`items`]: catalog items by barcode onto the sale (issue 24).
//! - [`tenders`]: how the sale is paid, split, cash with change (issue 24).
//! - [`enrollment`]: a new member at the door.
//! - [`manager_forms`]: top-up, refund, adjustment; opening manager screens.
//! - [`gifts`]: the gift catalogue, a gift redeemed for points.
//! - [`returns`]: a return at any store from the receipt's QR code (issue
//!   24).
//! - [`settings`]: language, sync now, registering with head office.
//! - [`shift_close`]: the shift close, its Z report previewed, closed
//!   once and printed (issue 24).
//! - [`first_run`]: a new till from its enrollment code to the first
//!   sign-in.
//! - [`pin_setup`]: a clerk's first PIN, with head office's setup code.
//! - [`typing`]: keypad keys and text fields, for every flow.

pub mod checkout;
pub mod enrollment;
pub mod first_run;
pub mod gifts;
pub mod items;
pub mod lookup;
pub mod manager_forms;
pub mod pin_setup;
pub mod returns;
pub mod session;
pub mod settings;
pub mod shift_close;
pub mod tenders;
pub mod typing;

#[cfg(test)]
mod testing;
