//! The `tillcard-hq` binary's command line: help for every subcommand, and
//! the back office against a temporary SQLite head office configured
//! through the environment (stores, staff, enrollment codes, terminals with
//! their software versions, program versions imported from TOML), with
//! output a script can read.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tillcard-hq");

/// The binary with `args` against the SQLite database `db` (nothing from
/// the caller's environment chooses another database), its output piped.
fn command(db: &Path, args: &[&str]) -> Command {
    // The personal-data key head office refuses to start without: the
    // tests' fixed one, beside the database.
    let key = db.with_file_name("personal.key");
    std::fs::write(&key, [0x5a; 32]).unwrap();
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("TILLCARD_HQ_SQLITE", db)
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", &key)
        .env_remove("TILLCARD_HQ_DATABASE_URL")
        .env_remove("TILLCARD_HQ_DATABASE_URL_FILE")
        .env_remove("TILLCARD_HQ_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs [`command`] with `stdin` on its standard input.
fn run(db: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = command(db, args).stdin(Stdio::piped()).spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args, "");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["store"],
        &["store", "add"],
        &["store", "list"],
        &["store", "update"],
        &["staff"],
        &["staff", "add"],
        &["staff", "list"],
        &["staff", "deactivate"],
        &["staff", "activate"],
        &["staff", "reset-pin"],
        &["staff", "move"],
        &["staff", "rename"],
        &["code"],
        &["code", "issue"],
        &["code", "list"],
        &["terminal"],
        &["terminal", "list"],
        &["terminal", "revoke"],
        &["user"],
        &["user", "add"],
        &["user", "role"],
        &["user", "list"],
        &["program"],
        &["program", "import"],
        &["program", "list"],
        &["jobs"],
        &["jobs", "run"],
        &["jobs", "list"],
        &["member"],
        &["member", "freeze"],
        &["member", "unfreeze"],
        &["member", "cash-out"],
        &["member", "adjust-points"],
        &["member", "requests"],
        &["member", "approve"],
        &["member", "reject"],
        &["member", "thresholds"],
        &["campaign"],
        &["campaign", "list"],
        &["campaign", "show"],
        &["campaign", "create"],
        &["campaign", "run"],
        &["campaign", "stop"],
        &["audit"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let help = ok(&db, &args);
        assert!(help.contains("Usage: tillcard-hq"), "{command:?}: {help}");
        assert!(help.contains("--config"), "{command:?}: --config is global");
    }
    let top = ok(&db, &["--help"]);
    for sub in [
        "serve", "store", "staff", "code", "terminal", "user", "program", "jobs", "campaign",
        "audit",
    ] {
        assert!(top.contains(sub), "{sub} listed: {top}");
    }
    assert!(!top.contains("issue-code"), "old names are hidden");
    assert!(!db.exists(), "help opens no database");
}

#[test]
fn stores_staff_and_codes_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    assert_eq!(
        ok(
            &db,
            &[
                "store",
                "add",
                "--code",
                "S001",
                "--name",
                "People's Square"
            ]
        ),
        "S001\n"
    );
    ok(
        &db,
        &[
            "store",
            "add",
            "--code",
            "S002",
            "--name",
            "Pudong",
            "--time-zone",
            "Asia/Shanghai",
        ],
    );
    let stores = ok(&db, &["store", "list"]);
    assert!(
        stores.starts_with("S001\tPeople's Square\tAsia/Shanghai\t"),
        "{stores}"
    );
    assert_eq!(stores.lines().count(), 2);

    // A refusal: its code on standard error, a failure status.
    let out = run(&db, &["store", "add", "--code", "S001", "--name", "x"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("store_exists"));

    // staff add: id, setup code and expiry, tab-separated.
    let added = ok(
        &db,
        &[
            "staff", "add", "--name", "王芳", "--role", "manager", "--store", "S001", "--id",
            "wang",
        ],
    );
    let fields: Vec<&str> = added.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 3, "{added}");
    assert_eq!(fields[0], "wang");
    assert!(
        tillcard_protocol::staff::is_setup_code(fields[1]),
        "{added}"
    );
    let listed = ok(&db, &["staff", "list", "--store", "S001"]);
    assert_eq!(listed, "wang\t王芳\tmanager\tactive\tS001\tno-pin\n");
    assert!(!listed.contains(fields[1]), "the setup code is shown once");
    let moved = ok(&db, &["staff", "move", "wang", "--store", "S002"]);
    assert!(moved.contains("\tS002\t"), "{moved}");

    // code issue: the code alone on the first line, like issue-code.
    let issued = ok(&db, &["code", "issue", "--store", "S001"]);
    let code = issued.lines().next().unwrap();
    let digits = tillcard_protocol::auth::enroll_code_key(code);
    assert_eq!(code.len(), 19, "16 digits in fours: {issued}");
    assert_eq!(digits.len(), tillcard_protocol::auth::ENROLL_CODE_DIGITS);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    let old = ok(&db, &["issue-code", "--store", "S002"]);
    assert_eq!(old.lines().count(), 1);
    let out = run(&db, &["code", "issue", "--store", "S404"], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown_store"));

    // code list: both unused, never the codes.
    let codes = ok(&db, &["code", "list"]);
    assert_eq!(codes.lines().count(), 2, "{codes}");
    assert!(
        codes
            .lines()
            .all(|l| l.split('\t').nth(2) == Some("unused"))
    );
    assert!(!codes.contains(code) && !codes.contains(old.trim()));
    let json = ok(&db, &["--json", "code", "list"]);
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["state"], "unused");

    // A user from standard input; everything audited as the command line.
    let out = run(
        &db,
        &["user", "add", "olga", "--role", "store_ops"],
        "a long passphrase\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ok(&db, &["user", "list"]).split('\t').nth(1),
        Some("store_ops")
    );
    let trail = ok(&db, &["audit"]);
    assert!(
        trail.lines().all(|l| l.split('\t').nth(1) == Some("cli")),
        "{trail}"
    );
    assert!(trail.contains("staff_created") && trail.contains("code_issued"));
    assert!(!trail.contains(fields[1]) && !trail.contains(code));
    let about_wang = ok(&db, &["audit", "--subject", "staff:wang"]);
    assert_eq!(about_wang.lines().count(), 2, "{about_wang}");
}

