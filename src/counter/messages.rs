//! The counter's vocabulary: the messages that go in and out of [`Counter`]
//! and the small public records its state is made of. [`Input`]s come in
//! (a tap's [`Action`], a keypad key, a scan, a status, the store's
//! [`Done`] answer); [`Command`]s go out (store jobs, uplink work, a
//! [`Sound`]). No behaviour lives here, so every flow, the UI adapters and
//! the runtime (`crate::terminal`) can name these types without depending
//! on one another.
//!
//! [`Counter`]: super::Counter

use tillcard_rules::booking::TopUp;
use tillcard_rules::pricing::Quote;
use tillcard_rules::refund::RefundLine;
use tillcard_rules::{MemberId, SourceId};

use super::checkout::{PriceAsk, Priced};
use super::keyboard::{TextField, TextKey};
use super::keypad::{Entry, Key};
use super::member::MemberSnapshot;
use crate::config::AddressProblem;
use crate::format::Language;
use crate::scan::outcome::{OutcomeKind, ScanOutcome};
use crate::store::StoreError;
use crate::store::actions::{RefundReceipt, SaleReceipt, SaleSummary};
use crate::store::clerks::{Approval, Clerk, Role};
use crate::store::members::{EnrollRequest, MemberRecord};
use crate::store::returns::{ReceiptRefund, VerifiedReceipt};
use crate::store::shift::ShiftClose;
use crate::uplink::UplinkStatus;

/// The screens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// PIN login (also the lock screen).
    #[default]
    Login,
    /// The scan screen: home.
    Home,
    /// A member's balances and actions.
    Member,
    /// Ringing up a sale.
    Checkout,
    /// The committed sale.
    Receipt,
    /// Enrollment at the door.
    Enroll,
    /// The new member's card.
    EnrollDone,
    /// Finding a member by phone number.
    PhoneLookup,
    /// Manager functions menu.
    Manager,
    /// Stored-value top-up.
    TopUp,
    /// Refunds.
    Refund,
    /// Manual points adjustment.
    Adjust,
    /// The gift catalogue (礼品兑换) for the member on screen.
    Gifts,
    /// A return from a receipt's QR code, of this till's sale or another
    /// till's of the chain (issue 24).
    Return,
    /// Sync status.
    Sync,
    /// Settings.
    Settings,
    /// A new till's first run: the store's enrollment code, registering,
    /// waiting for the store's staff.
    FirstRun,
    /// A clerk head office set up choosing their PIN with the setup code.
    PinSetup,
    /// The shift close: the Z report's preview, close and print (issue 24).
    ShiftClose,
}

/// A clerk as the login screen lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkEntry {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether the clerk has a PIN yet (else signing in sets one up).
    pub has_pin: bool,
}

/// A committed sale, with the member's balances after it.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleDone {
    /// The booked sale.
    pub receipt: SaleReceipt,
    /// The member after the sale (for new balances), if any.
    pub member_after: Option<MemberSnapshot>,
    /// The receipt's signed code (`TCR1:`), for a return at any store of
    /// the chain; none when the store could not make one.
    pub receipt_code: Option<String>,
}

/// A scanned receipt code the store verified, with what the return
/// screen shows beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedReceipt {
    /// The receipt: its sale's lines, tenders, store, till and moment, and
    /// what this till already returned of it.
    pub receipt: VerifiedReceipt,
    /// Per line, the catalog's item of its SKU (names in both languages,
    /// sold by weight or not); `None` for a keyed line or an item this
    /// till's catalog does not hold.
    pub items: Vec<Option<tillcard_rules::catalog::CatalogItem>>,
    /// The sale's member as this till holds them (masked), if it does.
    pub member: Option<MemberRecord>,
}

/// A return from a receipt booked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnDone {
    /// What was booked and what to hand back.
    pub refund: ReceiptRefund,
    /// When it was booked (the store's clock), for the refund slip.
    pub at: tillcard_rules::Timestamp,
}

/// A new member and their card.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollDone {
    /// The member.
    pub member: MemberSnapshot,
    /// The card's QR text.
    pub card_text: String,
    /// Where the card was saved as PNG, if it could be.
    pub card_png: Option<std::path::PathBuf>,
}

