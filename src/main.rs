use std::process::ExitCode;

use clap::Parser;

/// A scan makes millions of small allocations across two threads (JSON strings, model,
/// findings); mimalloc is markedly faster than the system allocator at that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = m365audit::cli::Cli::parse();
    ExitCode::from(m365audit::run(cli))
}
