//! Hostile input against the account routes, through several instances sharing
//! one Redis: login brute force is throttled per account and per client address
//! until the window passes, and a password reset token works once.

use std::time::Duration;

use serde_json::json;

use crate::Result;
use crate::checker::{Check, Verdict};
use crate::client::{Req, send};
use crate::cluster::Cluster;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Registers a fresh account on `addr`; its email.
async fn register(addr: &str, tag: &str, password: &str) -> Result<String> {
    let email = format!("{tag}-{}@chaos.example", uuid::Uuid::new_v4().simple());
    let r = send(
        addr,
        &Req::new("POST", "/v1/auth/register")
            .json(&json!({"email": email, "name": "Target", "password": password})),
        TIMEOUT,
    )
    .await?;
    if r.status >= 300 {
        return Err(format!("register {email}: {} {}", r.status, r.body).into());
    }
    Ok(email)
}

/// The status of a login attempt on `addr`.
async fn login(addr: &str, email: &str, password: &str) -> Result<u16> {
    let r = send(
        addr,
        &Req::new("POST", "/v1/auth/login").json(&json!({"email": email, "password": password})),
        TIMEOUT,
    )
    .await?;
    Ok(r.status)
}

/// Login brute force: `per_account` wrong passwords, then the right one is refused
/// (429) on another instance until the window passes, then accepted; the same per
/// client address with wrong attempts spread over many accounts.
pub async fn login_throttled(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let limits = cluster.options.login;
    let window = Duration::from_secs(limits.window_secs);
    let addrs = &cluster.addrs;
    let at = |i: usize| addrs[i % addrs.len()].as_str();
    let mut violations = Vec::new();
    // A clean window for this address (earlier checks log in too).
    tokio::time::sleep(window + Duration::from_millis(500)).await;
    let right = "correct horse battery";
    let email = register(at(0), "brute", right).await?;
    for i in 0..limits.per_account {
        let s = login(at(i as usize), &email, "wrong password!").await?;
        if s != 401 {
            violations.push(format!("wrong password {i}: {s}, not 401"));
        }
    }
    let s = login(at(1), &email, right).await?;
    if s != 429 {
        violations.push(format!(
            "right password after {} wrong ones: {s}, not 429",
            limits.per_account
        ));
    }
    tokio::time::sleep(window + Duration::from_millis(500)).await;
    let s = login(at(2), &email, right).await?;
    if s != 200 {
        violations.push(format!(
            "right password once the window passed: {s}, not 200"
        ));
    }
    // Per address: wrong attempts on many accounts (none reaches its own limit;
    // the attempts above may still count in the address's window: some of these
    // are then refused already, which is the point too).
    let fresh = register(at(1), "fresh", right).await?;
    // A burst of wrong logins, then the right one at once; on a machine so busy
    // that the burst outlasts the window, again (at most 3 bursts).
    let mut refused_early = 0;
    let mut answer = 0;
    for _ in 0..3 {
        let mut attempts = tokio::task::JoinSet::new();
        for i in 0..limits.per_address {
            let addr = at(i as usize).to_owned();
            attempts.spawn(async move {
                let email = format!("nobody-{i}@chaos.example");
                login(&addr, &email, "wrong password!").await.ok()
            });
        }
        let statuses = attempts.join_all().await;
        refused_early = statuses.iter().filter(|s| **s == Some(429)).count();
        answer = login(at(0), &fresh, right).await?;
        if answer == 429 {
            break;
        }
    }
    if answer != 429 {
        violations.push(format!(
            "right password of an untouched account after {} wrong logins from this address: {answer}, not 429",
            limits.per_address
        ));
    }
    tokio::time::sleep(window + Duration::from_millis(500)).await;
    let s = login(at(1), &fresh, right).await?;
    if s != 200 {
        violations.push(format!(
            "right password once the address's window passed: {s}, not 200"
        ));
    }
    verdict.push(Check::new(
        "login brute force throttled",
        violations,
        format!(
            "{} per account, {} per address, {} s window, across instances ({refused_early} of the address's attempts already refused)",
            limits.per_account, limits.per_address, limits.window_secs
        ),
    ));
    Ok(())
}

/// A password reset token (read from the mail, on whichever instance sent it)
/// sets the password once: used again it is refused and changes nothing.
pub async fn reset_token_once(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    let addrs = &cluster.addrs;
    let at = |i: usize| addrs[i % addrs.len()].as_str();
    let mut violations = Vec::new();
    let old = "old password 1";
    let email = register(at(0), "reset", old).await?;
    let r = send(
        at(1),
        &Req::new("POST", "/v1/auth/password-reset").json(&json!({ "email": email })),
        TIMEOUT,
    )
    .await?;
    if r.status != 202 {
        violations.push(format!("reset request: {} {}", r.status, r.body));
    }
    let token = reset_token(cluster, &email).await?;
    let first = send(
        at(0),
        &Req::new("POST", "/v1/auth/password-reset/confirm")
            .json(&json!({"token": token, "new_password": "new password 1"})),
        TIMEOUT,
    )
    .await?;
    if first.status != 204 {
        violations.push(format!("first use: {} {}", first.status, first.body));
    }
    let again = send(
        at(1),
        &Req::new("POST", "/v1/auth/password-reset/confirm")
            .json(&json!({"token": token, "new_password": "new password 2"})),
        TIMEOUT,
    )
    .await?;
    if again.status != 400 && again.status != 422 {
        violations.push(format!(
            "second use: {} {}, not refused",
            again.status, again.body
        ));
    }
    for (password, want) in [("new password 1", 200), ("new password 2", 401), (old, 401)] {
        let s = login(at(2), &email, password).await?;
        if s != want {
            violations.push(format!("login with {password:?}: {s}, not {want}"));
        }
    }
    verdict.push(Check::new(
        "password reset token works once",
        violations,
        "token from the mail, used on one instance, again on another",
    ));
    Ok(())
}

