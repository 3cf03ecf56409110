//! The config as one lifecycle hook reads it: only what concerns the
//! commands of its phase.
//!
//! Why: BOSH stops an instance (every update, recreate, stop, delete) by
//! running pre-stop, drain, monit stop and post-stop, and raises when a
//! hook fails. A hook that failed on any error anywhere in the file (a
//! typo in an errand-only command, a network the deployment lacks) would
//! make the instance unstoppable, the fix-forward deploy included. So a
//! hook checks the file's shape, finds the commands tagged with its phase,
//! and validates those (and the top-level keys they run under) exactly as
//! [`super::parse`] validates the whole file; an error elsewhere is a
//! warning for it. Which phases then fail on an error of theirs, and which
//! only log it, is the caller's choice (`inject run`).
//!
//! How: a first pass reads the YAML as plain values to learn each
//! command's `phases`; the second is the usual typed parse, told (through
//! [`keeping`]) which commands to skip unread, so the errors it gives keep
//! their file:line:column and field path.

use std::cell::RefCell;
use std::path::Path;

use super::{parse, parse_kept, read, text_of, too_deep, Config, ConfigError, Phase};

/// What a hook of one phase gets from a config file that can be read.
#[derive(Debug)]
pub enum ForPhase {
    /// The whole file is valid: every command, as [`super::load`] gives it.
    Valid(Config),
    /// The file has an error outside the phase's commands; those commands
    /// (the only ones `config` holds) and the top-level keys are valid.
    /// `in_file[i]` is the index in the file's `commands:` of
    /// `config.commands[i]`, for messages that name it.
    Elsewhere {
        config: Config,
        error: ConfigError,
        in_file: Vec<usize>,
    },
    /// The file has an error and no command is tagged with the phase: the
    /// hook has nothing to do, whatever the error.
    NoCommands { error: ConfigError },
}

/// Reads the config at `path` for `phase`. An error is one that concerns
/// the phase: in one of its commands, in a top-level key they run under,
/// or in a file that cannot be read or parsed at all (then nobody can tell
/// which commands it has).
pub fn load_for_phase(path: &Path, phase: Phase) -> Result<ForPhase, ConfigError> {
    let origin = path.display().to_string();
    let bytes = read(path)?;
    let text = text_of(&bytes, &origin)?;
    let whole = match parse(text, &origin) {
        Ok(config) => return Ok(ForPhase::Valid(config)),
        Err(error) => error,
    };
    let Some(keep) = phase_commands(text, phase) else {
        return Err(whole);
    };
    if !keep.contains(&true) {
        return Ok(ForPhase::NoCommands { error: whole });
    }
    let config = parse_kept(text, &origin, Some(&keep))?;
    let in_file = (0..config.commands.len())
        .map(|nth| index_in_file(Some(&keep), nth))
        .collect();
    Ok(ForPhase::Elsewhere {
        config,
        error: whole,
        in_file,
    })
}

/// For each entry of `commands:`, whether it concerns `phase`: its
/// `phases` name it, or are missing (the errand's) and `phase` is the
/// errand, or cannot be read (then it may be meant for `phase`, and its
/// error is one of `phase`'s). None when the text is no YAML mapping whose
/// `commands` can be found (nobody can tell what the phase has).
fn phase_commands(text: &str, phase: Phase) -> Option<Vec<bool>> {
    use serde_norway::Value;
    // The shape is read as a plain YAML tree, which expands aliases: the
    // same bounds as the typed parse come first.
    if too_deep(text).is_some() || super::input::expansion_fits(text).is_err() {
        return None;
    }
    let top: Value = serde_norway::from_str(text).ok()?;
    let Value::Mapping(top) = top else {
        return None;
    };
    let commands = match top.get("commands") {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Sequence(commands)) => commands,
        Some(_) => return None,
    };
    let concerns = |command: &Value| -> bool {
        let phases = match command {
            Value::Mapping(m) => m.get("phases"),
            _ => return true,
        };
        match phases {
            None | Some(Value::Null) => phase == Phase::Errand,
            Some(Value::Sequence(list)) => list.iter().any(|p| match p {
                Value::String(name) => match name.parse::<Phase>() {
                    Ok(p) => p == phase,
                    Err(_) => true,
                },
                _ => true,
            }),
            Some(_) => true,
        }
    };
    Some(commands.iter().map(concerns).collect())
}

thread_local! {
    /// Which commands the typed parse on this thread reads; None: all.
    /// Serde's derived impls take no context, so the mask is handed to
    /// `Commands`' visitor this way, for the length of one parse.
    static KEEP: RefCell<Option<Vec<bool>>> = const { RefCell::new(None) };
}

/// Runs `parse` with `keep` as the mask of the commands it reads.
pub(super) fn keeping<T>(keep: Option<&[bool]>, parse: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            KEEP.with(|k| k.borrow_mut().take());
        }
    }
    KEEP.with(|k| *k.borrow_mut() = keep.map(<[bool]>::to_vec));
    let _reset = Reset;
    parse()
}

