//! `inject ensure`: keep the commands tagged `ensure` true, for as long as
//! it runs (under monit on a BOSH VM). Wires the netlink change stream into
//! the loop's trigger channel and SIGTERM/SIGINT into its stop.
//!
//! Exit codes: 0 after SIGTERM/SIGINT/SIGHUP, or at once when no command is tagged
//! `ensure` (nothing to keep; the BOSH job declares no monit process then);
//! 1 when the log dir's lock is held or cannot be taken, or the loop cannot start; 2 on a
//! usage or config error (monit restarts it, and the log says why).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use inject_errands::config::{self, Phase};
use inject_errands::ensure::{self, state, Ensure, Policy, Trigger};
use inject_errands::{plan, runlog, CancellationToken};
use inject_net as net;
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
    // The config's durations' bounds: below 1ms the loop would spin
    // (`1ns` re-checked 29 times in its first second).
    match config::parse_duration(text)? {
        d if d.is_zero() => Err("must be more than 0: at least 1ms".to_string()),
        d if d < config::MIN_TIMEOUT => Err("must be at least 1ms".to_string()),
        d if d > config::MAX_DURATION => Err("must be at most 365 days".to_string()),
        d => Ok(d),
    }
}

pub fn main(args: EnsureArgs) -> ExitCode {
    let path = config::resolve_path(args.config.clone());
    let config = match net::locate::load(&path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("inject: {err}");
            return ExitCode::from(2);
        }
    };
    let commands = match plan::select(&config, Phase::Ensure, &[]) {
        Ok(commands) => commands,
        Err(err) => {
            eprintln!("inject: {err}");
            return ExitCode::from(2);
        }
    };
    if commands.is_empty() {
        // Exit 0: nothing is wrong, there is just nothing to keep. (Monit
        // never starts it then: the job declares the process only when a
        // command is tagged ensure.)
        say(&format!(
            "inject: no command in {} has `ensure` in its phases: nothing to keep, exiting",
            path.display()
        ));
        return ExitCode::SUCCESS;
    }
    if config.dry_run {
        // The BOSH job declares no monit process then; run by hand, it
        // previews like `inject run` and keeps nothing.
        let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
        say(&format!(
            "inject: dry_run is true in {}: nothing is executed; it would keep: {}",
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
            eprintln!("inject: cannot start: {err}");
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
                eprintln!("inject: cannot handle signals: {err}");
                return ExitCode::from(1);
            }
        };
        let log_dir = runlog::resolve_dir(args.log_dir.clone());
        let _lock = match log_dir.as_deref().map(state::lock).transpose() {
            Ok(lock) => lock,
            // Fails closed: two loops must never fight over the same
            // commands. Monit restarts it; the log says why.
            Err(err) => {
                eprintln!("inject: {err}");
                return ExitCode::from(1);
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
                while let Some(change) = changes.next().await {
                    let trigger = Trigger {
                        reason: change.to_string(),
                        by: who_made(&change),
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

/// Who made `change`, when netlink tells: a default route added or changed
/// with a protocol other than the kernel's and `ip route`'s own (`boot`) names
/// its maker (`proto ra`: a router advertisement, networkd's or the
/// kernel's; `proto static`: systemd-networkd's own routes). A deletion
/// names nobody: netlink does not say who deleted a route, so
/// systemd-networkd removing a route it did not make (`networkctl
/// reconfigure`) is repaired like any deletion. So are address changes.
fn who_made(change: &net::watch::Change) -> Option<String> {
    use net::model::Protocol;
    use net::watch::{Action, Change};
    match change {
        // Only a default route's maker can have undone a default: an
        // unrelated route (networkd's own IPv4 prefix, a daemon's) landing
        // in the same burst as a plain deletion made ensure yield for a
        // minute and more, blaming it.
        Change::Route { action, route, .. }
            if *action != Action::Deleted && route.destination.prefix() == 0 =>
        {
            match route.protocol {
                Protocol::UNSPEC | Protocol::REDIRECT | Protocol::KERNEL | Protocol::BOOT => None,
                Protocol::RA => Some("a router advertisement (proto ra)".to_string()),
                Protocol::STATIC => {
                    Some("systemd-networkd or another network manager (proto static)".to_string())
                }
                Protocol::DHCP => Some("DHCP (proto dhcp)".to_string()),
                other => Some(format!("a routing daemon (proto {other})")),
            }
        }
        _ => None,
    }
}

/// One line to stdout (monit's ensure.stdout.log on a BOSH VM); a closed
/// stdout must not end the loop.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
