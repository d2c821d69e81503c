//! A deserializer that refuses a key repeated in a mapping while the typed value is built.
//!
//! serde_yaml lets a repeated map key silently win, and reports a repeated struct field at the
//! top of the mapping. [`UniqueKeys`] wraps serde_yaml's deserializer and checks each mapping's
//! keys as serde_yaml reads them, so a repeated key is an error raised while serde_yaml still
//! knows the key's position: one pass over the document gives the typed value and the check,
//! where a first pass over the raw document would read the text twice.
//!
//! Every part the typed value skips (`IgnoredAny`) is walked all the same, so a repeated key
//! is found wherever it is.
//!
//! A key is compared as the text serde_yaml hands the typed value, where a first pass over the
//! raw document compares the value YAML reads (`~` and `null` are one key, `1` and `01` too).
//! The two agree for a key that can only be read as text (a word: `company`, `highlight`); any
//! other key is refused with [`UNUSUAL_KEY`], and the caller reads such a file the careful way.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// The message of the error raised for a key that is not a plain word.
pub const UNUSUAL_KEY: &str = "\u{1}followup-unusual-key";

/// Wraps a deserializer so that every mapping under it refuses repeated keys.
pub struct UniqueKeys<D>(pub D);

/// Wraps the visitor of a value.
struct Wrap<V>(V);

/// A deserializer that hands the deserializer it wraps (`$inner`) every request as it is, with
/// the visitor wrapped by `$wrap`; both may use `$this`, the wrapper itself.
macro_rules! wrapping_deserializer {
    ($ty:ty, $this:ident => $inner:expr, $visitor:ident => $wrap:expr) => {
        impl<'de, D: Deserializer<'de>> Deserializer<'de> for $ty {
            type Error = D::Error;

            wrapping_deserializer!(@each $this => $inner, $visitor => $wrap;
                deserialize_any, deserialize_bool, deserialize_i8, deserialize_i16,
                deserialize_i32, deserialize_i64, deserialize_i128, deserialize_u8,
                deserialize_u16, deserialize_u32, deserialize_u64, deserialize_u128,
                deserialize_f32, deserialize_f64, deserialize_char, deserialize_str,
                deserialize_string, deserialize_bytes, deserialize_byte_buf, deserialize_option,
                deserialize_unit, deserialize_seq, deserialize_map, deserialize_identifier);

            /// A skipped value is walked all the same, for the keys in it. `IgnoredAny`
            /// accepts any value, so handing it every value as it is changes nothing it accepts.
            fn deserialize_ignored_any<V: Visitor<'de>>(
                self,
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_any($wrap)
            }

            fn deserialize_unit_struct<V: Visitor<'de>>(
                self,
                name: &'static str,
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_unit_struct(name, $wrap)
            }

            fn deserialize_newtype_struct<V: Visitor<'de>>(
                self,
                name: &'static str,
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_newtype_struct(name, $wrap)
            }

            fn deserialize_tuple<V: Visitor<'de>>(
                self,
                len: usize,
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_tuple(len, $wrap)
            }

            fn deserialize_tuple_struct<V: Visitor<'de>>(
                self,
                name: &'static str,
                len: usize,
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_tuple_struct(name, len, $wrap)
            }

            fn deserialize_struct<V: Visitor<'de>>(
                self,
                name: &'static str,
                fields: &'static [&'static str],
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_struct(name, fields, $wrap)
            }

            fn deserialize_enum<V: Visitor<'de>>(
                self,
                name: &'static str,
                variants: &'static [&'static str],
                $visitor: V,
            ) -> Result<V::Value, D::Error> {
                let $this = self;
                $inner.deserialize_enum(name, variants, $wrap)
            }

            fn is_human_readable(&self) -> bool {
                let $this = self;
                $inner.is_human_readable()
            }
        }
    };
    (@each $this:ident => $inner:expr, $visitor:ident => $wrap:expr; $($method:ident),*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $visitor: V) -> Result<V::Value, Self::Error> {
                let $this = self;
                $inner.$method($wrap)
            }
        )*
    };
}

wrapping_deserializer!(UniqueKeys<D>, this => this.0, visitor => Wrap(visitor));

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.0.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(UniqueKeys(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(UniqueKeys(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Map {
            inner: map,
            seen: HashSet::new(),
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(Enum(data))
    }
}

/// Wraps the seed of a value, so that the value's own deserializer is wrapped.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(UniqueKeys(d))
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A mapping's access, with the text of the scalar keys read so far.
struct Map<A> {
    inner: A,
    seen: HashSet<String>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(KeySeed {
            inner: seed,
            seen: &mut self.seen,
        })
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(Seed(seed))
    }
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct Enum<A>(A);

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
    type Error = A::Error;
    type Variant = Variant<A::Variant>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(Seed(seed))?;
        Ok((value, Variant(variant)))
    }
}

struct Variant<A>(A);

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Variant<A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(visitor))
    }
}

/// The seed of a key: its deserializer is wrapped so that the key's text is checked.
struct KeySeed<'a, K> {
    inner: K,
    seen: &'a mut HashSet<String>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, K> {
    type Value = K::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        self.inner.deserialize(KeyDeserializer {
            inner: d,
            seen: self.seen,
        })
    }
}

struct KeyDeserializer<'a, D> {
    inner: D,
    seen: &'a mut HashSet<String>,
}

wrapping_deserializer!(KeyDeserializer<'_, D>, this => this.inner, visitor => Key {
    inner: visitor,
    seen: this.seen,
});

