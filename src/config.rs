//! `m365audit.toml`: defaults for scheduled runs. Found in the working directory or given
//! with `--config`; validated like rule files (every error names file, line and column).
//! `m365audit init` writes the commented template below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::checks::{self, BuildContext};
use crate::diagnostics::{Diagnostic, line_column};
use crate::engine::RuleSet;
use crate::engine::waiver::Waiver;
use crate::finding::Severity;

/// The file looked for in the working directory.
pub const FILE_NAME: &str = "m365audit.toml";

/// The template `m365audit init` writes.
pub const TEMPLATE: &str = include_str!("config-template.toml");

#[derive(Debug, Default)]
pub struct Config {
    pub path: Option<PathBuf>,
    /// The file's text: parameter overrides are built from it, so their errors point into it.
    text: String,
    pub scan: ScanDefaults,
    pub reports: ReportDefaults,
    pub store: StoreDefaults,
    pub rules: RuleSettings,
    pub waivers: Vec<Waiver>,
    pub tenants: Vec<TenantEntry>,
}

/// `[[tenants]]`: one tenant of `scan --all-tenants`, read live or from export sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    /// Folder name under the reports folder, and the name in the combined summary.
    pub name: String,
    /// Live: tenant id or domain (with `client_id` and a credential reference).
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Name of the environment variable holding this tenant's client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    #[serde(default)]
    pub certificate_key: Option<PathBuf>,
    #[serde(default)]
    pub exchange: bool,
    /// A tenant in a national cloud (US Government: `https://login.microsoftonline.us`,
    /// `https://graph.microsoft.us`, …): its sign-in, Graph and Exchange admin API base URLs,
    /// in place of --login-url, --graph-url and --exchange-url.
    #[serde(default)]
    pub login_url: Option<String>,
    #[serde(default)]
    pub graph_url: Option<String>,
    #[serde(default)]
    pub exchange_url: Option<String>,
    /// Offline: export folders or files (relative to the config file).
    #[serde(default)]
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanDefaults {
    /// Sources scanned when the command line names none.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
    /// Extra rule directories.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    #[serde(default, deserialize_with = "severity")]
    pub fail_on: Option<Severity>,
    #[serde(default, deserialize_with = "severity")]
    pub fail_on_new: Option<Severity>,
    /// Integration mailboxes (as `--mailbox`).
    #[serde(default)]
    pub mailboxes: Vec<String>,
}

/// `[reports]`: the reports folder of scheduled runs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDefaults {
    /// As --report-dir (relative to the config file).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// As --report-format: json, csv, markdown, junit, table.
    #[serde(default)]
    pub formats: Vec<crate::report::Format>,
    /// As --keep.
    #[serde(default)]
    pub keep: Option<u32>,
}

/// `[store]`: the findings store every `scan` records its run in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreDefaults {
    /// As --store: `sqlite:PATH` (relative to the config file) or `postgres://…` without a
    /// password.
    #[serde(default)]
    pub url: Option<String>,
    /// As --store-password-env.
    #[serde(default)]
    pub password_env: Option<String>,
    /// As --store-password-file (relative to the config file).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

fn severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Severity>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Severity>().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "{s:?} is not a severity (info, low, medium, high, critical)"
        ))
    })
}

#[derive(Debug, Default)]
pub struct RuleSettings {
    /// Evaluate only these (empty: all).
    pub only: Vec<String>,
    pub disable: Vec<String>,
    pub severity: BTreeMap<String, Severity>,
    /// Rule id → parameters merged over the rule file's `[check]`.
    pub params: BTreeMap<String, ParamOverride>,
}

