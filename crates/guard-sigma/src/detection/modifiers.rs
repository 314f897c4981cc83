//! Modifier chains (`|contains|all`, `|re|i`, `|base64offset|contains`, ...) and the compilation of one
//! YAML value under them into a [`Matcher`].

use base64::Engine as _;
use ipnet::IpNet;
use regex::Regex;
use serde_norway::Value as Yaml;

use super::{Cmp, FieldPath, Matcher};
use crate::SigmaError;
use crate::pattern::{StrPattern, Wrap};

/// Parsed modifier chain of one key.
#[derive(Default)]
pub(super) struct Mods {
    pub(super) wrap: Option<Wrap>,
    pub(super) all: bool,
    pub(super) cased: bool,
    pub(super) neq: bool,
    pub(super) windash: bool,
    pub(super) re: Option<String>,
    pub(super) cidr: bool,
    pub(super) exists: bool,
    pub(super) fieldref: bool,
    pub(super) cmp: Option<Cmp>,
    pub(super) b64: Option<bool>,
    pub(super) utf16: Option<u8>,
}

pub(super) fn parse_mods(field: &str, mods: &[&str]) -> Result<Mods, SigmaError> {
    let mut m = Mods::default();
    let bad = |reason: &str| SigmaError::Modifier {
        field: field.to_owned(),
        reason: reason.to_owned(),
    };
    for &name in mods {
        match name {
            "contains" | "startswith" | "endswith" => {
                if m.wrap.is_some() {
                    return Err(bad("more than one of contains/startswith/endswith"));
                }
                m.wrap = Some(match name {
                    "contains" => Wrap::Contains,
                    "startswith" => Wrap::StartsWith,
                    _ => Wrap::EndsWith,
                });
            }
            "all" => m.all = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "windash" => m.windash = true,
            "re" => m.re = Some(String::new()),
            "i" | "m" | "s" => match m.re.as_mut() {
                Some(flags) => flags.push_str(name),
                None => return Err(bad("`i`/`m`/`s` are only valid after `re`")),
            },
            "cidr" => m.cidr = true,
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "lt" | "lte" | "gt" | "gte" => {
                m.cmp = Some(match name {
                    "lt" => Cmp::Lt,
                    "lte" => Cmp::Lte,
                    "gt" => Cmp::Gt,
                    _ => Cmp::Gte,
                })
            }
            "base64" => m.b64 = Some(false),
            "base64offset" => m.b64 = Some(true),
            "utf16le" | "wide" => m.utf16 = Some(0),
            "utf16be" => m.utf16 = Some(1),
            "utf16" => m.utf16 = Some(2),
            other => {
                return Err(SigmaError::UnsupportedModifier {
                    field: field.to_owned(),
                    modifier: other.to_owned(),
                });
            }
        }
    }
    let kinds = [
        m.re.is_some(),
        m.cidr,
        m.exists,
        m.fieldref && m.wrap.is_none(),
        m.cmp.is_some(),
        m.b64.is_some(),
    ];
    if kinds.iter().filter(|b| **b).count() > 1 {
        return Err(bad("incompatible modifiers"));
    }
    if m.utf16.is_some() && m.b64.is_none() {
        return Err(bad("utf16/wide needs base64 or base64offset"));
    }
    if (m.re.is_some() || m.cidr || m.exists || m.cmp.is_some()) && m.wrap.is_some() {
        return Err(bad(
            "contains/startswith/endswith cannot combine with re/cidr/exists/lt/gt",
        ));
    }
    Ok(m)
}

