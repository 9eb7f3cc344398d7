//! The head-office dashboard: users (Argon2id passwords), sessions (random
//! tokens, stored hashed, in an HttpOnly Secure SameSite=Strict cookie), a login
//! throttle, and the web page itself.
//!
//! The page is a view: an HTML shell, a stylesheet and one small script,
//! all compiled into the binary and served by `tillcard-hq` (no CDN, no
//! network). The script fetches `GET /v1/admin/figures` and draws every
//! chart as inline SVG in the browser. Why client-side: the figures JSON
//! stays the single source (the page shows exactly what the API serves),
//! switching language re-renders without a round trip, and the script is
//! ~400 lines of our own code instead of a vendored chart library. Every
//! string of the page exists in zh-CN and en (the script's table; the login
//! page's [`LoginText`]).
//!
//! No member's personal data is ever on the page: the figures carry
//! counts, amounts, member ids and conflict reasons (which never hold
//! phones or names).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use tillcard_protocol::auth;

use crate::store::throttles::ThrottleRule;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tillcard_hq_session";
/// A session lasts this long after login.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Consecutive failed logins of one user name before it is locked.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked user name is refused.
pub const LOCKOUT: Duration = Duration::from_secs(5 * 60);

/// The page shell.
pub const DASHBOARD_HTML: &str = include_str!("dashboard.html");
/// The script that draws the charts.
pub const DASHBOARD_JS: &str = include_str!("dashboard.js");
/// The stylesheet.
pub const DASHBOARD_CSS: &str = include_str!("dashboard.css");

/// An HTML page (the dashboard's, its login page, the console's) with
/// [`security_headers`].
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    response.headers_mut().extend(security_headers());
    response
}

/// Security headers of every dashboard response: only our own script and
/// style, no framing, no referrer, no caching of figures.
pub fn security_headers() -> [(header::HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                 connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Password hashing failed (never for a valid input; the hash crate's
/// error, kept for the log).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Result<Argon2<'static>, HashError> {
    // Argon2id with the OWASP-recommended 19 MiB, 2 passes.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt =
        SaltString::encode_b64(&auth::random_32()[..16]).map_err(|e| HashError(e.to_string()))?;
    Ok(argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HashError(e.to_string()))?
        .to_string())
}

/// Whether `password` matches the PHC `hash` (false for a malformed hash).
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash no password matches, verified for unknown users so that a wrong
/// user name costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&protocol_hex_random()).unwrap_or_default())
}

fn protocol_hex_random() -> String {
    tillcard_protocol::wire::hex(&auth::random_32())
}

/// A user name is acceptable: 1-64 characters, letters, digits, `._-@`.
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// A new session token (sent once in the cookie) and its hash (stored).
pub fn new_session_token() -> (String, String) {
    let token = protocol_hex_random();
    let hash = auth::sha256_hex(&token);
    (token, hash)
}

/// The value of the cookie `name` in a request's cookies, if any (the
/// first, trimmed).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.trim().to_string())
}

/// The session token in a request's cookies, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE).filter(|v| !v.is_empty())
}

/// `Set-Cookie` value for a new session.
pub fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// `Set-Cookie` value that deletes the session cookie.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

/// Failed logins of one user name (its [`user_key`]): [`MAX_FAILURES`]
/// without a success between them (within a day) lock it for
/// [`LOCKOUT`]. Counted in the database
/// ([`crate::store::throttles`]): every head-office node refuses a locked
/// name, and a restart does not unlock it.
pub const USER_RULE: ThrottleRule = ThrottleRule {
    window: Duration::from_secs(24 * 60 * 60),
    max_failures: MAX_FAILURES,
    lock: LOCKOUT,
};

/// The key a user name's failures are counted under (names compare
/// without case).
pub fn user_key(user: &str) -> String {
    format!("user:{}", user.to_lowercase())
}

/// Page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// From a `lang` parameter (`en`, `zh-CN`); zh-CN by default.
    pub fn parse(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::ZhCn,
        }
    }

    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// Every string of the login page, in one language.
#[derive(Debug, Clone, Copy)]
pub struct LoginText {
    /// Window title and heading.
    pub title: &'static str,
    /// Product line.
    pub subtitle: &'static str,
    /// User name label.
    pub username: &'static str,
    /// Password label.
    pub password: &'static str,
    /// Button.
    pub submit: &'static str,
    /// Wrong user name or password.
    pub wrong: &'static str,
    /// Locked (with the minutes left appended).
    pub locked: &'static str,
    /// Minutes unit.
    pub minutes: &'static str,
    /// Signed out.
    pub signed_out: &'static str,
    /// Link to the other language.
    pub other_language: &'static str,
}

