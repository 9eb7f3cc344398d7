//! Downlink cursors: opaque to terminals, a change-log position and (`c2`)
//! a check of the change there, so a head office restored from a backup
//! notices a cursor it cannot honour.

use sha2::{Digest, Sha256};

/// Makes an opaque cursor from a change-log position: the writing
/// transaction's id (0 on SQLite) and the row's position.
pub fn cursor_from_position(position: (i64, i64)) -> String {
    format!("c1.{}.{}", position.0, position.1)
}

/// Reads a cursor back; `None` if it was not made by [`cursor_from_position`]
/// or [`checked_cursor`] (whose check it drops).
pub fn position_from_cursor(cursor: &str) -> Option<(i64, i64)> {
    cursor_parts(cursor).map(|(position, _)| position)
}

/// A cursor that also names the change at its position: `c2.<xid>.<position>.<check>`,
/// `check` 16 hex digits head office derives from that change's content
/// ([`change_check`]). A head office restored from a backup finds another
/// change there, or none, and starts the terminal's log again
/// ([`ChangesPage::resync`]) instead of skipping what it lacks.
pub fn checked_cursor(position: (i64, i64), check: &str) -> String {
    format!("c2.{}.{}.{check}", position.0, position.1)
}

/// A cursor's position and, for a `c2` cursor, its check.
pub fn cursor_parts(cursor: &str) -> Option<((i64, i64), Option<&str>)> {
    if let Some(rest) = cursor.strip_prefix("c1.") {
        let (xid, position) = rest.split_once('.')?;
        return Some(((xid.parse().ok()?, position.parse().ok()?), None));
    }
    let mut parts = cursor.strip_prefix("c2.")?.splitn(3, '.');
    let xid = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    let check = parts.next()?;
    (check.len() == 16 && check.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(((xid, position), Some(check)))
}

/// The check of a change-log row in a `c2` cursor: the first 8 bytes of the
/// SHA-256 of its transaction id, position, kind, member and payload, hex.
pub fn change_check(
    xid: i64,
    position: i64,
    kind: &str,
    member: Option<&str>,
    payload: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        xid.to_string().as_str(),
        position.to_string().as_str(),
        kind,
        member.unwrap_or(""),
        payload.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize()[..8])
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}