/// The store's answers.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "each answer is moved once, from the store's thread to the UI queue"
)]
pub enum Done {
    /// Clerks for the login screen.
    Clerks(Result<Vec<ClerkEntry>, StoreError>),
    /// A login attempt.
    LoggedIn(Result<Clerk, StoreError>),
    /// A manager PIN check.
    Approved(Result<Approval, StoreError>),
    /// A clerk's lockout lifted with a manager's PIN (the clerk's id).
    LockoutLifted(Result<String, StoreError>),
    /// A member opened by scan or phone (`None`: no such phone here).
    Member(Result<Option<MemberSnapshot>, StoreError>),
    /// A scanned member fetched from head office on demand, as the store
    /// now holds them.
    MemberFetched(Result<Option<MemberSnapshot>, StoreError>),
    /// The catalog's item for a scanned barcode (`None`: not in the
    /// catalog).
    Item(Result<Option<tillcard_rules::catalog::CatalogItem>, StoreError>),
    /// The catalog's item for a scanned scale label (found by the label's
    /// PLU), with the weight in grams the label carries.
    LabelItem(tillcard_rules::catalog::CatalogItem, i64),
    /// A price answer.
    Priced(u64, Result<Priced, StoreError>),
    /// A sale commit.
    SaleCommitted(Result<SaleDone, StoreError>),
    /// An enrollment.
    Enrolled(Result<EnrollDone, StoreError>),
    /// A top-up (the member after it).
    ToppedUp(Result<MemberSnapshot, StoreError>),
    /// Recent sales for the refund screen.
    Sales(Result<Vec<SaleSummary>, StoreError>),
    /// A past sale's quote.
    Sale(Result<(SourceId, Quote), StoreError>),
    /// A refund.
    Refunded(Result<RefundReceipt, StoreError>),
    /// A scanned receipt code verified (or refused: forged, from no till
    /// of this chain, damaged...).
    ReceiptVerified(Result<ScannedReceipt, StoreError>),
    /// A return from a receipt booked.
    ReturnedFromReceipt(Result<ReturnDone, StoreError>),
    /// An adjustment (the member after it).
    Adjusted(Result<MemberSnapshot, StoreError>),
    /// A gift redeemed for points: the member after it.
    GiftRedeemed(Result<MemberSnapshot, StoreError>),
    /// A receipt saved (path or why not).
    ReceiptSaved(Result<std::path::PathBuf, String>),
    /// Terminal provisioning.
    Provisioned(Result<(), HeadOfficeRefusal>),
    /// A PIN set with a setup code: the clerk, signed in with it.
    PinSet(Result<Clerk, HeadOfficeRefusal>),
    /// The open shift's Z report, previewed.
    ShiftReport(Result<ShiftPreview, StoreError>),
    /// The shift closed (its report as closed and uploaded).
    ShiftClosed(Result<ShiftClose, StoreError>),
    /// The store could not take the job at all (its thread is gone).
    Failed(StoreError),
}

/// Why head office did not do what the counter asked (register, set a
/// PIN), as the flows tell it apart: an unreachable head office is tried
/// again, a refusal is explained.
#[derive(Debug)]
pub enum HeadOfficeRefusal {
    /// No answer: the network or head office is down.
    Unreachable,
    /// Head office refused, with its stable code (PROTOCOL.md; empty when
    /// it named none) and its own words.
    Refused {
        /// `code_expired`, `setup_code_used`, ...
        code: String,
        /// Head office's explanation (English).
        detail: String,
    },
    /// This terminal refused (already registered, its disk, ...).
    Store(StoreError),
    /// Anything else, in words (a garbled answer, a file not saved).
    Other(String),
    /// The address cannot be used (plain http to another machine, not a
    /// web address): nothing was sent.
    Address(AddressProblem),
    /// Head office's certificate was refused (not the enrollment QR's, or
    /// not trusted): nothing was sent, the code not spent.
    Certificate(crate::uplink::CertificateProblem),
}

/// Where a new till is on its way to the first sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRunStep {
    /// Typing the store's enrollment code.
    EnterCode,
    /// The code is on its way to head office.
    Registering,
    /// Head office could not be reached: the screen says so and tries
    /// again by itself.
    Offline,
    /// Registered: the store's staff, program and members are on their
    /// way down.
    WaitingForStaff,
}

/// Where a clerk is in choosing their first PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSetupStep {
    /// The setup code head office showed.
    SetupCode,
    /// The new PIN.
    NewPin,
    /// The new PIN again.
    Repeat,
    /// Sent to head office; waiting for its answer.
    Sending,
}

