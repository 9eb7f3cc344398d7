//! `config`'s unit tests: defaults, the file, the environment winning, and
//! the packaged `hq.toml`.
#![allow(clippy::unwrap_used, reason = "test code")]

use super::*;
use std::collections::HashMap;

/// An environment made of `pairs`.
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_metrics_token_comes_from_the_file_a_token_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(Config::load(None, &env(&[])).unwrap().metrics_token, None);
    let file = write(&dir, "hq.toml", "[metrics]\ntoken = \"scrape-me\"\n");
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(c.metrics_token.as_deref(), Some("scrape-me"));
    let secret = write(&dir, "metrics-token", "from-file\n");
    let file = write(
        &dir,
        "hq2.toml",
        &format!("[metrics]\ntoken_file = {:?}\n", secret.to_str().unwrap()),
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(c.metrics_token.as_deref(), Some("from-file"));
    let c = Config::load(Some(&file), &env(&[("TILLCARD_HQ_METRICS_TOKEN", "env")])).unwrap();
    assert_eq!(
        c.metrics_token.as_deref(),
        Some("env"),
        "the environment wins"
    );
}

#[test]
fn no_file_and_no_environment_gives_the_defaults() {
    let c = Config::load(None, &env(&[])).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8640".parse().unwrap());
    assert_eq!(c.database, Database::Sqlite("tillcard-hq.sqlite".into()));
    assert_eq!(c.admin_token, None);
    assert_eq!(c.postgres_pool_size, None);
    assert_eq!(c.log, LogSettings::default());
}

#[test]
fn the_postgres_pool_size_comes_from_the_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "hq.toml", "[database]\npostgres_pool_size = 12\n");
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(c.postgres_pool_size, Some(12));
    let c = Config::load(
        Some(&file),
        &env(&[("TILLCARD_HQ_DATABASE_POOL_SIZE", "20")]),
    )
    .unwrap();
    assert_eq!(c.postgres_pool_size, Some(20));
    for bad in ["0", "-3", "many"] {
        let e = Config::load(None, &env(&[("TILLCARD_HQ_DATABASE_POOL_SIZE", bad)])).unwrap_err();
        assert!(
            e.to_string().starts_with("TILLCARD_HQ_DATABASE_POOL_SIZE:"),
            "{e}"
        );
    }
    let zero = write(&dir, "zero.toml", "[database]\npostgres_pool_size = 0\n");
    let e = Config::load(Some(&zero), &env(&[])).unwrap_err();
    assert!(
        e.to_string().starts_with("database.postgres_pool_size:"),
        "{e}"
    );
    // Unset: the store's default, two per CPU and two more, 4 to 32.
    let default = crate::store::postgres::default_pool_size();
    assert!((4..=32).contains(&default), "{default}");
}

#[test]
fn a_standby_to_read_from_needs_postgres_and_comes_from_the_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "hq.toml",
        "[database]\npostgres_url = \"postgres://hq@primary/tillcard\"\nread_url = \"postgres://hq@standby/tillcard\"\n",
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(
        c.read_url.as_deref(),
        Some("postgres://hq@standby/tillcard")
    );
    let c = Config::load(
        Some(&file),
        &env(&[(
            "TILLCARD_HQ_DATABASE_READ_URL",
            "postgres://hq@other/tillcard",
        )]),
    )
    .unwrap();
    assert_eq!(c.read_url.as_deref(), Some("postgres://hq@other/tillcard"));
    assert_eq!(Config::load(None, &env(&[])).unwrap().read_url, None);
    let e = Config::load(
        None,
        &env(&[(
            "TILLCARD_HQ_DATABASE_READ_URL",
            "postgres://hq@standby/tillcard",
        )]),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("database.read_url:"), "{e}");
}

