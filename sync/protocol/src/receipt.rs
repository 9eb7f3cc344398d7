//! Receipt tokens: the signed summary of a sale printed as a QR code on its
//! receipt, so that any terminal of the chain can take a return of it
//! offline (`sync/PROTOCOL.md`, "Receipt tokens").
//!
//! The selling terminal signs the summary with its card key (the key and
//! key id it signs member cards with, `crate::card`), so every terminal
//! verifies it with the keys head office already pushed down, windows and
//! withdrawals included. The signature is domain-separated from cards by
//! its own context string ([`SIGNING_CONTEXT`]).
//!
//! A token carries exactly what the refund rules (`tillcard_rules::refund`)
//! read from a sale: per line its quantity and how it was paid (net, points
//! and their value, stored-value principal and bonus, money, whether and
//! at what rate it earned), the order's earning (eligible paid, points),
//! its coupon, the lots its redeemed points came from, and the money
//! tenders. No phone, name or birthday: only the member's id.
//!
//! Layout (version 1), every integer big-endian or LEB128 (`var`, unsigned;
//! `zz`, zig-zag signed):
//!
//! ```text
//! u8 version | u8 flags (1 member, 2 coupon) | u16 key id
//! 16 sale id | 16 terminal id | var len + store code (UTF-8)
//! var at (Unix s) | zz UTC offset (s)
//! [16 member] | [16 coupon's action + var coupon index]
//! zz total | zz earn eligible paid | var points earned
//! var n + n × (16 lot + var points)        redeemed points' lots
//! var n + n × (u8 kind + var fen)          money tenders
//! var n + n × (var len + sku, var quantity, zz net, var points,
//!              zz points value, zz principal, zz bonus, zz money,
//!              var (earn rate milli × 2 + earns))
//! 64 Ed25519 signature over SIGNING_CONTEXT ‖ everything above
//! ```
//!
//! The text is [`PREFIX`] then the bytes in base45 (QR alphanumeric mode).
//! A 10-line sale with a member, 13-digit SKUs, two lots and two tenders is
//! 728 characters (tested: under [`TEN_LINE_BOUND`]); each more such line
//! adds about 42 characters, so [`MAX_LINES`] lines make about 2,800. A
//! code longer than [`MAX_TOKEN_CHARS`] (a QR code of version 40 at level
//! L holds 4,296) is not made: such a sale is printed without a return code
//! and returned at its own terminal. No deflate: the body is mostly ids and small numbers,
//! which do not compress, and a fixed layout is simpler to bound.

use ed25519_dalek::{Signature, VerifyingKey};
use tillcard_rules::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EntryKind, LedgerEntry, LotDraw};
use tillcard_rules::limits;
use tillcard_rules::money::Money;
use tillcard_rules::pricing::{AppliedCoupon, BasketLine, EarnBreakdown, Quote, QuoteLine};
use tillcard_rules::tenders::{Tender, TenderKind};
use uuid::Uuid;

use crate::base45;
use crate::card::{CardSigner, KeyId, SIGNATURE_LEN};

/// Text every Tillcard receipt code starts with.
pub const PREFIX: &str = "TCR1:";
/// The layout version this code writes and reads.
pub const VERSION_1: u8 = 1;
/// Domain separation: prepended to the body before signing, so that no
/// member card (`tillcard/member-card/v1`) or anything else signed with a
/// card key can pass as a receipt, nor a receipt as a card.
pub const SIGNING_CONTEXT: &[u8] = b"tillcard/receipt/v1\0";
/// The most lines a receipt token carries: a longer sale prints no return
/// code and is returned at its own terminal.
pub const MAX_LINES: usize = 60;
/// The longest SKU a token carries, in bytes.
pub const MAX_SKU_BYTES: usize = 32;
/// The longest store code, in bytes.
pub const MAX_STORE_BYTES: usize = 32;
/// The most money tenders.
pub const MAX_TENDERS: usize = 8;
/// The most lots the sale's redeemed points came from.
pub const MAX_DRAWS: usize = 16;
/// The longest token text (QR version 40-L holds 4,296 alphanumeric
/// characters).
pub const MAX_TOKEN_CHARS: usize = 4_000;
/// What a 10-line sale's token stays under (tested).
pub const TEN_LINE_BOUND: usize = 1_000;

const FLAG_MEMBER: u8 = 0b01;
const FLAG_COUPON: u8 = 0b10;

