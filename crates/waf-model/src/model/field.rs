//! `FieldToMatch` (the part of the request a match statement inspects) and text transformations \[model §1.5–1.6\].

use serde::{Deserialize, Serialize};

use super::wire::{wire_enum, wire_union};

wire_union! {
    /// `FieldToMatch`: exactly one of 14 request components.
    pub enum FieldToMatch ("FieldToMatch", FieldToMatch) {
        /// `SingleHeader{Name}`: one header, name case-insensitive.
        SingleHeader(SingleHeader) = "SingleHeader",
        /// `SingleQueryArgument{Name}`: one query argument, name case-insensitive.
        SingleQueryArgument(SingleQueryArgument) = "SingleQueryArgument",
        /// `Body{OversizeHandling?}`: the body as plain text, within the inspection window.
        Body(Body) = "Body",
        /// `JsonBody`: the body parsed as JSON.
        JsonBody(JsonBody) = "JsonBody",
        /// `Headers`: a filtered set of headers.
        Headers(Headers) = "Headers",
        /// `Cookies`: a filtered set of cookies.
        Cookies(Cookies) = "Cookies",
        /// `HeaderOrder`: header names in arrival order, colon-separated.
        HeaderOrder(HeaderOrder) = "HeaderOrder",
        /// `JA3Fingerprint{FallbackBehavior}`.
        Ja3Fingerprint(Ja3Fingerprint) = "JA3Fingerprint",
        /// `JA4Fingerprint{FallbackBehavior}`.
        Ja4Fingerprint(Ja4Fingerprint) = "JA4Fingerprint",
        /// `UriFragment{FallbackBehavior?}`: the part after `#`.
        UriFragment(UriFragment) = "UriFragment",
    }
    units {
        /// `AllQueryArguments{}`: the values of all query arguments.
        AllQueryArguments = "AllQueryArguments",
        /// `UriPath{}`: the path.
        UriPath = "UriPath",
        /// `QueryString{}`: the raw text after `?`.
        QueryString = "QueryString",
        /// `Method{}`: the HTTP method.
        Method = "Method",
    }
}

/// `SingleHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SingleHeader {
    /// `Name*` (`FieldToMatchData`, 1–64).
    pub name: String,
}

/// `SingleQueryArgument`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SingleQueryArgument {
    /// `Name*` (`FieldToMatchData`, 1–64).
    pub name: String,
}

/// `Body`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Body {
    /// `OversizeHandling` (AWS default `CONTINUE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversize_handling: Option<OversizeHandling>,
}

/// `JsonBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JsonBody {
    /// `MatchPattern*`.
    pub match_pattern: JsonMatchPattern,
    /// `MatchScope*`.
    pub match_scope: JsonMatchScope,
    /// `InvalidFallbackBehavior`: what to do when the body is not valid JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalid_fallback_behavior: Option<BodyParsingFallbackBehavior>,
    /// `OversizeHandling` (AWS default `CONTINUE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oversize_handling: Option<OversizeHandling>,
}

wire_union! {
    /// `JsonMatchPattern`: `All{}` or `IncludedPaths` (JSON Pointers).
    pub enum JsonMatchPattern ("JsonMatchPattern", JsonMatchPattern) {
        /// `IncludedPaths` (≥1 JSON Pointer, 1–512 chars each).
        IncludedPaths(Vec<String>) = "IncludedPaths",
    }
    units {
        /// `All{}`.
        All = "All",
    }
}

/// `Headers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Headers {
    /// `MatchPattern*`.
    pub match_pattern: HeaderMatchPattern,
    /// `MatchScope*`.
    pub match_scope: MapMatchScope,
    /// `OversizeHandling*`.
    pub oversize_handling: OversizeHandling,
}