#[test]
fn the_packaged_config_file_parses_to_what_it_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/hq/hq.toml");
    let packaged = std::fs::read_to_string(&path).unwrap();
    // It points at the admin token file postinst creates; without it
    // the error names that file (and never a secret). Read from a copy
    // whose token file is surely absent: this machine may have the
    // package installed, and its /etc must not decide the test.
    assert!(packaged.contains("token_file = \"/etc/tillcard/hq-admin-token\""));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("etc/tillcard/hq-admin-token");
    let copy = write(
        &dir,
        "hq.toml",
        &packaged.replace("/etc/tillcard/hq-admin-token", missing.to_str().unwrap()),
    );
    let c = Config::load(Some(&copy), &env(&[])).unwrap_err();
    assert!(c.to_string().contains(missing.to_str().unwrap()), "{c}");
    let token = write(&dir, "token", "s3cret\n");
    let c = Config::load(
        Some(&path),
        &env(&[("TILLCARD_HQ_ADMIN_TOKEN_FILE", token.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(c.listen, "127.0.0.1:8640".parse().unwrap());
    assert_eq!(
        c.database,
        Database::Sqlite("/var/lib/tillcard-hq/hq.sqlite".into())
    );
    assert_eq!(c.admin_token.as_deref(), Some("s3cret"));
    assert_eq!(c.log.filter, "info");
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn file_values_replace_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let token = write(&dir, "token", "  from-file  \nsecond line ignored\n");
    let file = write(
        &dir,
        "hq.toml",
        &format!(
            r#"
listen = "0.0.0.0:9000"
[database]
sqlite = "/srv/hq.sqlite"
[admin]
token_file = "{}"
[log]
level = "tillcard_hq=debug,info"
format = "json"
"#,
            token.display()
        ),
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
    assert_eq!(c.database, Database::Sqlite("/srv/hq.sqlite".into()));
    assert_eq!(c.admin_token.as_deref(), Some("from-file"));
    assert_eq!(c.log.filter, "tillcard_hq=debug,info");
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn postgres_in_the_file_wins_over_sqlite_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "hq.toml",
        "[database]\nsqlite = \"/srv/hq.sqlite\"\npostgres_url = \"postgres://hq@db/hq\"\n",
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(c.database, Database::Postgres("postgres://hq@db/hq".into()));

    let url = write(&dir, "url", "postgres://hq:pw@db/hq\n");
    let file = write(
        &dir,
        "hq2.toml",
        &format!("[database]\npostgres_url_file = \"{}\"\n", url.display()),
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(
        c.database,
        Database::Postgres("postgres://hq:pw@db/hq".into())
    );
}

#[test]
fn environment_variables_override_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "hq.toml",
        r#"
listen = "0.0.0.0:9000"
[database]
postgres_url = "postgres://hq@db/hq"
[admin]
token = "file-token"
[log]
level = "warn"
format = "json"
"#,
    );
    let c = Config::load(
        Some(&file),
        &env(&[
            ("TILLCARD_HQ_LISTEN", "127.0.0.1:7000"),
            ("TILLCARD_HQ_SQLITE", "/tmp/env.sqlite"),
            ("TILLCARD_HQ_ADMIN_TOKEN", "env-token"),
            ("RUST_LOG", "debug"),
            ("TILLCARD_HQ_LOG_FORMAT", "text"),
        ]),
    )
    .unwrap();
    assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
    // The environment's database choice replaces the file's whole.
    assert_eq!(c.database, Database::Sqlite("/tmp/env.sqlite".into()));
    assert_eq!(c.admin_token.as_deref(), Some("env-token"));
    assert_eq!(c.log.filter, "debug");
    assert_eq!(c.log.format, LogFormat::Text);

    let c = Config::load(
        Some(&file),
        &env(&[("TILLCARD_HQ_DATABASE_URL", "postgres://env@db/hq")]),
    )
    .unwrap();
    assert_eq!(
        c.database,
        Database::Postgres("postgres://env@db/hq".into())
    );
}

#[test]
fn the_file_can_be_named_by_the_environment_and_an_argument_wins() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.toml", "listen = \"127.0.0.1:1111\"\n");
    let b = write(&dir, "b.toml", "listen = \"127.0.0.1:2222\"\n");
    let named = env(&[(CONFIG_ENV, a.to_str().unwrap())]);
    let c = Config::load(None, &named).unwrap();
    assert_eq!(c.listen, "127.0.0.1:1111".parse().unwrap());
    let c = Config::load(Some(&b), &named).unwrap();
    assert_eq!(c.listen, "127.0.0.1:2222".parse().unwrap());
}

#[test]
fn empty_environment_variables_count_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir, "hq.toml", "[admin]\ntoken = \"file-token\"\n");
    let c = Config::load(
        Some(&file),
        &env(&[("TILLCARD_HQ_ADMIN_TOKEN", ""), ("TILLCARD_HQ_LISTEN", "")]),
    )
    .unwrap();
    assert_eq!(c.admin_token.as_deref(), Some("file-token"));
    assert_eq!(c.listen, "127.0.0.1:8640".parse().unwrap());
}

