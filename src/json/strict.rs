//! A deserializer adapter that reads structs only from JSON objects.
//!
//! serde's derived structs also accept an array of their fields in order, so without this
//! `["Sam"]` would pass for a seller and `"time_off": [["2026-12-24T00:00:00Z", ...]]` for
//! a list of intervals: a wrong JSON type the contract refuses. [`Strict`] wraps a
//! deserializer, and everything it hands out (visitors, seeds, map and sequence access),
//! so that at every depth a struct is read with `deserialize_map`, which refuses an array.
//! (Struct variants of enums are read by the inner deserializer as it likes; the API has
//! none.)

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

pub struct Strict<D>(pub D);

macro_rules! forward_deserialize {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(StrictVisitor(visitor))
        }
    )*};
}

/// An integer field also takes a number written with a zero fraction (`500.0`): JSON
/// has one number type, and JSON Schema's `integer` is "a number with zero fractional
/// part", so a client generated from the document may send one. Only where an integer
/// is asked for: an attribute keeps the number as it was sent.
macro_rules! forward_integer {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(IntegerVisitor(StrictVisitor(visitor)))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward_integer!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
    );

    forward_deserialize!(
        deserialize_any,
        deserialize_bool,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_option,
        deserialize_unit,
        deserialize_seq,
        deserialize_map,
        deserialize_identifier,
        deserialize_ignored_any,
    );

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, StrictVisitor(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, StrictVisitor(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, TupleVisitor { inner: visitor, len })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0
            .deserialize_tuple_struct(name, len, TupleVisitor { inner: visitor, len })
    }

    /// The point of the adapter: a struct is a map, never a sequence.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(StrictVisitor(visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, StrictVisitor(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

struct StrictVisitor<V>(V);

