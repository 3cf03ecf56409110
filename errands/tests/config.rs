//! The config: what a good file becomes, and every bad input's message
//! (file:line:column: field: what), as `inject run` and `inject check` print it.

use std::path::PathBuf;
use std::time::Duration;

use inject_errands::config::{self, load, parse, parse_duration, parse_size, Network, Phase};

fn err(text: &str) -> String {
    parse(text, "commands.yml")
        .expect_err("must be rejected")
        .to_string()
}

#[test]
fn a_full_config_is_read_with_its_values() {
    let c = parse(
        r#"
shell: [/bin/sh, -c]
timeout: 5m
stop_on_error: false
output_limit: 1MiB
commands:
  - name: ipv6-default-route
    run: ip -6 route add default via 2001:db8:69f5::1 dev eth1
    unless: ip -6 route show default | grep -q default
    only_if: test -e /sys/class/net/eth1
    phases: [errand, ensure]
    timeout: 30s
    retries: 2
    retry_delay: 500ms
    continue_on_error: true
    env: {KEY: value, PORT: 8080, ON: true}
    cwd: /tmp
    user: vcap
    sensitive: true
networks:
  ipv6-net: {ip: "2001:db8:69f5::10", gateway: "2001:db8:69f5::1", netmask: "ffff:ffff:ffff:ffff::"}
"#,
        "commands.yml",
    )
    .unwrap();
    assert_eq!(c.shell, ["/bin/sh", "-c"]);
    assert_eq!(c.timeout, Duration::from_secs(300));
    assert!(!c.stop_on_error);
    assert_eq!(c.output_limit, 1024 * 1024);
    let cmd = &c.commands[0];
    assert_eq!(cmd.name, "ipv6-default-route");
    assert_eq!(
        cmd.unless.as_deref(),
        Some("ip -6 route show default | grep -q default")
    );
    assert_eq!(cmd.only_if.as_deref(), Some("test -e /sys/class/net/eth1"));
    assert_eq!(cmd.phases, [Phase::Errand, Phase::Ensure]);
    assert_eq!(cmd.timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        (cmd.retries, cmd.retry_delay),
        (2, Duration::from_millis(500))
    );
    assert!(cmd.continue_on_error && cmd.sensitive);
    assert_eq!(cmd.env["PORT"], "8080");
    assert_eq!(cmd.env["ON"], "true");
    assert_eq!(cmd.cwd, Some(PathBuf::from("/tmp")));
    assert_eq!(cmd.user.as_deref(), Some("vcap"));
    assert_eq!(
        c.networks["ipv6-net"],
        Network {
            ip: Some("2001:db8:69f5::10".into()),
            gateway: Some("2001:db8:69f5::1".into()),
            netmask: Some("ffff:ffff:ffff:ffff::".into()),
            prefix: None,
        }
    );
    assert_eq!(
        c.network_env(),
        [
            (
                "INJECT_NET_IPV6_NET_IP".to_string(),
                "2001:db8:69f5::10".to_string()
            ),
            (
                "INJECT_NET_IPV6_NET_GATEWAY".to_string(),
                "2001:db8:69f5::1".to_string()
            ),
            (
                "INJECT_NET_IPV6_NET_NETMASK".to_string(),
                "ffff:ffff:ffff:ffff::".to_string()
            ),
            ("INJECT_NET_IPV6_NET_PREFIX".to_string(), "64".to_string()),
            ("INJECT_NET_IPV6_NET_FAMILY".to_string(), "ipv6".to_string()),
            ("INJECT_IPV6_NETWORK".to_string(), "ipv6-net".to_string()),
            (
                "INJECT_IPV6_IP".to_string(),
                "2001:db8:69f5::10".to_string()
            ),
            (
                "INJECT_IPV6_GATEWAY".to_string(),
                "2001:db8:69f5::1".to_string()
            ),
            (
                "INJECT_IPV6_NETMASK".to_string(),
                "ffff:ffff:ffff:ffff::".to_string()
            ),
            ("INJECT_IPV6_PREFIX".to_string(), "64".to_string()),
            ("INJECT_IPV6_FAMILY".to_string(), "ipv6".to_string()),
        ]
    );
}