wire_union! {
    /// `HeaderMatchPattern`: `All{}`, `IncludedHeaders` or `ExcludedHeaders` (1–199 names).
    pub enum HeaderMatchPattern ("HeaderMatchPattern", HeaderMatchPattern) {
        /// `IncludedHeaders`.
        IncludedHeaders(Vec<String>) = "IncludedHeaders",
        /// `ExcludedHeaders`.
        ExcludedHeaders(Vec<String>) = "ExcludedHeaders",
    }
    units {
        /// `All{}`.
        All = "All",
    }
}

/// `Cookies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cookies {
    /// `MatchPattern*`.
    pub match_pattern: CookieMatchPattern,
    /// `MatchScope*`.
    pub match_scope: MapMatchScope,
    /// `OversizeHandling*`.
    pub oversize_handling: OversizeHandling,
}

wire_union! {
    /// `CookieMatchPattern`: `All{}`, `IncludedCookies` or `ExcludedCookies` (1–199 names ≤60 chars).
    pub enum CookieMatchPattern ("CookieMatchPattern", CookieMatchPattern) {
        /// `IncludedCookies`.
        IncludedCookies(Vec<String>) = "IncludedCookies",
        /// `ExcludedCookies`.
        ExcludedCookies(Vec<String>) = "ExcludedCookies",
    }
    units {
        /// `All{}`.
        All = "All",
    }
}

/// `HeaderOrder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HeaderOrder {
    /// `OversizeHandling*`.
    pub oversize_handling: OversizeHandling,
}

/// `JA3Fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ja3Fingerprint {
    /// `FallbackBehavior*`: the result when no fingerprint can be computed.
    pub fallback_behavior: FallbackBehavior,
}

/// `JA4Fingerprint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ja4Fingerprint {
    /// `FallbackBehavior*`.
    pub fallback_behavior: FallbackBehavior,
}

/// `UriFragment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UriFragment {
    /// `FallbackBehavior`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_behavior: Option<FallbackBehavior>,
}

wire_enum! {
    /// `OversizeHandling`: what to do when the component exceeds the inspection window.
    pub enum OversizeHandling (OversizeHandling) {
        /// Inspect what is available.
        Continue = "CONTINUE",
        /// Treat as matching.
        Match = "MATCH",
        /// Treat as not matching.
        NoMatch = "NO_MATCH",
    }
}

wire_enum! {
    /// `JsonMatchScope`.
    pub enum JsonMatchScope (JsonMatchScope) {
        /// Keys or values.
        All = "ALL",
        /// Keys only.
        Key = "KEY",
        /// Values only.
        Value = "VALUE",
    }
}

wire_enum! {
    /// `MapMatchScope` (headers and cookies).
    pub enum MapMatchScope (MapMatchScope) {
        /// Keys or values.
        All = "ALL",
        /// Keys only.
        Key = "KEY",
        /// Values only.
        Value = "VALUE",
    }
}

wire_enum! {
    /// `BodyParsingFallbackBehavior`.
    pub enum BodyParsingFallbackBehavior (BodyParsingFallbackBehavior) {
        /// Treat as matching.
        Match = "MATCH",
        /// Treat as not matching.
        NoMatch = "NO_MATCH",
        /// Inspect the raw body text instead.
        EvaluateAsString = "EVALUATE_AS_STRING",
    }
}

wire_enum! {
    /// `FallbackBehavior`.
    pub enum FallbackBehavior (FallbackBehavior) {
        /// Treat as matching.
        Match = "MATCH",
        /// Treat as not matching.
        NoMatch = "NO_MATCH",
    }
}

/// `TextTransformation`: one transformation applied before inspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TextTransformation {
    /// `Priority*` (≥0, unique within the list, lowest first).
    pub priority: i64,
    /// `Type*`.
    pub r#type: TextTransformationType,
}

