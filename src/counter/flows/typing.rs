//! Typing, for every flow: a keypad key goes to the entry of the screen on
//! top (or to the manager PIN prompt over it); a text field takes a
//! hardware keyboard's whole text or the on-screen keyboard's keys, and the
//! on-screen keyboard opens only on its field's screen and goes away with
//! it. Which field lives on which screen is decided here, once.

use crate::counter::keyboard::{TextField, TextKey, TextKeyboard};
use crate::counter::keypad::Key;
use crate::counter::messages::{Command, Page};
use crate::counter::state::Counter;

impl Counter {
    /// A keypad key, into the entry of the screen on top.
    pub(in crate::counter) fn key(&mut self, key: Key) -> Vec<Command> {
        if let Some(prompt) = &mut self.prompt {
            prompt.pin.press(key);
            return Vec::new();
        }
        match self.page {
            Page::Login => self.login_pin.press(key),
            Page::PinSetup => self.press_pin_setup_key(key),
            Page::FirstRun => self.first_run_code.press(key),
            Page::Checkout => self.sale.entry.press(key),
            Page::PhoneLookup => self.phone.press(key),
            Page::Enroll => self.enroll.phone.press(key),
            Page::TopUp => {
                if let Some(form) = &mut self.top_up {
                    form.amount.press(key);
                    form.package = None;
                }
            }
            Page::Adjust => {
                if let Some(form) = &mut self.adjust {
                    form.points.press(key);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// The text a field holds.
    fn field_text(&mut self, field: TextField) -> &mut String {
        match field {
            TextField::EnrollName => &mut self.enroll.name,
            TextField::HeadOfficeUrl => &mut self.hq_url,
            TextField::EnrollmentCode => &mut self.provision_code,
        }
    }

    /// The screen a field is on.
    fn field_page(field: TextField) -> Page {
        match field {
            TextField::EnrollName => Page::Enroll,
            TextField::HeadOfficeUrl | TextField::EnrollmentCode => Page::Settings,
        }
    }

    /// The keyboard goes away with its field's screen, and under the
    /// manager PIN prompt (which has its own keypad).
    pub(in crate::counter) fn close_stray_keyboard(&mut self) {
        if let Some(keyboard) = &self.keyboard
            && (self.page != Self::field_page(keyboard.field) || self.prompt.is_some())
        {
            self.keyboard = None;
        }
    }

    /// [`Action::SetText`](crate::counter::Action::SetText): a field's
    /// whole new text from a hardware keyboard, cut to the field's length.
    pub(in crate::counter) fn tap_set_text(
        &mut self,
        field: TextField,
        text: String,
    ) -> Vec<Command> {
        *self.field_text(field) = text.chars().take(field.max_chars()).collect();
        Vec::new()
    }

    /// [`Action::OpenKeyboard`](crate::counter::Action::OpenKeyboard): only
    /// on the field's own screen.
    pub(in crate::counter) fn tap_open_keyboard(&mut self, field: TextField) -> Vec<Command> {
        if self.page == Self::field_page(field) {
            let keyboard = TextKeyboard::open(field, self.field_text(field));
            self.keyboard = Some(keyboard);
        }
        Vec::new()
    }

    /// [`Action::TypeKey`](crate::counter::Action::TypeKey): a key of the
    /// open keyboard (none open: it types nothing).
    pub(in crate::counter) fn tap_type_key(&mut self, key: TextKey) -> Vec<Command> {
        if let Some(mut keyboard) = self.keyboard.take() {
            let open = keyboard.press(key, self.field_text(keyboard.field));
            self.keyboard = open.then_some(keyboard);
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use crate::counter::flows::testing::signed_in;
    use crate::counter::keyboard::{TextField, TextKey};
    use crate::counter::messages::{Action, Input};
    use crate::counter::state::Counter;

    #[test]
    fn the_text_keyboard_types_into_its_field_and_goes_away_with_its_screen() {
        let (mut c, t0) = signed_in();
        let tap = |c: &mut Counter, a: Action| c.handle(Input::Tap(a), t0);
        tap(&mut c, Action::OpenKeyboard(TextField::HeadOfficeUrl));
        assert!(
            c.keyboard.is_none(),
            "not on the settings screen: no keyboard"
        );
        tap(&mut c, Action::OpenEnroll);
        tap(&mut c, Action::OpenKeyboard(TextField::EnrollName));
        for key in [TextKey::Char('W'), TextKey::Char('u')] {
            tap(&mut c, Action::TypeKey(key));
        }
        assert_eq!(c.enroll.name, "Wu");
        tap(
            &mut c,
            Action::SetText(TextField::EnrollName, "x".repeat(100)),
        );
        assert_eq!(c.enroll.name.len(), TextField::EnrollName.max_chars());
        assert!(c.keyboard.is_some());
        tap(&mut c, Action::Home);
        assert!(c.keyboard.is_none(), "leaving the screen closes it");
        tap(&mut c, Action::TypeKey(TextKey::Char('z')));
        assert_eq!(
            c.enroll.name.len(),
            TextField::EnrollName.max_chars(),
            "a stray key types nothing"
        );
    }
}
