//! Throwaway PostgreSQL and Redis servers on spare loopback ports in a temporary
//! directory: the fault scenarios restart and kill these, never the shared ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Result;

/// A directory under the system's temporary directory, removed on drop (kept, and
/// named on stderr, when `CHAOS_KEEP_LOGS` is set and it is a `logs` directory:
/// the instances' output, to read after a failed run).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory named after `label`, this process and a counter.
    pub fn new(label: &str) -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!(
            "commerce-chaos-{label}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir(path))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let is_logs = self
            .0
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("commerce-chaos-logs-"));
        if is_logs && std::env::var_os("CHAOS_KEEP_LOGS").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on 127.0.0.1 (bound and released: good enough on a machine
/// where nothing else races for ephemeral ports in the same instant).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `addr` accepts TCP connections, for at most `timeout`.
pub async fn wait_for_port(addr: &str, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("{addr} did not accept connections within {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Where PostgreSQL's server programs are: `PG_BIN` or the newest
/// `/usr/lib/postgresql/*/bin`.
fn pg_bin() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            format!("no /usr/lib/postgresql ({e}): install postgresql or set PG_BIN to the directory of initdb and pg_ctl")
        })?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin: set PG_BIN".into())
}

/// A PostgreSQL server of our own (trust auth, fsync off), stopped and removed on
/// drop. As root, it runs as the `postgres` user (PostgreSQL refuses root).
#[derive(Debug)]
pub struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    /// initdb and start on a spare port.
    pub async fn start() -> Result<Postgres> {
        let dir = TempDir::new("pg")?;
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        let pg = Postgres {
            bin: pg_bin()?,
            port: free_port()?,
            as_postgres,
            dir,
        };
        let data = pg.data();
        let mut initdb = pg.command("initdb");
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        run(&mut initdb)?;
        pg.start_server().await?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Starts the server (after [`Postgres::stop`]).
    pub async fn start_server(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            self.dir.path().display()
        );
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "start"]);
        run(&mut ctl)?;
        wait_for_port(&format!("127.0.0.1:{}", self.port), Duration::from_secs(30)).await
    }

    /// Stops the server: `immediate` is a crash (no checkpoint, every connection cut).
    pub fn stop(&self, immediate: bool) -> Result<()> {
        let mut ctl = self.command("pg_ctl");
        ctl.arg("-D").arg(self.data()).args([
            "-m",
            if immediate { "immediate" } else { "fast" },
            "-w",
            "stop",
        ]);
        run(&mut ctl)
    }

    /// The URL of database `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.stop(true);
    }
}

/// A Redis server of our own, killed and removed on drop.
#[derive(Debug)]
pub struct Redis {
    dir: TempDir,
    port: u16,
    persistent: bool,
    child: Option<std::process::Child>,
}

impl Redis {
    /// Starts `redis-server` on a spare port; `persistent` turns the append-only
    /// file on (fsync every write), else nothing is saved (`--save ''`).
    pub async fn start(persistent: bool) -> Result<Redis> {
        let mut redis = Redis {
            dir: TempDir::new("redis")?,
            port: free_port()?,
            persistent,
            child: None,
        };
        redis.start_server().await?;
        Ok(redis)
    }

    /// Starts the server (after [`Redis::kill`]).
    pub async fn start_server(&mut self) -> Result<()> {
        let mut c = Command::new("redis-server");
        c.args([
            "--port",
            &self.port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(self.dir.path());
        if self.persistent {
            c.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            c.args(["--appendonly", "no"]);
        }
        let child = c
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e} (apt-get install redis-server)"))?;
        self.child = Some(child);
        wait_for_port(&format!("127.0.0.1:{}", self.port), Duration::from_secs(10)).await
    }

    /// Kills the server (SIGKILL: whatever was not persisted is lost).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn run(command: &mut Command) -> Result<()> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into())
    }
}

/// Where RabbitMQ's scripts are: `RABBITMQ_BIN` or `/usr/lib/rabbitmq/bin` (the
/// scripts themselves, not the `/usr/sbin` wrappers that switch to the `rabbitmq`
/// user and its node).
fn rabbitmq_bin() -> Result<PathBuf> {
    let dir = std::env::var("RABBITMQ_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/lib/rabbitmq/bin"));
    if dir.join("rabbitmq-server").exists() {
        Ok(dir)
    } else {
        Err(format!(
            "no rabbitmq-server in {} (apt-get install rabbitmq-server, or set RABBITMQ_BIN)",
            dir.display()
        )
        .into())
    }
}

