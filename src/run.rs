//! `inject run` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RunArgs {}

pub fn main(_args: RunArgs) -> ExitCode {
    eprintln!("inject run: not built yet");
    ExitCode::from(2)
}
