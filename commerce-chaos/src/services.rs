//! Throwaway PostgreSQL and Redis servers on spare loopback ports in a temporary
//! directory: the fault scenarios restart and kill these, never the shared ones.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Result;

/// A directory under the system's temporary directory, removed on drop.
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
