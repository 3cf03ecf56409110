//! `inject ensure`: keep the commands tagged `ensure` true, for as long as
//! it runs (under monit on a BOSH VM). Wires the netlink change stream into
//! the loop's trigger channel and SIGTERM/SIGINT into its stop.
//!
//! Exit codes: 0 after SIGTERM/SIGINT/SIGHUP, or at once when no command is tagged
//! `ensure` (nothing to keep; the BOSH job declares no monit process then);
//! 1 when another ensure holds the log dir or the loop cannot start; 2 on a
//! usage or config error (monit restarts it, and the log says why).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use inject_errands::config::{self, Phase};
use inject_errands::ensure::{self, state, Ensure, Policy, Trigger};
use inject_errands::{plan, runlog, CancellationToken};
use inject_ui::net;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

#[derive(clap::Args)]
pub struct EnsureArgs {
    /// Config file [default: $INJECT_CONFIG, else /var/vcap/jobs/inject-commands/config/commands.yml]
    #[arg(short, long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Re-check every command this often, for what netlink cannot see (`60s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_interval)]
    interval: Duration,
    /// Longest wait between re-checks of a command that keeps failing (it
    /// doubles from the interval); a network change re-checks it sooner,
    /// 100 ms after its last check, doubling with each failure.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_interval)]
    max_backoff: Duration,
    /// Keep the run log and ensure-state.json here [default: $INJECT_LOG_DIR, else /var/vcap/sys/log/inject-commands on a BOSH VM, else none]
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    match config::parse_duration(text)? {
        d if d.is_zero() => Err("must be more than 0".to_string()),
        d => Ok(d),
    }
}

pub fn main(args: EnsureArgs) -> ExitCode {
    let path = config::resolve_path(args.config.clone());
    let config = match net::locate::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("inject ensure: {err}");
            return ExitCode::from(2);
        }
    };
    let commands = match plan::select(&config, Phase::Ensure, &[]) {
        Ok(commands) => commands,
        Err(err) => {
            eprintln!("inject ensure: {err}");
            return ExitCode::from(2);
        }
    };
    if commands.is_empty() {
        // Exit 0: nothing is wrong, there is just nothing to keep. (Monit
        // never starts it then: the job declares the process only when a
        // command is tagged ensure.)
        say(&format!(
            "inject ensure: no command in {} has `ensure` in its phases: nothing to keep, exiting",
            path.display()
        ));
        return ExitCode::SUCCESS;
    }
    if config.dry_run {
        // The BOSH job declares no monit process then; run by hand, it
        // previews like `inject run` and keeps nothing.
        let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
        say(&format!(
            "inject ensure: dry_run is true in {}: nothing is executed; it would keep: {}",
            path.display(),
            names.join(", ")
        ));
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("inject ensure: cannot start: {err}");
            return ExitCode::from(1);
        }
    };
    let policy = Policy {
        interval: args.interval,
        max_backoff: args.max_backoff,
    };
    runtime.block_on(async {
        // Handlers first: from here on a SIGTERM stops the loop cleanly.
        // SIGHUP (the terminal of a `bosh ssh` session that started it by
        // hand going away) is a stop like SIGTERM.
        let (mut term, mut int, mut hup) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(int), Ok(hup)) => (term, int, hup),
            (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => {
                eprintln!("inject ensure: cannot handle signals: {err}");
                return ExitCode::from(1);
            }
        };
        let log_dir = runlog::resolve_dir(args.log_dir.clone());
        let _lock = match log_dir.as_deref().map(state::lock).transpose() {
            Ok(lock) => lock,
            Err(runlog::LockError::Held(held)) => {
                eprintln!("inject ensure: {held}");
                return ExitCode::from(1);
            }
            // A log dir that cannot even hold a lock file (read-only, gone)
            // must not stop the routes from being kept: say so, go on.
            Err(err) => {
                say(&ensure::stamped(&format!(
                    "inject ensure: {err}; going on without it (a second ensure on this log dir is not prevented)"
                )));
                None
            }
        };
        let triggers = watch_network().await;
        let cancel = CancellationToken::new();
        let mut ensure = Ensure::new(&config, &commands, policy, log_dir.as_deref(), say);
        let run = ensure.run(triggers, &cancel);
        tokio::pin!(run);
        loop {
            tokio::select! {
                _ = &mut run => break,
                _ = term.recv(), if !cancel.is_cancelled() => {
                    say(&ensure::stamped("stopping on SIGTERM"));
                    cancel.cancel();
                }
                _ = int.recv(), if !cancel.is_cancelled() => {
                    say(&ensure::stamped("stopping on SIGINT"));
                    cancel.cancel();
                }
                _ = hup.recv(), if !cancel.is_cancelled() => {
                    say(&ensure::stamped("stopping on SIGHUP"));
                    cancel.cancel();
                }
            }
        }
        ExitCode::SUCCESS
    })
}

