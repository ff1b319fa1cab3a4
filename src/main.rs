use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = m365audit::cli::Cli::parse();
    ExitCode::from(m365audit::run(cli))
}