macro_rules! forward_visit {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for StrictVisitor<V> {
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

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(StrictAccess(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(StrictAccess(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(StrictAccess(data))
    }
}

struct IntegerVisitor<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for IntegerVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // 2^63 and 2^64 are exact in f64; the casts below are exact inside these bounds.
        const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;
        const U64_BOUND: f64 = 18_446_744_073_709_551_616.0;
        if v.fract() == 0.0 && (-I64_BOUND..0.0).contains(&v) {
            self.0.visit_i64(v as i64)
        } else if v.fract() == 0.0 && (0.0..U64_BOUND).contains(&v) {
            self.0.visit_u64(v as u64)
        } else {
            self.0.visit_f64(v)
        }
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
        visit_char(char),
        visit_str(&str),
        visit_borrowed_str(&'de str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_borrowed_bytes(&'de [u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(data)
    }
}

/// A fixed-length array (`[T; N]`, a tuple): read strictly, and an array with more
/// elements than it takes is a wrong value ("invalid length"), not the syntax error
/// serde_json reports when the tuple's visitor stops before the `]` ("trailing
/// characters", which would be a 400 `invalid_json` for well-formed JSON).
struct TupleVisitor<V> {
    inner: V,
    len: usize,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TupleVisitor<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let expected = format!("an array of {} elements", self.len);
        let value = self.inner.visit_seq(StrictAccess(&mut seq))?;
        let mut extra = 0;
        while seq.next_element::<de::IgnoredAny>()?.is_some() {
            extra += 1;
        }
        if extra > 0 {
            return Err(de::Error::invalid_length(self.len + extra, &expected.as_str()));
        }
        Ok(value)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(StrictAccess(map))
    }
}

struct StrictSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

/// Sequence, map, enum and variant access whose values are read strictly too.
struct StrictAccess<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictAccess<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictAccess<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(StrictSeed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for StrictAccess<A> {
    type Error = A::Error;
    type Variant = StrictVariant<A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), A::Error> {
        self.0
            .variant_seed(StrictSeed(seed))
            .map(|(value, variant)| (value, StrictVariant(variant)))
    }
}

struct StrictVariant<A>(A);

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for StrictVariant<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(StrictSeed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, StrictVisitor(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, StrictVisitor(visitor))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::Strict;
    use crate::error::Error;
    use crate::json::{from_value, parse_json};

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        name: String,
        inner: Option<Inner>,
        list: Vec<Inner>,
    }

    fn parse(json: &str) -> Result<Outer, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        Outer::deserialize(Strict(&mut de))
    }

    #[test]
    fn objects_are_read_as_before() {
        let parsed = parse(r#"{"name": "x", "inner": {"a": 1}, "list": [{"a": 2}]}"#).expect("parses");
        assert_eq!(
            parsed,
            Outer {
                name: "x".into(),
                inner: Some(Inner { a: 1 }),
                list: vec![Inner { a: 2 }],
            }
        );
    }

    #[test]
    fn arrays_are_not_structs_at_any_depth() {
        assert!(parse(r#"["x", null, []]"#).is_err());
        assert!(parse(r#"{"name": "x", "inner": [1], "list": []}"#).is_err());
        assert!(parse(r#"{"name": "x", "inner": null, "list": [[2]]}"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to be refused
    struct Probe {
        name: String,
        inner: Option<ProbeInner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct ProbeInner {
        at: u32,
    }

    fn field(e: Error) -> String {
        match e {
            Error::Validation(crate::domain::Invalid { field, .. }) => field,
            other => panic!("expected validation_failed, got {other:?}"),
        }
    }

    #[test]
    fn bytes_and_values_name_the_same_fields() {
        for (body, expected) in [
            (json!({}), "name"),
            (json!({"name": "x", "inner": {}}), "inner.at"),
            (json!({"name": "x", "inner": {"at": "1"}}), "inner.at"),
            (json!({"name": "x", "extra": 1}), "extra"),
            (json!({"name": "x", "inner": [1]}), "inner"),
            (json!(["x", null]), "body"),
        ] {
            let from_bytes = parse_json::<Probe>(body.to_string().as_bytes()).expect_err("refused");
            assert_eq!(field(from_bytes), expected, "bytes {body}");
            let from_value = from_value::<Probe>(body.clone()).expect_err("refused");
            assert_eq!(field(from_value), expected, "value {body}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // read only to be refused
    struct Pairs {
        pairs: Vec<[String; 2]>,
    }

    #[test]
    fn a_wrong_length_array_is_a_wrong_value_from_bytes_and_values() {
        for body in [json!({"pairs": [["a", "b", "c"]]}), json!({"pairs": [["a"]]})] {
            let from_bytes = parse_json::<Pairs>(body.to_string().as_bytes()).expect_err("refused");
            assert_eq!(field(from_bytes), "pairs[0]", "bytes {body}");
            let from_value = from_value::<Pairs>(body.clone()).expect_err("refused");
            assert_eq!(field(from_value), "pairs[0]", "value {body}");
        }
        assert!(parse_json::<Pairs>(br#"{"pairs": [["a", "b"]]}"#).is_ok());
        assert!(matches!(
            parse_json::<Pairs>(br#"{"pairs": [["a", "b", ]]}"#),
            Err(Error::InvalidJson(_))
        ));
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        assert!(matches!(
            parse_json::<Probe>(b"{\"name\": "),
            Err(Error::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json::<Probe>(b"{\"name\": \"x\"} {}"),
            Err(Error::InvalidJson(_))
        ));
    }

    #[test]
    fn an_integer_field_takes_a_zero_fraction_and_nothing_else_changes() -> Result<(), Error> {
        assert_eq!(parse_json::<Inner>(br#"{"a": 500.0}"#)?, Inner { a: 500 });
        assert!(parse_json::<Inner>(br#"{"a": 500.5}"#).is_err());
        assert!(parse_json::<Inner>(br#"{"a": -1.0}"#).is_err());
        assert!(parse_json::<Inner>(br#"{"a": 4294967296.0}"#).is_err());
        assert_eq!(from_value::<Inner>(json!({"a": 7.0}))?, Inner { a: 7 });
        // A free-form value keeps the number as sent.
        let v: serde_json::Value = parse_json(br#"{"x": 1.0}"#)?;
        assert_eq!(v["x"].as_f64(), Some(1.0));
        assert!(v["x"].is_f64());
        Ok(())
    }
}
