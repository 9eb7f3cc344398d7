//! Printer operations as ESC/POS bytes: the small command set every 58 and
//! 80 mm thermal printer in Chinese shops understands (Epson's TM series
//! and the Xprinter, Gprinter and HPRT clones).
//!
//! Hand-written rather than through the `escpos` crate (0.17): that crate
//! writes only through its own `Driver`s, encodes all text with one codec
//! and has no Chinese mode (FS & / FS .), sends `ESC p m` without the two
//! pulse times the command takes (a printer then swallows the next two bytes
//! as the pulse), and cuts with `GS V A`. The commands a receipt needs fit
//! on this page, and the virtual printer decodes the same constants back.
//!
//! | command | bytes | what |
//! |---|---|---|
//! | init | `ESC @` | power-on settings |
//! | Chinese mode | `FS &` / `FS .` | text is GB18030 / single-byte |
//! | bold | `ESC E n` | n = 1 on, 0 off |
//! | align | `ESC a n` | 0 left, 1 centre, 2 right |
//! | size | `GS ! n` | 0x11 double width and height, 0 normal |
//! | feed | `ESC d n` | n blank lines |
//! | QR code | `GS ( k` … | model 2, module size, level M, store, print |
//! | cut | `GS V 66 0` | feed to the cutter, partial cut |
//! | drawer | `ESC p 0 25 250` | pin 2, 50 ms on, 500 ms off |
//! | drawer, at once | `DLE DC4 1 0 1` | pin 2, 100 ms, even while offline |
//! | status | `DLE EOT n` | n = 1 printer, 2 offline cause, 4 paper |

use thiserror::Error;

use crate::layout::{Align, Op};

/// Escape.
pub const ESC: u8 = 0x1B;
/// Group separator: the GS commands.
pub const GS: u8 = 0x1D;
/// File separator: the Chinese-character commands.
pub const FS: u8 = 0x1C;
/// Data link escape: real-time commands (status).
pub const DLE: u8 = 0x10;
/// End of transmission, after DLE: a status request.
pub const EOT: u8 = 0x04;
/// Line feed: print the buffer and move one line.
pub const LF: u8 = 0x0A;

/// `ESC @`: initialise.
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: enter Chinese mode.
pub const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// `FS .`: leave Chinese mode.
pub const CHINESE_OFF: [u8; 2] = [FS, b'.'];
/// `GS V 66 0`: feed to the cutter and cut partially.
pub const CUT: [u8; 4] = [GS, b'V', 66, 0];
/// `ESC p 0 25 250`: pulse pin 2 for 50 ms, then 500 ms off.
pub const DRAWER_KICK: [u8; 5] = [ESC, b'p', 0, 25, 250];
/// `DLE DC4 1 0 1`: pulse pin 2 for 100 ms at once. A real-time command:
/// the printer obeys it even while offline (paper out, cover open), when
/// `ESC p` would wait in its buffer; the cash drawer opens for a cash sale
/// whatever the paper.
pub const DRAWER_KICK_NOW: [u8; 5] = [DLE, 0x14, 1, 0, 1];
/// `GS ! 0x11`: double width and height.
pub const DOUBLE_SIZE: u8 = 0x11;

/// The QR function codes after `GS ( k pL pH 49`.
pub mod qr {
    /// Select the model (`n1` 50 = model 2).
    pub const MODEL: u8 = 65;
    /// Module size in dots.
    pub const SIZE: u8 = 67;
    /// Error correction level (48 L, 49 M, 50 Q, 51 H).
    pub const ERROR_LEVEL: u8 = 69;
    /// Store the data in the symbol area.
    pub const STORE: u8 = 80;
    /// Print the stored symbol.
    pub const PRINT: u8 = 81;
    /// Error level M: about 15 % of the code may be lost.
    pub const LEVEL_M: u8 = 49;
    /// The most bytes a model 2 code holds at level M (version 40).
    pub const MAX_BYTES: usize = 2331;
}

/// A receipt the encoder cannot write.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The QR payload holds more than a code of level M can.
    #[error("the QR code's text is {0} bytes; a code holds at most {max}", max = qr::MAX_BYTES)]
    QrTooLong(usize),
}