/// The reset token of the newest reset mail to `email` at the shop's SMTP server
/// (the notification worker of any instance may have sent it).
async fn reset_token(cluster: &Cluster, email: &str) -> Result<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mails = cluster.mail.received();
        for mail in mails.iter().rev() {
            if !mail.to.iter().any(|t| t.eq_ignore_ascii_case(email)) {
                continue;
            }
            let text = mail_text(&mail.data);
            if let Some(rest) = text.split("token=").nth(1) {
                let token: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                if !token.is_empty() {
                    return Ok(token);
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("no reset mail to {email} at the SMTP server after 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The bodies of a mail's MIME parts, quoted-printable ones decoded (long lines of
/// a body are sent so), the others as they are.
fn mail_text(data: &str) -> String {
    data.split("\r\n--")
        .map(|part| match part.split_once("\r\n\r\n") {
            Some((head, body)) if head.to_ascii_lowercase().contains("quoted-printable") => {
                quoted_printable(body)
            }
            Some((_, body)) => body.to_owned(),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with quoted-printable soft line breaks joined and `=XX` escapes decoded.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Signs in on `addr` through the API; the session token.
pub(crate) async fn sign_in(addr: &str, email: &str, password: &str) -> Result<String> {
    let r = send(
        addr,
        &Req::new("POST", "/v1/auth/login").json(&json!({"email": email, "password": password})),
        TIMEOUT,
    )
    .await?;
    r.body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("sign-in of {email}: {} {}", r.status, r.body).into())
}

/// Staff sessions in the authorization sweep: the demo seller (signed in through
/// the API) is refused every admin route (403), and cannot change another seller's
/// product, price or stock (no 2xx, nothing changed); no 5xx anywhere.
pub async fn staff_sessions(cluster: &Cluster, verdict: &mut Verdict) -> Result<()> {
    use commerce_http::access::{Access, ROUTES};
    use sqlx::Row;
    let addrs = &cluster.addrs;
    let at = |i: usize| addrs[i % addrs.len()].as_str();
    // The checks before end with a passed window and a few logins: the address
    // has allowance left.
    let seller = sign_in(at(0), "seller@example.com", "seller-demo-password").await?;
    let mut violations = Vec::new();
    let mut calls = 0;
    let dummy = uuid::Uuid::new_v4().to_string();
    for (i, rule) in ROUTES
        .iter()
        .filter(|r| r.access == Access::Admin)
        .enumerate()
    {
        let path = rule
            .path
            .replace("{id}", &dummy)
            .replace("{code}", "CHAOS")
            .replace("{figure}", "revenue")
            .replace("{chart}", "revenue");
        let method = match rule.method {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            _ => "DELETE",
        };
        let mut req = Req::new(method, path.clone()).bearer(Some(&seller));
        if method != "GET" {
            req = req.json(&json!({}));
        }
        calls += 1;
        match send(at(i), &req, TIMEOUT).await {
            Ok(a) if a.status == 403 => {}
            Ok(a) => violations.push(format!("seller {method} {path}: {}, not 403", a.status)),
            Err(e) => violations.push(format!("seller {method} {path}: {e}")),
        }
    }
    // A product of another seller than the demo seller's, and its first SKU.
    let row = sqlx::query(
        "SELECT p.id::text AS id, v.sku FROM commerce.products p
           JOIN commerce.variants v ON v.product_id = p.id
          WHERE p.seller_id <> (SELECT c.seller_id FROM commerce.credentials c
                                  JOIN commerce.customers u ON u.id = c.customer_id
                                 WHERE lower(u.email) = 'seller@example.com')
          ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&cluster.pool)
    .await?;
    let (product, sku): (String, String) = (row.try_get("id")?, row.try_get("sku")?);
    let state = |pool: sqlx::PgPool, product: String, sku: String| async move {
        sqlx::query_as::<_, (String, String)>(
            "SELECT (SELECT row_to_json(p)::text FROM commerce.products p WHERE id::text = $1),
                    (SELECT coalesce(json_agg(s ORDER BY location)::text, '') FROM commerce.stock_levels s WHERE sku = $2)",
        )
        .bind(product)
        .bind(sku)
        .fetch_one(&pool)
        .await
    };
    let before = state(cluster.pool.clone(), product.clone(), sku.clone()).await?;
    let attempts = [
        Req::new("PUT", format!("/v1/seller/skus/{sku}/price"))
            .json(&json!({"price": {"amount": "0.01", "currency": "USD"}})),
        Req::new("POST", format!("/v1/seller/skus/{sku}/stock")).json(&json!({"delta": 1000})),
        Req::new("PUT", format!("/v1/seller/products/{product}"))
            .json(&json!({"title": "Taken over", "description": "", "status": "inactive"})),
    ];
    for (i, req) in attempts.into_iter().enumerate() {
        let req = req.bearer(Some(&seller));
        calls += 1;
        match send(at(i), &req, TIMEOUT).await {
            Ok(a) if a.status < 300 || a.status >= 500 => violations.push(format!(
                "seller {} {} of another seller: {}",
                req.method, req.path, a.status
            )),
            Ok(_) => {}
            Err(e) => violations.push(format!("seller {} {}: {e}", req.method, req.path)),
        }
    }
    let after = state(cluster.pool.clone(), product.clone(), sku.clone()).await?;
    if before != after {
        violations.push(format!(
            "another seller's product {product} or stock of {sku} changed"
        ));
    }
    verdict.push(Check::new(
        "staff: seller kept to its own",
        violations,
        format!("{calls} calls with the demo seller's session"),
    ));
    Ok(())
}
