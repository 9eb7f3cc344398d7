//! Member care's card re-issue: a member who lost their card (a phone
//! stolen, a printed card gone) gets a new one, and the old one stops
//! working everywhere.
//!
//! Head office keeps the serial of each member's current card (1 from
//! enrollment). A re-issue, in one transaction with its audit row
//! (`card_reissued`, subject `member:<id>`, detail the operator's reason):
//! - raises the serial;
//! - revokes the card before, as the (member, old serial) pair on the
//!   downlink: every terminal refuses it as *revoked* after its next sync,
//!   offline too;
//! - sends the member down again, their snapshot carrying the new serial.
//!
//! Head office signs no card itself. The terminal that next serves the
//! member (found by phone, or by the refused card's member id) prints them
//! one with the new serial, signed with its own registered card key, which
//! every terminal trusts (`docs/CREDENTIAL.md`, "Re-issue"). The token's
//! format lives with the terminal's signer alone, and the new card is
//! handed over where the member is.

use tillcard_rules::ids::MemberId;

use super::Hq;
use super::back_office::Actor;
use super::checks::{answer, check_text};
use super::member_care::MAX_REASON_CHARS;
use crate::error::HqError;

impl Hq {
    /// Re-issues `member`'s card with `reason` in the audit trail: the
    /// serial raised, the card before revoked at every terminal after its
    /// next sync. Returns the new card's serial. Refused: `invalid_reason`,
    /// `unknown_member` (none, or erased), `already_merged` (merged into
    /// another member: re-issue the survivor's card),
    /// `card_serials_used_up`.
    pub async fn reissue_card(
        &self,
        actor: &Actor,
        member: MemberId,
        reason: &str,
    ) -> Result<u16, HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let audit = actor.audit(
            "card_reissued",
            format!("member:{member}"),
            reason.to_string(),
        );
        let serial = answer(self.store.reissue_card(member, &audit).await?)?;
        tracing::info!(member = %member, card_serial = serial, actor = %actor.name, "member's card re-issued");
        Ok(serial)
    }
}
