//! What the item types accept, learnt from the types themselves: for each struct, every
//! spelling of every field and the field it fills, and which fields hold objects of which
//! struct.
//!
//! Nothing here lists spellings by hand: such a list would repeat the `#[serde(rename,
//! alias)]` attributes of the snapshot types and drift from them. The types say it
//! themselves, to a deserializer that asks: serde_derive passes every spelling of every field
//! (names and aliases) to `Deserializer::deserialize_struct` as its `fields`, and a derived
//! visitor that is given one field twice names it in `Error::duplicate_field`. So [`Probe`]
//! learns the field of each spelling by offering that spelling twice. A field whose value is
//! a struct (in an `Option`, a `Vec` or a `Box`) is followed the same way, so objects nested
//! in an item are covered too. `tests::spellings_follow_the_serde_attributes` holds this to
//! what serde_json does with each raw snapshot type.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

/// One struct type's fields.
pub(super) struct Fields {
    /// The struct's name and all its spellings, as serde gives them: they tell the types
    /// apart (a type nested in itself, such as an application template's application).
    name: &'static str,
    all: &'static [&'static str],
    /// Each spelling with the field it fills, named as serde names it.
    field_of: Vec<(&'static str, &'static str)>,
    /// Fields whose value is an object of the type at `index` (in what [`fields_of`]
    /// gave), or an array of them.
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

    /// The field `spelling` fills, if it is one of the type's spellings.
    pub(super) fn field(&self, spelling: &str) -> Option<&'static str> {
        self.field_of
            .iter()
            .find(|(s, _)| *s == spelling)
            .map(|&(_, field)| field)
    }

    /// The type of the objects `field` holds, if it holds objects: an index in what
    /// [`fields_of`] gave.
    pub(super) fn nested(&self, field: &str) -> Option<usize> {
        self.nested
            .iter()
            .find(|(f, _)| *f == field)
            .map(|&(_, index)| index)
    }
}

/// The fields of `T` (`[0]`) and of every struct type nested in it, learnt by probing; none
/// when `T` is not a derived struct. A few hundred probes without JSON: microseconds.
pub(super) fn fields_of<T: DeserializeOwned>() -> Vec<Fields> {
    let mut types = Vec::new();
    let Err(Probed::Struct(name, all)) = T::deserialize(Probe::new(&[], Goal::Fields)) else {
        return types;
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
            let Err(Probed::Struct(name, all)) = T::deserialize(Probe::new(&down, Goal::Fields))
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
    types
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

    /// The spellings learnt from each raw snapshot type are serde's own: any two of a type's
    /// spellings are refused together by serde_json exactly when they were found to fill one
    /// field, and every spelling the type accepts was placed.
    #[test]
    fn spellings_follow_the_serde_attributes() {
        use crate::snapshot::*;

        fn holds<T: DeserializeOwned>() -> Vec<Fields> {
            let types = fields_of::<T>();
            let item = &types[0];
            assert_eq!(item.field_of.len(), item.all.len(), "{}", item.name);
            for fields in &types {
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
            types
        }

        let scopes = holds::<RawManagementScope>();
        let mut filter: Vec<&str> = scopes[0]
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
        let nested = |field: &str| apps[0].nested(field).map(|i| apps[i].name);
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
        assert!(fields_of::<serde_json::Value>().is_empty());
    }
}
