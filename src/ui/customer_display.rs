//! The customer-facing second display's window: the adapter between
//! [`CustomerView`] (what to show, worked out by the counter) and the
//! Slint `CustomerWindow`. It opens when [`screens::placement`] says so,
//! on the second screen, and is refreshed after every input with the
//! counter's window; an unchanged view sets nothing.
//!
//! [`screens::placement`]: crate::terminal::screens::placement

use std::cell::RefCell;
use std::rc::Rc;

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::generated::{CustomerLineView, CustomerScreenId, CustomerWindow};
use crate::counter::customer_view::{CustomerScreen, CustomerView};
use crate::terminal::screens::Placement;

/// The open second display.
pub struct CustomerDisplay {
    window: CustomerWindow,
    shown: RefCell<Option<CustomerView>>,
}

impl std::fmt::Debug for CustomerDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerDisplay").finish_non_exhaustive()
    }
}

impl CustomerDisplay {
    /// Creates the window; `placement` (none for a headless run) puts it
    /// on its screen and shows it.
    pub fn open(placement: Option<Placement>) -> Result<CustomerDisplay, slint::PlatformError> {
        let window = CustomerWindow::new()?;
        if let Some(placement) = placement {
            window
                .window()
                .set_position(slint::PhysicalPosition::new(placement.x, placement.y));
            window.show()?;
            // Full screen on the screen the window now stands on.
            window.window().set_fullscreen(placement.fullscreen);
        }
        Ok(CustomerDisplay {
            window,
            shown: RefCell::new(None),
        })
    }

    /// The window (tests read its properties, screenshots draw it).
    pub fn window(&self) -> &CustomerWindow {
        &self.window
    }

    /// Shows `view`, unless it is what is shown already.
    pub fn show(&self, view: CustomerView) {
        if self.shown.borrow().as_ref() == Some(&view) {
            return;
        }
        let w = &self.window;
        w.set_screen(match view.screen {
            CustomerScreen::Welcome => CustomerScreenId::Welcome,
            CustomerScreen::Basket => CustomerScreenId::Basket,
            CustomerScreen::Thanks => CustomerScreenId::Thanks,
        });
        w.set_heading(SharedString::from(view.title.as_str()));
        w.set_member(SharedString::from(view.member.as_str()));
        let lines: Vec<CustomerLineView> = view
            .lines
            .iter()
            .map(|l| CustomerLineView {
                name: l.name.as_str().into(),
                quantity: l.quantity.as_str().into(),
                amount: l.amount.as_str().into(),
                note: l.note.as_str().into(),
            })
            .collect();
        w.set_lines(ModelRc::from(Rc::new(VecModel::from(lines))));
        w.set_more_lines(view.more_lines.as_str().into());
        w.set_total_label(view.total_label.as_str().into());
        w.set_total(view.total.as_str().into());
        w.set_savings(view.savings.as_str().into());
        w.set_spent(view.spent.as_str().into());
        w.set_points(view.points.as_str().into());
        w.set_balances(view.balances.as_str().into());
        w.set_change(view.change.as_str().into());
        *self.shown.borrow_mut() = Some(view);
    }

    /// Closes the window.
    pub fn close(&self) {
        let _ = self.window.hide();
    }
}
