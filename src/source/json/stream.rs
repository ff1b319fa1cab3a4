//! The block reader: a top-level array read block by block and parsed element by element,
//! so that a 200 MB `applications.json` is never held whole as text beside its items, and
//! its items can be processed while it is read.

use std::ops::ControlFlow;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::envelope::Element;
use super::spellings::{Retried, Spellings};
use super::whole::parse_items;
use crate::source::LoadError;

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

/// Whether the file looks like a top-level array [`stream_items`] can stream: after an
/// optional UTF-8 byte order mark and whitespace, its first byte is `[`. A page, another
/// envelope or UTF-16 is read whole; knowing that before streaming spares a reader that has
/// side effects (writing findings as they come) an attempt that would be thrown away.
pub fn starts_as_array(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    let read = std::fs::File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    if read.is_err() {
        // The reading proper reports the error.
        return true;
    }
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&head);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(&b) => b == b'[',
        // Only whitespace so far: let the block reader decide.
        None => true,
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
            crate::source::read_text(path).and_then(|text| parse_items(path, text, warnings)),
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

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use serde::Deserialize;

    use super::*;
    use crate::source::json::tests::Obj;

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
}