/// One line of the sale as a refund needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptLine {
    /// Item code.
    pub sku: String,
    /// Quantity sold.
    pub quantity: i64,
    /// What the line cost after every discount.
    pub net: Money,
    /// Points redeemed allocated to the line.
    pub points: i64,
    /// Their value.
    pub points_value: Money,
    /// Stored-value principal allocated to the line.
    pub stored_value_principal: Money,
    /// Stored-value bonus allocated to the line.
    pub stored_value_bonus: Money,
    /// Paid in money.
    pub money: Money,
    /// Whether the line earned points.
    pub earns: bool,
    /// Its category's points rate, thousandths.
    pub earn_rate_milli: i64,
}

/// A verified (or about to be signed) summary of a sale.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptSummary {
    /// The sale (its quote id).
    pub sale: SourceId,
    /// The selling terminal.
    pub terminal: Uuid,
    /// Its store's code.
    pub store: String,
    /// The card key that signed the receipt.
    pub key_id: KeyId,
    /// When the sale was priced, Unix seconds.
    pub at_unix: i64,
    /// The store's UTC offset then, seconds.
    pub utc_offset_s: i32,
    /// The member, `None` for a walk-in sale.
    pub member: Option<MemberId>,
    /// The coupon used, if any.
    pub coupon: Option<CouponId>,
    /// Order total after discounts.
    pub total: Money,
    /// Paid with money or stored value on lines that earn.
    pub earn_eligible_paid: Money,
    /// Points earned by the sale.
    pub points_earned: i64,
    /// Lots the redeemed points came from.
    pub redeemed: Vec<LotDraw>,
    /// Money tenders, possibly none.
    pub tenders: Vec<Tender>,
    /// Lines, in the sale's order (a refund names them by index).
    pub lines: Vec<ReceiptLine>,
}

/// Why a receipt cannot be printed with a return code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptBuildError {
    /// More than [`MAX_LINES`] lines, [`MAX_TENDERS`] tenders or
    /// [`MAX_DRAWS`] lots, or a SKU or store code too long.
    #[error("too large for a receipt code: {0}")]
    TooLarge(String),
    /// An amount, quantity or moment outside the chain's limits.
    #[error(transparent)]
    OutOfBounds(#[from] limits::OutOfBounds),
}

/// Why a scanned receipt is refused, worded for the clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a Tillcard receipt code at all.
    #[error("this is not a Tillcard receipt code")]
    NotAReceipt,
    /// The prefix is there but the rest does not read.
    #[error("the receipt code is damaged or incomplete: scan it again")]
    Damaged,
    /// A newer layout than this terminal reads.
    #[error("this receipt comes from a newer till: update this till")]
    NewerVersion(u8),
    /// Signed by a key this terminal does not trust.
    #[error("this receipt was not signed by a till of this chain")]
    UnknownTill(KeyId),
    /// The signature does not match the content.
    #[error("this receipt's signature does not match: it was altered or forged")]
    BadSignature,
    /// The sale is outside the window head office certified the key for.
    #[error("the till that printed this receipt was not trusted at the time of the sale")]
    OutsideKeyWindow,
    /// Signed after its key was withdrawn (the selling terminal revoked).
    #[error("the till that printed this receipt was withdrawn before the sale: call head office")]
    KeyWithdrawn,
    /// Signed, but holding values beyond the chain's limits.
    #[error("the receipt holds values beyond the chain's limits: call head office")]
    OutOfBounds(String),
}

/// How a trusted key stands for a receipt signed at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    /// Certified then, and not withdrawn before.
    Trusted,
    /// Outside the window head office certified the key for.
    OutsideWindow,
    /// The key was withdrawn before that moment.
    Withdrawn,
}

/// The keys a verifier trusts: the public key under `key_id` and how it
/// stands at `signed_at_unix`, or `None` when the key is unknown. A
/// terminal answers from its card verifier's keys and windows; a closure
/// `Fn(KeyId, i64) -> Option<(VerifyingKey, KeyStanding)>` will do.
pub trait ReceiptKeys {
    /// The key and its standing.
    fn receipt_key(
        &self,
        key_id: KeyId,
        signed_at_unix: i64,
    ) -> Option<(VerifyingKey, KeyStanding)>;
}

impl<F> ReceiptKeys for F
where
    F: Fn(KeyId, i64) -> Option<(VerifyingKey, KeyStanding)>,
{
    fn receipt_key(
        &self,
        key_id: KeyId,
        signed_at_unix: i64,
    ) -> Option<(VerifyingKey, KeyStanding)> {
        self(key_id, signed_at_unix)
    }
}

