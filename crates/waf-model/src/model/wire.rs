//! Wire helpers shared by every model type: the AWS union ("exactly one member") and string-enum codecs,
//! the base64 blob codec, and the per-thread slot that carries a typed validation error out of serde.
//!
//! AWS unions (`Statement`, `FieldToMatch`, `RuleAction`, ...) are JSON objects that must set exactly one
//! member. serde's own externally-tagged enums reject such objects with an untyped message, so the
//! [`wire_union!`] macro writes the (de)serializer by hand: it counts the known, non-null members, skips
//! unknown ones (the service ignores members it does not know, see the crate docs) and, on zero or several,
//! records the AWS `WAFInvalidParameterException` details (`EXACTLY_ONE_CONDITION_REQUIRED`) so that
//! `from_json` can return them as a [`ValidationError`] instead of a bare JSON error. String enums do the same
//! for values outside the model's enum.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::validate::{ParameterExceptionField, ValidationError};

thread_local! {
    static PENDING: Cell<Option<ValidationError>> = const { Cell::new(None) };
}

/// Forget any error recorded by an earlier, unrelated parse on this thread.
pub(crate) fn clear_pending() {
    let _ = PENDING.try_with(|p| p.set(None));
}

/// Take the validation error recorded by the failing deserializer, if any.
pub(crate) fn take_pending() -> Option<ValidationError> {
    PENDING.try_with(Cell::take).ok().flatten()
}

fn record(err: ValidationError) {
    let _ = PENDING.try_with(|p| {
        // The first failure is the one that aborted the parse; keep it.
        let prev = p.take();
        p.set(Some(prev.unwrap_or(err)));
    });
}

/// AWS reason text for a union with none or several members.
pub const REASON_EXACTLY_ONE: &str =
    "You have used none or multiple values for a field that requires exactly one value.";
/// AWS reason text for a value outside an enum or pattern.
pub const REASON_INVALID_FORMAT: &str = "The parameter contains formatting that isn't valid.";

/// Build the serde error for a union with `count` members and record the typed details.
pub(crate) fn union_error<E: de::Error>(field: ParameterExceptionField, shape: &'static str) -> E {
    let err = ValidationError::new(field, shape, REASON_EXACTLY_ONE);
    let msg = err.message();
    record(err);
    E::custom(msg)
}

/// Build the serde error for an enum value outside the model and record the typed details.
pub(crate) fn enum_error<E: de::Error>(field: ParameterExceptionField, value: &str) -> E {
    let err = ValidationError::new(field, value, REASON_INVALID_FORMAT);
    let msg = err.message();
    record(err);
    E::custom(msg)
}

/// An AWS structure with no members (`{}`), e.g. `AllQueryArguments`, `NoneAction`, `RateLimitIP`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Empty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an empty JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
                // Unknown members are ignored, as everywhere else.
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Empty)
            }
        }
        d.deserialize_map(V)
    }
}

/// serde codec for AWS `blob` members: standard base64 with padding on the wire, raw bytes in memory.
pub mod blob {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Encode bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Decode base64 into bytes; invalid base64 is a serialization error, as at AWS.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| de::Error::custom(format!("invalid base64 blob: {e}")))
    }
}

/// Define an AWS string enum: Rust variants, `as_str`, `from_aws`, `ALL`, Display and the serde codec
/// that records an `$field` validation error for a value outside the model.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($field:ident) {
            $( $(#[$vmeta:meta])* $var:ident = $s:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
        }

        impl $name {
            /// Every value of the enum, in model order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];

            /// The AWS wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $s,)*
                }
            }

            /// Parse the AWS wire string (exact, case-sensitive).
            pub fn from_aws(s: &str) -> Option<Self> {
                match s {
                    $($s => Some($name::$var),)*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::from_aws(&s).ok_or_else(|| {
                    $crate::model::wire::enum_error(
                        $crate::validate::ParameterExceptionField::$field,
                        &s,
                    )
                })
            }
        }
    };
}

/// Define an AWS union: one variant per member (newtype variants for members with content, unit variants
/// for members whose shape is empty), rendered as `{"Member": {...}}`.
macro_rules! wire_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($shape:literal, $field:ident) {
            $( $(#[$vmeta:meta])* $var:ident ( $ty:ty ) = $key:literal, )*
        }
        $( units { $( $(#[$umeta:meta])* $uvar:ident = $ukey:literal, )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $( $(#[$vmeta])* $var($ty), )*
            $($( $(#[$umeta])* $uvar, )*)?
        }

        impl $name {
            /// The AWS member names of this union, in model order (content members first).
            pub const MEMBERS: &'static [&'static str] = &[$($key,)* $($($ukey,)*)?];

            /// The AWS member name of the set variant.
            pub fn member_name(&self) -> &'static str {
                match self {
                    $($name::$var(_) => $key,)*
                    $($($name::$uvar => $ukey,)*)?
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut m = s.serialize_map(Some(1))?;
                match self {
                    $($name::$var(v) => m.serialize_entry($key, v)?,)*
                    $($($name::$uvar => m.serialize_entry($ukey, &$crate::model::wire::Empty)?,)*)?
                }
                m.end()
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> ::serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", $shape, " object"))
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        let mut found: Option<$name> = None;
                        let mut count = 0usize;
                        while let Some(key) = map.next_key::<::std::borrow::Cow<'de, str>>()? {
                            let value: Option<$name> = match key.as_ref() {
                                $($key => map.next_value::<Option<$ty>>()?.map($name::$var),)*
                                $($($ukey => map
                                    .next_value::<Option<$crate::model::wire::Empty>>()?
                                    .map(|_| $name::$uvar),)*)?
                                _ => {
                                    map.next_value::<::serde::de::IgnoredAny>()?;
                                    None
                                }
                            };
                            if let Some(v) = value {
                                count += 1;
                                if found.is_none() {
                                    found = Some(v);
                                }
                            }
                        }
                        match found {
                            Some(v) if count == 1 => Ok(v),
                            _ => Err($crate::model::wire::union_error(
                                $crate::validate::ParameterExceptionField::$field,
                                $shape,
                            )),
                        }
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

pub(crate) use {wire_enum, wire_union};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_accepts_any_object_and_renders_braces() {
        let e: Empty = serde_json::from_str(r#"{"x":[1,{"y":null}]}"#).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "{}");
        assert!(serde_json::from_str::<Empty>("[]").is_err());
        assert!(serde_json::from_str::<Empty>("1").is_err());
    }

    #[test]
    fn pending_error_is_taken_once() {
        clear_pending();
        let _: serde_json::Error = union_error(ParameterExceptionField::Statement, "Statement");
        let first = take_pending().expect("recorded");
        assert_eq!(first.field, ParameterExceptionField::Statement);
        assert_eq!(take_pending(), None);
    }

    #[test]
    fn blob_round_trip() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct B {
            #[serde(with = "blob")]
            b: Vec<u8>,
        }
        let v = B {
            b: vec![0, 1, 254, 255],
        };
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(s, r#"{"b":"AAH+/w=="}"#);
        assert_eq!(serde_json::from_str::<B>(&s).unwrap(), v);
        assert!(serde_json::from_str::<B>(r#"{"b":"!!"}"#).is_err());
    }
}
