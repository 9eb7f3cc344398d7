//! What the clerk is told after a scan: one outcome per situation, each with
//! its message. Every clerk-facing string of scanning lives in
//! [`clerk_message`], ready for translation.

use crate::scan::credential::{CardVerifier, Credential, ParseError, VerifyError, parse_token};
use crate::scan::directory::{MemberDirectory, MemberSummary};
use crate::scan::product::{ProductCode, classify_wedge_text};

/// The result of one scan, as the counter needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanOutcome {
    /// A valid card of a member this store knows.
    MemberFound {
        /// The verified card.
        credential: Credential,
        /// The member as clerks may see them.
        member: MemberSummary,
    },
    /// A valid card whose member this store does not know yet: still served
    /// offline (SPEC section 3); earning is queued, redemption needs a balance.
    UnknownMember {
        /// The verified card.
        credential: Credential,
    },
    /// A valid card, but the member directory could not be read.
    LookupFailed {
        /// The verified card.
        credential: Credential,
    },
    /// A code that is not a Tillcard member card (a URL, a product code...).
    NotMemberCode,
    /// A Tillcard-looking card whose signature fails or whose issuer key is
    /// not trusted.
    Forged,
    /// The member or this card was revoked.
    Revoked,
    /// The card was signed by a terminal's card key after head office
    /// withdrew it (the terminal was revoked): a card made with a stolen key.
    KeyWithdrawn,
    /// The card's validity ended.
    Expired,
    /// Something was seen but could not be read, or the member code is
    /// damaged or from an unknown format version.
    Unreadable,
    /// Head office's enrollment QR (`TCE1:...`, read by
    /// `tillcard_protocol::enrollment`): the first-run screen registers
    /// with it; anywhere else it is refused. The text holds a one-time
    /// code: it is never logged.
    Enrollment(String),
    /// A product barcode (EAN-13, EAN-8, UPC-A, Code 128; issue 24): from a
    /// frame with no member code in it, or a keyboard wedge's digits. The
    /// terminal hands it to the counter as `Input::ItemScanned`, not as a
    /// member scan.
    Item(ProductCode),
    /// A receipt's signed code (`TCR1:...`, `tillcard_protocol::receipt`;
    /// issue 24): a return at any store of the chain. Only its prefix is
    /// read here; the counter has the store verify it (its signature with
    /// the keys the store trusts, what this till returned of it before).
    Receipt(String),
}

/// The kind of an outcome, without data: what the UI switches on for colour,
/// sound and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// See [`ScanOutcome::MemberFound`].
    MemberFound,
    /// See [`ScanOutcome::UnknownMember`].
    UnknownMember,
    /// See [`ScanOutcome::LookupFailed`].
    LookupFailed,
    /// See [`ScanOutcome::NotMemberCode`].
    NotMemberCode,
    /// See [`ScanOutcome::Forged`].
    Forged,
    /// See [`ScanOutcome::Revoked`].
    Revoked,
    /// See [`ScanOutcome::KeyWithdrawn`].
    KeyWithdrawn,
    /// See [`ScanOutcome::Expired`].
    Expired,
    /// See [`ScanOutcome::Unreadable`].
    Unreadable,
    /// See [`ScanOutcome::Enrollment`].
    Enrollment,
    /// See [`ScanOutcome::Item`].
    Item,
    /// See [`ScanOutcome::Receipt`].
    Receipt,
}

impl OutcomeKind {
    /// Every kind, in the order declared (for checks that each has its
    /// words).
    pub const ALL: [OutcomeKind; 12] = [
        OutcomeKind::MemberFound,
        OutcomeKind::UnknownMember,
        OutcomeKind::LookupFailed,
        OutcomeKind::NotMemberCode,
        OutcomeKind::Forged,
        OutcomeKind::Revoked,
        OutcomeKind::KeyWithdrawn,
        OutcomeKind::Expired,
        OutcomeKind::Unreadable,
        OutcomeKind::Enrollment,
        OutcomeKind::Item,
        OutcomeKind::Receipt,
    ];
}

impl OutcomeKind {
    /// Whether the clerk may go on serving the member, or a receipt's
    /// code goes on to the return screen's check (good-scan colour; a
    /// receipt's sound waits for the store's verdict).
    pub fn is_good(self) -> bool {
        matches!(
            self,
            Self::MemberFound | Self::UnknownMember | Self::LookupFailed | Self::Receipt
        )
    }
}

