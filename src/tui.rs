//! `inject tui`, and the binary started as `inject-tui`: the live dashboard.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

#[derive(clap::Args, Debug, Default)]
pub struct TuiArgs {
    /// Config file, which must exist [default: $INJECT_CONFIG, else the BOSH
    /// job's commands.yml; when that is absent no commands are configured].
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Where runs are logged [default: $INJECT_LOG_DIR, else
    /// /var/vcap/sys/log/inject-commands on a BOSH VM].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
}

pub fn main(args: TuiArgs) -> ExitCode {
    inject_ui::tui::main(inject_ui::tui::Options {
        config: args.config,
        log_dir: args.log_dir,
    })
}

/// True when the binary was started under the name `inject-tui`.
pub fn started_as_tui() -> bool {
    std::env::args_os()
        .next()
        .and_then(|arg0| Path::new(&arg0).file_name().map(|n| n == "inject-tui"))
        .unwrap_or(false)
}

/// `inject-tui [-c PATH] [--log-dir DIR]`: the dashboard, live.
#[derive(Parser)]
#[command(name = "inject-tui", version)]
struct TuiCli {
    #[command(flatten)]
    args: TuiArgs,
}

pub fn main_as_tui() -> ExitCode {
    match TuiCli::try_parse() {
        Ok(cli) => main(cli.args),
        Err(err) => {
            let _ = err.print();
            if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
