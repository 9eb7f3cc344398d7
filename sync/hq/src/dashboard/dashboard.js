// Tillcard head-office dashboard: fetches the figures JSON and draws every
// chart as inline SVG. Served by tillcard-hq itself; no library, no network
// beyond head office. Every visible string is in both languages below.
"use strict";

const STRINGS = {
  "zh-CN": {
    title: "Tillcard 总部看板",
    logout: "退出登录",
    loading: "正在加载数据…",
    failed: "数据加载失败：",
    signed_out: "登录已过期，请重新登录。",
    as_of: "数据时间",
    read_standby: "读自备库，落后主库",
    read_standby_current: "读自备库（已同步）",
    read_standby_down: "备库无响应，读自主库",
    seconds: "秒",
    tiers: "各等级会员数",
    members: "会员",
    members_total: "会员总数",
    activity: "活跃与沉睡会员（90天）",
    active: "活跃",
    sleeping_lapsed: "沉睡（曾消费）",
    sleeping_never: "沉睡（从未消费）",
    new_not_yet: "新会员（尚未消费）",
    enrollments: "每日新增会员（近30天）",
    enrollments_total: "30天新增",
    gmv: "会员GMV占比（近30天，扣除退款）",
    member_sales: "会员消费",
    walk_in_sales: "散客消费",
    share: "占比",
    no_sales: "暂无销售",
    refunds: "退款",
    awaiting_sale: "笔退款的原销售尚未上传",
    repeat: "复购率（近30天）",
    rate: "复购率",
    buyers: "消费会员",
    repeat_buyers: "复购会员（≥2次）",
    no_buyers: "暂无消费会员",
    liabilities: "未兑付负债",
    points: "积分",
    points_value: "积分价值",
    sv_principal: "储值本金",
    sv_bonus: "储值赠送",
    terminals: "各终端同步延迟与待上传事件",
    lag: "延迟",
    clock_skew: "时钟偏差",
    pending: "待上传",
    acked: "已确认序号",
    never: "从未同步",
    unknown: "未知",
    revoked: "已吊销",
    seconds: "秒",
    minutes: "分钟",
    hours: "小时",
    days: "天",
    no_terminals: "暂无终端",
    conflicts: "冲突队列",
    conflicts_total: "冲突总数",
    no_conflicts: "没有待处理的冲突",
    col_at: "时间",
    col_kind: "类型",
    col_member: "会员编号",
    col_terminal: "终端",
    col_reason: "原因（原文）",
    kind_negative_balance: "余额为负",
    kind_coupon_used_twice: "优惠券重复使用",
    kind_seen_at_two_stores: "短时间内出现在两家门店",
    kind_duplicate_phone: "手机号重复注册",
    kind_beyond_program: "超出会员规则的记账",
    kind_dead_letter: "无法入账的事件",
    kind_terminal_flag: "终端标记",
    by_kind_and_age: "待处理（按类型和时长）",
    col_under_a_day: "一天内",
    col_under_a_week: "一天至一周",
    col_older: "超过一周",
    tier_names: "zh",
  },
  en: {
    title: "Tillcard head office",
    logout: "Sign out",
    loading: "Loading figures…",
    failed: "Could not load the figures: ",
    signed_out: "Your session has ended; please sign in again.",
    as_of: "As of",
    read_standby: "read from the standby, behind the primary by",
    read_standby_current: "read from the standby (caught up)",
    read_standby_down: "the standby did not answer: read from the primary",
    seconds: "s",
    tiers: "Members by tier",
    members: "members",
    members_total: "Members",
    activity: "Active vs sleeping members (90 days)",
    active: "Active",
    sleeping_lapsed: "Sleeping (bought before)",
    sleeping_never: "Sleeping (never bought)",
    new_not_yet: "New (no purchase yet)",
    enrollments: "New enrollments per day (last 30 days)",
    enrollments_total: "30-day enrollments",
    gmv: "Member share of sales (30 days, net of refunds)",
    member_sales: "Member sales",
    walk_in_sales: "Walk-in sales",
    share: "share",
    no_sales: "No sales yet",
    refunds: "Refunds",
    awaiting_sale: "refunds wait for their sale to be uploaded",
    repeat: "Repeat purchase rate (30 days)",
    rate: "repeat rate",
    buyers: "Buying members",
    repeat_buyers: "Repeat buyers (2+)",
    no_buyers: "No buying members yet",
    liabilities: "Outstanding liabilities",
    points: "Points",
    points_value: "Points value",
    sv_principal: "Stored value, principal",
    sv_bonus: "Stored value, bonus",
    terminals: "Sync lag and pending events per terminal",
    lag: "Lag",
    clock_skew: "clock skew",
    pending: "Pending",
    acked: "Acked seq",
    never: "never synced",
    unknown: "unknown",
    revoked: "revoked",
    seconds: "s",
    minutes: "min",
    hours: "h",
    days: "d",
    no_terminals: "No terminals yet",
    conflicts: "Conflicts queue",
    conflicts_total: "Conflicts",
    no_conflicts: "No conflicts waiting",
    col_at: "When",
    col_kind: "Kind",
    col_member: "Member id",
    col_terminal: "Terminal",
    col_reason: "Reason (as recorded)",
    kind_negative_balance: "Balance went negative",
    kind_coupon_used_twice: "Coupon used twice",
    kind_seen_at_two_stores: "Seen at two stores minutes apart",
    kind_duplicate_phone: "Phone enrolled twice",
    kind_beyond_program: "Booked beyond the program",
    kind_dead_letter: "Dead-lettered event",
    kind_terminal_flag: "Terminal flag",
    by_kind_and_age: "Waiting for review, by kind and age",
    col_under_a_day: "Under a day",
    col_under_a_week: "A day to a week",
    col_older: "Older",
    tier_names: "en",
  },
};

