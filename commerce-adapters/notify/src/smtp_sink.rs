//! A minimal SMTP server on loopback that accepts (or rejects) mail and keeps what
//! it received: the sink tests and the benchmark talk to over a real SMTP
//! conversation (no SMTP server runs on the development and CI machines).
//!
//! It speaks the subset a client needs: `EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`,
//! `DATA` (dot-unstuffed), `RSET`, `NOOP`, `QUIT`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One message the sink accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-unstuffed, CRLF line ends).
    pub data: String,
    /// When the sink accepted it.
    pub accepted_at: Instant,
}

impl ReceivedMail {
    /// The value of header `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut()
                && (line.starts_with(' ') || line.starts_with('\t'))
            {
                v.push_str(line.trim_start());
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }
}

#[derive(Debug, Default)]
struct Shared {
    mail: Mutex<Vec<ReceivedMail>>,
    reject: AtomicBool,
    arrived: Notify,
}

fn lock(m: &Mutex<Vec<ReceivedMail>>) -> MutexGuard<'_, Vec<ReceivedMail>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running sink; stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = session(stream, s).await;
                });
            }
        });
        Ok(SmtpSink { addr, shared, task })
    }

    /// `smtp://127.0.0.1:<port>`, for [`crate::SmtpMailer::from_url`].
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// When `true`, every message is refused with `550` at `RCPT TO`.
    pub fn reject_all(&self, reject: bool) {
        self.shared.reject.store(reject, Ordering::SeqCst);
    }

    /// Every message accepted, oldest first.
    pub fn received(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.mail).clone()
    }

    /// Number of messages accepted.
    pub fn count(&self) -> usize {
        lock(&self.shared.mail).len()
    }

    /// Waits until at least `n` messages arrived or `timeout` passed; returns the
    /// count then.
    pub async fn wait_for(&self, n: usize, timeout: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            let count = self.count();
            if count >= n {
                return count;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count();
            }
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    // Replies are small writes: without this, Nagle's algorithm and delayed ACKs
    // add ~40 ms per exchange.
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 commerce-sink ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-commerce-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 commerce-sink\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            if shared.reject.load(Ordering::SeqCst) {
                write.write_all(b"550 mailbox unavailable\r\n").await?;
            } else {
                to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
                write.write_all(b"250 OK\r\n").await?;
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l.trim_end_matches(['\r', '\n']));
                data.push_str("\r\n");
            }
            let n = {
                let mut mail = lock(&shared.mail);
                mail.push(ReceivedMail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                    accepted_at: Instant::now(),
                });
                mail.len()
            };
            shared.arrived.notify_waiters();
            write
                .write_all(format!("250 OK queued as sink-{n}\r\n").as_bytes())
                .await?;
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "NOOP" {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
