//! The words of a till's first day: the first-run screen (the store's
//! enrollment code, registering, waiting for the staff), a clerk's first
//! PIN with head office's setup code, and head office's refusals of either
//! by their stable codes (`sync/PROTOCOL.md`), which the status strip
//! also uses for why syncing fails.

use super::{phrases, pick, store_error};
use crate::config::AddressProblem;
use crate::counter::messages::{FirstRunStep, HeadOfficeRefusal, PinSetupStep};
use crate::format::Language;
use crate::pins::PinProblem;
use crate::uplink::{CertificateProblem, UplinkProblem};
use tillcard_protocol::enrollment::EnrollmentTextError;

/// The first-run screen's line for its step.
pub fn first_run_step(language: Language, step: FirstRunStep) -> String {
    let (zh, en) = match step {
        FirstRunStep::EnterCode => (
            "请输入总部为本店签发的16位开通码",
            "Key the 16-digit enrollment code head office issued for this store",
        ),
        FirstRunStep::Registering => ("正在向总部登记…", "Registering with head office…"),
        FirstRunStep::Offline => (
            "无法连接总部：请检查网络，本机会自动重试",
            "Head office cannot be reached: check the network. Trying again by itself.",
        ),
        FirstRunStep::WaitingForStaff => (
            "已登记。正在接收本店员工、会员方案和会员资料…",
            "Registered. Receiving this store's staff, program and members…",
        ),
    };
    pick(language, zh, en)
}

phrases! {
    /// Register tapped before the code's 16 digits are keyed.
    type_the_store_code => "请输入完整的16位开通码", "Key all 16 digits of the enrollment code";
}

/// Why the head-office address typed or configured cannot be used: the
/// person setting the till up is told to write it with https.
pub fn head_office_address(language: Language, problem: &AddressProblem) -> String {
    match (problem, language) {
        (AddressProblem::PlainHttp { host }, Language::ZhCn) => format!(
            "总部地址必须以 https:// 开头：经网络以 http 明文连接 {host}，\
             他人可窃听或篡改本机与总部之间的数据。请改为 https://{host}"
        ),
        (AddressProblem::PlainHttp { host }, Language::En) => format!(
            "Head office's address must start with https://: plain http to {host} \
             lets anyone on the network read or change what this till and head office \
             exchange. Write https://{host}"
        ),
        (AddressProblem::NotAUrl(_) | AddressProblem::NotHttp(_), Language::ZhCn) => {
            "总部地址格式不正确：请按 https://hq.example.com 的格式填写".into()
        }
        (AddressProblem::NotAUrl(_) | AddressProblem::NotHttp(_), Language::En) => {
            "That is not a head-office address: write it as https://hq.example.com".into()
        }
    }
}

/// Head office's certificate was refused in the TLS handshake: nothing was
/// sent, and the person is told not to go on (someone may be in between).
pub fn head_office_certificate(language: Language, problem: CertificateProblem) -> String {
    let (zh, en) = match problem {
        CertificateProblem::NotPinned => (
            "总部的证书与开通码中的证书不一致：请勿继续，立即致电总部",
            "Head office's certificate is not the one in the enrollment code: do not continue, \
             call head office",
        ),
        CertificateProblem::Untrusted => (
            "总部的证书不受本机信任：请勿继续，立即致电总部",
            "Head office's certificate is not trusted by this till: do not continue, \
             call head office",
        ),
    };
    pick(language, zh, en)
}

/// A scanned enrollment QR that cannot be used, and why.
pub fn enrollment_qr_problem(language: Language, problem: &EnrollmentTextError) -> String {
    let (zh, en) = match problem {
        EnrollmentTextError::NotEnrollment => (
            "这不是总部的开通二维码",
            "That is not head office's enrollment QR code",
        ),
        EnrollmentTextError::NotHttps => (
            "开通二维码中的总部地址不是 https：请勿使用，致电总部",
            "The enrollment QR's head-office address is not https: do not use it, call head office",
        ),
        EnrollmentTextError::BadCode | EnrollmentTextError::BadPin => (
            "开通二维码已损坏：请总部重新出示",
            "The enrollment QR code is damaged: ask head office to show it again",
        ),
    };
    pick(language, zh, en)
}

/// An enrollment QR for another head office than the one this till is
/// configured for.
pub fn enrollment_qr_other_head_office(
    language: Language,
    scanned: &str,
    configured: &str,
) -> String {
    match language {
        Language::ZhCn => format!(
            "该开通二维码属于另一个总部（{scanned}），本机设置的总部是 {configured}：请核对后再试"
        ),
        Language::En => format!(
            "That enrollment QR is for another head office ({scanned}); this till is set up \
             for {configured}: check which is right"
        ),
    }
}