fn tender_code(kind: TenderKind) -> u8 {
    match kind {
        TenderKind::Cash => 0,
        TenderKind::BankCard => 1,
        TenderKind::WechatPay => 2,
        TenderKind::Alipay => 3,
    }
}

fn tender_kind(code: u8) -> Option<TenderKind> {
    TenderKind::ALL
        .into_iter()
        .find(|k| tender_code(*k) == code)
}

impl ReceiptSummary {
    /// The summary of a booked sale: its quote, the ledger entries it
    /// booked (for the lots its redeemed points came from), its money
    /// tenders, and where it was sold. `key_id` is set when signed.
    pub fn of_sale(
        quote: &Quote,
        sale_entries: &[LedgerEntry],
        tenders: &[Tender],
        terminal: Uuid,
        store: &str,
    ) -> ReceiptSummary {
        let redeemed = sale_entries
            .iter()
            .filter(|e| e.source == quote.id)
            .flat_map(|e| match &e.kind {
                EntryKind::PointsRedeemed { draws } => draws.clone(),
                _ => Vec::new(),
            })
            .collect();
        ReceiptSummary {
            sale: quote.id,
            terminal,
            store: store.to_owned(),
            key_id: 0,
            at_unix: quote.at.timestamp(),
            utc_offset_s: quote.at.offset().local_minus_utc(),
            member: quote.member,
            coupon: quote.coupon.as_ref().map(|c| c.coupon),
            total: quote.total,
            earn_eligible_paid: quote.earn.eligible_paid,
            points_earned: quote.earn.points,
            redeemed,
            tenders: tenders.to_vec(),
            lines: quote
                .lines
                .iter()
                .map(|l| ReceiptLine {
                    sku: l.item.sku.clone(),
                    quantity: l.item.quantity,
                    net: l.net,
                    points: l.points,
                    points_value: l.points_value,
                    stored_value_principal: l.stored_value_principal,
                    stored_value_bonus: l.stored_value_bonus,
                    money: l.money,
                    earns: l.earns,
                    earn_rate_milli: l.earn_rate_milli,
                })
                .collect(),
        }
    }

    /// When the sale was priced, with the store's offset.
    pub fn at(&self) -> Timestamp {
        let offset = chrono::FixedOffset::east_opt(self.utc_offset_s)
            .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
        chrono::DateTime::from_timestamp(self.at_unix, 0)
            .unwrap_or_default()
            .with_timezone(&offset)
    }

    /// The sale as the refund rules read it: every amount a refund shares
    /// out, as sold. Names, categories, unit prices and the discounts'
    /// breakdown are not on a receipt and read empty or zero; this quote is
    /// for `tillcard_rules::refund` only, never to book or re-price.
    pub fn refund_quote(&self) -> Quote {
        let lines: Vec<QuoteLine> = self
            .lines
            .iter()
            .map(|l| QuoteLine {
                item: BasketLine {
                    sku: l.sku.clone(),
                    name: String::new(),
                    category: String::new(),
                    quantity: l.quantity,
                    unit_price: Money::ZERO,
                    list_price: None,
                },
                gross: l.net,
                tier_discount: Money::ZERO,
                member_day_discount: Money::ZERO,
                coupon_discount: Money::ZERO,
                net: l.net,
                points: l.points,
                points_value: l.points_value,
                stored_value_principal: l.stored_value_principal,
                stored_value_bonus: l.stored_value_bonus,
                money: l.money,
                earns: l.earns,
                earn_rate_milli: l.earn_rate_milli,
            })
            .collect();
        let sum = |f: fn(&ReceiptLine) -> Money| {
            self.lines
                .iter()
                .map(f)
                .fold(Money::ZERO, |a, b| a.checked_add(b).unwrap_or(a))
        };
        let points_redeemed = self
            .lines
            .iter()
            .fold(0i64, |a, l| a.saturating_add(l.points));
        let points_value = sum(|l| l.points_value);
        Quote {
            id: self.sale,
            member: self.member,
            at: self.at(),
            offline: false,
            program_version: None,
            tier: None,
            lines,
            subtotal: self.total,
            tier_discount: None,
            member_day_discount: None,
            coupon: self.coupon.map(|coupon| AppliedCoupon {
                coupon,
                code: String::new(),
                amount: Money::ZERO,
                gift: None,
            }),
            total: self.total,
            points_redeemed,
            points_value,
            stored_value_principal: sum(|l| l.stored_value_principal),
            stored_value_bonus: sum(|l| l.stored_value_bonus),
            amount_due: sum(|l| l.money),
            earn: EarnBreakdown {
                eligible_paid: self.earn_eligible_paid,
                base_points: self.points_earned,
                tier_multiplier_milli: 1000,
                occasion: None,
                occasion_multiplier_milli: 1000,
                points: self.points_earned,
            },
            qualifying_spend: self.total.checked_sub(points_value).unwrap_or(self.total),
            refusals: Vec::new(),
        }
    }

