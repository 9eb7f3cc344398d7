//! A terminal's outbox epochs at head office: which lineage of the
//! terminal's numbering a batch comes from, an epoch opened by a terminal
//! whose store was rolled back (it renumbered its waiting events above
//! what head office held), and a second live copy of the terminal (a
//! clone) told apart from it (PROTOCOL.md, "A terminal rolled back").
//!
//! The rule: a terminal's numbering moves to a new epoch only forward, and
//! only from above everything head office holds. Once a terminal has
//! opened epoch `n`, a batch numbered in an older epoch (or in epoch `n`
//! from another first seq) comes from a copy of the terminal that did not
//! take part in the renumbering: a clone, or a store restored again from
//! before it. Such a batch is answered as usual while it only re-sends
//! what head office holds; one new event refuses it (`terminal_cloned`)
//! and flags the terminal. Nothing of it is renumbered.

use tillcard_protocol::wire::OutboxEpoch;

use super::BatchRefusal;

/// Where a batch stands against the terminal's epochs at head office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage {
    /// No epoch in the batch: a terminal that predates epochs. A sequence
    /// conflict flags it as a possible clone (as before epochs).
    Legacy,
    /// The terminal's current epoch (or the one this batch opens): a
    /// sequence conflict asks it to renumber, not flagged.
    Current,
    /// An older epoch than head office's current one (or the current
    /// number from another first seq): re-sends pass, new events are a
    /// clone's.
    Superseded {
        /// Head office's current epoch.
        current: OutboxEpoch,
    },
}

/// An epoch a batch opens, written in the batch's transaction with an
/// `outbox_renumbered` terminal flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOpened {
    /// The epoch.
    pub epoch: OutboxEpoch,
    /// The highest sequence number head office held of the terminal then.
    pub held_seq: u64,
    /// The terminal flag's reason (numbers only).
    pub reason: String,
}

impl EpochOpened {
    fn new(epoch: OutboxEpoch, held_seq: u64) -> EpochOpened {
        EpochOpened {
            epoch,
            held_seq,
            reason: format!(
                "outbox_renumbered: the terminal's store was rolled back; it renumbered its \
                 waiting events in epoch {} from seq {} (head office held up to {held_seq})",
                epoch.n, epoch.first_seq
            ),
        }
    }
}

/// The flag's reason for a clone caught sending in a superseded epoch.
pub fn clone_reason(sent: OutboxEpoch, current: OutboxEpoch, seq: u64) -> String {
    format!(
        "terminal_cloned: seq {seq} sent in epoch {} from seq {}, but the terminal renumbered \
         into epoch {} from seq {}: two live copies of the terminal (or a store restored from \
         before its renumbering)",
        sent.n, sent.first_seq, current.n, current.first_seq
    )
}

/// The batch's lineage: `sent` is the batch's epoch, `current` head
/// office's (none: epoch 0 from seq 1), `held` the highest seq head office
/// holds of the terminal. A batch opening a newer epoch must start it
/// above `held`, else it is a sequence conflict at its first seq (the
/// terminal renumbers again, above the `held` it is told).
pub fn lineage(
    sent: Option<OutboxEpoch>,
    current: Option<OutboxEpoch>,
    held: u64,
) -> Result<(Lineage, Option<EpochOpened>), BatchRefusal> {
    let current = current.unwrap_or(OutboxEpoch::FIRST);
    let Some(sent) = sent else {
        return Ok((Lineage::Legacy, None));
    };
    if sent == current {
        return Ok((Lineage::Current, None));
    }
    if sent.n > current.n {
        if sent.first_seq <= held {
            return Err(BatchRefusal::SequenceConflict {
                seq: sent.first_seq,
                held_seq: held,
                renumber: true,
            });
        }
        return Ok((Lineage::Current, Some(EpochOpened::new(sent, held))));
    }
    Ok((Lineage::Superseded { current }, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(n: u64, first_seq: u64) -> Option<OutboxEpoch> {
        Some(OutboxEpoch { n, first_seq })
    }

    #[test]
    fn lineages() {
        assert_eq!(lineage(None, epoch(2, 40), 50).unwrap().0, Lineage::Legacy);
        assert_eq!(
            lineage(epoch(0, 1), None, 50).unwrap(),
            (Lineage::Current, None)
        );
        let (l, opened) = lineage(epoch(1, 51), None, 50).unwrap();
        assert_eq!(l, Lineage::Current);
        assert_eq!(opened.unwrap().held_seq, 50);
        assert_eq!(
            lineage(epoch(1, 50), None, 50),
            Err(BatchRefusal::SequenceConflict {
                seq: 50,
                held_seq: 50,
                renumber: true
            })
        );
        assert!(matches!(
            lineage(epoch(0, 1), epoch(1, 51), 60).unwrap().0,
            Lineage::Superseded { .. }
        ));
        assert!(matches!(
            lineage(epoch(1, 52), epoch(1, 51), 60).unwrap().0,
            Lineage::Superseded { .. }
        ));
    }
}
