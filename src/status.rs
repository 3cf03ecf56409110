//! `inject status`: interfaces, addresses and routes of both families from
//! netlink, and what is wrong with them; `--watch` follows changes live.

use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use inject_errands::config;
use inject_ui::net::{self, Finding, Severity};

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of text (schema in the README).
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Exit 1 when any error-level finding exists (for scripts and monitoring).
    #[arg(long, conflicts_with = "watch")]
    strict: bool,
    /// Keep running: print a line per link, address or route change, and
    /// the findings whenever they change, until interrupted.
    #[arg(long)]
    watch: bool,
    /// Config whose `networks:` gateways complete the hints' commands
    /// [default: $INJECT_CONFIG, else the BOSH job's; ignored if absent].
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    config: Option<PathBuf>,
}

pub fn main(args: StatusArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("inject status: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(args))
}

/// Gateways from the config's `networks:`. A missing config is fine unless
/// named with `-c`; a broken one is an error (exit 2), never half-read.
fn known_gateways(cli: Option<PathBuf>) -> Result<Vec<IpAddr>, String> {
    let explicit = cli.is_some();
    let path = config::resolve_path(cli);
    if !explicit && !path.exists() {
        return Ok(Vec::new());
    }
    let cfg = config::load(&path).map_err(|e| e.to_string())?;
    Ok(cfg
        .networks
        .values()
        .filter_map(|n| n.gateway.as_deref()?.parse().ok())
        .collect())
}

fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

async fn run(args: StatusArgs) -> ExitCode {
    let gateways = match known_gateways(args.config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("inject status: {e}");
            return ExitCode::from(2);
        }
    };
    if args.watch {
        return watch(&gateways).await;
    }
    let snapshot = match net::read_snapshot().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("inject status: {e}");
            return ExitCode::from(2);
        }
    };
    let findings = net::findings_with(&snapshot, &gateways);
    let stdout = std::io::stdout();
    let pretty = stdout.is_terminal();
    let written = if args.json {
        net::json::write(
            std::io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
            &snapshot,
            &findings,
            pretty,
        )
    } else {
        let mut out = std::io::BufWriter::new(stdout.lock());
        out.write_all(net::text::render(&snapshot, &findings, use_color()).as_bytes())
            .and_then(|()| out.flush())
    };
    // A closed pipe (`| head`) is the reader's choice, not our failure.
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("inject status: writing the report: {e}");
            return ExitCode::from(2);
        }
    }
    if args.strict && findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_findings(findings: &[Finding], color: bool) {
    if findings.is_empty() {
        println!("findings: no problems found");
    } else {
        println!("findings:");
        for f in findings {
            println!("{}", net::text::finding_lines(f, color));
        }
    }
}

/// Changes arrive in bursts (a link going down takes its routes along):
/// re-read the snapshot once the burst has been quiet this long…
const QUIET: Duration = Duration::from_millis(150);
/// …or, in an endless stream of changes, this long after the first.
const MOST: Duration = Duration::from_secs(1);

async fn watch(gateways: &[IpAddr]) -> ExitCode {
    let color = use_color();
    // Subscribe before the first read, so nothing between the two is lost.
    let mut changes = match net::watch().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("inject status: {e}");
            return ExitCode::from(2);
        }
    };
    let read = || async {
        net::read_snapshot()
            .await
            .map(|s| net::findings_with(&s, gateways))
            .map_err(|e| e.to_string())
    };
    let snapshot = match net::read_snapshot().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("inject status: {e}");
            return ExitCode::from(2);
        }
    };
    let mut findings = net::findings_with(&snapshot, gateways);
    print!("{}", net::text::render(&snapshot, &findings, color));
    drop(snapshot);
    println!("\nwatching for changes (Ctrl-C to stop)");

    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("inject status: cannot handle SIGINT/SIGTERM: {e}");
            return ExitCode::from(2);
        }
    };
    // When to re-read: (first unread change, last change).
    let mut pending: Option<(Instant, Instant)> = None;
    loop {
        let due = pending.map(|(first, last)| (last + QUIET).min(first + MOST));
        tokio::select! {
            change = changes.next() => match change {
                Some(change) => {
                    println!("{change}");
                    let now = Instant::now();
                    pending = Some((pending.map_or(now, |(first, _)| first), now));
                }
                None => {
                    eprintln!("inject status: the netlink subscription ended");
                    return ExitCode::from(2);
                }
            },
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now).into()), if due.is_some() => {
                pending = None;
                match read().await {
                    Ok(now) if now != findings => {
                        print_findings(&now, color);
                        findings = now;
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("inject status: {e}"),
                }
            }
            _ = int.recv() => return ExitCode::SUCCESS,
            _ = term.recv() => return ExitCode::SUCCESS,
        }
    }
}
