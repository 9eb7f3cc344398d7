//! What the status strip says about the printer, and how the printer's
//! answers to `DLE EOT n` are read into it.
//!
//! Each answer is one byte with bits 1 and 4 set and bits 0 and 7 clear
//! (`0b0xx1_xx10`); a byte of another shape is not a status answer.
//!
//! | request | bit | meaning |
//! |---|---|---|
//! | `DLE EOT 1` (printer) | 3 (`0x08`) | offline |
//! | `DLE EOT 2` (offline cause) | 2 (`0x04`) | cover open |
//! | | 5 (`0x20`) | printing stopped: paper end |
//! | | 6 (`0x40`) | an error (cutter, head temperature) |
//! | `DLE EOT 4` (paper roll sensor) | 2, 3 (`0x0C`) | paper near its end |
//! | | 5, 6 (`0x60`) | paper end |

use serde::{Deserialize, Serialize};

/// The printer as the status strip shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrinterStatus {
    /// Printing works.
    Ready,
    /// Printing works; the roll is near its end.
    PaperLow,
    /// No paper: jobs wait until a roll is put in.
    PaperOut,
    /// The cover is open: jobs wait until it is closed.
    CoverOpen,
    /// The printer is there but does not print (switched off, unplugged
    /// from the network, in an error, not answering).
    Offline,
    /// No printer at the configured place (no device file).
    Missing,
}

impl PrinterStatus {
    /// Whether a job can be sent now.
    pub fn can_print(self) -> bool {
        matches!(self, PrinterStatus::Ready | PrinterStatus::PaperLow)
    }

    /// The status strip's words in Simplified Chinese.
    pub fn zh_cn(self) -> &'static str {
        match self {
            PrinterStatus::Ready => "打印机就绪",
            PrinterStatus::PaperLow => "打印纸将尽",
            PrinterStatus::PaperOut => "打印机缺纸",
            PrinterStatus::CoverOpen => "打印机盖未关",
            PrinterStatus::Offline => "打印机离线",
            PrinterStatus::Missing => "未连接打印机",
        }
    }

    /// The status strip's words in English.
    pub fn en(self) -> &'static str {
        match self {
            PrinterStatus::Ready => "Printer ready",
            PrinterStatus::PaperLow => "Paper low",
            PrinterStatus::PaperOut => "Printer out of paper",
            PrinterStatus::CoverOpen => "Printer cover open",
            PrinterStatus::Offline => "Printer offline",
            PrinterStatus::Missing => "No printer",
        }
    }
}

/// Whether a byte has the fixed bits of a `DLE EOT` answer.
pub fn is_status_byte(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

/// The answers to `DLE EOT 1`, `2` and `4`, as far as the printer gave them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusBytes {
    /// The printer status (`DLE EOT 1`).
    pub printer: Option<u8>,
    /// The offline cause (`DLE EOT 2`).
    pub offline_cause: Option<u8>,
    /// The paper roll sensor (`DLE EOT 4`).
    pub paper: Option<u8>,
}

impl StatusBytes {
    /// What the answers mean. A printer that answers nothing at all is taken
    /// as ready: many network printers accept jobs but ignore `DLE EOT`, and
    /// a printer that cannot be reached fails before this, at connect.
    pub fn status(self) -> PrinterStatus {
        let bit = |byte: Option<u8>, mask: u8| byte.is_some_and(|b| b & mask != 0);
        if bit(self.paper, 0x60) || bit(self.offline_cause, 0x20) {
            PrinterStatus::PaperOut
        } else if bit(self.offline_cause, 0x04) {
            PrinterStatus::CoverOpen
        } else if bit(self.printer, 0x08) || bit(self.offline_cause, 0x40) {
            PrinterStatus::Offline
        } else if bit(self.paper, 0x0C) {
            PrinterStatus::PaperLow
        } else {
            PrinterStatus::Ready
        }
    }

    /// The answers a printer in this state gives: what the virtual printer
    /// sends back, and the table above as code.
    pub fn answering(status: PrinterStatus) -> Self {
        let (printer, offline_cause, paper) = match status {
            PrinterStatus::Ready => (0x12, 0x12, 0x12),
            PrinterStatus::PaperLow => (0x12, 0x12, 0x12 | 0x0C),
            PrinterStatus::PaperOut => (0x12 | 0x08, 0x12 | 0x20, 0x12 | 0x60),
            PrinterStatus::CoverOpen => (0x12 | 0x08, 0x12 | 0x04, 0x12),
            PrinterStatus::Offline | PrinterStatus::Missing => (0x12 | 0x08, 0x12 | 0x40, 0x12),
        };
        Self {
            printer: Some(printer),
            offline_cause: Some(offline_cause),
            paper: Some(paper),
        }
    }

    /// The answer to `DLE EOT n`, if `n` is one of the three.
    pub fn answer(self, n: u8) -> Option<u8> {
        match n {
            1 => self.printer,
            2 => self.offline_cause,
            4 => self.paper,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_reads_back_as_itself() {
        for status in [
            PrinterStatus::Ready,
            PrinterStatus::PaperLow,
            PrinterStatus::PaperOut,
            PrinterStatus::CoverOpen,
            PrinterStatus::Offline,
        ] {
            let bytes = StatusBytes::answering(status);
            assert_eq!(bytes.status(), status);
            for n in [1, 2, 4] {
                assert!(is_status_byte(bytes.answer(n).unwrap()));
            }
        }
    }

    #[test]
    fn no_answer_is_ready_and_a_stray_byte_is_not_an_answer() {
        assert_eq!(StatusBytes::default().status(), PrinterStatus::Ready);
        assert!(!is_status_byte(0x10));
        assert!(!is_status_byte(0xFF));
    }
}
