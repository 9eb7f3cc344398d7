//! The return screen's part of the `Ui` global (issue 24: a return from a
//! receipt's QR code, `counter::flows::returns`): the sale's lines with
//! what is left and picked, the value, the money back per tender kind;
//! and the screen's action names. Kept beside `ui/view` so the view
//! adapter stays one screen's worth of mapping per file.

use slint::SharedString;

use super::models::{model, shared, strings};
use super::{ReturnLine, Row, Ui};
use crate::counter::text::{self, yuan};
use crate::counter::{Action, Counter};

/// The counter action for one of this screen's action names (`index`:
/// the line).
pub fn action(name: &str, index: i32) -> Option<Action> {
    let n = usize::try_from(index).unwrap_or(0);
    Some(match name {
        "return-less" => Action::ReturnStep(n, -1),
        "return-more" => Action::ReturnStep(n, 1),
        "confirm-return" => Action::ConfirmReturn,
        _ => return None,
    })
}

/// The return screen's state (`counter::flows::returns`); the form's
/// error, if any, for the shared error line.
pub fn render(c: &Counter, ui: &Ui<'_>) -> Option<String> {
    let lang = c.language;
    let form = c.return_form.as_ref()?;
    ui.set_return_info(strings(text::return_sale_info(lang, &form.scanned)));
    let left = form.left();
    let sold = &form.scanned.receipt.summary.lines;
    ui.set_return_lines(model(
        sold.iter()
            .enumerate()
            .map(|(i, line)| {
                let weighed = form.weighed(i);
                let left = left.get(i).copied().unwrap_or(0);
                let qty = form.quantities.get(i).copied().unwrap_or(0);
                let net = yuan(line.net);
                ReturnLine {
                    name: shared(form.line_name(i, lang)),
                    detail: shared(format!(
                        "{} · {net}",
                        text::return_line_detail(lang, weighed, line.quantity, left)
                    )),
                    qty: shared(text::return_quantity(weighed, qty)),
                    picked: qty > 0,
                    can_less: qty > 0 && form.sending.is_none(),
                    can_more: qty < left && form.sending.is_none(),
                }
            })
            .collect(),
    ));
    ui.set_return_value(shared(yuan(form.value())));
    ui.set_return_result(model(
        form.done
            .as_ref()
            .map(|done| {
                let mut rows: Vec<Row> = text::money_back_rows(lang, &done.refund)
                    .into_iter()
                    .map(|(label, amount)| Row {
                        label: shared(label),
                        amount: shared(amount),
                        strong: false,
                    })
                    .collect();
                rows.extend(
                    text::return_notes(lang, &done.refund.outcome)
                        .into_iter()
                        .map(|note| Row {
                            label: shared(note),
                            amount: SharedString::new(),
                            strong: false,
                        }),
                );
                rows
            })
            .unwrap_or_default(),
    ));
    ui.set_can_confirm_return(form.sending.is_none() && !form.nothing_left());
    form.error.clone()
}
