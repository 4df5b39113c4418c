//! A schema-driven fuzzer over `/openapi.json`: for every operation, requests built
//! from its documented parameters and body schema (valid values, then each value
//! now and then replaced by a hostile one: wrong type, huge, negative, control
//! characters, injection strings), sent anonymously, as a guest and as a customer.
//! Every answer must be below 500, be one of the statuses the operation documents,
//! and match the documented schema (errors as `{code, message}`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::Result;
use crate::checker::{Check, Verdict};
use crate::client::{Req, send};
use crate::cluster::Cluster;
use crate::workload::Rng;

const HOSTILE_STRINGS: &[&str] = &[
    "",
    " ",
    "../../../etc/passwd",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\u{0}",
    "\u{202e}gnp.exe",
    "😀😀😀",
    "NaN",
    "-1",
    "99999999999999999999999999",
    "00000000-0000-0000-0000-000000000000",
    "ord_",
    "{}",
];

fn hostile(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!(-1),
        1 => json!(i64::MAX),
        2 => json!(1e300),
        3 => Value::Null,
        4 => json!([]),
        5 => json!({}),
        6 => json!("x".repeat(5000)),
        7 => json!(true),
        _ => json!(HOSTILE_STRINGS[rng.below(HOSTILE_STRINGS.len())]),
    }
}