/// The operations as bytes. Text inside Chinese mode is GB18030; outside it
/// the layout sends ASCII only, and anything else is written as `?`.
pub fn encode(ops: &[Op]) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(1024);
    let mut chinese = false;
    for op in ops {
        match op {
            Op::Init => {
                out.extend_from_slice(&INIT);
                chinese = false;
            }
            Op::ChineseMode(on) => {
                out.extend_from_slice(if *on { &CHINESE_ON } else { &CHINESE_OFF });
                chinese = *on;
            }
            Op::Text(text) => {
                push_text(&mut out, text, chinese);
                out.push(LF);
            }
            Op::Bold(on) => out.extend_from_slice(&[ESC, b'E', u8::from(*on)]),
            Op::Align(align) => {
                let n = match align {
                    Align::Left => 0,
                    Align::Center => 1,
                    Align::Right => 2,
                };
                out.extend_from_slice(&[ESC, b'a', n]);
            }
            Op::DoubleSize(on) => {
                out.extend_from_slice(&[GS, b'!', if *on { DOUBLE_SIZE } else { 0 }]);
            }
            Op::Feed(lines) => out.extend_from_slice(&[ESC, b'd', *lines]),
            Op::QrCode {
                payload,
                module_dots,
            } => push_qr(&mut out, payload.as_bytes(), *module_dots)?,
            Op::Cut => out.extend_from_slice(&CUT),
            Op::DrawerKick => out.extend_from_slice(&DRAWER_KICK),
        }
    }
    Ok(out)
}

fn push_text(out: &mut Vec<u8>, text: &str, chinese: bool) {
    // Control bytes would be read as commands: the layout never sends them,
    // and the encoder makes sure of it.
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if chinese {
        let (bytes, _, _) = encoding_rs::GB18030.encode(&clean);
        out.extend_from_slice(&bytes);
    } else {
        out.extend(
            clean
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' }),
        );
    }
}

/// One `GS ( k` function: `pL pH` count the bytes after them.
fn push_qr_function(out: &mut Vec<u8>, function: u8, params: &[u8]) {
    let len = params.len() + 2;
    out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 49]);
    out.push(function);
    out.extend_from_slice(params);
}

fn push_qr(out: &mut Vec<u8>, data: &[u8], module_dots: u8) -> Result<(), EncodeError> {
    if data.len() > qr::MAX_BYTES {
        return Err(EncodeError::QrTooLong(data.len()));
    }
    push_qr_function(out, qr::MODEL, &[50, 0]);
    push_qr_function(out, qr::SIZE, &[module_dots.clamp(1, 16)]);
    push_qr_function(out, qr::ERROR_LEVEL, &[qr::LEVEL_M]);
    let mut store = Vec::with_capacity(data.len() + 1);
    store.push(48);
    store.extend_from_slice(data);
    push_qr_function(out, qr::STORE, &store);
    push_qr_function(out, qr::PRINT, &[48]);
    Ok(())
}

/// `DLE EOT n`: ask for status `n` (1 printer, 2 offline cause, 4 paper
/// sensor). The printer answers one byte at once, even while offline.
pub fn status_request(n: u8) -> [u8; 3] {
    [DLE, EOT, n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_are_the_bytes_the_manual_gives() {
        let ops = [
            Op::Init,
            Op::ChineseMode(true),
            Op::Text("茶 ok".into()),
            Op::ChineseMode(false),
            Op::Cut,
            Op::DrawerKick,
        ];
        assert_eq!(
            encode(&ops).unwrap(),
            [
                &[0x1B, 0x40, 0x1C, 0x26][..],
                &[0xB2, 0xE8, b' ', b'o', b'k', 0x0A],
                &[0x1C, 0x2E, 0x1D, 0x56, 66, 0, 0x1B, 0x70, 0, 25, 250],
            ]
            .concat()
        );
    }

    #[test]
    fn a_qr_code_is_model_2_level_m_stored_then_printed() {
        let bytes = encode(&[Op::QrCode {
            payload: "AB".into(),
            module_dots: 6,
        }])
        .unwrap();
        let expected: &[&[u8]] = &[
            &[0x1D, 0x28, 0x6B, 4, 0, 49, 65, 50, 0],
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 67, 6],
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 69, 49],
            &[0x1D, 0x28, 0x6B, 5, 0, 49, 80, 48, b'A', b'B'],
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48],
        ];
        assert_eq!(bytes, expected.concat());
    }

    #[test]
    fn a_qr_payload_too_long_is_refused() {
        let op = Op::QrCode {
            payload: "x".repeat(3000),
            module_dots: 6,
        };
        assert_eq!(encode(&[op]), Err(EncodeError::QrTooLong(3000)));
    }
}
