//! The head-office console's routes, driven in-process through the router
//! on both backends: no session sends to the login page (and back), a
//! read-only role gets no forms and 403 on POST, stores, clerks and codes
//! are made through form POSTs, a code is shown once, a POST without the
//! CSRF token is refused, a terminal is listed with its software version
//! and revoked, and the audit trail shows every change.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tillcard_hq::console::{self, text};
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::service::roles::Role;
use util::{Backend, Browser, Harness, harness};

both!(console_forms_roles_csrf_and_audit, console_flow);
both!(
    the_catalog_page_imports_pasted_rows_and_saves_one_item,
    catalog_page
);

const PASSWORD: &str = util::CONSOLE_PASSWORD;

async fn page(h: &Harness, b: &Browser, path: &str) -> (StatusCode, String) {
    let (s, _, body) = h.get(path, &[("cookie", &b.cookie)]).await;
    (s, String::from_utf8(body).unwrap())
}

/// A form POST (fields urlencoded), with the session's CSRF token unless
/// `csrf` is false; status and Location.
async fn post(
    h: &Harness,
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    csrf: bool,
) -> (StatusCode, String, String) {
    let mut form = form_body(fields);
    if csrf {
        form.push_str(&format!("&csrf={}", b.csrf));
    }
    let (s, headers, body) = h
        .exchange(
            Request::builder()
                .method("POST")
                .uri(path)
                .header(header::COOKIE, &b.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    let location = headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, location, String::from_utf8(body).unwrap())
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", console::url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The one-time code shown on a page, if any.
fn secret(body: &str) -> Option<String> {
    let start = body.find(r#"id="secret">"#)? + r#"id="secret">"#.len();
    Some(body[start..].split('<').next()?.to_string())
}

fn en(key: &str) -> &'static str {
    text::TABLE.iter().find(|r| r.0 == key).unwrap().2
}

async fn console_flow(backend: Backend) {
    let h = harness(backend).await;

    // No session: every page sends to the login page, which sends back.
    for path in ["/console/stores", "/console/staff", "/console/audit"] {
        let (s, headers, _) = h.get(path, &[]).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{path}");
        let to = headers[header::LOCATION].to_str().unwrap();
        assert!(to.starts_with("/dashboard/login?"), "{to}");
        assert!(
            to.contains(&format!("next={}", console::url_encode(path))),
            "{to}"
        );
    }
    let (_, _, login) = h
        .get("/dashboard/login?lang=en&next=%2Fconsole%2Fstaff", &[])
        .await;
    let login = String::from_utf8(login).unwrap();
    assert!(
        login.contains(r#"name="next" value="/console/staff""#),
        "{login}"
    );
    h.hq.save_user(&Actor::cli(), "root", PASSWORD, Some(Role::Admin))
        .await
        .unwrap();
    let (s, headers, _) = h
        .exchange(
            Request::builder()
                .method("POST")
                .uri("/dashboard/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "username=root&password={PASSWORD}&lang=en&next=%2Fconsole%2Fstaff"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/console/staff?lang=en");
    // Not a way to another site.
    let (_, _, login) = h.get("/dashboard/login?next=%2F%2Fevil.example", &[]).await;
    assert!(!String::from_utf8(login).unwrap().contains("evil"));

    let ops = h.sign_in("olga", Role::StoreOps).await;
    let analyst = h.sign_in("andy", Role::Analyst).await;
    let auditor = h.sign_in("aude", Role::Auditor).await;
    let admin = h.sign_in("ada", Role::Admin).await;

    // A store through the form: redirect to its page, which lists it.
    let (s, to, _) = post(
        &h,
        &ops,
        "/console/stores",
        &[
            ("code", "S100"),
            ("name", "Jing'an <North>"),
            ("time_zone", "Asia/Shanghai"),
            ("address", ""),
        ],
        true,
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/stores"));
    let (s, body) = page(&h, &ops, "/console/stores").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(en("store_created")), "{body}");
    // Escaped, never raw markup.
    assert!(
        body.contains("Jing&#x27;an &lt;North&gt;") || body.contains("Jing&#39;an &lt;North&gt;"),
        "{body}"
    );
    assert!(!body.contains("<North>"));
    // The notice is shown once.
    let (_, body) = page(&h, &ops, "/console/stores").await;
    assert!(!body.contains(en("store_created")));
    // A duplicate is refused on the page, worded by its refusal code.
    post(
        &h,
        &ops,
        "/console/stores",
        &[
            ("code", "S100"),
            ("name", "x"),
            ("time_zone", "Asia/Shanghai"),
        ],
        true,
    )
    .await;
    let (_, body) = page(&h, &ops, "/console/stores").await;
    assert!(body.contains(r#"id="flash-error""#), "{body}");
    assert!(
        body.contains("A store with this code exists"),
        "worded by its code: {body}"
    );
    // In Chinese, the refusal's words are Chinese too (not the API's English).
    post(
        &h,
        &ops,
        "/console/stores?lang=zh-CN",
        &[
            ("code", "S100"),
            ("name", "x"),
            ("time_zone", "Asia/Shanghai"),
        ],
        true,
    )
    .await;
    let (_, body) = page(&h, &ops, "/console/stores?lang=zh-CN").await;
    assert!(body.contains("已有相同编号的门店"), "{body}");
    assert!(!body.contains("a store with this code exists"), "{body}");
    page(&h, &ops, "/console/stores?lang=en").await; // back to English

    // Without the CSRF token (or with another session's): 403, nothing made.
    let (s, _, body) = post(
        &h,
        &ops,
        "/console/stores",
        &[
            ("code", "S999"),
            ("name", "x"),
            ("time_zone", "Asia/Shanghai"),
        ],
        false,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains(en("csrf_refused")), "{body}");
    let foreign = Browser {
        cookie: ops.cookie.clone(),
        csrf: admin.csrf.clone(),
    };
    let (s, _, _) = post(
        &h,
        &foreign,
        "/console/stores",
        &[
            ("code", "S999"),
            ("name", "x"),
            ("time_zone", "Asia/Shanghai"),
        ],
        true,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        h.hq.list_stores()
            .await
            .unwrap()
            .iter()
            .all(|s| s.code != "S999")
    );

    // A manager: the setup code is shown once, on the page after the redirect.
    let (s, to, _) = post(
        &h,
        &ops,
        "/console/staff",
        &[
            ("staff_id", "mgr1"),
            ("display_name", "Wang Li"),
            ("role", "manager"),
            ("stores", "S100"),
        ],
        true,
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/staff"));
    let (_, body) = page(&h, &ops, "/console/staff").await;
    let setup = secret(&body).expect("setup code shown");
    assert_eq!(setup.len(), 8);
    let (_, again) = page(&h, &ops, "/console/staff").await;
    assert!(secret(&again).is_none() && !again.contains(&setup));
    assert!(again.contains("Wang Li") && again.contains(en("manager")));
    // Move, deactivate, reset PIN.
    h.ensure_store("S200").await;
    post(
        &h,
        &ops,
        "/console/staff/mgr1/stores",
        &[("stores", "S100"), ("stores", "S200")],
        true,
    )
    .await;
    post(
        &h,
        &ops,
        "/console/staff/mgr1/active",
        &[("active", "false")],
        true,
    )
    .await;
    let staff = h.hq.list_staff(None).await.unwrap();
    let mgr = staff.iter().find(|c| c.staff_id == "mgr1").unwrap();
    assert_eq!(mgr.stores, vec!["S100".to_string(), "S200".to_string()]);
    assert!(!mgr.active);
    page(&h, &ops, "/console/staff").await;
    post(&h, &ops, "/console/staff/mgr1/reset-pin", &[], true).await;
    let (_, body) = page(&h, &ops, "/console/staff").await;
    let new_setup = secret(&body).expect("new setup code shown");
    assert_ne!(new_setup, setup);

    // An enrollment code: shown once, listed unused without the code.
    let (s, _, _) = post(
        &h,
        &ops,
        "/console/codes",
        &[("store", "S100"), ("expires_in_days", "7")],
        true,
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, body) = page(&h, &ops, "/console/codes").await;
    let code = secret(&body).expect("enrollment code shown");
    let (_, body) = page(&h, &ops, "/console/codes").await;
    assert!(!body.contains(&code), "the code again");
    assert!(body.contains(en("state_unused")));
    // The default is 7 days.
    assert!(body.contains(r#"id="code-days" type="number" min="1" max="90" value="7""#));

    // A terminal: listed with the version it told (an empty cell before
    // it tells one), revoked only with the confirmation.
    let till = h.provision("S100").await;
    let id = till.creds.terminal_id.0.to_string();
    let (_, body) = page(&h, &ops, "/console/terminals").await;
    assert!(body.contains(&id) && body.contains(en("in_service")));
    assert!(body.contains(&format!("<th>{}</th>", en("app_version"))));
    assert!(
        body.contains(&format!("{}</td><td></td>", en("never"))),
        "{body}"
    );
    let (s, _) = h.upload_with_version(&till, vec![], "0.4.0+g1a2b3c").await;
    assert_eq!(s, StatusCode::OK);
    let (_, body) = page(&h, &ops, "/console/terminals").await;
    assert!(body.contains("<td>0.4.0+g1a2b3c</td>"), "{body}");
    post(
        &h,
        &ops,
        &format!("/console/terminals/{id}/revoke"),
        &[],
        true,
    )
    .await;
    let (_, body) = page(&h, &ops, "/console/terminals").await;
    assert!(
        body.contains(en("confirm_needed")) && !body.contains(en("revoked")),
        "{body}"
    );
    post(
        &h,
        &ops,
        &format!("/console/terminals/{id}/revoke"),
        &[("confirm", "yes")],
        true,
    )
    .await;
    let (_, body) = page(&h, &ops, "/console/terminals").await;
    assert!(body.contains(en("terminal_revoked")), "{body}");
    assert!(
        h.hq.list_terminals()
            .await
            .unwrap()
            .iter()
            .any(|t| t.revoked)
    );

    // A read-only role: lists without forms, 403 on every POST.
    for (path, form) in [
        ("/console/stores", "store-form"),
        ("/console/staff", "staff-form"),
        ("/console/codes", "code-form"),
    ] {
        let (s, body) = page(&h, &analyst, path).await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            !body.contains(form) && body.contains(r#"id="read-only""#),
            "{path}"
        );
        assert!(body.contains("S100"));
    }
    let (_, body) = page(&h, &analyst, "/console/terminals").await;
    assert!(!body.contains("/revoke"));
    for path in [
        "/console/stores",
        "/console/staff",
        "/console/codes",
        "/console/staff/mgr1/reset-pin",
        "/console/users",
    ] {
        let (s, _, body) = post(
            &h,
            &analyst,
            path,
            &[
                ("code", "S300"),
                ("name", "x"),
                ("time_zone", "Asia/Shanghai"),
                ("store", "S100"),
            ],
            true,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains(en("forbidden_detail")), "{path}");
    }
    assert!(
        h.hq.list_stores()
            .await
            .unwrap()
            .iter()
            .all(|s| s.code != "S300")
    );
    let (s, _) = page(&h, &analyst, "/console/audit").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Store ops may not touch users; the auditor sees them without forms.
    let (s, _, _) = post(
        &h,
        &ops,
        "/console/users",
        &[
            ("username", "eve"),
            ("password", PASSWORD),
            ("role", "admin"),
        ],
        true,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = page(&h, &auditor, "/console/users").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("olga") && !body.contains("user-form"));

    // Users: the admin creates one and changes a role.
    post(
        &h,
        &admin,
        "/console/users",
        &[
            ("username", "mia"),
            ("password", PASSWORD),
            ("role", "marketing"),
        ],
        true,
    )
    .await;
    post(
        &h,
        &admin,
        "/console/users/andy/role",
        &[("role", "auditor")],
        true,
    )
    .await;
    let users = h.hq.list_users().await.unwrap();
    let role_of = |n: &str| users.iter().find(|u| u.username == n).unwrap().role.clone();
    assert_eq!(role_of("mia"), "marketing");
    assert_eq!(role_of("andy"), "auditor");
    let (s, body) = page(&h, &admin, "/console/users").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("user-form") && body.contains("/console/users/mia/role"));

    // The audit trail shows every change, newest first, by subject too.
    let (s, body) = page(&h, &auditor, "/console/audit").await;
    assert_eq!(s, StatusCode::OK);
    let trail = h.hq.audit_trail(None, None).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    for a in &actions {
        assert!(body.contains(a), "audit page lacks {a}");
    }
    assert!(body.find(actions[0]).unwrap() <= body.find(actions[actions.len() - 1]).unwrap());
    assert!(
        trail
            .iter()
            .any(|a| a.actor == "olga" && a.subject == "store:S100")
    );
    assert!(
        trail
            .iter()
            .any(|a| a.actor == "olga" && a.subject == format!("terminal:{id}"))
    );
    let (_, body) = page(&h, &auditor, "/console/audit?subject=staff%3Amgr1").await;
    assert!(body.contains("staff:mgr1") && !body.contains("store:S100"));
    // Neither code is ever in the trail.
    assert!(!body.contains(&setup) && !body.contains(&code));
    println!(
        "console: {} audit rows after the flow: {actions:?}",
        trail.len()
    );

    // Both languages: the zh-CN page has the zh-CN strings.
    let zh = Browser {
        cookie: ops
            .cookie
            .replace("tillcard_lang=en", "tillcard_lang=zh-CN"),
        csrf: ops.csrf.clone(),
    };
    let (_, body) = page(&h, &zh, "/console/staff").await;
    let zh_title = text::TABLE.iter().find(|r| r.0 == "new_staff").unwrap().1;
    assert!(body.contains(zh_title) && body.contains(r#"lang="zh-CN""#));
    // The assets are served by head office itself.
    let (s, headers, js) = h.get("/console/assets/htmx.min.js", &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(js.len(), console::HTMX_JS.len());
}

/// The catalog page (issue 24): rows copied out of a spreadsheet (tabs)
/// imported, a bad file refused with its rows listed, one item changed
/// through the item form, an analyst shown no forms.
async fn catalog_page(backend: Backend) {
    let h = harness(backend).await;
    let ops = h.sign_in("ops", Role::StoreOps).await;
    let (s, body) = page(&h, &ops, "/console/catalog").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#"id="import-form""#) && body.contains("The catalog is empty"));

    let pasted = "sku\tbarcode\tname_zh\tname_en\tcategory\tprice\tmember_prices\n\
        A-1\t6901028075015\t矿泉水\tWater\tdrinks\t2.00\t\n\
        A-2\t6901028075022\t可乐\tCola\tdrinks\t3.50\tgold=3.00\n";
    let (s, to, _) = post(
        &h,
        &ops,
        "/console/catalog",
        &[("action", "import"), ("csv", pasted)],
        true,
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/catalog")
    );
    let (_, body) = page(&h, &ops, "/console/catalog").await;
    assert!(body.contains("Catalog saved"), "the notice");
    assert!(body.contains(r#"id="item-A-1""#) && body.contains("gold=3.00"));

    // A file with a bad price: refused, its row named, nothing written.
    let bad = "sku,name_zh,category,price\nB-1,茶,drinks,abc\n";
    post(
        &h,
        &ops,
        "/console/catalog",
        &[("action", "import"), ("csv", bad)],
        true,
    )
    .await;
    let (_, body) = page(&h, &ops, "/console/catalog").await;
    assert!(body.contains("Not saved"), "worded refusal");
    assert!(body.contains("row 2, price"), "the row listed");
    assert!(!body.contains(r#"id="item-B-1""#));

    // One item changed: the water made inactive.
    post(
        &h,
        &ops,
        "/console/catalog",
        &[
            ("action", "save"),
            ("sku", "A-1"),
            ("barcode", "6901028075015"),
            ("name_zh", "矿泉水"),
            ("category", "drinks"),
            ("price", "2.20"),
        ],
        true,
    )
    .await;
    let water = h.hq.catalog_item("A-1").await.unwrap();
    assert_eq!(water.price, tillcard_rules::Money::from_fen(220));
    assert!(!water.active, "the unticked box");
    // From a SKU on: the page starts there.
    let (_, body) = page(&h, &ops, "/console/catalog?from=A-2").await;
    assert!(body.contains(r#"id="item-A-2""#) && !body.contains(r#"id="item-A-1""#));

    // An analyst reads the catalog but gets no forms, and a POST is 403.
    let analyst = h.sign_in("ana", Role::Analyst).await;
    let (_, body) = page(&h, &analyst, "/console/catalog").await;
    assert!(!body.contains(r#"id="import-form""#) && body.contains(r#"id="item-A-2""#));
    let (s, _, _) = post(
        &h,
        &analyst,
        "/console/catalog",
        &[("action", "import"), ("csv", pasted)],
        true,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let written =
        h.hq.audit_trail(None, Some(100))
            .await
            .unwrap()
            .iter()
            .filter(|r| r.action == "catalog_written")
            .count();
    assert_eq!(written, 2, "the import and the change, each audited");
}
