//! `inject ensure` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct EnsureArgs {}

pub fn main(_args: EnsureArgs) -> ExitCode {
    eprintln!("inject ensure: not built yet");
    ExitCode::from(2)
}