/// The visitor of a key: a scalar key's text is checked against the mapping's keys so far
/// before the key is handed on. A complex key (a list or mapping) is walked for its own keys.
struct Key<'a, V> {
    inner: V,
    seen: &'a mut HashSet<String>,
}

impl<V> Key<'_, V> {
    fn check<E: de::Error>(&mut self, text: &str) -> Result<(), E> {
        if !is_word(text) {
            return Err(E::custom(UNUSUAL_KEY));
        }
        if self.seen.contains(text) {
            return Err(E::custom(format!(
                "duplicate key `{text}`: each key may appear once in a mapping; \
                 remove or rename one of them"
            )));
        }
        self.seen.insert(text.to_owned());
        Ok(())
    }
}

macro_rules! checked_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(
            fn $method<E: de::Error>(mut self, v: $ty) -> Result<Self::Value, E> {
                self.check(&v.to_string())?;
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Key<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(f)
    }

    checked_visit!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
    );

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<Self::Value, E> {
        self.check(v)?;
        self.inner.visit_str(v)
    }
    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<Self::Value, E> {
        self.check(v)?;
        self.inner.visit_borrowed_str(v)
    }
    fn visit_string<E: de::Error>(mut self, v: String) -> Result<Self::Value, E> {
        self.check(&v)?;
        self.inner.visit_string(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        self.inner.visit_bytes(v)
    }
    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        self.inner.visit_borrowed_bytes(v)
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
        self.inner.visit_byte_buf(v)
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<Self::Value, E> {
        self.check("null")?;
        self.inner.visit_unit()
    }
    fn visit_none<E: de::Error>(mut self) -> Result<Self::Value, E> {
        self.check("null")?;
        self.inner.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_some(KeyDeserializer {
            inner: d,
            seen: self.seen,
        })
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.visit_newtype_struct(KeyDeserializer {
            inner: d,
            seen: self.seen,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_seq(Seq(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(Map {
            inner: map,
            seen: HashSet::new(),
        })
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_enum(Enum(data))
    }
}

/// Whether YAML can read `key` only as this text, quoted or not: it starts with a letter and is
/// none of the words YAML reads as null or a boolean (in any YAML version, in any case).
fn is_word(key: &str) -> bool {
    const READ_AS_VALUES: [&str; 9] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    key.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && !READ_AS_VALUES
            .iter()
            .any(|word| key.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {

    use serde::Deserialize;

    use super::*;

    use crate::input::yaml::tests::Probe;

    fn one_pass(text: &str) -> Result<Probe, serde_yaml::Error> {
        Probe::deserialize(UniqueKeys(serde_yaml::Deserializer::from_str(text)))
    }

    /// The position and message of a refusal.
    fn refusal(text: &str) -> (usize, usize, String) {
        let e = one_pass(text).unwrap_err();
        let at = e.location().expect("a position");
        (at.line(), at.column(), e.to_string())
    }

    #[test]
    fn repeated_struct_field_is_refused_at_the_second_key() {
        let (line, column, message) = refusal("name: a\nlist: []\nname: b\n");
        assert_eq!((line, column), (3, 1));
        assert!(message.contains("duplicate key `name`"), "{message}");
    }

    #[test]
    fn repeated_map_key_is_refused_at_the_second_key() {
        let (line, column, message) = refusal("name: a\nnotes:\n  x: a\n  x: b\n");
        assert_eq!((line, column), (4, 3));
        assert!(message.contains("duplicate key `x`"), "{message}");
    }

    #[test]
    fn repeated_key_in_a_skipped_value_is_refused() {
        let (line, column, message) = refusal("name: a\nlist:\n  - x: 1\n    z: 2\n    x: 3\n");
        assert_eq!((line, column), (5, 5));
        assert!(message.contains("duplicate key `x`"), "{message}");
    }

    #[test]
    fn repeated_key_under_an_option_is_refused() {
        let (line, _, message) = refusal("name: a\nmaybe:\n  k: a\n  k: b\n");
        assert_eq!(line, 4);
        assert!(message.contains("duplicate key `k`"), "{message}");
    }

    #[test]
    fn the_same_key_in_two_mappings_is_not_repeated() {
        let p =
            one_pass("name: a\nnotes: {k: a}\nlist: [{k: 1}, {k: 2}]\nmaybe: {k: b}\n").unwrap();
        assert_eq!(p.name, "a");
        assert_eq!(p.notes["k"], "a");
        assert_eq!(p.list.len(), 2);
        assert_eq!(p.maybe.unwrap()["k"], "b");
    }

    #[test]
    fn key_that_yaml_reads_as_a_value_is_left_to_the_careful_reading() {
        for text in [
            "name: a\nnotes:\n  ~: x\n",
            "name: a\nnotes:\n  1: x\n",
            "name: a\nnotes:\n  True: x\n",
            "name: a\nlist:\n  - {null: 1}\n",
        ] {
            let message = one_pass(text).unwrap_err().to_string();
            assert!(message.contains(UNUSUAL_KEY), "{text:?}: {message}");
        }
    }

    #[test]
    fn words_are_compared_as_text() {
        assert!(is_word("highlight"));
        assert!(is_word("Grüße"));
        assert!(is_word("_x1"));
        for key in [
            "null", "NULL", "~", "", "1", "01", "-1", ".inf", "true", "No", "y",
        ] {
            assert!(!is_word(key), "{key:?}");
        }
    }
}
