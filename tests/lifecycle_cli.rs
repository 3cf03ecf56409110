//! `inject run --phase HOOK` with a broken config, on the real binary: the
//! stop side (pre-stop, drain, post-stop) warns, naming the place, and
//! exits 0 so that BOSH can still stop the instance; the gate (the errand,
//! pre-start, post-start, post-deploy) exits 2; a hook with no command of
//! its phase has nothing to do, exits 0 and leaves no trace in the run log.
//! (Through BOSH's agent: tests/bosh_release.rs.)

mod common;
use common::{Run, INJECT};

use std::path::{Path, PathBuf};
use std::process::Command;

const STOP_SIDE: [&str; 3] = ["pre-stop", "drain", "post-stop"];
const GATE: [&str; 4] = ["errand", "pre-start", "post-start", "post-deploy"];
const EVERY_HOOK: &str = "[errand, pre-start, post-start, post-deploy, pre-stop, drain, post-stop]";

/// The networks of the seed VM, as the BOSH job renders them.
const NETWORKS: &str = r#"networks:
  default: {ip: 10.0.250.10, gateway: 10.0.250.1, netmask: 255.255.255.0}
  ipv6: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(config: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let config = config.replace("$DIR", dir.path().to_str().unwrap());
        std::fs::write(dir.path().join("commands.yml"), config).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn log_dir(&self) -> PathBuf {
        self.path("log")
    }

    fn run(&self, phase: &str) -> Run {
        let out = Command::new(INJECT)
            .arg("run")
            .arg("-c")
            .arg(self.path("commands.yml"))
            .args(["--phase", phase, "--log-dir"])
            .arg(self.log_dir())
            .env_remove("INJECT_LOG_DIR")
            .env_remove("INJECT_CONFIG")
            .output()
            .unwrap();
        Run::from(out)
    }

    /// The run log's lines.
    fn events(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.log_dir().join("inject-run.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The run output directories in the log dir.
    fn run_dirs(&self) -> usize {
        std::fs::read_dir(self.log_dir().join("runs"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// Whether `text` names `…/commands.yml:LINE:COLUMN: FIELD`.
fn names_place(text: &str, dir: &Path, field: &str) -> bool {
    let file = format!("{}:", dir.join("commands.yml").display());
    text.lines().any(|line| {
        let Some((_, rest)) = line.split_once(&file) else {
            return false;
        };
        let mut parts = rest.splitn(3, ':');
        let numeric = |p: Option<&str>| p.is_some_and(|p| p.parse::<u32>().is_ok());
        numeric(parts.next())
            && numeric(parts.next())
            && parts
                .next()
                .is_some_and(|m| m.trim_start().starts_with(field))
    })
}

/// A route command in every hook, broken as an operator breaks it; and the
/// field the error must name. It would leave `$DIR/ran` if it ran.
fn broken_configs() -> Vec<(&'static str, String, &'static str)> {
    let route = |var: &str| {
        format!(
            "commands:\n  - name: route\n    run: touch $DIR/ran; echo \"${var}\"\n    phases: {EVERY_HOOK}\n"
        )
    };
    vec![
        (
            "a network the deployment does not have",
            format!("{}networks:\n  default: {{ip: 10.0.250.10, gateway: 10.0.250.1}}\n", route("INJECT_NET_IPV6_GATEWAY")),
            "commands[0].run",
        ),
        (
            "a typo in a variable",
            format!("{}{NETWORKS}", route("INJECT_IPV6_GATEWAYY")),
            "commands[0].run",
        ),
        (
            "two IPv6 networks and INJECT_IPV6_*",
            format!(
                "{}{NETWORKS}  other: {{ip: \"2001:db8:1::10\", gateway: \"2001:db8:1::1\"}}\n",
                route("INJECT_IPV6_GATEWAY")
            ),
            "commands[0].run",
        ),
        (
            "dry_run as the string \"false\"",
            format!("dry_run: \"false\"\n{}{NETWORKS}", route("INJECT_IPV6_GATEWAY")),
            "dry_run",
        ),
        (
            "an unknown key",
            format!(
                "commands:\n  - name: route\n    run: touch $DIR/ran\n    unles: 'false'\n    phases: {EVERY_HOOK}\n"
            ),
            "commands[0]: unknown field `unles`",
        ),
        (
            "YAML that does not parse",
            format!("commands:\n  - name: route\n    run: [touch $DIR/ran\n    phases: {EVERY_HOOK}\n"),
            "",
        ),
        (
            "a user that does not exist",
            format!(
                "commands:\n  - name: route\n    run: touch $DIR/ran\n    user: no-such-user-here\n    phases: {EVERY_HOOK}\n"
            ),
            "commands[0].user",
        ),
        (
            "a cwd that does not exist",
            format!(
                "commands:\n  - name: route\n    run: touch $DIR/ran\n    cwd: /no/such/dir\n    phases: {EVERY_HOOK}\n"
            ),
            "commands[0].cwd",
        ),
    ]
}

#[test]
fn stop_side_hooks_warn_about_a_config_error_naming_its_place_and_exit_0() {
    for (what, config, field) in broken_configs() {
        for phase in STOP_SIDE {
            let case = Case::new(&config);
            let run = case.run(phase);
            assert_eq!(run.code, 0, "{what}, {phase}: {run:?}");
            assert!(
                run.stderr.contains("inject: warning: ")
                    && names_place(&run.stderr, case.dir.path(), field),
                "{what}, {phase}: the warning does not name file:line:column and `{field}`: {run:?}"
            );
            assert!(
                run.stderr
                    .contains(&format!("{phase} runs none of its commands and exits 0")),
                "{what}, {phase}: {run:?}"
            );
            // Drain's stdout is the integer the agent reads; bin/drain
            // prints it, inject prints nothing there.
            assert_eq!(run.stdout, "", "{what}, {phase}");
            assert!(!case.path("ran").exists(), "{what}, {phase}: a command ran");
            // One line in the run log saying so, and no run dir: nothing ran.
            let events = case.events();
            assert_eq!(events.len(), 1, "{what}, {phase}: {events:?}");
            assert_eq!(events[0]["event"], "config_error");
            assert_eq!(events[0]["phase"], phase);
            assert!(
                names_place(
                    events[0]["message"].as_str().unwrap(),
                    case.dir.path(),
                    field
                ),
                "{what}, {phase}: {events:?}"
            );
            assert_eq!(case.run_dirs(), 0, "{what}, {phase}");
        }
    }
}

#[test]
fn the_errand_and_the_start_hooks_fail_on_a_config_error_of_theirs_with_exit_2() {
    for (what, config, field) in broken_configs() {
        for phase in GATE {
            let case = Case::new(&config);
            let run = case.run(phase);
            assert_eq!(run.code, 2, "{what}, {phase}: {run:?}");
            assert!(
                !run.stderr.contains("warning") && names_place(&run.stderr, case.dir.path(), field),
                "{what}, {phase}: the error does not name file:line:column and `{field}`: {run:?}"
            );
            assert!(!case.path("ran").exists(), "{what}, {phase}: a command ran");
            assert_eq!(case.run_dirs(), 0, "{what}, {phase}");
        }
    }
}

#[test]
fn a_hook_without_commands_of_its_phase_exits_0_whatever_else_the_config_says() {
    // The issue's config: an errand and pre-start command that names a
    // network this deployment lacks, and nothing else.
    let case = Case::new(&format!(
        "dry_run: \"false\"\ncommands:\n  - name: route\n    run: echo \"$INJECT_NET_IPV6_GATEWAY\"\n    phases: [errand, pre-start]\n{NETWORKS}"
    ));
    for phase in [
        "post-start",
        "post-deploy",
        "pre-stop",
        "drain",
        "post-stop",
    ] {
        let run = case.run(phase);
        assert_eq!(run.code, 0, "{phase}: {run:?}");
        assert!(
            run.stderr.contains(&format!(
                "(no command is tagged {phase}: nothing to do, exit 0)"
            )) && names_place(&run.stderr, case.dir.path(), "dry_run"),
            "{phase}: {run:?}"
        );
        assert_eq!(run.stdout, "", "{phase}");
    }
    assert_eq!(case.events(), Vec::<serde_json::Value>::new());
    assert!(
        !case.log_dir().exists(),
        "a hook with nothing to do made the log dir"
    );
    assert_eq!(case.run("pre-start").code, 2);
}

#[test]
fn a_hook_runs_its_own_valid_commands_beside_an_error_in_another_phases_command() {
    let case = Case::new(
        "commands:\n  - name: route\n    run: echo \"$INJECT_NET_IPV6_GATEWAY\"\n    phases: [errand, pre-start]\n  - name: goodbye\n    run: touch $DIR/bye\n    phases: [post-stop, post-start]\nnetworks:\n  default: {ip: 10.0.250.10}\n"
    );
    for phase in ["post-start", "post-stop"] {
        let _ = std::fs::remove_file(case.path("bye"));
        let run = case.run(phase);
        assert_eq!(run.code, 0, "{phase}: {run:?}");
        assert!(
            case.path("bye").exists(),
            "{phase}: its command did not run"
        );
        assert!(
            run.stderr.contains("inject: warning: ")
                && names_place(&run.stderr, case.dir.path(), "commands[0].run")
                && run.stderr.contains(&format!(
                    "(it concerns no command of phase {phase}; those run)"
                )),
            "{phase}: {run:?}"
        );
        assert!(run.stdout.contains("1 command: 1 ok"), "{phase}: {run:?}");
    }
}

#[test]
fn a_failing_stop_side_command_still_fails_its_hook() {
    // Only config errors are forgiven: a command that runs and fails fails
    // its hook (exit 1); `continue_on_error` lets the next ones run.
    let case = Case::new(
        "commands:\n  - {name: deregister, run: 'exit 3', phases: [drain, post-stop, pre-stop], continue_on_error: true}\n  - {name: next, run: 'touch $DIR/next', phases: [drain, post-stop, pre-stop]}\n",
    );
    for phase in STOP_SIDE {
        let _ = std::fs::remove_file(case.path("next"));
        let run = case.run(phase);
        assert_eq!(run.code, 1, "{phase}: {run:?}");
        assert!(
            run.stdout.contains("2 commands: 1 ok, 0 skipped, 1 failed"),
            "{phase}: {run:?}"
        );
        assert!(case.path("next").exists(), "{phase}");
    }
}

#[test]
fn hook_runs_without_commands_leave_no_run_dir_and_keep_the_errands_output() {
    let case = Case::new("commands:\n  - {name: hello, run: 'echo hello'}\n");
    let errand = case.run("errand");
    assert_eq!(errand.code, 0, "{errand:?}");
    assert_eq!(case.run_dirs(), 1);
    // Many deploy cycles' worth of hooks, each with no command of its phase
    // (20 run dirs are kept): the errand's output stays.
    for _ in 0..4 {
        for phase in [
            "pre-start",
            "post-start",
            "post-deploy",
            "pre-stop",
            "drain",
            "post-stop",
        ] {
            let run = case.run(phase);
            assert_eq!(run.code, 0, "{phase}: {run:?}");
            assert!(run.stdout.contains("0 commands"), "{phase}: {run:?}");
        }
    }
    assert_eq!(case.run_dirs(), 1);
    let lines = case.events();
    assert!(
        lines.iter().all(|l| l["phase"] == "errand"),
        "hook runs with no command wrote to the run log: {lines:?}"
    );
}

#[test]
fn a_missing_user_is_named_at_its_line_and_index_in_the_file() {
    // The post-stop command is the file's second; the first (the errand's)
    // has an error of its own, so post-stop reads only its own command.
    let case = Case::new(
        "commands:\n  - {name: a, run: 'true', rnu: x}\n  - name: b\n    run: 'true'\n    user: no-such-user-here\n    phases: [post-stop, pre-start]\n",
    );
    let file = case.path("commands.yml");
    let stop = case.run("post-stop");
    assert_eq!(stop.code, 0, "{stop:?}");
    assert!(
        stop.stderr.contains(&format!(
            "inject: warning: {}:5:11: commands[1].user: no user `no-such-user-here`",
            file.display()
        )),
        "{stop:?}"
    );
    let start = case.run("pre-start");
    assert_eq!(start.code, 2, "{start:?}");
    assert!(
        start.stderr.contains(&format!(
            "inject: {}:5:11: commands[1].user: no user `no-such-user-here`",
            file.display()
        )),
        "{start:?}"
    );
}