#[test]
fn defaults_match_the_design() {
    let c = parse("commands:\n  - {name: a, run: 'true'}\n", "x").unwrap();
    assert_eq!(
        c.shell,
        [
            "/bin/bash",
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c"
        ]
    );
    assert_eq!(c.timeout, Duration::from_secs(600));
    assert!(c.stop_on_error);
    assert_eq!(c.output_limit, 64 * 1024);
    let cmd = &c.commands[0];
    assert_eq!(cmd.phases, [Phase::Errand]);
    assert_eq!(
        (cmd.timeout, cmd.retries, cmd.retry_delay),
        (None, 0, Duration::from_secs(2))
    );
    assert_eq!(c.timeout_of(cmd), Duration::from_secs(600));
    assert!(!cmd.continue_on_error && !cmd.sensitive && cmd.env.is_empty());
}

#[test]
fn json_is_valid_input() {
    let c = parse(
        r#"{"timeout":"1m","commands":[{"name":"a","run":"echo a","phases":["pre-start"]}],"networks":{"default":{"ip":"10.0.0.5"}}}"#,
        "commands.json",
    )
    .unwrap();
    assert_eq!(c.commands[0].phases, [Phase::PreStart]);
    assert_eq!(
        c.network_env(),
        [
            ("INJECT_NET_DEFAULT_IP".to_string(), "10.0.0.5".to_string()),
            ("INJECT_NET_DEFAULT_FAMILY".to_string(), "ipv4".to_string()),
            ("INJECT_IPV4_NETWORK".to_string(), "default".to_string()),
            ("INJECT_IPV4_IP".to_string(), "10.0.0.5".to_string()),
            ("INJECT_IPV4_FAMILY".to_string(), "ipv4".to_string()),
        ]
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        err("commands:\n  - name: a\n    rn: echo\n"),
        "commands.yml:3:5: commands[0]: unknown field `rn`, expected one of `name`, `run`, `unless`, \
         `only_if`, `phases`, `timeout`, `retries`, `retry_delay`, `continue_on_error`, `env`, `cwd`, \
         `user`, `sensitive`, `fixes`"
    );
    assert!(err("timout: 5m\ncommands: []\n")
        .starts_with("commands.yml:1:1: unknown field `timout`, expected one of"));
    assert_eq!(
        err("commands: []\nnetworks:\n  n: {ip: 10.0.0.1, gw: y}\n"),
        "commands.yml:3:21: networks.n: unknown field `gw`, expected one of `ip`, `gateway`, `netmask`, `prefix`"
    );
}

#[test]
fn broken_yaml() {
    let e = err("commands:\n  - name: a\n    run: \"unclosed\n");
    assert_eq!(
        e,
        "commands.yml:4:1: found unexpected end of stream, while scanning a quoted scalar at line 3 column 10"
    );
    let e = err("commands:\n  - name: a\n    run: x\n   bad: indent\n");
    assert!(e.starts_with("commands.yml:4:"), "{e}");
    let e = err("commands: [\n");
    assert!(e.starts_with("commands.yml:2:1: "), "{e}");
}

#[test]
fn command_without_run() {
    assert_eq!(
        err("commands:\n  - name: a\n"),
        "commands.yml:2:5: commands[0]: missing field `run`"
    );
}

#[test]
fn empty_run() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: ''\n"),
        "commands.yml:3:10: commands[0].run: must not be empty"
    );
    assert_eq!(
        err("commands:\n  - name: a\n    run:\n"),
        "commands.yml:3:9: commands[0].run: must not be empty"
    );
    assert_eq!(
        err("commands:\n  - name: ' '\n    run: x\n"),
        "commands.yml:2:11: commands[0].name: must not be empty"
    );
}

#[test]
fn duplicate_name() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n  - name: b\n    run: y\n  - name: a\n    run: z\n"),
        "commands.yml:6:5: commands[2]: duplicate name `a` (commands[0] has it already); names must be unique"
    );
}

#[test]
fn bad_duration() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n    timeout: forever\n"),
        "commands.yml:4:14: commands[0].timeout: invalid duration `forever`: expected a number and a unit, \
         like `30s`, `10m` or `1h 30m`"
    );
    assert_eq!(
        err("timeout: 30\ncommands: []\n"),
        "commands.yml:1:10: timeout: `30` has no unit; write `30s` for seconds or `30m` for minutes"
    );
    assert_eq!(
        err("commands:\n  - {name: a, run: x, timeout: 0s}\n"),
        "commands.yml:2:32: commands[0].timeout: `0s` is no time at all; a timeout must be more than 0"
    );
    assert!(err("commands:\n  - {name: a, run: x, retry_delay: soon}\n")
        .contains("commands[0].retry_delay: invalid duration `soon`"));
}

