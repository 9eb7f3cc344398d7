//! The outbox events the terminal sends to head office are the protocol's
//! event bodies (`tillcard_protocol::wire::EventBody`): one per business
//! action, carrying the ledger entries the action booked. The outbox stores
//! the body as JSON beside its envelope fields.

pub use tillcard_protocol::wire::{Consent, EventBody};

/// Version of the event bodies the store writes.
pub const EVENT_SCHEMA_VERSION: u16 = tillcard_protocol::wire::SCHEMA_VERSION;
