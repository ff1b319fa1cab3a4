//! Command line: one struct per subcommand.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Severity;
use crate::report::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  the command completed (findings do not change this unless --fail-on is given)
  1  scan: a failing finding at or above --fail-on; rules test: an example gave the wrong count
  2  bad input or usage: unreadable source, malformed JSON, invalid rule file, unknown option
  3  runtime failure: cannot write the report, internal error";

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
    Scan(ScanArgs),
    /// List the rules or run their examples
    #[command(subcommand)]
    Rules(RulesCommand),
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
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Export directories or JSON files to scan
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the report to FILE (atomically) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

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

    /// Include passing results in the report (always counted in the summary)
    #[arg(long)]
    pub include_passed: bool,

    /// An integration mailbox or service account (address); repeatable. EXO-004 checks its
    /// protocols; EXO-002 checks that ApplicationImpersonation covered it
    #[arg(long = "mailbox", value_name = "ADDRESS")]
    pub mailboxes: Vec<String>,

    /// Exit 1 when a failing finding is at or above this severity
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,

    /// Colour in the table: auto (when writing to a terminal and NO_COLOR is unset)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
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
pub struct ExplainArgs {
    /// Rule id, e.g. CRED-003
    #[arg(value_name = "RULE-ID")]
    pub id: String,

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
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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
