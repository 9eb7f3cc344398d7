//! The shift-close screen's part of the `Ui` global (issue 24): the
//! preview's heading lines, the till's figures in sections, each clerk's
//! compact lines, the state line and what the buttons may do; and the
//! screen's action names. Kept beside `ui/view` so the view adapter stays
//! one screen's worth of mapping per file.

use slint::{ModelRc, SharedString};

use super::models::model;
use super::{Row, Ui};
use crate::counter::printed_shift::clerk_sections;
use crate::counter::text::{
    self, FigureRow, shift_closing, shift_heading, shift_loading, shift_sections,
};
use crate::counter::{Action, Counter};

/// The counter action for one of this screen's action names.
pub fn action(name: &str) -> Option<Action> {
    Some(match name {
        "open-shift-close" => Action::OpenShiftClose,
        "close-shift" => Action::CloseShift,
        "reprint-shift-report" => Action::ReprintShiftReport,
        _ => return None,
    })
}

/// Sections as rows: each heading a strong row with no figure, then its
/// rows.
fn rows(sections: Vec<(String, Vec<FigureRow>)>) -> ModelRc<Row> {
    let mut out = Vec::new();
    for (heading, figures) in sections {
        out.push(Row {
            label: heading.into(),
            amount: SharedString::new(),
            strong: true,
        });
        out.extend(figures.into_iter().map(|(label, amount, strong)| Row {
            label: label.into(),
            amount: amount.into(),
            strong,
        }));
    }
    model(out)
}

/// Copies the shift-close screen into the `Ui` global.
pub fn render(c: &Counter, ui: &Ui<'_>) {
    let lang = c.language;
    let screen = &c.shift_close;
    let closed_at = screen.closed.as_ref().map(|k| k.report.closed_at);
    let (heading, mut till, clerks) = match &screen.preview {
        Some(p) => (
            shift_heading(
                lang,
                &p.store,
                &p.terminal,
                p.report.opened_at.as_ref(),
                closed_at.as_ref(),
                &p.report.closed_at,
            ),
            shift_sections(lang, &p.report.terminal),
            rows(clerk_sections(&p.report, &c.clerks, lang)),
        ),
        None => (Vec::new(), Vec::new(), rows(Vec::new())),
    };
    // Sales and tenders in the first column, the rest in the second: the
    // whole report on one screen without scrolling.
    let more = till.split_off(till.len().min(2));
    let lines: Vec<SharedString> = heading.into_iter().map(SharedString::from).collect();
    ui.set_shift_heading(model(lines));
    ui.set_shift_rows(rows(till));
    ui.set_shift_more_rows(rows(more));
    ui.set_shift_clerks(clerks);
    let state = if let Some(e) = &screen.error {
        e.clone()
    } else if screen.closing {
        shift_closing(lang)
    } else if let Some(at) = closed_at {
        text::shift_closed(lang, &at, c.printer.is_some())
    } else if screen.preview.is_none() {
        shift_loading(lang)
    } else {
        String::new()
    };
    ui.set_shift_state(state.into());
    ui.set_shift_state_bad(screen.error.is_some());
    ui.set_shift_can_close(screen.preview.is_some() && !screen.closing && screen.closed.is_none());
    ui.set_shift_closed(screen.closed.is_some());
}
