//! Store errors, worded for the person at the counter. None of them carries
//! personal data (phone, name, birthday).

use tillcard_rules::booking::BookingError;
use tillcard_rules::gifts::GiftError;
use tillcard_rules::pricing::PricingError;
use tillcard_rules::refund::RefundError;
use tillcard_rules::tenders::TenderError;

/// Why a store operation did not happen. When an action fails, nothing of it
/// was recorded.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The disk (or the database's size limit) is full.
    #[error(
        "The terminal's disk is full: this was NOT recorded. Nothing already recorded is lost. Call support."
    )]
    DiskFull,
    /// The file failed its integrity check; it was kept untouched.
    #[error(
        "The terminal's database is damaged ({detail}). It was kept for support and nothing was changed."
    )]
    Corrupt {
        /// What the check reported.
        detail: String,
    },
    /// The store's key does not open the file: the sealed key in the key
    /// directory is another machine's or another installation's, or the
    /// file is not this terminal's.
    #[error(
        "The terminal's database cannot be opened with this machine's store key{}: the key \
         directory holds another key, the data directory came from another terminal, or the file \
         is damaged. It was kept for support and nothing was changed (docs/STORE.md, Store key).",
        if *plain { " (the file is not encrypted and could not be encrypted)" } else { "" }
    )]
    WrongKey {
        /// The file is a plain SQLite database.
        plain: bool,
    },
    /// The file was written by a newer program.
    #[error(
        "The database was written by a newer Tillcard (schema {found}; this one knows {known}). Update the terminal."
    )]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Latest version this program knows.
        known: u32,
    },
    /// The phone number is already enrolled here.
    #[error(
        "This phone number is already enrolled ({masked_phone}). Scan or look up that member instead."
    )]
    DuplicatePhone {
        /// The phone, masked.
        masked_phone: String,
    },
    /// Not a mainland mobile number.
    #[error("That is not a mobile number: it needs 11 digits starting with 1.")]
    InvalidPhone,
    /// Enrollment without consent.
    #[error("The member must agree to the privacy notice before enrolling.")]
    NoConsent,
    /// A birthday that does not exist.
    #[error("That birthday does not exist.")]
    InvalidBirthday,
    /// No such member in the cache.
    #[error("This member is not on this terminal.")]
    UnknownMember,
    /// No such sale.
    #[error("No such sale on this terminal.")]
    UnknownSale,
    /// No such clerk.
    #[error("No such clerk.")]
    UnknownClerk,
    /// A new PIN the policy refuses ([`crate::pins`]).
    #[error("That PIN is not allowed: {0:?}.")]
    WeakPin(crate::pins::PinProblem),
    /// Wrong PIN.
    #[error("Wrong PIN. {attempts_left} attempt(s) left before the clerk is locked out.")]
    WrongPin {
        /// Attempts before lockout.
        attempts_left: u32,
    },
    /// Locked out after too many wrong PINs.
    #[error("Too many wrong PINs: try again in {wait_secs} s.")]
    Locked {
        /// Seconds left of the lockout (on the monotonic clock).
        wait_secs: u64,
    },
    /// A manager's lockout, which only head office's PIN reset lifts.
    #[error("A manager's lockout is lifted by a PIN reset at head office.")]
    ManagerLockout,
    /// The approving clerk is not a manager.
    #[error("This needs a manager's PIN.")]
    NotAManager,
    /// A clerk id already taken.
    #[error("A clerk with this id already exists.")]
    DuplicateClerk,
    /// A clerk head office deactivated (or who no longer works here).
    #[error("This clerk is no longer active at this store. Ask the store manager.")]
    ClerkInactive,
    /// A clerk head office set up who has not chosen a PIN yet.
    #[error("No PIN yet: set one with the setup code from head office.")]
    PinNotSet,
    /// The terminal is registered; registering again takes a manager.
    #[error("This terminal is already registered: registering it again needs a manager's PIN.")]
    AlreadyRegistered,
    /// A program that does not validate.
    #[error("{0}")]
    InvalidProgram(String),
    /// A rule refused to book.
    #[error(transparent)]
    Booking(#[from] BookingError),
    /// A rule refused the gift redemption.
    #[error(transparent)]
    Gift(#[from] GiftError),
    /// A rule refused the refund.
    #[error(transparent)]
    Refund(#[from] RefundError),
    /// The tenders entered do not pay the sale (issue 24).
    #[error("The payment does not match the sale ({0}): nothing was recorded. Check the tenders.")]
    Tenders(TenderError),
    /// A scanned receipt code refused (`tillcard_protocol::receipt`):
    /// not a receipt, damaged, not signed by a till of this chain, its
    /// till's key withdrawn...
    #[error(transparent)]
    Receipt(#[from] tillcard_protocol::receipt::ReceiptError),
    /// A sale too large for a receipt code: it is returned at its own till.
    #[error("This sale is too large for a return code on its receipt ({0}).")]
    ReceiptTooLarge(String),
    /// Some of a receipt's line was already returned at this terminal.
    #[error(
        "Line {} of this receipt was already returned at this till: {left} left to return.",
        line + 1
    )]
    AlreadyReturned {
        /// The line's index on the receipt.
        line: usize,
        /// Quantity still returnable.
        left: i64,
    },
    /// The basket could not be priced.
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// Stored data could not be read back.
    #[error("The terminal's data is damaged: {0}. Call support.")]
    Damaged(String),
    /// Any other database failure.
    #[error("The terminal's database failed ({0}); this was not recorded.")]
    Database(String),
    /// The store's thread is gone (the terminal is shutting down).
    #[error("The terminal's database is closed.")]
    Closed,
}

impl StoreError {
    /// Maps a failure while opening: a file that is not a database is as
    /// good as damaged.
    pub(crate) fn from_open(error: rusqlite::Error) -> StoreError {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase)
            | Some(rusqlite::ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                detail: error.to_string(),
            },
            _ => StoreError::from(error),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::DatabaseCorrupt)
            | Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Corrupt {
                detail: error.to_string(),
            },
            _ => StoreError::Database(error.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> StoreError {
        StoreError::Damaged(error.to_string())
    }
}
