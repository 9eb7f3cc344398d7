//! The catalog page's strings (issue 24), a table of its own beside
//! [`super::text::TABLE`] (read together by [`super::text::strings`]).

/// `(key, zh-CN, en)`.
pub const TABLE: &[(&str, &str, &str)] = &[
    ("catalog", "商品", "Catalog"),
    (
        "catalog_item_form",
        "新增或修改商品",
        "Add or change an item",
    ),
    (
        "catalog_item_hint",
        "同一商品编码即修改该商品；停售请取消“在售”。保存后随各收银机的下次同步下发。",
        "The same SKU changes that item; untick “sold” to stop selling it. Every till receives it with its next sync.",
    ),
    ("sku", "商品编码", "SKU"),
    ("barcode", "条码", "Barcode"),
    ("name_zh", "中文名称", "Name (zh)"),
    ("name_en", "英文名称", "Name (en)"),
    ("category", "品类", "Category"),
    ("price_yuan", "售价（元）", "Price (¥)"),
    ("member_prices", "会员价", "Member prices"),
    ("sold_by_weight", "称重（每公斤）", "By weight (per kg)"),
    ("item_active", "在售", "Sold"),
    ("catalog_import", "导入 CSV", "Import CSV"),
    (
        "catalog_import_hint",
        "粘贴 CSV 文件内容或从表格复制的行（首行为列名）。全部通过才导入，有问题逐行列出。",
        "Paste a CSV file's text or rows copied from a spreadsheet (the first row names the columns). All of it is imported, or nothing with every problem listed by row.",
    ),
    ("from_sku", "从商品编码", "From SKU"),
    ("show", "显示", "Show"),
    ("next_page", "下一页", "Next page"),
    ("catalog_empty", "商品库为空", "The catalog is empty"),
    (
        "catalog_written",
        "商品资料已保存，将随下次同步下发到各收银机。",
        "Catalog saved: every till receives it with its next sync.",
    ),
    (
        "catalog_unchanged",
        "商品资料与已有的一致，没有变化。",
        "Nothing changed: the catalog already holds these items.",
    ),
    (
        "refusal_invalid_item",
        "商品资料有误，未保存：",
        "Not saved: the items have problems:",
    ),
    (
        "refusal_barcode_taken",
        "同一条码不能用于两个在售商品",
        "One barcode cannot be on two items that are sold",
    ),
];
