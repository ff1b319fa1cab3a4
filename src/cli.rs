//! Command line: one struct per subcommand.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::finding::Severity;
use crate::report::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  the command completed (findings do not change this unless --fail-on is given)
  1  scan: a failing finding at or above --fail-on; rules test: an example gave the wrong count
  2  bad input or usage: unreadable source, malformed JSON, invalid rule file, unknown option
  3  runtime failure: a live request still failing after retries, a token refused, cannot
     write the report, the findings store cannot record the run (the reports are written
     first), internal error";

#[derive(Debug, Parser)]
#[command(
    name = "m365audit",
    version,
    about = "Audit the Entra ID app registrations that products use to reach Exchange Online mail and calendars",
    long_about = "Audit the Entra ID app registrations that third-party products (CRM, help desk, \
contact center, ERP, calendar sync) use to reach Exchange Online mail and calendars: dead or dying \
credentials, unsafe redirect URIs and flows, mailbox permissions and what vendor setup guides asked \
for that is now unsafe or retired.\n\nWorks offline on exports you already have: an export \
directory, `az ad app list` output, Graph pages, Get-MgApplication | ConvertTo-Json, or one portal \
manifest.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan app registrations and report findings (table, JSON or CSV)
    #[command(
        long_about = "Scan app registrations and report findings.\n\n\
    SOURCE is any of:\n\
      - an export directory: applications.json, servicePrincipals.json, appRoleAssignments.json,\n    \
        oauth2PermissionGrants.json, optional snapshot.json and exchange/ (see the README)\n\
      - a list of applications: `az ad app list`, Graph REST page(s), or\n    \
        `Get-MgApplication -All | ConvertTo-Json -Depth 10`\n\
      - one Entra portal manifest, Microsoft Graph or legacy Azure AD Graph format\n\n\
    Each JSON file may be an array, one object, a {\"value\": [...]} page or an array of pages; UTF-8 or\n\
    UTF-16 with a BOM. A source that cannot be read is reported (file, line, column) and the others\n\
    are still scanned; the exit code is then 2.\n\n\
    Outcomes: fail, pass, not_evaluated (the input lacks data the rule needs; the reason names it).\n\
    Missing data is never reported as a pass.",
        after_help = EXIT_CODES
    )]
    Scan(Box<ScanArgs>),
    /// A ranked action plan: one row per app with failing findings, riskiest first, with the
    /// steps (and commands) that fix it
    #[command(long_about = PLAN_ABOUT, after_help = EXIT_CODES)]
    Plan(PlanArgs),
    /// Read a tenant live (Microsoft Graph, optionally Exchange Online) into an export folder
    #[command(long_about = COLLECT_ABOUT, after_help = EXIT_CODES)]
    Collect(CollectArgs),
    /// Pre-go-live checklist: a vendor guide's steps checked on one app registration
    #[command(long_about = CHECKLIST_ABOUT, after_help = CHECKLIST_EXIT)]
    Checklist(ChecklistArgs),
    /// Write a commented m365audit.toml (rules, severities, parameters, waivers)
    Init(InitArgs),
    /// Compare two reports (JSON v2 or v1, or JSON Lines): new, resolved and unchanged findings
    #[command(after_help = DIFF_EXIT)]
    Diff(DiffArgs),
    /// List the vendor profiles, or show one's steps
    #[command(subcommand)]
    Profiles(ProfilesCommand),
    /// List the rules or run their examples
    #[command(subcommand)]
    Rules(RulesCommand),
    /// What the findings store knows: runs over time, open findings and their days open,
    /// reopened and resolved findings, mean time to resolve per rule
    #[command(long_about = HISTORY_ABOUT, after_help = HISTORY_EXIT, args_conflicts_with_subcommands = true)]
    History(HistoryArgs),
    /// Show what a rule checks, why, and how to fix its findings
    Explain(ExplainArgs),
    /// Print the normalized apps of a source exactly as rules (and Rego rules) see them
    Inspect(InspectArgs),
    /// Which apps can reach which mailboxes: every app-only mailbox permission, granted or
    /// not, and how far it reaches
    #[command(
        long_about = "Which apps can reach which mailboxes. For every app registration and every \
service principal holding app-only mailbox permissions: each permission (requested and/or granted \
in Entra) and each RBAC for Applications role assignment, and its reach: all mailboxes, scoped to \
a group or management scope, all except a group (DenyAccess policies), none (not granted), or \
unknown (with the missing input).\n\nEntra grants are limited only by Application Access \
Policies; RBAC for Applications assignments only by their own scope; an app's access is the \
union of both.",
        after_help = EXIT_CODES
    )]
    Reach(ReachArgs),
    /// Print shell completions (bash, zsh, fish, powershell)
    #[command(
        long_about = "Print the completion script for SHELL on standard output. Install it where your \
shell looks for completions, for example:\n\n  \
bash:        m365audit completions bash > ~/.local/share/bash-completion/completions/m365audit\n  \
zsh:         m365audit completions zsh > ~/.zfunc/_m365audit   (with fpath+=~/.zfunc)\n  \
fish:        m365audit completions fish > ~/.config/fish/completions/m365audit.fish\n  \
PowerShell:  m365audit completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff), for `man`
    #[command(
        long_about = "Print the manual page in roff on standard output, generated from the same \
definitions as --help:\n\n  m365audit man > ~/.local/share/man/man1/m365audit.1 && man m365audit"
    )]
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// What `scan` and `plan` read and evaluate: the sources, the configuration, the audit date
/// and the rules.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Export directories or JSON files to scan (default: [scan] sources of m365audit.toml)
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,

    /// Configuration file (default: ./m365audit.toml when present; `m365audit init` writes one)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Audit date: YYYY-MM-DD (midnight UTC) or an RFC 3339 instant. The only clock rules
    /// use, so a report can be reproduced. Default: today (UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<DateTime<Utc>>,

    /// Also load the rule files (*.toml) under DIR; repeatable
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,

    /// Evaluate only these rules (ids, comma-separated or repeated)
    #[arg(long = "rule", value_name = "ID", value_delimiter = ',')]
    pub only: Vec<String>,

    /// An integration mailbox or service account (address); repeatable. EXO-004 checks its
    /// protocols; EXO-002 checks that ApplicationImpersonation covered it
    #[arg(long = "mailbox", value_name = "ADDRESS")]
    pub mailboxes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub eval: EvalArgs,

    /// Collect this tenant live first (id or domain) and scan it with the SOURCEs; needs
    /// --client-id and a credential (see `m365audit collect --help`)
    #[arg(
        long,
        value_name = "TENANT",
        requires = "client_id",
        help_heading = "Live collection"
    )]
    pub tenant: Option<String>,

    /// Application (client) id used with --tenant
    #[arg(
        long,
        value_name = "GUID",
        requires = "tenant",
        help_heading = "Live collection"
    )]
    pub client_id: Option<String>,

    /// Keep the collected snapshot in DIR (default: a temporary folder, removed after the scan)
    #[arg(
        long,
        value_name = "DIR",
        requires = "tenant",
        help_heading = "Live collection"
    )]
    pub keep_snapshot: Option<PathBuf>,

    #[command(flatten)]
    pub live: LiveArgs,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE (atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// CSV (--format csv and in --report-dir): only these columns, in this order
    /// (comma-separated). Every row repeats its rule's title, remediation and references, and
    /// its evidence; without them a large report is about a fifth of the size, e.g.
    /// rule_id,severity,outcome,display_name,app_id,item,message,fingerprint
    #[arg(long, value_name = "COLUMNS", value_enum, value_delimiter = ',')]
    pub csv_columns: Vec<crate::report::csv::Column>,

    /// Include passing results in the report (always counted in the summary)
    #[arg(long)]
    pub include_passed: bool,

    /// Exit 1 when a failing finding is at or above this severity
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// An earlier report (JSON v2 or v1, or JSON Lines): mark each finding that is not a pass
    /// new or unchanged (by fingerprint: rule, subject, item) and list the resolved ones
    #[arg(long, value_name = "REPORT.json")]
    pub baseline: Option<PathBuf>,

    /// Exit 0 even when --fail-on / --fail-on-new is met (report-only pipelines); bad input
    /// (2) and runtime failures (3) still fail
    #[arg(long)]
    pub no_exit_codes: bool,

    /// Also write the report into DIR/<tenant>/<UTC timestamp>/findings.* (atomically), refresh
    /// DIR/<tenant>/latest/, and compare with the previous run there unless --baseline is given
    /// (DIR defaults to `reports`)
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "reports")]
    pub report_dir: Option<PathBuf>,

    /// Folder name under --report-dir (default: the scanned tenant's name)
    #[arg(long, value_name = "NAME", requires = "report_dir")]
    pub report_name: Option<String>,

    /// Scan every [[tenants]] entry of the config file, each in its own process (a failing
    /// tenant does not stop the others), into the reports folder; prints a combined summary
    #[arg(long, conflicts_with_all = ["sources", "tenant"])]
    pub all_tenants: bool,

    /// With --all-tenants: scan only the tenants of shard I of N (0 <= I < N), by a stable
    /// hash of each [[tenants]] name, so that N runs (a Kubernetes Indexed Job with N
    /// completions: --shard $JOB_COMPLETION_INDEX/N) cover every tenant exactly once
    #[arg(long, value_name = "I/N", requires = "all_tenants", value_parser = parse_shard)]
    pub shard: Option<Shard>,

    /// With --all-tenants: tenants scanned at once
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub tenant_concurrency: u16,

    /// Formats written to --report-dir (comma-separated; default json,csv): findings.json,
    /// findings.jsonl, findings.csv, ...
    #[arg(long, value_name = "FORMATS", value_enum, value_delimiter = ',')]
    pub report_format: Vec<Format>,

    /// Keep the newest N runs per tenant in --report-dir (older run folders are deleted)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,

    /// With --baseline: exit 1 when a new failing finding is at or above this severity
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on_new: Option<Severity>,

    /// Colour in the table: auto (when writing to a terminal and NO_COLOR is unset)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Do not record this run in the findings store (not even the default one beside
    /// --report-dir)
    #[arg(long, conflicts_with = "store", help_heading = "Findings store")]
    pub no_store: bool,
}