/// `[rules.params] ID = { key = value, ... }`, as written.
#[derive(Debug, Clone)]
pub struct ParamOverride {
    pub values: toml::Table,
    /// Where the table is in the file.
    span: std::ops::Range<usize>,
    /// Each key's `key = value` text in the file, in order.
    entries: Vec<(String, std::ops::Range<usize>)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverFile {
    rule: String,
    subject: String,
    #[serde(default)]
    item: Option<String>,
    reason: String,
    #[serde(default)]
    expires: Option<Spanned<String>>,
    #[serde(default)]
    ticket: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    only: Vec<String>,
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, String>,
}

impl Config {
    /// `--config PATH`, else `m365audit.toml` in the working directory, else defaults.
    pub fn find(explicit: Option<&Path>) -> Result<Config, Diagnostic> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from(FILE_NAME);
                if !p.is_file() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Diagnostic::new(shown.clone(), format!("cannot read: {e}")))?;
        let mut config = parse(&shown, &text)?;
        config.path = Some(path);
        config.text = text;
        Ok(config)
    }

    /// Builds `rule`'s check with the overrides, through the kind's builder as the rule loader
    /// does. The builder reads one TOML text: the override entries copied verbatim from this
    /// file, then the rule file's other parameters. An error in an entry is moved back onto
    /// this file, so its caret is under the key the admin wrote; any other error points at
    /// the override table.
    fn build_override(
        &self,
        rule: &crate::engine::rule::Rule,
        o: &ParamOverride,
        path: &str,
    ) -> Result<checks::Evaluator, Diagnostic> {
        let context = format!("rule {} parameters", rule.id);
        let mut text = String::new();
        let mut copied = Vec::with_capacity(o.entries.len());
        for (key, range) in &o.entries {
            if key == "kind" {
                return Err(Diagnostic::at(
                    path,
                    &self.text,
                    Some(range.clone()),
                    "`kind` cannot be changed",
                )
                .context(context));
            }
            copied.push((text.len(), range.clone()));
            text += &self.text[range.clone()];
            text.push('\n');
        }
        let mut rest = rule.params.clone();
        rest.remove("kind");
        rest.retain(|k, _| !o.values.contains_key(k));
        text += &toml::to_string(&rest).map_err(|e| {
            Diagnostic::at(path, &self.text, Some(o.span.clone()), e.to_string())
                .context(context.clone())
        })?;
        let onto_file = |span: Option<std::ops::Range<usize>>| {
            span.and_then(|s| {
                copied.iter().find_map(|(at, range)| {
                    let offset = s.start.checked_sub(*at)?;
                    (offset < range.len()).then(|| {
                        let end = (s.end - at).min(range.len());
                        range.start + offset..range.start + end
                    })
                })
            })
            .or(Some(o.span.clone()))
        };
        let doc = DeTable::parse(&text).map_err(|e| {
            Diagnostic::at(
                path,
                &self.text,
                onto_file(e.span()),
                e.message().to_string(),
            )
            .context(context.clone())
        })?;
        let spec = checks::registry::find(&rule.kind).ok_or_else(|| {
            Diagnostic::at(path, &self.text, Some(o.span.clone()), "unknown kind")
                .context(context.clone())
        })?;
        let span = doc.span();
        (spec.build)(
            ValueDeserializer::from(Spanned::new(span, DeValue::Table(doc.into_inner()))),
            &BuildContext::rule(&text),
        )
        .map_err(|e| {
            Diagnostic::at(path, &self.text, onto_file(e.span), e.message).context(context)
        })
    }

    /// Checks rule ids against the loaded rules and applies severities, parameters and the
    /// rule selection. Unknown ids are errors (a typo must not silently keep a rule on).
    pub fn apply(&self, rules: &mut RuleSet) -> Result<(), Diagnostic> {
        let path = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let err = |span: Option<std::ops::Range<usize>>, message: String| {
            Diagnostic::at(path.clone(), &self.text, span, message)
        };
        let known = |id: &str| rules.get(id).is_some();
        for id in self
            .rules
            .only
            .iter()
            .chain(&self.rules.disable)
            .chain(self.rules.severity.keys())
            .chain(self.rules.params.keys())
            .chain(self.waivers.iter().map(|w| &w.rule))
        {
            if !known(id) {
                return Err(err(None, format!("unknown rule id {id:?}")));
            }
        }
        for rule in &mut rules.rules {
            if let Some(s) = self.rules.severity.get(&rule.id) {
                rule.severity = *s;
            }
            if let Some(o) = self.rules.params.get(&rule.id) {
                rule.check = self.build_override(rule, o, &path)?;
                let mut params = rule.params.clone();
                params.extend(o.values.clone());
                rule.params = params;
            }
        }
        if !self.rules.only.is_empty() {
            rules
                .retain_ids(&self.rules.only)
                .map_err(|m| err(None, m))?;
        }
        rules.rules.retain(|r| {
            !self
                .rules
                .disable
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&r.id))
        });
        Ok(())
    }
}