impl LoginText {
    /// The strings of `lang`.
    pub fn of(lang: Lang) -> LoginText {
        match lang {
            Lang::ZhCn => LoginText {
                title: "总部看板登录",
                subtitle: "Tillcard 会员系统 · 总部",
                username: "用户名",
                password: "密码",
                submit: "登录",
                wrong: "用户名或密码错误。",
                locked: "失败次数过多，请稍后再试。剩余等待：",
                minutes: "分钟",
                signed_out: "已退出登录。",
                other_language: "English",
            },
            Lang::En => LoginText {
                title: "Head-office dashboard sign-in",
                subtitle: "Tillcard membership · head office",
                username: "User name",
                password: "Password",
                submit: "Sign in",
                wrong: "Wrong user name or password.",
                locked: "Too many failed attempts. Try again later. Wait left: ",
                minutes: "min",
                signed_out: "You are signed out.",
                other_language: "中文",
            },
        }
    }
}

/// What the login page says above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginNotice {
    /// Nothing.
    None,
    /// Wrong user name or password.
    Wrong,
    /// Locked for this many minutes (rounded up).
    Locked(u64),
    /// Just signed out.
    SignedOut,
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where a sign-in may send back to: a console page (a local path under
/// `/console`, never another site); `None` for the dashboard.
pub fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        (*n == "/console" || n.starts_with("/console/"))
            && n.len() <= 200
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
    })
}

/// The login page (server-rendered; no script); after sign-in, back to
/// `next` when it is a console page.
pub fn login_page(lang: Lang, notice: LoginNotice, username: &str, next: Option<&str>) -> String {
    let next_field = safe_next(next)
        .map(|n| format!(r#"<input type="hidden" name="next" value="{}">"#, escape(n)))
        .unwrap_or_default();
    let next_query = safe_next(next)
        .map(|n| format!("&amp;next={}", escape(n)))
        .unwrap_or_default();
    let t = LoginText::of(lang);
    let other = match lang {
        Lang::ZhCn => "en",
        Lang::En => "zh-CN",
    };
    let notice = match notice {
        LoginNotice::None => String::new(),
        LoginNotice::Wrong => format!(
            r#"<p class="error" role="alert" id="login-error">{}</p>"#,
            t.wrong
        ),
        LoginNotice::Locked(min) => format!(
            r#"<p class="error" role="alert" id="login-error">{}{min} {}</p>"#,
            t.locked, t.minutes
        ),
        LoginNotice::SignedOut => {
            format!(r#"<p class="notice" role="status">{}</p>"#, t.signed_out)
        }
    };
    format!(
        r#"<!doctype html>
<html lang="{tag}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head>
<body class="login">
<main class="login-card">
<p class="lang-switch"><a id="lang-link" href="/dashboard/login?lang={other}{next_query}">{other_name}</a></p>
<h1>{title}</h1>
<p class="subtitle">{subtitle}</p>
{notice}
<form method="post" action="/dashboard/login" id="login-form">
<input type="hidden" name="lang" value="{tag}">
{next_field}
<label for="username">{username_label}</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="{username}">
<label for="password">{password_label}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit" id="login-submit">{submit}</button>
</form>
</main>
</body>
</html>
"#,
        tag = lang.tag(),
        title = t.title,
        subtitle = t.subtitle,
        other_name = t.other_language,
        username_label = t.username,
        password_label = t.password,
        submit = t.submit,
        username = escape(username),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse!"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn session_cookie_is_read_back_and_flags_are_set() {
        let (token, hash) = new_session_token();
        assert_eq!(hash, auth::sha256_hex(&token));
        let cookie = session_cookie(&token);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.contains("; Secure;") && clear_cookie().contains("; Secure;"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={token}")).unwrap(),
        );
        assert_eq!(session_token(&headers), Some(token));
    }

    #[test]
    fn login_page_escapes_the_user_name() {
        let page = login_page(Lang::En, LoginNotice::Wrong, "<script>", None);
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains(LoginText::of(Lang::En).wrong));
    }

    #[test]
    fn only_console_pages_are_a_next() {
        assert_eq!(safe_next(Some("/console/staff")), Some("/console/staff"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/console/../x?",
            "/dashboard",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}
