//! The server under test: the `platform` example, built once and run as processes
//! that the scenarios kill (-9) and start again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::Result;

/// The workspace root (the directory of the facade crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds the example (`cargo build --example platform`, as the other process
/// tests do so the artifacts are shared) and returns its executable.
pub async fn build_example() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("CHAOS_PLATFORM_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--example",
            "platform",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!("cargo build --example platform failed ({})", out.status).into());
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == "platform"
            && let Some(exe) = message["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    Err("cargo build --example platform named no executable".into())
}

/// How every instance is started: the executable and the environment.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The example's executable.
    pub exe: PathBuf,
    /// Environment (DATABASE_URL, REDIS_URL, PAYMENT_GATEWAY_URL, ...).
    pub env: Vec<(String, String)>,
    /// Where each instance's log goes (`instance-N.log`).
    pub log_dir: PathBuf,
}

/// One server process.
#[derive(Debug)]
pub struct Instance {
    /// Its number (0, 1, 2 ...).
    pub index: usize,
    /// `127.0.0.1:port`, the same across restarts.
    pub addr: String,
    child: Option<Child>,
    launch: Launch,
    /// How many times it was started.
    pub starts: u32,
}

impl Instance {
    /// Starts instance `index` on `port`; returns when it printed its URL.
    pub async fn start(launch: &Launch, index: usize, port: u16) -> Result<Instance> {
        let mut instance = Instance {
            index,
            addr: format!("127.0.0.1:{port}"),
            child: None,
            launch: launch.clone(),
            starts: 0,
        };
        instance.spawn().await?;
        Ok(instance)
    }

    /// Starts the process again after [`Instance::kill`].
    pub async fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(
            self.launch
                .log_dir
                .join(format!("instance-{}.log", self.index)),
        )?;
        let mut command = Command::new(&self.launch.exe);
        command
            .args(["--bind", &self.addr])
            .envs(
                self.launch
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let started = tokio::time::timeout(Duration::from_secs(120), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("listening on http://") {
                    return true;
                }
            }
            false
        })
        .await;
        if started != Ok(true) {
            let _ = child.start_kill();
            return Err(format!(
                "instance {} did not start (see its log in {})",
                self.index,
                self.launch.log_dir.display()
            )
            .into());
        }
        // Keep draining stdout so the process never blocks on a full pipe, into
        // its log (the example logs there: worker failures, notification retries).
        let mut log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(
                self.launch
                    .log_dir
                    .join(format!("instance-{}.log", self.index)),
            )
            .await
            .ok();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(f) = log.as_mut() {
                    use tokio::io::AsyncWriteExt;
                    if f.write_all(format!("{line}\n").as_bytes()).await.is_err() {
                        log = None;
                    }
                }
            }
        });
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// Kills the process with SIGKILL (no graceful shutdown, requests in flight cut).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Its process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS` of /proc), when readable.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