/// Head office (or this terminal) refused a registration or a PIN set-up.
pub fn head_office_refusal(language: Language, refusal: &HeadOfficeRefusal) -> String {
    let (zh, en) = match refusal {
        HeadOfficeRefusal::Unreachable => (
            "无法连接总部：请检查网络后重试",
            "Head office cannot be reached: check the network and try again",
        ),
        HeadOfficeRefusal::Store(e) => return store_error(language, e),
        HeadOfficeRefusal::Address(problem) => return head_office_address(language, problem),
        HeadOfficeRefusal::Certificate(problem) => {
            let said = head_office_certificate(language, *problem);
            return match language {
                Language::ZhCn => format!("{said}。本机未登记，开通码未被使用"),
                Language::En => format!("{said}. Nothing was registered and the code was not used"),
            };
        }
        HeadOfficeRefusal::Other(why) => {
            return match language {
                Language::ZhCn => format!("未完成：{why}"),
                Language::En => format!("Not done: {why}"),
            };
        }
        HeadOfficeRefusal::Refused { code, detail } => match code.as_str() {
            "code_unknown" | "code_refused" => (
                "开通码不正确：请核对总部提供的开通码",
                "That enrollment code is not right: check the code head office gave",
            ),
            "code_expired" => (
                "开通码已过期：请总部重新签发",
                "That enrollment code has expired: ask head office for a new one",
            ),
            "code_used" => (
                "开通码已被使用：请总部重新签发",
                "That enrollment code was used already: ask head office for a new one",
            ),
            "code_for_other_store" => (
                "该开通码属于其他门店：请使用本店的开通码",
                "That enrollment code is for another store: use this store's code",
            ),
            "setup_code_wrong" => (
                "设置码不正确：请核对总部提供的设置码",
                "That setup code is not right: check the code head office gave",
            ),
            "setup_code_expired" => (
                "设置码已过期：请店长或总部重新签发",
                "That setup code has expired: ask for a new one",
            ),
            "setup_code_used" => (
                "设置码已被使用：如需重设密码请联系店长",
                "That setup code was used already: ask the manager to reset your PIN",
            ),
            "setup_code_void" => (
                "设置码输错次数过多已作废：请总部重新签发",
                "Too many wrong setup codes: ask for a new one",
            ),
            "terminal_revoked" => (
                "本机已被总部停用：请联系总部",
                "Head office revoked this terminal: call head office",
            ),
            "unknown_terminal" | "bad_signature" => (
                "总部不认识本机：需要重新登记",
                "Head office does not know this terminal: it needs registering again",
            ),
            "terminal_cloned" => (
                "总部发现另一台机器使用本机身份：销售已保存在本机，请联系总部",
                "Head office found another till using this terminal's identity: sales are kept here; call head office",
            ),
            "stale_request" => (
                "本机时钟与总部相差太大：请校准时间",
                "This terminal's clock is too far from head office's: set the time",
            ),
            "staff_inactive" | "staff_not_at_store" | "unknown_staff" => (
                "该店员未在本店启用：请联系店长",
                "This clerk is not active at this store: ask the store manager",
            ),
            _ => {
                return match language {
                    Language::ZhCn => format!("总部拒绝：{detail}"),
                    Language::En => format!("Head office refused: {detail}"),
                };
            }
        },
    };
    pick(language, zh, en)
}

/// Why the last exchange with head office failed, for the status strip
/// and the sync screen.
pub fn uplink_problem(language: Language, problem: &UplinkProblem) -> String {
    let (zh, en) = match problem {
        UplinkProblem::NotRegistered => {
            ("本机尚未向总部登记", "Not registered with head office yet")
        }
        UplinkProblem::Unreachable => (
            "无法连接总部，稍后自动重试",
            "Head office cannot be reached; retrying",
        ),
        UplinkProblem::Trouble(status) => {
            return match language {
                Language::ZhCn => format!("总部暂时故障（HTTP {status}），自动重试中"),
                Language::En => format!("Head office is having trouble (HTTP {status}); retrying"),
            };
        }
        UplinkProblem::Refused { code, detail } => {
            return head_office_refusal(
                language,
                &HeadOfficeRefusal::Refused {
                    code: code.clone(),
                    detail: detail.clone(),
                },
            );
        }
        UplinkProblem::Garbled => (
            "总部的回复无法读取，自动重试中",
            "Head office's answer could not be read; retrying",
        ),
        UplinkProblem::Stalled(seq) => {
            return match language {
                Language::ZhCn => format!("总部已收至#{seq}，后续事件暂未接收，自动重试中"),
                Language::En => {
                    format!("Head office holds events up to #{seq} and took none after; retrying")
                }
            };
        }
        UplinkProblem::Address(problem) => return head_office_address(language, problem),
        UplinkProblem::Certificate(problem) => {
            return head_office_certificate(language, *problem);
        }
        UplinkProblem::DiskFull => (
            "终端磁盘已满：请联系技术支持",
            "The terminal's disk is full: call support",
        ),
        UplinkProblem::Terminal(detail) => {
            return match language {
                Language::ZhCn => format!("本机同步出错：{detail}"),
                Language::En => format!("Sync failed on this terminal: {detail}"),
            };
        }
    };
    pick(language, zh, en)
}

