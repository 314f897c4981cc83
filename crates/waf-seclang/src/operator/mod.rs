//! SecLang operators (`@rx`, `@pm`, `@eq`, `@detectSQLi`, …): parsed once at load time, evaluated per value.
//!
//! The engine hands each (transformed) value to [`Operator::evaluate`] together with an [`OperatorEnv`], the
//! narrow view of the transaction an operator needs: macro expansion for arguments such as
//! `@ge %{tx.inbound_anomaly_score_threshold}`, the capture slots `TX:0`…`TX:9`, and the client address.
//! Negation (`!@rx`) is the engine's business. Everything here is sans-I/O except [`Operator::parse`] reading the
//! phrase/network files of `@pmFromFile` and `@ipMatchFromFile`, relative to [`OperatorContext::base_dir`].

mod ip;
mod literals;
mod numeric;
mod pcre;
mod pm;
mod rx;
mod strings;
mod tautology;
mod validate;

use std::net::IpAddr;
use std::path::PathBuf;

pub use pcre::translate_pcre;

/// What an operator may learn about the transaction it runs in.
pub trait OperatorEnv {
    /// Expands the `%{…}` macros of `text` (operator arguments that contain macros).
    fn expand(&self, text: &str) -> String;
    /// Expands already parsed macro text; by default through [`OperatorEnv::expand`] on its raw text. Engines
    /// override it to skip re-parsing arguments the operator parsed once at load time.
    fn expand_parsed(&self, text: &crate::macros::MacroText) -> String {
        self.expand(text.raw())
    }
    /// Stores capture `index` (0–9) as `TX:<index>`; called only when [`OperatorEnv::capture_enabled`] is true.
    fn capture(&mut self, index: usize, value: &[u8]);
    /// True when the running rule carries the `capture` action.
    fn capture_enabled(&self) -> bool;
    /// The client address (`REMOTE_ADDR`), for `@geoLookup`-style operators.
    fn remote_addr(&self) -> IpAddr;
    /// The ISO country code of `ip`, when the engine has a geo database; `None` by default.
    fn geo_country(&self, ip: IpAddr) -> Option<String> {
        let _ = ip;
        None
    }
}

/// Load-time facts an operator may need.
#[derive(Debug, Clone, Default)]
pub struct OperatorContext {
    /// The directory of the rule file being loaded; `@pmFromFile`/`@ipMatchFromFile` paths are relative to it.
    pub base_dir: Option<PathBuf>,
}

/// Why an operator could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    /// The operator name is not one this engine knows (e.g. `@fooBar`).
    #[error("unknown operator @{0}")]
    Unknown(String),
    /// The operator exists in SecLang but this engine does not implement it (e.g. `@rbl` needs network I/O).
    #[error("operator @{name} is not supported: {reason}")]
    Unsupported {
        /// The operator name without `@`.
        name: String,
        /// Why it is unsupported.
        reason: String,
    },
    /// The argument is malformed for this operator (bad range list, bad CIDR, …).
    #[error("invalid argument for @{name}: {reason}")]
    InvalidArgument {
        /// The operator name without `@`.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A regular expression (after PCRE translation) did not compile.
    #[error("regex {pattern:?} does not compile: {reason}")]
    Regex {
        /// The pattern as written in the rule.
        pattern: String,
        /// The compiler's message.
        reason: String,
    },
    /// A data file of `@pmFromFile`/`@ipMatchFromFile` could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The resolved path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A compiled operator.
#[derive(Debug, Clone)]
pub struct Operator {
    kind: Kind,
}

/// An operator argument that may contain `%{…}` macros, expanded at evaluation time.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// No macro: used as is.
    Literal(String),
    /// Contains a macro: parsed once, expanded per evaluation.
    Macro(crate::macros::MacroText),
}

impl Arg {
    fn new(text: &str) -> Self {
        if has_macro(text) {
            Self::Macro(crate::macros::MacroText::parse(text))
        } else {
            Self::Literal(text.to_owned())
        }
    }

