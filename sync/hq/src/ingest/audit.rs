//! A terminal's audit chain against the head head office acknowledged last,
//! as a pure function ([`check`]): what the batch's transaction stores as
//! the terminal's new audit head and which flags it raises. The flags are
//! for people (the review queue); the batch's events apply all the same.
//!
//! Each link is an HMAC-SHA256 over the link before it and its row, under
//! a key only the terminal holds, so head office cannot recompute links: it
//! compares. A link commits to every row up to it, so the one link at head
//! office's head tells whether any row at or before it changed since.

use tillcard_protocol::auth;
use tillcard_protocol::wire::{self, UploadAudit};

use super::BatchRefusal;

/// Flag kind: a row at or before head office's head reads differently now,
/// or the terminal's own check of its chain fails.
pub const REWRITTEN: &str = "audit_rewritten";
/// Flag kind: the terminal's chain is shorter than head office's head, or
/// rows are missing between the links sent.
pub const TRUNCATED: &str = "audit_truncated";

/// What head office holds of a terminal's audit chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditHeld {
    /// The head acknowledged last: row number and link (base64).
    pub head: Option<(u64, String)>,
    /// The first break the terminal reported last.
    pub broken_at: Option<u64>,
}

/// A flag to raise on the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFlag {
    /// [`REWRITTEN`] or [`TRUNCATED`].
    pub kind: &'static str,
    /// Why, in words (row numbers only).
    pub reason: String,
}

/// The outcome of one batch's audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheck {
    /// What head office holds after the batch.
    pub held: AuditHeld,
    /// Flags to raise in the batch's transaction.
    pub flags: Vec<AuditFlag>,
    /// Whether head office's head was among the links and compared (false
    /// when it held none, or the links start after it: head office was
    /// restored from an older backup).
    pub compared: bool,
}

/// Refuses an audit chain no honest terminal sends: too many links, link
/// numbers not ascending or out of range, a link that is not 32 bytes of
/// base64, a link above the newest row.
pub fn validate(audit: &UploadAudit) -> Result<(), BatchRefusal> {
    let bad = |why: String| Err(BatchRefusal::Malformed(format!("audit: {why}")));
    if audit.links.len() > wire::MAX_AUDIT_LINKS {
        return bad(format!("more than {} links", wire::MAX_AUDIT_LINKS));
    }
    if audit.rows > wire::MAX_SEQ {
        return bad("rows above the largest sequence number".into());
    }
    if let Some(b) = audit.broken_at
        && (b == 0 || b > wire::MAX_SEQ)
    {
        return bad("broken_at is zero or above the largest sequence number".into());
    }
    let mut previous = 0u64;
    for link in &audit.links {
        if link.n <= previous || link.n > audit.rows {
            return bad(format!(
                "link {} is not ascending or is above rows {}",
                link.n, audit.rows
            ));
        }
        if auth::decode_32(&link.mac).is_err() {
            return bad(format!("link {} is not 32 bytes of base64", link.n));
        }
        previous = link.n;
    }
    Ok(())
}