/// The PIN set-up's line for its step, naming the clerk.
pub fn pin_setup_step(language: Language, step: PinSetupStep, name: &str) -> String {
    match (step, language) {
        (PinSetupStep::SetupCode, Language::ZhCn) => {
            format!("{name}，请输入总部提供的8位设置码")
        }
        (PinSetupStep::SetupCode, Language::En) => {
            format!("{name}, type the 8-digit setup code from head office")
        }
        (PinSetupStep::NewPin, _) => pick(
            language,
            "请设置4到8位数字密码（不要用1111、1234这类）",
            "Choose a PIN of 4 to 8 digits (not 1111, 1234 or the like)",
        ),
        (PinSetupStep::Repeat, _) => pick(language, "请再次输入密码", "Type the PIN again"),
        (PinSetupStep::Sending, _) => {
            pick(language, "正在向总部设置…", "Setting it with head office…")
        }
    }
}

phrases! {
    /// A setup code that is not 8 digits.
    setup_code_shape => "设置码为8位数字", "A setup code is 8 digits";
}

/// A new PIN refused before it leaves the till (the policy in
/// [`crate::pins`]).
pub fn new_pin_problem(language: Language, problem: PinProblem) -> String {
    let (zh, en) = match problem {
        PinProblem::Shape => ("密码为4到8位数字", "A PIN is 4 to 8 digits"),
        PinProblem::ManagerTooShort => (
            "店长密码至少6位数字",
            "A manager's PIN is at least 6 digits",
        ),
        PinProblem::Repeated => (
            "密码不能是重复的数字（如1111、1212、123123）：请换一个",
            "A PIN cannot be digits repeated (like 1111, 1212, 123123): choose another",
        ),
        PinProblem::Run => (
            "密码不能是连续数字（如1234、654321）：请换一个",
            "A PIN cannot be a run of digits (like 1234, 654321): choose another",
        ),
        PinProblem::Year => (
            "密码不能是年份（如1988、2024）：请换一个",
            "A PIN cannot be a year (like 1988, 2024): choose another",
        ),
        PinProblem::Common => (
            "这是最常见的密码之一，容易被猜到：请换一个",
            "That is one of the most common PINs, easy to guess: choose another",
        ),
        PinProblem::Mismatch => (
            "两次输入的密码不一致：请重新设置",
            "The two PINs differ: choose the PIN again",
        ),
    };
    pick(language, zh, en)
}

/// How long to wait, in words: "2分30秒" / "2 min 30 s".
pub fn wait(language: Language, secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match language {
        Language::ZhCn => match (h, m, s) {
            (0, 0, s) => format!("{s}秒"),
            (0, m, 0) => format!("{m}分钟"),
            (0, m, s) => format!("{m}分{s}秒"),
            (h, 0, _) => format!("{h}小时"),
            (h, m, _) => format!("{h}小时{m}分"),
        },
        Language::En => match (h, m, s) {
            (0, 0, s) => format!("{s} s"),
            (0, m, 0) => format!("{m} min"),
            (0, m, s) => format!("{m} min {s} s"),
            (h, 0, _) => format!("{h} h"),
            (h, m, _) => format!("{h} h {m} min"),
        },
    }
}

/// A clerk locked out: the wait, and that a manager can lift it.
pub fn locked_out(language: Language, secs: u64) -> String {
    let wait = wait(language, secs);
    match language {
        Language::ZhCn => {
            format!("密码错误次数过多，已锁定：请{wait}后再试（收银员可由店长输入密码解锁）")
        }
        Language::En => format!(
            "Too many wrong PINs: locked. Try again in {wait} (a manager's PIN lifts a cashier's lockout)."
        ),
    }
}

phrases! {
    /// A clerk signed in with a PIN set before the policy.
    pin_below_policy => "您的密码已不符合密码规则：请联系总部重置密码后重新设置",
        "Your PIN no longer meets the PIN rules: ask head office for a PIN reset and choose a new one";
    /// A lockout lifted by a manager.
    lockout_lifted => "已解锁：请重新输入密码", "Lockout lifted: enter the PIN again";
}
