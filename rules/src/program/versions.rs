//! Program versions: which of several published versions prices a sale.
//!
//! Head office publishes a new version with the moment it takes effect
//! (`Program::effective_from`), ahead of time, and every terminal keeps
//! every version it received. A sale is priced with the version in force
//! at the sale's own moment: the one whose `effective_from` is the latest
//! not after it. So a terminal offline across the change prices the
//! morning's sales with the old version and the afternoon's with the new,
//! exactly as one that stayed online, and head office re-verifies each
//! sale with the same choice.

use super::Program;
use crate::ids::Timestamp;

/// The version of `versions` in force at `at`: the latest `effective_from`
/// not after `at` (a version without one counts as in force from the
/// start), the higher version number on a tie. `None` when none is in
/// force yet.
pub fn in_force_at(versions: &[Program], at: Timestamp) -> Option<&Program> {
    versions
        .iter()
        .filter(|p| p.effective_from.is_none_or(|from| from <= at))
        .max_by_key(|p| (p.effective_from, p.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    fn version(version: u32, from: Option<&str>) -> Program {
        Program {
            version,
            effective_from: from.map(at),
            ..Program::default()
        }
    }

    #[test]
    fn the_version_in_force_is_the_latest_that_took_effect_by_then() {
        let versions = [
            version(1, None),
            version(3, Some("2026-12-05T14:00:00+08:00")),
            version(2, Some("2026-12-01T00:00:00+08:00")),
        ];
        let in_force = |text| in_force_at(&versions, at(text)).map(|p| p.version);
        assert_eq!(in_force("2026-11-30T23:59:59+08:00"), Some(1));
        assert_eq!(in_force("2026-12-01T00:00:00+08:00"), Some(2));
        assert_eq!(
            in_force("2026-12-05T13:59:59+08:00"),
            Some(2),
            "the morning of the change"
        );
        assert_eq!(
            in_force("2026-12-05T14:00:00+08:00"),
            Some(3),
            "from the moment on"
        );
        // The same moment written in another offset is the same moment.
        assert_eq!(in_force("2026-12-05T06:00:00+00:00"), Some(3));
        assert_eq!(
            in_force_at(&versions[1..2], at("2026-12-01T00:00:00+08:00")),
            None
        );
    }
}
