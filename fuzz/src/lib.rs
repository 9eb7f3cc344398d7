//! What the fuzz targets share: the fuzzed source files of head office
//! and the terminal, compiled here by path so the targets link only
//! `tillcard-protocol`, `tillcard-rules` and a few small crates (not
//! axum, tokio-postgres or Slint), and a reader of structured input.
//!
//! The files are the very ones the products compile: a change to them is
//! fuzzed as it is. They may use other crates but no other module of
//! their own crate (the `scan` shim below gives `credential.rs` the one
//! it names); a file that starts to fails this build, and so
//! `scripts/fuzz`.

/// Head office's canonical JSON writer (`sync/hq/src/ingest/canonical.rs`).
#[path = "../../sync/hq/src/ingest/canonical.rs"]
pub mod canonical;

/// The terminal's card token parser and verifier (`src/scan/credential.rs`).
#[path = "../../src/scan/credential.rs"]
pub mod credential;

/// The terminal's `scan` module, as far as `credential.rs` names it.
pub mod scan {
    pub use super::credential;
    pub use tillcard_protocol::base45;
}

/// Reads fixed-size values off the front of a fuzz input; past its end,
/// zeros (so every input is a valid structured input).
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next `N` bytes, zero-padded.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let n = N.min(self.data.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        out
    }

    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.bytes())
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes())
    }

    /// The next eight bytes, big-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.bytes())
    }

    /// The next sixteen bytes, big-endian.
    pub fn u128(&mut self) -> u128 {
        u128::from_be_bytes(self.bytes())
    }

    /// Whatever is left.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }
}

/// Gunzips `body` the plain way, as a reference for `wire::gunzip`: one
/// gzip member read with flate2's reader, at most `limit + 1` bytes of it,
/// and how many input bytes follow the member. `None` when the reader
/// refuses it.
pub fn reference_gunzip(body: &[u8], limit: usize) -> Option<(Vec<u8>, usize)> {
    use std::io::Read as _;
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    let mut out = Vec::new();
    (&mut decoder)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    let left = decoder.into_inner().len();
    Some((out, left))
}
