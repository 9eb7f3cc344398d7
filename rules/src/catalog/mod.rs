//! The product catalog head office sends every terminal (issue 24): what a
//! scanned barcode rings up, at which price for which member.
//!
//! An item is priced per unit, or per kilogram when it is sold by weight;
//! it may carry a member price (会员价) per tier, keyed by the tier's code.
//! A line rung up at a member price records the shelf price beside it
//! ([`BasketLine::list_price`]) and is not discounted again by the tier or
//! the member day: the member price already is the member's discount
//! (coupons still apply, and points are earned on what is paid). This
//! module turns an item and a quantity into that basket line, and holds
//! every item from outside to its bounds before any arithmetic.

pub mod barcode;
pub mod scale_label;

use serde::{Deserialize, Serialize};

use crate::limits::{self, OutOfBounds};
use crate::money::Money;
use crate::pricing::BasketLine;

pub use barcode::{CodeError, CodeKind, ItemCode};
pub use scale_label::{ScaleFormatError, ScaleLabel, ScaleLabelFormat};

/// The longest SKU, in characters (printable ASCII).
pub const MAX_SKU_CHARS: usize = 64;
/// The most member prices one item carries (one per tier).
pub const MAX_MEMBER_PRICES: usize = 16;
/// The most items a chain's catalog holds (a terminal holds them all).
pub const MAX_CATALOG_ITEMS: usize = 500_000;
/// The heaviest weighed line, in grams (a 1,000 kg pallet).
pub const MAX_GRAMS: i64 = 1_000_000;

/// One member price: the price for members of the tier with `tier` as code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TierPrice {
    /// The tier's code (`gold`).
    pub tier: String,
    /// The member price: per unit, or per kilogram for a weighed item.
    pub price: Money,
}

/// One item of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogItem {
    /// Stable item code, printable ASCII (`A-000123`).
    pub sku: String,
    /// The barcode: EAN-13, EAN-8, UPC-A (keyed as EAN-13) or an in-house
    /// Code 128 text; none for goods rung up by key only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Name in zh-CN (可口可乐 330ml).
    pub name_zh: String,
    /// Name in en (Coca-Cola 330 ml).
    pub name_en: String,
    /// The program's category: discount exclusions, earning rates, coupon
    /// scope.
    pub category: String,
    /// Shelf price: per unit, or per kilogram when `sold_by_weight`.
    pub price: Money,
    /// Member prices per tier; a tier without one pays the shelf price
    /// with the tier discount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_prices: Vec<TierPrice>,
    /// Weighed at the counter: price per kilogram, quantity in grams.
    #[serde(default)]
    pub sold_by_weight: bool,
    /// Sold now; an inactive item is kept (old receipts name it) but not
    /// rung up.
    pub active: bool,
}

/// How much of an item is rung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Whole units.
    Units(i64),
    /// Grams on the scale, for an item sold by weight.
    Grams(i64),
}

