//! Reading the JSON files of an export: text decoding, the envelopes Microsoft tools wrap
//! objects in, and error positions that point at the offending line and column.
//!
//! Every file may be a bare array, a single object (what PowerShell's `ConvertTo-Json` writes
//! for a one-item pipeline), a Graph page `{"value": [...]}` or an array of such pages. The
//! envelope is recognised while parsing, in one pass, so a 100k-item page is never buffered
//! twice.

use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::path::Path;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    SeqAccess, Visitor,
};

use super::LoadError;
use crate::diagnostics::line_column;

/// Decodes a file's bytes to text. PowerShell writes UTF-8 with a BOM (`Set-Content`,
/// PowerShell 7) or UTF-16 LE with a BOM (Windows PowerShell 5.1 `Out-File` and `>`), so both
/// BOMs are honoured; anything else must be UTF-8.
pub fn decode_text(path: &Path, bytes: Vec<u8>) -> Result<String, LoadError> {
    let utf16 = |big_endian: bool| -> Result<String, LoadError> {
        let body = &bytes[2..];
        if body.len() % 2 != 0 {
            return Err(LoadError::content(
                path,
                "UTF-16 file has an odd number of bytes (truncated?)",
            ));
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if big_endian {
                    u16::from_be_bytes([c[0], c[1]])
                } else {
                    u16::from_le_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units)
            .map_err(|_| LoadError::content(path, "file has a UTF-16 BOM but is not valid UTF-16"))
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => {
            let start = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            let mut bytes = bytes;
            bytes.drain(..start);
            String::from_utf8(bytes).map_err(|e| {
                let offset = e.utf8_error().valid_up_to();
                let (line, column) = line_column(e.as_bytes(), offset);
                LoadError::Syntax {
                    path: path.to_path_buf(),
                    line,
                    column,
                    message: "invalid UTF-8 (save the file as UTF-8 or UTF-16 with a BOM)".into(),
                }
            })
        }
    }
}

/// Parses all items of one file, whatever the envelope. An empty file is an error here;
/// callers that accept "collected, none" check for emptiness first.
pub fn parse_items<T: DeserializeOwned>(path: &Path, text: &str) -> Result<Vec<T>, LoadError> {
    parse_items_with_shape(path, text).map(|items| items.items)
}

/// Like [`parse_items`], also saying which envelope the file used.
pub fn parse_items_with_shape<T: DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<Items<T>, LoadError> {
    if text.trim().is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = Items::<T>::deserialize(&mut de).and_then(|items| {
        de.end()?;
        Ok(items)
    });
    parsed.map_err(|err| syntax_error::<T>(path, text, err))
}

/// Bytes read per block by [`read_items`]: the file's text is never more than about this
/// much in memory (plus one item).
const BLOCK: usize = 8 << 20;

/// Reads and parses one list file.
///
/// A top-level array (what `collect`, `az` and `ConvertTo-Json` write) is read block by
/// block and parsed item by item, so a 200 MB `applications.json` is never held whole as
/// text beside its parsed items. Any other envelope, a UTF-16 file, or anything the block
/// reader does not accept falls back to [`parse_items`] on the whole text, whose errors
/// carry line, column and JSON path: both paths accept exactly the same files and give the
/// same items.
pub fn read_items<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, LoadError> {
    // One batch of every item, moved out whole at the end.
    let mut items = Vec::new();
    let streamed = stream_items(path, usize::MAX, |all| {
        items = all;
        ControlFlow::Continue(())
    });
    match streamed {
        // (This sink never stops the reading.)
        Streamed::Done | Streamed::Stopped => Ok(items),
        Streamed::Whole(read) => read,
    }
}

/// How [`stream_items`] ended.
#[derive(Debug)]
pub enum Streamed<T> {
    /// Every item went to the sink.
    Done,
    /// The sink stopped the reading.
    Stopped,
    /// The file is not a top-level array the block reader takes (another envelope, UTF-16,
    /// or broken): this is [`read_items`]'s result for it. Items the sink already had must
    /// be discarded; these are all of them.
    Whole(Result<Vec<T>, LoadError>),
}

/// Like [`read_items`], but gives the items of a top-level array to `sink` in file order,
/// `batch` at a time, while the file is still being read: a large `applications.json` can
/// be processed on another core as it is parsed. `sink` may stop the reading.
pub fn stream_items<T: DeserializeOwned>(
    path: &Path,
    batch: usize,
    mut sink: impl FnMut(Vec<T>) -> ControlFlow<()>,
) -> Streamed<T> {
    let mut pending = Vec::new();
    let read = read_array_blocks(path, BLOCK, &mut |element: Vec<T>| {
        pending.extend(element);
        if pending.len() >= batch {
            sink(std::mem::take(&mut pending))
        } else {
            ControlFlow::Continue(())
        }
    });
    match read {
        Ok(Blocks::Read) => {
            if !pending.is_empty() && sink(pending).is_break() {
                return Streamed::Stopped;
            }
            Streamed::Done
        }
        Ok(Blocks::Stopped) => Streamed::Stopped,
        Ok(Blocks::Unusual) => {
            Streamed::Whole(super::read_text(path).and_then(|text| parse_items(path, &text)))
        }
        Err(e) => Streamed::Whole(Err(LoadError::io(path, e))),
    }
}

/// How the block reader ended.
enum Blocks {
    /// The whole array went to the sink.
    Read,
    /// The sink stopped it.
    Stopped,
    /// Not a plain top-level array, or not valid in a way the whole-text parser should
    /// describe.
    Unusual,
}

/// Reads a top-level array block by block, giving each element's items to `sink`.
fn read_array_blocks<T: DeserializeOwned>(
    path: &Path,
    block: usize,
    sink: &mut dyn FnMut(Vec<T>) -> ControlFlow<()>,
) -> std::io::Result<Blocks> {
    use std::io::Read;

    let mut file = std::fs::File::open(path)?;
    // A file smaller than a block gets a buffer of its own size (and a byte for the
    // end-of-file read): most export files are a few kilobytes.
    let size = file.metadata().map_or(block, |m| {
        usize::try_from(m.len()).map_or(block, |len| len.saturating_add(1))
    });
    let mut buf: Vec<u8> = Vec::with_capacity(size.min(block));
    let mut eof = false;
    while buf.len() < 3 && !eof {
        eof = fill(&mut file, &mut buf, block)?;
    }
    let mut pos = if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    loop {
        pos = skip_whitespace(&buf, pos);
        if pos < buf.len() || eof {
            break;
        }
        eof = fill(&mut file, &mut buf, block)?;
    }
    if buf.get(pos) != Some(&b'[') {
        // Empty, an object, a page, UTF-16, or not JSON: the whole-text path decides.
        return Ok(Blocks::Unusual);
    }
    pos += 1;
    let mut expect = Expect::FirstElement;
    loop {
        // The block as text, validated once; a character cut at its end waits for the
        // next block.
        let text = match std::str::from_utf8(&buf) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() && !eof => {
                std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return Ok(Blocks::Unusual),
        };
        let bytes = text.as_bytes();
        while expect != Expect::Nothing {
            pos = skip_whitespace(bytes, pos);
            let Some(&next) = bytes.get(pos) else {
                break;
            };
            match (expect, next) {
                (Expect::Separator, b',') => expect = Expect::Element,
                (Expect::Separator | Expect::FirstElement, b']') => expect = Expect::Nothing,
                // (`Nothing` never gets here: the loop ends when the array closes.)
                (Expect::Separator | Expect::Nothing, _) => return Ok(Blocks::Unusual),
                (Expect::FirstElement | Expect::Element, _) => {
                    // One element: an item, or a page of items.
                    let mut stream =
                        serde_json::Deserializer::from_str(&text[pos..]).into_iter::<Element<T>>();
                    match stream.next() {
                        Some(Ok(element)) => {
                            pos += stream.byte_offset();
                            if sink(element.0).is_break() {
                                return Ok(Blocks::Stopped);
                            }
                            expect = Expect::Separator;
                            continue;
                        }
                        // The element runs past the block: read on.
                        Some(Err(e)) if e.is_eof() && !eof => break,
                        _ => return Ok(Blocks::Unusual),
                    }
                }
            }
            pos += 1;
        }
        if expect == Expect::Nothing {
            break;
        }
        if eof {
            // The array never closes: truncated.
            return Ok(Blocks::Unusual);
        }
        // Keep what is not parsed yet (an element cut off at the end), then read on: at least
        // as much again, so an element larger than a block is parsed a few times, not once
        // per block.
        buf.drain(..pos);
        pos = 0;
        let more = block.max(buf.len());
        eof = fill(&mut file, &mut buf, more)?;
    }
    // Only whitespace may follow the array.
    let rest_is_blank = |b: &[u8]| b.iter().all(u8::is_ascii_whitespace);
    if !rest_is_blank(&buf[pos..]) {
        return Ok(Blocks::Unusual);
    }
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    Ok(if rest_is_blank(&tail) {
        Blocks::Read
    } else {
        Blocks::Unusual
    })
}

fn skip_whitespace(buf: &[u8], mut pos: usize) -> usize {
    while buf.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    pos
}

/// What may come next inside the top-level array.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Just after `[`: an element or `]`.
    FirstElement,
    /// After a comma: an element (`[1,]` is not JSON).
    Element,
    /// After an element: a comma or `]`.
    Separator,
    /// The array is closed.
    Nothing,
}

