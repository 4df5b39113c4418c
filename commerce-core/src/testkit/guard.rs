//! A guard for conformance suites: every check a suite module declares must be run
//! by the crate's conformance macro, so a check added to a suite and forgotten in the
//! macro fails a test instead of silently never running.
//!
//! A *check* is a `pub async fn name(f: SomethingFixture)`: public, async, taking a
//! fixture by value as its only argument. Helpers (taking references or other
//! arguments) are not checks.

/// The checks declared in `source` (the text of a suite module), in order.
pub fn declared_checks(source: &str) -> Vec<String> {
    let mut checks = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("pub async fn ") {
        rest = &rest[at + "pub async fn ".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let Some(open) = rest.find('(') else { break };
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        let params: String = rest[open + 1..open + close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let params = params.trim_end_matches(',');
        let by_value_fixture = params
            .split_once(':')
            .is_some_and(|(_, ty)| ty.ends_with("Fixture") && !ty.contains(['&', ',']));
        if by_value_fixture && !name.is_empty() {
            checks.push(name);
        }
    }
    checks
}

/// The identifiers listed in `macro_source` after the first occurrence of `marker`
/// (e.g. `"@checks $make_fixture;"` or `"payments:"`) up to the closing `);`.
pub fn listed_checks(macro_source: &str, marker: &str) -> Vec<String> {
    let Some(at) = macro_source.find(marker) else {
        return Vec::new();
    };
    let list = &macro_source[at + marker.len()..];
    let end = list.find(");").unwrap_or(list.len());
    list[..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .map(str::to_owned)
        .collect()
}

/// The checks of `suites` (module sources) that no macro list runs, and the names
/// the lists run that no suite declares; each list is `(macro_source, marker)` (see
/// [`listed_checks`]). Both empty when the macros run exactly the suites.
pub fn unlisted(lists: &[(&str, &str)], suites: &[&str]) -> (Vec<String>, Vec<String>) {
    let listed: Vec<String> = lists
        .iter()
        .flat_map(|(source, marker)| listed_checks(source, marker))
        .collect();
    let declared: Vec<String> = suites.iter().flat_map(|s| declared_checks(s)).collect();
    let missing = declared
        .iter()
        .filter(|d| !listed.contains(d))
        .cloned()
        .collect();
    let unknown = listed
        .iter()
        .filter(|l| !declared.contains(l))
        .cloned()
        .collect();
    (missing, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_takes_a_fixture_by_value_and_helpers_do_not_count() {
        let src = "pub async fn a_check(f: CartFixture) {}\n\
                   pub async fn helper(f: &CartFixture, n: u32) {}\n\
                   pub async fn other(\n    f: OrderStoreFixture,\n) {}";
        assert_eq!(declared_checks(src), vec!["a_check", "other"]);
        let macro_src = "x!(@checks $m;\n a_check,\n gone,\n );";
        let (missing, unknown) = unlisted(&[(macro_src, "@checks $m;")], &[src]);
        assert_eq!(missing, vec!["other"]);
        assert_eq!(unknown, vec!["gone"]);
    }
}
