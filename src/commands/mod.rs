//! Subcommand handlers: glue between the command line and the library.

pub mod checklist;
mod collect;
mod diff;
mod explain;
mod history;
mod inspect;
mod plan;
mod reach;
mod rules;
pub use rules::run_examples;
mod scan;
mod store;
mod stream;
mod tenants;
mod timings;

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveTime, Utc};

use crate::checks::ScanInputs;
use crate::cli::{Cli, Command, EvalArgs, RulesCommand};
use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::engine::waiver::{self, WaiverState, WaiverStatus};
use crate::engine::{EvalOptions, Evaluation, RuleSet};
use crate::finding::Finding;
use crate::model::{self, Catalog, Tenant, TenantInfo};
use crate::pipeline::{Part, STREAM_BATCH, evaluate_stream};
use crate::report::{SourceSummary, defused};
use crate::source;
use crate::temporaries;

/// Process exit codes (documented in `--help` and the README).
pub mod exit {
    pub const OK: u8 = 0;
    pub const FINDINGS: u8 = 1;
    pub const INPUT: u8 = 2;
    pub const RUNTIME: u8 = 3;
}

/// A command that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad input or usage: exit 2.
    #[error("{0}")]
    Input(String),
    /// Rule files that failed to load: exit 2.
    #[error("{} rule file error(s)", .0.len())]
    Rules(Vec<Diagnostic>),
    /// Anything else: exit 3.
    #[error("{0}")]
    Runtime(String),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Input(_) | CommandError::Rules(_) => exit::INPUT,
            CommandError::Runtime(_) => exit::RUNTIME,
        }
    }

    /// Prints the error(s) to standard error.
    pub fn report(&self) {
        match self {
            CommandError::Rules(errors) => {
                for e in errors {
                    eprintln!("error: {}", defused(&e.to_string()));
                }
            }
            other => eprintln!("error: {}", defused(&other.to_string())),
        }
    }
}

/// Runs a parsed command line and returns the exit code.
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Scan(args) => scan::run(*args),
        Command::Plan(args) => plan::run(args),
        Command::Collect(args) => collect::run(args),
        Command::Checklist(args) => checklist::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Init(args) => init(args),
        Command::Profiles(cmd) => checklist::profiles(cmd),
        Command::Rules(RulesCommand::List(args)) => rules::list(args),
        Command::Rules(RulesCommand::Test(args)) => rules::test(args),
        Command::Rules(RulesCommand::Kinds(args)) => rules::kinds(args),
        Command::History(args) => history::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Reach(args) => reach::run(args),
        Command::Completions(args) => completions(args.shell),
        Command::Man => man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            e.report();
            e.exit_code()
        }
    }
}

/// `m365audit completions SHELL`, from the same definitions as `--help`.
fn completions(shell: clap_complete::Shell) -> Result<u8, CommandError> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "m365audit", &mut out);
    write_stdout(&out)
}

/// `m365audit man`: the manual page in roff.
fn man() -> Result<u8, CommandError> {
    let command = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|e| CommandError::Runtime(format!("cannot render the manual page: {e}")))?;
    write_stdout(&out)
}

/// Writes generated text to standard output; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> Result<u8, CommandError> {
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CommandError::Runtime(
            format!("cannot write to standard output: {e}"),
        )),
        _ => Ok(exit::OK),
    }
}

/// Midnight UTC today: the default audit date. The only place the wall clock is read for
/// evaluation.
fn today() -> DateTime<Utc> {
    Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc()
}

fn load_rules(dirs: &[std::path::PathBuf]) -> Result<RuleSet, CommandError> {
    RuleSet::load(dirs).map_err(CommandError::Rules)
}

/// What `scan` and `plan` make of their shared options ([`EvalArgs`]): the configuration, the
/// rules it adjusts, and the evaluation options.
struct Setup {
    config: Config,
    /// The folder the configuration's paths are relative to.
    base: std::path::PathBuf,
    catalog: Catalog,
    rules: RuleSet,
    opts: EvalOptions,
}

impl Setup {
    /// Reads the configuration and the rules; options on the command line win over the
    /// configuration's.
    fn load(args: &EvalArgs, keep_passed: bool) -> Result<Setup, CommandError> {
        let config =
            Config::find(args.config.as_deref()).map_err(|e| CommandError::Input(e.to_string()))?;
        let base = config
            .path
            .as_deref()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let catalog = Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
        let rule_dirs: Vec<std::path::PathBuf> = args
            .rule_dirs
            .iter()
            .cloned()
            .chain(config.scan.rules.iter().map(|d| base.join(d)))
            .collect();
        let mut rules = load_rules(&rule_dirs)?;
        config
            .apply(&mut rules)
            .map_err(|e| CommandError::Input(e.to_string()))?;
        if !args.only.is_empty() {
            rules.retain_ids(&args.only).map_err(CommandError::Input)?;
        }
        let mailboxes = if args.mailboxes.is_empty() {
            config.scan.mailboxes.clone()
        } else {
            args.mailboxes.clone()
        };
        let opts = EvalOptions {
            as_of: args.as_of.unwrap_or_else(today),
            keep_passed,
            inputs: ScanInputs {
                integration_mailboxes: mailboxes,
            },
        };
        Ok(Setup {
            config,
            base,
            catalog,
            rules,
            opts,
        })
    }