/// Whether the parse under way reads command `index` (the entries past
/// the mask, if any, are read).
pub(super) fn kept(index: usize) -> bool {
    KEEP.with(|k| {
        k.borrow()
            .as_ref()
            .is_none_or(|keep| keep.get(index).copied().unwrap_or(true))
    })
}

/// The index in the file of the `nth` command read under `keep`.
pub(super) fn index_in_file(keep: Option<&[bool]>, nth: usize) -> usize {
    match keep {
        None => nth,
        Some(keep) => keep
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| i)
            .nth(nth)
            .unwrap_or(nth),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config of the issue: a route command for the errand and
    /// pre-start that names a network the deployment does not have, and a
    /// post-stop command that is fine.
    const BROKEN: &str = r#"
commands:
  - name: route
    run: ip -6 route replace default via "$INJECT_NET_IPV6_GATEWAY"
    phases: [errand, pre-start]
  - name: goodbye
    run: echo bye
    phases: [post-stop]
networks:
  default: {ip: 10.0.0.5, gateway: 10.0.0.1}
"#;

    fn load(text: &str, phase: Phase) -> Result<ForPhase, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commands.yml");
        std::fs::write(&path, text).unwrap();
        load_for_phase(&path, phase).map_err(|mut e| {
            e.origin = "c.yml".into();
            e
        })
    }

    fn names(config: &Config) -> Vec<&str> {
        config.commands.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_valid_file_is_read_whole_for_every_phase() {
        let text = "commands:\n  - {name: a, run: 'true', phases: [pre-stop]}\n  - {name: b, run: 'true'}\n";
        for phase in Phase::ALL {
            match load(text, phase).unwrap() {
                ForPhase::Valid(c) => assert_eq!(names(&c), ["a", "b"]),
                other => panic!("{phase}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_error_in_another_phases_command_leaves_this_phase_its_commands() {
        match load(BROKEN, Phase::PostStop).unwrap() {
            ForPhase::Elsewhere {
                config,
                error,
                in_file,
            } => {
                assert_eq!(names(&config), ["goodbye"]);
                assert_eq!(in_file, [1]);
                let error = error.to_string();
                assert!(
                    error.contains("commands.yml:4:44: commands[0].run: command `route` uses $INJECT_NET_IPV6_GATEWAY"),
                    "{error}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_phase_without_commands_has_nothing_to_do_whatever_the_error() {
        for phase in [Phase::PreStop, Phase::Drain, Phase::PostStart] {
            assert!(
                matches!(load(BROKEN, phase).unwrap(), ForPhase::NoCommands { .. }),
                "{phase}"
            );
        }
        // Top-level errors too: nothing of this phase runs under them.
        let text = "dry_run: \"false\"\ncommands:\n  - {name: a, run: 'true'}\n";
        assert!(matches!(
            load(text, Phase::PostStop).unwrap(),
            ForPhase::NoCommands { .. }
        ));
    }

    #[test]
    fn an_error_in_the_phases_own_command_names_its_place_and_index() {
        let err = load(BROKEN, Phase::PreStart).unwrap_err().to_string();
        assert!(
            err.starts_with("c.yml:4:")
                && err.contains("commands[0].run: command `route` uses $INJECT_NET_IPV6_GATEWAY"),
            "{err}"
        );
        // Behind a skipped command, the index is still the file's.
        let text = "commands:\n  - {name: a, run: 'true', rnu: x}\n  - {name: b, run: 'echo $INJECT_IPV6_IP', phases: [drain]}\n";
        let err = load(text, Phase::Drain).unwrap_err().to_string();
        assert!(err.contains("commands[1].run:"), "{err}");
    }

    #[test]
    fn top_level_errors_concern_every_phase_that_has_commands() {
        let text =
            "dry_run: \"false\"\ncommands:\n  - {name: a, run: 'true', phases: [post-stop]}\n";
        let err = load(text, Phase::PostStop).unwrap_err().to_string();
        assert!(err.starts_with("c.yml:1:10: dry_run:"), "{err}");
    }

    #[test]
    fn a_command_whose_phases_cannot_be_read_concerns_every_phase() {
        for phases in ["pre-stop", "[post-stpo]", "[1]"] {
            let text = format!("commands:\n  - {{name: a, run: 'true', phases: {phases}}}\n");
            for phase in [Phase::PreStop, Phase::PostStop, Phase::PreStart] {
                assert!(load(&text, phase).is_err(), "{phases} {phase}");
            }
        }
    }

    #[test]
    fn text_that_is_no_yaml_is_an_error_for_every_phase() {
        for text in ["commands: [", "commands: just text\n", "- a\n- b\n"] {
            for phase in Phase::ALL {
                assert!(load(text, phase).is_err(), "{text:?} {phase}");
            }
        }
    }

    #[test]
    fn duplicate_names_count_only_among_the_phases_commands() {
        let text = "commands:\n  - {name: a, run: 'true', rnu: 1}\n  - {name: a, run: 'true', phases: [drain]}\n  - {name: a, run: 'true', phases: [drain]}\n";
        let err = load(text, Phase::Drain).unwrap_err().to_string();
        assert!(
            err.contains("duplicate name `a` (commands[1] has it already)"),
            "{err}"
        );
    }
}