    /// The sale's ledger entries as the refund rules read them: only the
    /// redemption (which lots its points came from), for a member's sale.
    pub fn refund_sale_entries(&self) -> Vec<LedgerEntry> {
        match self.member {
            Some(member) if !self.redeemed.is_empty() => vec![LedgerEntry {
                member,
                source: self.sale,
                at: self.at(),
                kind: EntryKind::PointsRedeemed {
                    draws: self.redeemed.clone(),
                },
            }],
            _ => Vec::new(),
        }
    }

    /// Every count, length, amount and moment within its bound.
    fn check_bounds(&self) -> Result<(), ReceiptBuildError> {
        let too_large = |what: &str| Err(ReceiptBuildError::TooLarge(what.to_owned()));
        if self.lines.len() > MAX_LINES {
            return too_large("too many lines");
        }
        if self.tenders.len() > MAX_TENDERS {
            return too_large("too many tenders");
        }
        if self.redeemed.len() > MAX_DRAWS {
            return too_large("points from too many lots");
        }
        if self.store.len() > MAX_STORE_BYTES {
            return too_large("store code too long");
        }
        limits::check_range(
            "at",
            self.at_unix,
            limits::EARLIEST_UNIX_SECONDS,
            limits::END_UNIX_SECONDS - 1,
        )?;
        limits::check_range("utc_offset", i64::from(self.utc_offset_s), -86_399, 86_399)?;
        limits::check_money("total", self.total)?;
        limits::check_money("earn.eligible_paid", self.earn_eligible_paid)?;
        limits::check_points_not_negative("earn.points", self.points_earned)?;
        for (i, d) in self.redeemed.iter().enumerate() {
            limits::check_points_not_negative(format!("redeemed[{i}]"), d.points)?;
        }
        for (i, t) in self.tenders.iter().enumerate() {
            limits::check_money_not_negative(format!("tenders[{i}]"), t.amount)?;
        }
        for (i, l) in self.lines.iter().enumerate() {
            if l.sku.len() > MAX_SKU_BYTES {
                return too_large("a SKU too long");
            }
            limits::check_range(
                format!("lines[{i}].quantity"),
                l.quantity,
                1,
                limits::MAX_QUANTITY,
            )?;
            limits::check_money(format!("lines[{i}].net"), l.net)?;
            limits::check_points_not_negative(format!("lines[{i}].points"), l.points)?;
            limits::check_money(format!("lines[{i}].points_value"), l.points_value)?;
            limits::check_money(format!("lines[{i}].principal"), l.stored_value_principal)?;
            limits::check_money(format!("lines[{i}].bonus"), l.stored_value_bonus)?;
            limits::check_money(format!("lines[{i}].money"), l.money)?;
            limits::check_range(
                format!("lines[{i}].earn_rate_milli"),
                l.earn_rate_milli,
                0,
                limits::MAX_MULTIPLIER_MILLI,
            )?;
        }
        Ok(())
    }

