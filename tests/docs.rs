//! The docs stay true of the code: README.md and every page of docs/ are
//! read as an operator would use them. Every config example passes the real
//! `inject check` (and one marked `# invalid:` fails it); the findings
//! catalogue has an entry for each finding code and no other; the
//! dashboard's key table has a row for each binding of the help and no
//! other; the 60x15 capture is the one `scripts/screenshots.sh` wrote; links
//! between the pages resolve; the README stays a front door.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use inject_errands::summary::FINDING_CODES;
use inject_ui::tui::keys::TABLE;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every page of docs/: (path from the root, text).
fn pages() -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = page(&n);
            (n, text)
        })
        .collect()
}

fn page(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A fenced code block: where it opens (1-based line), its info string
/// (`yaml`, `console`…) and its text, with the fence's indentation removed.
struct Block {
    line: usize,
    info: String,
    text: String,
}

fn code_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, String, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((i + 1, indent, info.trim().to_string(), String::new()));
                }
            }
            Some((at, ind, info, mut body)) => {
                if trimmed.starts_with("```") {
                    blocks.push(Block {
                        line: at,
                        info,
                        text: body,
                    });
                } else {
                    body.push_str(line.get(ind..).unwrap_or(line.trim_start()));
                    body.push('\n');
                    open = Some((at, ind, info, body));
                }
            }
        }
    }
    assert!(open.is_none(), "a code block is never closed");
    blocks
}

/// The text of a page's section: from its heading to the next heading of
/// the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let level = heading.len() - heading.trim_start_matches('#').len();
    let start = text
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section `{heading}`"))
        + 1;
    let body = &text[start + heading.len()..];
    let mut in_code = false;
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let hashes = line.len() - line.trim_start_matches('#').len();
        if !in_code && hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
            return &text[start..start + heading.len() + at];
        }
        at += line.len();
    }
    &text[start..]
}

#[test]
fn every_config_example_passes_inject_check_and_every_invalid_one_fails_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut valid, mut invalid) = (0, 0);
    for (name, text) in pages() {
        for block in code_blocks(&text) {
            let is_config = matches!(block.info.as_str(), "yaml" | "yml")
                && block.text.lines().any(|l| l.starts_with("commands:"));
            if !is_config {
                continue;
            }
            let place = format!("{name}:{}", block.line);
            let file = dir.path().join(format!("example-{valid}-{invalid}.yml"));
            std::fs::write(&file, &block.text).unwrap();
            let out = Command::new(env!("CARGO_BIN_EXE_inject"))
                .arg("check")
                .arg("-c")
                .arg(&file)
                .env_remove("INJECT_CONFIG")
                .output()
                .unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if block.text.starts_with("# invalid:") {
                invalid += 1;
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "{place}: this example is marked `# invalid:` but `inject check` takes it:\n{said}"
                );
                // The error names its place (file:line:column), as the docs promise.
                let file = file.display().to_string();
                assert!(
                    said.contains(&format!("{file}:")),
                    "{place}: the error does not name the place:\n{said}"
                );
            } else {
                valid += 1;
                assert!(
                    out.status.success(),
                    "{place}: this config example fails `inject check` (mark it `# invalid: why` on its first line if it is meant to):\n{said}"
                );
            }
        }
    }
    // The README's tour and configuration.md's reference hold valid ones,
    // configuration.md an invalid one: a parser that found none is broken.
    assert!(valid >= 3, "only {valid} valid config examples found");
    assert!(invalid >= 1, "no `# invalid:` config example found");
}

