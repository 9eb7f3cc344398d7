//! Words of ringing up items from the catalog (issue 24): an unknown
//! barcode, a weighed item without its weight, a quantity the keypad
//! cannot mean, an item no longer sold, a member-priced line.

use tillcard_rules::catalog::CatalogError;

use super::{phrases, pick};
use crate::format::Language;

phrases! {
    /// A barcode the catalog does not hold.
    unknown_barcode => "商品库中没有这个条码：请用品类键按金额录入",
        "This barcode is not in the catalog: key the amount and use a category key";
    /// A weighed item scanned with no weight keyed.
    weight_first => "称重商品：请先输入重量（公斤），再扫描", "Weighed item: key the weight in kg, then scan";
    /// A scale label whose PLU names an item not sold by weight.
    label_not_weighed => "此称重标签对应的商品不按重量销售：请检查电子秤的商品编号",
        "This scale label's item is not sold by weight: check the PLU programmed in the scale";
    /// A scale label's weight above what one line takes.
    label_too_heavy => "称重标签上的重量超出单行上限", "The weight on this scale label is more than one line takes";
    /// A quantity keyed that is not 1 to 999 whole units.
    bad_quantity => "数量须为 1 至 999 的整数", "The quantity is a whole number from 1 to 999";
    /// An item scanned on a screen that is not for selling.
    finish_screen_first => "请先完成当前操作，再扫描商品", "Finish this screen first, then scan items";
    /// The note beside a line rung up at a member price.
    member_price => "会员价", "member price";
}

/// Why an item could not be rung up.
pub fn item_refused(language: Language, error: &CatalogError) -> String {
    match error {
        CatalogError::Inactive => pick(language, "该商品已停售", "This item is no longer sold"),
        CatalogError::WrongQuantity(_) => pick(
            language,
            "数量与商品的计量方式不符（按件或称重）",
            "The quantity does not fit how this item is sold (by the unit or by weight)",
        ),
        _ => pick(
            language,
            "商品资料有误，请联系总部",
            "This item's catalog entry is damaged: tell head office",
        ),
    }
}