fn parse(path: &str, text: &str) -> Result<Config, Diagnostic> {
    let at = |span: Option<std::ops::Range<usize>>, message: String| {
        Diagnostic::at(path, text, span, message)
    };
    let toml_err = |e: toml::de::Error| at(e.span(), e.message().to_string());
    let doc = DeTable::parse(text).map_err(toml_err)?;
    let mut table = doc.into_inner();

    let mut config = Config::default();
    if let Some(scan) = table.remove("scan") {
        config.scan = ScanDefaults::deserialize(ValueDeserializer::from(scan)).map_err(toml_err)?;
    }
    if let Some(store) = table.remove("store") {
        config.store =
            StoreDefaults::deserialize(ValueDeserializer::from(store)).map_err(toml_err)?;
    }
    if let Some(reports) = table.remove("reports") {
        config.reports =
            ReportDefaults::deserialize(ValueDeserializer::from(reports)).map_err(toml_err)?;
    }
    if let Some(rules) = table.remove("rules") {
        let span = rules.span();
        let DeValue::Table(mut t) = rules.into_inner() else {
            return Err(at(Some(span), "[rules] must be a table".into()));
        };
        if let Some(params) = t.remove("params") {
            let pspan = params.span();
            let DeValue::Table(p) = params.into_inner() else {
                return Err(at(
                    Some(pspan),
                    "[rules.params] must be a table of tables".into(),
                ));
            };
            for (id, v) in p {
                let span = v.span();
                let DeValue::Table(entries) = v.get_ref() else {
                    return Err(at(
                        Some(span),
                        format!(
                            "[rules.params] {}: must be a table of the rule's parameters",
                            id.get_ref()
                        ),
                    ));
                };
                let entries = entries
                    .iter()
                    .map(|(k, v)| (k.get_ref().to_string(), k.span().start..v.span().end))
                    .collect();
                let values =
                    toml::Table::deserialize(ValueDeserializer::from(v)).map_err(toml_err)?;
                config.rules.params.insert(
                    id.get_ref().to_ascii_uppercase(),
                    ParamOverride {
                        values,
                        span,
                        entries,
                    },
                );
            }
        }
        let file = RulesFile::deserialize(ValueDeserializer::from(Spanned::new(
            span.clone(),
            DeValue::Table(t),
        )))
        .map_err(toml_err)?;
        config.rules.only = file.only.iter().map(|s| s.to_ascii_uppercase()).collect();
        config.rules.disable = file
            .disable
            .iter()
            .map(|s| s.to_ascii_uppercase())
            .collect();
        for (id, sev) in file.severity {
            let s = sev.parse::<Severity>().map_err(|_| {
                at(
                    Some(span.clone()),
                    format!("[rules.severity] {id}: {sev:?} is not a severity (info, low, medium, high, critical)"),
                )
            })?;
            config.rules.severity.insert(id.to_ascii_uppercase(), s);
        }
    }
    if let Some(waivers) = table.remove("waivers") {
        let span = waivers.span();
        let DeValue::Array(list) = waivers.into_inner() else {
            return Err(at(
                Some(span),
                "`waivers` must be an array of tables ([[waivers]])".into(),
            ));
        };
        for w in list {
            let wspan = w.span();
            let position = Some(line_column(text.as_bytes(), wspan.start));
            let f = WaiverFile::deserialize(ValueDeserializer::from(w)).map_err(toml_err)?;
            if f.reason.trim().is_empty() {
                return Err(at(Some(wspan), "a waiver needs a reason".into()));
            }
            let expires = match f.expires {
                Some(e) => {
                    let ok = chrono::NaiveDate::parse_from_str(e.get_ref(), "%Y-%m-%d").is_ok();
                    if !ok {
                        return Err(at(
                            Some(e.span()),
                            format!("expires {:?} is not a date (YYYY-MM-DD)", e.get_ref()),
                        ));
                    }
                    Some(e.into_inner())
                }
                None => None,
            };
            config.waivers.push(Waiver {
                rule: f.rule.to_ascii_uppercase(),
                subject: f.subject,
                item: f.item,
                reason: f.reason,
                expires,
                ticket: f.ticket,
                position,
            });
        }
    }
    if let Some(tenants) = table.remove("tenants") {
        let span = tenants.span();
        let DeValue::Array(list) = tenants.into_inner() else {
            return Err(at(
                Some(span),
                "`tenants` must be an array of tables ([[tenants]])".into(),
            ));
        };
        for t in list {
            let tspan = t.span();
            let entry = TenantEntry::deserialize(ValueDeserializer::from(t)).map_err(toml_err)?;
            let live = entry.tenant.is_some() || entry.client_id.is_some();
            let problem = if entry.name.trim().is_empty() {
                Some("a tenant needs a name")
            } else if live && (entry.tenant.is_none() || entry.client_id.is_none()) {
                Some("a live tenant needs both `tenant` and `client_id`")
            } else if live != entry.sources.is_empty() {
                Some("a tenant is either live (`tenant`, `client_id`) or offline (`sources`)")
            } else if config.tenants.iter().any(|o| o.name == entry.name) {
                Some("two tenants have this name")
            } else {
                None
            };
            if let Some(p) = problem {
                return Err(at(Some(tspan), format!("tenant {:?}: {p}", entry.name)));
            }
            config.tenants.push(entry);
        }
    }
    if let Some((key, v)) = table.into_iter().next() {
        return Err(at(
            Some(v.span()),
            format!(
                "unknown key {:?}: expected scan, reports, store, rules, waivers or tenants",
                key.get_ref()
            ),
        ));
    }
    Ok(config)
}