/// The PIN set-up form of one clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinSetup {
    /// The clerk.
    pub staff_id: String,
    /// Their name, for the heading.
    pub name: String,
    /// Their role: a manager's PIN is longer ([`crate::pins`]).
    pub role: Role,
    /// The step on screen.
    pub step: PinSetupStep,
    /// The setup code typed.
    pub setup_code: Entry,
    /// The new PIN typed.
    pub pin: Entry,
    /// Its repeat.
    pub repeat: Entry,
    /// Why the last try did not work, in words.
    pub error: Option<String>,
}

/// What the camera is doing, for the status strip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CameraStatus {
    /// No camera configured (keyboard-wedge scanner or demo cards only).
    #[default]
    None,
    /// Frames flowing.
    Streaming,
    /// Unplugged or failing; retrying.
    Lost(String),
    /// Reading demo card images.
    Files,
}

/// A touch on the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Pick a clerk on the login screen.
    SelectClerk(String),
    /// Submit the PIN.
    SubmitPin,
    /// Lock the till now.
    Lock,
    /// Switch language.
    SetLanguage(Language),
    /// Back to the scan screen.
    Home,
    /// Start (or return to) a sale.
    OpenCheckout,
    /// Enrollment.
    OpenEnroll,
    /// Phone lookup.
    OpenPhoneLookup,
    /// Manager menu (asks for a manager PIN first).
    OpenManager,
    /// Add the keyed amount as a line of quick key `n`.
    QuickKey(usize),
    /// Remove line `n`.
    RemoveLine(usize),
    /// Toggle coupon `n` of the member's usable coupons.
    ToggleCoupon(usize),
    /// Points to redeem (from the slider).
    SetPoints(i64),
    /// As many points as allowed.
    MaxPoints,
    /// Pay from stored value on/off.
    ToggleStoredValue,
    /// Remove the member from the sale.
    DetachMember,
    /// Commit the sale.
    ConfirmSale,
    /// A tender for the sale (`TenderKind::ALL[n]`): the keypad's amount,
    /// or the rest due; cash keyed beyond the rest is change. When the
    /// tenders pay the amount due, the sale commits.
    Tender(usize),
    /// Abandon the sale.
    CancelSale,
    /// Save / print the receipt.
    PrintReceipt,
    /// Look up the keyed phone.
    FindPhone,
    /// Checkout for the member on screen.
    MemberCheckout,
    /// Top-up for the member on screen.
    MemberTopUp,
    /// Points adjustment for the member on screen.
    MemberAdjust,
    /// The gift catalogue for the member on screen.
    MemberGifts,
    /// Gifts: pick the `n`th gift offered.
    SelectGift(usize),
    /// Gifts: redeem the gift picked.
    ConfirmGift,
    /// Gifts: back to the member, nothing redeemed.
    CloseGifts,
    /// Enrollment: surname key.
    Surname(String),
    /// A text field edited on a hardware keyboard: its whole new text.
    SetText(TextField, String),
    /// Open the on-screen keyboard on a text field.
    OpenKeyboard(TextField),
    /// A key of the on-screen keyboard.
    TypeKey(TextKey),
    /// Enrollment: birthday month ±1.
    BirthdayMonth(i8),
    /// Enrollment: birthday day ±1.
    BirthdayDay(i8),
    /// Enrollment: consent on/off.
    ToggleConsent,
    /// Enrollment: drop the scanned referrer.
    ClearReferrer,
    /// Enrollment: submit.
    SubmitEnroll,
    /// Manager: pick a manager for the PIN prompt.
    SelectManager(String),
    /// Manager: close the PIN prompt.
    CancelApproval,
    /// Manager menu entries.
    OpenTopUp,
    /// See [`Page::Refund`].
    OpenRefund,
    /// See [`Page::Adjust`].
    OpenAdjust,
    /// See [`Page::Sync`].
    OpenSync,
    /// See [`Page::Settings`].
    OpenSettings,
    /// Top-up: package `n`.
    SelectPackage(usize),
    /// Top-up: commit.
    ConfirmTopUp,
    /// Refund: pick recent sale `n`.
    SelectSale(usize),
    /// Refund: change line `n` by a quantity.
    RefundStep(usize, i64),
    /// Refund: commit.
    ConfirmRefund,
    /// Return from a receipt: change line `n` by a quantity (a weighed
    /// line: all of what is left, or none).
    ReturnStep(usize, i64),
    /// Return from a receipt: book it.
    ConfirmReturn,
    /// Adjust: add or take away.
    ToggleAdjustSign,
    /// Adjust: reason `n`.
    SelectReason(usize),
    /// Adjust: commit.
    ConfirmAdjust,
    /// Sync now.
    SyncNow,
    /// Settings: register with head office at the typed address with the
    /// typed one-time code.
    Provision,
    /// First run: register with the enrollment code typed.
    Register,
    /// PIN set-up: the next step (or send, on the last).
    PinSetupNext,
    /// PIN set-up: a step back (from the first, back to sign-in).
    PinSetupBack,
    /// Manager: the shift close screen (the Z report's preview).
    OpenShiftClose,
    /// Shift close: close the shift and print its Z report (sent once).
    CloseShift,
    /// Shift close: print the closed shift's Z report again.
    ReprintShiftReport,
}

