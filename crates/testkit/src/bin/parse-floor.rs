//! `parse-floor`: reads and deserializes an export folder (or file) exactly as `scan` does,
//! and nothing else: the floor `bench/scan.sh` compares a full scan with.

/// The same allocator as `m365audit`, so the floor measures the same loader.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse-floor SOURCE");
        return std::process::ExitCode::from(2);
    };
    match m365audit::source::load(std::path::Path::new(&path)) {
        Ok(loaded) => {
            let s = &loaded.snapshot;
            println!(
                "{} applications, {} service principals, {} error(s)",
                s.applications.len(),
                s.service_principals.items().map_or(0, <[_]>::len),
                loaded.errors.len()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parse-floor: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
