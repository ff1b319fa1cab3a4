//! Two spellings of one property in one object, resolved once serde has refused the file
//! or the array element for it (a duplicate field): of each property, the spelling that
//! comes first in the object is used; the others are turned into blanks in the text, so
//! that a parse of the result gives any other error where the file has it. Different values
//! are a warning naming the file, the item, the spellings and the one used. The same
//! spelling twice is left for serde to refuse.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::envelope::{Element, Envelope, Level, Sink};
use super::probe::{Fields, fields_of};

/// The fields of an item type and of the types nested in it, by spelling: what tells two
/// spellings of one property from two properties.
pub(super) struct Spellings {
    /// `types[0]` is the item type; empty when it is not a derived struct.
    types: Vec<Fields>,
}

/// How deep in an item nested objects are looked at. Real items nest objects three deep at
/// most (an application template's application's credentials), but two types nest in
/// themselves (that application, an owner's `AdditionalProperties`), so a file could go on
/// without end: deeper than this, serde's refusal stands.
const NESTED_DEPTH: usize = 8;

impl Spellings {
    /// Asks `T`, only once a file or an element has been refused.
    pub(super) fn of<T: DeserializeOwned>() -> Spellings {
        Spellings {
            types: fields_of::<T>(),
        }
    }

    /// Looks at every item of `text` (a document at `level`; its first item is item
    /// `first` of the file): of each property given in several spellings, the first is
    /// kept and the others are to be removed. `None` when there is nothing to remove, or
    /// `text` is not JSON the envelope takes: then serde's refusal stands.
    pub(super) fn resolve(
        &self,
        path: &Path,
        text: &str,
        level: Level,
        first: usize,
    ) -> Option<Resolved> {
        if self.types.is_empty() {
            return None;
        }
        let mut walk = Walk {
            spellings: self,
            path,
            text,
            next: first,
            found: Resolved {
                blanks: Vec::new(),
                warnings: Vec::new(),
            },
        };
        let mut de = serde_json::Deserializer::from_str(text);
        Envelope {
            out: &mut walk,
            level,
            shape: None,
        }
        .deserialize(&mut de)
        .ok()?;
        de.end().ok()?;
        let found = walk.found;
        (!found.blanks.is_empty()).then_some(found)
    }

    /// One element of a top-level array that serde refused, at the start of `text`: its
    /// items with their spellings resolved, if that is why.
    pub(super) fn retry_element<T: DeserializeOwned>(
        &self,
        path: &Path,
        text: &str,
        first: usize,
        eof: bool,
    ) -> Retried<T> {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        let element = match stream.next() {
            Some(Ok(element)) => element,
            Some(Err(e)) if e.is_eof() && !eof => return Retried::ReadOn,
            _ => return Retried::Refused,
        };
        let len = stream.byte_offset();
        let Some(resolved) = self.resolve(path, element.get(), Level::ArrayElement, first) else {
            return Retried::Refused;
        };
        let text = resolved.apply(element.get().to_owned());
        let mut de = serde_json::Deserializer::from_str(&text);
        match Element::<T>::deserialize(&mut de).and_then(|e| de.end().map(|()| e)) {
            Ok(Element(items)) => Retried::Items {
                items,
                len,
                warnings: resolved.warnings,
            },
            Err(_) => Retried::Refused,
        }
    }
}

/// How [`Spellings::retry_element`] ended.
pub(super) enum Retried<T> {
    /// The element's items, its length in the text, and the warnings about it.
    Items {
        items: Vec<T>,
        len: usize,
        warnings: Vec<String>,
    },
    /// The element runs past the block.
    ReadOn,
    /// Refused for another reason: the whole-text parser describes it.
    Refused,
}

/// What [`Spellings::resolve`] found.
pub(super) struct Resolved {
    /// Byte ranges of the text to remove: each a later spelling with its value, and the
    /// comma before it.
    blanks: Vec<Range<usize>>,
    pub(super) warnings: Vec<String>,
}

