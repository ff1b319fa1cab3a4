//! Loading and validating rule files. Every error names the file, the line and column, and
//! the rule id when it is known; all bad files are reported, not just the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::rule::{CommandTarget, Docs, Example, Origin, PLACEHOLDERS, PlanStep, Rule};
use crate::checks::{BuildContext, registry};
use crate::diagnostics::{Diagnostic, line_column};
use crate::finding::Severity;
use crate::model::{App, TenantInfo};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// Id prefixes of the shipped rule areas; user rules pick their own so that a future shipped
/// rule can never take a user rule's id.
pub const RESERVED_PREFIXES: &[&str] = &[
    "APP", "CONSENT", "CRED", "EXO", "PERM", "POLICY", "SCOPE", "SP", "URI", "USAGE", "VERIFY",
];

/// The rules of one run, sorted by id.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The shipped rules plus every `*.toml` under each user directory.
    pub fn load(user_dirs: &[PathBuf]) -> Result<RuleSet, Vec<Diagnostic>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for (path, text) in EMBEDDED_RULES {
            match parse_rule(path, Origin::Builtin(path), text) {
                Ok(rule) => rules.push(rule),
                Err(e) => errors.push(e),
            }
        }
        load_user_dirs(user_dirs, &mut rules, &mut errors);
        finish(rules, errors)
    }

    /// Only the rules under the given directories (for `rules test DIR`).
    pub fn load_user_only(dirs: &[PathBuf]) -> Result<RuleSet, Vec<Diagnostic>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        load_user_dirs(dirs, &mut rules, &mut errors);
        finish(rules, errors)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// Keeps only the named rules; an unknown id is an error (a typo must not silently
    /// evaluate nothing).
    pub fn retain_ids(&mut self, ids: &[String]) -> Result<(), String> {
        if let Some(bad) = ids.iter().find(|id| self.get(id).is_none()) {
            return Err(format!(
                "unknown rule id {bad:?} (see m365audit rules list)"
            ));
        }
        self.rules
            .retain(|r| ids.iter().any(|id| id.eq_ignore_ascii_case(&r.id)));
        Ok(())
    }
}

fn load_user_dirs(dirs: &[PathBuf], rules: &mut Vec<Rule>, errors: &mut Vec<Diagnostic>) {
    for dir in dirs {
        let mut files = Vec::new();
        if let Err(e) = collect_rule_files(dir, &mut files) {
            errors.push(Diagnostic::new(
                dir.display().to_string(),
                format!("cannot read rule directory: {e}"),
            ));
            continue;
        }
        if files.is_empty() {
            errors.push(Diagnostic::new(
                dir.display().to_string(),
                "no rule files (*.toml) in this directory",
            ));
        }
        files.sort();
        for file in files {
            let shown = file.display().to_string();
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(Diagnostic::new(shown, format!("cannot read: {e}")));
                    continue;
                }
            };
            match parse_rule(&shown, Origin::User(file.clone()), &text) {
                Ok(rule) => rules.push(rule),
                Err(e) => errors.push(e),
            }
        }
    }
}

fn collect_rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "profiles") {
                continue;
            }
            collect_rule_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// What a rule file's diagnostics are about.
fn rule_context(id: &Option<String>) -> Option<String> {
    id.as_ref().map(|id| format!("rule {id}"))
}

