//! The body encoding: JSON, gzip-compressed; small bodies in gzip's
//! stored mode (no compression work for an ack), every body read back
//! with a bound on its inflated size.

use std::io::{Read, Write};

use serde::Serialize;

use super::*;

/// Encoding and decoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Could not encode.
    #[error("could not encode: {0}")]
    Encode(String),
    /// Could not decode.
    #[error("could not decode: {0}")]
    Decode(String),
    /// Body too large once decompressed.
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
}

/// Serializes `value` to JSON and gzips it: a request or response body.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ProtocolError> {
    let json = serde_json::to_vec(value).map_err(|e| ProtocolError::Encode(e.to_string()))?;
    if json.len() <= STORED_UP_TO
        && let Some(body) = gzip_stored(&json)
    {
        return Ok(body);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json)
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
    gz.finish()
        .map_err(|e| ProtocolError::Encode(e.to_string()))
}

/// Bodies up to this size (an upload's ack, a batch of one small event) are
/// sent as gzip without compression: deflate gains a few bytes on them at most, and
/// setting up a compressor (a quarter of a megabyte of tables, zeroed) was
/// 3% of head office's CPU under upload load, once per ack.
const STORED_UP_TO: usize = 1024;

/// `data` as a gzip member (RFC 1952) holding one stored deflate block
/// (RFC 1951, 3.2.4), as `GzEncoder` with `Compression::none()` would
/// store it but without setting up a compressor; `None` when `data` does
/// not fit one block (65,535 bytes).
fn gzip_stored(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut out = Vec::with_capacity(data.len() + 23);
    // Magic, deflate, no flags, no time, no extra flags, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    // Final block, stored; its length and the length's complement.
    out.push(1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&u32::from(len).to_le_bytes());
    Some(out)
}

/// Gunzips (at most [`MAX_BODY_BYTES`]) and parses a body.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    let json = gunzip(body)?;
    serde_json::from_slice(&json).map_err(|e| ProtocolError::Decode(e.to_string()))
}

/// Decompresses a request or response body: exactly one gzip member of at
/// most [`MAX_BODY_BYTES`] decompressed, and nothing after it (bytes after
/// the member would be data no signature check or reader ever looked at).
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    // Room for the size the gzip trailer states (its last four bytes, the
    // length modulo 2^32), capped at the largest body accepted: growing by
    // doubling copied the JSON several times and faulted in fresh pages. A
    // wrong trailer costs only a wrong first guess; the decoder checks it.
    let stated = body
        .last_chunk::<4>()
        .map_or(0, |size| u32::from_le_bytes(*size) as usize);
    let mut json = Vec::with_capacity(stated.min(MAX_BODY_BYTES + 1));
    // The buffered decoder leaves what follows the member in its input.
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    (&mut decoder)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| ProtocolError::Decode(e.to_string()))?;
    if json.len() > MAX_BODY_BYTES {
        return Err(ProtocolError::TooLarge);
    }
    if !decoder.into_inner().is_empty() {
        return Err(ProtocolError::Decode(
            "bytes after the end of the gzip data".into(),
        ));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn stored_gzip_reads_back_with_a_standard_decoder() {
        for len in [0, 1, 80, 1024, 65_535] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let body = gzip_stored(&data).unwrap();
            assert_eq!(body.len(), data.len() + 23);
            assert_eq!(gunzip(&body), data, "{len} bytes");
        }
        assert_eq!(gzip_stored(&vec![0; 65_536]), None);
    }

    #[test]
    fn a_corrupted_stored_body_is_refused() {
        let mut body = gzip_stored(b"{\"acked_seq\":5}").unwrap();
        let last_data_byte = body.len() - 9;
        body[last_data_byte] ^= 1;
        let mut out = Vec::new();
        assert!(
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .is_err(),
            "the CRC no longer matches"
        );
    }

    #[test]
    fn small_and_large_bodies_both_decode() {
        let ack = UploadAck {
            acked_seq: 42,
            applied: 3,
            duplicates: 1,
            dead_lettered: 0,
            held_seq: Some(42),
        };
        let small = encode(&ack).unwrap();
        assert!(small.len() < 1024 + 23);
        assert_eq!(decode::<UploadAck>(&small).unwrap(), ack);
        let error = ErrorBody {
            error: "bad_request".into(),
            message: "x".repeat(5_000),
            held_seq: None,
            class: None,
        };
        let large = encode(&error).unwrap();
        assert!(large.len() < 1_000, "compressed: {} bytes", large.len());
        assert_eq!(decode::<ErrorBody>(&large).unwrap(), error);
    }
}
