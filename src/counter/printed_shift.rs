//! A closed shift's Z report for the thermal printer (issue 24): the
//! rules' [`ShiftReport`] as the printer crate's printer-neutral
//! [`ZReport`], in the same words and sections the shift-close screen
//! shows (`counter::text::shift_sections`), each clerk by name and id with
//! their compact lines. The store's name and the till's id are filled in
//! by the terminal, which knows them, as for a sale's receipt.

use tillcard_print::{TotalRow, ZLabels, ZReport, ZSection};
use tillcard_rules::shift::ShiftReport;

use super::messages::ClerkEntry;
use super::text::{FigureRow, clerk_heading, clerk_rows, shift_sections, shift_time};
use crate::format::Language;
use crate::store::shift::ShiftClose;

fn total_rows(rows: Vec<FigureRow>) -> Vec<TotalRow> {
    rows.into_iter()
        .map(|(label, amount, strong)| TotalRow {
            label,
            amount,
            strong,
        })
        .collect()
}

/// Each clerk of `report` as a section headed by their name and id (the
/// name from `clerks`, this till's list).
pub fn clerk_sections(
    report: &ShiftReport,
    clerks: &[ClerkEntry],
    language: Language,
) -> Vec<(String, Vec<FigureRow>)> {
    report
        .clerks
        .iter()
        .map(|c| {
            let name = clerks
                .iter()
                .find(|e| e.id == c.clerk)
                .map(|e| e.name.as_str());
            (
                clerk_heading(name, &c.clerk),
                clerk_rows(language, &c.figures),
            )
        })
        .collect()
}

/// The printed Z report of `close`, closed by `closed_by` (as shown on
/// screen).
pub fn printed_z_report(
    close: &ShiftClose,
    closed_by: &str,
    clerks: &[ClerkEntry],
    language: Language,
) -> ZReport {
    let report = &close.report;
    let section = |(heading, rows): (String, Vec<FigureRow>)| ZSection {
        heading,
        rows: total_rows(rows),
    };
    ZReport {
        store: String::new(),
        terminal: String::new(),
        closed_by: closed_by.to_owned(),
        opened_at: report
            .opened_at
            .as_ref()
            .map(shift_time)
            .unwrap_or_default(),
        closed_at: shift_time(&report.closed_at),
        shift_ref: close.shift.0.to_string(),
        sections: shift_sections(language, &report.terminal)
            .into_iter()
            .map(section)
            .collect(),
        clerks: clerk_sections(report, clerks, language)
            .into_iter()
            .map(section)
            .collect(),
        reprint: false,
        labels: match language {
            Language::ZhCn => ZLabels::zh_cn(),
            Language::En => ZLabels::en(),
        },
    }
}
