//! A declarative macro for the AWS enumerations: one place defines the Rust variant,
//! its exact wire name, the request field it is validated as, and the AWS names that
//! exist in the model but that Portcullis refuses to fake.

/// Defines a `Copy` enum with `ALL`, `as_str()`, `Display` and `FromStr`.
///
/// `FromStr` answers a name from `unsupported` with the given error constructor, and any
/// other unknown name with an AWS-style `ValidationException` message listing the full
/// model value set.
macro_rules! aws_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            field = $field:literal,
            unsupported = [$($unsup:literal),* $(,)?] => $unsup_err:path,
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant Portcullis implements, in model order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// AWS names the model defines that Portcullis answers with an
            /// unsupported-operation error instead of an imitation.
            pub const UNSUPPORTED_NAMES: &'static [&'static str] = &[$($unsup),*];

            /// The exact AWS wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $wire, )+
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = $crate::error::KmsCryptoError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok(Self::$variant), )+
                    $( $unsup => Err($unsup_err(s.to_owned())), )*
                    _ => Err($crate::names::enum_validation_error(
                        s,
                        $field,
                        &[$($wire,)+ $($unsup,)*],
                    )),
                }
            }
        }
    };
}

pub(crate) use aws_enum;

/// The AWS `ValidationException` message for a value outside an enum's value set.
pub(crate) fn enum_validation_error(
    value: &str,
    field: &str,
    allowed: &[&str],
) -> crate::error::KmsCryptoError {
    crate::error::KmsCryptoError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy \
         constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}
