//! The whole-text parser: every item of a document held in memory, whatever the envelope,
//! or an error with line, column and JSON path. The block reader hands anything unusual
//! over to it.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::envelope::{Items, Level};
use super::error::syntax_error;
use super::spellings::Spellings;
use crate::source::LoadError;

/// Parses all items of one file, whatever the envelope. An empty file is an error here;
/// callers that accept "collected, none" check for emptiness first. Warnings about the file
/// (two spellings of one property with different values) go to `warnings` when it is read.
pub fn parse_items<T: DeserializeOwned>(
    path: &Path,
    text: String,
    warnings: &mut Vec<String>,
) -> Result<Vec<T>, LoadError> {
    parse_items_with_shape(path, text, warnings).map(|items| items.items)
}

/// Like [`parse_items`], also saying which envelope the file used.
pub fn parse_items_with_shape<T: DeserializeOwned>(
    path: &Path,
    text: String,
    warnings: &mut Vec<String>,
) -> Result<Items<T>, LoadError> {
    if text.trim().is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let err = match parse_document::<T>(&text) {
        Ok(items) => return Ok(items),
        Err(err) => err,
    };
    // Refused: if it is for two spellings of one property, remove all but the first and
    // parse again. The removed entries become blanks (line breaks kept), so any other error
    // has the position it has in the file.
    let Some(resolved) = Spellings::of::<T>().resolve(path, &text, Level::Top, 0) else {
        return Err(syntax_error::<T>(path, &text, err));
    };
    let text = resolved.apply(text);
    match parse_document::<T>(&text) {
        Ok(items) => {
            warnings.extend(resolved.warnings);
            Ok(items)
        }
        Err(err) => Err(syntax_error::<T>(path, &text, err)),
    }
}

/// The items of a whole document, or serde_json's error.
fn parse_document<T: DeserializeOwned>(text: &str) -> Result<Items<T>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let items = Items::<T>::deserialize(&mut de)?;
    de.end()?;
    Ok(items)
}

#[cfg(test)]
mod tests {
    use crate::source::LoadError;
    use crate::source::json::tests::{ids, items};

    #[test]
    fn every_envelope_gives_the_same_items() {
        assert_eq!(ids(r#"[{"id":"a"},{"id":"b"}]"#), ["a", "b"]);
        assert_eq!(ids(r#"{"id":"a"}"#), ["a"]);
        assert_eq!(
            ids(r#"{"@odata.context":"x","value":[{"id":"a"},{"id":"b"}]}"#),
            ["a", "b"]
        );
        assert_eq!(
            ids(r#"[{"value":[{"id":"a"}],"@odata.nextLink":"y"},{"value":[{"id":"b"}]}]"#),
            ["a", "b"]
        );
        // A single entity as Graph returns it, with its context first.
        assert_eq!(ids(r#"{"@odata.context":"x","id":"a","n":1}"#), ["a"]);
        assert_eq!(ids("[]"), Vec::<String>::new());
    }

    #[test]
    fn truncated_and_empty_files_are_errors() {
        let err = items("[{\"id\": \"a\"},").unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(matches!(items("  \n"), Err(LoadError::Empty { .. })));
        assert!(items("\"text\"").is_err());
        assert!(items("[[{\"id\":\"a\"}]]").is_err());
        assert!(items("{\"value\": {\"id\": \"a\"}}").is_err());
    }
}
