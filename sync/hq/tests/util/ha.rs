//! A highly available head office's database for tests, from Debian's
//! packages and the templates in `packaging/ha/`: one etcd, two Patroni
//! nodes (PostgreSQL with synchronous replication) and HAProxy sending
//! connections to whichever node Patroni's REST API calls the primary, and
//! HTTP to the head-office nodes that answer `/health`. Every process is a
//! child of the test on 127.0.0.1 ports chosen at run time; every wait is
//! bounded. [`Drop`] stops them all; a watchdog does the same if the test
//! process dies first (Patroni starts PostgreSQL in its own session, so it
//! would outlive the test). `packaging/ha/prototype.sh` is the same
//! recipe in bash, and its comments say why each step is as it is.

// The test talks to PostgreSQL directly to create the application's
// database.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PATRONI_TEMPLATE: &str = include_str!("../../../../packaging/ha/patroni.yml.template");
const HAPROXY_TEMPLATE: &str = include_str!("../../../../packaging/ha/haproxy.cfg.template");
const SUPERUSER_PASSWORD: &str = "ha-test-super";
const REPLICATION_PASSWORD: &str = "ha-test-replication";
/// The application's database, made through HAProxy once a primary is up.
pub const DATABASE: &str = "tillcard";

/// One Patroni node: its PostgreSQL and REST ports and its process.
struct Node {
    name: String,
    pg_port: u16,
    rest_port: u16,
    patroni: Option<Child>,
}

/// The running cluster.
pub struct HaCluster {
    scratch: PathBuf,
    root: bool,
    nodes: Vec<Node>,
    etcd: Option<Child>,
    haproxy: Option<Child>,
    /// HAProxy's PostgreSQL port: always the primary.
    pub pg_front_port: u16,
    /// HAProxy's port for reads: a running standby.
    #[allow(dead_code, reason = "the failover bench reads no figures")]
    pub pg_read_port: u16,
    /// HAProxy's HTTP port: the head-office nodes that answer `/health`.
    pub hq_front_port: u16,
    http: reqwest::Client,
}

fn free_ports(n: usize) -> Vec<u16> {
    // All bound at once, so no port repeats.
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/install-deps --test)")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("postgres").exists())
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL bin directory")
}

fn which(program: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let path = Path::new(dir).join(program);
        if path.exists() {
            return path;
        }
    }
    panic!(
        "{program} not found: run scripts/install-deps --test (Debian's patroni, etcd-server, haproxy)"
    );
}

/// A command with nothing of the caller's environment (Patroni reads
/// `PATRONI_*`, etcd `ETCD_*`, libpq `PG*`), quiet, its output in `log`.
fn clean(program: &Path, log: &Path) -> Command {
    let mut command = Command::new(program);
    let out = std::fs::File::create(log).unwrap();
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    command
}

