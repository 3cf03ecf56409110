//! `inject check` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CheckArgs {}

pub fn main(_args: CheckArgs) -> ExitCode {
    eprintln!("inject check: not built yet");
    ExitCode::from(2)
}
