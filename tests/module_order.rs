//! Keeps each library crate's imports one-way (inject-errands, inject-net):
//! every module uses only modules the order in its `lib.rs` header puts
//! before it, and every module is in that order. Read from the source text (`crate::x` and, in a top-level file,
//! `super::x` outside comments and test modules), so a new circle fails
//! here, not in a reader's head. A submodule (`findings/fixes.rs`) counts
//! as part of its parent.

use std::collections::BTreeMap;
use std::path::Path;

/// The order: the lines of the first ```` ```text ```` block after
/// "Module order" in `lib`; words in order, `a+b` a knot of equals,
/// anything from `(` on a line a comment.
fn order(lib: &str) -> BTreeMap<String, usize> {
    let header: Vec<&str> = lib
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .skip_while(|l| !l.contains("Module order"))
        .skip_while(|l| *l != "```text")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    let mut out = BTreeMap::new();
    let words = header
        .iter()
        .flat_map(|l| l.split('(').next().unwrap_or("").split_whitespace());
    for (rank, word) in words.enumerate() {
        for module in word.split('+') {
            out.insert(module.to_string(), rank);
        }
    }
    assert!(!out.is_empty(), "lib.rs states no module order");
    out
}

/// Each top-level module's file text (with its submodules'), tests cut.
fn sources(src: &Path) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel.components().next().unwrap().as_os_str();
            let top = top.to_str().unwrap().trim_end_matches(".rs").to_string();
            if top == "lib" || top == "tests" || top.ends_with("_tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut code = text.split("#[cfg(test)]").next().unwrap().to_string();
            if rel.components().count() > 1 {
                // In a submodule, `super` is its parent: no edge.
                code = code.replace("super::", "self::");
            }
            out.entry(top).or_default().push_str(&code);
        }
    }
    out
}

/// The modules `code` names after `crate::` or `super::`.
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines().map(str::trim) {
        if line.starts_with("//") {
            continue;
        }
        for prefix in ["crate::", "super::"] {
            for (at, _) in line.match_indices(prefix) {
                let rest = &line[at + prefix.len()..];
                let names = match rest.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or("").split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let name: String = name
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.push(name);
                    }
                }
            }
        }
    }
    out
}

/// Every use that points forward (or sideways out of a knot), as text.
fn violations(src: &Path, lib: &str) -> Vec<String> {
    let order = order(lib);
    let mut out = Vec::new();
    for (module, code) in sources(src) {
        let Some(&rank) = order.get(&module) else {
            out.push(format!("{module} is not in lib.rs's module order"));
            continue;
        };
        for used in uses(&code) {
            if used == module {
                continue;
            }
            match order.get(&used) {
                Some(&r) if r > rank => {
                    out.push(format!("{module} uses {used}, which comes after it"))
                }
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn check(krate: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(krate)
        .join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert_eq!(violations(&src, &lib), Vec::<String>::new(), "{krate}/src");
}

#[test]
fn every_errands_module_uses_only_modules_before_it() {
    check("errands");
}

#[test]
fn every_net_module_uses_only_modules_before_it() {
    check("net");
}

#[test]
fn a_use_that_points_forward_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::X;\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "// crate::a in a comment\n").unwrap();
    std::fs::write(dir.path().join("c.rs"), "use super::{a, b};\n").unwrap();
    let lib = "//! Module order:\n//! ```text\n//! a (first)\n//! b\n//! ```\n";
    assert_eq!(
        violations(dir.path(), lib),
        [
            "a uses b, which comes after it",
            "c is not in lib.rs's module order"
        ]
    );
}
