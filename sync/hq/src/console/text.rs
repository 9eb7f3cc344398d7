//! Every string of the console in zh-CN and en: one table of
//! `(key, 中文, English)` rows that the templates read as `t.<key>`
//! (minijinja's strict undefined makes a missing key an error, and the
//! tests check every key has both languages and every `t.<key>` a
//! template names is here).

use std::collections::BTreeMap;

use crate::dashboard::Lang;

/// `(key, zh-CN, en)`.
pub const TABLE: &[(&str, &str, &str)] = &[
    ("console", "总部控制台", "Head-office console"),
    ("dashboard", "看板", "Dashboard"),
    ("stores", "门店", "Stores"),
    ("staff", "店员", "Staff"),
    ("codes", "注册码", "Enrollment codes"),
    ("terminals", "终端", "Terminals"),
    ("users", "总部用户", "Head-office users"),
    ("audit", "审计记录", "Audit trail"),
    ("program", "会员规则", "Program"),
    ("members", "会员服务", "Member care"),
    ("conflicts", "待审核事项", "Review queue"),
    (
        "conflict_counts",
        "冲突：按类型和时长统计",
        "Conflicts by kind and age",
    ),
    ("conflict_queue", "冲突", "Conflicts"),
    ("kind", "类型", "Kind"),
    ("open_under_a_day", "未处理·1天内", "Open, under a day"),
    (
        "open_under_a_week",
        "未处理·1至7天",
        "Open, a day to a week",
    ),
    ("open_older", "未处理·超过7天", "Open, older"),
    ("closed", "已处理", "Closed"),
    ("assignee", "负责人", "Assigned to"),
    ("assign", "指派", "Assign"),
    ("resolve_accept", "处理：保留记录", "Resolve: accept"),
    (
        "resolve_freeze",
        "处理：冻结会员",
        "Resolve: freeze the member",
    ),
    ("dismiss", "忽略", "Dismiss"),
    ("close_conflict", "提交", "Close"),
    ("conflict_open", "未处理", "Open"),
    ("conflict_resolved", "已处理", "Resolved"),
    ("conflict_dismissed", "已忽略", "Dismissed"),
    ("conflict_assigned", "已指派。", "Assigned."),
    (
        "conflict_resolved_notice",
        "冲突已处理。",
        "Conflict resolved.",
    ),
    (
        "conflict_dismissed_notice",
        "冲突已忽略。",
        "Conflict dismissed.",
    ),
    ("refusal_unknown_conflict", "没有该冲突", "No such conflict"),
    ("campaigns", "营销活动", "Campaigns"),
    ("all_campaigns", "← 全部活动", "← All campaigns"),
    ("campaign", "活动", "Campaign"),
    ("new_campaign", "新建活动", "New campaign"),
    ("campaign_active", "进行中", "Active"),
    ("campaign_stopped", "已停止", "Stopped"),
    ("campaign_coupon", "优惠券", "Coupon"),
    ("valid_days", "有效天数", "Valid days"),
    ("per_member", "每人张数", "Per member"),
    ("control_share", "对照组比例", "Control group"),
    ("segment", "目标人群", "Segment"),
    ("issued", "已发放", "Issued"),
    ("budget", "预算（张）", "Budget (coupons)"),
    ("redeemed", "已核销", "Redeemed"),
    ("redemption_rate", "核销率", "Redemption rate"),
    ("redeeming_orders", "用券订单", "Redeeming orders"),
    ("redeeming_sales", "用券订单销售额", "Their sales"),
    ("treated", "发券组", "Treated"),
    ("control", "对照组", "Control"),
    ("group_members", "人数", "Members"),
    ("group_buyers", "购买人数", "Buyers"),
    ("group_purchase_rate", "购买率", "Purchase rate"),
    ("group_sales", "销售额", "Sales"),
    ("group_sleeping", "沉睡会员", "Sleeping"),
    ("group_reactivated", "已唤醒", "Reactivated"),
    ("group_reactivation_rate", "唤醒率", "Reactivation rate"),
    ("run_now", "立即执行", "Run now"),
    ("stop_campaign", "停止活动", "Stop"),
    ("window", "时间", "Window"),
    ("starts_at", "开始", "Starts"),
    ("ends_at", "结束", "Ends"),
    ("coupon_amount_off", "满减券", "Amount off"),
    ("coupon_percent_off", "折扣券", "Percent off"),
    ("amount_off", "减免金额", "Amount off"),
    ("percent_off", "折扣", "Percent off"),
    ("cap", "最高优惠", "Cap"),
    ("min_spend", "最低消费", "Minimum spend"),
    ("seg_tiers", "等级（逗号分隔）", "Tiers (comma-separated)"),
    ("seg_tags", "标签（逗号分隔）", "Tags (comma-separated)"),
    (
        "seg_stores",
        "最近消费门店（逗号分隔）",
        "Last store (comma-separated)",
    ),
    (
        "seg_min_days",
        "距上次消费至少（天）",
        "Days since purchase, at least",
    ),
    (
        "seg_max_days",
        "距上次消费至多（天）",
        "Days since purchase, at most",
    ),
    (
        "seg_min_spend",
        "近一年消费至少",
        "Spend in the last year, at least",
    ),
    (
        "seg_max_spend",
        "近一年消费至多",
        "Spend in the last year, at most",
    ),
    ("seg_birthday_month", "生日当月", "Birthday month"),
    ("term_tiers", "等级", "tiers"),
    ("term_tags", "标签", "tags"),
    ("term_stores", "最近消费门店", "last store"),
    (
        "term_min_days",
        "距上次消费至少（天）",
        "days since the last purchase ≥",
    ),
    (
        "term_max_days",
        "距上次消费至多（天）",
        "days since the last purchase ≤",
    ),
    (
        "term_min_spend",
        "近一年消费至少",
        "spend over the last year ≥",
    ),
    (
        "term_max_spend",
        "近一年消费至多",
        "spend over the last year ≤",
    ),
    ("term_birthday_month", "生日当月", "birthday month"),
    ("term_rfm", "RFM 分群", "RFM"),
    ("segment_everyone", "全部会员", "every member"),
    ("seg_rfm", "RFM 分群：", "RFM segments:"),
    ("rfm_champions", "重要价值", "Champions"),
    ("rfm_loyal", "忠诚", "Loyal"),
    ("rfm_promising", "潜力", "Promising"),
    ("rfm_at_risk", "流失风险", "At risk"),
    ("rfm_hibernating", "休眠", "Hibernating"),
    ("rfm_lost", "已流失", "Lost"),
    ("campaign_created", "活动已创建。", "Campaign created."),
    ("campaign_ran", "活动已执行。", "Campaign run."),
    (
        "campaign_stopped_notice",
        "活动已停止。",
        "Campaign stopped.",
    ),
    // The review queue's dead letters and terminal flags, and the
    // conflicts' adjust and merge resolutions.
    ("resolve_adjust", "处理：调整积分", "Resolve: adjust points"),
    (
        "resolve_merge",
        "处理：合并重复会员",
        "Resolve: merge the duplicate",
    ),
    ("points_delta", "积分（正负）", "Points (+/−)"),
    ("dead_letters", "未入账事件", "Dead letters"),
    ("terminal_flags", "终端异常标记", "Terminal flags"),
    ("seq", "序号", "Seq"),
    ("wall_time", "终端时间", "Terminal time"),
    ("reapply", "重新入账", "Re-apply"),
    ("dead_letter_open", "未处理", "Open"),
    ("dead_letter_dismissed", "已忽略", "Dismissed"),
    ("flag_open", "未处理", "Open"),
    ("flag_resolved", "已处理", "Resolved"),
    ("flag_dismissed", "已忽略", "Dismissed"),
    ("flag_accept", "处理：误报", "Resolve: false alarm"),
    (
        "flag_revoke",
        "处理：吊销终端",
        "Resolve: revoke the terminal",
    ),
    ("item_assigned", "已指派。", "Assigned."),
    ("item_dismissed", "已忽略。", "Dismissed."),
    ("flag_resolved_notice", "标记已处理。", "Flag resolved."),
    (
        "dead_letter_reapplied_notice",
        "事件已重新入账。",
        "The event was re-applied.",
    ),
    (
        "dead_letter_still_refused_notice",
        "事件仍被拒绝，已记录新的原因。",
        "The event is still refused; its new reason is shown.",
    ),
    (
        "refusal_unknown_dead_letter",
        "没有该未入账事件",
        "No such dead letter",
    ),
    (
        "refusal_dead_letter_closed",
        "该未入账事件已处理",
        "This dead letter is closed already",
    ),
    (
        "refusal_unknown_flag",
        "没有该终端标记",
        "No such terminal flag",
    ),
    (
        "refusal_flag_closed",
        "该终端标记已处理",
        "This terminal flag is closed already",
    ),
    (
        "refusal_not_dead_lettered",
        "该事件已不在未入账列表中",
        "The event is no longer dead-lettered",
    ),
    (
        "refusal_not_duplicate_phone",
        "只有手机号重复的冲突可以合并",
        "Only a duplicate-phone conflict is resolved by a merge",
    ),
    (
        "refusal_needs_second_approver",
        "超过积分调整额度：请在“退卡与积分调整”中申请，批准后以“保留记录”处理本冲突",
        "Above the points threshold: ask in Cash-outs and points, then resolve this conflict with accept",
    ),
    ("refusal_unknown_campaign", "没有该活动", "No such campaign"),
    (
        "refusal_campaign_exists",
        "该活动代码已被使用",
        "A campaign with this code exists",
    ),
    (
        "refusal_campaign_stopped",
        "该活动已停止",
        "This campaign is stopped already",
    ),
    (
        "refusal_invalid_campaign",
        "活动设置有误",
        "The campaign has problems",
    ),
    (
        "refusal_conflict_closed",
        "该冲突已处理",
        "This conflict is closed already",
    ),
    // Member money (cash-out, points adjustment, a second approver).
    ("member_money", "退卡与积分调整", "Cash-outs and points"),
    (
        "money_thresholds_are",
        "超过以下数额需另一位总部用户批准：",
        "Needs another head-office user's approval above:",
    ),
    ("money_cash_out", "退卡", "Cash-out"),
    ("money_points_adjustment", "积分调整", "Points adjustment"),
    ("money_pending", "待批准", "Waiting for approval"),
    ("money_approved", "已批准", "Approved"),
    ("money_rejected", "已驳回", "Rejected"),
    ("requested_by", "申请人", "Asked by"),
    ("approve", "批准", "Approve"),
    ("reject", "驳回", "Reject"),
    (
        "waits_for_another_user",
        "等待另一位用户批准",
        "Waits for another user",
    ),
    (
        "cash_out_amount",
        "退还本金（元，留空为全部）",
        "Principal to pay back (yuan; empty: all)",
    ),
    ("cash_out", "退卡", "Cash out"),
    (
        "points_change",
        "积分（负数为扣减）",
        "Points (negative to take away)",
    ),
    ("adjust_points", "调整积分", "Adjust points"),
    (
        "member_money_applied",
        "已入账，各终端下次同步后更新余额。",
        "Booked: every terminal shows the new balance after its next sync.",
    ),
    (
        "member_money_pending",
        "超过限额：已提交，等待另一位用户批准。",
        "Above the threshold: waiting for another user's approval.",
    ),
    (
        "member_money_approved",
        "已批准并入账。",
        "Approved and booked.",
    ),
    ("member_money_rejected", "已驳回。", "Rejected."),
    (
        "refusal_invalid_amount",
        "金额须大于0元，最多两位小数",
        "The amount must be more than ¥0, with at most two decimals",
    ),
    (
        "refusal_invalid_points",
        "积分须为非零整数",
        "Points: a whole number, not 0",
    ),
    (
        "refusal_invalid_threshold",
        "限额须为0或以上",
        "A threshold is 0 or more",
    ),
    (
        "refusal_above_balance",
        "超过会员可退本金，未执行",
        "More than the member's refundable principal: nothing done",
    ),
    (
        "refusal_insufficient_points",
        "会员可用积分不足，未执行",
        "The member has fewer points to use: nothing done",
    ),
    ("refusal_unknown_request", "没有该申请", "No such request"),
    (
        "refusal_request_closed",
        "该申请已批准或驳回",
        "This request was approved or rejected already",
    ),
    (
        "refusal_same_approver",
        "申请人不能批准或驳回自己的申请",
        "Another user approves or rejects a request, not the one who asked",
    ),
    ("find_member", "查找会员", "Find a member"),
    (
        "member_lookup_audited",
        "按会员号或完整手机号查找。每次查看会员个人信息都会连同原因记入审计记录。",
        "By member id or the whole phone number. Every view of a member's personal data goes into the audit trail with its reason.",
    ),
    ("member_query", "会员号或手机号", "Member id or phone"),
    ("why", "查看原因", "Why"),
    ("find", "查找", "Find"),
    ("no_member_found", "没有找到会员。", "No member found."),
    ("no_name", "（未留姓名）", "(no name)"),
    ("frozen", "已冻结", "Frozen"),
    ("member_id", "会员号", "Member id"),
    ("phone", "手机号", "Phone"),
    ("birthday", "生日", "Birthday"),
    ("points", "积分", "Points"),
    ("stored_value", "储值余额", "Stored value"),
    ("tags", "标签", "Tags"),
    ("duplicate_of", "同一手机号的会员", "Same phone as"),
    ("reason", "原因", "Reason"),
    ("freeze", "冻结", "Freeze"),
    (
        "tags_hint",
        "标签（逗号分隔，店员可见）",
        "Tags (comma-separated, shown to clerks)",
    ),
    ("save_tags", "保存标签", "Save tags"),
    (
        "member_tags_saved",
        "标签已保存，各终端下次同步后显示。",
        "Tags saved; terminals show them after their next sync.",
    ),
    (
        "refusal_invalid_tags",
        "最多10个标签，每个不超过20个字",
        "At most 10 tags of at most 20 characters each",
    ),
    ("unfreeze", "解冻", "Unfreeze"),
    ("history", "最近记录", "Recent history"),
    ("entry", "类型", "Entry"),
    ("figures", "数额", "Figures"),
    (
        "member_frozen",
        "会员已冻结，各终端下次同步后生效。",
        "Member frozen; terminals apply it on their next sync.",
    ),
    ("member_unfrozen", "会员已解冻。", "Member unfrozen."),
    // Member care's card re-issue and merge (`service::member_cards`,
    // `service::merge`).
    ("card_serial", "会员卡序号", "Card serial"),
    ("reissue_card", "补发会员卡", "Re-issue card"),
    (
        "card_reissued",
        "会员卡已补发：旧卡在各终端下次同步后失效，会员下次到店时终端打印新卡。",
        "Card re-issued: the old card is refused at terminals after their next sync; the member's next visit prints the new one.",
    ),
    ("merge_into", "合并到会员号", "Merge into member id"),
    ("merge", "合并账户", "Merge accounts"),
    (
        "members_merged",
        "账户已合并：记录已移到保留的会员，各终端下次同步后生效。",
        "Accounts merged: the ledger moved to the member kept; terminals learn it on their next sync.",
    ),
    ("merged_into", "已合并到", "Merged into"),
    ("merged_from", "由以下会员合并而来", "Merged from"),
    (
        "refusal_merge_same_member",
        "不能把会员合并到自己",
        "A member cannot be merged into themselves",
    ),
    (
        "refusal_different_phones",
        "两个会员的手机号不同：只合并同一手机号的账户",
        "The two members' phones differ: only accounts of one phone are merged",
    ),
    (
        "refusal_already_merged",
        "该会员已合并到其他会员",
        "The member was merged into another already",
    ),
    (
        "refusal_card_serials_used_up",
        "该会员的卡序号已用完",
        "This member's card serials are used up",
    ),
    ("program_versions", "已发布的版本", "Versions published"),
    ("version", "版本", "Version"),
    ("takes_effect", "生效时间", "Takes effect"),
    ("from_start", "一开始", "from the start"),
    ("in_force", "已生效", "In force"),
    ("scheduled", "待生效", "Scheduled"),
    ("superseded", "已被取代", "Superseded"),
    ("points_per_yuan", "每元积分", "Points per ¥1"),
    ("tier_count", "等级数", "Tiers"),
    ("next_version", "下一个版本", "Next version"),
    (
        "program_draft_hint",
        "会员规则的全部字段（TOML 格式，金额单位为分），与 tillcard-hq program import 读取的文件相同。",
        "Every field of the program (TOML, amounts in fen), the same file tillcard-hq program import reads.",
    ),
    (
        "effective_from",
        "生效时间（门店时间）",
        "Takes effect at (store time)",
    ),
    ("preview", "预览", "Preview"),
    ("publish", "发布", "Publish"),
    ("problems", "无法发布：", "Cannot be published:"),
    ("line", "行", "Line"),
    (
        "preview_explained",
        "样例购物篮（杂货、生鲜、烟草、礼品卡各一件）按各等级会员定价：当前版本与草稿对比，有变化的行已标出。",
        "A sample basket (one grocery, fresh, tobacco and gift-card line) priced for a member of each tier: the version in force against the draft, changed rows marked.",
    ),
    ("tier", "等级", "Tier"),
    ("total_now", "当前合计（分）", "Total now (fen)"),
    ("total_draft", "草稿合计（分）", "Total in draft (fen)"),
    ("points_now", "当前积分", "Points now"),
    ("points_draft", "草稿积分", "Points in draft"),
    (
        "program_published",
        "新版本已发布，终端下次同步时收到。",
        "Version published; terminals receive it on their next sync.",
    ),
    ("jobs", "每日任务", "Daily jobs"),
    (
        "jobs_explained",
        "积分过期和等级评定每天各运行一次（多台总部服务器共用数据库时也只运行一次），停机错过的日子在下次启动时补上。",
        "Points expiry and tier evaluation run once a day each (once, however many head-office servers share the database); days missed while head office was down are caught up when it is back.",
    ),
    (
        "jobs_at",
        "每日运行时间（门店时间）：",
        "Daily at (store time):",
    ),
    ("job", "任务", "Job"),
    ("business_day", "营业日", "Business day"),
    ("outcome", "结果", "Outcome"),
    ("took", "耗时", "Took"),
    ("attempts", "尝试次数", "Attempts"),
    ("holder", "执行进程", "Run by"),
    ("job_tier_evaluation", "等级评定", "Tier evaluation"),
    ("job_points_expiry", "积分过期", "Points expiry"),
    ("job_rfm", "RFM 分群", "RFM segments"),
    ("job_birthday_coupons", "生日券", "Birthday coupons"),
    ("job_campaigns", "营销活动", "Campaigns"),
    ("outcome_ok", "成功", "Done"),
    (
        "outcome_failed",
        "失败（稍后重试）",
        "Failed (retried later)",
    ),
    ("outcome_running", "运行中", "Running"),
    ("signed_in_as", "当前用户", "Signed in as"),
    ("role", "角色", "Role"),
    ("sign_out", "退出登录", "Sign out"),
    ("other_language", "English", "中文"),
    (
        "read_only",
        "你的角色只能查看此页。",
        "Your role may only view this page.",
    ),
    ("forbidden", "无权操作", "Not allowed"),
    (
        "forbidden_detail",
        "你的角色不能执行此操作。",
        "Your role may not do this.",
    ),
    (
        "csrf_refused",
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form is stale or not from this console: reload the page and try again.",
    ),
    ("back", "返回", "Back"),
    ("refused", "未执行：", "Not done: "),
    ("done", "已完成。", "Done."),
    (
        "once_warning",
        "只显示这一次，请立即记下：",
        "Shown this once only, write it down now:",
    ),
    ("none_yet", "暂无。", "None yet."),
    ("create", "创建", "Create"),
    ("save", "保存", "Save"),
    ("code", "编号", "Code"),
    ("name", "名称", "Name"),
    ("time_zone", "时区", "Time zone"),
    ("address", "地址", "Address"),
    ("created_at", "创建时间", "Created"),
    ("new_store", "新建门店", "New store"),
    ("store_created", "门店已创建。", "Store created."),
    ("staff_id", "工号", "Staff id"),
    (
        "staff_id_hint",
        "可留空，系统生成",
        "optional, made up when empty",
    ),
    ("display_name", "显示名", "Display name"),
    ("cashier", "收银员", "Cashier"),
    ("manager", "店长", "Manager"),
    ("active", "状态", "Status"),
    ("is_active", "在职", "Active"),
    ("is_inactive", "已停用", "Deactivated"),
    ("pin", "PIN", "PIN"),
    ("pin_set", "已设置", "set"),
    ("pin_pending", "待设置", "not set"),
    ("new_staff", "新建店员", "New clerk"),
    (
        "staff_created",
        "店员已创建。设置码：",
        "Clerk created. Setup code:",
    ),
    ("deactivate", "停用", "Deactivate"),
    ("activate", "启用", "Activate"),
    ("reset_pin", "重置 PIN", "Reset PIN"),
    (
        "pin_reset",
        "PIN 已重置。新设置码：",
        "PIN reset. New setup code:",
    ),
    ("move_stores", "调整门店", "Move between stores"),
    ("staff_changed", "店员已更新。", "Clerk updated."),
    ("all_stores", "全部门店", "All stores"),
    ("filter", "筛选", "Filter"),
    ("actions", "操作", "Actions"),
    ("store", "门店", "Store"),
    ("expires_in_days", "有效天数", "Expires in (days)"),
    ("issue_code", "签发注册码", "Issue a code"),
    ("code_issued", "注册码已签发：", "Enrollment code issued:"),
    ("code_id", "编号", "Code id"),
    ("state", "状态", "State"),
    ("state_unused", "未使用", "unused"),
    ("state_used", "已使用", "used"),
    ("state_expired", "已过期", "expired"),
    ("issued_at", "签发时间", "Issued"),
    ("expires_at", "过期时间", "Expires"),
    ("used_at", "使用时间", "Used"),
    ("used_by", "使用终端", "Used by terminal"),
    ("terminal", "终端", "Terminal"),
    ("registered_at", "注册时间", "Registered"),
    ("last_seen", "最后同步", "Last seen"),
    ("never", "从未", "never"),
    ("app_version", "版本", "Version"),
    (
        "clock_skew",
        "时钟偏差（秒，正为超前；超过 120 秒标记待审）",
        "Clock skew (s, + ahead; flagged beyond 120 s)",
    ),
    ("pending_events", "待上传事件", "Pending events"),
    ("revoked", "已吊销", "Revoked"),
    ("in_service", "使用中", "In service"),
    ("revoke", "吊销", "Revoke"),
    (
        "confirm_revoke",
        "确认吊销此终端",
        "Yes, revoke this terminal",
    ),
    (
        "confirm_needed",
        "请勾选确认后再吊销。",
        "Tick the confirmation to revoke.",
    ),
    ("terminal_revoked", "终端已吊销。", "Terminal revoked."),
    ("username", "用户名", "User name"),
    ("password", "密码", "Password"),
    ("new_user", "新建总部用户", "New head-office user"),
    ("user_saved", "用户已保存。", "User saved."),
    ("change_role", "修改角色", "Change role"),
    ("role_admin", "管理员", "admin"),
    ("role_store_ops", "门店运营", "store ops"),
    ("role_marketing", "市场", "marketing"),
    ("role_analyst", "分析", "analyst"),
    ("role_auditor", "审计", "auditor"),
    ("at", "时间", "When"),
    ("actor", "操作人", "Who"),
    ("action", "操作", "What"),
    ("subject", "对象", "Subject"),
    ("detail", "详情", "Detail"),
    (
        "subject_hint",
        "如 store:S001、staff:wang",
        "e.g. store:S001, staff:wang",
    ),
    ("newest_first", "最新在前。", "Newest first."),
    // Head office's refusals of a form, by their stable code (`refusals`).
    (
        "refusal_store_exists",
        "已有相同编号的门店",
        "A store with this code exists",
    ),
    (
        "refusal_staff_exists",
        "已有相同工号的店员",
        "A clerk with this staff id exists",
    ),
    (
        "refusal_duplicate_staff_name",
        "该门店已有同名店员：请加以区分（如“李娜2”）",
        "A clerk of that store has this name: tell them apart (e.g. \"Li Na 2\")",
    ),
    ("refusal_unknown_store", "没有该门店", "No such store"),
    ("refusal_unknown_staff", "没有该店员", "No such clerk"),
    (
        "refusal_unknown_member",
        "没有该会员（或已删除）",
        "No such member (or erased)",
    ),
    (
        "refusal_invalid_query",
        "请输入会员号或完整手机号（6到20位数字）",
        "A member id, or a phone number's digits (6 to 20)",
    ),
    (
        "refusal_invalid_reason",
        "请填写原因（不超过200字）",
        "Give a reason (at most 200 characters)",
    ),
    (
        "refusal_unknown_user",
        "没有该总部用户",
        "No such head-office user",
    ),
    (
        "refusal_invalid_store_code",
        "门店编号为1到32位字母、数字或 . _ -",
        "A store code is 1 to 32 of letters, digits, . _ -",
    ),
    (
        "refusal_invalid_store_name",
        "门店名称不能为空，最多100个字",
        "A store name is not blank and at most 100 characters",
    ),
    (
        "refusal_invalid_time_zone",
        "时区需为 IANA 名称（如 Asia/Shanghai）",
        "A time zone is an IANA name (Asia/Shanghai)",
    ),
    (
        "refusal_invalid_address",
        "地址最多200个字",
        "An address is at most 200 characters",
    ),
    (
        "refusal_invalid_staff_id",
        "工号为1到32位字母、数字或 . _ -",
        "A staff id is 1 to 32 of letters, digits, . _ -",
    ),
    (
        "refusal_invalid_display_name",
        "姓名不能为空，最多40个字",
        "A name is not blank and at most 40 characters",
    ),
    (
        "refusal_invalid_staff_stores",
        "店员需属于1到20家门店",
        "A clerk works at 1 to 20 stores",
    ),
    (
        "refusal_invalid_expiry",
        "有效期为1到90天",
        "A code is good for 1 to 90 days",
    ),
    (
        "refusal_invalid_username",
        "用户名为1到64位字母、数字或 . _ - @",
        "A user name is 1 to 64 of letters, digits, . _ - @",
    ),
    (
        "refusal_invalid_password",
        "密码需8到1024个字符",
        "A password is 8 to 1024 characters",
    ),
    (
        "refusal_invalid_subject",
        "查询对象最多200个字",
        "A subject is at most 200 characters",
    ),
    (
        "refusal_role_forbidden",
        "你的角色不能执行此操作",
        "Your role may not do this",
    ),
    (
        "refusal_terminal_revoked",
        "该终端已停用",
        "That terminal is revoked",
    ),
];

/// Every row of the console's string tables.
pub fn rows() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    TABLE
        .iter()
        .chain(super::text_catalog::TABLE)
        .chain(super::text_shift_closes::TABLE)
        .chain(super::text_walk_in_returns::TABLE)
}

/// The strings of `lang`, by key.
pub fn strings(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    rows()
        .map(|&(key, zh, en)| {
            (
                key,
                match lang {
                    Lang::ZhCn => zh,
                    Lang::En => en,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_has_both_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for &(key, zh, en) in rows() {
            assert!(seen.insert(key), "{key} twice");
            assert!(!zh.trim().is_empty(), "{key} has no zh-CN");
            assert!(!en.trim().is_empty(), "{key} has no en");
        }
    }

    #[test]
    fn every_key_a_template_names_is_in_the_table() {
        let keys: std::collections::BTreeSet<_> = rows().map(|r| r.0).collect();
        for (name, source) in super::super::TEMPLATES {
            for (at, _) in source.match_indices("t.") {
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key: String = source[at + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(keys.contains(key.as_str()), "{name} names t.{key}");
            }
        }
    }
}