/// Subscribes to link, address and route changes (before the first check,
/// so none in between is missed) and forwards each as a trigger. Without
/// netlink the channel closes and the loop relies on its re-check.
async fn watch_network() -> mpsc::Receiver<Trigger> {
    // Small: a full channel already means "check everything", so extra
    // changes can be dropped.
    let (tx, rx) = mpsc::channel(64);
    match net::watch().await {
        Ok(mut changes) => {
            tokio::spawn(async move {
                // When each link last changed (down, up, …).
                let mut links = std::collections::HashMap::new();
                while let Some(change) = changes.next().await {
                    if let net::watch::Change::Link { link, .. } = &change {
                        links.insert(link.index, std::time::Instant::now());
                    }
                    let trigger = Trigger {
                        reason: change.to_string(),
                        by: who_made(&change, &links),
                    };
                    if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(trigger) {
                        break;
                    }
                }
            });
        }
        Err(err) => say(&ensure::stamped(&format!(
            "cannot watch network changes: {err}"
        ))),
    }
    rx
}

/// After a link changed (down, up), an address added on it within this
/// long is networkd bringing the link back, not networkd reconfiguring it:
/// the routes went with the link, not by networkd's hand.
const LINK_SETTLE: Duration = Duration::from_secs(5);

/// Who made `change`, when it can be told: a route's protocol other than
/// the kernel's and `ip route`'s own (`boot`), or an address systemd-networkd
/// re-added on a link it manages whose state did not just change
/// (`networkctl reconfigure`, when it removes the routes it did not make;
/// `links`: when each link last changed). A deletion names nobody: netlink
/// does not say who deleted a route.
fn who_made(
    change: &net::watch::Change,
    links: &std::collections::HashMap<u32, std::time::Instant>,
) -> Option<String> {
    use net::model::Protocol;
    use net::watch::{Action, Change};
    match change {
        Change::Route { action, route, .. } if *action != Action::Deleted => match route.protocol {
            Protocol::UNSPEC | Protocol::REDIRECT | Protocol::KERNEL | Protocol::BOOT => None,
            Protocol::RA => Some("a router advertisement (proto ra)".to_string()),
            Protocol::STATIC => {
                Some("systemd-networkd or another network manager (proto static)".to_string())
            }
            Protocol::DHCP => Some("DHCP (proto dhcp)".to_string()),
            other => Some(format!("a routing daemon (proto {other})")),
        },
        Change::Address {
            action: Action::Added,
            address,
            interface,
        } if networkd_manages(address.link)
            && links
                .get(&address.link)
                .is_none_or(|t| t.elapsed() > LINK_SETTLE) =>
        {
            Some(format!(
                "systemd-networkd (it configured {interface}, removing the routes it did not make)"
            ))
        }
        _ => None,
    }
}

/// Whether systemd-networkd manages the link with this index: its state
/// file in /run/systemd/netif/links says so (`ADMIN_STATE=` other than
/// `unmanaged`). Read as root on the loop's only thread, so only a plain
/// file (a FIFO would block the loop, /dev/zero never end) and only its
/// first 64 KiB (networkd writes a few hundred bytes).
fn networkd_manages(link: u32) -> bool {
    use std::io::Read;
    let path = format!("/run/systemd/netif/links/{link}");
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut state = String::new();
    let read =
        std::fs::File::open(&path).and_then(|file| file.take(64 * 1024).read_to_string(&mut state));
    read.is_ok()
        && state
            .lines()
            .any(|l| l.starts_with("ADMIN_STATE=") && l != "ADMIN_STATE=unmanaged")
}

/// One line to stdout (monit's ensure.stdout.log on a BOSH VM); a closed
/// stdout must not end the loop.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
