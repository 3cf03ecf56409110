//! `inject status` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct StatusArgs {}

pub fn main(_args: StatusArgs) -> ExitCode {
    eprintln!("inject status: not built yet");
    ExitCode::from(2)
}