const COLORS = ["#2b6cb0", "#38a169", "#d69e2e", "#805ad5", "#e53e3e", "#319795", "#dd6b20"];
const SVG = "http://www.w3.org/2000/svg";

let lang = pickLanguage();
let figures = null;

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  const stored = window.localStorage ? localStorage.getItem("tillcard-lang") : null;
  const v = asked || stored || "zh-CN";
  return v === "en" ? "en" : "zh-CN";
}

function t(key) {
  return STRINGS[lang][key];
}

// Money: integer fen to "¥1,234.56" without floating point.
function yuan(fen) {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const cents = String(abs % 100).padStart(2, "0");
  return sign + "¥" + whole + "." + cents;
}

// Basis points to "62.50%".
function percent(bp) {
  if (bp === null || bp === undefined) return "—";
  return Math.floor(bp / 100) + "." + String(bp % 100).padStart(2, "0") + "%";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return t("never");
  if (seconds < 120) return seconds + " " + t("seconds");
  if (seconds < 7200) return Math.round(seconds / 60) + " " + t("minutes");
  if (seconds < 172800) return Math.round(seconds / 3600) + " " + t("hours");
  return Math.round(seconds / 86400) + " " + t("days");
}

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(chart, width, height) {
  return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "data-chart": chart, "aria-label": chart });
}

function note(text) {
  const p = document.createElement("p");
  p.className = "note";
  p.textContent = text;
  return p;
}

// Horizontal bars: items = [{label, value, display}].
function hbars(chart, items, width, labelW, valueW) {
  const rowH = 30;
  const s = svg(chart, width, Math.max(1, items.length) * rowH + 8);
  const max = Math.max(1, ...items.map((i) => i.value));
  items.forEach((item, i) => {
    const y = 4 + i * rowH;
    const w = Math.round(((width - labelW - valueW) * Math.max(0, item.value)) / max);
    s.appendChild(el("text", { x: labelW - 8, y: y + 19, "text-anchor": "end", "font-size": 13 }, item.label));
    s.appendChild(el("rect", { x: labelW, y: y + 4, width: Math.max(w, 1), height: rowH - 10, rx: 3,
      fill: item.color || COLORS[i % COLORS.length], "data-value": item.value, "data-label": item.key || item.label }));
    s.appendChild(el("text", { x: labelW + Math.max(w, 1) + 6, y: y + 19, "font-size": 13, "data-role": "value" }, item.display));
  });
  return s;
}