wire_enum! {
    /// `TextTransformationType`: the 31 transformations of the model.
    pub enum TextTransformationType (TextTransformation) {
        /// `NONE`
        None = "NONE",
        /// `COMPRESS_WHITE_SPACE`
        CompressWhiteSpace = "COMPRESS_WHITE_SPACE",
        /// `HTML_ENTITY_DECODE`
        HtmlEntityDecode = "HTML_ENTITY_DECODE",
        /// `LOWERCASE`
        Lowercase = "LOWERCASE",
        /// `CMD_LINE`
        CmdLine = "CMD_LINE",
        /// `URL_DECODE`
        UrlDecode = "URL_DECODE",
        /// `BASE64_DECODE`
        Base64Decode = "BASE64_DECODE",
        /// `HEX_DECODE`
        HexDecode = "HEX_DECODE",
        /// `MD5`
        Md5 = "MD5",
        /// `REPLACE_COMMENTS`
        ReplaceComments = "REPLACE_COMMENTS",
        /// `ESCAPE_SEQ_DECODE`
        EscapeSeqDecode = "ESCAPE_SEQ_DECODE",
        /// `SQL_HEX_DECODE`
        SqlHexDecode = "SQL_HEX_DECODE",
        /// `CSS_DECODE`
        CssDecode = "CSS_DECODE",
        /// `JS_DECODE`
        JsDecode = "JS_DECODE",
        /// `NORMALIZE_PATH`
        NormalizePath = "NORMALIZE_PATH",
        /// `NORMALIZE_PATH_WIN`
        NormalizePathWin = "NORMALIZE_PATH_WIN",
        /// `REMOVE_NULLS`
        RemoveNulls = "REMOVE_NULLS",
        /// `REPLACE_NULLS`
        ReplaceNulls = "REPLACE_NULLS",
        /// `BASE64_DECODE_EXT`
        Base64DecodeExt = "BASE64_DECODE_EXT",
        /// `URL_DECODE_UNI`
        UrlDecodeUni = "URL_DECODE_UNI",
        /// `UTF8_TO_UNICODE`
        Utf8ToUnicode = "UTF8_TO_UNICODE",
        /// `REMOVE_WHITESPACE`
        RemoveWhitespace = "REMOVE_WHITESPACE",
        /// `TRIM`
        Trim = "TRIM",
        /// `TRIM_LEFT`
        TrimLeft = "TRIM_LEFT",
        /// `TRIM_RIGHT`
        TrimRight = "TRIM_RIGHT",
        /// `REMOVE_COMMENTS_CHAR`
        RemoveCommentsChar = "REMOVE_COMMENTS_CHAR",
        /// `UPPERCASE`
        Uppercase = "UPPERCASE",
        /// `CMD_LINE_WIN`
        CmdLineWin = "CMD_LINE_WIN",
        /// `CMD_LINE_UNIX`
        CmdLineUnix = "CMD_LINE_UNIX",
        /// `JS_DECODE_EXT`
        JsDecodeExt = "JS_DECODE_EXT",
        /// `SHA256`
        Sha256 = "SHA256",
    }
}

/// `PreParseTextTransformation`: applied to the raw query string before it is split into arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PreParseTextTransformation {
    /// `Priority*` (≥0, unique within the list).
    pub priority: i64,
    /// `Type*`.
    pub r#type: PreParseTextTransformationType,
}

wire_enum! {
    /// `PreParseTextTransformationType`.
    pub enum PreParseTextTransformationType (PreParseTextTransformation) {
        /// `NONE`
        None = "NONE",
        /// `URL_DECODE`
        UrlDecode = "URL_DECODE",
        /// `URL_DECODE_UNI`
        UrlDecodeUni = "URL_DECODE_UNI",
        /// `COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA`
        CombineDuplicateQueryArgsByComma = "COMBINE_DUPLICATE_QUERY_ARGS_BY_COMMA",
        /// `REPLACE_SEMICOLONS_WITH_AMPERSANDS`
        ReplaceSemicolonsWithAmpersands = "REPLACE_SEMICOLONS_WITH_AMPERSANDS",
    }
}
