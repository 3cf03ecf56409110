//! The bosh CLI for tests: on PATH or where scripts/lib/tools.sh caches it.

use std::path::{Path, PathBuf};

/// The bosh CLI, or `None` (the test then skips, saying why). Under CI it
/// is required unless INJECT_BOSH_CLI=optional.
pub fn bosh_cli(test: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|c| c.join("inject/bin/bosh"));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("bosh"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if let Some(bosh) = cache.iter().cloned().chain(on_path).find(|p| p.is_file()) {
        return Some(bosh);
    }
    let required = std::env::var("CI").as_deref() == Ok("true")
        && std::env::var("INJECT_BOSH_CLI").as_deref() != Ok("optional");
    if required {
        panic!("{test}: the bosh CLI is required under CI (scripts/test builds it with scripts/lib/tools.sh)");
    }
    eprintln!(
        "skipping {test}: no bosh CLI on PATH or in ~/.cache/inject/bin (scripts/test builds it)"
    );
    None
}