/// Appends up to `more` bytes to `buf`; true at end of file.
fn fill(file: &mut std::fs::File, buf: &mut Vec<u8>, more: usize) -> std::io::Result<bool> {
    use std::io::Read;
    // `read_to_end` on a `take` reads until the limit or the end of the file.
    let read = file.by_ref().take(more as u64).read_to_end(buf)?;
    Ok(read < more)
}

/// The items of one element of a top-level array: an item, or a Graph page of items.
struct Element<T>(Vec<T>);

impl<'de, T: DeserializeOwned> de::Deserialize<'de> for Element<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::with_capacity(1);
        DeserializeSeed::deserialize(
            Envelope {
                out: &mut out,
                level: Level::ArrayElement,
                shape: None,
            },
            d,
        )?;
        Ok(Element(out))
    }
}

/// Turns a serde_json error into one that names the file, the position and, when the
/// document is well-formed JSON, the JSON path of the value that did not fit.
fn syntax_error<T: DeserializeOwned>(path: &Path, text: &str, err: serde_json::Error) -> LoadError {
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
    LoadError::Syntax {
        path: path.to_path_buf(),
        line: err.line(),
        column: err.column(),
        message,
    }
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
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The envelope a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One bare object (a manifest, or `ConvertTo-Json` of a single item).
    Object,
    /// An array of objects, a Graph page, or an array of pages.
    List,
}