// Donut: parts = [{key, label, value, color}], centre text.
function donut(chart, parts, centre, sub) {
  const size = 150, r = 52, stroke = 22, cx = 75, cy = 75;
  const s = svg(chart, 330, size);
  const total = parts.reduce((a, p) => a + Math.max(0, p.value), 0);
  const circ = 2 * Math.PI * r;
  s.appendChild(el("circle", { cx, cy, r, fill: "none", stroke: "#e4e7eb", "stroke-width": stroke }));
  let offset = 0;
  parts.forEach((p) => {
    const len = total > 0 ? (circ * Math.max(0, p.value)) / total : 0;
    s.appendChild(el("circle", { cx, cy, r, fill: "none", stroke: p.color, "stroke-width": stroke,
      "stroke-dasharray": `${len} ${circ - len}`, "stroke-dashoffset": -offset,
      transform: `rotate(-90 ${cx} ${cy})`, "data-value": p.value, "data-label": p.key }));
    offset += len;
  });
  s.appendChild(el("text", { x: cx, y: cy + 4, "text-anchor": "middle", "font-size": 17, "font-weight": "bold", "data-role": "centre" }, centre));
  if (sub) s.appendChild(el("text", { x: cx, y: cy + 20, "text-anchor": "middle", "font-size": 10 }, sub));
  parts.forEach((p, i) => {
    const y = 22 + i * 34;
    s.appendChild(el("rect", { x: 160, y: y - 10, width: 11, height: 11, fill: p.color }));
    s.appendChild(el("text", { x: 176, y: y, "font-size": 12 }, p.label));
    s.appendChild(el("text", { x: 176, y: y + 15, "font-size": 12, "font-weight": "bold", "data-role": "legend-value" }, p.display));
  });
  return s;
}

function columns(chart, days) {
  const width = 1200, height = 220, left = 36, bottom = 30, top = 16;
  const s = svg(chart, width, height);
  const max = Math.max(1, ...days.map((d) => d.count));
  const slot = (width - left - 8) / Math.max(1, days.length);
  const plotH = height - top - bottom;
  s.appendChild(el("line", { x1: left, y1: height - bottom, x2: width - 4, y2: height - bottom, stroke: "#9aa5b1" }));
  s.appendChild(el("text", { x: left - 6, y: top + 4, "text-anchor": "end", "font-size": 11 }, String(max)));
  s.appendChild(el("text", { x: left - 6, y: height - bottom, "text-anchor": "end", "font-size": 11 }, "0"));
  days.forEach((d, i) => {
    const h = Math.round((plotH * d.count) / max);
    const x = left + i * slot + 2;
    s.appendChild(el("rect", { x, y: height - bottom - h, width: Math.max(1, slot - 4), height: h,
      fill: COLORS[0], "data-value": d.count, "data-label": d.date }));
    if (d.count > 0) s.appendChild(el("text", { x: x + (slot - 4) / 2, y: height - bottom - h - 3, "text-anchor": "middle", "font-size": 11 }, String(d.count)));
    if (i % 5 === 0 || i === days.length - 1) {
      s.appendChild(el("text", { x: x + (slot - 4) / 2, y: height - bottom + 16, "text-anchor": "middle", "font-size": 11 }, d.date.slice(5)));
    }
  });
  return s;
}

function put(id, ...nodes) {
  const box = document.getElementById(id);
  box.replaceChildren(...nodes);
}

function tierName(tier) {
  return t("tier_names") === "zh" ? tier.name_zh : tier.name_en;
}

