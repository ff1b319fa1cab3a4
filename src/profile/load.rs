//! Loading profile files: TOML with spans kept, so every error is `file:line:col: profile ID:
//! message`, as for rule files. Step checks are built by their kinds' registry builders,
//! with the same parameter validation as in rule files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Advice, AdviceKind, Profile, Step, StepCheck};
use crate::checks::kinds::permissions;
use crate::checks::registry::{self, Kind};
use crate::checks::{BuildContext, BuildError, ProfileBuild, reflow};
use crate::diagnostics::Diagnostic;
use crate::model::Catalog;

include!(concat!(env!("OUT_DIR"), "/embedded_profiles.rs"));

/// The shipped profiles, in file order.
pub fn builtin(catalog: &Catalog) -> Result<Vec<Profile>, Vec<Diagnostic>> {
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
pub fn load_file(path: &Path, catalog: &Catalog) -> Result<Profile, Diagnostic> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(shown.clone(), format!("cannot read: {e}")))?;
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

fn parse(path: &str, text: &str, catalog: &Catalog) -> Result<Profile, Diagnostic> {
    let at = |span: Option<std::ops::Range<usize>>, profile: &Option<String>, message: String| {
        Diagnostic::at(path, text, span, message)
            .with_context(profile.as_ref().map(|p| format!("profile {p}")))
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
    // Steps are read first and their checks built after, because `extra-permissions` needs
    // the permissions every `permissions` step lists, wherever the steps are.
    let mut steps = Vec::with_capacity(step_values.len());
    let mut raw_checks = Vec::with_capacity(step_values.len());
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
                checks.push(step_check_kind(c, &at, &id)?);
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
        raw_checks.push(checks);
        steps.push(Step {
            number: step.number,
            title: step.title,
            guide: reflow(&step.guide),
            checks: Vec::new(),
            advice,
        });
    }

    let build_error = |e: BuildError, span: &std::ops::Range<usize>| {
        at(Some(e.span.unwrap_or_else(|| span.clone())), &id, e.message)
    };
    let mut listed = Vec::new();
    for raw in raw_checks.iter().flatten() {
        if raw.kind.name == permissions::KIND.name {
            let params = permissions::Params::deserialize(raw.deserializer())
                .map_err(|e| build_error(e.into(), &raw.span))?;
            let check = permissions::Permissions::new(params, catalog)
                .map_err(|e| build_error(e, &raw.span))?;
            listed.extend_from_slice(check.listed());
        }
    }
    let profile_build = ProfileBuild {
        catalog,
        placeholders: &file.placeholders,
        listed: &listed,
    };
    let cx = BuildContext {
        text,
        profile: Some(&profile_build),
    };
    for (step, raw) in steps.iter_mut().zip(raw_checks) {
        for r in raw {
            let check =
                (r.kind.build)(r.deserializer(), &cx).map_err(|e| build_error(e, &r.span))?;
            step.checks.push(StepCheck {
                kind: r.kind.name,
                check,
            });
        }
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
        listed,
        path: path.to_string(),
    })
}

type At<'a> = dyn Fn(Option<std::ops::Range<usize>>, &Option<String>, String) -> Diagnostic + 'a;

fn date(
    s: Option<Spanned<String>>,
    at: &At<'_>,
    id: &Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, Diagnostic> {
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

/// A step's check table with its kind looked up, not built yet.
struct RawCheck<'a> {
    kind: &'static Kind,
    span: std::ops::Range<usize>,
    params: DeTable<'a>,
}

impl<'a> RawCheck<'a> {
    fn deserializer(&self) -> ValueDeserializer<'a> {
        ValueDeserializer::from(Spanned::new(
            self.span.clone(),
            DeValue::Table(self.params.clone()),
        ))
    }
}

fn step_check_kind<'a>(
    value: Spanned<DeValue<'a>>,
    at: &At<'_>,
    id: &Option<String>,
) -> Result<RawCheck<'a>, Diagnostic> {
    let span = value.span();
    let DeValue::Table(mut table) = value.into_inner() else {
        return Err(at(Some(span), id, "each check must be a table".into()));
    };
    let Some(kind) = table.remove("kind") else {
        return Err(at(Some(span), id, "a check has no `kind`".into()));
    };
    let kind_span = kind.span();
    let Some(name) = kind.get_ref().as_str() else {
        return Err(at(Some(kind_span), id, "`kind` must be a string".into()));
    };
    let Some(kind) = registry::find(name) else {
        return Err(at(
            Some(kind_span),
            id,
            registry::unknown_kind(name, &registry::profile_names()),
        ));
    };
    if !kind.written_in.in_profiles() {
        return Err(at(
            Some(kind_span),
            id,
            format!(
                "check kind {name:?} is written in {} only, not in profiles",
                kind.written_in.as_str()
            ),
        ));
    }
    Ok(RawCheck {
        kind,
        span,
        params: table,
    })
}
