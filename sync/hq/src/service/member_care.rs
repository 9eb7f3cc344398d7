//! Member care: head office changing one member's standing, each change
//! with who made it and why in the audit trail (the member's personal data
//! never: the subject is `member:<id>`, the detail the operator's reason).
//!
//! A frozen member (suspected fraud, a dispute, a lost card not yet
//! re-issued) still buys, earns and uses coupons; terminals redeem neither
//! points nor stored value for them (`rules::pricing` refuses with
//! `member_frozen`). The freeze travels as a member change: every terminal's
//! next sync brings the member's snapshot with `frozen`, and a terminal
//! enforces it offline from then on; a phone lookup answers the same
//! snapshot.

use tillcard_rules::ids::MemberId;

use super::Hq;
use super::back_office::Actor;
use super::checks::{answer, check_text};
use crate::error::HqError;

/// The most characters of a reason for a change of standing.
pub const MAX_REASON_CHARS: usize = 200;

impl Hq {
    /// Freezes (`frozen`) or unfreezes a member, with `reason` in the audit
    /// trail; every terminal learns it on its next sync. Refused:
    /// `invalid_reason` (blank or too long), `unknown_member` (no such
    /// member, or erased).
    pub async fn set_member_frozen(
        &self,
        actor: &Actor,
        member: MemberId,
        frozen: bool,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let action = if frozen {
            "member_frozen"
        } else {
            "member_unfrozen"
        };
        let audit = actor.audit(action, format!("member:{member}"), reason.to_string());
        answer(self.store.set_member_frozen(member, frozen, &audit).await?)?;
        tracing::info!(member = %member, frozen, actor = %actor.name, "member's standing changed");
        Ok(())
    }
}