// Where the figures were read: nothing to say for the primary; for the
// standby, how far it trailed (issue 23: the dashboard may read a standby,
// with its staleness shown).
function readFrom(r) {
  if (!r) return "";
  if (r.standby_unavailable) return " · " + t("read_standby_down");
  if (r.database !== "standby") return "";
  if (!r.behind_ms) return " · " + t("read_standby_current");
  return " · " + t("read_standby") + " " + (r.behind_ms / 1000).toFixed(1) + " " + t("seconds");
}

function render() {
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const b of document.querySelectorAll("button[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  if (!figures) return;
  const f = figures;
  document.getElementById("as-of").textContent = t("as_of") + " " + f.as_of.replace("T", " ").replace(/\.\d+/, "") + readFrom(f.read_from);

  put("chart-tiers",
    hbars("tiers", f.members_by_tier.map((tier, i) => ({
      key: tier.code, label: tierName(tier), value: tier.members, display: String(tier.members), color: COLORS[i % COLORS.length],
    })), 330, 90, 50),
    note(t("members_total") + ": " + f.members_total));

  const a = f.activity;
  const activeShare = percent(a.active + a.sleeping + a.new_not_yet_purchased > 0
    ? Math.round((a.active * 10000) / (a.active + a.sleeping + a.new_not_yet_purchased)) : null);
  put("chart-activity", donut("activity", [
    { key: "active", label: t("active"), value: a.active, display: String(a.active), color: "#38a169" },
    { key: "sleeping_lapsed", label: t("sleeping_lapsed"), value: a.sleeping_lapsed, display: String(a.sleeping_lapsed), color: "#718096" },
    { key: "sleeping_never", label: t("sleeping_never"), value: a.sleeping_never_purchased, display: String(a.sleeping_never_purchased), color: "#a0aec0" },
    { key: "new_not_yet", label: t("new_not_yet"), value: a.new_not_yet_purchased, display: String(a.new_not_yet_purchased), color: "#63b3ed" },
  ], activeShare, t("active")));

  const total = f.enrollments_per_day.reduce((n, d) => n + d.count, 0);
  put("chart-enrollments", columns("enrollments", f.enrollments_per_day), note(t("enrollments_total") + ": " + total));

  const sales = f.sales;
  const gmvNotes = [note(t("refunds") + ": " + yuan(sales.member_refunds_fen + sales.walk_in_refunds_fen))];
  if (sales.refunds_awaiting_sale > 0) gmvNotes.push(note(sales.refunds_awaiting_sale + " " + t("awaiting_sale")));
  put("chart-gmv", donut("gmv", [
    { key: "member", label: t("member_sales"), value: Math.max(0, sales.member_fen), display: yuan(sales.member_fen) + " · " + sales.member_sales, color: "#2b6cb0" },
    { key: "walk_in", label: t("walk_in_sales"), value: Math.max(0, sales.walk_in_fen), display: yuan(sales.walk_in_fen) + " · " + sales.walk_in_sales, color: "#d69e2e" },
  ], sales.member_share_bp === null ? t("no_sales") : percent(sales.member_share_bp), t("share")), ...gmvNotes);

  const r = f.repeat;
  put("chart-repeat", donut("repeat", [
    { key: "repeat_buyers", label: t("repeat_buyers"), value: r.repeat_buyers, display: String(r.repeat_buyers), color: "#805ad5" },
    { key: "single_buyers", label: t("buyers"), value: r.buyers - r.repeat_buyers, display: String(r.buyers), color: "#d6bcfa" },
  ], r.rate_bp === null ? t("no_buyers") : percent(r.rate_bp), t("rate")));

  const l = f.liabilities;
  put("chart-liabilities", hbars("liabilities", [
    { key: "points_value", label: t("points_value"), value: l.points_value_fen, display: yuan(l.points_value_fen), color: "#805ad5" },
    { key: "sv_principal", label: t("sv_principal"), value: l.stored_value_principal_fen, display: yuan(l.stored_value_principal_fen), color: "#2b6cb0" },
    { key: "sv_bonus", label: t("sv_bonus"), value: l.stored_value_bonus_fen, display: yuan(l.stored_value_bonus_fen), color: "#38a169" },
  ], 660, 170, 130), note(t("points") + ": " + l.points));

  if (f.terminals.length === 0) {
    put("chart-terminals", note(t("no_terminals")));
  } else {
    const label = (x) => x.store + " · " + x.terminal_id.slice(-6) + (x.revoked ? " (" + t("revoked") + ")" : "");
    put("chart-terminals",
      hbars("terminal-lag", f.terminals.map((x) => ({
        key: x.terminal_id, label: label(x), value: x.lag_seconds === null ? 0 : x.lag_seconds,
        display: t("lag") + " " + duration(x.lag_seconds)
          + (x.clock_skew_ms == null ? "" : " · " + t("clock_skew") + " " + Math.round(x.clock_skew_ms / 1000) + " s"),
        color: "#dd6b20",
      })), 1200, 220, 320),
      hbars("terminal-pending", f.terminals.map((x) => ({
        key: x.terminal_id, label: label(x), value: x.pending === null ? 0 : x.pending,
        display: t("pending") + " " + (x.pending === null ? t("unknown") : x.pending) + " · " + t("acked") + " " + x.acked_seq,
        color: "#319795",
      })), 1200, 220, 320));
  }

  // What waits for review by kind and age (conflicts, dead letters,
  // terminal flags), above the newest conflicts.
  const ages = f.conflicts.by_kind_and_age || [];
  const agesTable = document.createElement("table");
  agesTable.className = "review-ages";
  agesTable.id = "review-ages";
  if (ages.length > 0) {
    const head = agesTable.createTHead().insertRow();
    for (const key of ["col_kind", "col_under_a_day", "col_under_a_week", "col_older"]) {
      const th = document.createElement("th");
      th.textContent = t(key);
      head.appendChild(th);
    }
    const body = agesTable.createTBody();
    for (const a of ages) {
      const row = body.insertRow();
      row.dataset.kind = a.kind;
      row.insertCell().textContent = t("kind_" + a.kind) || a.kind;
      for (const n of [a.under_a_day, a.under_a_week, a.older]) {
        row.insertCell().textContent = String(n);
      }
    }
  }
  const agesPart = ages.length > 0 ? [note(t("by_kind_and_age")), agesTable] : [];

  const c = f.conflicts;
  if (c.items.length === 0) {
    put("conflicts", ...agesPart, note(t("no_conflicts")));
  } else {
    const table = document.createElement("table");
    table.className = "conflicts";
    const head = table.createTHead().insertRow();
    for (const key of ["col_at", "col_kind", "col_member", "col_terminal", "col_reason"]) {
      const th = document.createElement("th");
      th.textContent = t(key);
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const item of c.items) {
      const row = body.insertRow();
      row.dataset.kind = item.kind;
      row.insertCell().textContent = item.at.replace("T", " ").slice(0, 19);
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = t("kind_" + item.kind) || item.kind;
      row.insertCell().appendChild(kind);
      row.insertCell().textContent = item.member_id;
      row.insertCell().textContent = item.terminal_id ? item.terminal_id.slice(-6) + (item.seq ? " #" + item.seq : "") : "—";
      row.insertCell().textContent = item.reason;
    }
    put("conflicts", ...agesPart, note(t("conflicts_total") + ": " + c.total), table);
  }
  document.body.dataset.rendered = lang;
}

async function load() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/v1/admin/figures", { credentials: "same-origin", headers: { accept: "application/json" } });
    if (response.status === 401) {
      status.textContent = t("signed_out");
      location.href = "/dashboard/login?lang=" + lang;
      return;
    }
    if (!response.ok) throw new Error(String(response.status));
    figures = await response.json();
    status.hidden = true;
    document.getElementById("cards").hidden = false;
    render();
  } catch (e) {
    status.textContent = t("failed") + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const b of document.querySelectorAll("button[data-lang]")) {
    b.addEventListener("click", () => {
      lang = b.dataset.lang;
      if (window.localStorage) localStorage.setItem("tillcard-lang", lang);
      render();
    });
  }
  render();
  load();
});