/// Where the findings store is, and its password.
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// The findings store: sqlite:PATH, or postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require]
    /// without a password. Default: [store] url, else sqlite:DIR/history.sqlite beside
    /// --report-dir
    #[arg(long, value_name = "URL", help_heading = "Findings store")]
    pub store: Option<String>,

    /// PostgreSQL: the environment variable holding the password (default: [store]
    /// password_env, else PGPASSWORD when set)
    #[arg(long, value_name = "NAME", help_heading = "Findings store")]
    pub store_password_env: Option<String>,

    /// PostgreSQL: the file holding the password, such as a mounted Secret (default: [store]
    /// password_file)
    #[arg(long, value_name = "FILE", help_heading = "Findings store")]
    pub store_password_file: Option<PathBuf>,
}

const HISTORY_ABOUT: &str = "\
What the findings store knows. Every `scan` with a reports folder (or --store) records its run \
there: the failing findings by severity, and each finding by fingerprint (rule, subject, item) \
with when it was first seen, last seen, resolved and reopened, and its waiver.

Views (--view, default all):
  runs      each run, its failing findings by severity, and what it opened, resolved, reopened
  open      findings open at each tenant's latest run, longest open first, with days open
  reopened  findings that were resolved and came back
  resolved  each resolution, newest first, with how long the finding was open
  mttr      mean time to resolve, per rule, over its resolutions