#[tokio::test]
async fn terminal_list_shows_each_terminals_software_version() {
    // Terminals registered and heard from through the API; listed by the
    // binary from the same database.
    let h = util::harness(util::Backend::Sqlite).await;
    let silent = h.provision("S001").await;
    let till = h.provision("S001").await;
    let (s, _) = h.upload_with_version(&till, vec![], "0.4.0+g1a2b3c").await;
    assert_eq!(s, axum::http::StatusCode::OK);
    let db = h.sqlite_path().unwrap();

    // id, store, registered, last seen, version, acked seq, pending, state.
    let listed = ok(&db, &["terminal", "list"]);
    let row = |id: &str| -> Vec<String> {
        let line = listed.lines().find(|l| l.starts_with(id)).unwrap();
        line.split('\t').map(str::to_string).collect()
    };
    let told = row(&till.creds.terminal_id.to_string());
    assert_eq!(told.len(), 8, "{listed}");
    assert_eq!(told[1], "S001");
    assert_ne!(told[3], "-", "last seen: {listed}");
    assert_eq!(told[4..], ["0.4.0+g1a2b3c", "0", "-", "active"], "{listed}");
    let never = row(&silent.creds.terminal_id.to_string());
    assert_eq!(never[3..], ["-", "-", "0", "-", "active"], "{listed}");

    let json = ok(&db, &["--json", "terminal", "list"]);
    let versions: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["app_version"].clone())
        .collect();
    assert!(
        versions.contains(&serde_json::json!("0.4.0+g1a2b3c")),
        "{json}"
    );
    assert!(versions.contains(&serde_json::Value::Null), "{json}");
}

#[test]
fn a_program_version_is_imported_from_toml_or_refused_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    let moment = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .to_rfc3339();
    let good = dir.path().join("next.toml");
    std::fs::write(
        &good,
        format!(
            "effective_from = \"{moment}\"\n\n[earning]\npoints_per_yuan = 2\nexcluded_categories = [\"tobacco\"]\n"
        ),
    )
    .unwrap();
    let imported = ok(&db, &["program", "import", good.to_str().unwrap()]);
    assert_eq!(
        imported.trim(),
        format!("2\t{moment}"),
        "the version after the default one"
    );
    let list = ok(&db, &["program", "list"]);
    assert_eq!(
        list.lines().collect::<Vec<_>>(),
        vec!["1\t-".to_string(), format!("2\t{moment}")],
        "{list}"
    );
    let json = ok(&db, &["--json", "program", "list"]);
    let second: serde_json::Value = serde_json::from_str(json.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["earning"]["points_per_yuan"], 2);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "effective_from = \"2020-01-01T00:00:00+08:00\"\n[referral]\npoints_each = -5\n[redemption]\nstep = 0\n",
    )
    .unwrap();
    let out = run(&db, &["program", "import", bad.to_str().unwrap()], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("program import refused: {stderr}");
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid_program")
            && stderr.contains("referral points")
            && stderr.contains("redemption step")
            && stderr.contains("not a minute or more in the future"),
        "every problem listed: {stderr}"
    );
    let past = dir.path().join("past.toml");
    std::fs::write(&past, "effective_from = \"2020-01-01T00:00:00+08:00\"\n").unwrap();
    let out = run(&db, &["program", "import", past.to_str().unwrap()], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("effective_from_past"));
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "points_per_yen = 3\n").unwrap();
    let out = run(&db, &["program", "import", typo.to_str().unwrap()], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a program"));
    assert_eq!(
        ok(&db, &["program", "list"]).lines().count(),
        2,
        "nothing half published"
    );
}