#[test]
fn unknown_phase() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n    phases: [errand, boot]\n"),
        "commands.yml:4:22: commands[0].phases[1]: unknown variant `boot`, expected one of `errand`, \
         `pre-start`, `post-start`, `post-deploy`, `pre-stop`, `drain`, `post-stop`, `ensure`"
    );
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n    phases: []\n"),
        "commands.yml:4:13: commands[0].phases: must name at least one phase (errand, pre-start, post-start, post-deploy, pre-stop, drain, post-stop, ensure)"
    );
}

#[test]
fn unguarded_ensure_command() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n  - name: keep\n    run: x\n    phases: [ensure]\n"),
        "commands.yml:4:5: commands[1]: command `keep` is in phase `ensure` but has no `unless` or `only_if` \
         guard; the ensure loop would run it again and again"
    );
    assert!(parse(
        "commands:\n  - {name: k, run: x, phases: [ensure], only_if: 'true'}\n",
        "x"
    )
    .is_ok());
}

#[test]
fn bad_size_and_shell() {
    assert_eq!(
        err("output_limit: lots\ncommands: []\n"),
        "commands.yml:1:15: output_limit: invalid size `lots`: expected a number and a unit, like `64KiB` or `1MiB`"
    );
    assert_eq!(
        err("shell: []\ncommands: []\n"),
        "commands.yml:1:8: shell: must name a program, like [/bin/bash, -c]"
    );
}

#[test]
fn not_a_mapping_or_no_commands() {
    assert_eq!(
        err("hello\n"),
        "commands.yml:1:1: invalid type: string \"hello\", expected a mapping with `commands:`"
    );
    assert_eq!(
        err("timeout: 1m\n"),
        "commands.yml:1:1: missing field `commands`"
    );
    assert_eq!(
        err("commands: 3\n"),
        "commands.yml:1:11: commands: invalid type: integer `3`, expected a list of commands"
    );
}

#[test]
fn empty_file() {
    assert_eq!(
        err(""),
        "commands.yml:1:1: the file is empty; expected a mapping with `commands:`"
    );
    assert_eq!(
        err("# only a comment\n\n"),
        "commands.yml:1:1: the file is empty; expected a mapping with `commands:`"
    );
}

#[test]
fn binary_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("inject.bin");
    std::fs::write(&binary, b"commands:\n  - \x00\x01\x02ELF").unwrap();
    assert_eq!(
        load(&binary).unwrap_err().to_string(),
        format!(
            "{}:2:5: binary file (NUL byte); the config must be YAML or JSON text",
            binary.display()
        )
    );
    let latin1 = dir.path().join("latin1.yml");
    std::fs::write(&latin1, b"commands:\n  - name: caf\xe9\n").unwrap();
    assert_eq!(
        load(&latin1).unwrap_err().to_string(),
        format!(
            "{}:2:14: not UTF-8 text (byte 0xe9); the config must be YAML or JSON",
            latin1.display()
        )
    );
}