A finding is resolved only by a run whose rule ran and could be evaluated for its subject: a \
finding whose rule was not evaluated (missing data, --rule) stays open. Days open are counted to \
the tenant's latest run, not to today, so a store gives the same answer tomorrow.

--since limits runs, reopenings and resolutions (and the mean times) to those on or after DATE; \
open findings are listed however old.";

const HISTORY_EXIT: &str = "\
Exit codes:
  0  the history was shown (or pruned)
  2  bad usage: unknown view, CSV with --view all, bad date or store URL
  3  the store cannot be opened or read, or is written by a newer m365audit";

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,

    /// One tenant, by its name in the store (its folder under the reports folder)
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,

    /// Only runs, reopenings and resolutions on or after DATE (YYYY-MM-DD or RFC 3339)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub since: Option<DateTime<Utc>>,

    /// What to show
    #[arg(long, value_enum, default_value_t = crate::report::history::View::All)]
    pub view: crate::report::history::View,

    /// Output format (CSV holds one view: choose it with --view)
    #[arg(short, long, value_enum, default_value_t = crate::report::history::HistoryFormat::Table)]
    pub format: crate::report::history::HistoryFormat,

    /// Write to FILE (atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub place: StorePlace,
}

/// Which store `history` reads: as `scan` would record into.
#[derive(Debug, Clone, Args)]
pub struct StorePlace {
    #[command(flatten)]
    pub store: StoreArgs,