/// Sorts by id and rejects duplicate ids and slugs.
fn finish(mut rules: Vec<Rule>, mut errors: Vec<Diagnostic>) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut seen_ids: BTreeMap<String, &Origin> = BTreeMap::new();
    let mut seen_slugs: BTreeMap<&str, &Rule> = BTreeMap::new();
    for rule in &rules {
        if let Some(first) = seen_ids.insert(rule.id.to_ascii_uppercase(), &rule.origin) {
            errors.push(
                Diagnostic::at_position(
                    rule.origin.to_string(),
                    rule.position,
                    format!("duplicate rule id: also defined in {first}"),
                )
                .context(format!("rule {}", rule.id)),
            );
        }
        if let Some(first) = seen_slugs.insert(&rule.slug, rule) {
            errors.push(
                Diagnostic::at_position(
                    rule.origin.to_string(),
                    rule.position,
                    format!(
                        "duplicate slug {:?}: also used by {} in {}",
                        rule.slug, first.id, first.origin
                    ),
                )
                .context(format!("rule {}", rule.id)),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(RuleSet { rules })
}

/// The rule file without its `[check]` table (which is read by the check kind).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    slug: String,
    title: String,
    severity: Severity,
    /// Read separately by the check kind; declared so error messages list it.
    #[allow(dead_code)]
    check: Option<serde::de::IgnoredAny>,
    docs: Docs,
    #[serde(default)]
    examples: Vec<ExampleFile>,
    plan: Option<PlanFile>,
}

/// `[plan]`: the step `m365audit plan` lists for the rule's failing findings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    step: Spanned<String>,
    #[serde(default = "fallback_order")]
    order: u32,
    command: Option<Spanned<String>>,
    #[serde(default)]
    command_for: CommandForFile,
}

fn fallback_order() -> u32 {
    super::rule::FALLBACK_ORDER
}

/// `[plan.command_for]`: a command per kind of subject, tried before `command`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandForFile {
    application: Option<Spanned<String>>,
    application_certificate: Option<Spanned<String>>,
    service_principal: Option<Spanned<String>>,
    service_principal_certificate: Option<Spanned<String>>,
    role_assignment: Option<Spanned<String>>,
    access_policy: Option<Spanned<String>>,
    mailbox: Option<Spanned<String>>,
    tenant: Option<Spanned<String>>,
}