/// A script that reads only the first line (`code issue ... | head -n 1`)
/// closes the pipe before the rest is written: the command still succeeds
/// (its work is committed) instead of panicking on the closed pipe. CI's
/// packaging run failed on exactly this.
#[test]
fn a_reader_that_closes_the_pipe_early_does_not_fail_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    ok(
        &db,
        &["store", "add", "--code", "S001", "--name", "Jing'an"],
    );
    let mut child = command(&db, &["code", "issue", "--store", "S001"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    // The reading end closes before the child has opened its database, so
    // every line it prints meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let codes = ok(&db, &["code", "list"]);
    assert_eq!(codes.lines().count(), 1, "the code was issued: {codes}");
}

#[test]
fn member_money_thresholds_are_shown_and_set_and_a_cash_out_of_no_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    let defaults = ok(&db, &["member", "thresholds"]);
    let set = ok(
        &db,
        &[
            "member",
            "thresholds",
            "--cash-out-fen",
            "80000",
            "--points",
            "2000",
        ],
    );
    let requests = ok(&db, &["member", "requests"]);
    let refused = run(
        &db,
        &[
            "member",
            "cash-out",
            "01900000-0000-7000-8000-0000000000aa",
            "--reason",
            "nobody",
        ],
        "",
    );
    let audit = ok(&db, &["audit", "--subject", "settings:member_money"]);
    println!(
        "cli member money: defaults {defaults:?}, set {set:?}, requests {requests:?}, refused {:?}, audit {audit:?}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(defaults, "50000\t1000\n");
    assert_eq!(set, "80000\t2000\n");
    assert_eq!(requests, "", "none yet");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("unknown_member"));
    assert!(audit.contains("member_money_thresholds_set"), "{audit}");
}

#[test]
fn a_campaign_is_created_from_json_run_shown_and_stopped_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    let spec = |code: &str, control_bp: u32| {
        serde_json::json!({
            "code": code, "name": "Wake the sleepers",
            "coupon": {"code": "x", "kind": {"kind": "amount_off", "off": 2000, "min_spend": 5000},
                       "valid_days": 30},
            "segment": {"min_days_since_purchase": 90},
            "starts_at": "2026-01-01T00:00:00+08:00", "ends_at": "2099-01-01T00:00:00+08:00",
            "budget": 100, "control_bp": control_bp,
        })
        .to_string()
    };
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    std::fs::write(&good, spec("sleepers-cli", 3000)).unwrap();
    std::fs::write(&bad, spec("Bad Code", 9000)).unwrap();
    let refused = run(
        &db,
        &["campaign", "create", "--file", bad.to_str().unwrap()],
        "",
    );
    let none = ok(&db, &["campaign", "list"]);
    let created = ok(
        &db,
        &["campaign", "create", "--file", good.to_str().unwrap()],
    );
    let listed = ok(&db, &["campaign", "list"]);
    let ran = ok(&db, &["campaign", "run", "sleepers-cli"]);
    let ahead = run(
        &db,
        &[
            "campaign",
            "run",
            "sleepers-cli",
            "--at",
            "2098-01-01T00:00:00+08:00",
        ],
        "",
    );
    let shown = ok(&db, &["campaign", "show", "sleepers-cli"]);
    let stopped = ok(
        &db,
        &[
            "campaign",
            "stop",
            "sleepers-cli",
            "--reason",
            "spring instead",
        ],
    );
    let json = ok(&db, &["--json", "campaign", "list"]);
    let audit = ok(&db, &["audit", "--subject", "campaign:sleepers-cli"]);
    let refused = String::from_utf8_lossy(&refused.stderr).to_string();
    let ahead = String::from_utf8_lossy(&ahead.stderr).to_string();
    println!(
        "cli campaigns: refused {refused:?}, created {created:?}, ran {ran:?}, ahead {ahead:?}, shown {shown:?}, stopped {stopped:?}, audit {audit:?}"
    );
    assert!(refused.contains("invalid_campaign"), "{refused}");
    assert!(
        refused.contains("code: 1 to 40") && refused.contains("control_bp"),
        "every problem: {refused}"
    );
    assert_eq!(none, "", "the refused definition wrote nothing");
    assert!(
        created.starts_with("sleepers-cli\tactive\t2026-01-01T00:00:00+08:00\t"),
        "{created}"
    );
    assert_eq!(listed, created, "listed as created");
    assert_eq!(ran, "sleepers-cli\t0\t0\t0\n", "nobody to reach");
    assert!(ahead.contains("moment_in_future"), "{ahead}");
    assert_eq!(shown, "sleepers-cli\tactive\t0\t0\t-\t0\t0\t0\t0\t0\t0\n");
    assert_eq!(stopped, "sleepers-cli\tstopped\n");
    let record: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(record["state"], "stopped");
    assert_eq!(record["control_bp"], 3000);
    assert!(
        audit.contains("campaign_stopped") && audit.contains("spring instead"),
        "{audit}"
    );
    assert!(audit.contains("campaign_created"), "{audit}");
}

