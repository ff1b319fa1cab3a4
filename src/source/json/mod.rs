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
//!
//! The files, from the bytes up:
//!
//! - `decode`: a file's bytes to text (UTF-8 or UTF-16, with or without a BOM).
//! - `envelope`: the visitor that recognises the envelope and hands out the items.
//! - `whole`: the whole-text parser, for a document held in memory.
//! - `stream`: the block reader, for a top-level array read block by block.
//! - `error`: serde_json's errors as file, line, column and JSON path, with hints.
//! - `spellings`: two spellings of one property in one object, resolved after a refusal.
//! - `probe`: what the item types accept, learnt from the types, for `spellings`.

mod decode;
mod envelope;
mod error;
mod probe;
mod spellings;
mod stream;
mod whole;

pub use decode::decode_text;
pub use envelope::{Items, Shape};
pub(in crate::source) use error::strip_position;
pub use stream::{Streamed, read_items, starts_as_array, stream_items};
pub use whole::{parse_items, parse_items_with_shape};

/// What the tests of the files here share: an item type, and the whole-text parser's items
/// of a text.
#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde::Deserialize;

    use crate::source::LoadError;
    use crate::source::json::parse_items;

    #[derive(Debug, Deserialize, PartialEq)]
    pub(super) struct Obj {
        #[serde(alias = "Id")]
        pub(super) id: String,
        #[serde(default)]
        pub(super) n: Option<u32>,
    }

    pub(super) fn items(text: &str) -> Result<Vec<Obj>, LoadError> {
        parse_items(&PathBuf::from("t.json"), text.to_string(), &mut Vec::new())
    }

    pub(super) fn ids(text: &str) -> Vec<String> {
        items(text).unwrap().into_iter().map(|o| o.id).collect()
    }
}