/// Why an item cannot be rung up, or is not a valid item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// A field outside its bound.
    #[error(transparent)]
    OutOfBounds(#[from] OutOfBounds),
    /// The barcode is not a product code.
    #[error("barcode: {0}")]
    Barcode(#[from] CodeError),
    /// Something else about a field (`sku`, `member_prices[1].tier`).
    #[error("{field}: {problem}")]
    Field {
        /// The field's path.
        field: String,
        /// What is wrong, in words.
        problem: &'static str,
    },
    /// The item is not sold now.
    #[error("this item is not sold any more")]
    Inactive,
    /// Units given for a weighed item or grams for a counted one.
    #[error("this item is sold {0}")]
    WrongQuantity(&'static str),
}

fn field(field: impl Into<String>, problem: &'static str) -> CatalogError {
    CatalogError::Field {
        field: field.into(),
        problem,
    }
}

impl CatalogItem {
    /// Every problem of an item from outside (head office's editor, a CSV
    /// import, the downlink), all at once; empty when it is valid.
    pub fn problems(&self) -> Vec<CatalogError> {
        let mut problems = Vec::new();
        let sku = self.sku.as_bytes();
        if sku.is_empty()
            || sku.len() > MAX_SKU_CHARS
            || !sku.iter().all(|b| (0x21..0x7f).contains(b))
        {
            problems.push(field(
                "sku",
                "1 to 64 printable ASCII characters without spaces",
            ));
        }
        if let Some(code) = &self.barcode
            && let Err(e) = ItemCode::parse(code)
        {
            problems.push(e.into());
        }
        for (name, text) in [("name_zh", &self.name_zh), ("name_en", &self.name_en)] {
            if let Err(e) = limits::check_short_text(name, text) {
                problems.push(e.into());
            }
        }
        if self.name_zh.trim().is_empty() && self.name_en.trim().is_empty() {
            problems.push(field("name_zh", "an item needs a name in one language"));
        }
        if self.category.trim().is_empty() {
            problems.push(field("category", "an item needs a category"));
        } else if let Err(e) = limits::check_short_text("category", &self.category) {
            problems.push(e.into());
        }
        if let Err(e) = limits::check_money_not_negative("price", self.price) {
            problems.push(e.into());
        }
        if self.member_prices.len() > MAX_MEMBER_PRICES {
            problems.push(field("member_prices", "at most 16 member prices"));
        }
        for (i, p) in self.member_prices.iter().enumerate() {
            if p.tier.trim().is_empty() {
                problems.push(field(format!("member_prices[{i}].tier"), "empty tier code"));
            }
            if self.member_prices[..i].iter().any(|q| q.tier == p.tier) {
                problems.push(field(
                    format!("member_prices[{i}].tier"),
                    "a tier has one member price",
                ));
            }
            if let Err(e) =
                limits::check_money_not_negative(format!("member_prices[{i}].price"), p.price)
            {
                problems.push(e.into());
            } else if p.price > self.price {
                problems.push(field(
                    format!("member_prices[{i}].price"),
                    "a member price above the shelf price",
                ));
            }
        }
        problems
    }

    /// The barcode's catalog key, if the item has a valid one.
    pub fn code(&self) -> Option<ItemCode> {
        self.barcode
            .as_deref()
            .and_then(|c| ItemCode::parse(c).ok())
    }

    /// The member price for a tier, if the item has one.
    pub fn member_price(&self, tier_code: &str) -> Option<Money> {
        self.member_prices
            .iter()
            .find(|p| p.tier == tier_code)
            .map(|p| p.price)
    }

    /// The basket line for `quantity` of this item, for a member of the
    /// tier `tier_code` (none for a walk-in). A weighed item is one line
    /// of one unit at its weight's price, rounded half-up to the fen, its
    /// weight in the name. `english` picks the name (the other one when
    /// it is empty).
    pub fn line(
        &self,
        quantity: Quantity,
        tier_code: Option<&str>,
        english: bool,
    ) -> Result<BasketLine, CatalogError> {
        if let Some(problem) = self.problems().into_iter().next() {
            return Err(problem);
        }
        if !self.active {
            return Err(CatalogError::Inactive);
        }
        let member = tier_code.and_then(|t| self.member_price(t));
        let name = match (english, self.name_en.trim(), self.name_zh.trim()) {
            (true, en, _) if !en.is_empty() => en,
            (_, en, "") => en,
            (_, _, zh) => zh,
        };
        let (count, shelf, paid, name) = match (quantity, self.sold_by_weight) {
            (Quantity::Units(n), false) => {
                limits::check_quantity("quantity", n)?;
                if n == 0 {
                    return Err(field("quantity", "at least one unit"));
                }
                (n, self.price, member, name.to_string())
            }
            (Quantity::Grams(g), true) => {
                limits::check_range("grams", g, 1, MAX_GRAMS)?;
                let weigh = |per_kg: Money| per_kg.mul_ratio_half_up(g, 1000);
                let kg = format!("{}.{:03}kg", g / 1000, g % 1000);
                (
                    1,
                    weigh(self.price),
                    member.map(weigh),
                    format!("{name} {kg}"),
                )
            }
            (Quantity::Grams(_), false) => return Err(CatalogError::WrongQuantity("by the unit")),
            (Quantity::Units(_), true) => return Err(CatalogError::WrongQuantity("by weight")),
        };
        Ok(BasketLine {
            sku: self.sku.clone(),
            name,
            category: self.category.clone(),
            quantity: count,
            unit_price: paid.unwrap_or(shelf),
            list_price: paid.map(|_| shelf),
        })
    }
}

#[cfg(test)]
mod tests;