/// A RabbitMQ node of our own (`chaos-<port>@localhost`: its own AMQP and
/// distribution ports, data, logs and Erlang cookie in a temporary directory),
/// killed and removed on drop. The shared broker on 5672 is never touched: its
/// queue names are the example's, other helpers' runs use it, and a restart of it
/// would be everyone's outage.
#[derive(Debug)]
pub struct RabbitMq {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    dist_port: u16,
    child: Option<std::process::Child>,
}

impl RabbitMq {
    /// Starts a node on spare ports; returns when it accepts AMQP connections.
    pub async fn start() -> Result<RabbitMq> {
        let dir = TempDir::new("rabbitmq")?;
        let mut node = RabbitMq {
            bin: rabbitmq_bin()?,
            port: free_port()?,
            dist_port: free_port()?,
            dir,
            child: None,
        };
        std::fs::write(
            node.dir.path().join("rabbitmq.conf"),
            format!(
                "listeners.tcp.local = 127.0.0.1:{}\nlog.console = false\n",
                node.port
            ),
        )?;
        std::fs::write(node.dir.path().join("enabled_plugins"), "[].\n")?;
        std::fs::write(node.dir.path().join("rabbitmq-env.conf"), "")?;
        node.start_server().await?;
        Ok(node)
    }

    fn node_name(&self) -> String {
        format!("chaos-{}@localhost", self.port)
    }

    /// Starts the node (after [`RabbitMq::kill`]); returns when it accepts AMQP
    /// connections (a few seconds: the Erlang VM boots, the durable queues and
    /// their persistent messages are recovered).
    pub async fn start_server(&mut self) -> Result<()> {
        let d = self.dir.path().to_path_buf();
        let d = d.as_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("server.out"))?;
        let child = Command::new(self.bin.join("rabbitmq-server"))
            .current_dir(d)
            // The Erlang cookie is created in (and read from) $HOME.
            .env("HOME", d)
            .env("RABBITMQ_NODENAME", self.node_name())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq.conf"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", d.join("advanced.config"))
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_PID_FILE", d.join("pid"))
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            // The script then execs the VM (no shell in between): the child is
            // the broker, and killing it is the crash.
            .env("RUNNING_UNDER_SYSTEMD", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("rabbitmq-server: {e}"))?;
        self.child = Some(child);
        let ready =
            wait_for_port(&format!("127.0.0.1:{}", self.port), Duration::from_secs(90)).await;
        if let Err(e) = ready {
            self.kill();
            return Err(format!(
                "RabbitMQ node {} did not start: {e} (see {})",
                self.node_name(),
                d.join("server.out").display()
            )
            .into());
        }
        Ok(())
    }

    /// Kills the node (SIGKILL: connections cut, unacknowledged deliveries
    /// requeued when it comes back, unconfirmed publishes lost).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its URL (guest, default vhost).
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Its AMQP `host:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Has the node close every client connection (`rabbitmqctl
    /// close_all_connections`: a `connection.close` to each, the broker up
    /// throughout); returns what rabbitmqctl said. Unacknowledged deliveries go
    /// back to their queues at once.
    pub async fn close_all_connections(&self) -> Result<String> {
        let d = self.dir.path();
        let out = tokio::process::Command::new(self.bin.join("rabbitmqctl"))
            .current_dir(d)
            .env("HOME", d)
            .env("RABBITMQ_CONF_ENV_FILE", d.join("rabbitmq-env.conf"))
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .args(["-n", &self.node_name(), "close_all_connections", "chaos"])
            .output()
            .await?;
        if !out.status.success() {
            return Err(format!(
                "rabbitmqctl close_all_connections failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP proxy on a spare loopback port in front of a service, which can cut every
/// connection through it at once and refuse new ones for a while: a network cut
/// between the instances and the service, instantaneous, with the service up.
#[derive(Debug)]
pub struct CuttableProxy {
    addr: std::net::SocketAddr,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    /// A proxy to `upstream` (`host:port`).
    pub async fn to(upstream: String) -> Result<CuttableProxy> {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (d, l) = (down.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    // Cut: the connection is dropped at once.
                    continue;
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut links = l.lock().unwrap_or_else(|p| p.into_inner());
                links.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
                links.push(link);
            }
        });
        Ok(CuttableProxy {
            addr,
            down,
            links,
            accept,
        })
    }

    /// Its `host:port`.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Cuts every connection through it (both sockets closed) and refuses new ones
    /// for `down`; returns how many were cut.
    pub async fn cut(&self, down: Duration) -> usize {
        use std::sync::atomic::Ordering;
        self.down.store(true, Ordering::SeqCst);
        let cut = {
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            let n = links.iter().filter(|t| !t.is_finished()).count();
            for link in links.drain(..) {
                link.abort();
            }
            n
        };
        tokio::time::sleep(down).await;
        self.down.store(false, Ordering::SeqCst);
        cut
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accept.abort();
        for link in self
            .links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            link.abort();
        }
    }
}
