//! The SecLang variables this engine knows, by name.
//!
//! Collections (`ARGS`, `REQUEST_HEADERS`, `TX`, …) hold keyed members and accept `:key` / `:/regex/` selectors;
//! scalars (`REQUEST_URI`, `REMOTE_ADDR`, …) hold one value (or none). `GEO` stays empty unless a geo provider
//! fills it; `IP` and `GLOBAL` are the persistent collections opened by `initcol`.

/// One SecLang variable (or collection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // the variants are the SecLang names in CamelCase
pub enum Var {
    Args,
    ArgsGet,
    ArgsPost,
    ArgsNames,
    ArgsGetNames,
    ArgsPostNames,
    ArgsCombinedSize,
    RequestHeaders,
    RequestHeadersNames,
    RequestCookies,
    RequestCookiesNames,
    RequestUri,
    RequestUriRaw,
    RequestFilename,
    RequestBasename,
    RequestLine,
    RequestMethod,
    RequestProtocol,
    RequestBody,
    RequestBodyLength,
    QueryString,
    FullRequest,
    FullRequestLength,
    Files,
    FilesNames,
    FilesSizes,
    FilesCombinedSize,
    FilesTmpnames,
    FilesTmpContent,
    MultipartPartHeaders,
    MultipartFilename,
    MultipartName,
    MultipartStrictError,
    MultipartUnmatchedBoundary,
    MultipartBoundaryQuoted,
    MultipartBoundaryWhitespace,
    MultipartDataBefore,
    MultipartDataAfter,
    MultipartHeaderFolding,
    MultipartLfLine,
    MultipartCrlfLfLines,
    MultipartMissingSemicolon,
    MultipartInvalidQuoting,
    MultipartInvalidPart,
    MultipartInvalidHeaderFolding,
    MultipartFileLimitExceeded,
    Xml,
    RemoteAddr,
    RemotePort,
    RemoteHost,
    ServerAddr,
    ServerPort,
    ServerName,
    UniqueId,
    Duration,
    Geo,
    ReqbodyError,
    ReqbodyErrorMsg,
    ReqbodyProcessor,
    ReqbodyProcessorError,
    ReqbodyProcessorErrorMsg,
    InboundDataError,
    OutboundDataError,
    UrlencodedError,
    ResponseBody,
    ResponseStatus,
    ResponseHeaders,
    ResponseHeadersNames,
    ResponseContentType,
    ResponseContentLength,
    ResponseProtocol,
    StatusLine,
    Tx,
    Ip,
    Global,
    Session,
    User,
    Resource,
    Env,
    Rule,
    MatchedVar,
    MatchedVarName,
    MatchedVars,
    MatchedVarsNames,
    HighestSeverity,
    AuthType,
    Time,
    TimeEpoch,
    TimeYear,
    TimeMon,
    TimeDay,
    TimeHour,
    TimeMin,
    TimeSec,
    TimeWday,
    Ja3,
    Ja4,
}

