//! Sans-I/O: the HTTP request as the WAF reads it (query, cookies, urlencoded/multipart/JSON/XML bodies) and the
//! text transformations of AWS WAF and SecLang.
//!
//! Nothing here performs I/O. The proxy hands a [`Request`] (with a possibly truncated body) to the engines, which
//! use the parsers in [`query`], [`cookies`] and [`body`] to build their variables and [`transform`] to normalise
//! values before matching. Every parser accepts arbitrary bytes and never panics; bounded inputs give bounded work.
//!
//! | Module | What | Semantics follow |
//! |---|---|---|
//! | [`request`] | [`Request`], its accessors and a test builder | — |
//! | [`query`] | `&`-separated arguments, lenient `%`/`+` decoding, [`query::percent_decode`] | libmodsecurity 3 `extractArguments` |
//! | [`cookies`] | `Cookie` headers | libmodsecurity 3, `SecCookieFormat 0` |
//! | [`body::urlencoded`] | form bodies | as query strings |
//! | [`body::multipart`] | parts, files and the `MULTIPART_*` flags | libmodsecurity 3 multipart processor |
//! | [`body::json`] | `json.a.array_0` argument names; JSON Pointer walk for AWS `JsonBody` | libmodsecurity 3 (yajl) |
//! | [`body::xml`] | `XML:/*` string value and `XML://@*`, DTDs refused | libxml2 defaults |
//! | [`transform`] | 40 transformations, AWS and SecLang names | ModSecurity 3 / AWS WAF developer guide |
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod body;
pub mod cookies;
mod error;
pub mod query;
pub mod request;
pub mod transform;

pub use error::Error;
pub use query::{Param, ParamRef};
pub use request::{Request, RequestBuilder};
pub use transform::{Transform, apply, apply_chain};