#[test]
fn mistakes_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write(&dir, "typo.toml", "[database]\nsqlite_path = \"x\"\n");
    let e = Config::load(Some(&typo), &env(&[])).unwrap_err();
    assert!(e.to_string().contains("sqlite_path"), "{e}");

    let bad = write(&dir, "bad.toml", "listen = \"nowhere\"\n");
    let e = Config::load(Some(&bad), &env(&[])).unwrap_err();
    assert!(e.to_string().starts_with("listen:"), "{e}");

    let e = Config::load(None, &env(&[("TILLCARD_HQ_LOG_FORMAT", "xml")])).unwrap_err();
    assert!(e.to_string().contains("TILLCARD_HQ_LOG_FORMAT"), "{e}");

    let e = Config::load(None, &env(&[("TILLCARD_HQ_JOBS_AT", "3am")])).unwrap_err();
    assert!(e.to_string().starts_with("TILLCARD_HQ_JOBS_AT:"), "{e}");
    let late = write(&dir, "late.toml", "[jobs]\nat = \"25:00\"\n");
    let e = Config::load(Some(&late), &env(&[])).unwrap_err();
    assert!(e.to_string().starts_with("jobs.at:"), "{e}");
    let early = write(&dir, "early.toml", "[jobs]\nat = \"01:30\"\n");
    let config = Config::load(Some(&early), &env(&[])).unwrap();
    assert_eq!(config.jobs_at.to_string(), "01:30:00");

    let empty = write(&dir, "empty-token", "\n");
    let file = write(
        &dir,
        "hq.toml",
        &format!("[admin]\ntoken_file = \"{}\"\n", empty.display()),
    );
    let e = Config::load(Some(&file), &env(&[])).unwrap_err();
    assert!(e.to_string().contains("admin.token_file"), "{e}");

    let missing = dir.path().join("missing.toml");
    let e = Config::load(Some(&missing), &env(&[])).unwrap_err();
    assert!(matches!(e, ConfigError::Read(..)), "{e}");

    let e = Config::load(
        None,
        &env(&[("TILLCARD_HQ_TRUSTED_PROXIES", "10.0.0.5, lb")]),
    )
    .unwrap_err();
    assert!(
        e.to_string().starts_with("TILLCARD_HQ_TRUSTED_PROXIES:"),
        "{e}"
    );
    let long = write(&dir, "long.toml", "[node]\ndrain_seconds = 3600\n");
    let e = Config::load(Some(&long), &env(&[])).unwrap_err();
    assert!(e.to_string().starts_with("node.drain_seconds:"), "{e}");
}

#[test]
fn a_node_behind_balancers_reads_them_and_its_drain_from_the_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let none = Config::load(None, &env(&[])).unwrap();
    assert!(none.trusted_proxies.is_empty());
    assert!(none.drain.is_zero());
    assert!(none.poll_cache, "the poll cache is on unless turned off");
    let file = write(
        &dir,
        "node.toml",
        "[node]\ntrusted_proxies = [\"10.0.0.5\", \"::1\"]\ndrain_seconds = 5\npoll_cache = false\n",
    );
    let c = Config::load(Some(&file), &env(&[])).unwrap();
    assert_eq!(
        c.trusted_proxies,
        vec![
            "10.0.0.5".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap()
        ]
    );
    assert_eq!(c.drain, std::time::Duration::from_secs(5));
    assert!(!c.poll_cache);
    let c = Config::load(
        Some(&file),
        &env(&[
            ("TILLCARD_HQ_TRUSTED_PROXIES", "127.0.0.1"),
            ("TILLCARD_HQ_DRAIN_SECONDS", "2"),
            ("TILLCARD_HQ_POLL_CACHE", "on"),
        ]),
    )
    .unwrap();
    assert!(c.poll_cache);
    let e = Config::load(None, &env(&[("TILLCARD_HQ_POLL_CACHE", "sometimes")])).unwrap_err();
    assert!(e.to_string().starts_with("TILLCARD_HQ_POLL_CACHE:"), "{e}");
    assert_eq!(
        c.trusted_proxies,
        vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(c.drain, std::time::Duration::from_secs(2));
}