#[test]
fn without_its_personal_data_key_head_office_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    let out = command(&db, &["store", "list"])
        .env_remove("TILLCARD_HQ_PERSONAL_KEY_FILE")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let opened_without_key = db.exists();
    // A short key file is refused too, without quoting it.
    let short = dir.path().join("short.key");
    std::fs::write(&short, "c2VjcmV0\n").unwrap();
    let bad = command(&db, &["store", "list"])
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", &short)
        .output()
        .unwrap();
    let bad_err = String::from_utf8_lossy(&bad.stderr);
    // Through a systemd credential directory, the default name.
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("personal-key"), [0x5a; 32]).unwrap();
    let credential = command(&db, &["store", "list"])
        .env_remove("TILLCARD_HQ_PERSONAL_KEY_FILE")
        .env("CREDENTIALS_DIRECTORY", &creds)
        .output()
        .unwrap();
    let first = |text: &str| text.lines().take(4).collect::<Vec<_>>().join(" ");
    println!(
        "no key: {} {}; short key: {} {}; credential: {}",
        out.status,
        first(&err),
        bad.status,
        first(&bad_err),
        credential.status
    );
    assert!(
        !out.status.success() && !opened_without_key,
        "nothing opened"
    );
    assert!(err.contains("personal-data key") && err.contains("TILLCARD_HQ_PERSONAL_KEY_FILE"));
    assert!(!bad.status.success() && bad_err.contains("is not 32 bytes"));
    assert!(!bad_err.contains("c2VjcmV0"), "the key is never quoted");
    assert!(credential.status.success());
}

#[test]
fn a_code_is_issued_with_its_enrollment_qr_text_carrying_the_certificate_pin() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite");
    ok(
        &db,
        &[
            "store",
            "add",
            "--code",
            "S001",
            "--name",
            "People's Square",
        ],
    );
    // The certificate file as a TLS front holds it (PEM); its DER bytes
    // are whatever the test says: the pin is their SHA-256.
    let der = b"a certificate's DER bytes".to_vec();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let cert = dir.path().join("hq.pem");
    std::fs::write(&cert, pem).unwrap();
    let cert = cert.to_str().unwrap();
    let issued = ok(
        &db,
        &[
            "code",
            "issue",
            "--store",
            "S001",
            "--qr-url",
            "https://hq.example.cn/",
            "--qr-certificate",
            cert,
        ],
    );
    let lines: Vec<&str> = issued.lines().collect();
    assert_eq!(lines.len(), 3, "{issued}");
    let qr = tillcard_protocol::enrollment::EnrollmentText::parse(lines[2]).unwrap();
    println!(
        "code issue printed the QR text ({} characters)",
        lines[2].len()
    );
    assert_eq!(qr.url, "https://hq.example.cn");
    assert_eq!(qr.code, tillcard_protocol::auth::enroll_code_key(lines[0]));
    assert_eq!(
        qr.pin,
        tillcard_protocol::enrollment::CertificatePin::of_der(&der)
    );
    // Plain http is refused before a code is spent.
    let before = ok(&db, &["code", "list"]).lines().count();
    let out = run(
        &db,
        &[
            "code",
            "issue",
            "--store",
            "S001",
            "--qr-url",
            "http://hq.example.cn",
            "--qr-certificate",
            cert,
        ],
        "",
    );
    assert!(!out.status.success());
    println!(
        "http refused: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert_eq!(ok(&db, &["code", "list"]).lines().count(), before);
}
