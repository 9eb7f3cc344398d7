//! The review queue's words for walk-in sales returned twice (issue 24),
//! a table beside [`super::text::TABLE`] (read together by
//! [`super::text::strings`]).

/// `(key, zh-CN, en)`.
pub const TABLE: &[(&str, &str, &str)] = &[
    (
        "walk_in_returns",
        "散客销售重复退货",
        "Walk-in sales returned twice",
    ),
    (
        "walk_in_returns_hint",
        "没有会员的销售在多台终端退货，退货数量超过售出数量。",
        "Sales with no member refunded at several terminals beyond what was sold.",
    ),
    ("walk_in_sale", "销售单号", "Sale"),
    ("walk_in_sold_at", "销售终端", "Sold at"),
    ("walk_in_returned_at", "退货终端", "Returned at"),
    ("walk_in_lines", "超退明细", "Lines"),
    ("walk_in_acknowledge", "确认", "Acknowledge"),
    (
        "walk_in_return_acknowledged_notice",
        "已确认该重复退货。",
        "Walk-in sale returned twice acknowledged.",
    ),
    (
        "refusal_unknown_walk_in_return",
        "没有这条散客重复退货记录",
        "No such walk-in sale returned twice",
    ),
    (
        "refusal_walk_in_return_acknowledged",
        "这条散客重复退货已被确认",
        "This walk-in sale returned twice was acknowledged already",
    ),
];
