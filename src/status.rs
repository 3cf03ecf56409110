//! `inject status`: interfaces, addresses and routes of both families from
//! netlink, and what is wrong with them; `--watch` follows changes live.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use inject_errands::config;
use inject_net::findings::Expected;
use inject_net::report::{self, Format};
use inject_net::text::use_color;
use inject_net::{self as net, follow, Severity};

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of text (schema in docs/status.md).
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Exit 1 when any error-level finding exists (for scripts and monitoring).
    #[arg(long, conflicts_with = "watch")]
    strict: bool,
    /// Keep running: print a line per link, address or route change, and
    /// the findings whenever they change, until interrupted.
    #[arg(long)]
    watch: bool,
    /// Check each default route's gateway first: ask the kernel to resolve
    /// it (ARP/NDP on its link only, nothing routed) and wait up to 5 s
    /// for the answer. Needs root.
    #[arg(long, conflicts_with = "watch")]
    probe: bool,
    /// Config whose `networks:` gateways complete the hints' commands
    /// [default: $INJECT_CONFIG, else the BOSH job's, ignored if absent;
    /// a PATH given here must exist].
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
            eprintln!("inject: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(args))
}

/// Gateways from the config's `networks:`. A missing config is fine unless
/// named with `-c`; a broken one is an error (exit 2), never half-read.
fn known_gateways(cli: Option<PathBuf>) -> Result<Expected, String> {
    let explicit = cli.is_some();
    let path = config::resolve_path(cli);
    if !explicit && !path.exists() {
        return Ok(Expected::default());
    }
    let cfg = config::load(&path).map_err(|e| e.to_string())?;
    Ok(net::findings::config_gateways(&cfg))
}

async fn run(args: StatusArgs) -> ExitCode {
    let gateways = match known_gateways(args.config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("inject: {e}");
            return ExitCode::from(2);
        }
    };
    if args.watch {
        return watch(&gateways).await;
    }
    // Formatted while the routes arrive and written once all are read: a
    // read error prints no report, only the error on stderr (exit 2).
    let stdout = std::io::stdout();
    let format = if args.json {
        Format::Json {
            pretty: stdout.is_terminal(),
        }
    } else {
        Format::Text { color: use_color() }
    };
    let out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    // A closed pipe (`| head`) is the reader's choice, not our failure.
    let findings = match report::write_status_with(out, &gateways, format, args.probe) {
        Ok(findings) => findings,
        Err(e) => {
            eprintln!("inject: {e}");
            return ExitCode::from(2);
        }
    };
    if args.strict && findings.iter().any(|f| f.severity == Severity::Error) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `--watch` until SIGINT/SIGTERM (exit 0) or a closed pipe (exit 0);
/// following itself lives in `net::follow`.
async fn watch(gateways: &Expected) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("inject: cannot handle SIGINT/SIGTERM: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let out = stdout.lock();
    tokio::select! {
        end = follow::print_watch(out, std::io::stderr(), gateways, use_color()) => match end {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("inject: {e}");
                ExitCode::from(2)
            }
        },
        _ = int.recv() => ExitCode::SUCCESS,
        _ = term.recv() => ExitCode::SUCCESS,
        // `| head -1` has its line: stop now, not at the next change.
        _ = follow::reader_gone(std::os::fd::AsFd::as_fd(&stdout)) => ExitCode::SUCCESS,
    }
}
