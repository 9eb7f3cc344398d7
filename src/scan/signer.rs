//! Issuing member cards: the only terminal code that holds a card signing
//! key. The signer itself lives in the protocol crate
//! (`tillcard_protocol::card`), so head office signs the cards it re-issues
//! with the same code; verification ([`crate::scan::credential`]) never
//! needs this module.

pub use tillcard_protocol::card::CardSigner;
