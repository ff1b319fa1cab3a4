//! Loading profile files: TOML with spans kept, so every error is `file:line:col: profile ID:
//! message`, as for rule files. Step checks that are rule kinds are built by the rule
//! engine's own builders, with the same parameter validation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Advice, AdviceKind, PermissionRef, Profile, Step, StepCheck};
use crate::checks::{self, BuildContext};
use crate::diagnostics::line_column;
use crate::model::{Catalog, PermissionKind, Platform};

include!(concat!(env!("OUT_DIR"), "/embedded_profiles.rs"));

/// A profile file that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {}{message}", position.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(), profile.as_ref().map(|p| format!("profile {p}: ")).unwrap_or_default())]
pub struct ProfileError {
    pub path: String,
    pub position: Option<(usize, usize)>,
    pub profile: Option<String>,
    pub message: String,
}

/// The shipped profiles, in file order.
pub fn builtin(catalog: &Catalog) -> Result<Vec<Profile>, Vec<ProfileError>> {
    let mut profiles = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in EMBEDDED_PROFILES {
        match parse(path, text, catalog) {
            Ok(p) => profiles.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(profiles)
    } else {
        Err(errors)
    }
}

/// A user-written profile.
pub fn load_file(path: &Path, catalog: &Catalog) -> Result<Profile, ProfileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
        path: shown.clone(),
        position: None,
        profile: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(&shown, &text, catalog)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    id: String,
    vendor: String,
    title: String,
    guide: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    placeholders: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    number: String,
    title: String,
    guide: String,
    #[serde(default)]
    manual: bool,
    #[serde(default)]
    advice: Option<AdviceFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdviceFile {
    kind: AdviceKind,
    text: String,
    #[serde(default)]
    dead_from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionFile {
    resource: Spanned<String>,
    value: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    dead_from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudienceParams {
    allowed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedirectParams {
    platform: Platform,
    #[serde(default)]
    templates: Vec<String>,
    #[serde(default)]
    lowercase: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsParams {
    #[serde(default)]
    granted: bool,
    permissions: Vec<PermissionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraParams {
    #[serde(default)]
    allowed: Vec<PermissionFile>,
    #[serde(default)]
    flagged: Vec<PermissionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleParams {
    role: String,
}

/// Profile check kinds; every other kind must be a rule check kind.
pub const PROFILE_KINDS: &[&str] = &[
    "sign-in-audience",
    "redirect-uris",
    "permissions",
    "extra-permissions",
    "exchange-role",
];

const AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

fn parse(path: &str, text: &str, catalog: &Catalog) -> Result<Profile, ProfileError> {
    let at = |span: Option<std::ops::Range<usize>>, profile: &Option<String>, message: String| {
        ProfileError {
            path: path.to_string(),
            position: span.map(|s| line_column(text.as_bytes(), s.start)),
            profile: profile.clone(),
            message,
        }
    };
    let toml_err =
        |e: toml::de::Error, p: &Option<String>| at(e.span(), p, e.message().to_string());

    let doc = DeTable::parse(text).map_err(|e| toml_err(e, &None))?;
    let doc_span = doc.span();
    let mut table = doc.into_inner();
    let id = table
        .get("id")
        .and_then(|v| v.get_ref().as_str())
        .map(String::from);
    let steps_value = table.remove("steps");
    let file = ProfileFile::deserialize(toml::de::Deserializer::from(Spanned::new(
        doc_span.clone(),
        table,
    )))
    .map_err(|e| toml_err(e, &id))?;
    let stem = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let valid_id = file
        .id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_id || file.id.is_empty() {
        return Err(at(
            None,
            &id,
            "ids are lowercase words joined by '-' (e.g. sage-crm)".into(),
        ));
    }
    if stem.as_deref() != Some(file.id.as_str()) && path.starts_with("rules/profiles/") {
        return Err(at(
            None,
            &id,
            format!("the file must be named {}.toml", file.id),
        ));
    }

    let Some(steps_value) = steps_value else {
        return Err(at(None, &id, "a profile needs [[steps]]".into()));
    };
    let steps_span = steps_value.span();
    let DeValue::Array(step_values) = steps_value.into_inner() else {
        return Err(at(
            Some(steps_span),
            &id,
            "`steps` must be an array of tables ([[steps]])".into(),
        ));
    };
    let mut steps = Vec::with_capacity(step_values.len());
    for value in step_values {
        let span = value.span();
        let DeValue::Table(mut step_table) = value.into_inner() else {
            return Err(at(Some(span), &id, "each step must be a table".into()));
        };
        let checks_value = step_table.remove("checks");
        let step = StepFile::deserialize(ValueDeserializer::from(Spanned::new(
            span.clone(),
            DeValue::Table(step_table),
        )))
        .map_err(|e| toml_err(e, &id))?;
        let advice = match step.advice {
            Some(a) => Some(Advice {
                kind: a.kind,
                text: reflow(&a.text),
                dead_from: date(a.dead_from, &at, &id)?,
            }),
            None => None,
        };
        let mut checks = Vec::new();
        if let Some(v) = checks_value {
            let cspan = v.span();
            let DeValue::Array(list) = v.into_inner() else {
                return Err(at(
                    Some(cspan),
                    &id,
                    "`checks` must be an array of tables ([[steps.checks]])".into(),
                ));
            };
            for c in list {
                checks.push(step_check(c, text, catalog, &at, &id, &file.placeholders)?);
            }
        }
        if step.manual != checks.is_empty() {
            return Err(at(
                Some(span),
                &id,
                format!(
                    "step {}: a step has checks, or is `manual = true` with none",
                    step.number
                ),
            ));
        }
        steps.push(Step {
            number: step.number,
            title: step.title,
            guide: reflow(&step.guide),
            checks,
            advice,
        });
    }
    Ok(Profile {
        id: file.id,
        vendor: file.vendor,
        title: file.title,
        guide: file.guide,
        summary: file.summary.map(|s| reflow(&s)),
        name_hints: file.names.iter().map(|n| n.to_lowercase()).collect(),
        placeholders: file.placeholders,
        steps,
        path: path.to_string(),
    })
}

type At<'a> = dyn Fn(Option<std::ops::Range<usize>>, &Option<String>, String) -> ProfileError + 'a;

fn date(
    s: Option<Spanned<String>>,
    at: &At<'_>,
    id: &Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ProfileError> {
    match s {
        None => Ok(None),
        Some(s) => crate::dates::parse_datetime(s.get_ref())
            .map(Some)
            .ok_or_else(|| {
                at(
                    Some(s.span()),
                    id,
                    format!("{:?} is not a date (YYYY-MM-DD)", s.get_ref()),
                )
            }),
    }
}

fn step_check(
    value: Spanned<DeValue<'_>>,
    text: &str,
    catalog: &Catalog,
    at: &At<'_>,
    id: &Option<String>,
    placeholders: &BTreeMap<String, String>,
) -> Result<StepCheck, ProfileError> {
    let span = value.span();
    let DeValue::Table(mut table) = value.into_inner() else {
        return Err(at(Some(span), id, "each check must be a table".into()));
    };
    let Some(kind) = table.remove("kind") else {
        return Err(at(Some(span), id, "a check has no `kind`".into()));
    };
    let kind_span = kind.span();
    let Some(kind) = kind.get_ref().as_str().map(String::from) else {
        return Err(at(Some(kind_span), id, "`kind` must be a string".into()));
    };
    let de = || ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(table.clone())));
    let toml_err = |e: toml::de::Error| at(e.span(), id, e.message().to_string());
    let perms = |list: Vec<PermissionFile>| -> Result<Vec<PermissionRef>, ProfileError> {
        list.into_iter()
            .map(|p| permission(p, catalog, at, id))
            .collect()
    };
    Ok(match kind.as_str() {
        "sign-in-audience" => {
            let p = AudienceParams::deserialize(de()).map_err(toml_err)?;
            if let Some(bad) = p.allowed.iter().find(|a| !AUDIENCES.contains(&a.as_str())) {
                return Err(at(
                    Some(span),
                    id,
                    format!(
                        "unknown audience {bad:?}: expected one of {}",
                        AUDIENCES.join(", ")
                    ),
                ));
            }
            StepCheck::Audience { allowed: p.allowed }
        }
        "redirect-uris" => {
            let p = RedirectParams::deserialize(de()).map_err(toml_err)?;
            for t in &p.templates {
                for name in super::eval::placeholders_of(t) {
                    if !placeholders.contains_key(name) {
                        return Err(at(
                            Some(span),
                            id,
                            format!(
                                "template {t:?} uses {{{name}}}, which [placeholders] does not describe"
                            ),
                        ));
                    }
                }
            }
            StepCheck::RedirectUris {
                platform: p.platform,
                templates: p.templates,
                lowercase: p.lowercase,
            }
        }
        "permissions" => {
            let p = PermissionsParams::deserialize(de()).map_err(toml_err)?;
            StepCheck::Permissions {
                granted: p.granted,
                permissions: perms(p.permissions)?,
            }
        }
        "extra-permissions" => {
            let p = ExtraParams::deserialize(de()).map_err(toml_err)?;
            StepCheck::ExtraPermissions {
                allowed: perms(p.allowed)?,
                flagged: perms(p.flagged)?,
            }
        }
        "exchange-role" => {
            let p = RoleParams::deserialize(de()).map_err(toml_err)?;
            StepCheck::ExchangeRole { role: p.role }
        }
        "rego" => {
            return Err(at(
                Some(kind_span),
                id,
                "Rego checks belong in rule files, not profiles".into(),
            ));
        }
        other => {
            let Some(spec) = checks::registry::find(other) else {
                let mut known: Vec<&str> = PROFILE_KINDS.to_vec();
                known.extend(
                    checks::KINDS
                        .iter()
                        .map(|k| k.name)
                        .filter(|k| *k != "rego"),
                );
                return Err(at(
                    Some(kind_span),
                    id,
                    checks::registry::unknown_kind(other, &known),
                ));
            };
            let check = (spec.build)(de(), &BuildContext { text })
                .map_err(|e| at(e.span, id, e.message))?;
            StepCheck::Rule {
                kind: other.to_string(),
                check,
            }
        }
    })
}

fn permission(
    p: PermissionFile,
    catalog: &Catalog,
    at: &At<'_>,
    id: &Option<String>,
) -> Result<PermissionRef, ProfileError> {
    let kind = match p.kind.get_ref().as_str() {
        "application" => PermissionKind::Application,
        "delegated" => PermissionKind::Delegated,
        other => {
            return Err(at(
                Some(p.kind.span()),
                id,
                format!("permission type {other:?}: expected \"application\" or \"delegated\""),
            ));
        }
    };
    let Some((resource_app_id, resource_name)) = catalog.resource(p.resource.get_ref()) else {
        return Err(at(
            Some(p.resource.span()),
            id,
            format!(
                "unknown resource {:?}: use a catalogue resource name (Microsoft Graph, Office 365 Exchange Online) or an appId (Azure AD Graph: 00000002-0000-0000-c000-000000000000)",
                p.resource.get_ref()
            ),
        ));
    };
    let Some(perm_id) = catalog.id_of(resource_app_id, p.value.get_ref(), kind) else {
        return Err(at(
            Some(p.value.span()),
            id,
            format!(
                "{resource_name} has no {} permission {:?} in the catalogue",
                p.kind.get_ref(),
                p.value.get_ref()
            ),
        ));
    };
    let value = catalog
        .lookup(resource_app_id, perm_id, kind)
        .map(|e| e.value.to_string())
        .unwrap_or_else(|| p.value.get_ref().clone());
    Ok(PermissionRef {
        resource_app_id: resource_app_id.to_string(),
        resource_name: resource_name.to_string(),
        id: perm_id.to_string(),
        value,
        kind,
        note: p.note.map(|n| reflow(&n)),
        dead_from: date(p.dead_from, at, id)?,
    })
}

/// Joins a TOML multi-line string's lines into paragraphs.
fn reflow(s: &str) -> String {
    s.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}
