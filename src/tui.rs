//! `inject tui` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TuiArgs {}

pub fn main(_args: TuiArgs) -> ExitCode {
    eprintln!("inject tui: not built yet");
    ExitCode::from(2)
}

/// True when the binary was started under the name `inject-tui`.
pub fn started_as_tui() -> bool {
    false
}

pub fn main_as_tui() -> ExitCode {
    main(TuiArgs {})
}
