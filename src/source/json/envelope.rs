//! The envelopes Microsoft tools wrap objects in, recognised while parsing: a bare array, a
//! single object (what PowerShell's `ConvertTo-Json` writes for a one-item pipeline), a Graph
//! page `{"value": [...]}` or an array of such pages. The visitor hands each item to a
//! [`Sink`]: the items of a file are deserialized, and the spellings pass looks at their
//! properties.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

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
/// and the spellings pass (`spellings.rs`) looks at their properties.
pub(super) trait Sink<'de> {
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
pub(super) enum Level {
    Top,
    ArrayElement,
    PageElement,
}

/// The visitor of an envelope at `level`, which gives the items it finds to `out`.
pub(super) struct Envelope<'a, S> {
    pub(super) out: &'a mut S,
    pub(super) level: Level,
    /// Set at the top level only: records whether the document was a bare object.
    pub(super) shape: Option<&'a mut Shape>,
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

/// The items of one element of a top-level array: an item, or a Graph page of items.
pub(super) struct Element<T>(pub(super) Vec<T>);

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