    /// The reports folder whose history.sqlite is the store (default: [reports] dir)
    #[arg(long, value_name = "DIR", help_heading = "Findings store")]
    pub report_dir: Option<PathBuf>,

    /// Configuration file (default: ./m365audit.toml when present)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// Delete runs, resolutions and resolved findings older than N days (open findings are
    /// kept however old)
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep what happened in the last N days
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_days: u32,

    /// Count the N days back from DATE (default: now)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<DateTime<Utc>>,

    #[command(flatten)]
    pub place: StorePlace,
}

const PLAN_ABOUT: &str = "\
A ranked action plan. Scans the SOURCEs as `scan` does (the same configuration, rules, waivers \
and --as-of) and gives each app with failing findings one row, riskiest first, with the steps \
that fix it in the order to take them: remove (unused apps), contain reach, credentials, \
consent and owner, hygiene. Each step names the rules it closes and, where one exists, the \
PowerShell or Graph command with the app's ids filled in (from the rule files' [plan] tables).

The score adds integer points, and every row shows which:
  reach       all mailboxes 40 (so does a tenant-takeover permission: the app can grant
              itself any), all but some 35, delegated consent for all users 30, unknown 25,
              scoped 15, delegated consent by some users 10
  power       write, send or full access 20, read 10
  credential  live client secret 15, live certificate 5; +5 if one is 365 days old or more
  owner       another organization: publisher not verified 15, verified 5; unknown 10;
              this tenant or Microsoft 0
  unused      USAGE-001 found the app unused 15 (removing it is the cheapest fix)
  findings    critical 10, high 6, medium 3, low 1; at most 20
Equal scores put an unused app first and Microsoft's apps last.

Waived findings count for nothing. Findings about the tenant, and about Exchange objects or \
mailboxes that name no app of the scan, make one row per tenant, scored by their findings \
alone. Findings that could not be evaluated are not failures: each row counts them, so a \
partial plan says so.";

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub eval: EvalArgs,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = crate::report::plan::PlanFormat::Table)]
    pub format: crate::report::plan::PlanFormat,

    /// Write the plan to FILE (atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Show only the first N rows (the summary still counts every app)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules: id, slug, severity, title
    List(RulesListArgs),
    /// Run each rule's [[examples]] and check the number of findings (user rules: DIR...)
    #[command(
        long_about = "Run each rule's [[examples]]: every example gives an input (the app and tenant as \
`m365audit inspect` prints them) and the number of findings the rule must produce. Rego rules must \
have examples, because Rego yields nothing, silently, for a misspelt input field.\n\n\
Without DIR, tests the shipped rules that have examples.",
        after_help = EXIT_CODES
    )]
    Test(RulesTestArgs),
    /// List the check kinds a rule's [check] table can name, with their parameters
    #[command(
        long_about = "List the check kinds a rule file's [check] table can name: what each is evaluated \
on (each app, or the tenant once), what it finds, and its parameters with their types and \
defaults. `--format markdown` is rules/kinds.md, the reference for writing rules; \
`m365audit explain --kind NAME` shows one kind and the rules that use it."
    )]
    Kinds(RulesKindsArgs),
}

