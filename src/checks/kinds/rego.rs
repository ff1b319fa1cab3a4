//! The `rego` check kind: user rules in Rego, compiled by regorus to its RVM at load. See
//! [`KIND`] for the input and output.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use toml::Spanned;
use toml::de::ValueDeserializer;

use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{BuildContext, BuildError, Check, Context, Evaluator, Outcomes};
use crate::finding::{Evidence, Severity};
use crate::model::{App, TenantInfo};

/// The `rego` kind.
pub const KIND: Kind = Kind {
    name: "rego",
    scope: Scope::App,
    written_in: Written::Rules,
    docs: "A user rule written in Rego, evaluated once per app. Its input is {\"app\": the \
        normalized app (see m365audit inspect), \"tenant\": the tenant's facts, \"as_of\": the \
        audit date in RFC 3339, \"as_of_ns\": the same in nanoseconds}. It defines a \
        `findings` set (or array) of objects; each may carry `message` (or `msg`), `item`, \
        `severity`, and `outcome` (`fail`, the default, or `not_evaluated` with a `reason`); \
        every other key becomes evidence. An empty or undefined `findings` is a pass. The \
        wall clock (time.now_ns) is refused: use input.as_of_ns. A Rego rule needs at least \
        one [[examples]] entry.",
    params: &[Param {
        name: "rego",
        ty: "string (a Rego module)",
        default: None,
        meaning: "The policy, in a TOML multi-line string; errors point at its line in the rule file.",
    }],
    renamed_from: &[],
    build,
    keys: registry::keys_of::<Params>,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The Rego module.
    rego: Spanned<String>,
}

pub struct RegoCheck {
    program: Arc<Program>,
    entry: String,
}

impl fmt::Debug for RegoCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegoCheck")
            .field("entry", &self.entry)
            .finish()
    }
}

/// Compiles the rule's Rego. Errors point at the line in the rule file, not in the string.
pub fn build(de: ValueDeserializer<'_>, cx: &BuildContext<'_>) -> Result<Evaluator, BuildError> {
    let params = Params::deserialize(de)?;
    let span = params.rego.span();
    let source = params.rego.into_inner();
    let map = LineMap::new(cx.text, span.clone());
    let err = |message: String, at: Option<(usize, usize)>| BuildError {
        span: Some(at.map_or(span.clone(), |(line, column)| {
            map.span_of(cx.text, line, column)
        })),
        message,
    };

    if let Some(line) = find_line(&source, "time.now_ns") {
        return Err(err(
            "time.now_ns() reads the wall clock; use input.as_of_ns (the audit date) so results are reproducible".into(),
            Some((line, 1)),
        ));
    }
    if let Some((line, message)) = unknown_input_field(&source) {
        return Err(err(message, Some((line, 1))));
    }

    let mut engine = regorus::Engine::new();
    let package = engine
        .add_policy("rule.rego".into(), source.clone())
        .map_err(|e| rego_error(&e.to_string(), &err))?;
    let entry = format!("{package}.findings");
    let compiled = engine
        .compile_with_entrypoint(&entry.as_str().into())
        .map_err(|e| rego_error(&e.to_string(), &err))?;
    let program = Compiler::compile_from_policy(&compiled, &[entry.as_str()])
        .map_err(|e| rego_error(&e.to_string(), &err))?;
    Ok(Evaluator::PerApp(Box::new(RegoCheck { program, entry })))
}

/// regorus reports `--> rule.rego:LINE:COL` followed by the source excerpt and
/// `error: message`; keep the message and move the position into the rule file.
fn rego_error(
    text: &str,
    err: &impl Fn(String, Option<(usize, usize)>) -> BuildError,
) -> BuildError {
    let position = text.split("rule.rego:").nth(1).and_then(|rest| {
        let mut numbers = rest
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<usize>().ok());
        Some((numbers.next()??, numbers.next()?.unwrap_or(1)))
    });
    let message = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map(str::trim)
        .unwrap_or_else(|| text.trim());
    err(format!("rego: {message}"), position)
}

/// Where the Rego source starts inside the TOML file, to translate Rego line numbers.
struct LineMap {
    /// Byte offset of the first character of the string's content.
    content_start: usize,
}

impl LineMap {
    fn new(text: &str, value_span: Range<usize>) -> Self {
        let raw = &text[value_span.start..value_span.end.min(text.len())];
        let mut start = value_span.start;
        if raw.starts_with("'''") || raw.starts_with("\"\"\"") {
            start += 3;
            // TOML drops a newline right after the opening delimiter of a multi-line string.
            if text[start..].starts_with("\r\n") {
                start += 2;
            } else if text[start..].starts_with('\n') {
                start += 1;
            }
        } else {
            start += 1;
        }
        LineMap {
            content_start: start,
        }
    }

    /// The byte position in the rule file of a 1-based line and column of the Rego source.
    fn span_of(&self, text: &str, line: usize, column: usize) -> Range<usize> {
        let mut offset = self.content_start;
        for _ in 1..line {
            match text[offset..].find('\n') {
                Some(i) => offset += i + 1,
                None => break,
            }
        }
        let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        // regorus counts a tab as four columns.
        let mut visual = 1;
        let mut at = line_end;
        for (i, c) in text[offset..line_end].char_indices() {
            if visual >= column {
                at = offset + i;
                break;
            }
            visual += if c == '\t' { 4 } else { 1 };
        }
        at..at
    }
}

fn find_line(source: &str, needle: &str) -> Option<usize> {
    source
        .lines()
        .position(|l| {
            l.split('#')
                .next()
                .is_some_and(|code| code.contains(needle))
        })
        .map(|i| i + 1)
}