/// Resolves a `$ref` to the schema it names.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..8 {
        match s["$ref"].as_str() {
            Some(r) => {
                let pointer = r.trim_start_matches('#');
                match doc.pointer(pointer) {
                    Some(next) => s = next,
                    None => return s,
                }
            }
            None => return s,
        }
    }
    s
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A value for `schema`; each node is replaced by a hostile one with `mutate` %.
fn generate(doc: &Value, schema: &Value, rng: &mut Rng, mutate: u64, depth: u32) -> Value {
    if rng.chance(mutate) {
        return hostile(rng);
    }
    let schema = resolve(doc, schema);
    if depth > 6 {
        return Value::Null;
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array()
            && !options.is_empty()
        {
            let pick = &options[rng.below(options.len())];
            return generate(doc, pick, rng, mutate, depth + 1);
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for p in parts {
            if let Value::Object(o) = generate(doc, p, rng, mutate, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.is_empty()
    {
        return options[rng.below(options.len())].clone();
    }
    let ts = types(schema);
    let t =
        ts.iter()
            .copied()
            .find(|t| *t != "null")
            .unwrap_or(if schema["properties"].is_object() {
                "object"
            } else {
                "string"
            });
    match t {
        "object" => {
            let mut out = Map::new();
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (name, prop) in props {
                    if required.contains(name.as_str()) || rng.chance(50) {
                        // Now and then a required field is left out.
                        if rng.chance(mutate / 2) {
                            continue;
                        }
                        out.insert(name.clone(), generate(doc, prop, rng, mutate, depth + 1));
                    }
                }
            }
            if rng.chance(mutate / 2) {
                out.insert("unexpected".into(), json!(1));
            }
            Value::Object(out)
        }
        "array" => {
            let n = rng.below(3);
            Value::Array(
                (0..n)
                    .map(|_| generate(doc, &schema["items"], rng, mutate, depth + 1))
                    .collect(),
            )
        }
        "integer" => {
            let min = schema["minimum"].as_i64().unwrap_or(0);
            json!(min + i64::try_from(rng.below(5)).unwrap_or(0))
        }
        "number" => json!(rng.below(100)),
        "boolean" => json!(rng.chance(50)),
        _ => match schema["format"].as_str() {
            Some("uuid") => json!(uuid::Uuid::now_v7().to_string()),
            Some("date-time") => json!("2026-01-01T00:00:00Z"),
            Some("date") => json!("2026-01-01"),
            _ => json!(["shirt", "US", "standard", "4242424242424242", "a"][rng.below(5)]),
        },
    }
}

/// Why `value` does not match `schema` (None: it matches).
pub fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return if options
            .iter()
            .any(|o| validate(doc, o, value, at).is_none())
        {
            None
        } else {
            Some(format!("{at}: matches none of the alternatives: {value}"))
        };
    }
    if let Some(parts) = schema["allOf"].as_array() {
        return parts.iter().find_map(|p| validate(doc, p, value, at));
    }
    let ts = types(schema);
    if !ts.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = ts.contains(&actual) || (actual == "integer" && ts.contains(&"number"));
        if !ok {
            return Some(format!("{at}: {actual} where {ts:?} is documented"));
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Some(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Value::Object(o) = value {
        if let Some(required) = schema["required"].as_array() {
            for r in required.iter().filter_map(Value::as_str) {
                if !o.contains_key(r) {
                    return Some(format!("{at}: required property {r:?} missing"));
                }
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in o {
                if let Some(p) = props.get(k)
                    && let Some(e) = validate(doc, p, v, &format!("{at}.{k}"))
                {
                    return Some(e);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            if let Some(e) = validate(doc, item, v, &format!("{at}[{i}]")) {
                return Some(e);
            }
        }
    }
    None
}

/// Sends `rounds` generated requests per operation of the document and checks each
/// answer.
pub async fn fuzz(cluster: &Cluster, rounds: usize, verdict: &mut Verdict) -> Result<()> {
    let addr = cluster.addrs[0].clone();
    let timeout = Duration::from_secs(10);
    let doc = send(&addr, &Req::new("GET", "/openapi.json"), timeout)
        .await?
        .body;
    let paths = doc["paths"]
        .as_object()
        .ok_or("no paths in /openapi.json")?;
    let sessions = cluster.customers(1).await?;
    let session = sessions[0].1.clone();
    let mut rng = Rng::new(0xF022);
    let mut violations = BTreeSet::new();
    let mut sent = 0;
    let mut statuses = BTreeSet::new();
    for (path, item) in paths {
        let Some(ops) = item.as_object() else {
            continue;
        };
        for (method, op) in ops {
            let method: &'static str = match method.as_str() {
                "get" => "GET",
                "post" => "POST",
                "put" => "PUT",
                "delete" => "DELETE",
                "patch" => "PATCH",
                _ => continue,
            };
            // Sign-outs would end the fuzzer's own session.
            if path.starts_with("/v1/auth/logout") {
                continue;
            }
            for round in 0..rounds {
                let mutate = if round == 0 { 0 } else { 15 };
                let mut url = path.clone();
                let mut query = Vec::new();
                let mut headers = Vec::new();
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let p = resolve(&doc, p);
                    let name = p["name"].as_str().unwrap_or("");
                    let v = generate(&doc, &p["schema"], &mut rng, mutate, 0);
                    let text = match &v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let encoded = encode(&text);
                    match p["in"].as_str() {
                        Some("path") => url = url.replace(&format!("{{{name}}}"), &encoded),
                        Some("query") if p["required"] == true || rng.chance(50) => {
                            query.push(format!("{name}={encoded}"))
                        }
                        Some("header")
                            if text.bytes().all(|b| (0x20..0x7f).contains(&b))
                                && !text.is_empty() =>
                        {
                            headers.push((name.to_owned(), text))
                        }
                        _ => {}
                    }
                }
                if !query.is_empty() {
                    url = format!("{url}?{}", query.join("&"));
                }
                let mut req = Req::new(method, url.clone());
                req.headers = headers;
                if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                    req = req.json(&generate(&doc, schema, &mut rng, mutate, 0));
                }
                req = match rng.below(3) {
                    0 => req,
                    1 => req.bearer(Some(&session)),
                    _ => {
                        let cart = send(&addr, &Req::new("POST", "/v1/cart"), timeout).await?;
                        req.header(
                            "x-cart-token",
                            cart.body["cart_token"].as_str().unwrap_or_default(),
                        )
                    }
                };
                sent += 1;
                let answer = match send(&addr, &req, timeout).await {
                    Ok(a) => a,
                    Err(e) => {
                        violations.insert(format!("{method} {url}: no answer: {e}"));
                        continue;
                    }
                };
                statuses.insert(answer.status);
                let documented = &op["responses"][answer.status.to_string()];
                if answer.status >= 500 && answer.status != 503 {
                    violations.insert(format!(
                        "{method} {path}: {} {}",
                        answer.status,
                        crate::workload::brief(&answer.body)
                    ));
                    continue;
                }
                if documented.is_null() {
                    violations.insert(format!(
                        "{method} {path}: status {} ({}) is not documented",
                        answer.status,
                        answer.code()
                    ));
                    continue;
                }
                if let Some(schema) = documented.pointer("/content/application~1json/schema")
                    && let Some(e) = validate(&doc, schema, &answer.body, "body")
                {
                    violations.insert(format!("{method} {path} {}: {e}", answer.status));
                }
                if answer.status >= 400
                    && (!answer.body["code"].is_string() || !answer.body["message"].is_string())
                {
                    violations.insert(format!(
                        "{method} {path} {}: error body without code/message: {}",
                        answer.status,
                        crate::workload::brief(&answer.body)
                    ));
                }
            }
        }
    }
    verdict.push(Check::new(
        "fuzzer: documented statuses and schemas, no 5xx",
        violations.into_iter().collect(),
        format!(
            "{sent} requests over {} paths, statuses seen {statuses:?}",
            paths.len()
        ),
    ));
    Ok(())
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
