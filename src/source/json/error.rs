//! Error positions: a serde_json error turned into one that points at the file, line and
//! column (and, for a value that does not fit, its JSON path), with hints for the usual
//! mistakes.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::envelope::Items;
use crate::source::LoadError;

/// Turns a serde_json error into one that names the file, the position and, when the
/// document is well-formed JSON, the JSON path of the value that did not fit.
pub(super) fn syntax_error<T: DeserializeOwned>(
    path: &Path,
    text: &str,
    err: serde_json::Error,
) -> LoadError {
    // The fast path keeps no path; errors are rare, so parse once more to find it.
    let json_path = if err.is_data() {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, Items<T>>(&mut de) {
            Err(e) => Some(e.path().to_string()).filter(|p| p != "." && !p.is_empty()),
            Ok(_) => None,
        }
    } else {
        None
    };
    let mut message = strip_position(&err.to_string());
    if err.is_syntax() && starts_comment(text, err.line(), err.column()) {
        message.push_str(" (JSON has no comments: remove // and /* */ comments)");
    }
    let message = match (err.classify(), json_path) {
        (serde_json::error::Category::Eof, _) => {
            format!("{message} (the file ends early: truncated or still being written?)")
        }
        (_, Some(p)) => format!("{p}: {message}"),
        (_, None) => message,
    };
    LoadError::syntax(path, text, err.line(), err.column(), message)
}

/// Whether a comment starts at (or just before) the 1-based line and column.
fn starts_comment(text: &str, line: usize, column: usize) -> bool {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else {
        return false;
    };
    let from = column.saturating_sub(1).min(l.len());
    let rest = l.get(from..).unwrap_or_default().trim_start();
    let here = l
        .get(column.saturating_sub(2).min(l.len())..)
        .unwrap_or_default();
    rest.starts_with("//")
        || rest.starts_with("/*")
        || here.starts_with("//")
        || here.starts_with("/*")
}

/// serde_json appends " at line L column C"; the position is reported separately.
pub(in crate::source) fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::source::json::tests::items;

    #[test]
    fn type_errors_name_line_column_and_json_path() {
        let err = items("[\n {\"id\": \"a\"},\n {\"id\": \"b\", \"n\": \"x\"}\n]").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("t.json:3:"), "{text}");
        assert!(text.contains("[1].n"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
    }

    #[test]
    fn comments_get_a_hint() {
        let err = items("[\n  /* apps */\n  {\"id\": \"a\"}\n]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("JSON has no comments"), "{err}");
        assert!(err.starts_with("t.json:2:"), "{err}");
    }
}