#[derive(Debug, Args)]
pub struct RulesKindsArgs {
    /// Output format (markdown is rules/kinds.md)
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct RulesListArgs {
    /// Also load the rule files under DIR; repeatable
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,

    /// Output format (markdown is the README's rule table)
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// Directories of user rule files; none = the shipped rules
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,

    /// Audit date for examples that do not set their own `as_of`. Default: today (UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["id", "kind"]))]
pub struct ExplainArgs {
    /// Rule id, e.g. CRED-003
    #[arg(value_name = "RULE-ID")]
    pub id: Option<String>,

    /// Explain a check kind instead: what it finds, its parameters, the rules that use it
    #[arg(long, value_name = "NAME")]
    pub kind: Option<String>,

    /// Also load the rule files under DIR; repeatable
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReachArgs {
    /// Export directories or JSON files
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,

    /// Only the app with this app id, object id or display name
    #[arg(long, value_name = "ID|NAME")]
    pub app: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = ReachFormat::Table)]
    pub format: ReachFormat,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Export directory or JSON file
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,

    /// Only the app with this app id, object id or display name
    #[arg(long, value_name = "ID|NAME")]
    pub app: Option<String>,
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339.
pub fn parse_as_of(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not a date: use YYYY-MM-DD or an RFC 3339 instant"))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `--shard I/N`: this run's part of the tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether the tenant named `name` is in this shard: the first 8 bytes of the SHA-256 of
    /// the name, modulo N. The same on every machine and in every version, so shards of one
    /// schedule never overlap or miss a tenant.
    pub fn owns(&self, name: &str) -> bool {
        let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest.as_ref()[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    let bad = || format!("{s:?} is not I/N: N shards numbered 0 to N-1, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index >= count {
        return Err(format!(
            "shard {index}/{count}: the index must be below the count (0 to {})",
            count.saturating_sub(1)
        ));
    }
    Ok(Shard { index, count })
}

const COLLECT_ABOUT: &str = "\
Read a tenant live and write an export folder that `m365audit scan DIR` reads (the same layout \
as a manual export, plus snapshot.json saying what was collected). Nothing is written unless \
every request succeeded: the folder appears complete, in one rename, or not at all.

Microsoft Graph: applications (with owners), service principals, app role assignments (listed per \
resource, not per app), delegated permission grants, and the app management policies (unless \
--no-policies). With --exchange, the Exchange Online admin \
API: application access policies, management role assignments and scopes, Exchange service \
principals, CAS mailboxes, organization config, and the Graph groups the policies scope to. \
With --verify-mailbox ADDRESS (repeatable), Exchange's own answers for every app with app-only \
mailbox access and each address (Test-ServicePrincipalAuthorization, \
Test-ApplicationAccessPolicy), written to exchange/authorizationTests.json with the scope \
groups' members, for VERIFY-001.

Authentication: OAuth 2.0 client credentials for an app registration in the tenant.
  - client secret: from the environment variable named by --client-secret-env (default \
M365AUDIT_CLIENT_SECRET) or from --client-secret-file. Never on the command line.
  - certificate: --certificate PEM (the certificate uploaded to the app) and --certificate-key \
PEM (its RSA private key; default: the same file). A PS256 client assertion is signed per request.

Permissions the app needs (application permissions, admin-consented):
  - Microsoft Graph Directory.Read.All (apps, service principals, assignments and delegated \
grants: Application.Read.All covers all but the grant listing, which needs Directory.Read.All), \
Policy.Read.All (app management policies; not with --no-policies), with --usage AuditLog.Read.All \
(sign-in activity reports; the tenant needs Microsoft Entra ID P1 or P2) and, with --exchange, \
GroupMember.Read.All (scope groups, their member counts and, with --verify-mailbox, members).
  - with --exchange: Office 365 Exchange Online Exchange.ManageAsApp, plus an Exchange role that \
can run the Get- cmdlets: e.g. a role group with View-Only Configuration and View-Only \
Recipients, or the Global Reader directory role.

Politeness: at most --concurrency requests in flight; 429/503/504 wait for Retry-After, other \
transient failures (resets, timeouts, cut-short or invalid bodies, 500/502) back off \
exponentially with jitter, up to --max-retries. A request that still fails stops the run (exit \
3) naming the request; no partial snapshot is left.

The Exchange admin API (adminapi/beta/{tenant}/InvokeCommand) is the endpoint the Exchange Online \
PowerShell module uses; Microsoft does not document it. If its answers change, collect stops \
with a message saying so; export with PowerShell instead (see the README).";

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Tenant id (GUID) or a verified domain (contoso.onmicrosoft.com)
    #[arg(long, value_name = "TENANT")]
    pub tenant: String,

    /// Application (client) id of the app registration used to read the tenant
    #[arg(long, value_name = "GUID")]
    pub client_id: String,

    /// Folder to write (default: m365audit-<tenant>-<UTC time> in the current folder)
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// Replace --output if it exists and is not empty
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub live: LiveArgs,
}

/// How to reach and authenticate to the tenant (shared by `collect` and `scan --tenant`).
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Environment variable holding the client secret
    #[arg(
        long,
        value_name = "NAME",
        default_value = "M365AUDIT_CLIENT_SECRET",
        help_heading = "Live collection"
    )]
    pub client_secret_env: String,

