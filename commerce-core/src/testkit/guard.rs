//! A guard for conformance suites: every check a suite module declares must be run
//! by the crate's conformance macro, so a check added to a suite and forgotten in the
//! macro fails a test instead of silently never running.
//!
//! A *check* is a public `async fn` taking, by value and as its only argument,
//! a fixture (`f: SomethingFixture`) or a shared store (`Arc<dyn SomeStore>`).
//! Helpers (taking references or other arguments) are not checks.

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
        let by_value_fixture = params.split_once(':').is_some_and(|(_, ty)| {
            (ty.ends_with("Fixture") || (ty.starts_with("Arc<dyn") && ty.ends_with('>')))
                && !ty.contains(['&', ','])
        });
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
        .enumerate()
        // The first item may follow the macro's own text (`... $make:\n first,`).
        .map(|(i, item)| {
            if i == 0 {
                item.rsplit(':').next().unwrap_or(item)
            } else {
                item
            }
        })
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

/// The suite files under `dir` (a crate's `src/testkit` directory, read when the
/// guard runs) that declare at least one check, by file name, sorted. A guard
/// compares them with the files it checks, so a new suite file cannot escape it.
pub fn files_declaring_checks(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path)?;
            if !declared_checks(&source).is_empty()
                && let Some(name) = path.file_name().and_then(|n| n.to_str())
            {
                files.push(name.to_owned());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// One suite file for [`assert_suites_run`]: its file name, its source, and the
/// macro lists that run it, each `(macro_source, marker)` (see [`listed_checks`]).
pub type GuardedSuite<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

/// Asserts that the macros run exactly the checks the suites declare and, when
/// `dir` is given, that every file of `dir` declaring checks is one of `suites`
/// (so a new suite file cannot escape its guard). Panics naming what is missing.
pub fn assert_suites_run(dir: Option<&std::path::Path>, suites: &[GuardedSuite<'_>]) {
    for (file, suite, lists) in suites {
        let (missing, unknown) = unlisted(lists, &[suite]);
        assert!(
            missing.is_empty(),
            "{file}: checks its macro does not run: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "{file}: its macro runs unknown checks: {unknown:?}"
        );
    }
    if let Some(dir) = dir {
        let on_disk = files_declaring_checks(dir);
        assert!(
            on_disk.is_ok(),
            "cannot read the suites in {}: {on_disk:?}",
            dir.display()
        );
        let on_disk = on_disk.unwrap_or_default();
        let guarded: Vec<&str> = suites.iter().map(|s| s.0).collect();
        let unguarded: Vec<&String> = on_disk
            .iter()
            .filter(|f| !guarded.contains(&f.as_str()))
            .collect();
        assert!(
            unguarded.is_empty(),
            "suite files in {} that no guard checks: {unguarded:?}",
            dir.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_takes_a_fixture_by_value_and_helpers_do_not_count() {
        // Spelled in pieces so this file declares no check itself.
        let src = concat!(
            "pub async",
            " fn a_check(f: CartFixture) {}\n",
            "pub async",
            " fn helper(f: &CartFixture, n: u32) {}\n",
            "pub async",
            " fn other(\n    f: OrderStoreFixture,\n) {}\n",
            "pub async",
            " fn shared(store: Arc<dyn PreferenceStore>) {}\n",
            "pub async",
            " fn pair(a: Arc<dyn A>, b: Arc<dyn B>) {}"
        );
        assert_eq!(declared_checks(src), vec!["a_check", "other", "shared"]);
        let macro_src = "x!(@checks $m;\n a_check,\n gone,\n );";
        let (missing, unknown) = unlisted(&[(macro_src, "@checks $m;")], &[src]);
        assert_eq!(missing, vec!["other", "shared"]);
        assert_eq!(unknown, vec!["gone"]);
    }
}
