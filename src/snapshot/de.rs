//! Deserialization helpers for the shapes Microsoft tools actually write: dates as ISO 8601
//! or `/Date(ms)/`, nulls that mean "the service default", and properties whose type
//! changed between manifest formats.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::dates::parse_datetime;

/// For `Option<Option<T>>` fields: absent stays `None`, `null` becomes `Some(None)`.
/// Lets a loader tell "the input does not say" from "the input says null".
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An optional date; `null` and absent are both unknown. A string that is not a date is an
/// error at its position rather than a silently unknown date.
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_any(DateVisitor)
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a date (ISO 8601 / RFC 3339 or /Date(ms)/) or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.trim().is_empty() {
            return Ok(None);
        }
        parse_datetime(v).map(Some).ok_or_else(|| {
            E::custom(format_args!(
                "unrecognised date {v:?}: expected ISO 8601 (2026-01-31T12:00:00Z) or /Date(ms)/"
            ))
        })
    }

    /// Windows PowerShell wraps some dates as `{"value": "/Date(...)/", "DateTime": "..."}`.
    /// An object without `value` is not a date: it is refused rather than read as "no date",
    /// which would turn an expiry the file states into an unknown.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("value") {
                found = Some(map.next_value_seed(DateSeed)?);
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        found.ok_or_else(|| {
            de::Error::custom(
                "a date object without \"value\" (Windows PowerShell writes {\"value\": \"/Date(ms)/\", \"DateTime\": ...})",
            )
        })
    }
}

struct DateSeed;

impl<'de> de::DeserializeSeed<'de> for DateSeed {
    type Value = Option<DateTime<Utc>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        datetime(d)
    }
}

/// Binary data (`customKeyIdentifier`): Graph writes base64 text, PowerShell's
/// `ConvertTo-Json` an array of byte values. Both become the base64 text, so values from
/// either compare equal; `null` is unknown.
pub fn binary<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("base64 text or an array of byte values")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok((!v.trim().is_empty()).then(|| v.trim().to_string()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            use base64::Engine as _;
            let mut bytes = Vec::new();
            while let Some(b) = seq.next_element::<u8>()? {
                bytes.push(b);
            }
            Ok((!bytes.is_empty())
                .then(|| base64::engine::general_purpose::STANDARD.encode(&bytes)))
        }
    }
    d.deserialize_any(V)
}

/// The oldest Azure AD manifests used `"publicClient": true`; Microsoft Graph uses
/// `"publicClient": {"redirectUris": [...]}`. Same key, two meanings.
#[derive(Debug, Clone)]
pub enum PublicClientField<T> {
    Flag(Option<bool>),
    Platform(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PublicClientField<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = PublicClientField<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object with redirectUris (or, in old manifests, true/false)")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(PublicClientField::Flag(Some(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(PublicClientField::Flag(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(PublicClientField::Flag(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PublicClientField::Platform)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A list of strings, also accepted as one comma-separated string (how
/// `Set-OrganizationConfig -EwsAllowedAppIDs` and some manifests write lists).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringList(pub Vec<String>);

impl<'de> Deserialize<'de> for StringList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings or a comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringList(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StringList::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<Option<String>>()? {
                    out.extend(s);
                }
                Ok(StringList(out))
            }
        }
        d.deserialize_any(V)
    }
}
