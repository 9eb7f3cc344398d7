//! A printer in software, for tests and docs: it reads an ESC/POS byte
//! stream back into the text and commands it holds (`decode`), draws the
//! paper that would come out (`render`), and listens on a TCP port as a
//! network printer does (`VirtualNetworkPrinter`). Drawing needs the
//! `render` feature (on by default).
//!
//! Not behind `cfg(test)`: the terminal's UI tests print through the real
//! spooler to a virtual printer and read the receipt back.
//!
//! Decoding never panics, whatever the bytes: a command it does not know,
//! or one cut off by the end of the stream, comes back as
//! `Decoded::Unknown` with its bytes, and decoding goes on after it.

mod network;
#[cfg(feature = "render")]
mod render;

pub use network::VirtualNetworkPrinter;
#[cfg(feature = "render")]
pub use render::{RenderError, render, render_png};

use crate::escpos::{DLE, EOT, ESC, FS, GS, LF, qr};

/// One thing found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Text to print, as the printer reads it: GB18030 inside Chinese mode,
    /// ASCII outside it (other bytes, which would select a code page's
    /// glyph, come back as U+FFFD).
    Text(String),
    /// A command the printer knows, by name, with its argument bytes (for
    /// `qr store`, the data; for `LF`, none).
    Command {
        /// The command's name, lower case: `init`, `chinese on`,
        /// `chinese off`, `bold`, `align`, `size`, `feed`, `qr model`,
        /// `qr size`, `qr error level`, `qr store`, `qr print`, `cut`,
        /// `drawer kick`, `status request`, `LF`, and the rest of
        /// `COMMANDS`.
        name: &'static str,
        /// The bytes after the command's code.
        args: Vec<u8>,
    },
    /// Bytes that are no command this decoder knows, or a command cut off
    /// by the end of the stream.
    Unknown(Vec<u8>),
}

/// The fixed-length commands: prefix, code, name, argument bytes.
pub const COMMANDS: &[(u8, u8, &str, usize)] = &[
    (ESC, b'@', "init", 0),
    (ESC, b'E', "bold", 1),
    (ESC, b'G', "double strike", 1),
    (ESC, b'a', "align", 1),
    (ESC, b'd', "feed", 1),
    (ESC, b'J', "feed dots", 1),
    (ESC, b'p', "drawer kick", 3),
    (ESC, b'!', "print mode", 1),
    (ESC, b'-', "underline", 1),
    (ESC, b'M', "font", 1),
    (ESC, b't', "code table", 1),
    (ESC, b'R', "international set", 1),
    (ESC, b'2', "default line spacing", 0),
    (ESC, b'3', "line spacing", 1),
    (ESC, b'{', "upside down", 1),
    (GS, b'!', "size", 1),
    (GS, b'B', "reverse", 1),
    (GS, b'L', "left margin", 2),
    (GS, b'W', "print width", 2),
    (GS, b'a', "automatic status back", 1),
    (GS, b'r', "transmit status", 1),
    (FS, b'&', "chinese on", 0),
    (FS, b'.', "chinese off", 0),
    (FS, b'!', "chinese print mode", 1),
    (FS, b'-', "chinese underline", 1),
    (FS, b'C', "chinese code system", 1),
    (DLE, EOT, "status request", 1),
    (DLE, 0x14, "drawer kick now", 3),
];

/// The text and commands in an ESC/POS byte stream.
pub fn decode(bytes: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut chinese = false;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte >= 0x20 && byte != 0x7F {
            let end = bytes[i..]
                .iter()
                .position(|&b| b < 0x20 || b == 0x7F)
                .map_or(bytes.len(), |p| i + p);
            out.push(Decoded::Text(decode_text(&bytes[i..end], chinese)));
            i = end;
            continue;
        }
        let (item, used) = decode_command(&bytes[i..]);
        if let Decoded::Command { name, .. } = &item {
            match *name {
                "chinese on" => chinese = true,
                "chinese off" | "init" => chinese = false,
                _ => {}
            }
        }
        out.push(item);
        i += used.max(1);
    }
    out
}

fn decode_text(bytes: &[u8], chinese: bool) -> String {
    if chinese {
        let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
        text.into_owned()
    } else {
        bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    '\u{FFFD}'
                }
            })
            .collect()
    }
}