    /// File holding the client secret (first line; takes precedence over --client-secret-env).
    /// A file other users can read gets a warning with the chmod that fixes it
    #[arg(long, value_name = "FILE", help_heading = "Live collection")]
    pub client_secret_file: Option<PathBuf>,

    /// Refused: a secret on the command line ends up in shell history and process lists
    #[arg(long, hide = true, value_name = "SECRET")]
    pub client_secret: Option<String>,

    /// Certificate (PEM) registered on the app: authenticate with a signed assertion instead
    /// of a secret
    #[arg(long, value_name = "PEM", help_heading = "Live collection")]
    pub certificate: Option<PathBuf>,

    /// The certificate's RSA private key (PEM, PKCS#8 or PKCS#1); default: the --certificate file
    #[arg(
        long,
        value_name = "PEM",
        requires = "certificate",
        help_heading = "Live collection"
    )]
    pub certificate_key: Option<PathBuf>,

    /// Also collect Exchange Online (access policies, RBAC for Applications, CAS mailboxes,
    /// org config); the app needs Exchange.ManageAsApp and an Exchange role
    #[arg(long, help_heading = "Live collection")]
    pub exchange: bool,

    /// With --exchange: ask Exchange itself whether each app with app-only mailbox access can
    /// reach this mailbox (Test-ServicePrincipalAuthorization, Test-ApplicationAccessPolicy),
    /// for VERIFY-001; also exports the scope groups' members. Repeatable
    #[arg(
        long = "verify-mailbox",
        value_name = "ADDRESS",
        requires = "exchange",
        help_heading = "Live collection"
    )]
    pub verify_mailboxes: Vec<String>,

    /// Also collect the sign-in activity reports (Graph beta; AuditLog.Read.All, and the
    /// tenant needs Microsoft Entra ID P1 or P2) for USAGE-001 and USAGE-002
    #[arg(long, help_heading = "Live collection")]
    pub usage: bool,

    /// Skip the app management policies (Policy.Read.All); POLICY-001 and POLICY-002 are then
    /// not evaluated
    #[arg(long, help_heading = "Live collection")]
    pub no_policies: bool,

    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64), help_heading = "Live collection")]
    pub concurrency: u16,

    /// Retries of a failing request before the run stops
    #[arg(
        long,
        value_name = "N",
        default_value_t = 6,
        help_heading = "Live collection"
    )]
    pub max_retries: u32,

    /// First backoff step (ms) when the server gives no Retry-After; doubles per retry
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 500,
        help_heading = "Live collection"
    )]
    pub backoff_ms: u64,

    /// Per-request timeout in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        help_heading = "Live collection"
    )]
    pub timeout: u64,

    /// Identity platform base URL (sovereign clouds: e.g. https://login.microsoftonline.us).
    /// The client secret or signed assertion goes to this origin only. https:// only, except on
    /// loopback addresses (127.0.0.0/8, ::1, localhost)
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://login.microsoftonline.com",
        help_heading = "Live collection"
    )]
    pub login_url: String,

    /// Microsoft Graph base URL; also the token scope ({URL}/.default). Its token goes to this
    /// origin only: a nextLink or redirect elsewhere stops the run (exit 3). https:// only,
    /// except on loopback addresses
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://graph.microsoft.com",
        help_heading = "Live collection"
    )]
    pub graph_url: String,

    /// Exchange Online base URL; also the token scope ({URL}/.default). Its token goes to this
    /// origin only, as for --graph-url. https:// only, except on loopback addresses
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://outlook.office365.com",
        help_heading = "Live collection"
    )]
    pub exchange_url: String,

    /// No progress display on standard error
    #[arg(short, long, help_heading = "Live collection")]
    pub quiet: bool,
}

