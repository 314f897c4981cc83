//! Request body processors: URL-encoded forms, multipart/form-data, JSON and XML.
//!
//! Each processor takes the inspectable body bytes and returns what the engines need (arguments, files, flags,
//! documents); errors become `REQBODY_ERROR` in SecLang terms.

pub mod json;
pub mod multipart;
pub mod urlencoded;
pub mod xml;