fn scalar_text(key: &str, v: &Yaml) -> Result<String, SigmaError> {
    match v {
        Yaml::String(s) => Ok(s.clone()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        _ => Err(SigmaError::Value {
            field: key.to_owned(),
            reason: "expected a scalar value".into(),
        }),
    }
}

pub(super) fn compile_value(
    key: &str,
    m: &Mods,
    v: &Yaml,
    keyword: bool,
) -> Result<Matcher, SigmaError> {
    let val_err = |reason: String| SigmaError::Value {
        field: key.to_owned(),
        reason,
    };
    if m.exists {
        return match v {
            Yaml::Bool(b) => Ok(Matcher::Exists(*b)),
            _ => Err(val_err("exists needs true or false".into())),
        };
    }
    if matches!(v, Yaml::Null) {
        return Ok(Matcher::Null);
    }
    if let Some(op) = m.cmp {
        let n = match v {
            Yaml::Number(n) => n.as_f64(),
            Yaml::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        return n
            .map(|n| Matcher::Cmp(op, n))
            .ok_or_else(|| val_err("lt/lte/gt/gte need a number".into()));
    }
    let text = scalar_text(key, v)?;
    if m.cidr {
        let net = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
            .map_err(|e| val_err(format!("bad CIDR `{text}`: {e}")))?;
        return Ok(Matcher::Cidr(net));
    }
    if let Some(flags) = &m.re {
        return compile_re(&text, flags).map(Matcher::Re);
    }
    if m.fieldref {
        return Ok(Matcher::FieldRef {
            other: FieldPath::new(&text),
            wrap: m.wrap.unwrap_or(Wrap::None),
            cased: m.cased,
        });
    }
    let plain = m.wrap.is_none() && !m.windash && m.b64.is_none() && !keyword;
    match v {
        Yaml::Number(n) if plain => {
            return n
                .as_f64()
                .map(Matcher::Num)
                .ok_or_else(|| val_err("bad number".into()));
        }
        Yaml::Bool(b) if plain => return Ok(Matcher::Bool(*b)),
        _ => {}
    }
    let wrap = if keyword {
        Wrap::Contains
    } else {
        m.wrap.unwrap_or(Wrap::None)
    };
    let mut variants = if m.windash {
        windash(&text)
    } else {
        vec![text]
    };
    if let Some(offset) = m.b64 {
        variants = variants
            .iter()
            .flat_map(|t| {
                let bytes = encode_utf16(t, m.utf16);
                if offset {
                    base64_offsets(&bytes)
                } else {
                    vec![base64::engine::general_purpose::STANDARD.encode(&bytes)]
                }
            })
            .map(|s| {
                s.replace('\\', "\\\\")
                    .replace('*', "\\*")
                    .replace('?', "\\?")
            })
            .collect();
    }
    let mut pats = Vec::with_capacity(variants.len());
    for t in &variants {
        // base64 output is case-sensitive by nature.
        let cased = m.cased || m.b64.is_some();
        let p = StrPattern::new(t, wrap, cased).map_err(|e| SigmaError::Regex {
            pattern: t.clone(),
            reason: e.to_string(),
        })?;
        pats.push(p);
    }
    Ok(Matcher::Str(pats))
}

fn compile_re(pattern: &str, flags: &str) -> Result<Regex, SigmaError> {
    let refuse = |reason: &str| SigmaError::Regex {
        pattern: pattern.to_owned(),
        reason: reason.to_owned(),
    };
    for (needle, what) in [
        ("(?=", "look-ahead is not supported"),
        ("(?!", "negative look-ahead is not supported"),
        ("(?<=", "look-behind is not supported"),
        ("(?<!", "negative look-behind is not supported"),
        ("(?>", "atomic groups are not supported"),
    ] {
        if pattern.contains(needle) {
            return Err(refuse(what));
        }
    }
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| refuse(&e.to_string()))
}

/// `windash`: every `-` or `/` that starts a word is tried as each Windows option dash.
fn windash(text: &str) -> Vec<String> {
    let dashes = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let mut out: Vec<String> = dashes
        .iter()
        .map(|d| {
            let mut s = String::with_capacity(text.len());
            let mut prev_space = true;
            for c in text.chars() {
                if (c == '-' || c == '/') && prev_space {
                    s.push(*d);
                } else {
                    s.push(c);
                }
                prev_space = c.is_whitespace();
            }
            s
        })
        .collect();
    out.dedup();
    out
}

fn encode_utf16(text: &str, enc: Option<u8>) -> Vec<u8> {
    match enc {
        None => text.as_bytes().to_vec(),
        Some(0) => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Some(1) => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(_) => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

/// The three base64 renderings of `bytes` as it can appear at any offset inside a longer encoded blob:
/// characters influenced by the unknown neighbouring bytes are dropped at both ends.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    let eng = base64::engine::general_purpose::STANDARD_NO_PAD;
    (0..3usize)
        .filter_map(|shift| {
            let mut buf = vec![0u8; shift];
            buf.extend_from_slice(bytes);
            let enc = eng.encode(&buf);
            let n = buf.len();
            let keep_tail = match n % 3 {
                0 => 0,
                1 => 1,
                _ => 2,
            };
            let end = (n / 3) * 4 + keep_tail;
            let start = [0usize, 2, 3].get(shift).copied().unwrap_or(0);
            enc.get(start..end)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .collect()
}
