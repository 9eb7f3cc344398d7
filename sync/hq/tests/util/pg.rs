//! A throwaway PostgreSQL for tests, started from Debian's packages: initdb
//! into a temp dir, pg_ctl start on a free port (as user `postgres` when the
//! tests run as root), stopped by a watchdog when the test process exits.
//! No PostgreSQL found is a test failure, never a silent skip.

// Tests talk to their throwaway PostgreSQL directly (create databases, kill
// connections, read statistics): clippy.toml keeps connections in the store
// modules for product code only.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster.
pub struct Cluster {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Superuser name.
    pub user: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn find_bin(name: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn as_pg_user(root: bool, program: &PathBuf, args: &[&str]) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

/// Runs `command` to its end; when it fails, `what` failed with its
/// stderr and what `more` adds (the server's log).
fn run(mut command: Command, what: &str, more: impl FnOnce() -> String) -> Result<(), String> {
    let out = command.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            more()
        ));
    }
    Ok(())
}

fn start() -> Result<Cluster, String> {
    let initdb = find_bin("initdb").ok_or(
        "PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-deps --test \
         (apt-get install -y postgresql)",
    )?;
    let pg_ctl = find_bin("pg_ctl").ok_or("pg_ctl not found")?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("tillcard-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let data = dir.join("data");
    let sock = dir.join("sock");
    std::fs::create_dir_all(&sock).map_err(|e| e.to_string())?;
    if root {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err("chown postgres failed (is the postgres user there?)".into());
        }
    }
    let user = if root {
        "postgres".to_string()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "postgres".into())
    };
    run(
        as_pg_user(
            root,
            &initdb,
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                &user,
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        ),
        "initdb",
        String::new,
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB",
        sock.to_string_lossy()
    );
    // `BENCH_PGSS=1 cargo bench -p tillcard-hq --bench hq`: per-statement
    // figures from pg_stat_statements (part of Debian's postgresql package).
    if std::env::var_os("BENCH_PGSS").is_some() {
        opts.push_str(" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on");
    }
    // `BENCH_PG_OPTS='-c ...'`: more server settings for a profiling run
    // (auto_explain, say); the log stays in the cluster's directory.
    if let Ok(more) = std::env::var("BENCH_PG_OPTS") {
        opts.push(' ');
        opts.push_str(&more);
    }
    let log = dir.join("log");
    run(
        as_pg_user(
            root,
            &pg_ctl,
            &[
                "-D",
                &data.to_string_lossy(),
                "-o",
                &opts,
                "-l",
                &log.to_string_lossy(),
                "-w",
                "start",
            ],
        ),
        "pg_ctl start",
        || format!(" {}", std::fs::read_to_string(&log).unwrap_or_default()),
    )?;
    // Watchdog: stop the cluster and remove its files when this process ends.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {run}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        run = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = pg_ctl.to_string_lossy(),
        data = data.to_string_lossy(),
        dir = dir.to_string_lossy(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &stop])
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(Cluster { port, user })
}

/// The shared cluster of this test process (started on first use).
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("CI: PostgreSQL is required for the PostgreSQL half of the suite: {why}");
            }
            panic!("PostgreSQL tests cannot run: {why}");
        }
    }
}

/// A fresh empty database on the shared cluster; returns its URL.
pub async fn fresh_database() -> String {
    let c = cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let admin = format!("postgres://{}@127.0.0.1:{}/postgres", c.user, c.port);
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C'"
        ))
        .await
        .unwrap();
    format!("postgres://{}@127.0.0.1:{}/{name}", c.user, c.port)
}