/// The console examples that run on files of this repository and depend on
/// nothing of the host but the absence of the seed VM's addresses (`inject
/// check`, and `inject run --dry-run`, whose `unset:` line says the
/// address is on no interface here) show what the binary prints.
#[test]
fn console_examples_on_the_repositorys_files_show_what_inject_prints() {
    let mut checked = 0;
    for (name, text) in pages() {
        for block in code_blocks(&text) {
            if block.info != "console" {
                continue;
            }
            let lines: Vec<&str> = block.text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(command) = line.strip_prefix("$ inject ") else {
                    continue;
                };
                let args: Vec<&str> = command.split_whitespace().collect();
                let file = match args[..] {
                    ["check", "-c", file] | ["run", "--dry-run", "-c", file] => file,
                    _ => continue,
                };
                if !root().join(file).is_file() {
                    continue;
                }
                let shown: String = lines[i + 1..]
                    .iter()
                    .take_while(|l| !l.starts_with("$ "))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let out = Command::new(env!("CARGO_BIN_EXE_inject"))
                    .args(&args)
                    .current_dir(root())
                    .env_remove("INJECT_CONFIG")
                    .env("NO_COLOR", "1")
                    .output()
                    .unwrap();
                let printed = format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    printed,
                    shown,
                    "{name}:{}: `$ inject {command}` prints something else",
                    block.line + 1 + i
                );
                checked += 1;
            }
        }
    }
    // The README's tour shows both, configuration.md the check and the dry run.
    assert!(checked >= 4, "only {checked} console examples checked");
}

/// configuration.md's reference config names every key the config takes,
/// as `inject schema` (generated from the config's own types) lists them.
#[test]
fn the_reference_config_names_every_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_inject"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let configuration = page("docs/configuration.md");
    let reference = code_blocks(&configuration)
        .into_iter()
        .find(|b| b.info == "yaml")
        .expect("docs/configuration.md has a reference config")
        .text;
    let keys = |props: &serde_json::Value| -> Vec<String> {
        props.as_object().unwrap().keys().cloned().collect()
    };
    let mut missing = Vec::new();
    for key in keys(&schema["properties"]) {
        if !reference.lines().any(|l| l.starts_with(&format!("{key}:"))) {
            missing.push(key);
        }
    }
    for key in keys(&schema["$defs"]["Command"]["properties"]) {
        let at = |l: &str| {
            let l = l.trim_start_matches(' ').trim_start_matches("- ");
            l.starts_with(&format!("{key}:")) || l.starts_with(&format!("# {key}:"))
        };
        if !reference.lines().any(at) {
            missing.push(format!("commands[].{key}"));
        }
    }
    // `networks:` is rendered by the job, not a property: in the schema it is
    // skipped, in the reference it must be there.
    assert!(reference.lines().any(|l| l.starts_with("networks:")));
    assert!(
        missing.is_empty(),
        "docs/configuration.md's reference config lacks {missing:?}"
    );
}

/// One entry per finding code: `### `code``, its severity, when, what
/// fixes it, and a JSON example of what `--json` prints for it.
#[test]
fn the_findings_catalogue_has_every_finding_code_and_no_other() {
    let status = page("docs/status.md");
    let catalogue = section(&status, "## Findings catalogue");
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    for part in catalogue.split("\n### ").skip(1) {
        let (heading, body) = part.split_once('\n').unwrap();
        let code = heading.trim().trim_matches('`').to_string();
        assert!(
            entries.insert(code.clone(), body.to_string()).is_none(),
            "docs/status.md: `{code}` has two entries"
        );
    }
    let documented: BTreeSet<&str> = entries.keys().map(String::as_str).collect();
    let real: BTreeSet<&str> = FINDING_CODES.iter().copied().collect();
    let missing: Vec<_> = real.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&real).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/status.md's findings catalogue: codes without an entry {missing:?}; entries that are no code {unknown:?}"
    );

    // The keys of a finding as `inject status --json` writes one (its own
    // encoder, on the seed VM's fixture, which lacks an IPv6 default).
    let seed = inject_net::fixtures::seed_vm();
    let report: serde_json::Value = serde_json::from_str(&inject_net::json::to_string(
        &seed,
        &inject_net::findings(&seed),
    ))
    .unwrap();
    let real_keys: BTreeSet<String> = report["findings"][0]
        .as_object()
        .expect("the seed VM has a finding")
        .keys()
        .cloned()
        .collect();

    for (code, body) in &entries {
        let field = |name: &str| {
            body.lines()
                .find_map(|l| l.strip_prefix(&format!("- **{name}**: ")))
                .unwrap_or_else(|| panic!("docs/status.md: `{code}` has no **{name}**"))
                .to_string()
        };
        let severity = field("Severity");
        field("When");
        field("What fixes it");
        let blocks = code_blocks(body);
        let json = blocks
            .iter()
            .find(|b| b.info == "json")
            .unwrap_or_else(|| panic!("docs/status.md: `{code}` has no JSON example"));
        let example: serde_json::Value = serde_json::from_str(&json.text)
            .unwrap_or_else(|e| panic!("docs/status.md: `{code}`'s JSON: {e}"));
        assert_eq!(
            example["code"],
            code.as_str(),
            "docs/status.md: `{code}`'s JSON"
        );
        let keys: BTreeSet<String> = example.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, real_keys, "docs/status.md: `{code}`'s JSON keys");
        // `error (warning when …)`: the example shows one of the severities named.
        let said = example["severity"].as_str().unwrap();
        assert!(
            severity
                .split(|c: char| !c.is_alphabetic())
                .any(|w| w == said),
            "docs/status.md: `{code}` is `{severity}` but its JSON says {said}"
        );
    }
}

