//! The shift close flow (Z report, issue 24): a manager's screen. Opening
//! it (approval in hand) reads the open shift's report without closing
//! anything (`Command::LoadShiftReport`); "Close and print" sends
//! `Command::CloseShift` once: the store writes the close row, its
//! `shift_closed` outbox event and audit row in one transaction, and the
//! answer brings the report as closed, which is printed
//! (`Command::PrintZReport`) and shown as closed. "Print again" sends the
//! same report marked as a reprint.
//!
//! Decisions:
//! - The close waits for the preview: the manager sees what they close.
//! - Double taps send once: `closing` is set with the command and only the
//!   store's answer clears it; once closed, the screen closes nothing more
//!   (a second close is a second visit, which previews the new, empty
//!   shift first).
//! - The printer never blocks the close: the close is the store's, the
//!   report is handed to the spooler after it, and a printer missing,
//!   offline or out of paper shows on the status strip as for receipts;
//!   the report can be printed again from this screen.
//! - An empty shift can be closed and prints its zeros, as a till's Z
//!   report does: the close still marks where the next shift starts and
//!   head office sees the till closed its day.
//! - The signed-in clerk closes the shift (`closed_by`); the manager's
//!   approval opened the screen, as for refunds.
//! - A close answered after the clerk left the screen is still printed:
//!   the shift is closed either way, and its report must reach paper.

use crate::counter::messages::{Command, Page, ShiftCloseScreen, ShiftPreview, Sound};
use crate::counter::printed_shift::printed_z_report;
use crate::counter::state::Counter;
use crate::counter::text;
use crate::store::StoreError;
use crate::store::shift::ShiftClose;

impl Counter {
    /// The shift-close screen, approval in hand: a fresh screen and the
    /// open shift's report asked for.
    pub(in crate::counter) fn enter_shift_close(&mut self) -> Vec<Command> {
        self.shift_close = ShiftCloseScreen::default();
        self.go(Page::ShiftClose);
        vec![Command::LoadShiftReport]
    }

    /// [`Action::CloseShift`](crate::counter::Action::CloseShift): the
    /// close, once.
    pub(in crate::counter) fn tap_close_shift(&mut self) -> Vec<Command> {
        let screen = &mut self.shift_close;
        if self.page != Page::ShiftClose
            || self.approval.is_none()
            || screen.preview.is_none()
            || screen.closing
            || screen.closed.is_some()
        {
            return Vec::new();
        }
        let Some(clerk) = &self.clerk else {
            return Vec::new();
        };
        screen.closing = true;
        screen.closing_by = clerk.name().to_owned();
        screen.error = None;
        vec![Command::CloseShift {
            clerk: clerk.clone(),
        }]
    }

    /// [`Action::ReprintShiftReport`](crate::counter::Action::ReprintShiftReport):
    /// the closed shift's report again, marked as a reprint.
    pub(in crate::counter) fn tap_reprint_shift_report(&mut self) -> Vec<Command> {
        let Some(printed) = &self.shift_close.printed else {
            return Vec::new();
        };
        let mut report = printed.clone();
        report.reprint = true;
        vec![Command::PrintZReport(Box::new(report))]
    }

    /// The open shift's report for the preview (dropped once the screen
    /// shows a closed shift).
    pub(in crate::counter) fn done_shift_report(
        &mut self,
        result: Result<ShiftPreview, StoreError>,
    ) -> Vec<Command> {
        let screen = &mut self.shift_close;
        if screen.closed.is_some() {
            return Vec::new();
        }
        match result {
            Ok(preview) => {
                screen.preview = Some(preview);
                screen.error = None;
            }
            Err(e) => screen.error = Some(text::store_error(self.language, &e)),
        }
        Vec::new()
    }

