//! The OpenAPI document names a schema for every request and response body: the
//! test walks `/openapi.json` and fails on any body whose schema (or a schema it
//! reaches) is untyped: no schema at all, `{}`, or an object with no properties
//! and no typed `additionalProperties`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::collections::HashSet;

use axum::http::StatusCode;
use http_support::{App, As};
use serde_json::Value;

/// Component schemas allowed to be free-form, each for a reason (none so far).
const ALLOWED: &[&str] = &[];

/// Walks `schema` (resolving `$ref`s once each) and records where an untyped one is.
fn walk(doc: &Value, schema: &Value, at: &str, seen: &mut HashSet<String>, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        if ALLOWED.contains(&name) || !seen.insert(name.to_owned()) {
            return;
        }
        let target = &doc["components"]["schemas"][name];
        return walk(doc, target, &format!("{at} -> {name}"), seen, out);
    }
    let Some(obj) = schema.as_object() else {
        out.push(format!("{at}: not a schema"));
        return;
    };
    let mut typed = false;
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = obj.get(key).and_then(Value::as_array) {
            typed = true;
            for (i, p) in parts.iter().enumerate() {
                walk(doc, p, &format!("{at}.{key}[{i}]"), seen, out);
            }
        }
    }
    if let Some(items) = obj.get("items") {
        typed = true;
        walk(doc, items, &format!("{at}[]"), seen, out);
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        typed = true;
        for (name, p) in props {
            walk(doc, p, &format!("{at}.{name}"), seen, out);
        }
    }
    if let Some(extra) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        typed = true;
        walk(doc, extra, &format!("{at}{{*}}"), seen, out);
    }
    let kind = obj.get("type");
    let scalar = match kind {
        Some(Value::String(t)) => t != "object",
        Some(Value::Array(ts)) => ts.iter().any(|t| t != "object" && t != "null"),
        _ => false,
    };
    if obj.contains_key("enum") || obj.contains_key("const") {
        typed = true;
    }
    if !typed && !scalar {
        out.push(format!("{at}: untyped schema {schema}"));
    }
}

/// Checks that `value` fits `schema`: every key of an object is a property of its
/// schema, and strings, numbers, booleans and arrays are where the schema says.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(parts) = schema.get(key).and_then(Value::as_array) {
            let fits = parts.iter().any(|p| {
                let mut errors = Vec::new();
                conforms(doc, p, value, at, &mut errors);
                errors.is_empty()
            });
            if !fits {
                out.push(format!("{at}: {value} fits no alternative"));
            }
            return;
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for p in parts {
            conforms(doc, p, value, at, out);
        }
        return;
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let is = |t: &str| types.is_empty() || types.contains(&t);
    match value {
        Value::Null => {}
        Value::Bool(_) if is("boolean") => {}
        Value::Number(n) if is("number") || (is("integer") && !n.is_f64()) => {}
        Value::String(_) if is("string") => {}
        Value::Array(items) if is("array") => {
            for (i, item) in items.iter().enumerate() {
                conforms(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) if is("object") => {
            let props = schema["properties"].as_object();
            for (k, v) in map {
                match props.and_then(|p| p.get(k)) {
                    Some(p) => conforms(doc, p, v, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}.{k}: not in the schema")),
                }
            }
        }
        other => out.push(format!("{at}: {other} is not a {types:?}")),
    }
}

/// The 200 schema of `method path` in the document.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
}

/// The schemas written by hand for answers the domain serializes (search,
/// suggestions, the dashboard) fit real answers.
#[tokio::test]
async fn http_openapi_hand_written_schemas_fit_real_answers() {
    use commerce::core::Role;
    use commerce::core::search::ProductSearch;
    use commerce_search::{CONSUMER, SearchIndexer, TantivySearch};
    let plain = App::in_memory();
    plain.seed("schema").await;
    let search: std::sync::Arc<dyn ProductSearch> =
        std::sync::Arc::new(TantivySearch::in_ram().unwrap());
    SearchIndexer::new(search.clone(), plain.shop.catalog().clone(), None)
        .runner(plain.shop.outbox().clone(), CONSUMER)
        .drain()
        .await
        .unwrap();
    let state =
        commerce_http::AppState::new(plain.shop.clone(), commerce_http::HttpConfig::default())
            .with_search(search);
    let app = App {
        router: commerce_http::router(state),
        shop: plain.shop.clone(),
        gateway: plain.gateway.clone(),
    };
    let (_, bearer) = app.staff("schema-admin@example.com", Role::Admin).await;
    let doc = app.get("/openapi.json", &As::anonymous()).await.body;
    let mut errors = Vec::new();
    for (path, uri, who) in [
        (
            "/v1/catalog/search",
            "/v1/catalog/search?q=mug&facets=true",
            As::anonymous(),
        ),
        (
            "/v1/catalog/suggest",
            "/v1/catalog/suggest?q=mu",
            As::anonymous(),
        ),
        (
            "/v1/admin/analytics",
            "/v1/admin/analytics",
            As::signed_in(&bearer),
        ),
    ] {
        let reply = app.get(uri, &who).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.body);
        if path == "/v1/catalog/search" {
            assert!(reply.body["total"].as_u64() > Some(0), "{}", reply.body);
            assert!(reply.body["facets"]["sellers"].is_array(), "{}", reply.body);
        }
        let schema = response_schema(&doc, "get", path);
        assert!(!schema.is_null(), "{path} has a 200 schema");
        conforms(&doc, schema, &reply.body, uri, &mut errors);
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[tokio::test]
async fn http_openapi_every_body_has_a_typed_schema() {
    let app = App::in_memory();
    let reply = app.get("/openapi.json", &As::anonymous()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.body;
    let mut untyped = Vec::new();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 50, "the document lists the routes");
    for (path, ops) in paths {
        for (method, op) in ops.as_object().unwrap() {
            let mut bodies = Vec::new();
            if let Some(content) = op["requestBody"]["content"].as_object() {
                bodies.extend(content.iter().map(|(t, c)| (format!("request {t}"), c)));
            }
            if let Some(responses) = op["responses"].as_object() {
                for (status, r) in responses {
                    if let Some(content) = r["content"].as_object() {
                        bodies.extend(
                            content
                                .iter()
                                .filter(|(t, _)| t.contains("json"))
                                .map(|(t, c)| (format!("{status} {t}"), c)),
                        );
                    }
                }
            }
            for (what, content) in bodies {
                let at = format!("{} {path} {what}", method.to_uppercase());
                match content.get("schema") {
                    Some(schema) => walk(&doc, schema, &at, &mut HashSet::new(), &mut untyped),
                    None => untyped.push(format!("{at}: no schema")),
                }
            }
        }
    }
    assert!(
        untyped.is_empty(),
        "{} untyped bodies:\n{}",
        untyped.len(),
        untyped.join("\n")
    );
}

/// Every operation with query parameters documents 400 `invalid_query` (the query
/// extractor refuses an unknown or malformed parameter before any handler runs); the
/// chaos fuzzer found `/similar` answering an undocumented 400.
#[tokio::test]
async fn http_openapi_every_operation_with_query_parameters_documents_400() {
    let app = App::in_memory();
    let doc = app.get("/openapi.json", &As::anonymous()).await.body;
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let query = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            if query && op["responses"].get("400").is_none() {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "no 400 documented: {missing:?}");
    let reply = app
        .get(
            "/v1/catalog/products/anything/similar?limit=many",
            &As::anonymous(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["code"], "invalid_query");
}
