//! Compiled string patterns: Sigma wildcards (`*`, `?`, `\` escapes), case folding and fast paths.
//!
//! A Sigma string value becomes one of: exact, prefix, suffix, substring (a `memchr` finder), "anything"
//! (`*`), or, for the general wildcard case, an anchored regex. Matching is case-insensitive unless the
//! `cased` modifier is used; literals are folded once at compile time.

use std::borrow::Cow;

use memchr::memmem::Finder;
use regex::Regex;

/// How the `contains`/`startswith`/`endswith` modifiers wrap a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrap {
    /// Plain value: the whole field must match.
    None,
    /// `contains`: `*value*`.
    Contains,
    /// `startswith`: `value*`.
    StartsWith,
    /// `endswith`: `*value`.
    EndsWith,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Star,
    One,
}

/// Splits a Sigma value into literal runs and wildcards.
fn tokenize(raw: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                let t = if c == '*' { Tok::Star } else { Tok::One };
                if !(t == Tok::Star && out.last() == Some(&Tok::Star)) {
                    out.push(t);
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
    out
}

/// Case folding used on both sides of a case-insensitive comparison.
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Any,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<Finder<'static>>),
    Glob(Regex),
}

/// A compiled Sigma string value.
#[derive(Debug, Clone)]
pub(crate) struct StrPattern {
    kind: Kind,
    cased: bool,
}

impl StrPattern {
    /// Compiles `raw` (Sigma wildcard syntax) with the given wrap; `cased` turns off case folding.
    pub(crate) fn new(raw: &str, wrap: Wrap, cased: bool) -> Result<Self, regex::Error> {
        let mut toks = tokenize(raw);
        if matches!(wrap, Wrap::Contains | Wrap::EndsWith) && toks.first() != Some(&Tok::Star) {
            toks.insert(0, Tok::Star);
        }
        if matches!(wrap, Wrap::Contains | Wrap::StartsWith) && toks.last() != Some(&Tok::Star) {
            toks.push(Tok::Star);
        }
        let f = |s: &String| {
            if cased {
                s.clone()
            } else {
                fold(s).into_owned()
            }
        };
        let kind = match toks.as_slice() {
            [] => Kind::Exact(String::new()),
            [Tok::Star] => Kind::Any,
            [Tok::Lit(s)] => Kind::Exact(f(s)),
            [Tok::Lit(s), Tok::Star] => Kind::Prefix(f(s)),
            [Tok::Star, Tok::Lit(s)] => Kind::Suffix(f(s)),
            [Tok::Star, Tok::Lit(s), Tok::Star] => {
                Kind::Contains(Box::new(Finder::new(f(s).as_bytes()).into_owned()))
            }
            _ => {
                let mut re = String::from(if cased { "(?s)^" } else { "(?si)^" });
                for t in &toks {
                    match t {
                        Tok::Lit(s) => re.push_str(&regex::escape(s)),
                        Tok::Star => re.push_str(".*"),
                        Tok::One => re.push('.'),
                    }
                }
                re.push('$');
                Kind::Glob(regex::RegexBuilder::new(&re).size_limit(1 << 20).build()?)
            }
        };
        Ok(Self { kind, cased })
    }

    /// True when `s` matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Glob(re) => re.is_match(s),
            Kind::Exact(p) => {
                if self.cased {
                    s == p
                } else if s.is_ascii() {
                    s.eq_ignore_ascii_case(p)
                } else {
                    fold(s) == p.as_str()
                }
            }
            Kind::Prefix(p) => {
                let h = self.haystack(s);
                h.starts_with(p.as_str())
            }
            Kind::Suffix(p) => {
                let h = self.haystack(s);
                h.ends_with(p.as_str())
            }
            Kind::Contains(finder) => {
                let h = self.haystack(s);
                finder.find(h.as_bytes()).is_some()
            }
        }
    }

    fn haystack<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.cased {
            Cow::Borrowed(s)
        } else {
            fold(s)
        }
    }

    /// The exact literal this pattern requires (folded), if it is a plain case-insensitive equality.
    pub(crate) fn exact_literal(&self) -> Option<&str> {
        match &self.kind {
            Kind::Exact(p) if !self.cased => Some(p),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(raw: &str, wrap: Wrap, s: &str) -> bool {
        StrPattern::new(raw, wrap, false).unwrap().is_match(s)
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(m("abc", Wrap::None, "ABC"));
        assert!(!m("abc", Wrap::None, "abcd"));
        assert!(m("a*c", Wrap::None, "aXYZc"));
        assert!(!m("a*c", Wrap::None, "aXYZd"));
        assert!(m("a?c", Wrap::None, "abc"));
        assert!(!m("a?c", Wrap::None, "abbc"));
        assert!(m(r"a\*c", Wrap::None, "a*c"));
        assert!(!m(r"a\*c", Wrap::None, "abc"));
        assert!(m(r"a\?c", Wrap::None, "a?c"));
        assert!(!m(r"a\?c", Wrap::None, "abc"));
        assert!(m(r"c:\windows", Wrap::None, r"C:\Windows"));
        assert!(m(r"a\\*", Wrap::None, r"a\xyz"));
        assert!(m("*", Wrap::None, ""));
        assert!(m("", Wrap::None, ""));
        assert!(!m("", Wrap::None, "x"));
        assert!(m("ÄBC", Wrap::None, "äbc"));
    }

    #[test]
    fn wraps() {
        assert!(m("Sus", Wrap::Contains, "xxSUSPENDEDxx"));
        assert!(!m("Sus", Wrap::Contains, "xxSUxx"));
        assert!(m(
            "Update",
            Wrap::StartsWith,
            "UpdateFunctionConfiguration20150331v2"
        ));
        assert!(!m("Update", Wrap::StartsWith, "xUpdate"));
        assert!(m("v2", Wrap::EndsWith, "Foo20150331V2"));
        assert!(!m("v2", Wrap::EndsWith, "v2x"));
        assert!(m("*", Wrap::Contains, ""));
        assert!(m("a*b", Wrap::Contains, "xxAyyBzz"));
        assert!(!m("a*b", Wrap::Contains, "xxByyAzz"));
    }

    #[test]
    fn cased() {
        let p = StrPattern::new("Abc", Wrap::None, true).unwrap();
        assert!(p.is_match("Abc"));
        assert!(!p.is_match("abc"));
        let p = StrPattern::new("Abc", Wrap::Contains, true).unwrap();
        assert!(p.is_match("xAbcx"));
        assert!(!p.is_match("xabcx"));
    }
}