/// The message for the person at the counter (English; translation keys are
/// the [`OutcomeKind`] names).
pub fn clerk_message(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::MemberFound => "Member found.",
        OutcomeKind::UnknownMember => {
            "Valid member card, not yet known to this store. Serve the member: points are \
             added when the store syncs; paying with points or balance needs a connection."
        }
        OutcomeKind::LookupFailed => {
            "Valid member card, but member details could not be loaded. Scan again."
        }
        OutcomeKind::NotMemberCode => "This is not a member card code.",
        OutcomeKind::Forged => {
            "This card is not genuine. Do not accept it; ask for another card or look the \
             member up by phone."
        }
        OutcomeKind::Revoked => {
            "This card has been cancelled. Ask the member for their current card or look them \
             up by phone."
        }
        OutcomeKind::KeyWithdrawn => {
            "This card was signed by a withdrawn terminal key after its withdrawal. Do not \
             accept it; look the member up by phone."
        }
        OutcomeKind::Expired => "This card has expired. Ask the member to renew it.",
        OutcomeKind::Unreadable => "The code could not be read. Scan again.",
        OutcomeKind::Enrollment => {
            "This is head office's enrollment code: it is scanned on a new till's first screen."
        }
        OutcomeKind::Item => "Product barcode scanned.",
        OutcomeKind::Receipt => "Receipt code scanned: checking it for a return.",
    }
}

impl ScanOutcome {
    /// The kind of this outcome.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Self::MemberFound { .. } => OutcomeKind::MemberFound,
            Self::UnknownMember { .. } => OutcomeKind::UnknownMember,
            Self::LookupFailed { .. } => OutcomeKind::LookupFailed,
            Self::NotMemberCode => OutcomeKind::NotMemberCode,
            Self::Forged => OutcomeKind::Forged,
            Self::Revoked => OutcomeKind::Revoked,
            Self::KeyWithdrawn => OutcomeKind::KeyWithdrawn,
            Self::Expired => OutcomeKind::Expired,
            Self::Unreadable => OutcomeKind::Unreadable,
            Self::Enrollment(_) => OutcomeKind::Enrollment,
            Self::Item(_) => OutcomeKind::Item,
            Self::Receipt(_) => OutcomeKind::Receipt,
        }
    }

    /// The message for the clerk.
    pub fn message(&self) -> &'static str {
        clerk_message(self.kind())
    }
}

/// Whether a decoded QR text is one of Tillcard's own codes (a member card
/// token, damaged or not, head office's enrollment code, or a receipt's
/// code): such a code wins over a product barcode in the same frame.
pub fn is_tillcard_text(text: &str) -> bool {
    let start = text.trim_start();
    start.starts_with(tillcard_protocol::enrollment::PREFIX)
        || start.starts_with(tillcard_protocol::receipt::PREFIX)
        || !matches!(parse_token(text), Err(ParseError::NotTillcard))
}

/// Turns a keyboard wedge's text into an outcome: a product code
/// ([`classify_wedge_text`]: 8, 12 or 13 digits with a valid check digit,
/// or a Code 128 text behind an AIM identifier) is an
/// [`ScanOutcome::Item`]; anything else is classified as a member code by
/// [`classify`], as before.
pub fn classify_wedge(
    text: &str,
    verifier: &CardVerifier,
    directory: &dyn MemberDirectory,
    now_unix: u64,
) -> ScanOutcome {
    match classify_wedge_text(text) {
        Some(code) => ScanOutcome::Item(code),
        None => classify(text, verifier, directory, now_unix),
    }
}

/// Turns a scanned text into an outcome: parse, verify offline at
/// `now_unix`, then look the member up. A QR code's text is never taken as
/// a product code here, whatever its digits (product codes come from the
/// barcode decoder, which knows the symbology).
pub fn classify(
    text: &str,
    verifier: &CardVerifier,
    directory: &dyn MemberDirectory,
    now_unix: u64,
) -> ScanOutcome {
    if text
        .trim_start()
        .starts_with(tillcard_protocol::enrollment::PREFIX)
    {
        return ScanOutcome::Enrollment(text.trim().to_owned());
    }
    if text
        .trim_start()
        .starts_with(tillcard_protocol::receipt::PREFIX)
    {
        return ScanOutcome::Receipt(text.trim().to_owned());
    }
    let token = match parse_token(text) {
        Ok(t) => t,
        Err(ParseError::NotTillcard) => return ScanOutcome::NotMemberCode,
        Err(
            ParseError::BadEncoding | ParseError::Malformed | ParseError::UnsupportedVersion(_),
        ) => return ScanOutcome::Unreadable,
    };
    let credential = match verifier.verify(&token, now_unix) {
        Ok(c) => c,
        Err(
            VerifyError::UnknownIssuer(_)
            | VerifyError::BadSignature
            | VerifyError::OutsideKeyWindow,
        ) => {
            return ScanOutcome::Forged;
        }
        Err(VerifyError::KeyWithdrawn) => return ScanOutcome::KeyWithdrawn,
        Err(VerifyError::Revoked) => return ScanOutcome::Revoked,
        Err(VerifyError::Expired) => return ScanOutcome::Expired,
    };
    match directory.find_by_member_id(credential.member_id) {
        Ok(Some(member)) => ScanOutcome::MemberFound { credential, member },
        Ok(None) => ScanOutcome::UnknownMember { credential },
        Err(_) => ScanOutcome::LookupFailed { credential },
    }
}