const CHECKLIST_ABOUT: &str = "\
Checks one app registration against a vendor's setup guide, step by step, in the guide's order: \
pass, fail, not evaluated (the input lacks data the step needs; the reason is given) or manual \
(nothing in tenant data can show it), with the evidence. Where a guide's instruction is now \
unsafe or retired (ApplicationImpersonation, EWS, Azure AD Graph, implicit grant, 24-month \
secrets), the step says so and what to do instead, and checks the end state that is right today. \
Then the app's general findings from the full rule pack.

Shipped profiles: sage-crm, sensehq-calendar-sync, sysaid-email, sinch-contact-pro, \
exact-exchange-online (`m365audit profiles list`). Without --app, lists the app registrations \
that look like the profile's integration.";

const CHECKLIST_EXIT: &str = "\
Exit codes:
  0  every checkable step passed (manual and not-evaluated steps do not fail the checklist)
  1  a step failed
  2  bad input or usage: unknown profile, no --app (candidates are listed), bad --set
  3  runtime failure";

#[derive(Debug, Args)]
pub struct ChecklistArgs {
    /// The export directory or file with the app registration
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,

    /// A shipped profile (see `m365audit profiles list`)
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "profile_file",
        conflicts_with = "profile_file"
    )]
    pub profile: Option<String>,

    /// A profile file of your own (same format as rules/profiles/*.toml)
    #[arg(long, value_name = "PATH")]
    pub profile_file: Option<PathBuf>,

    /// The app registration: application (client) id, object id, or exact display name
    #[arg(long, value_name = "ID|NAME")]
    pub app: Option<String>,

    /// A placeholder of the guide's redirect URIs, e.g. --set server=crm01 (repeatable);
    /// unset placeholders match any value
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,

    /// The integration's mailbox or service account (address); repeatable
    #[arg(long = "mailbox", value_name = "ADDRESS")]
    pub mailboxes: Vec<String>,

    /// Audit date (YYYY-MM-DD or RFC 3339); default: today (UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<DateTime<Utc>>,

    /// Output format (markdown is for pasting into a go-live ticket)
    #[arg(short, long, value_enum, default_value_t = crate::report::checklist::ChecklistFormat::Table)]
    pub format: crate::report::checklist::ChecklistFormat,

    /// Write to FILE (atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected KEY=VALUE"))?;
    if k.trim().is_empty() {
        return Err(format!("{s:?}: the key is empty"));
    }
    Ok((k.trim().to_string(), v.to_string()))
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// The shipped profiles: id, vendor, steps
    List,
    /// A profile's steps, the guide's words and the advice
    Show(ProfileShowArgs),
}

#[derive(Debug, Args)]
pub struct ProfileShowArgs {
    /// A shipped profile's id
    #[arg(value_name = "NAME", required_unless_present = "profile_file")]
    pub name: Option<String>,

    /// Show a profile file instead (and validate it)
    #[arg(long, value_name = "PATH")]
    pub profile_file: Option<PathBuf>,
}

const DIFF_EXIT: &str = "\
Either report may be JSON v2 (scan --format json), JSON Lines (--format jsonl) or the older
JSON v1 (--format json-v1). Findings are matched by fingerprint (rule id + subject ids + item),
never by message text, so a day count changing in a message is not a new finding. Reports
written before fingerprints were added are compared by the same fields.

Exit codes:
  0  compared (whatever the differences, unless --fail-on-new)
  1  --fail-on-new: a new failing finding at or above the severity
  2  a file is not an m365audit report (the error names its line and column)";

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier report (scan --format json, jsonl or json-v1)
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    /// The later report
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,
    /// table (default) or json
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Exit 1 when a new failing finding is at or above this severity
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on_new: Option<Severity>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it
    #[arg(value_name = "FILE", default_value = "m365audit.toml")]
    pub path: PathBuf,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
}

/// `reach` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReachFormat {
    Table,
    Json,
    Csv,
}