impl HaCluster {
    /// Starts etcd, HAProxy (its head-office backend naming `hq_ports`)
    /// and two Patroni nodes; returns once a primary answers through
    /// HAProxy, the other node is its synchronous standby, and the
    /// application's database exists.
    pub async fn start(hq_ports: &[u16]) -> HaCluster {
        let root = is_root();
        let scratch = std::env::temp_dir().join(format!(
            "tillcard-ha-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&scratch).unwrap();
        let ports = free_ports(9);
        let pg_read_port = ports[8];
        let (etcd_port, etcd_peer_port, pg_front_port, hq_front_port) =
            (ports[0], ports[1], ports[2], ports[3]);
        let scope = format!("tillcard-ha-{}", std::process::id());
        let bin = pg_bin();
        let mut nodes = Vec::new();
        for (i, name) in ["node1", "node2"].into_iter().enumerate() {
            let node = Node {
                name: name.into(),
                pg_port: ports[4 + 2 * i],
                rest_port: ports[5 + 2 * i],
                patroni: None,
            };
            std::fs::create_dir_all(scratch.join(name).join("sock")).unwrap();
            let config = PATRONI_TEMPLATE
                .replace("{{SCOPE}}", &scope)
                .replace("{{NAME}}", name)
                .replace("{{SCRATCH}}", &scratch.to_string_lossy())
                .replace("{{PG_PORT}}", &node.pg_port.to_string())
                .replace("{{REST_PORT}}", &node.rest_port.to_string())
                .replace("{{ETCD_PORT}}", &etcd_port.to_string())
                .replace("{{PG_BIN}}", &bin.to_string_lossy())
                .replace("{{SUPERUSER_PASSWORD}}", SUPERUSER_PASSWORD)
                .replace("{{REPLICATION_PASSWORD}}", REPLICATION_PASSWORD);
            assert!(!config.contains("{{"), "an unfilled placeholder: {config}");
            std::fs::write(scratch.join(name).join("patroni.yml"), config).unwrap();
            nodes.push(node);
        }
        let pg_servers: String = nodes
            .iter()
            .map(|n| {
                format!(
                    "    server {} 127.0.0.1:{} check port {}\n",
                    n.name, n.pg_port, n.rest_port
                )
            })
            .collect();
        let hq_servers: String = hq_ports
            .iter()
            .enumerate()
            .map(|(i, port)| format!("    server hq{} 127.0.0.1:{port} check\n", i + 1))
            .collect();
        let haproxy_config = HAPROXY_TEMPLATE
            .replace("{{PG_FRONT_PORT}}", &pg_front_port.to_string())
            .replace("{{HQ_FRONT_PORT}}", &hq_front_port.to_string())
            .replace("{{PG_READ_PORT}}", &pg_read_port.to_string())
            .replace("{{PG_SERVERS}}", pg_servers.trim_end())
            .replace("{{HQ_SERVERS}}", hq_servers.trim_end());
        assert!(!haproxy_config.contains("{{"), "{haproxy_config}");
        let haproxy_cfg = scratch.join("haproxy.cfg");
        std::fs::write(&haproxy_cfg, haproxy_config).unwrap();
        if root {
            // initdb and postgres refuse root: the nodes run as `postgres`,
            // which must own their directories.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&scratch)
                .status()
                .unwrap();
            assert!(status.success(), "chown the scratch directory");
        }
        let mut cluster = HaCluster {
            scratch,
            root,
            nodes,
            etcd: None,
            haproxy: None,
            pg_front_port,
            pg_read_port,
            hq_front_port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        };
        cluster.watchdog();

        let etcd = clean(&which("etcd"), &cluster.scratch.join("etcd.log"))
            .args(["--name", "etcd0", "--data-dir"])
            .arg(cluster.scratch.join("etcd"))
            .arg("--listen-client-urls")
            .arg(format!("http://127.0.0.1:{etcd_port}"))
            .arg("--advertise-client-urls")
            .arg(format!("http://127.0.0.1:{etcd_port}"))
            .arg("--listen-peer-urls")
            .arg(format!("http://127.0.0.1:{etcd_peer_port}"))
            .arg("--initial-advertise-peer-urls")
            .arg(format!("http://127.0.0.1:{etcd_peer_port}"))
            .arg("--initial-cluster")
            .arg(format!("etcd0=http://127.0.0.1:{etcd_peer_port}"))
            .args(["--initial-cluster-state", "new", "--initial-cluster-token"])
            .arg(&scope)
            .spawn()
            .unwrap();
        cluster.etcd = Some(etcd);
        let health = format!("http://127.0.0.1:{etcd_port}/health");
        cluster
            .wait_for("etcd", Duration::from_secs(30), async |c| {
                c.get_text(&health)
                    .await
                    .is_some_and(|b| b.contains("\"health\":\"true\""))
            })
            .await;
        let haproxy = clean(&which("haproxy"), &cluster.scratch.join("haproxy.log"))
            .arg("-db")
            .arg("-f")
            .arg(&haproxy_cfg)
            .spawn()
            .unwrap();
        cluster.haproxy = Some(haproxy);
        for i in 0..cluster.nodes.len() {
            cluster.start_node(i);
        }
        let primary = cluster
            .wait_for_value("a primary", Duration::from_secs(120), async |c| {
                c.primary().await
            })
            .await;
        cluster.wait_for_sync_standby(primary).await;
        cluster
            .wait_for(
                "PostgreSQL through HAProxy",
                Duration::from_secs(30),
                async |c| c.connect("postgres").await.is_some(),
            )
            .await;
        let client = cluster.connect("postgres").await.unwrap();
        client
            .batch_execute(&format!(
                "CREATE DATABASE {DATABASE} TEMPLATE template0 LC_COLLATE 'C'"
            ))
            .await
            .unwrap();
        cluster
    }

    /// The application's URL, through HAProxy.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.pg_front_port
        )
    }

