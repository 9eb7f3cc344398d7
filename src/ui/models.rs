//! The small conversions every screen's adapter makes: a list into a Slint
//! model, text into Slint's string, a list of texts into a model of them.

use std::rc::Rc;

use slint::{ModelRc, SharedString, VecModel};

/// `items` as a model a view can show.
pub fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(items)))
}

/// `text` as Slint's string.
pub fn shared(text: impl AsRef<str>) -> SharedString {
    SharedString::from(text.as_ref())
}

/// Texts as a model of strings.
pub fn strings(items: impl IntoIterator<Item = String>) -> ModelRc<SharedString> {
    model(items.into_iter().map(SharedString::from).collect())
}