#[test]
fn missing_file_names_the_path() {
    let e = load(std::path::Path::new("/nonexistent/commands.yml"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "/nonexistent/commands.yml: cannot read the config: No such file or directory (os error 2) \
         (give another with -c PATH or INJECT_CONFIG)"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
    assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert!(parse_duration("forever").is_err());
    assert!(parse_duration("10").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("64KiB"), Ok(65536));
    assert_eq!(parse_size("1MiB"), Ok(1 << 20));
    assert_eq!(parse_size("100kB"), Ok(100_000));
    assert_eq!(parse_size("512"), Ok(512));
    assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
    assert!(parse_size("lots").is_err());
    assert!(parse_size("64XB").is_err());
    assert!(parse_size("99999999999999GiB").is_err());
    assert_eq!(config::format_size(65536), "64 KiB");
    assert_eq!(config::format_size(1536 * 1024), "1.5 MiB");
    assert_eq!(config::format_size(300), "300 B");
}

#[test]
fn phase_names() {
    for phase in Phase::ALL {
        assert_eq!(phase.to_string().parse::<Phase>(), Ok(phase));
    }
    assert_eq!(Phase::PreStart.to_string(), "pre-start");
    assert!("reboot"
        .parse::<Phase>()
        .unwrap_err()
        .contains("unknown phase `reboot`"));
}

#[test]
fn config_path_comes_from_the_flag_then_the_environment_then_the_bosh_job() {
    assert_eq!(
        config::resolve_path(Some("/a.yml".into())),
        PathBuf::from("/a.yml")
    );
    // The environment case is covered on the binary (tests/check_cli.rs),
    // where setting a variable does not race other tests in this process.
    if std::env::var_os("INJECT_CONFIG").is_none() {
        assert_eq!(
            config::resolve_path(None),
            PathBuf::from(config::DEFAULT_PATH)
        );
    }
}

#[test]
fn network_names_become_environment_names() {
    assert_eq!(config::env_name("ipv6-net.eu"), "IPV6_NET_EU");
    assert_eq!(config::env_name("Default"), "DEFAULT");
}

#[test]
fn durations_past_a_year_are_refused_where_written() {
    // `Instant::now() + 500000000000y` overflows the clock: refused at load.
    assert_eq!(
        err("timeout: 500000000000y\ncommands: []\n"),
        "commands.yml:1:10: timeout: `500000000000y` is too long; at most 365 days"
    );
    assert_eq!(
        err("commands:\n  - {name: a, run: x, timeout: 400d}\n"),
        "commands.yml:2:32: commands[0].timeout: `400d` is too long; at most 365 days"
    );
    assert_eq!(
        err("commands:\n  - {name: a, run: x, retries: 1, retry_delay: 2y}\n"),
        "commands.yml:2:48: commands[0].retry_delay: `2y` is too long; at most 365 days"
    );
    let c = parse("commands:\n  - {name: a, run: x, timeout: 365d}\n", "c").unwrap();
    assert_eq!(c.commands[0].timeout, Some(config::MAX_DURATION));
}

#[test]
fn network_addresses_and_masks_are_checked_where_written() {
    let net = |body: &str| err(&format!("commands: []\nnetworks:\n  n: {body}\n"));
    assert_eq!(
        net("{ip: not-an-ip}"),
        "commands.yml:3:11: networks.n.ip: `not-an-ip` is not an IP address (like 10.0.0.1 or 2001:db8::1)"
    );
    assert_eq!(
        net("{gateway: '2001:db8::zz'}"),
        "commands.yml:3:16: networks.n.gateway: `2001:db8::zz` is not an IP address (like 10.0.0.1 or 2001:db8::1)"
    );
    assert_eq!(
        net("{netmask: 64}"),
        "commands.yml:3:16: networks.n.netmask: `64` is not a netmask address (like 255.255.255.0 or ffff:ffff:ffff:ffff::)"
    );
    assert_eq!(
        net("{netmask: 255.0.255.0}"),
        "commands.yml:3:16: networks.n.netmask: `255.0.255.0` is not a netmask: its one bits must come first, like 255.255.255.0"
    );
    // Good ones of both families pass, kept as written.
    let c = parse(
        "commands: []\nnetworks:\n  a: {ip: 10.0.0.5, gateway: 10.0.0.1, netmask: 255.255.255.0}\n  \
         b: {ip: '2001:db8::10', gateway: '2001:db8::1', netmask: 'ffff:ffff:ffff:ffff::'}\n",
        "c",
    )
    .unwrap();
    assert_eq!(
        c.networks["b"].netmask.as_deref(),
        Some("ffff:ffff:ffff:ffff::")
    );
    assert_eq!(c.networks["a"].gateway.as_deref(), Some("10.0.0.1"));
}

#[test]
fn network_values_reach_commands_exactly_as_checked() {
    // Trimmed and in canonical form (as `ip` prints addresses), so a guard
    // grepping `ip route` output matches what the command was given.
    let c = parse(
        "commands: []\nnetworks:\n  a: {ip: ' 10.0.0.1 ', gateway: '2001:DB8:0:0::0001', netmask: ' FFFF:FFFF:FFFF:FFFF:0:0:0:0'}\n",
        "c",
    );
    let err = c.unwrap_err().to_string();
    assert!(err.contains("one network is one family"), "{err}");
    let c = parse(
        "commands: []\nnetworks:\n  a: {ip: ' 10.0.0.1 ', gateway: 10.0.0.254}\n  b: {gateway: '2001:DB8:0:0::0001', netmask: ' FFFF:FFFF:FFFF:FFFF:0:0:0:0'}\n",
        "c",
    )
    .unwrap();
    let env: std::collections::BTreeMap<String, String> = c.network_env().into_iter().collect();
    assert_eq!(env["INJECT_NET_A_IP"], "10.0.0.1");
    assert_eq!(env["INJECT_NET_B_GATEWAY"], "2001:db8::1");
    assert_eq!(env["INJECT_NET_B_NETMASK"], "ffff:ffff:ffff:ffff::");
    assert_eq!(env["INJECT_IPV6_PREFIX"], "64");
}

#[test]
fn empty_network_values_are_no_values() {
    // `bosh create-env` renders its placeholder network with empty strings.
    let c = parse(
        "commands: []\nnetworks:\n  default: {ip: '', gateway: '', netmask: ''}\n",
        "c",
    )
    .unwrap();
    assert_eq!(c.network_env(), []);
    // A command that needs one is then a config error naming it.
    let text = "commands:\n  - name: route\n    run: ip -6 route replace default via \"$INJECT_IPV6_GATEWAY\"\nnetworks:\n  default: {ip: '', gateway: '', netmask: ''}\n";
    assert_eq!(
        parse(text, "commands.yml").unwrap_err().to_string(),
        "commands.yml:3:44: commands[0].run: command `route` uses $INJECT_IPV6_GATEWAY, which the \
         networks do not provide: no network of the config is IPv6 (networks: default (no values))"
    );
}

#[test]
fn a_network_variable_no_network_provides_is_a_config_error() {
    let nets = "networks:\n  default: {ip: 10.0.0.5, gateway: 10.0.0.1, netmask: 255.255.255.0}\n  \
                public: {ip: '2001:db8::10', gateway: '2001:db8::1', netmask: 'ffff:ffff:ffff:ffff::'}\n";
    let bad = |run: &str| {
        parse(
            &format!("commands:\n  - name: c\n    run: 'true'\n    unless: {run}\n{nets}"),
            "commands.yml",
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert_eq!(
        bad("test -n \"$INJECT_NET_IPV6_GATEWAY\""),
        Err("commands.yml:4:23: commands[0].unless: command `c` uses $INJECT_NET_IPV6_GATEWAY, which \
             the networks do not provide: no network of that name (networks: default (IPv4), \
             public (IPv6)); for the IPv6 network's value, whatever it is called, use \
             $INJECT_IPV6_GATEWAY"
            .into())
    );
    assert_eq!(
        bad("echo $INJECT_NET_PUBLIC_GATWAY"),
        Err("commands.yml:4:19: commands[0].unless: command `c` uses $INJECT_NET_PUBLIC_GATWAY, which \
             the networks do not provide: network `public` gives _IP, _GATEWAY, _NETMASK, _PREFIX, \
             _FAMILY, _INTERFACE only, no _GATWAY (networks: default (IPv4), public (IPv6))"
            .into())
    );
    // Provided, aliases and `_INTERFACE` included; an optional use is fine.
    assert_eq!(
        bad("echo $INJECT_NET_PUBLIC_GATEWAY $INJECT_IPV6_INTERFACE $INJECT_IPV4_NETWORK ${INJECT_NET_X_IP:-none}"),
        Ok(())
    );
    // Two networks of a family: the alias is unset, and the names to use are given.
    let two = parse(
        "commands:\n  - {name: c, run: 'echo $INJECT_IPV6_IP'}\nnetworks:\n  a: {ip: '2001:db8::1'}\n  b: {ip: '2001:db8:1::1'}\n",
        "commands.yml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        two.ends_with("2 networks are IPv6 (a, b), so INJECT_IPV6_* is unset; use $INJECT_NET_A_IP or $INJECT_NET_B_IP instead"),
        "{two}"
    );
}

#[test]
fn network_names_that_become_the_same_variables_are_refused() {
    assert_eq!(
        err("commands: []\nnetworks:\n  ipv6-net: {ip: '2001:db8::1'}\n  ipv6_net: {ip: '2001:db8::2'}\n"),
        "commands.yml:4:3: networks: networks `ipv6-net` and `ipv6_net` both become \
         INJECT_NET_IPV6_NET_*; rename one"
    );
}

#[test]
fn env_names_and_nul_characters_are_refused_where_written() {
    assert_eq!(
        err("commands:\n  - {name: a, run: x, env: {\"A=B\": x}}\n"),
        "commands.yml:2:29: commands[0].env: `A=B` is no environment name: it must not hold `=` or a control character"
    );
    assert_eq!(
        err("commands:\n  - {name: a, run: x, env: {\"\": x}}\n"),
        "commands.yml:2:29: commands[0].env: an environment name must not be empty"
    );
    // A NUL can only come in through a YAML escape; exec would refuse it
    // mid-run, blaming the shell.
    for field in ["run", "unless", "only_if", "user", "cwd"] {
        let text = format!("commands:\n  - {{name: a, run: x, {field}: \"a\\0b\"}}\n");
        let text = text.replacen("run: x, run:", "run:", 1);
        let message = err(&text);
        assert!(
            message.ends_with(&format!(
                "commands[0].{field}: must not hold a NUL character (\\0)"
            )),
            "{field}: {message}"
        );
        assert!(message.starts_with("commands.yml:2:"), "{message}");
    }
}

#[test]
fn every_bosh_hook_is_a_phase_in_lifecycle_order() {
    let c = parse(
        "commands:\n  - name: a\n    run: x\n    phases: [post-stop, drain, pre-stop, post-start]\n",
        "commands.yml",
    )
    .unwrap();
    assert_eq!(
        c.commands[0].phases,
        [
            Phase::PostStop,
            Phase::Drain,
            Phase::PreStop,
            Phase::PostStart
        ]
    );
    let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(names.join(", "), Phase::NAMES);
    for phase in Phase::ALL {
        assert_eq!(phase.as_str().parse::<Phase>(), Ok(phase));
    }
}

#[test]
fn dry_run_is_a_boolean_in_the_file() {
    let c = parse("commands: []\n", "commands.yml").unwrap();
    assert!(!c.dry_run, "off unless given");
    assert!(
        parse("dry_run: true\ncommands: []\n", "commands.yml")
            .unwrap()
            .dry_run
    );
    // As a quoted manifest value or a CredHub variable renders it: a string,
    // which ERB would have taken for true.
    assert_eq!(
        err("{\"dry_run\": \"false\", \"commands\": []}\n"),
        "commands.yml:1:13: dry_run: invalid type: string \"false\", expected a boolean"
    );
}

/// Issue 12, item 9: the validation gaps an adversary found.
#[test]
fn deep_nesting_is_refused_before_parsing_and_quickly() {
    let deep = format!("commands: {}", "[".repeat(100_000));
    let start = std::time::Instant::now();
    let e = err(&deep);
    assert_eq!(
        e,
        "commands.yml:1:75: nested more than 64 levels deep (`[` or `{`); a config needs 4"
    );
    // 57 s before; the scan is linear. (Timing is only printed: no flake.)
    println!("100 000 nested `[` refused in {:?}", start.elapsed());
    // Brackets inside quotes and comments are text, not nesting.
    let quoted = format!(
        "commands:\n  - name: a\n    run: 'echo {0}' # {0}\n    unless: \"test {0}\"\n",
        "[".repeat(200)
    );
    assert!(parse(&quoted, "commands.yml").is_ok());
}

#[test]
fn a_timeout_below_a_millisecond_is_refused() {
    assert_eq!(
        err("commands:\n  - {name: a, run: x, timeout: 1ns}\n"),
        "commands.yml:2:32: commands[0].timeout: `1ns` is too short for any command to start; a timeout is at least 1ms"
    );
    assert_eq!(
        err("timeout: 999us\ncommands: []\n"),
        "commands.yml:1:10: timeout: `999us` is too short for any command to start; a timeout is at least 1ms"
    );
    let c = parse(
        "commands:\n  - {name: a, run: x, timeout: 1ms, retry_delay: 0s}\n",
        "c",
    )
    .unwrap();
    assert_eq!(c.commands[0].timeout, Some(Duration::from_millis(1)));
}

#[test]
fn an_environment_name_given_twice_is_refused() {
    assert_eq!(
        err("commands:\n  - name: a\n    run: x\n    env: {A: x, A: y}\n"),
        "commands.yml:4:10: commands[0].env: `A` is given twice; each environment name once"
    );
}

#[test]
fn names_with_control_characters_are_refused() {
    assert_eq!(
        err("commands:\n  - name: \"a\\eb\"\n    run: x\n"),
        "commands.yml:2:5: commands[0]: `a\\u{1b}b` holds a control character (\\u{1b}); a name is one line of printable text"
    );
    assert!(err("commands:\n  - name: \"two\\nlines\"\n    run: x\n")
        .contains("holds a control character (\\n)"));
    assert!(
        err("commands: []\nnetworks:\n  \"x\\ty\": {ip: 10.0.0.1}\n")
            .contains("networks: `x\\ty` holds a control character"),
    );
    assert!(
        err("commands:\n  - name: a\n    run: x\n    env: {\"A\\rB\": 1}\n")
            .contains("must not hold `=` or a control character")
    );
}

#[test]
fn a_second_yaml_document_is_refused_where_it_starts() {
    assert_eq!(
        err("commands: []\n---\ncommands: []\n"),
        "commands.yml:2:1: a second YAML document starts here; the config is one document"
    );
    // A leading `---` is the first document's start, not a second one.
    assert!(parse("---\ncommands: []\n", "c").is_ok());
}

#[test]
fn commands_with_no_value_and_commands_null_mean_the_same_none() {
    for text in [
        "commands:\n",
        "commands: null\n",
        "commands: []\n",
        "commands: ~\n",
    ] {
        let c = parse(text, "c").unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(c.commands.is_empty(), "{text:?}");
    }
    assert_eq!(
        err("commands: 3\n"),
        "commands.yml:1:11: commands: invalid type: integer `3`, expected a list of commands"
    );
}

#[test]
fn env_may_not_set_a_name_inject_owns_and_the_error_names_command_and_key() {
    assert_eq!(
        err("commands:\n  - name: hello\n    run: x\n    env: {INJECT_SENSITIVE_COMMAND: 'echo hijacked'}\n"),
        "commands.yml:2:5: commands[0]: command `hello`: env sets `INJECT_SENSITIVE_COMMAND`, \
         a name inject owns (INJECT_*): inject sets those from the networks and for itself; \
         use another name"
    );
    // Other names that merely contain it are the command's own.
    assert!(parse(
        "commands:\n  - {name: a, run: x, env: {MY_INJECT_X: y}}\n",
        "c"
    )
    .is_ok());
}

#[test]
fn addresses_no_interface_can_use_are_refused_with_the_network_named() {
    for (network, said) in [
        (
            "{ip: 10.0.0.5, gateway: 10.0.0.5}",
            "ip and gateway are both 10.0.0.5",
        ),
        (
            "{gateway: 'ff02::2'}",
            "gateway ff02::2 is a multicast address",
        ),
        (
            "{ip: '::ffff:192.0.2.1'}",
            "ip ::ffff:192.0.2.1 is an IPv4-mapped IPv6 address",
        ),
        ("{ip: 127.0.0.2}", "ip 127.0.0.2 is a loopback address"),
    ] {
        let e = err(&format!("commands: []\nnetworks:\n  n: {network}\n"));
        assert!(
            e.contains(&format!("network `n`: {said}")),
            "{network}: {e}"
        );
    }
    // A link-local gateway and a /32 with its gateway beyond are fine.
    assert!(parse(
        "commands: []\nnetworks:\n  a: {ip: '2001:db8::10', gateway: 'fe80::1'}\n  \
         b: {ip: 10.0.0.5, gateway: 10.0.0.1, netmask: 255.255.255.255}\n",
        "c"
    )
    .is_ok());
}

#[test]
fn warnings_name_the_off_block_gateway_and_the_unknown_user() {
    let c = parse(
        "commands:\n  - {name: a, run: x, user: no-such-user-here}\n\
         networks:\n  b: {ip: 10.0.0.5, gateway: 10.0.1.1, netmask: 255.255.255.0}\n",
        "c",
    )
    .unwrap();
    assert_eq!(
        inject_errands::config::warnings(&c),
        [
            "networks.b.gateway: 10.0.1.1 is outside 10.0.0.5/24; a route via it works only \
             if the gateway is on-link by other means",
            "commands[0].user: no user `no-such-user-here` on this host; command `a` would not start here",
        ]
    );
}