    /// The bytes signed after [`SIGNING_CONTEXT`] (bounds already checked).
    fn body_bytes(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(128 + 40 * self.lines.len());
        w.push(VERSION_1);
        let mut flags = 0;
        if self.member.is_some() {
            flags |= FLAG_MEMBER;
        }
        if self.coupon.is_some() {
            flags |= FLAG_COUPON;
        }
        w.push(flags);
        w.extend_from_slice(&self.key_id.to_be_bytes());
        w.extend_from_slice(self.sale.0.as_bytes());
        w.extend_from_slice(self.terminal.as_bytes());
        put_str(&mut w, &self.store);
        put_var(&mut w, self.at_unix.unsigned_abs());
        put_zz(&mut w, i64::from(self.utc_offset_s));
        if let Some(member) = self.member {
            w.extend_from_slice(member.0.as_bytes());
        }
        if let Some(coupon) = self.coupon {
            w.extend_from_slice(coupon.issued_by.0.as_bytes());
            put_var(&mut w, u64::from(coupon.index));
        }
        put_zz(&mut w, self.total.fen());
        put_zz(&mut w, self.earn_eligible_paid.fen());
        put_var(&mut w, self.points_earned.unsigned_abs());
        put_var(&mut w, self.redeemed.len() as u64);
        for d in &self.redeemed {
            w.extend_from_slice(d.lot.0.0.as_bytes());
            put_var(&mut w, d.points.unsigned_abs());
        }
        put_var(&mut w, self.tenders.len() as u64);
        for t in &self.tenders {
            w.push(tender_code(t.kind));
            put_var(&mut w, t.amount.fen().unsigned_abs());
        }
        put_var(&mut w, self.lines.len() as u64);
        for l in &self.lines {
            put_str(&mut w, &l.sku);
            put_var(&mut w, l.quantity.unsigned_abs());
            put_zz(&mut w, l.net.fen());
            put_var(&mut w, l.points.unsigned_abs());
            put_zz(&mut w, l.points_value.fen());
            put_zz(&mut w, l.stored_value_principal.fen());
            put_zz(&mut w, l.stored_value_bonus.fen());
            put_zz(&mut w, l.money.fen());
            put_var(
                &mut w,
                l.earn_rate_milli.unsigned_abs().saturating_mul(2) + u64::from(l.earns),
            );
        }
        w
    }
}

/// The message a card key signs for a receipt body.
pub fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + body.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(body);
    m
}

/// The text of a sale's receipt QR code, signed with the selling terminal's
/// card key: [`ReceiptSummary::of_sale`] of the sale, then [`sign`].
pub fn receipt_token(
    quote: &Quote,
    sale_entries: &[LedgerEntry],
    tenders: &[Tender],
    terminal: Uuid,
    store: &str,
    signer: &CardSigner,
) -> Result<String, ReceiptBuildError> {
    sign(
        &ReceiptSummary::of_sale(quote, sale_entries, tenders, terminal, store),
        signer,
    )
}

/// Signs a summary (its key id set to the signer's) into token text.
pub fn sign(summary: &ReceiptSummary, signer: &CardSigner) -> Result<String, ReceiptBuildError> {
    let summary = ReceiptSummary {
        key_id: signer.key_id(),
        ..summary.clone()
    };
    summary.check_bounds()?;
    let mut bytes = summary.body_bytes();
    let signature = signer.sign_message(&signed_message(&bytes));
    bytes.extend_from_slice(&signature);
    let mut text = String::from(PREFIX);
    text.push_str(&base45::encode(&bytes));
    if text.len() > MAX_TOKEN_CHARS {
        return Err(ReceiptBuildError::TooLarge("the whole code".into()));
    }
    Ok(text)
}

/// Reads a scanned receipt code and checks its signature with `keys`:
/// never panics, whatever the text.
pub fn parse_and_verify(
    text: &str,
    keys: &impl ReceiptKeys,
) -> Result<ReceiptSummary, ReceiptError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix(PREFIX) else {
        return Err(ReceiptError::NotAReceipt);
    };
    if text.len() > MAX_TOKEN_CHARS {
        return Err(ReceiptError::Damaged);
    }
    let bytes = base45::decode(rest).map_err(|_| ReceiptError::Damaged)?;
    let Some(body_len) = bytes.len().checked_sub(SIGNATURE_LEN) else {
        return Err(ReceiptError::Damaged);
    };
    let (body, signature) = bytes.split_at(body_len);
    let summary = read_body(body)?;
    let Some((key, standing)) = keys.receipt_key(summary.key_id, summary.at_unix) else {
        return Err(ReceiptError::UnknownTill(summary.key_id));
    };
    let signature: [u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| ReceiptError::Damaged)?;
    key.verify_strict(&signed_message(body), &Signature::from_bytes(&signature))
        .map_err(|_| ReceiptError::BadSignature)?;
    match standing {
        KeyStanding::Trusted => {}
        KeyStanding::OutsideWindow => return Err(ReceiptError::OutsideKeyWindow),
        KeyStanding::Withdrawn => return Err(ReceiptError::KeyWithdrawn),
    }
    summary
        .check_bounds()
        .map_err(|e| ReceiptError::OutOfBounds(e.to_string()))?;
    Ok(summary)
}

fn put_var(w: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            w.push(byte);
            return;
        }
        w.push(byte | 0x80);
    }
}

fn put_zz(w: &mut Vec<u8>, v: i64) {
    put_var(w, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_var(w, s.len() as u64);
    w.extend_from_slice(s.as_bytes());
}

/// A bounded reader over a body: every read checks what is left.
struct Reader<'a> {
    bytes: &'a [u8],
}