/// One command at the start of `bytes` (which starts with a control byte),
/// and how many bytes it took.
fn decode_command(bytes: &[u8]) -> (Decoded, usize) {
    let command = |name, args: &[u8]| Decoded::Command {
        name,
        args: args.to_vec(),
    };
    let Some(&prefix) = bytes.first() else {
        return (Decoded::Unknown(Vec::new()), 0);
    };
    match prefix {
        LF => return (command("LF", &[]), 1),
        b'\r' => return (command("CR", &[]), 1),
        b'\t' => return (command("HT", &[]), 1),
        ESC | GS | FS | DLE => {}
        other => return (Decoded::Unknown(vec![other]), 1),
    }
    let Some(&code) = bytes.get(1) else {
        return (Decoded::Unknown(bytes.to_vec()), bytes.len());
    };
    if prefix == GS && code == b'V' {
        return decode_cut(bytes);
    }
    if prefix == GS && code == b'(' {
        return decode_two_dimensional(bytes);
    }
    match COMMANDS
        .iter()
        .find(|(p, c, _, _)| *p == prefix && *c == code)
    {
        Some(&(_, _, name, arity)) => match bytes.get(2..2 + arity) {
            Some(args) => (command(name, args), 2 + arity),
            None => (Decoded::Unknown(bytes.to_vec()), bytes.len()),
        },
        None => (Decoded::Unknown(vec![prefix, code]), 2),
    }
}

/// `GS V m` (m 0, 1, 48, 49) or `GS V m n` (m 65, 66, 97, 98, 103, 104).
fn decode_cut(bytes: &[u8]) -> (Decoded, usize) {
    let arity = match bytes.get(2) {
        Some(0 | 1 | 48 | 49) => 1,
        Some(65 | 66 | 97 | 98 | 103 | 104) => 2,
        Some(_) => return (Decoded::Unknown(bytes[..3].to_vec()), 3),
        None => return (Decoded::Unknown(bytes.to_vec()), bytes.len()),
    };
    match bytes.get(2..2 + arity) {
        Some(args) => (
            Decoded::Command {
                name: "cut",
                args: args.to_vec(),
            },
            2 + arity,
        ),
        None => (Decoded::Unknown(bytes.to_vec()), bytes.len()),
    }
}

/// `GS ( k pL pH cn fn ...`: the 2D code functions; `cn` 49 is QR.
/// Other `GS ( x pL pH ...` commands come back as unknown, skipped whole.
fn decode_two_dimensional(bytes: &[u8]) -> (Decoded, usize) {
    // Every `GS ( x pL pH` command counts its own bytes, so one this
    // decoder does not know is still skipped whole.
    let (Some(&function_group), Some(&low), Some(&high)) =
        (bytes.get(2), bytes.get(3), bytes.get(4))
    else {
        return (Decoded::Unknown(bytes.to_vec()), bytes.len());
    };
    let len = usize::from(low) | usize::from(high) << 8;
    let Some(body) = bytes.get(5..5 + len) else {
        return (Decoded::Unknown(bytes.to_vec()), bytes.len());
    };
    let used = 5 + len;
    if function_group != b'k' {
        return (Decoded::Unknown(bytes[..used].to_vec()), used);
    }
    let (Some(&49), Some(&function)) = (body.first(), body.get(1)) else {
        return (Decoded::Unknown(bytes[..used].to_vec()), used);
    };
    let params = &body[2..];
    let (name, args) = match function {
        qr::MODEL => ("qr model", params),
        qr::SIZE => ("qr size", params),
        qr::ERROR_LEVEL => ("qr error level", params),
        // The data follows `m` (48).
        qr::STORE => ("qr store", params.get(1..).unwrap_or_default()),
        qr::PRINT => ("qr print", params),
        _ => return (Decoded::Unknown(bytes[..used].to_vec()), used),
    };
    (
        Decoded::Command {
            name,
            args: args.to_vec(),
        },
        used,
    )
}

/// A line as it came out of the printer: its text, and whether it was
/// printed double size (when it may hold half the columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedLine {
    /// The line's text.
    pub text: String,
    /// Printed at double width.
    pub double_width: bool,
}