impl PlanFile {
    /// The step, with every command's placeholders checked; an error names the span.
    fn validate(self) -> Result<PlanStep, (std::ops::Range<usize>, String)> {
        let step = self.step.get_ref().trim();
        if step.is_empty() || step.contains('\n') {
            return Err((
                self.step.span(),
                "[plan] step must be one line of text".into(),
            ));
        }
        let check = |command: Spanned<String>| {
            let span = command.span();
            let text = command.into_inner();
            match super::rule::placeholders(&text)
                .into_iter()
                .find(|(_, name)| !PLACEHOLDERS.iter().any(|(known, _)| known == name))
            {
                Some((_, name)) => Err((
                    span,
                    format!(
                        "unknown placeholder {{{name}}} in a [plan] command; known: {}",
                        PLACEHOLDERS
                            .iter()
                            .map(|(n, _)| format!("{{{n}}}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )),
                None => Ok(text),
            }
        };
        let f = self.command_for;
        let mut command_for = Vec::new();
        for (target, command) in [
            (CommandTarget::Application, f.application),
            (
                CommandTarget::ApplicationCertificate,
                f.application_certificate,
            ),
            (CommandTarget::ServicePrincipal, f.service_principal),
            (
                CommandTarget::ServicePrincipalCertificate,
                f.service_principal_certificate,
            ),
            (CommandTarget::RoleAssignment, f.role_assignment),
            (CommandTarget::AccessPolicy, f.access_policy),
            (CommandTarget::Mailbox, f.mailbox),
            (CommandTarget::Tenant, f.tenant),
        ] {
            if let Some(command) = command {
                command_for.push((target, check(command)?));
            }
        }
        Ok(PlanStep {
            step: step.to_string(),
            order: self.order,
            command: self.command.map(check).transpose()?,
            command_for,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    name: String,
    as_of: Option<Spanned<String>>,
    #[serde(default)]
    input: ExampleInput,
    expect_findings: usize,
    expect_not_evaluated: Option<usize>,
}

/// What a rule sees: the normalized app and tenant (see `m365audit inspect`).
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ExampleInput {
    app: App,
    tenant: TenantInfo,
    /// The tenant's default app management policy, as Graph writes it.
    policy: Option<crate::snapshot::RawTenantAppManagementPolicy>,
}

/// Parses and validates one rule file. `path` is how the file is named in messages.
pub fn parse_rule(path: &str, origin: Origin, text: &str) -> Result<Rule, Diagnostic> {
    let at = |span: Option<std::ops::Range<usize>>, rule: &Option<String>, message: String| {
        Diagnostic::at(path, text, span, message).with_context(rule_context(rule))
    };
    let toml_err =
        |e: toml::de::Error, rule: &Option<String>| at(e.span(), rule, e.message().to_string());

    let doc = DeTable::parse(text).map_err(|e| toml_err(e, &None))?;
    let doc_span = doc.span();
    let mut table = doc.into_inner();
    let rule_id = table
        .get("id")
        .and_then(|v| v.get_ref().as_str())
        .map(String::from);
    let id_span = table.get("id").map(|v| v.span());
    let id_position = id_span
        .clone()
        .map(|s| line_column(text.as_bytes(), s.start));
    let examples_span = table.get("examples").map(|v| v.span());

    let Some(check) = table.remove("check") else {
        return Err(at(None, &rule_id, "missing [check] table".into()));
    };
    let file = RuleFile::deserialize(toml::de::Deserializer::from(Spanned::new(
        doc_span.clone(),
        table,
    )))
    .map_err(|e| toml_err(e, &rule_id))?;
    validate_names(&file, &origin).map_err(|message| at(id_span, &rule_id, message))?;
    let plan = file
        .plan
        .map(PlanFile::validate)
        .transpose()
        .map_err(|(span, message)| at(Some(span), &rule_id, message))?;

    let check_span = check.span();
    let DeValue::Table(mut check_table) = check.into_inner() else {
        return Err(at(
            Some(check_span),
            &rule_id,
            "`check` must be a table".into(),
        ));
    };
    let params = toml::Table::deserialize(ValueDeserializer::from(Spanned::new(
        check_span.clone(),
        DeValue::Table(check_table.clone()),
    )))
    .map_err(|e| toml_err(e, &rule_id))?;
    let Some(kind) = check_table.remove("kind") else {
        return Err(at(
            Some(check_span),
            &rule_id,
            "[check] has no `kind`".into(),
        ));
    };
    let kind_span = kind.span();
    let Some(kind) = kind.get_ref().as_str().map(String::from) else {
        return Err(at(
            Some(kind_span),
            &rule_id,
            "`kind` must be a string".into(),
        ));
    };
    let Some(spec) = registry::find(&kind) else {
        return Err(at(
            Some(kind_span),
            &rule_id,
            registry::unknown_kind(&kind, &registry::rule_names()),
        ));
    };
    if !spec.written_in.in_rules() {
        return Err(at(
            Some(kind_span),
            &rule_id,
            format!(
                "check kind {kind:?} is written in {} only: it compares an app with one vendor guide",
                spec.written_in.as_str()
            ),
        ));
    }
    let check = (spec.build)(
        ValueDeserializer::from(Spanned::new(
            check_span.clone(),
            DeValue::Table(check_table),
        )),
        &BuildContext::rule(text),
    )
    .map_err(|e| at(Some(e.span.unwrap_or(check_span)), &rule_id, e.message))?;

    let mut examples = Vec::with_capacity(file.examples.len());
    for ex in file.examples {
        let as_of = match ex.as_of {
            Some(s) => Some(crate::dates::parse_datetime(s.get_ref()).ok_or_else(|| {
                at(
                    Some(s.span()),
                    &rule_id,
                    format!(
                        "example {:?}: as_of {:?} is not a date (YYYY-MM-DD)",
                        ex.name,
                        s.get_ref()
                    ),
                )
            })?),
            None => None,
        };
        examples.push(Example {
            name: ex.name,
            as_of,
            app: ex.input.app,
            tenant: ex.input.tenant,
            policies: ex
                .input
                .policy
                .as_ref()
                .map(crate::model::policy::Policies::with_default)
                .unwrap_or_default(),
            expect_findings: ex.expect_findings,
            expect_not_evaluated: ex.expect_not_evaluated,
        });
    }
    if spec.scope == registry::Scope::Tenant && !examples.is_empty() {
        // An example gives one app and the tenant's facts; a per-tenant kind reads Exchange
        // objects an example cannot carry, so its examples could never fail.
        return Err(at(
            examples_span,
            &rule_id,
            format!(
                "[[examples]] cannot test the per-tenant kind {kind:?}: an example holds one app and the tenant's facts, \
                 not the Exchange objects this kind reads; test the rule on an export folder instead"
            ),
        ));
    }
    if kind == "rego" && examples.is_empty() {
        return Err(at(
            None,
            &rule_id,
            "a Rego rule must have [[examples]]: Rego yields nothing, silently, for a misspelt input field, \
             so `m365audit rules test` needs inputs with known answers"
                .into(),
        ));
    }

    Ok(Rule {
        id: file.id,
        slug: file.slug,
        title: file.title,
        severity: file.severity,
        kind,
        params,
        docs: file.docs.reflowed(),
        check,
        origin,
        position: id_position,
        examples,
        plan,
    })
}

/// Ids look like `CRED-001`, slugs like `credential-expired`, and the file is named
/// `<ID>.<slug>.toml`: one name per rule everywhere.
fn validate_names(file: &RuleFile, origin: &Origin) -> Result<(), String> {
    let (prefix, number) = file
        .id
        .split_once('-')
        .ok_or_else(|| format!("id {:?} must look like AREA-001", file.id))?;
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        || !prefix.starts_with(|c: char| c.is_ascii_uppercase())
        || number.len() < 3
        || !number.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "id {:?} must look like AREA-001 (upper-case area, three or more digits)",
            file.id
        ));
    }
    if file.slug.is_empty()
        || file.slug.starts_with('-')
        || file.slug.ends_with('-')
        || file.slug.contains("--")
        || !file
            .slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "slug {:?} must be lower-case words joined by '-'",
            file.slug
        ));
    }
    if matches!(origin, Origin::User(_)) && RESERVED_PREFIXES.contains(&prefix) {
        return Err(format!(
            "ids {prefix}-* are reserved for shipped rules; give your rule your own prefix (e.g. ORG-{number})"
        ));
    }
    let file_name = match origin {
        Origin::Builtin(p) => Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned()),
        Origin::User(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    let expected = format!("{}.{}.toml", file.id, file.slug);
    if file_name.as_deref() != Some(expected.as_str()) {
        return Err(format!(
            "the file must be named {expected} (rule id and slug)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"id = "ORG-001"
slug = "test-rule"
title = "A test rule"
severity = "low"

[check]
kind = "credential-lifetime"
max_days = 180

[docs]
what = "w"
why = "y"
remediation = "r"
"#;

    fn parse(text: &str) -> Result<Rule, Diagnostic> {
        parse_rule(
            "x/ORG-001.test-rule.toml",
            Origin::User(PathBuf::from("x/ORG-001.test-rule.toml")),
            text,
        )
    }

    #[test]
    fn shipped_rules_load() {
        let set = RuleSet::load(&[]).unwrap();
        assert!(!set.rules.is_empty());
        assert!(set.rules.iter().all(Rule::is_builtin));
    }

    #[test]
    fn a_good_user_rule_loads() {
        let rule = parse(GOOD).unwrap();
        assert_eq!(rule.kind, "credential-lifetime");
        assert_eq!(
            rule.params.get("max_days").and_then(|v| v.as_integer()),
            Some(180)
        );
    }

    #[test]
    fn a_typo_in_a_check_parameter_names_line_column_and_rule() {
        let err = parse(&GOOD.replace("max_days = 180", "max_dayz = 180")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "x/ORG-001.test-rule.toml:8:1: rule ORG-001: unknown field `max_dayz`"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_typo_in_a_top_level_key_is_an_error() {
        let err = parse(&GOOD.replace("title =", "titel =")).unwrap_err();
        assert!(err.to_string().contains("unknown field `titel`"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(3));
    }

    #[test]
    fn a_wrong_parameter_type_is_an_error() {
        let err = parse(&GOOD.replace("max_days = 180", "max_days = \"180\"")).unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(8), "{err}");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let err = parse(&GOOD.replace("credential-lifetime", "credential-lifespan")).unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(7), "{err}");
        assert!(err.to_string().contains("credential-expired"), "{err}");
    }

    #[test]
    fn names_are_checked() {
        let err = parse(&GOOD.replace("ORG-001", "CRED-999")).unwrap_err();
        assert!(err.to_string().contains("reserved"), "{err}");
        let err = parse(&GOOD.replace("test-rule", "other-rule")).unwrap_err();
        assert!(err.to_string().contains("ORG-001.other-rule.toml"), "{err}");
        let err = parse(&GOOD.replace("\"low\"", "\"severe\"")).unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `severe`"),
            "{err}"
        );
    }

    #[test]
    fn every_shipped_rule_has_a_plan_step() {
        let set = RuleSet::load(&[]).unwrap();
        let without: Vec<&str> = set
            .rules
            .iter()
            .filter(|r| r.plan.is_none())
            .map(|r| r.id.as_str())
            .collect();
        assert!(without.is_empty(), "rules without [plan]: {without:?}");
    }

    const PLAN: &str = r#"
[plan]
step = "Shorten the secret"
order = 30
command = "Remove-MgApplicationPassword -ApplicationId {object_id} -KeyId {key_id}"
[plan.command_for]
service_principal = "Remove-MgServicePrincipalPassword -ServicePrincipalId {sp_object_id} -KeyId {key_id}"
"#;

    #[test]
    fn a_plan_table_is_read() {
        let rule = parse(&format!("{GOOD}{PLAN}")).unwrap();
        let plan = rule.plan.clone().unwrap();
        assert_eq!(plan.step, "Shorten the secret");
        assert_eq!(plan.order, 30);
        assert_eq!(
            plan.command_template(&[CommandTarget::ServicePrincipal]),
            Some(
                "Remove-MgServicePrincipalPassword -ServicePrincipalId {sp_object_id} -KeyId {key_id}"
            )
        );
        assert_eq!(
            plan.command_template(&[CommandTarget::Application]),
            plan.command.as_deref()
        );
    }

    #[test]
    fn without_a_plan_table_the_step_is_the_title() {
        let rule = parse(GOOD).unwrap();
        assert!(rule.plan.is_none());
        let step = rule.plan_step();
        assert_eq!(step.step, "A test rule");
        assert_eq!(step.order, crate::engine::rule::FALLBACK_ORDER);
        assert_eq!(step.command, None);
    }

    #[test]
    fn a_typo_in_the_plan_table_names_line_and_column() {
        let err = parse(&format!("{GOOD}{}", PLAN.replace("order =", "ordre ="))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("x/ORG-001.test-rule.toml:17:1: rule ORG-001: unknown field `ordre`"),
            "{text}"
        );
        let err = parse(&format!(
            "{GOOD}{}",
            PLAN.replace("service_principal =", "sp =")
        ))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `sp`"), "{err}");
        assert_eq!(err.position.map(|p| p.0), Some(20), "{err}");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error() {
        let err = parse(&format!(
            "{GOOD}{}",
            PLAN.replace("{key_id}\"\n[", "{keyid}\"\n[")
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown placeholder {keyid}"), "{text}");
        assert_eq!(err.position.map(|p| p.0), Some(18), "{err}");
        // Braces that are not a lower-case name are PowerShell's, left as written.
        let rule = parse(&format!(
            "{GOOD}{}",
            PLAN.replace(
                "{key_id}\"\n[",
                "{key_id} | ForEach-Object { $_.Id } @{ A = 1 }\"\n["
            )
        ))
        .unwrap();
        assert!(rule.plan.is_some());
    }

    #[test]
    fn placeholders_are_lower_case_names_in_braces() {
        let found: Vec<&str> = crate::engine::rule::placeholders(
            "Get-X -Id {app_id} | % { $_.Id } @{a=1} {Key} {sp_object_id}",
        )
        .into_iter()
        .map(|(_, name)| name)
        .collect();
        assert_eq!(found, ["app_id", "sp_object_id"]);
    }

    #[test]
    fn duplicates_are_rejected() {
        let a = parse(GOOD).unwrap();
        let b = parse(GOOD).unwrap();
        let errors = finish(vec![a, b], Vec::new()).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("duplicate rule id"))
        );
        assert!(errors.iter().any(|e| e.message.contains("duplicate slug")));
    }
}