/// All items of one file, flattened out of whatever envelope they came in.
pub struct Items<T> {
    pub items: Vec<T>,
    pub shape: Shape,
}

impl<'de, T: DeserializeOwned> de::Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut items = Vec::new();
        let mut shape = Shape::List;
        d.deserialize_any(Envelope {
            out: &mut items,
            level: Level::Top,
            shape: Some(&mut shape),
        })?;
        Ok(Items { items, shape })
    }
}

/// Where in the envelope the visitor is: the document itself, an element of a top-level
/// array (an item or a page), or an element of a page's `value` (always an item).
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    ArrayElement,
    PageElement,
}

struct Envelope<'a, T> {
    out: &'a mut Vec<T>,
    level: Level,
    /// Set at the top level only: records whether the document was a bare object.
    shape: Option<&'a mut Shape>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Envelope<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.level {
            Level::Top => f.write_str(
                "an array, an object or a Graph page {\"value\": [...]} (or an array of pages)",
            ),
            Level::ArrayElement => f.write_str("an object or a Graph page {\"value\": [...]}"),
            Level::PageElement => f.write_str("an object"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let next = match self.level {
            Level::Top => Level::ArrayElement,
            Level::ArrayElement | Level::PageElement => {
                return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
            }
        };
        if let Some(n) = seq.size_hint() {
            self.out.reserve(n);
        }
        while seq
            .next_element_seed(Envelope {
                out: &mut *self.out,
                level: next,
                shape: None,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.level == Level::PageElement {
            self.out
                .push(T::deserialize(MapAccessDeserializer::new(map))?);
            return Ok(());
        }
        // Graph puts "@odata.context" (and on pages "@odata.nextLink") before the payload,
        // also on single entities, so those keys say nothing about the envelope. The first
        // other key does: "value" means a page, anything else an object.
        while let Some(key) = map.next_key::<String>()? {
            if key.starts_with("@odata.") {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if key == "value" {
                map.next_value_seed(Envelope {
                    out: &mut *self.out,
                    level: Level::PageElement,
                    shape: None,
                })?;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    map.next_value::<IgnoredAny>()?;
                }
                return Ok(());
            }
            if let Some(shape) = self.shape {
                *shape = Shape::Object;
            }
            let rest = Pushback {
                first: Some(key),
                inner: map,
            };
            self.out
                .push(T::deserialize(MapAccessDeserializer::new(rest))?);
            return Ok(());
        }
        // `{}` or an object with only "@odata.*" keys: an entity with no properties.
        if let Some(shape) = self.shape {
            *shape = Shape::Object;
        }
        self.out
            .push(T::deserialize(MapAccessDeserializer::new(Pushback::<A> {
                first: None,
                inner: map,
            }))?);
        Ok(())
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Envelope<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.level {
            // A page's "value" must be an array of objects.
            Level::PageElement => d.deserialize_seq(PageValue {
                out: self.out,
                _t: PhantomData,
            }),
            _ => d.deserialize_any(self),
        }
    }
}

/// The array under a page's "value" key.
struct PageValue<'a, T> {
    out: &'a mut Vec<T>,
    _t: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for PageValue<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array under \"value\"")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.out.reserve(n);
        }
        while seq
            .next_element_seed(PageItem {
                out: &mut *self.out,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct PageItem<'a, T> {
    out: &'a mut Vec<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for PageItem<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Envelope {
            out: self.out,
            level: Level::PageElement,
            shape: None,
        })
    }
}