    /// The dashboard's reads' URL: the standby, through HAProxy.
    #[allow(dead_code, reason = "the failover bench reads no figures")]
    pub fn read_url(&self) -> String {
        format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.pg_read_port
        )
    }

    /// (Re)starts node `i`'s Patroni (which starts its PostgreSQL).
    pub fn start_node(&mut self, i: usize) {
        let node = &self.nodes[i];
        let dir = self.scratch.join(&node.name);
        let started = std::fs::read_dir(&dir).map_or(0, |d| d.count());
        let log = dir.join(format!("patroni-{started}.log"));
        let mut command = if self.root {
            // setpriv execs (no fork): the pid held is Patroni's own, so a
            // SIGKILL reaches it.
            let mut c = clean(&which("setpriv"), &log);
            c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
                .arg(which("patroni"));
            c
        } else {
            clean(&which("patroni"), &log)
        };
        command.env("HOME", &dir).arg(dir.join("patroni.yml"));
        self.nodes[i].patroni = Some(command.spawn().unwrap());
    }

    /// The node Patroni calls the primary now, if any.
    pub async fn primary(&self) -> Option<usize> {
        for (i, node) in self.nodes.iter().enumerate() {
            if self
                .status(&format!("http://127.0.0.1:{}/primary", node.rest_port))
                .await
                == Some(200)
            {
                return Some(i);
            }
        }
        None
    }

    /// Waits (at most 120 s) until the node other than `primary` is the
    /// synchronous standby: only then is an acknowledged commit on both.
    pub async fn wait_for_sync_standby(&self, primary: usize) {
        let standby = 1 - primary;
        let url = format!("http://127.0.0.1:{}/sync", self.nodes[standby].rest_port);
        self.wait_for(
            "the synchronous standby",
            Duration::from_secs(120),
            async |c| c.status(&url).await == Some(200),
        )
        .await;
    }

    /// A lost machine: SIGKILL node `i`'s Patroni and its postmaster.
    pub fn kill_node(&mut self, i: usize) {
        let postmaster = self.postmaster_pid(i);
        if let Some(mut patroni) = self.nodes[i].patroni.take() {
            let _ = patroni.kill();
            let _ = patroni.wait();
        }
        if let Some(pid) = postmaster {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }

    fn postmaster_pid(&self, i: usize) -> Option<u32> {
        let pidfile = self
            .scratch
            .join(&self.nodes[i].name)
            .join("data")
            .join("postmaster.pid");
        std::fs::read_to_string(pidfile)
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    async fn connect(&self, database: &str) -> Option<tokio_postgres::Client> {
        let url = format!(
            "postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{database}?connect_timeout=2",
            self.pg_front_port
        );
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .ok()?;
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.ok()?;
        Some(client)
    }

    async fn status(&self, url: &str) -> Option<u16> {
        Some(self.http.get(url).send().await.ok()?.status().as_u16())
    }

    async fn get_text(&self, url: &str) -> Option<String> {
        self.http.get(url).send().await.ok()?.text().await.ok()
    }

    async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        mut ready: impl AsyncFnMut(&HaCluster) -> bool,
    ) {
        self.wait_for_value(what, limit, async |c| ready(c).await.then_some(()))
            .await;
    }

    async fn wait_for_value<T>(
        &self,
        what: &str,
        limit: Duration,
        mut ready: impl AsyncFnMut(&HaCluster) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(value) = ready(self).await {
                println!("ha: {what} after {:.1} s", start.elapsed().as_secs_f64());
                return value;
            }
            if start.elapsed() > limit {
                panic!(
                    "ha: no {what} within {limit:?}; logs in {}:\n{}",
                    self.scratch.display(),
                    self.logs_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The end of every log, for a failure message.
    fn logs_tail(&self) -> String {
        let mut out = String::new();
        let mut logs: Vec<PathBuf> = vec![
            self.scratch.join("etcd.log"),
            self.scratch.join("haproxy.log"),
        ];
        for node in &self.nodes {
            if let Ok(dir) = std::fs::read_dir(self.scratch.join(&node.name)) {
                logs.extend(
                    dir.filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "log")),
                );
            }
        }
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("--- {}\n", log.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The shell lines that stop everything under the scratch directory:
    /// Patroni first (so it restarts nothing), then each PostgreSQL
    /// (`immediate`: its shared memory is released), etcd and HAProxy.
    /// The `[x]` in each pattern keeps pkill from matching the shell that
    /// runs these lines.
    fn stop_script(&self) -> String {
        let scratch = self.scratch.to_string_lossy();
        let run = if self.root {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let pg_ctl = pg_bin().join("pg_ctl");
        let mut script = format!("pkill -KILL -f '[p]atroni {scratch}/'; ");
        for node in &self.nodes {
            script.push_str(&format!(
                "{run}{} -D {scratch}/{}/data -m immediate stop >/dev/null 2>&1; ",
                pg_ctl.display(),
                node.name
            ));
        }
        script.push_str(&format!(
            "pkill -KILL -f '[e]tcd --name etcd0 --data-dir {scratch}/'; \
             pkill -KILL -f '[h]aproxy -db -f {scratch}/'; rm -rf {scratch}"
        ));
        script
    }

    /// Stops everything when this process ends, however it ends.
    #[allow(
        clippy::zombie_processes,
        reason = "the watchdog outlives this process by design"
    )]
    fn watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}",
            pid = std::process::id(),
            stop = self.stop_script()
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    }
}

impl Drop for HaCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut patroni) = node.patroni.take() {
                let _ = patroni.kill();
                let _ = patroni.wait();
            }
        }
        let _ = Command::new("sh")
            .args(["-c", &self.stop_script()])
            .status();
        for child in [self.etcd.take(), self.haproxy.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