impl Resolved {
    /// `text` with every range to remove turned into spaces (line breaks kept), so that
    /// every other byte keeps its offset, line and column.
    pub(super) fn apply(&self, text: String) -> String {
        let mut bytes = text.into_bytes();
        for range in &self.blanks {
            for b in bytes.get_mut(range.clone()).into_iter().flatten() {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
        // A range starts and ends just after a JSON value, whose last byte is ASCII: only
        // whole characters became spaces.
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// The envelope's sink while [`Spellings::resolve`] looks at the items.
struct Walk<'a, 'de> {
    spellings: &'a Spellings,
    path: &'a Path,
    /// The text walked: every value's text is a slice of it.
    text: &'de str,
    /// The index in the file of the next item.
    next: usize,
    found: Resolved,
}

impl<'de> Sink<'de> for Walk<'_, 'de> {
    fn item<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        let entries = d.deserialize_map(Entries)?;
        let item = describe_item(self.next, &entries);
        self.next += 1;
        self.object(0, &entries, &item, "", 0);
        Ok(())
    }
}

impl<'de> Walk<'_, 'de> {
    /// One object of `types[index]`, `inside` an item at a JSON path (empty for the item
    /// itself), then the objects nested in it.
    fn object(
        &mut self,
        index: usize,
        entries: &[Entry<'de>],
        item: &str,
        inside: &str,
        depth: usize,
    ) {
        let spellings = self.spellings;
        let Some(fields) = spellings.types.get(index) else {
            return;
        };
        // Each property in the order it first appears: the entry used, and the entries of
        // its other spellings.
        let mut properties: Vec<(&'static str, usize, Vec<usize>)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let Some(field) = fields.field(&entry.key) else {
                continue;
            };
            let Some((_, used, others)) = properties.iter_mut().find(|(f, ..)| *f == field) else {
                properties.push((field, i, Vec::new()));
                continue;
            };
            // The same spelling twice is a duplicate key, not two spellings: the file says
            // two things under one name, and serde's refusal stands.
            let repeated = |j: usize| entries.get(j).is_some_and(|e| e.key == entry.key);
            if repeated(*used) || others.iter().any(|&j| repeated(j)) {
                continue;
            }
            // From the end of the entry before it: the comma, the key and the value.
            let from = i.checked_sub(1).and_then(|j| entries.get(j));
            let (Some(from), Some(to)) = (
                from.and_then(|e| self.end_of(e.value)),
                self.end_of(entry.value),
            ) else {
                continue;
            };
            self.found.blanks.push(from..to);
            others.push(i);
        }
        for (field, used, others) in &properties {
            let Some(kept) = entries.get(*used) else {
                continue;
            };
            let differ = others
                .iter()
                .filter_map(|&j| entries.get(j))
                .any(|e| !same_json(kept.value, e.value));
            if differ {
                let keys: Vec<String> = std::iter::once(*used)
                    .chain(others.iter().copied())
                    .filter_map(|j| entries.get(j))
                    .map(|e| format!("{:?}", e.key))
                    .collect();
                let whose = if inside.is_empty() {
                    item.to_string()
                } else {
                    format!("{item}: {inside}")
                };
                self.found.warnings.push(format!(
                    "{}: {whose} has {}, spellings of one property, with different values; \
                     {:?}, the first, was used",
                    self.path.display(),
                    and_list(&keys),
                    kept.key,
                ));
            }
            let Some(nested) = fields.nested(field) else {
                continue;
            };
            if depth >= NESTED_DEPTH {
                continue;
            }
            let at = if inside.is_empty() {
                kept.key.clone()
            } else {
                format!("{inside}.{}", kept.key)
            };
            for (element, objects) in objects_in(kept.value) {
                let at = match element {
                    Some(i) => format!("{at}[{i}]"),
                    None => at.clone(),
                };
                self.object(nested, &objects, item, &at, depth + 1);
            }
        }
    }

    /// Where `value` ends in the text walked.
    fn end_of(&self, value: &RawValue) -> Option<usize> {
        let start = (value.get().as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        let end = start.checked_add(value.get().len())?;
        (end <= self.text.len()).then_some(end)
    }
}

/// "item 3", with the item's identity, id or name when it has one (in the file's spelling),
/// so that the warning can be acted on without counting objects.
fn describe_item(index: usize, entries: &[Entry]) -> String {
    const NAMING: [&str; 5] = ["identity", "id", "name", "displayName", "appId"];
    const SHOWN: usize = 80;
    let named = NAMING.iter().find_map(|naming| {
        entries
            .iter()
            .filter(|e| e.key.eq_ignore_ascii_case(naming))
            .find_map(|e| Some((&e.key, serde_json::from_str::<String>(e.value.get()).ok()?)))
    });
    match named {
        Some((key, name)) => {
            let mut shown: String = name.chars().take(SHOWN).collect();
            if shown.len() < name.len() {
                shown.push('…');
            }
            format!("item {} ({key} {shown:?})", index + 1)
        }
        None => format!("item {}", index + 1),
    }
}

/// `"a"`, `"a" and "b"`, `"a", "b" and "c"`.
fn and_list(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// Whether two values are the same JSON value (`1` and `1.0` are not; key order in objects
/// does not matter).
fn same_json(a: &RawValue, b: &RawValue) -> bool {
    a.get() == b.get()
        || matches!(
            (
                serde_json::from_str::<serde_json::Value>(a.get()),
                serde_json::from_str::<serde_json::Value>(b.get()),
            ),
            (Ok(a), Ok(b)) if a == b
        )
}

/// One property of an object as written: its key, and its value's text.
struct Entry<'de> {
    key: String,
    value: &'de RawValue,
}

/// The properties of an object, in order (a key written twice is there twice).
struct Entries;

impl<'de> Visitor<'de> for Entries {
    type Value = Vec<Entry<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: &'de RawValue = map.next_value()?;
            entries.push(Entry { key, value });
        }
        Ok(entries)
    }
}

/// The objects a nested field's value holds: the value itself, or (with their indexes) the
/// elements of an array. Anything else holds none.
fn objects_in(value: &RawValue) -> Vec<(Option<usize>, Vec<Entry<'_>>)> {
    let entries_of = |text| {
        serde_json::Deserializer::from_str(text)
            .deserialize_map(Entries)
            .ok()
    };
    if let Some(entries) = entries_of(value.get()) {
        return vec![(None, entries)];
    }
    serde_json::from_str::<Vec<&RawValue>>(value.get())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(i, element)| Some((Some(i), entries_of(element.get())?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::source::json::parse_items;

    #[test]
    fn two_spellings_of_one_property_use_the_first() {
        use crate::snapshot::{RawApplication, RawManagementScope};
        let path = PathBuf::from("t.json");
        let scopes = |text: &str, warnings: &mut Vec<String>| {
            parse_items::<RawManagementScope>(&path, text.to_string(), warnings)
        };

        // The same value twice is harmless.
        let mut warnings = Vec::new();
        let read = scopes(
            r#"[{"Name":"s","RecipientFilter":"x","RecipientRestrictionFilter":"x"}]"#,
            &mut warnings,
        )
        .unwrap();
        assert_eq!(read[0].recipient_filter.as_deref(), Some("x"));
        assert_eq!(warnings, Vec::<String>::new());

        // Different values: the first in the object, and a warning.
        let read = scopes(
            r#"{"Name":"s","RecipientRestrictionFilter":"b","RecipientFilter":"a"}"#,
            &mut warnings,
        )
        .unwrap();
        assert_eq!(read[0].recipient_filter.as_deref(), Some("b"));
        assert_eq!(
            warnings,
            [
                "t.json: item 1 (Name \"s\") has \"RecipientRestrictionFilter\" and \"RecipientFilter\", \
                 spellings of one property, with different values; \"RecipientRestrictionFilter\", \
                 the first, was used"
            ]
        );

        // One spelling twice is an error, also beside another spelling.
        for text in [
            r#"{"Name":"s","RecipientFilter":"a","RecipientFilter":"a"}"#,
            r#"{"Name":"s","RecipientFilter":"a","recipientFilter":"a","RecipientFilter":"a"}"#,
        ] {
            let err = scopes(text, &mut Vec::new()).unwrap_err().to_string();
            assert!(err.contains("duplicate field `RecipientFilter`"), "{err}");
        }

        // Another error keeps its line and column.
        let err = scopes(
            "[{\"Name\":\"s\",\"RecipientFilter\":\"a\",\n\"recipientFilter\":\"b\"},\n {\"Name\": 5}]",
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("t.json:3:"), "{err}");
        assert!(err.contains("[1].Name"), "{err}");

        // In a nested object too, named by its path in the item.
        let mut warnings = Vec::new();
        let apps = parse_items::<RawApplication>(
            &path,
            r#"[{"appId":"1"},{"appId":"2","passwordCredentials":[{"keyId":"k",
                "endDateTime":"2026-01-01T00:00:00Z","EndDateTime":"2027-01-01T00:00:00Z"}]}]"#
                .to_string(),
            &mut warnings,
        )
        .unwrap();
        let credentials = apps[1]
            .password_credentials
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap();
        assert_eq!(
            credentials[0]
                .end_date_time
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2026-01-01T00:00:00+00:00")
        );
        assert_eq!(
            warnings,
            [
                "t.json: item 2 (appId \"2\"): passwordCredentials[0] has \"endDateTime\" and \
                 \"EndDateTime\", spellings of one property, with different values; \
                 \"endDateTime\", the first, was used"
            ]
        );
    }
}