/// The keys of a help binding or of a table row, one string: `y / n Esc`
/// (the help's words) and `` `y` / `n` `Esc` `` (the table's code spans) both
/// read `y n Esc`. A `/` is a key only where it stands first (`/  4  6  d`,
/// the routes' filter), else it separates alternatives.
fn binding_keys(keys: &str) -> String {
    keys.split_whitespace()
        .enumerate()
        .filter(|&(i, k)| k != "/" || i == 0)
        .map(|(_, k)| k)
        .collect::<Vec<_>>()
        .join(" ")
}

fn row_keys(cell: &str) -> String {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_key_table_has_a_row_for_every_binding_and_no_other() {
    let dashboard = page("docs/dashboard.md");
    let table = section(&dashboard, "## Keys");
    let rows: BTreeSet<String> = table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| row_keys(l.trim_start_matches('|').split(" | ").next().unwrap()))
        .collect();
    // The table the key handler dispatches through (and help and the footer read).
    let bindings: BTreeSet<String> = TABLE.iter().map(|b| binding_keys(b.keys)).collect();
    let missing: Vec<_> = bindings.difference(&rows).collect();
    let unknown: Vec<_> = rows.difference(&bindings).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/dashboard.md's key table: bindings without a row {missing:?}; rows that are no binding {unknown:?}"
    );
}

#[test]
fn the_60x15_capture_is_the_one_the_screenshot_script_made() {
    let dashboard = page("docs/dashboard.md");
    let at = dashboard
        .find("At 60x15")
        .expect("docs/dashboard.md shows the 60x15 capture");
    let shown = code_blocks(&dashboard[at..])
        .into_iter()
        .next()
        .expect("a code block after `At 60x15`")
        .text;
    assert_eq!(
        shown,
        page("screenshots/findings-60x15.txt"),
        "docs/dashboard.md's 60x15 capture is not screenshots/findings-60x15.txt: copy it in"
    );
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped,
/// spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// `[text](target)` outside code blocks.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_code = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push((i + 1, after[..end].to_string()));
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn links_between_the_pages_resolve() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for (name, text) in pages() {
        let dir = Path::new(&name).parent().unwrap().to_path_buf();
        for (line, target) in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (path, fragment) = match target.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (target.as_str(), None),
            };
            let file: PathBuf = if path.is_empty() {
                PathBuf::from(&name)
            } else {
                dir.join(path)
            };
            if !root().join(&file).exists() {
                broken.push(format!(
                    "{name}:{line}: `{target}`: {} does not exist",
                    file.display()
                ));
            } else if let Some(fragment) = fragment {
                let target_text = page(file.to_str().unwrap());
                if !anchors(&target_text).contains(fragment) {
                    broken.push(format!(
                        "{name}:{line}: `{target}`: {} has no heading with anchor #{fragment}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 10, "only {checked} links found");
}

#[test]
fn the_readme_is_a_front_door_that_links_every_page() {
    let readme = page("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; the reference belongs in docs/"
    );
    for (name, _) in pages().into_iter().skip(1) {
        assert!(
            readme.contains(&format!("]({name}")),
            "README.md does not link {name}"
        );
    }
}