/// Compares a validated chain with what head office holds.
pub fn check(held: &AuditHeld, sent: &UploadAudit) -> AuditCheck {
    let mut flags = Vec::new();
    let mut compared = false;
    let first = sent.links.first().map(|l| l.n);
    let last = sent.links.last().map(|l| l.n);
    if let Some((n, mac)) = &held.head {
        if sent.rows < *n {
            flags.push(AuditFlag {
                kind: TRUNCATED,
                reason: format!(
                    "{TRUNCATED}: the terminal's audit chain ends at row {}, head office acknowledged row {n}",
                    sent.rows
                ),
            });
        } else if let Some(link) = sent.links.iter().find(|l| l.n == *n) {
            compared = true;
            if link.mac != *mac {
                flags.push(AuditFlag {
                    kind: REWRITTEN,
                    reason: format!(
                        "{REWRITTEN}: row {n} of the audit chain links differently than when head office acknowledged it (a row at or before it was changed)"
                    ),
                });
            }
        } else if first.is_none_or(|f| f < *n) {
            // The links start before head office's head and stop short of
            // it (or there are none) although the terminal has the row:
            // the terminal lost the head head office acknowledged.
            flags.push(AuditFlag {
                kind: TRUNCATED,
                reason: format!(
                    "{TRUNCATED}: the terminal sent audit links {} to {} without row {n}, which head office acknowledged",
                    first.unwrap_or(0),
                    last.unwrap_or(0)
                ),
            });
        }
    }
    if let Some(gap) = sent.links.windows(2).find(|w| w[1].n != w[0].n + 1) {
        flags.push(AuditFlag {
            kind: TRUNCATED,
            reason: format!(
                "{TRUNCATED}: audit rows {} to {} are missing",
                gap[0].n + 1,
                gap[1].n - 1
            ),
        });
    }
    if let Some(b) = sent.broken_at
        && held.broken_at != Some(b)
    {
        flags.push(AuditFlag {
            kind: REWRITTEN,
            reason: format!(
                "{REWRITTEN}: the terminal's own check of its audit chain fails at row {b}"
            ),
        });
    }
    AuditCheck {
        held: AuditHeld {
            head: sent.links.last().map(|l| (l.n, l.mac.clone())),
            broken_at: sent.broken_at,
        },
        flags,
        compared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcard_protocol::wire::AuditLink;

    fn link(n: u64, byte: u8) -> AuditLink {
        AuditLink {
            n,
            mac: auth::b64(&[byte; 32]),
        }
    }

    fn sent(links: Vec<AuditLink>, rows: u64) -> UploadAudit {
        UploadAudit {
            links,
            rows,
            broken_at: None,
        }
    }

    fn held(n: u64, byte: u8) -> AuditHeld {
        AuditHeld {
            head: Some((n, auth::b64(&[byte; 32]))),
            broken_at: None,
        }
    }

    #[test]
    fn a_first_chain_is_taken_without_a_flag() {
        let out = check(
            &AuditHeld::default(),
            &sent(vec![link(1, 1), link(2, 2)], 2),
        );
        assert!(out.flags.is_empty() && !out.compared);
        assert_eq!(out.held, held(2, 2));
    }

    #[test]
    fn the_same_link_at_the_head_continues_the_chain() {
        let out = check(&held(2, 2), &sent(vec![link(2, 2), link(3, 3)], 3));
        assert!(out.flags.is_empty() && out.compared);
        assert_eq!(out.held, held(3, 3));
    }

    #[test]
    fn another_link_at_the_head_is_a_rewrite() {
        let out = check(&held(2, 2), &sent(vec![link(2, 9), link(3, 3)], 3));
        assert_eq!(out.flags.len(), 1);
        assert_eq!(out.flags[0].kind, REWRITTEN);
        // The terminal's chain as it stands becomes the reference: one
        // flag, not one a batch.
        assert_eq!(out.held, held(3, 3));
    }

    #[test]
    fn a_shorter_chain_is_a_truncation() {
        let out = check(&held(5, 5), &sent(vec![link(1, 1), link(2, 2)], 2));
        assert_eq!(out.flags.len(), 1);
        assert_eq!(out.flags[0].kind, TRUNCATED);
    }

    #[test]
    fn links_past_an_older_head_are_not_compared_nor_flagged() {
        let out = check(&held(2, 2), &sent(vec![link(4, 4)], 4));
        assert!(out.flags.is_empty() && !out.compared);
    }

    #[test]
    fn a_gap_and_a_new_local_break_are_flagged_a_known_break_is_not() {
        let mut audit = sent(vec![link(1, 1), link(3, 3)], 3);
        audit.broken_at = Some(2);
        let out = check(&AuditHeld::default(), &audit);
        let kinds: Vec<_> = out.flags.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [TRUNCATED, REWRITTEN]);
        let again = check(&out.held, &sent(vec![link(3, 3)], 3));
        assert!(again.flags.is_empty());
        let mut same = sent(vec![link(3, 3)], 3);
        same.broken_at = Some(2);
        assert!(check(&out.held, &same).flags.is_empty());
    }

    #[test]
    fn malformed_chains_are_refused() {
        assert!(validate(&sent(vec![link(2, 2), link(1, 1)], 2)).is_err());
        assert!(validate(&sent(vec![link(3, 3)], 2)).is_err());
        let mut bad = sent(vec![link(1, 1)], 1);
        bad.links[0].mac = "short".into();
        assert!(validate(&bad).is_err());
        assert!(validate(&sent(vec![link(1, 1), link(2, 2)], 2)).is_ok());
    }
}