    fn resolve(&self, env: &dyn OperatorEnv) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Literal(s) => std::borrow::Cow::Borrowed(s.as_str()),
            Self::Macro(m) => std::borrow::Cow::Owned(env.expand_parsed(m)),
        }
    }

    fn is_macro(&self) -> bool {
        matches!(self, Self::Macro(_))
    }
}

/// True when `text` contains a `%{…}` macro.
pub(crate) fn has_macro(text: &str) -> bool {
    text.find("%{")
        .is_some_and(|i| text.get(i..).is_some_and(|rest| rest.contains('}')))
}

#[derive(Debug, Clone)]
enum Kind {
    Rx(rx::RxOp),
    Pm(pm::PmOp),
    Str(strings::StrOp, Arg),
    Num(numeric::NumOp, Arg),
    ValidateByteRange(Box<validate::ByteRanges>),
    ValidateUrlEncoding,
    ValidateUtf8Encoding,
    IpMatch(ip::IpSet),
    DetectSqli,
    DetectXss,
    Unconditional,
    NoMatch,
    GeoLookup,
    VerifyCc(rx::RxOp),
}

impl Operator {
    /// Builds the operator `@name arg`. `name` is given without `@` (e.g. `rx`) and matched case-insensitively.
    pub fn parse(name: &str, arg: &str, ctx: &OperatorContext) -> Result<Operator, OperatorError> {
        let lname = name.trim_start_matches('@').to_ascii_lowercase();
        let kind = match lname.as_str() {
            "rx" => Kind::Rx(rx::RxOp::new(arg)?),
            "pm" => Kind::Pm(pm::PmOp::from_words(arg)),
            "pmf" | "pmfromfile" => Kind::Pm(pm::PmOp::from_files(arg, ctx)?),
            "streq" => Kind::Str(strings::StrOp::StrEq, Arg::new(arg)),
            "strmatch" => Kind::Str(strings::StrOp::StrMatch, Arg::new(arg)),
            "contains" => Kind::Str(strings::StrOp::Contains, Arg::new(arg)),
            "containsword" => Kind::Str(strings::StrOp::ContainsWord, Arg::new(arg)),
            "beginswith" => Kind::Str(strings::StrOp::BeginsWith, Arg::new(arg)),
            "endswith" => Kind::Str(strings::StrOp::EndsWith, Arg::new(arg)),
            "within" => Kind::Str(strings::StrOp::Within, Arg::new(arg)),
            "eq" => Kind::Num(numeric::NumOp::Eq, Arg::new(arg)),
            "ge" => Kind::Num(numeric::NumOp::Ge, Arg::new(arg)),
            "gt" => Kind::Num(numeric::NumOp::Gt, Arg::new(arg)),
            "le" => Kind::Num(numeric::NumOp::Le, Arg::new(arg)),
            "lt" => Kind::Num(numeric::NumOp::Lt, Arg::new(arg)),
            "validatebyterange" => {
                Kind::ValidateByteRange(Box::new(validate::ByteRanges::parse(arg)?))
            }
            "validateurlencoding" => Kind::ValidateUrlEncoding,
            "validateutf8encoding" => Kind::ValidateUtf8Encoding,
            "ipmatch" => Kind::IpMatch(ip::IpSet::parse_list(arg)?),
            "ipmatchf" | "ipmatchfromfile" => Kind::IpMatch(ip::IpSet::from_file(arg, ctx)?),
            "detectsqli" => Kind::DetectSqli,
            "detectxss" => Kind::DetectXss,
            "unconditionalmatch" => Kind::Unconditional,
            "nomatch" => Kind::NoMatch,
            "geolookup" => Kind::GeoLookup,
            "verifycc" => Kind::VerifyCc(rx::RxOp::new(arg)?),
            "rbl" => {
                return Err(OperatorError::Unsupported {
                    name: "rbl".into(),
                    reason: "DNS blocklist lookups need network I/O, which this sans-I/O engine does not do".into(),
                });
            }
            "inspectfile" | "fuzzyhash" | "gsblookup" | "verifycpf" | "verifyssn"
            | "verifysvnr" | "rsub" => {
                return Err(OperatorError::Unsupported {
                    name: lname.clone(),
                    reason: "not implemented by this engine".into(),
                });
            }
            _ => return Err(OperatorError::Unknown(name.to_owned())),
        };
        Ok(Operator { kind })
    }

