//! The WAFv2 data model as Rust types, one file per area. Every type (de)serializes to the exact AWS JSON
//! wire form: PascalCase member names as spelled in the model (`ARN`, `IPSetReferenceStatement`,
//! `ForwardedIPConfig`, `JA3Fingerprint`, ...), unions as single-member objects, enums as AWS strings,
//! optional members as `Option` (absent on render, so `render(parse(x)) == x`).

pub mod acl;
pub mod action;
pub mod config;
pub mod field;
pub mod managed;
pub mod rate;
pub mod requests;
pub mod resources;
pub mod statement;
pub mod walk;
pub(crate) mod wire;

pub use acl::*;
pub use action::*;
pub use config::*;
pub use field::*;
pub use managed::*;
pub use rate::*;
pub use requests::*;
pub use resources::*;
pub use statement::*;
pub use walk::References;
pub use wire::Empty;

/// The 250 `CountryCode` values of the model (ISO 3166-1 alpha-2 plus `XK`), in model order.
pub const COUNTRY_CODES: &[&str] = &[
    "AF", "AX", "AL", "DZ", "AS", "AD", "AO", "AI", "AQ", "AG", "AR", "AM", "AW", "AU", "AT", "AZ",
    "BS", "BH", "BD", "BB", "BY", "BE", "BZ", "BJ", "BM", "BT", "BO", "BQ", "BA", "BW", "BV", "BR",
    "IO", "BN", "BG", "BF", "BI", "KH", "CM", "CA", "CV", "KY", "CF", "TD", "CL", "CN", "CX", "CC",
    "CO", "KM", "CG", "CD", "CK", "CR", "CI", "HR", "CU", "CW", "CY", "CZ", "DK", "DJ", "DM", "DO",
    "EC", "EG", "SV", "GQ", "ER", "EE", "ET", "FK", "FO", "FJ", "FI", "FR", "GF", "PF", "TF", "GA",
    "GM", "GE", "DE", "GH", "GI", "GR", "GL", "GD", "GP", "GU", "GT", "GG", "GN", "GW", "GY", "HT",
    "HM", "VA", "HN", "HK", "HU", "IS", "IN", "ID", "IR", "IQ", "IE", "IM", "IL", "IT", "JM", "JP",
    "JE", "JO", "KZ", "KE", "KI", "KP", "KR", "KW", "KG", "LA", "LV", "LB", "LS", "LR", "LY", "LI",
    "LT", "LU", "MO", "MK", "MG", "MW", "MY", "MV", "ML", "MT", "MH", "MQ", "MR", "MU", "YT", "MX",
    "FM", "MD", "MC", "MN", "ME", "MS", "MA", "MZ", "MM", "NA", "NR", "NP", "NL", "NC", "NZ", "NI",
    "NE", "NG", "NU", "NF", "MP", "NO", "OM", "PK", "PW", "PS", "PA", "PG", "PY", "PE", "PH", "PN",
    "PL", "PT", "PR", "QA", "RE", "RO", "RU", "RW", "BL", "SH", "KN", "LC", "MF", "PM", "VC", "WS",
    "SM", "ST", "SA", "SN", "RS", "SC", "SL", "SG", "SX", "SK", "SI", "SB", "SO", "ZA", "GS", "SS",
    "ES", "LK", "SD", "SR", "SJ", "SZ", "SE", "CH", "SY", "TW", "TJ", "TZ", "TH", "TL", "TG", "TK",
    "TO", "TT", "TN", "TR", "TM", "TC", "TV", "UG", "UA", "AE", "GB", "US", "UM", "UY", "UZ", "VU",
    "VE", "VN", "VG", "VI", "WF", "EH", "YE", "ZM", "ZW", "XK",
];

/// Whether `code` is one of [`COUNTRY_CODES`].
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.contains(&code)
}