const TABLE: &[(&str, Var, bool)] = &[
    // (name, variable, is_collection)
    ("ARGS", Var::Args, true),
    ("ARGS_GET", Var::ArgsGet, true),
    ("ARGS_POST", Var::ArgsPost, true),
    ("ARGS_NAMES", Var::ArgsNames, true),
    ("ARGS_GET_NAMES", Var::ArgsGetNames, true),
    ("ARGS_POST_NAMES", Var::ArgsPostNames, true),
    ("ARGS_COMBINED_SIZE", Var::ArgsCombinedSize, false),
    ("REQUEST_HEADERS", Var::RequestHeaders, true),
    ("REQUEST_HEADERS_NAMES", Var::RequestHeadersNames, true),
    ("REQUEST_COOKIES", Var::RequestCookies, true),
    ("REQUEST_COOKIES_NAMES", Var::RequestCookiesNames, true),
    ("REQUEST_URI", Var::RequestUri, false),
    ("REQUEST_URI_RAW", Var::RequestUriRaw, false),
    ("REQUEST_FILENAME", Var::RequestFilename, false),
    ("REQUEST_BASENAME", Var::RequestBasename, false),
    ("REQUEST_LINE", Var::RequestLine, false),
    ("REQUEST_METHOD", Var::RequestMethod, false),
    ("REQUEST_PROTOCOL", Var::RequestProtocol, false),
    ("REQUEST_BODY", Var::RequestBody, false),
    ("REQUEST_BODY_LENGTH", Var::RequestBodyLength, false),
    ("QUERY_STRING", Var::QueryString, false),
    ("FULL_REQUEST", Var::FullRequest, false),
    ("FULL_REQUEST_LENGTH", Var::FullRequestLength, false),
    ("FILES", Var::Files, true),
    ("FILES_NAMES", Var::FilesNames, true),
    ("FILES_SIZES", Var::FilesSizes, true),
    ("FILES_COMBINED_SIZE", Var::FilesCombinedSize, false),
    ("FILES_TMPNAMES", Var::FilesTmpnames, true),
    ("FILES_TMP_CONTENT", Var::FilesTmpContent, true),
    ("MULTIPART_PART_HEADERS", Var::MultipartPartHeaders, true),
    ("MULTIPART_FILENAME", Var::MultipartFilename, false),
    ("MULTIPART_NAME", Var::MultipartName, false),
    ("MULTIPART_STRICT_ERROR", Var::MultipartStrictError, false),
    (
        "MULTIPART_UNMATCHED_BOUNDARY",
        Var::MultipartUnmatchedBoundary,
        false,
    ),
    (
        "MULTIPART_BOUNDARY_QUOTED",
        Var::MultipartBoundaryQuoted,
        false,
    ),
    (
        "MULTIPART_BOUNDARY_WHITESPACE",
        Var::MultipartBoundaryWhitespace,
        false,
    ),
    ("MULTIPART_DATA_BEFORE", Var::MultipartDataBefore, false),
    ("MULTIPART_DATA_AFTER", Var::MultipartDataAfter, false),
    (
        "MULTIPART_HEADER_FOLDING",
        Var::MultipartHeaderFolding,
        false,
    ),
    ("MULTIPART_LF_LINE", Var::MultipartLfLine, false),
    ("MULTIPART_CRLF_LF_LINES", Var::MultipartCrlfLfLines, false),
    (
        "MULTIPART_MISSING_SEMICOLON",
        Var::MultipartMissingSemicolon,
        false,
    ),
    (
        "MULTIPART_INVALID_QUOTING",
        Var::MultipartInvalidQuoting,
        false,
    ),
    ("MULTIPART_INVALID_PART", Var::MultipartInvalidPart, false),
    (
        "MULTIPART_INVALID_HEADER_FOLDING",
        Var::MultipartInvalidHeaderFolding,
        false,
    ),
    (
        "MULTIPART_FILE_LIMIT_EXCEEDED",
        Var::MultipartFileLimitExceeded,
        false,
    ),
    ("XML", Var::Xml, true),
    ("REMOTE_ADDR", Var::RemoteAddr, false),
    ("REMOTE_PORT", Var::RemotePort, false),
    ("REMOTE_HOST", Var::RemoteHost, false),
    ("SERVER_ADDR", Var::ServerAddr, false),
    ("SERVER_PORT", Var::ServerPort, false),
    ("SERVER_NAME", Var::ServerName, false),
    ("UNIQUE_ID", Var::UniqueId, false),
    ("DURATION", Var::Duration, false),
    ("GEO", Var::Geo, true),
    ("REQBODY_ERROR", Var::ReqbodyError, false),
    ("REQBODY_ERROR_MSG", Var::ReqbodyErrorMsg, false),
    ("REQBODY_PROCESSOR", Var::ReqbodyProcessor, false),
    ("REQBODY_PROCESSOR_ERROR", Var::ReqbodyProcessorError, false),
    (
        "REQBODY_PROCESSOR_ERROR_MSG",
        Var::ReqbodyProcessorErrorMsg,
        false,
    ),
    ("INBOUND_DATA_ERROR", Var::InboundDataError, false),
    ("OUTBOUND_DATA_ERROR", Var::OutboundDataError, false),
    ("URLENCODED_ERROR", Var::UrlencodedError, false),
    ("RESPONSE_BODY", Var::ResponseBody, false),
    ("RESPONSE_STATUS", Var::ResponseStatus, false),
    ("RESPONSE_HEADERS", Var::ResponseHeaders, true),
    ("RESPONSE_HEADERS_NAMES", Var::ResponseHeadersNames, true),
    ("RESPONSE_CONTENT_TYPE", Var::ResponseContentType, false),
    ("RESPONSE_CONTENT_LENGTH", Var::ResponseContentLength, false),
    ("RESPONSE_PROTOCOL", Var::ResponseProtocol, false),
    ("STATUS_LINE", Var::StatusLine, false),
    ("TX", Var::Tx, true),
    ("IP", Var::Ip, true),
    ("GLOBAL", Var::Global, true),
    ("SESSION", Var::Session, true),
    ("USER", Var::User, true),
    ("RESOURCE", Var::Resource, true),
    ("ENV", Var::Env, true),
    ("RULE", Var::Rule, true),
    ("MATCHED_VAR", Var::MatchedVar, false),
    ("MATCHED_VAR_NAME", Var::MatchedVarName, false),
    ("MATCHED_VARS", Var::MatchedVars, true),
    ("MATCHED_VARS_NAMES", Var::MatchedVarsNames, true),
    ("HIGHEST_SEVERITY", Var::HighestSeverity, false),
    ("AUTH_TYPE", Var::AuthType, false),
    ("TIME", Var::Time, false),
    ("TIME_EPOCH", Var::TimeEpoch, false),
    ("TIME_YEAR", Var::TimeYear, false),
    ("TIME_MON", Var::TimeMon, false),
    ("TIME_DAY", Var::TimeDay, false),
    ("TIME_HOUR", Var::TimeHour, false),
    ("TIME_MIN", Var::TimeMin, false),
    ("TIME_SEC", Var::TimeSec, false),
    ("TIME_WDAY", Var::TimeWday, false),
    ("JA3", Var::Ja3, false),
    ("JA4", Var::Ja4, false),
];

impl Var {
    /// Looks up an (uppercased) SecLang variable name.
    pub fn from_name(name: &str) -> Option<Var> {
        TABLE
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| *v)
    }

    /// The SecLang name.
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, v, _)| *v == self)
            .map_or("UNKNOWN", |(n, _, _)| n)
    }

    /// True for collections, which accept selectors.
    pub fn is_collection(self) -> bool {
        TABLE
            .iter()
            .find(|(_, v, _)| *v == self)
            .is_some_and(|(_, _, c)| *c)
    }

    /// True for the collections whose keys are written by `setvar` (and compared case-insensitively).
    pub fn is_store(self) -> bool {
        matches!(
            self,
            Var::Tx | Var::Ip | Var::Global | Var::Session | Var::User | Var::Resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (n, v, _) in TABLE {
            assert_eq!(Var::from_name(n), Some(*v));
            assert_eq!(v.name(), *n);
        }
        assert!(Var::Args.is_collection());
        assert!(!Var::RequestUri.is_collection());
        assert_eq!(Var::from_name("NOPE"), None);
    }
}