type Read<T> = Result<T, ReceiptError>;

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Read<&[u8]> {
        if n > self.bytes.len() {
            return Err(ReceiptError::Damaged);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Read<u8> {
        Ok(self.take(1)?[0])
    }

    fn uuid(&mut self) -> Read<Uuid> {
        let b: [u8; 16] = self
            .take(16)?
            .try_into()
            .map_err(|_| ReceiptError::Damaged)?;
        Ok(Uuid::from_bytes(b))
    }

    fn var(&mut self) -> Read<u64> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let byte = self.u8()?;
            let part = u64::from(byte & 0x7F);
            if i == 9 && part > 1 {
                return Err(ReceiptError::Damaged);
            }
            v |= part << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ReceiptError::Damaged)
    }

    /// An unsigned number that fits an i64.
    fn int(&mut self) -> Read<i64> {
        i64::try_from(self.var()?).map_err(|_| ReceiptError::Damaged)
    }

    fn zz(&mut self) -> Read<i64> {
        let v = self.var()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn count(&mut self, max: usize) -> Read<usize> {
        let n = self.var()?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(ReceiptError::Damaged)
    }

    fn str(&mut self, max: usize) -> Read<String> {
        let n = self.count(max)?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| ReceiptError::Damaged)
    }
}

fn read_body(body: &[u8]) -> Read<ReceiptSummary> {
    let mut r = Reader { bytes: body };
    let version = r.u8()?;
    if version != VERSION_1 {
        return Err(ReceiptError::NewerVersion(version));
    }
    let flags = r.u8()?;
    if flags & !(FLAG_MEMBER | FLAG_COUPON) != 0 {
        return Err(ReceiptError::Damaged);
    }
    let key_id = u16::from_be_bytes([r.u8()?, r.u8()?]);
    let sale = SourceId(r.uuid()?);
    let terminal = r.uuid()?;
    let store = r.str(MAX_STORE_BYTES)?;
    let at_unix = r.int()?;
    let utc_offset_s = i32::try_from(r.zz()?).map_err(|_| ReceiptError::Damaged)?;
    let member = if flags & FLAG_MEMBER != 0 {
        Some(MemberId(r.uuid()?))
    } else {
        None
    };
    let coupon = if flags & FLAG_COUPON != 0 {
        let issued_by = SourceId(r.uuid()?);
        let index = u16::try_from(r.var()?).map_err(|_| ReceiptError::Damaged)?;
        Some(CouponId { issued_by, index })
    } else {
        None
    };
    let total = Money::from_fen(r.zz()?);
    let earn_eligible_paid = Money::from_fen(r.zz()?);
    let points_earned = r.int()?;
    let n = r.count(MAX_DRAWS)?;
    let mut redeemed = Vec::with_capacity(n);
    for _ in 0..n {
        let lot = LotId(SourceId(r.uuid()?));
        redeemed.push(LotDraw {
            lot,
            points: r.int()?,
        });
    }
    let n = r.count(MAX_TENDERS)?;
    let mut tenders = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = tender_kind(r.u8()?).ok_or(ReceiptError::Damaged)?;
        tenders.push(Tender {
            kind,
            amount: Money::from_fen(r.int()?),
        });
    }
    let n = r.count(MAX_LINES)?;
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let sku = r.str(MAX_SKU_BYTES)?;
        let quantity = r.int()?;
        let net = Money::from_fen(r.zz()?);
        let points = r.int()?;
        let points_value = Money::from_fen(r.zz()?);
        let stored_value_principal = Money::from_fen(r.zz()?);
        let stored_value_bonus = Money::from_fen(r.zz()?);
        let money = Money::from_fen(r.zz()?);
        let rate = r.int()?;
        lines.push(ReceiptLine {
            sku,
            quantity,
            net,
            points,
            points_value,
            stored_value_principal,
            stored_value_bonus,
            money,
            earns: rate & 1 == 1,
            earn_rate_milli: rate >> 1,
        });
    }
    if !r.bytes.is_empty() {
        return Err(ReceiptError::Damaged);
    }
    Ok(ReceiptSummary {
        sale,
        terminal,
        store,
        key_id,
        at_unix,
        utc_offset_s,
        member,
        coupon,
        total,
        earn_eligible_paid,
        points_earned,
        redeemed,
        tenders,
        lines,
    })
}

#[cfg(test)]
mod tests;
