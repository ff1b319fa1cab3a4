//! Reading the JSON files of an export: text decoding, the envelopes Microsoft tools wrap
//! objects in, and error positions that point at the offending line and column.
//!
//! Every file may be a bare array, a single object (what PowerShell's `ConvertTo-Json` writes
//! for a one-item pipeline), a Graph page `{"value": [...]}` or an array of such pages. The
//! envelope is recognised while parsing, in one pass, so a 100k-item page is never buffered
//! twice.
//!
//! An object may give one property in two of the spellings the snapshot types accept
//! (`RecipientFilter` and `RecipientRestrictionFilter`, `appId` and `AppId`): serde refuses
//! that as a duplicate field. Only then, so that files without it cost nothing more, the
//! refused file (or array element) is looked at object by object: of each property, the
//! spelling that comes first in the object is used and the others are removed. Equal values
//! are harmless; different ones are a warning that names the file, the item, the spellings
//! and the one used. The same spelling twice stays an error: that is one name given two
//! values, and the tool does not pick.

use std::fmt;
use std::ops::{ControlFlow, Range};
use std::path::Path;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess,
    SeqAccess, Visitor,
};
use serde_json::value::RawValue;

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
/// same items and warnings.
pub fn read_items<T: DeserializeOwned>(
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<T>, LoadError> {
    // One batch of every item, moved out whole at the end.
    let mut items = Vec::new();
    let streamed = stream_items(path, usize::MAX, warnings, |all| {
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
/// be processed on another core as it is parsed. `sink` may stop the reading. The file's
/// warnings go to `warnings` once it is read (or stopped): those of a stream that turns out
/// [`Streamed::Whole`] are dropped with its items.
pub fn stream_items<T: DeserializeOwned>(
    path: &Path,
    batch: usize,
    warnings: &mut Vec<String>,
    mut sink: impl FnMut(Vec<T>) -> ControlFlow<()>,
) -> Streamed<T> {
    let mut pending = Vec::new();
    let mut streamed_warnings = Vec::new();
    let read = read_array_blocks(path, BLOCK, &mut streamed_warnings, &mut |element: Vec<
        T,
    >| {
        pending.extend(element);
        if pending.len() >= batch {
            sink(std::mem::take(&mut pending))
        } else {
            ControlFlow::Continue(())
        }
    });
    match read {
        Ok(Blocks::Read) => {
            warnings.append(&mut streamed_warnings);
            if !pending.is_empty() && sink(pending).is_break() {
                return Streamed::Stopped;
            }
            Streamed::Done
        }
        Ok(Blocks::Stopped) => {
            warnings.append(&mut streamed_warnings);
            Streamed::Stopped
        }
        Ok(Blocks::Unusual) => Streamed::Whole(
            super::read_text(path).and_then(|text| parse_items(path, text, warnings)),
        ),
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

/// Reads a top-level array block by block, giving each element's items to `sink` and the
/// warnings about them to `warnings`.
fn read_array_blocks<T: DeserializeOwned>(
    path: &Path,
    block: usize,
    warnings: &mut Vec<String>,
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
    // Items given to `sink` so far: warnings number items in the file.
    let mut seen = 0;
    // The fields of `T`, worked out the first time an element is refused.
    let mut spellings = None;
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
                    let element = match stream.next() {
                        Some(Ok(element)) => {
                            pos += stream.byte_offset();
                            element.0
                        }
                        // The element runs past the block: read on.
                        Some(Err(e)) if e.is_eof() && !eof => break,
                        // Refused: perhaps for two spellings of one property.
                        Some(Err(e)) if e.is_data() => {
                            let spellings = spellings.get_or_insert_with(Spellings::of::<T>);
                            match spellings.retry_element(path, &text[pos..], seen, eof) {
                                Retried::Items {
                                    items,
                                    len,
                                    warnings: element_warnings,
                                } => {
                                    pos += len;
                                    warnings.extend(element_warnings);
                                    items
                                }
                                Retried::ReadOn => break,
                                Retried::Refused => return Ok(Blocks::Unusual),
                            }
                        }
                        _ => return Ok(Blocks::Unusual),
                    };
                    seen += element.len();
                    if sink(element).is_break() {
                        return Ok(Blocks::Stopped);
                    }
                    expect = Expect::Separator;
                    continue;
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

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Element<T> {
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

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
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

/// What the envelope does with each item it finds: the items of a file are deserialized,
/// and [`Spellings`] looks at their properties.
trait Sink<'de> {
    /// Room for `n` more items.
    fn reserve(&mut self, _n: usize) {}

    /// One item: `d` gives an object.
    fn item<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error>;
}

impl<'de, T: Deserialize<'de>> Sink<'de> for Vec<T> {
    fn reserve(&mut self, n: usize) {
        Vec::reserve(self, n);
    }

    fn item<D: Deserializer<'de>>(&mut self, d: D) -> Result<(), D::Error> {
        self.push(T::deserialize(d)?);
        Ok(())
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

struct Envelope<'a, S> {
    out: &'a mut S,
    level: Level,
    /// Set at the top level only: records whether the document was a bare object.
    shape: Option<&'a mut Shape>,
}

impl<'de, S: Sink<'de>> Visitor<'de> for Envelope<'_, S> {
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
            return self.out.item(MapAccessDeserializer::new(map));
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
            return self.out.item(MapAccessDeserializer::new(rest));
        }
        // `{}` or an object with only "@odata.*" keys: an entity with no properties.
        if let Some(shape) = self.shape {
            *shape = Shape::Object;
        }
        self.out.item(MapAccessDeserializer::new(Pushback::<A> {
            first: None,
            inner: map,
        }))
    }
}

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Envelope<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.level {
            // A page's "value" must be an array of objects.
            Level::PageElement => d.deserialize_seq(PageValue { out: self.out }),
            _ => d.deserialize_any(self),
        }
    }
}

/// The array under a page's "value" key.
struct PageValue<'a, S> {
    out: &'a mut S,
}

impl<'de, S: Sink<'de>> Visitor<'de> for PageValue<'_, S> {
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

struct PageItem<'a, S> {
    out: &'a mut S,
}

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for PageItem<'_, S> {
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

/// The fields of an item type and of the types nested in it, by spelling: what tells two
/// spellings of one property from two properties.
///
/// Nothing here lists spellings by hand: such a list would repeat the `#[serde(rename,
/// alias)]` attributes of the snapshot types and drift from them. The types say it
/// themselves, to a deserializer that asks: serde_derive passes every spelling of every field
/// (names and aliases) to `Deserializer::deserialize_struct` as its `fields`, and a derived
/// visitor that is given one field twice names it in `Error::duplicate_field`. So [`Probe`]
/// learns the field of each spelling by offering that spelling twice. A field whose value is
/// a struct (in an `Option`, a `Vec` or a `Box`) is followed the same way, so objects nested
/// in an item are covered too. `tests::spellings_follow_the_serde_attributes` holds this to
/// what serde_json does with each raw snapshot type.
struct Spellings {
    /// `types[0]` is the item type; empty when it is not a derived struct.
    types: Vec<Fields>,
}

/// One struct type's fields.
struct Fields {
    /// The struct's name and all its spellings, as serde gives them: they tell the types
    /// apart (a type nested in itself, such as an application template's application).
    name: &'static str,
    all: &'static [&'static str],
    /// Each spelling with the field it fills, named as serde names it.
    field_of: Vec<(&'static str, &'static str)>,
    /// Fields whose value is an object of `types[index]`, or an array of them.
    nested: Vec<(&'static str, usize)>,
}

impl Fields {
    fn new(name: &'static str, all: &'static [&'static str]) -> Fields {
        Fields {
            name,
            all,
            field_of: Vec::new(),
            nested: Vec::new(),
        }
    }

    fn field(&self, spelling: &str) -> Option<&'static str> {
        self.field_of
            .iter()
            .find(|(s, _)| *s == spelling)
            .map(|&(_, field)| field)
    }

    fn nested(&self, field: &str) -> Option<usize> {
        self.nested
            .iter()
            .find(|(f, _)| *f == field)
            .map(|&(_, index)| index)
    }
}

/// How deep in an item nested objects are looked at. Real items nest objects three deep at
/// most (an application template's application's credentials), but two types nest in
/// themselves (that application, an owner's `AdditionalProperties`), so a file could go on
/// without end: deeper than this, serde's refusal stands.
const NESTED_DEPTH: usize = 8;

impl Spellings {
    /// Asks `T` (a few hundred probes without JSON: microseconds), only once a file or an
    /// element has been refused.
    fn of<T: DeserializeOwned>() -> Spellings {
        let mut types = Vec::new();
        let Err(Probed::Struct(name, all)) = T::deserialize(Probe::new(&[], Goal::Fields)) else {
            return Spellings { types };
        };
        types.push(Fields::new(name, all));
        // Types still to probe, with the keys that lead to them from the item.
        let mut pending = vec![(0, Vec::new())];
        while let Some((index, keys)) = pending.pop() {
            let Some(all) = types.get(index).map(|t: &Fields| t.all) else {
                continue;
            };
            for &spelling in all {
                let Err(Probed::Field(field)) =
                    T::deserialize(Probe::new(&keys, Goal::Twice(spelling)))
                else {
                    continue;
                };
                let Some(fields) = types.get_mut(index) else {
                    continue;
                };
                // Another spelling of a field already followed.
                let followed = fields.field(field).is_some();
                fields.field_of.push((spelling, field));
                if followed {
                    continue;
                }
                let mut down = keys.clone();
                down.push(spelling);
                let Err(Probed::Struct(name, all)) =
                    T::deserialize(Probe::new(&down, Goal::Fields))
                else {
                    continue;
                };
                let nested = match types.iter().position(|t| t.name == name && t.all == all) {
                    Some(known) => known,
                    None => {
                        types.push(Fields::new(name, all));
                        pending.push((types.len() - 1, down));
                        types.len() - 1
                    }
                };
                if let Some(fields) = types.get_mut(index) {
                    fields.nested.push((field, nested));
                }
            }
        }
        Spellings { types }
    }

    /// Looks at every item of `text` (a document at `level`; its first item is item
    /// `first` of the file): of each property given in several spellings, the first is
    /// kept and the others are to be removed. `None` when there is nothing to remove, or
    /// `text` is not JSON the envelope takes: then serde's refusal stands.
    fn resolve(&self, path: &Path, text: &str, level: Level, first: usize) -> Option<Resolved> {
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
    fn retry_element<T: DeserializeOwned>(
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
enum Retried<T> {
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
struct Resolved {
    /// Byte ranges of the text to remove: each a later spelling with its value, and the
    /// comma before it.
    blanks: Vec<Range<usize>>,
    warnings: Vec<String>,
}

impl Resolved {
    /// `text` with every range to remove turned into spaces (line breaks kept), so that
    /// every other byte keeps its offset, line and column.
    fn apply(&self, text: String) -> String {
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

/// A deserializer that answers only what a derived struct asks, to learn its fields: it
/// walks down `keys` (one key per struct, through `Option`, `Vec` and `Box`), then does
/// `goal` at the struct it reaches. Any other question is [`Probed::Other`].
#[derive(Clone, Copy)]
struct Probe<'k> {
    keys: &'k [&'static str],
    goal: Goal,
}

#[derive(Clone, Copy)]
enum Goal {
    /// Answers with the struct's name and spellings.
    Fields,
    /// Gives the struct this spelling twice (with null values), for the field it fills.
    Twice(&'static str),
}

impl<'k> Probe<'k> {
    fn new(keys: &'k [&'static str], goal: Goal) -> Self {
        Probe { keys, goal }
    }
}

/// What a probe learnt, carried out as the deserializer's error.
#[derive(Debug)]
enum Probed {
    Struct(&'static str, &'static [&'static str]),
    Field(&'static str),
    Other,
}

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Probed::Struct(name, _) => write!(f, "the struct {name}"),
            Probed::Field(field) => write!(f, "the field {field}"),
            Probed::Other => f.write_str("not a struct's field"),
        }
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Probed::Other
    }

    fn duplicate_field(field: &'static str) -> Self {
        Probed::Field(field)
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed::Other)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Probed> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Probed> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Probed> {
        visitor.visit_seq(Once(Some(self)))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Probed> {
        match (self.keys.split_first(), self.goal) {
            (Some((&key, keys)), goal) => visitor.visit_map(Down {
                key: Some(key),
                value: Probe { keys, goal },
            }),
            (None, Goal::Fields) => Err(Probed::Struct(name, fields)),
            (None, Goal::Twice(spelling)) => visitor.visit_map(Twice { spelling, left: 2 }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct map enum identifier ignored_any
    }
}

/// A struct with one key, whose value probes on.
struct Down<'k> {
    key: Option<&'static str>,
    value: Probe<'k>,
}

impl<'de> MapAccess<'de> for Down<'_> {
    type Error = Probed;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Probed> {
        self.key
            .take()
            .map(|key| seed.deserialize(key.into_deserializer()))
            .transpose()
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Probed> {
        seed.deserialize(self.value)
    }
}

/// A struct with one spelling twice, each with a [`Blank`] value: the second is serde's
/// duplicate.
struct Twice {
    spelling: &'static str,
    left: u8,
}

impl<'de> MapAccess<'de> for Twice {
    type Error = Probed;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Probed> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(self.spelling.into_deserializer())
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Probed> {
        seed.deserialize(Blank)
    }
}

/// A value every field of the snapshot types takes: null for an `Option` (they all are), and
/// `""` for anything else, which a `String` takes. A field of another type that is not an
/// `Option` cannot be probed: its spellings are not placed, and two of them in one object
/// stay refused (`spellings_follow_the_serde_attributes` would say so).
struct Blank;

impl<'de> Deserializer<'de> for Blank {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Probed> {
        visitor.visit_str("")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Probed> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A sequence of one element, which probes on.
struct Once<'k>(Option<Probe<'k>>);

impl<'de> SeqAccess<'de> for Once<'_> {
    type Error = Probed;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Probed> {
        self.0
            .take()
            .map(|probe| seed.deserialize(probe))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::path::PathBuf;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Obj {
        #[serde(alias = "Id")]
        id: String,
        #[serde(default)]
        n: Option<u32>,
    }

    fn items(text: &str) -> Result<Vec<Obj>, LoadError> {
        parse_items(&PathBuf::from("t.json"), text.to_string(), &mut Vec::new())
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
            // Two spellings of one property: the first is used, equal or not.
            (br#"[{"id":"a","Id":"a"},{"Id":"b","n":1,"id":"c"}]"#, Some(&["a", "b"])),
            (
                b"[{\"value\":[{\"id\":\"a\",\n\"Id\":\"x\"}]},{\"n\":1,\"Id\":\"b\",\"id\":\"y\"}]",
                Some(&["a", "b"]),
            ),
            // The same spelling twice is one name with two values: refused.
            (br#"[{"id":"a","id":"a"}]"#, None),
            (br#"[{"id":"a","Id":"b","id":"c"}]"#, None),
            (br#"[{"id":"a","Id":"b"},{"id":1}]"#, None),
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
            let mut whole_warnings = Vec::new();
            let whole = crate::source::read_text(&path)
                .and_then(|t| parse_items::<Obj>(&path, t, &mut whole_warnings));
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
                let mut warnings = Vec::new();
                let read = read_array_blocks::<Obj>(&path, block, &mut warnings, &mut |items| {
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
                if read.is_some() {
                    assert_eq!(warnings, whole_warnings, "case {k}, block {block}");
                }
            }
            // And whatever path it takes, `read_items` gives the whole-text result.
            let whole = whole
                .map(|items| items.into_iter().map(|o| o.id).collect::<Vec<_>>())
                .map_err(|e| e.to_string());
            let mut warnings = Vec::new();
            let read = read_items::<Obj>(&path, &mut warnings);
            let read = read.map(|items| items.into_iter().map(|o| o.id).collect::<Vec<_>>());
            assert_eq!(read.map_err(|e| e.to_string()), whole, "case {k}");
            assert_eq!(warnings, whole_warnings, "case {k}");
            // So does `stream_items`, in batches of at most `batch`, or as the whole-text
            // result (with whatever it streamed before to be discarded).
            for batch in [1, 2, 100] {
                let mut ids = Vec::new();
                let mut warnings = Vec::new();
                let streamed = stream_items::<Obj>(&path, batch, &mut warnings, |items| {
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
                assert_eq!(warnings, whole_warnings, "case {k}, batch {batch}");
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
        let streamed = stream_items::<Obj>(&path, 2, &mut Vec::new(), |items| {
            seen.extend(items.into_iter().map(|o| o.id));
            ControlFlow::Break(())
        });
        assert!(matches!(streamed, Streamed::Stopped));
        assert_eq!(seen, ["a", "b"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The spellings learnt from each raw snapshot type are serde's own: any two of a type's
    /// spellings are refused together by serde_json exactly when they were found to fill one
    /// field, and every spelling the type accepts was placed.
    #[test]
    fn spellings_follow_the_serde_attributes() {
        use crate::snapshot::*;

        fn holds<T: DeserializeOwned>() -> Spellings {
            let spellings = Spellings::of::<T>();
            let item = &spellings.types[0];
            assert_eq!(item.field_of.len(), item.all.len(), "{}", item.name);
            for fields in &spellings.types {
                assert_eq!(fields.field_of.len(), fields.all.len(), "{}", fields.name);
            }
            for &(a, field_a) in &item.field_of {
                for &(b, field_b) in &item.field_of {
                    if a == b {
                        continue;
                    }
                    let json = format!("{{{a:?}: null, {b:?}: null}}");
                    let refused = serde_json::from_str::<T>(&json)
                        .is_err_and(|e| e.to_string().contains("duplicate field"));
                    assert_eq!(refused, field_a == field_b, "{}: {json}", item.name);
                }
            }
            spellings
        }

        let scopes = holds::<RawManagementScope>();
        let mut filter: Vec<&str> = scopes.types[0]
            .field_of
            .iter()
            .filter(|(_, field)| *field == "RecipientFilter")
            .map(|(spelling, _)| *spelling)
            .collect();
        filter.sort_unstable();
        assert_eq!(
            filter,
            [
                "RecipientFilter",
                "RecipientRestrictionFilter",
                "recipientFilter",
                "recipientRestrictionFilter"
            ]
        );
        let apps = holds::<RawApplication>();
        let nested = |field: &str| apps.types[0].nested(field).map(|i| apps.types[i].name);
        assert_eq!(nested("passwordCredentials"), Some("RawCredential"));
        assert_eq!(nested("keyCredentials"), Some("RawCredential"));
        assert_eq!(nested("web"), Some("RawWeb"));
        // An application template's response nests the application in itself.
        assert_eq!(nested("application"), Some("RawApplication"));
        assert_eq!(nested("displayName"), None);
        holds::<RawServicePrincipal>();
        holds::<RawAppRoleAssignment>();
        holds::<RawOAuth2PermissionGrant>();
        holds::<RawGroup>();
        holds::<RawAccessPolicy>();
        holds::<RawRoleAssignment>();
        holds::<RawExchangeServicePrincipal>();
        holds::<RawCasMailbox>();
        holds::<RawOrganizationConfig>();
        // Not a derived struct: nothing to learn, so nothing is resolved.
        assert!(Spellings::of::<serde_json::Value>().types.is_empty());
    }

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