/// Everything that happens to the counter.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "each input is moved once, into the counter"
)]
pub enum Input {
    /// A tap.
    Tap(Action),
    /// A keypad key (goes to the entry of the screen on top).
    Key(Key),
    /// Time passes (auto-lock).
    Tick,
    /// A scan from the camera, a keyboard wedge or a demo card.
    Scanned(ScanOutcome),
    /// A product barcode from the camera or a keyboard wedge (issue 24):
    /// its symbology and checked text. The terminal sends every
    /// [`ScanOutcome::Item`] this way, never as [`Input::Scanned`].
    ItemScanned(crate::scan::product::ProductCode),
    /// The uplink's status.
    Status(UplinkStatus),
    /// The receipt printer's status (from its spooler; none arrives when
    /// no printer is configured).
    Printer(tillcard_print::PrinterStatus),
    /// The camera's status.
    Camera(CameraStatus),
    /// The store answered.
    Done(Done),
}

/// Sounds the counter plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sound {
    /// A good scan.
    Good,
    /// A bad scan or a refusal.
    Bad,
    /// A committed sale.
    Confirm,
}

/// Work for the world outside the counter.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// List clerks.
    LoadClerks,
    /// Check a PIN.
    Login {
        /// Clerk.
        clerk_id: String,
        /// PIN.
        pin: String,
    },
    /// Check a manager PIN.
    Approve {
        /// Manager.
        manager_id: String,
        /// PIN.
        pin: String,
    },
    /// Lift a clerk's lockout with another manager's PIN.
    LiftLockout {
        /// Manager.
        manager_id: String,
        /// The manager's PIN.
        pin: String,
        /// The locked-out clerk.
        clerk_id: String,
    },
    /// Print a receipt or a refund slip (the terminal fills in the store
    /// and the till; no printer: nothing). The drawer opens when cash was
    /// taken or is handed back. A reprint is a receipt marked as one.
    Print {
        /// The receipt.
        receipt: Box<tillcard_print::Receipt>,
        /// Kick the cash drawer open.
        open_drawer: bool,
    },
    /// Look a scanned barcode up in the catalog.
    LookupItem(tillcard_rules::catalog::ItemCode),
    /// Load a member by id (after a scan; admits a verified card unknown here).
    OpenMember {
        /// The member.
        member: MemberId,
        /// The card verified but the member is not cached here.
        unknown_card: bool,
    },
    /// Find a member by phone.
    FindByPhone {
        /// The number keyed.
        phone: String,
    },
    /// Price the sale.
    Price(PriceAsk),
    /// Commit a sale.
    CommitSale {
        /// The clerk.
        clerk: Clerk,
        /// The quote shown.
        quote: Box<Quote>,
        /// How it was paid.
        payment: tillcard_rules::tenders::Payment,
    },
    /// Enroll a member and issue their card.
    Enroll {
        /// The clerk.
        clerk: Clerk,
        /// The form.
        request: EnrollRequest,
    },
    /// Top up.
    TopUp {
        /// The clerk.
        clerk: Clerk,
        /// The member.
        member: MemberId,
        /// Package or amount.
        top_up: TopUp,
    },
    /// Recent sales.
    LoadSales,
    /// One sale's quote.
    LoadSale(SourceId),
    /// Refund.
    Refund {
        /// The clerk.
        clerk: Clerk,
        /// The manager's approval.
        approval: Approval,
        /// The sale.
        sale: SourceId,
        /// What to refund.
        lines: Vec<RefundLine>,
    },
    /// Verify a scanned receipt code (`TCR1:`) and read what the return
    /// screen shows beside it.
    VerifyReceipt(String),
    /// Return lines of a verified receipt.
    ReturnFromReceipt {
        /// The clerk.
        clerk: Clerk,
        /// The manager's approval.
        approval: Approval,
        /// The receipt as verified.
        receipt: Box<VerifiedReceipt>,
        /// What to return (index on the receipt, quantity).
        lines: Vec<RefundLine>,
    },
    /// Adjust points.
    Adjust {
        /// The clerk.
        clerk: Clerk,
        /// The manager's approval.
        approval: Approval,
        /// The member.
        member: MemberId,
        /// Signed points.
        delta: i64,
        /// Why.
        reason: String,
    },
    /// Redeem a gift of the catalogue for points.
    RedeemGift {
        /// The clerk.
        clerk: Clerk,
        /// The member.
        member: MemberId,
        /// The gift's code.
        gift: String,
    },
    /// Save (and print) a receipt's text.
    SaveReceipt {
        /// The sale.
        sale: SourceId,
        /// The text.
        text: String,
    },
    /// Redeem a provisioning code.
    Provision {
        /// Head office.
        url: String,
        /// Code.
        code: String,
        /// A manager's approval: needed when the terminal is registered
        /// already (the first registration's authority is the code).
        approval: Option<Approval>,
        /// The SHA-256 of head office's certificate from a scanned
        /// enrollment QR: the registration trusts that certificate only.
        pin: Option<tillcard_protocol::enrollment::CertificatePin>,
    },
    /// Set a clerk's first PIN with head office's setup code, then sign
    /// the clerk in.
    SetPin {
        /// The clerk.
        staff_id: String,
        /// The setup code head office showed.
        setup_code: String,
        /// The new PIN (hashed before it leaves the store's thread).
        pin: String,
    },
    /// Wake the uplink now.
    SyncNow,
    /// Start syncing with head office (after registration).
    StartSync,
    /// Play a sound.
    Play(Sound),
    /// Read the open shift's Z report (no close).
    LoadShiftReport,
    /// Close the shift: the close row, its `shift_closed` event and audit
    /// row in one transaction (`Store::close_shift`).
    CloseShift {
        /// The clerk signed in, who closes it (a manager approved the
        /// screen).
        clerk: Clerk,
    },
    /// Print a shift's Z report (the terminal fills in the store and the
    /// till; no printer: nothing). Never opens the drawer.
    PrintZReport(Box<tillcard_print::ZReport>),
}