/// A map whose first key has already been read: hands that key out again, then the rest.
struct Pushback<A> {
    first: Option<String>,
    inner: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Pushback<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => self.inner.next_key_seed(seed),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::path::PathBuf;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Obj {
        id: String,
        #[serde(default)]
        n: Option<u32>,
    }

    fn items(text: &str) -> Result<Vec<Obj>, LoadError> {
        parse_items(&PathBuf::from("t.json"), text)
    }

    fn ids(text: &str) -> Vec<String> {
        items(text).unwrap().into_iter().map(|o| o.id).collect()
    }

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

    #[test]
    fn truncated_and_empty_files_are_errors() {
        let err = items("[{\"id\": \"a\"},").unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(matches!(items("  \n"), Err(LoadError::Empty { .. })));
        assert!(items("\"text\"").is_err());
        assert!(items("[[{\"id\":\"a\"}]]").is_err());
        assert!(items("{\"value\": {\"id\": \"a\"}}").is_err());
    }

    #[test]
    fn boms_and_utf16_are_decoded() {
        let p = PathBuf::from("t.json");
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice(b"[]");
        assert_eq!(decode_text(&p, utf8).unwrap(), "[]");
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "{\"id\":\"é\"}".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&p, utf16).unwrap(), "{\"id\":\"é\"}");
        let err = decode_text(&p, b"[\n\"\xff\"]".to_vec()).unwrap_err();
        assert!(err.to_string().starts_with("t.json:2:2"), "{err}");
    }

    /// The block reader and the whole-text parser agree at every block size, including blocks
    /// that cut an element, a string, an escape or a UTF-8 character: the same items for a
    /// plain array, and a hand-over to the whole-text parser (`None`) for anything else.
    #[test]
    fn block_reader_agrees_with_the_whole_text_parser() {
        let cases: &[(&[u8], Option<&[&str]>)] = &[
            (b"[]", Some(&[])),
            (b"  [ \n ]  \n", Some(&[])),
            (br#"[{"id":"a"},{"id":"b","n":2}]"#, Some(&["a", "b"])),
            ("\u{feff}[ {\"id\":\"é€\"} ]".as_bytes(), Some(&["é€"])),
            (
                br#"[{"id":"a\"],{"}, {"id":"b\\"}]"#,
                Some(&["a\"],{", "b\\"]),
            ),
            (
                br#"[{"value":[{"id":"a"}],"@odata.nextLink":"y"},{"value":[]},{"id":"c"}]"#,
                Some(&["a", "c"]),
            ),
            (br#"[{"id":"a","x":{"y":[1,2,{"z":"]}"}]}}]"#, Some(&["a"])),
            (br#"[{"value":[]}]"#, Some(&[])),
            (br#"[{"id":"a"},]"#, None),
            (br#"[,{"id":"a"}]"#, None),
            (br#"[{"id":"a"} {"id":"b"}]"#, None),
            (br#"[{"id":"a"}] x"#, None),
            (br#"[{"id":"a"}"#, None),
            (br#"[{"id":"a"},"#, None),
            (b"[1]", None),
            (br#"[[{"id":"a"}]]"#, None),
            (b"[{\"id\":\"a\",\"x\":\"\xff\"}]", None),
            (b"[{\"id\":\"a\"}]\xff", None),
            (br#"[{"id":1}]"#, None),
            (br#"{"id":"a"}"#, None),
            (br#"{"value":[{"id":"a"}]}"#, None),
            (b"", None),
            (b"   ", None),
        ];
        let dir = std::env::temp_dir().join(format!("m365audit-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (k, (bytes, expected)) in cases.iter().enumerate() {
            let path = dir.join(format!("{k}.json"));
            std::fs::write(&path, bytes).unwrap();
            let whole = crate::source::read_text(&path).and_then(|t| parse_items::<Obj>(&path, &t));
            if let Some(ids) = expected {
                let whole: Vec<String> = whole
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|o| o.id.clone())
                    .collect();
                assert_eq!(&whole, ids, "case {k}: the whole-text parser");
            }
            for block in 1..=bytes.len() + 2 {
                let mut ids = Vec::new();
                let read = read_array_blocks::<Obj>(&path, block, &mut |items| {
                    ids.extend(items.into_iter().map(|o| o.id));
                    ControlFlow::Continue(())
                })
                .unwrap();
                let read = matches!(read, Blocks::Read).then_some(ids);
                assert_eq!(
                    read.as_deref(),
                    expected
                        .map(|ids| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                        .as_deref(),
                    "case {k}, block {block}"
                );
            }
            // And whatever path it takes, `read_items` gives the whole-text result.
            let whole = whole
                .map(|items| items.into_iter().map(|o| o.id).collect::<Vec<_>>())
                .map_err(|e| e.to_string());
            let read = read_items::<Obj>(&path);
            let read = read.map(|items| items.into_iter().map(|o| o.id).collect::<Vec<_>>());
            assert_eq!(read.map_err(|e| e.to_string()), whole, "case {k}");
            // So does `stream_items`, in batches of at most `batch`, or as the whole-text
            // result (with whatever it streamed before to be discarded).
            for batch in [1, 2, 100] {
                let mut ids = Vec::new();
                let streamed = stream_items::<Obj>(&path, batch, |items| {
                    assert!(items.len() <= batch && !items.is_empty(), "case {k}");
                    ids.extend(items.into_iter().map(|o| o.id));
                    ControlFlow::Continue(())
                });
                let streamed = match streamed {
                    Streamed::Done => Ok(ids),
                    Streamed::Whole(read) => {
                        read.map(|items| items.into_iter().map(|o| o.id).collect())
                    }
                    Streamed::Stopped => panic!("case {k}: the sink never stops"),
                };
                assert_eq!(
                    streamed.map_err(|e| e.to_string()),
                    whole,
                    "case {k}, batch {batch}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_sink_stops_the_stream() {
        #[derive(Deserialize)]
        struct Obj {
            id: String,
        }
        let dir = std::env::temp_dir().join(format!("m365audit-stop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        std::fs::write(&path, br#"[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"d"}]"#).unwrap();
        let mut seen = Vec::new();
        let streamed = stream_items::<Obj>(&path, 2, |items| {
            seen.extend(items.into_iter().map(|o| o.id));
            ControlFlow::Break(())
        });
        assert!(matches!(streamed, Streamed::Stopped));
        assert_eq!(seen, ["a", "b"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
