//! Head office's cached fold of a member: a planning cache trimmed to what
//! planning a batch and the figures read, and when it suffices to plan a
//! batch without reading the member's ledger.

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::LotId;
use tillcard_rules::ledger::EntryKind;

use tillcard_protocol::wire::EventBody;

use super::Prepared;

/// How many action ids a member's cached fold at head office keeps: the
/// greatest (action ids are UUIDv7, so the newest). The full set (every
/// action the member ever booked) grew the fold by 38 bytes an action,
/// read and rewritten by every batch that touched the member; it only
/// serves to refuse an action booked twice, and a batch's actions are
/// nearly always newer than the member's last few. See
/// [`trim_cached_fold`] and [`cached_fold_suffices`].
pub const CACHED_SOURCES: usize = 32;

/// Trims a fold to cache. Head office's cached fold is a planning cache
/// (the ledger stays the truth; jobs and member snapshots refold it): it
/// keeps what planning a batch and the figures read (tier, stored value,
/// coupons, flags, purchases, points lots) but only the [`CACHED_SOURCES`]
/// greatest action ids, no spend records or daily use (one of each per
/// sale or per day, read by neither), and no points lot that is used up
/// and older than the oldest action id kept.
///
/// A set of action ids trimmed this way holds every action id of the
/// member's ledger greater than its smallest, and a set shorter than that
/// is whole (nothing was trimmed, no lot dropped): folding more entries on
/// and trimming again keeps both true.
pub fn trim_cached_fold(account: &mut MemberAccount) {
    while account.sources.len() > CACHED_SOURCES {
        account.sources.pop_first();
    }
    account.spend.clear();
    account.daily.clear();
    if account.sources.len() >= CACHED_SOURCES
        && let Some(&oldest) = account.sources.first()
    {
        account
            .lots
            .retain(|lot| lot.remaining != 0 || lot.lot.0 >= oldest);
    }
}

/// Points lots an entry names.
fn lots_named(kind: &EntryKind) -> Vec<LotId> {
    match kind {
        EntryKind::PointsEarned { lot, .. } | EntryKind::PointsExpired { lot, .. } => vec![*lot],
        EntryKind::PointsRedeemed { draws }
        | EntryKind::PointsReturned { draws }
        | EntryKind::PointsReversed { draws }
        | EntryKind::PointsRedeemedForGift { draws, .. } => draws.iter().map(|d| d.lot).collect(),
        _ => Vec::new(),
    }
}

/// Whether a cached (trimmed) fold can plan the batch's entries for its
/// member: say whether each action was booked before, and hold every
/// points lot they name that the member's ledger has. When it cannot (an
/// action id or a lot below the smallest action id kept: an upload from a
/// terminal long offline, a refund of an old sale, a replay of an old
/// action), the fold is rebuilt from the ledger for this batch.
pub fn cached_fold_suffices(cached: &MemberAccount, prepared: &Prepared) -> bool {
    if cached.sources.len() < CACHED_SOURCES {
        return true;
    }
    let Some(&smallest) = cached.sources.first() else {
        return true;
    };
    let known_lot = |lot: &LotId| lot.0 >= smallest || cached.lots.iter().any(|l| l.lot == *lot);
    prepared
        .events
        .iter()
        .filter_map(|e| e.body.as_ref().ok())
        .flat_map(EventBody::entries)
        .filter(|e| e.member == cached.member)
        .all(|e| e.source >= smallest && lots_named(&e.kind).iter().all(known_lot))
}