/// Rego evaluates a misspelt `input.app.pasword_credentials` to undefined and the rule then
/// silently never fires. Catch direct references to fields the input does not have.
fn unknown_input_field(source: &str) -> Option<(usize, String)> {
    let app_fields = field_names(&App::default());
    let tenant_fields = field_names(&TenantInfo::default());
    let top = ["app", "tenant", "as_of", "as_of_ns"];
    for (i, line) in source.lines().enumerate() {
        let code = line.split('#').next().unwrap_or_default();
        let mut rest = code;
        while let Some(pos) = rest.find("input.") {
            let preceded = rest[..pos]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            rest = &rest[pos + "input.".len()..];
            if preceded {
                continue;
            }
            let path: Vec<&str> = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .next()
                .unwrap_or_default()
                .split('.')
                .collect();
            let (known, field, scope): (&[String], &str, &str) = match path.as_slice() {
                ["app", field, ..] => (&app_fields, field, "input.app"),
                ["tenant", field, ..] => (&tenant_fields, field, "input.tenant"),
                [field, ..] if !top.contains(field) => {
                    let suggestion = if app_fields.iter().any(|f| f == field) {
                        format!(" (did you mean input.app.{field}?)")
                    } else {
                        String::new()
                    };
                    return Some((
                        i + 1,
                        format!(
                            "input.{field} is not part of the rule input (input.app, input.tenant, input.as_of, input.as_of_ns){suggestion}"
                        ),
                    ));
                }
                _ => continue,
            };
            if field.is_empty() || known.iter().any(|f| f == field) {
                continue;
            }
            let squash = |s: &str| s.replace('_', "").to_ascii_lowercase();
            let hint = known
                .iter()
                .map(|f| (strsim::levenshtein(&squash(f), &squash(field)), f))
                .filter(|(d, _)| *d <= 2)
                .min()
                .map(|(_, f)| format!(" (did you mean {scope}.{f}?)"))
                .unwrap_or_default();
            return Some((
                i + 1,
                format!(
                    "{scope}.{field} is not a field of the rule input{hint}; `m365audit inspect SOURCE` prints the input"
                ),
            ));
        }
    }
    None
}

fn field_names<T: serde::Serialize>(value: &T) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(Json::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The Rego input for one app.
pub fn input(app: &App, cx: &Context<'_>) -> regorus::Value {
    let json = serde_json::json!({
        "app": app,
        "tenant": cx.tenant,
        "as_of": crate::dates::rfc3339(cx.as_of),
        "as_of_ns": cx.as_of.timestamp_nanos_opt(),
    });
    regorus::Value::from_json_str(&json.to_string()).unwrap_or(regorus::Value::Undefined)
}

impl Check for RegoCheck {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let input = cx.rego_input.get_or_init(|| input(app, cx)).clone();
        let mut vm = RegoVM::new();
        vm.load_program(self.program.clone());
        vm.set_input(input);
        let value = match vm.execute() {
            Ok(v) => v,
            Err(e) => {
                out.not_evaluated(None, format!("the rule's Rego failed: {e}"));
                return;
            }
        };
        if value == regorus::Value::Undefined {
            out.pass(|| (None, "no findings".into()));
            return;
        }
        let json: Json = match value
            .to_json_str()
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
        {
            Some(j) => j,
            None => {
                out.not_evaluated(None, "the rule's findings could not be read");
                return;
            }
        };
        let Json::Array(items) = json else {
            out.not_evaluated(None, format!("{} must be a set of objects", self.entry));
            return;
        };
        if items.is_empty() {
            out.pass(|| (None, "no findings".into()));
        }
        for item in items {
            record(item, &self.entry, out);
        }
    }
}

fn record(item: Json, entry: &str, out: &mut Outcomes) {
    let Json::Object(mut fields) = item else {
        out.not_evaluated(None, format!("{entry} holds a non-object: {item}"));
        return;
    };
    let take_str = |fields: &mut Map<String, Json>, key: &str| match fields.remove(key) {
        Some(Json::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
        None => None,
    };
    let message = take_str(&mut fields, "message")
        .or_else(|| take_str(&mut fields, "msg"))
        .unwrap_or_else(|| "finding".into());
    let item_name = take_str(&mut fields, "item");
    let severity = take_str(&mut fields, "severity").and_then(|s| s.parse::<Severity>().ok());
    let outcome = take_str(&mut fields, "outcome");
    if outcome.as_deref() == Some("not_evaluated") {
        let reason = take_str(&mut fields, "reason").unwrap_or(message);
        out.not_evaluated(item_name, reason);
        return;
    }
    let evidence: Evidence = fields;
    out.fail_at(severity, item_name, message, evidence);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_input_fields_are_caught_with_a_hint() {
        let (line, msg) = unknown_input_field(
            "package x\nfindings contains f if {\n  some c in input.app.passwordCredentials\n  f := {}\n}\n",
        )
        .unwrap();
        assert_eq!(line, 3);
        assert!(
            msg.contains("did you mean input.app.password_credentials"),
            "{msg}"
        );
        assert!(unknown_input_field("x := input.app.password_credentials[_].end").is_none());
        let (_, msg) = unknown_input_field("x := input.app.pasword_credentials").unwrap();
        assert!(
            msg.contains("did you mean input.app.password_credentials"),
            "{msg}"
        );
        assert!(unknown_input_field("x := input.as_of_ns").is_none());
        let (_, msg) = unknown_input_field("x := input.display_name").unwrap();
        assert!(msg.contains("input.app.display_name"), "{msg}");
    }
}
