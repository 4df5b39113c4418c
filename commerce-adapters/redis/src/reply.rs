//! Decoding of script replies (`redis::Value`) without panics: anything unexpected is
//! an [`Error::UnexpectedReply`].

use redis::Value;

use crate::error::{Error, Result};

/// The elements of an array reply (`Nil` reads as empty).
pub(crate) fn array(v: Value) -> Result<Vec<Value>> {
    match v {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        other => Err(Error::unexpected(format!(
            "expected an array, got {other:?}"
        ))),
    }
}

/// An integer reply (or a string holding one).
pub(crate) fn int(v: &Value) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::unexpected("expected an integer")),
        Value::SimpleString(s) => s
            .parse()
            .map_err(|_| Error::unexpected("expected an integer")),
        other => Err(Error::unexpected(format!(
            "expected an integer, got {other:?}"
        ))),
    }
}

/// A string reply; `None` for `Nil`.
pub(crate) fn opt_string(v: Value) -> Result<Option<String>> {
    match v {
        Value::Nil => Ok(None),
        Value::BulkString(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| Error::unexpected("expected UTF-8 text")),
        Value::SimpleString(s) => Ok(Some(s)),
        Value::Int(i) => Ok(Some(i.to_string())),
        other => Err(Error::unexpected(format!(
            "expected a string, got {other:?}"
        ))),
    }
}

/// A string reply that must be present.
pub(crate) fn string(v: Value) -> Result<String> {
    opt_string(v)?.ok_or_else(|| Error::unexpected("expected a string, got nil"))
}

/// Splits off the first element of an array reply.
pub(crate) fn split_first(items: Vec<Value>) -> Result<(Value, std::vec::IntoIter<Value>)> {
    let mut it = items.into_iter();
    let first = it.next().ok_or_else(|| Error::unexpected("empty reply"))?;
    Ok((first, it))
}

/// The next element of a reply, or an error naming what was missing.
pub(crate) fn next(it: &mut impl Iterator<Item = Value>, what: &str) -> Result<Value> {
    it.next()
        .ok_or_else(|| Error::unexpected(format!("reply lacks {what}")))
}

/// Field/value pairs of a flat `HGETALL`-style list.
pub(crate) fn pairs(v: Value) -> Result<Vec<(String, Value)>> {
    let mut items = array(v)?.into_iter();
    let mut out = Vec::with_capacity(items.len() / 2);
    while let Some(field) = items.next() {
        let value = next(&mut items, "a field value")?;
        out.push((string(field)?, value));
    }
    Ok(out)
}
