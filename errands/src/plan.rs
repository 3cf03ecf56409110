//! The plan: which commands a run takes, in which order, and how `--dry-run`
//! describes each of them. Pure functions of the config.

use crate::config::{CommandSpec, Config, Phase};
use crate::netenv;
use crate::run_event::format_duration;

/// A selection that cannot be made (a usage error: exit 2, nothing runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `--only` names no command of the config.
    #[error("--only {name}: no command of that name (the config has: {})", list(.known))]
    Unknown { name: String, known: Vec<String> },
    /// `--only` names a command that does not run in the phase asked for.
    #[error(
        "--only {name}: that command is not in phase {phase} (its phases: {}); add --phase",
        .phases.join(", ")
    )]
    NotInPhase {
        name: String,
        phase: Phase,
        phases: Vec<&'static str>,
    },
}

/// `a, b`, or `none`.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The commands of `phase`, in config order; with `only` non-empty, just the
/// commands named there. Naming a command that does not exist, or that is
/// not in `phase`, is an error: a typo must not silently run nothing.
pub fn select<'a>(
    config: &'a Config,
    phase: Phase,
    only: &[String],
) -> Result<Vec<&'a CommandSpec>, PlanError> {
    for name in only {
        match config.commands.iter().find(|c| &c.name == name) {
            None => {
                return Err(PlanError::Unknown {
                    name: name.clone(),
                    known: config.commands.iter().map(|c| c.name.clone()).collect(),
                });
            }
            Some(c) if !c.in_phase(phase) => {
                return Err(PlanError::NotInPhase {
                    name: name.clone(),
                    phase,
                    phases: c.phases.iter().map(|p| p.as_str()).collect(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(config
        .commands
        .iter()
        .filter(|c| c.in_phase(phase) && (only.is_empty() || only.contains(&c.name)))
        .collect())
}

/// The dry-run lines for command `index` of `total`: order and name, phase,
/// the exact command and guards (or `<redacted>`), timeout, retries, and the
/// environment's names (never its values). Continuation lines of a
/// multi-line command are indented under it.
pub fn describe(
    config: &Config,
    command: &CommandSpec,
    phase: Phase,
    index: usize,
    total: usize,
) -> Vec<String> {
    let mut lines = vec![format!("[{index}/{total}] {}", command.name)];
    let text = |t: &str| command.shown(t).to_string();
    let mut field = |label: &str, value: String| {
        let mut parts = value.lines();
        lines.push(format!("    {label:<9} {}", parts.next().unwrap_or("")));
        for more in parts {
            lines.push(format!("    {:<9} {more}", ""));
        }
    };
    field("phase:", phase.to_string());
    field("run:", text(&command.run));
    if let Some(guard) = &command.unless {
        field(
            "unless:",
            format!("{}   (skip when it exits 0)", text(guard)),
        );
    }
    if let Some(guard) = &command.only_if {
        field(
            "only_if:",
            format!("{}   (run only when it exits 0)", text(guard)),
        );
    }
    let mut limits = format!("timeout {}", format_duration(config.timeout_of(command)));
    if command.retries > 0 {
        limits.push_str(&format!(
            ", retries {} (every {})",
            command.retries,
            format_duration(command.retry_delay)
        ));
    } else {
        limits.push_str(", no retries");
    }
    if command.continue_on_error {
        limits.push_str(", continue on error");
    }
    field("limits:", limits);
    let env = command.env_names(config);
    if !env.is_empty() {
        field("env:", env.join(" "));
    }
    // The networks' variables it uses, as they are now; a sensitive
    // command's are left out with its text.
    if !command.sensitive {
        let used = netenv::used_values(config, command);
        let set: Vec<String> = used
            .iter()
            .filter_map(|v| Some(format!("{}={}", v.name, v.value.as_ref().ok()?)))
            .collect();
        if !set.is_empty() {
            field("network:", set.join(" "));
        }
        for v in &used {
            if let Err(why) = &v.value {
                field("unset:", format!("{}: {why}", v.name));
            }
        }
    }
    if let Some(cwd) = &command.cwd {
        field("cwd:", cwd.display().to_string());
    }
    if let Some(user) = &command.user {
        field("user:", user.clone());
    }
    lines
}

/// The dry-run's description of command `index` of `total` for `--json`:
/// one `planned` event with the same facts as [`describe`].
pub fn describe_json(
    config: &Config,
    command: &CommandSpec,
    phase: Phase,
    index: usize,
    total: usize,
) -> serde_json::Value {
    serde_json::json!({
        "event": "planned",
        "index": index,
        "total": total,
        "name": command.name,
        "phase": phase.as_str(),
        "shell": config.shell,
        "run": command.shown(&command.run),
        "unless": command.unless.as_deref().map(|g| command.shown(g)),
        "only_if": command.only_if.as_deref().map(|g| command.shown(g)),
        "timeout": config.timeout_of(command).as_secs_f64(),
        "retries": command.retries,
        "env": command.env_names(config),
        "network": network_json(config, command, true),
        "unset": network_json(config, command, false),
    })
}

/// The network variables a command uses: `set` ones with their values, or
/// the unset ones with why. Empty for a sensitive command.
fn network_json(config: &Config, command: &CommandSpec, set: bool) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    if !command.sensitive {
        for v in netenv::used_values(config, command) {
            match (v.value, set) {
                (Ok(value), true) | (Err(value), false) => {
                    map.insert(v.name, value.into());
                }
                _ => {}
            }
        }
    }
    map.into()
}

/// The dry-run's first line: what would run, under which shell.
pub fn headline(config: &Config, phase: Phase, selected: usize) -> String {
    format!(
        "dry run: {selected} of {} commands in phase {phase}, each run as: {} <command>; nothing is executed",
        config.commands.len(),
        config.shell.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const CONFIG: &str = r#"
commands:
  - name: first
    run: echo one
  - name: secret
    run: echo password
    unless: test -e /tmp/done
    sensitive: true
    env: {TOKEN: abc, A: b}
  - name: boot-only
    run: echo boot
    phases: [pre-start]
  - name: last
    run: |
      echo a
      echo b
    only_if: true
    timeout: 30s
    retries: 2
    retry_delay: 1s
networks:
  ipv6-net: {gateway: "2001:db8::1"}
"#;

    fn config() -> Config {
        parse(CONFIG, "test.yml").unwrap()
    }

    fn names(selected: &[&CommandSpec]) -> Vec<String> {
        selected.iter().map(|c| c.name.clone()).collect()
    }

    #[test]
    fn select_takes_the_phase_in_config_order() {
        let c = config();
        assert_eq!(
            names(&select(&c, Phase::Errand, &[]).unwrap()),
            ["first", "secret", "last"]
        );
        assert_eq!(
            names(&select(&c, Phase::PreStart, &[]).unwrap()),
            ["boot-only"]
        );
        assert!(select(&c, Phase::Ensure, &[]).unwrap().is_empty());
    }

    #[test]
    fn only_keeps_config_order() {
        let c = config();
        let only = ["last".to_string(), "first".to_string()];
        assert_eq!(
            names(&select(&c, Phase::Errand, &only).unwrap()),
            ["first", "last"]
        );
    }

    #[test]
    fn only_with_an_unknown_name_is_an_error() {
        let err = select(&config(), Phase::Errand, &["frist".to_string()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--only frist: no command of that name (the config has: first, secret, boot-only, last)"
        );
    }

    #[test]
    fn only_with_a_command_of_another_phase_is_an_error() {
        let err = select(&config(), Phase::Errand, &["boot-only".to_string()]).unwrap_err();
        assert!(
            err.to_string()
                .contains("not in phase errand (its phases: pre-start)"),
            "{err}"
        );
    }

    #[test]
    fn describe_shows_command_guard_limits_and_env_names() {
        let c = config();
        let lines = describe(&c, &c.commands[3], Phase::Errand, 3, 3);
        assert_eq!(
            lines,
            [
                "[3/3] last",
                "    phase:    errand",
                "    run:      echo a",
                "              echo b",
                "    only_if:  true   (run only when it exits 0)",
                "    limits:   timeout 30s, retries 2 (every 1s)",
            ]
        );
    }

    #[test]
    fn describe_redacts_sensitive_commands_and_never_shows_env_values() {
        let c = config();
        let text = describe(&c, &c.commands[1], Phase::Errand, 2, 3).join("\n");
        assert!(text.contains("run:      <redacted>"), "{text}");
        assert!(text.contains("unless:   <redacted>"), "{text}");
        assert!(
            text.contains("env:      A TOKEN\n") || text.ends_with("env:      A TOKEN"),
            "{text}"
        );
        assert!(
            !text.contains("password") && !text.contains("abc") && !text.contains("/tmp/done"),
            "{text}"
        );
        assert!(text.contains("timeout 10m, no retries"), "{text}");
    }

    #[test]
    fn describe_shows_the_network_values_used_and_why_interface_is_unset() {
        let mut c = parse(
            r#"
commands:
  - name: route
    run: ip -6 route replace default via "$INJECT_IPV6_GATEWAY" dev "$INJECT_IPV6_INTERFACE"
networks:
  default: {ip: 10.0.0.5}
  public: {ip: "2001:db8::10", gateway: "2001:db8::1"}
"#,
            "t.yml",
        )
        .unwrap();
        c.interfaces = crate::netenv::Interfaces::new(|| Ok(vec![]));
        let lines = describe(&c, &c.commands[0], Phase::Errand, 1, 1);
        assert_eq!(
            lines[4..],
            [
                "    network:  INJECT_IPV6_GATEWAY=2001:db8::1",
                "    unset:    INJECT_IPV6_INTERFACE: 2001:db8::10 (network `public`) is on no interface of this host now",
            ]
        );
        c.interfaces = crate::netenv::Interfaces::new(|| {
            Ok(vec![("2001:db8::10".parse().unwrap(), "eth0".into())])
        });
        let planned = describe_json(&c, &c.commands[0], Phase::Errand, 1, 1);
        assert_eq!(
            planned["network"],
            serde_json::json!({"INJECT_IPV6_GATEWAY": "2001:db8::1", "INJECT_IPV6_INTERFACE": "eth0"})
        );
        assert_eq!(planned["unset"], serde_json::json!({}));
    }

    #[test]
    fn describe_json_redacts_and_lists_env_names() {
        let c = config();
        let planned = describe_json(&c, &c.commands[1], Phase::Errand, 2, 3);
        assert_eq!(
            planned,
            serde_json::json!({
                "event": "planned", "index": 2, "total": 3, "name": "secret",
                "phase": "errand", "shell": crate::config::DEFAULT_SHELL,
                "run": "<redacted>", "unless": "<redacted>", "only_if": null,
                "timeout": 600.0, "retries": 0,
                "env": ["A", "TOKEN"], "network": {}, "unset": {},
            })
        );
    }
}