    /// `[scan] sources` of the configuration, relative to its folder.
    fn configured_sources(&self) -> Vec<std::path::PathBuf> {
        self.config
            .scan
            .sources
            .iter()
            .map(|s| self.base.join(s))
            .collect()
    }

    /// Applies the configured waivers to `findings`; a waiver that expired or matches nothing
    /// is a warning on standard error, with its place in the configuration file.
    fn apply_waivers(&self, findings: &mut [Finding]) -> Vec<WaiverStatus> {
        let waivers = waiver::apply(&self.config.waivers, findings, &self.rules, self.opts.as_of);
        self.warn_waivers(&waivers);
        waivers
    }

    /// A warning on standard error for each waiver that expired or matched nothing, with its
    /// place in the configuration file.
    fn warn_waivers(&self, waivers: &[WaiverStatus]) {
        let config = &self.config;
        for w in waivers {
            if w.state != WaiverState::Applied {
                let at = config
                    .path
                    .as_ref()
                    .map(|p| {
                        let (l, c) = w.waiver.position.unwrap_or((0, 0));
                        format!("{}:{l}:{c}: ", p.display())
                    })
                    .unwrap_or_default();
                eprintln!("warning: {at}{}", w.describe());
            }
        }
    }
}

/// Writes to `path` through a temporary file in the same directory and a rename, so a crash
/// never leaves a half-written report behind. `render` streams into a buffered writer.
///
/// Only regular files are replaced that way. An existing path that is anything else — a
/// device such as `/dev/null` or `/dev/stdout`, a named pipe, a socket — is written in place:
/// renaming over it would replace the device node with a plain file.
fn write_atomically(
    path: &Path,
    render: impl FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
) -> Result<(), CommandError> {
    let failed =
        |e: std::io::Error| CommandError::Runtime(format!("{}: cannot write: {e}", path.display()));
    // `metadata` follows symlinks: `-o /dev/stdout` is the character device behind it.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        if meta.is_dir() {
            return Err(CommandError::Input(format!(
                "{}: is a directory, not a file",
                path.display()
            )));
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(failed)?;
        let mut w = std::io::BufWriter::new(file);
        return render(&mut w).and_then(|()| w.flush()).map_err(failed);
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CommandError::Input(format!("{}: not a file name", path.display())))?;
    let name = name.to_string_lossy();
    temporaries::remove_stale(dir, |n| n == name, std::time::SystemTime::now());
    let tmp = temporaries::beside(dir, &name, temporaries::Kind::File);
    let result = std::fs::File::create(&tmp).and_then(|file| {
        let mut w = std::io::BufWriter::new(file);
        render(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(failed)
}

/// A source read and normalized; `tenant` is `None` when it could not be read at all (the
/// summary holds the error).
struct Scanned {
    tenant: Option<Tenant>,
    summary: SourceSummary,
}

/// Reads and normalizes one source, printing its warnings and errors to standard error.
fn read_source(path: &Path, catalog: &Catalog, as_of: DateTime<Utc>) -> Scanned {
    let mut laps = timings::Laps::start();
    let loaded = source::load(path);
    laps.lap("load");
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(e) => {
            return Scanned {
                tenant: None,
                summary: unreadable(path, e),
            };
        }
    };
    let read = Read::of(&loaded);
    let tenant = model::build(loaded.snapshot, catalog);
    laps.lap("model");
    Scanned {
        summary: read.summarize(
            path,
            &tenant.info,
            tenant.apps.len(),
            as_of,
            loaded.warnings,
        ),
        tenant: Some(tenant),
    }
}

/// `scan` of one source: read, normalized and evaluated. An export folder's applications are
/// built and evaluated while `applications.json` is still being parsed.
fn scan_source<S: Send>(
    path: &Path,
    catalog: &Catalog,
    rules: &RuleSet,
    index: usize,
    opts: &EvalOptions,
    summarize: impl Fn(Part<'_>) -> S + Sync,
) -> (SourceSummary, Option<Evaluation>, Vec<S>) {
    if !path.is_dir() {
        let (scanned, mut evaluation) = scan_whole(path, catalog, rules, index, opts);
        let summaries = match (&scanned.tenant, &mut evaluation) {
            (Some(tenant), Some(evaluation)) => vec![summarize(Part {
                index: 0,
                apps: &tenant.apps,
                info: &tenant.info,
                evaluation,
            })],
            _ => Vec::new(),
        };
        return (scanned.summary, evaluation, summaries);
    }
    let mut laps = timings::Laps::start();
    let loaded = source::load_streaming(path, STREAM_BATCH, |snapshot, batches| {
        evaluate_stream(rules, snapshot, batches, index, opts, catalog, &summarize)
    });
    laps.lap("load, model and rules (streamed)");
    match loaded {
        Ok((loaded, scanned)) => {
            let summary = Read::of(&loaded).summarize(
                path,
                &scanned.info,
                scanned.apps,
                opts.as_of,
                loaded.warnings,
            );
            (summary, Some(scanned.evaluation), scanned.summaries)
        }
        Err(e) => (unreadable(path, e), None, Vec::new()),
    }
}

/// One source read whole, normalized and evaluated, keeping the tenant (the streamed scan of
/// a folder lets each batch of apps go once it is evaluated).
fn scan_whole(
    path: &Path,
    catalog: &Catalog,
    rules: &RuleSet,
    index: usize,
    opts: &EvalOptions,
) -> (Scanned, Option<Evaluation>) {
    let scanned = read_source(path, catalog, opts.as_of);
    let evaluation = scanned.tenant.as_ref().map(|tenant| {
        let mut laps = timings::Laps::start();
        let evaluation = crate::engine::evaluate(rules, tenant, index, opts, catalog);
        laps.lap("rules");
        evaluation
    });
    (scanned, evaluation)
}

/// The summary of a source that could not be read at all; the error is printed.
fn unreadable(path: &Path, e: source::LoadError) -> SourceSummary {
    eprintln!("error: {}", defused(&e.to_string()));
    SourceSummary {
        path: path.display().to_string(),
        kind: None,
        tenant: None,
        collected_at: None,
        apps: 0,
        errors: vec![e.headline()],
        warnings: Vec::new(),
    }
}

/// What a source's summary takes from the loaded source besides its warnings.
struct Read {
    kind: source::SourceKind,
    collected_at: Option<DateTime<Utc>>,
    /// Each error on one line (for the summary), and as shown on standard error.
    errors: Vec<(String, String)>,
}

impl Read {
    fn of(loaded: &source::Loaded) -> Read {
        Read {
            kind: loaded.kind,
            collected_at: loaded.snapshot.meta.collected_at,
            errors: loaded
                .errors
                .iter()
                .map(|e| (e.headline(), e.to_string()))
                .collect(),
        }
    }

    /// The summary, with the source's warnings and errors printed to standard error.
    fn summarize(
        self,
        path: &Path,
        tenant: &TenantInfo,
        apps: usize,
        as_of: DateTime<Utc>,
        mut warnings: Vec<String>,
    ) -> SourceSummary {
        let shown = path.display().to_string();
        if let Some(stale) = staleness(self.collected_at, as_of) {
            warnings.push(format!("{shown}: {stale}"));
        }
        for w in &warnings {
            eprintln!("warning: {}", defused(w));
        }
        for (_, shown) in &self.errors {
            eprintln!("error: {}", defused(shown));
        }
        SourceSummary {
            path: shown,
            kind: Some(self.kind.as_str()),
            tenant: tenant.tenant.clone(),
            collected_at: self.collected_at,
            apps,
            errors: self.errors.into_iter().map(|(line, _)| line).collect(),
            warnings,
        }
    }
}

/// An export much older than the audit date may no longer describe the tenant: say so.
fn staleness(collected_at: Option<DateTime<Utc>>, as_of: DateTime<Utc>) -> Option<String> {
    let age = (as_of - collected_at?).num_days();
    (age > STALE_AFTER_DAYS).then(|| {
        format!(
            "the export was collected {age} days before the audit date ({}); credentials and grants may have changed since",
            crate::dates::ymd(collected_at.unwrap_or(as_of))
        )
    })
}

/// Exports older than this (relative to `--as-of`) get a warning.
const STALE_AFTER_DAYS: i64 = 30;

/// `m365audit init`: the commented configuration template.
fn init(args: crate::cli::InitArgs) -> Result<u8, CommandError> {
    if args.path.exists() && !args.force {
        return Err(CommandError::Input(format!(
            "{} exists (use --force to replace it)",
            args.path.display()
        )));
    }
    write_atomically(&args.path, |w| {
        w.write_all(crate::config::TEMPLATE.as_bytes())
    })?;
    eprintln!("wrote {}", args.path.display());
    Ok(exit::OK)
}