/// The printed lines, split where the printer would end them (`LF`, a
/// feed, a cut), with the size each was printed at.
pub fn printed_lines(decoded: &[Decoded]) -> Vec<PrintedLine> {
    let mut lines = Vec::new();
    let mut text = String::new();
    let mut double = false;
    let mut line_double = false;
    for item in decoded {
        match item {
            Decoded::Text(t) => {
                line_double |= double;
                text.push_str(t);
            }
            Decoded::Command { name, args } => match *name {
                "LF" | "feed" | "cut" => {
                    if !text.is_empty() || *name == "LF" {
                        lines.push(PrintedLine {
                            text: std::mem::take(&mut text),
                            double_width: line_double,
                        });
                    }
                    line_double = false;
                }
                "size" => double = args.first().is_some_and(|n| n & 0x70 != 0),
                "init" => double = false,
                _ => {}
            },
            Decoded::Unknown(_) => {}
        }
    }
    if !text.is_empty() {
        lines.push(PrintedLine {
            text,
            double_width: line_double,
        });
    }
    lines
}

/// Every printed line's text joined with newlines: what to search a
/// receipt for in a test.
pub fn plain_text(decoded: &[Decoded]) -> String {
    printed_lines(decoded)
        .into_iter()
        .map(|line| line.text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names of the commands, in order.
pub fn command_names(decoded: &[Decoded]) -> Vec<&'static str> {
    decoded
        .iter()
        .filter_map(|item| match item {
            Decoded::Command { name, .. } => Some(*name),
            _ => None,
        })
        .collect()
}

/// The data of every QR code stored, as text (lossy for non-UTF-8).
pub fn qr_payloads(decoded: &[Decoded]) -> Vec<String> {
    decoded
        .iter()
        .filter_map(|item| match item {
            Decoded::Command {
                name: "qr store",
                args,
            } => Some(String::from_utf8_lossy(args).into_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Op, Paper, layout};
    use crate::receipt::Receipt;

    #[test]
    fn encoded_operations_decode_back() {
        let ops = [
            Op::Init,
            Op::ChineseMode(true),
            Op::Bold(true),
            Op::Text("会员 张*华".into()),
            Op::ChineseMode(false),
            Op::Text("ok".into()),
            Op::Cut,
            Op::DrawerKick,
        ];
        let decoded = decode(&crate::escpos::encode(&ops).unwrap());
        assert_eq!(
            command_names(&decoded),
            [
                "init",
                "chinese on",
                "bold",
                "LF",
                "chinese off",
                "LF",
                "cut",
                "drawer kick"
            ]
        );
        assert_eq!(plain_text(&decoded), "会员 张*华\nok");
        assert!(decoded.contains(&Decoded::Command {
            name: "drawer kick",
            args: vec![0, 25, 250]
        }));
    }

    #[test]
    fn unknown_and_cut_off_commands_are_reported_and_decoding_goes_on() {
        let decoded = decode(&[0x1B, b'Z', b'h', b'i', 0x0A, 0x07, 0x1D, b'(', b'k', 9]);
        assert_eq!(
            decoded,
            [
                Decoded::Unknown(vec![0x1B, b'Z']),
                Decoded::Text("hi".into()),
                Decoded::Command {
                    name: "LF",
                    args: vec![]
                },
                Decoded::Unknown(vec![0x07]),
                Decoded::Unknown(vec![0x1D, b'(', b'k', 9]),
            ]
        );
    }

    #[test]
    fn the_sample_receipt_holds_its_qr_payload() {
        let bytes = crate::escpos::encode(&layout(&Receipt::sample(), Paper::Mm58, false));
        let decoded = decode(&bytes.unwrap());
        assert_eq!(
            qr_payloads(&decoded),
            ["https://tillcard.example/r/S-0003-000123"]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let decoded = decode(&bytes);
            let _ = printed_lines(&decoded);
        }

        #[test]
        fn command_heavy_bytes_decode_without_panic(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![0x1B, 0x1D, 0x1C, 0x10, 0x04, b'(', b'k', b'V', 0, 1, 66, 0xFF, b'&', 0x81, 0x30]),
                0..256,
            )
        ) {
            let _ = decode(&bytes);
        }
    }
}