    /// True when the argument contains macros, so the operator's behaviour depends on the transaction.
    pub fn needs_expansion(&self) -> bool {
        match &self.kind {
            Kind::Rx(r) => r.needs_expansion(),
            Kind::Str(_, a) | Kind::Num(_, a) => a.is_macro(),
            _ => false,
        }
    }

    /// Literals one of which occurs (ASCII case-insensitively) in every value the operator matches: for a static
    /// `@rx`, necessary literals of the pattern (lowercase); for `@pm`, its phrases (the operator matches exactly
    /// when one occurs) unless the list is long. `None` when the operator has no such set and must always run.
    pub fn required_literals(&self) -> Option<&[Vec<u8>]> {
        match &self.kind {
            Kind::Rx(r) => r.literals(),
            Kind::Pm(p) => p.prefilter_phrases(),
            _ => None,
        }
    }

    /// Runs the operator on one value; true means "matched" (before any `!` negation).
    pub fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        match &self.kind {
            Kind::Rx(r) => r.evaluate(input, env),
            Kind::Pm(p) => p.evaluate(input, env),
            Kind::Str(op, arg) => {
                let arg = arg.resolve(env).into_owned();
                let matched = op.evaluate(input, arg.as_bytes());
                if matched && env.capture_enabled() && op.captures() {
                    env.capture(0, arg.as_bytes());
                }
                matched
            }
            Kind::Num(op, arg) => {
                let arg = arg.resolve(env);
                op.evaluate(input, &arg)
            }
            Kind::ValidateByteRange(r) => r.evaluate(input),
            Kind::ValidateUrlEncoding => validate::invalid_url_encoding(input),
            Kind::ValidateUtf8Encoding => validate::invalid_utf8(input),
            Kind::IpMatch(set) => set.evaluate(input),
            Kind::DetectSqli => match detect_sqli(input) {
                Some(fp) => {
                    if env.capture_enabled() {
                        env.capture(0, fp.as_bytes());
                    }
                    true
                }
                None => false,
            },
            Kind::DetectXss => {
                let hit = detect_xss(input);
                if hit && env.capture_enabled() {
                    env.capture(0, input);
                }
                hit
            }
            Kind::Unconditional => true,
            Kind::NoMatch => false,
            Kind::GeoLookup => geo_lookup(input, env),
            Kind::VerifyCc(r) => r.verify_cc(input, env),
        }
    }

    /// The operator's name as written in rule logs (`rx`, `pm`, …).
    pub fn name(&self) -> &'static str {
        match &self.kind {
            Kind::Rx(_) => "rx",
            Kind::Pm(_) => "pm",
            Kind::Str(op, _) => op.name(),
            Kind::Num(op, _) => op.name(),
            Kind::ValidateByteRange(_) => "validateByteRange",
            Kind::ValidateUrlEncoding => "validateUrlEncoding",
            Kind::ValidateUtf8Encoding => "validateUtf8Encoding",
            Kind::IpMatch(_) => "ipMatch",
            Kind::DetectSqli => "detectSQLi",
            Kind::DetectXss => "detectXSS",
            Kind::Unconditional => "unconditionalMatch",
            Kind::NoMatch => "noMatch",
            Kind::GeoLookup => "geoLookup",
            Kind::VerifyCc(_) => "verifyCC",
        }
    }
}

/// `@geoLookup`: matches when the engine's geo provider knows the address (ModSecurity also fills `GEO`).
fn geo_lookup(input: &[u8], env: &mut dyn OperatorEnv) -> bool {
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let Ok(ip) = text.trim().parse::<IpAddr>() else {
        return false;
    };
    env.geo_country(ip).is_some()
}

/// libinjection SQLi: the fingerprint when `input` looks like SQL injection.
fn detect_sqli(input: &[u8]) -> Option<String> {
    portcullis_waf_injection::detect_sqli(input).map(|fp| fp.as_str().to_owned())
}

/// libinjection XSS.
fn detect_xss(input: &[u8]) -> bool {
    portcullis_waf_injection::detect_xss(input)
}

#[cfg(test)]
mod tests;