    /// The shift closed: its report printed and shown as closed; or why
    /// not, and the button works again.
    pub(in crate::counter) fn done_shift_closed(
        &mut self,
        result: Result<ShiftClose, StoreError>,
    ) -> Vec<Command> {
        self.shift_close.closing = false;
        match result {
            Ok(close) => {
                let closed_by = &self.shift_close.closing_by;
                let printed = printed_z_report(&close, closed_by, &self.clerks, self.language);
                let screen = &mut self.shift_close;
                if let Some(preview) = &mut screen.preview {
                    preview.report = close.report.clone();
                }
                screen.printed = Some(printed.clone());
                let at = close.report.closed_at;
                screen.closed = Some(close);
                screen.error = None;
                if self.page == Page::ShiftClose {
                    let printer = self.printer.is_some();
                    self.say(text::shift_closed(self.language, &at, printer), false);
                }
                vec![
                    Command::PrintZReport(Box::new(printed)),
                    Command::Play(Sound::Confirm),
                ]
            }
            Err(e) => {
                self.shift_close.error = Some(text::store_error(self.language, &e));
                vec![Command::Play(Sound::Bad)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tillcard_rules::shift::{ShiftAction, ShiftReport};
    use tillcard_rules::tenders::{Tender, TenderKind};
    use tillcard_rules::{Money, SourceId, Timestamp};
    use uuid::Uuid;

    use super::*;
    use crate::counter::flows::testing::{approval, clerk, signed_in};
    use crate::counter::messages::{Action, Done, Input};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    /// A cash sale of ¥30 (¥50 handed over) and a card sale of ¥12, both
    /// by the cashier `c1`.
    fn report() -> ShiftReport {
        let sale = |kind, fen: i64, change: i64| ShiftAction::Sale {
            gross: Money::from_fen(fen),
            discounts: Money::ZERO,
            net: Money::from_fen(fen),
            tenders: vec![Tender {
                kind,
                amount: Money::from_fen(fen),
            }],
            change: Money::from_fen(change),
            stored_value_used: Money::ZERO,
            points_value: Money::ZERO,
            points_redeemed: 0,
            points_issued: 0,
        };
        let actions = [
            sale(TenderKind::Cash, 3000, 2000),
            sale(TenderKind::BankCard, 1200, 0),
        ];
        ShiftReport::build(
            actions
                .iter()
                .enumerate()
                .map(|(i, a)| (i as u64 + 1, "c1", a)),
            Some(at("2026-11-30T08:00:00+08:00")),
            at("2026-11-30T18:00:00+08:00"),
        )
    }

    fn preview(report: ShiftReport) -> ShiftPreview {
        ShiftPreview {
            store: "S001".into(),
            terminal: "T01".into(),
            report,
        }
    }

    fn closed(report: ShiftReport) -> ShiftClose {
        ShiftClose {
            shift: SourceId(Uuid::from_u128(7)),
            seq: 3,
            report,
        }
    }

    /// A signed-in cashier on the shift-close screen a manager approved,
    /// the preview asked for.
    fn on_screen() -> (Counter, std::time::Instant) {
        let (mut c, t0) = signed_in();
        let asked = c.handle(Input::Tap(Action::OpenShiftClose), t0);
        assert!(asked.is_empty(), "the manager's PIN first: {asked:?}");
        assert!(c.prompt.is_some());
        let opened = c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(opened, vec![Command::LoadShiftReport]);
        assert_eq!(c.page, Page::ShiftClose);
        (c, t0)
    }

    fn printed(commands: &[Command]) -> &tillcard_print::ZReport {
        commands
            .iter()
            .find_map(|c| match c {
                Command::PrintZReport(r) => Some(r.as_ref()),
                _ => None,
            })
            .expect("a Z report printed")
    }

    #[test]
    fn a_manager_previews_then_closes_once_and_the_report_prints() {
        let (mut c, t0) = on_screen();
        assert!(
            c.handle(Input::Tap(Action::CloseShift), t0).is_empty(),
            "nothing closes before the preview is on screen"
        );
        c.handle(Input::Done(Done::ShiftReport(Ok(preview(report())))), t0);
        assert_eq!(
            c.handle(Input::Tap(Action::CloseShift), t0),
            vec![Command::CloseShift { clerk: clerk() }]
        );
        assert!(
            c.handle(Input::Tap(Action::CloseShift), t0).is_empty(),
            "a double tap sends once"
        );
        let answer = c.handle(Input::Done(Done::ShiftClosed(Ok(closed(report())))), t0);
        assert!(answer.contains(&Command::Play(Sound::Confirm)));
        let z = printed(&answer);
        assert!(!z.reprint);
        assert_eq!(z.closed_by, "Cashier");
        assert_eq!(z.closed_at, "2026-11-30 18:00");
        let row = |label: &str| {
            z.sections
                .iter()
                .flat_map(|s| &s.rows)
                .find(|r| r.label == label)
                .map(|r| r.amount.clone())
        };
        assert_eq!(row("Sales count").as_deref(), Some("2"));
        assert_eq!(row("Cash").as_deref(), Some("¥30.00"));
        assert_eq!(row("Bank card").as_deref(), Some("¥12.00"));
        assert_eq!(row("Net sales").as_deref(), Some("¥42.00"));
        assert_eq!(row("Change given").as_deref(), Some("¥20.00"));
        assert_eq!(z.clerks.len(), 1);
        assert_eq!(z.clerks[0].heading, "Cashier (c1)");
        assert!(c.shift_close.closed.is_some());
        assert!(
            c.handle(Input::Tap(Action::CloseShift), t0).is_empty(),
            "a closed shift closes no more on this visit"
        );
        let again = c.handle(Input::Tap(Action::ReprintShiftReport), t0);
        let copy = printed(&again);
        assert!(copy.reprint, "the copy is marked");
        assert_eq!(copy.sections, z.sections);
    }

    #[test]
    fn a_refused_close_says_why_and_can_be_sent_again() {
        let (mut c, t0) = on_screen();
        c.handle(Input::Done(Done::ShiftReport(Ok(preview(report())))), t0);
        assert_eq!(c.handle(Input::Tap(Action::CloseShift), t0).len(), 1);
        let answer = c.handle(
            Input::Done(Done::ShiftClosed(Err(StoreError::Damaged("x".into())))),
            t0,
        );
        assert_eq!(answer, vec![Command::Play(Sound::Bad)]);
        assert!(c.shift_close.error.is_some() && c.shift_close.closed.is_none());
        assert_eq!(
            c.handle(Input::Tap(Action::CloseShift), t0),
            vec![Command::CloseShift { clerk: clerk() }]
        );
    }

    #[test]
    fn an_empty_shift_closes_and_prints_its_zeros() {
        let (mut c, t0) = on_screen();
        let empty = ShiftReport::build([], None, at("2026-11-30T18:00:00+08:00"));
        c.handle(
            Input::Done(Done::ShiftReport(Ok(preview(empty.clone())))),
            t0,
        );
        assert_eq!(c.handle(Input::Tap(Action::CloseShift), t0).len(), 1);
        let answer = c.handle(Input::Done(Done::ShiftClosed(Ok(closed(empty)))), t0);
        let z = printed(&answer);
        assert!(z.opened_at.is_empty() && z.clerks.is_empty());
        let figures: Vec<&str> = z
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .map(|r| r.amount.as_str())
            .collect();
        assert!(
            figures.iter().all(|f| *f == "0" || *f == "¥0.00"),
            "{figures:?}"
        );
    }

    #[test]
    fn leaving_and_locking_forget_the_approval_and_a_late_close_still_prints() {
        let (mut c, t0) = on_screen();
        c.handle(Input::Done(Done::ShiftReport(Ok(preview(report())))), t0);
        c.handle(Input::Tap(Action::CloseShift), t0);
        c.handle(Input::Tap(Action::Home), t0);
        assert!(c.approval.is_none(), "the approval went with the screen");
        c.handle(Input::Tap(Action::Lock), t0);
        let answer = c.handle(Input::Done(Done::ShiftClosed(Ok(closed(report())))), t0);
        assert_eq!(printed(&answer).sections.len(), 5);
        assert_eq!(
            printed(&answer).closed_by,
            "Cashier",
            "named though the till locked"
        );
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        assert_eq!(c.page, Page::Home);
        // Back in, the screen starts fresh on the next shift.
        c.handle(Input::Tap(Action::OpenShiftClose), t0);
        let opened = c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(opened, vec![Command::LoadShiftReport]);
        assert!(c.shift_close.closed.is_none() && c.shift_close.preview.is_none());
    }
}