/// The manager PIN prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalPrompt {
    /// Manager chosen.
    pub manager: Option<String>,
    /// PIN typed.
    pub pin: Entry,
    /// Why the last PIN was refused.
    pub error: Option<String>,
    /// The locked-out clerk this approval lifts the lockout of (at the
    /// login screen); `None`: it opens a manager screen.
    pub lifting: Option<String>,
}

/// The last scan, for the scan screen's banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanBanner {
    /// Good or bad.
    pub kind: OutcomeKind,
    /// Counts scans, so the view can flash on each one.
    pub serial: u64,
}

/// A message for the clerk, good or bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The words.
    pub text: String,
    /// A refusal or failure.
    pub bad: bool,
}

/// The open shift's report as the shift-close screen previews it, with the
/// store and till it is for (the counter knows neither).
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftPreview {
    /// The store's code from the configuration (empty: none).
    pub store: String,
    /// This till's id.
    pub terminal: String,
    /// The shift's figures up to now.
    pub report: tillcard_rules::shift::ShiftReport,
}

/// The shift-close screen (issue 24): the preview, whether the close is on
/// its way, and the shift closed on this visit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShiftCloseScreen {
    /// The open shift's report (none while it loads).
    pub preview: Option<ShiftPreview>,
    /// The close was sent and its answer is not in yet: another tap sends
    /// nothing.
    pub closing: bool,
    /// Who tapped "Close and print", as shown on screen: the report names
    /// them even when the till locked before the store answered.
    pub closing_by: String,
    /// The shift closed on this visit: shown as closed, its report
    /// printable again.
    pub closed: Option<ShiftClose>,
    /// Its Z report as printed (the store and till left to the terminal),
    /// kept to print again.
    pub printed: Option<tillcard_print::ZReport>,
    /// Why the preview or the close failed, in words.
    pub error: Option<String>,
}
