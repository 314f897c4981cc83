//! `@rx`: PCRE patterns run on the linear-time `regex` crate.
//!
//! ModSecurity 3 compiles `@rx` with `PCRE_DOTALL | PCRE_MULTILINE` (`.` matches newlines, `^`/`$` match at line
//! boundaries) and without UTF mode, so classes such as `\w` and case-insensitivity are ASCII-only and `.` is one
//! byte. We compile with the same flags (`(?sm)`, Unicode off) after [`translate_pcre`] rewrote the PCRE-only
//! syntax. Constructs that need backtracking are handled without a backtracking engine:
//! - a trailing negative look-ahead of a literal (`<\?(?!xml)`, 953120) is rewritten into an equivalent
//!   alternation by [`translate_pcre`];
//! - a negative look-behind at the start of a top-level alternative followed by one literal byte (920120's
//!   `(?<!&(?:…uml)|…);|['"=]`) becomes a scan for that byte plus a bounded look-behind check ([`LookBehind`]);
//! - 942130's tautology detector (`w1 op w2` with the back-reference `\1`) is a dedicated linear evaluator in
//!   [`tautology`](super::tautology) because "same word"/"different word" is not a regular language.
//!
//! Patterns containing `%{…}` macros are expanded per evaluation and compiled through a small bounded cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use regex::bytes::{Regex, RegexBuilder};

use super::pcre::{translate, translate_pcre};
use super::{OperatorEnv, OperatorError, has_macro};

/// Compiled-size limit for one pattern (CRS's biggest patterns need a few MB with Unicode off).
const SIZE_LIMIT: usize = 64 << 20;
/// How many expanded macro patterns one operator keeps compiled.
const CACHE_LIMIT: usize = 64;
/// How far back a look-behind is checked; look-behinds must be bounded (checked at translation).
const LOOKBEHIND_WINDOW: usize = 64;

/// A compiled `@rx` operator.
#[derive(Debug, Clone)]
pub(crate) struct RxOp {
    kind: RxKind,
    /// Necessary literals of a plain static pattern (see [`super::literals`]), for the engine's prefilter.
    literals: Option<Arc<[Vec<u8>]>>,
}

#[derive(Debug, Clone)]
enum RxKind {
    Static(Arc<Matcher>),
    Macro {
        pattern: crate::macros::MacroText,
        cache: Arc<Mutex<HashMap<String, Arc<Matcher>>>>,
    },
}

/// One compiled pattern: either a plain regex or a special-case evaluator.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// A plain translated regex; the flag is true when it uses `^` (see [`Matcher::evaluate`]).
    Plain(Regex, bool),
    /// `(?<!X)c|rest`: the byte `c` not preceded by `X`, or `rest`.
    LookBehind(LookBehind),
    /// 942130's tautology detector.
    Tautology,
}

/// `(?<!behind)byte|rest`.
#[derive(Debug)]
pub(crate) struct LookBehind {
    /// `(?:behind)\z`, run on a bounded window before each candidate byte.
    behind: Regex,
    /// The literal that must not be preceded by `behind`.
    byte: u8,
    /// The other alternatives, if any.
    rest: Option<Regex>,
}

impl RxOp {
    /// Compiles `pattern` (or prepares it for per-evaluation expansion when it has macros).
    pub(crate) fn new(pattern: &str) -> Result<Self, OperatorError> {
        if has_macro(pattern) {
            return Ok(Self {
                kind: RxKind::Macro {
                    pattern: crate::macros::MacroText::parse(pattern),
                    cache: Arc::default(),
                },
                literals: None,
            });
        }
        let m = compile(pattern)?;
        let literals = match &m {
            Matcher::Plain(..) => translate(pattern)
                .ok()
                .and_then(|(t, _)| super::literals::necessary(&t))
                .map(Arc::from),
            _ => None,
        };
        Ok(Self {
            kind: RxKind::Static(Arc::new(m)),
            literals,
        })
    }

    /// Literals one of which every match contains (lowercase, compared ASCII case-insensitively).
    pub(crate) fn literals(&self) -> Option<&[Vec<u8>]> {
        self.literals.as_deref()
    }

    pub(crate) fn needs_expansion(&self) -> bool {
        matches!(self.kind, RxKind::Macro { .. })
    }

    fn matcher(&self, env: &dyn OperatorEnv) -> Option<Arc<Matcher>> {
        match &self.kind {
            RxKind::Static(m) => Some(Arc::clone(m)),
            RxKind::Macro { pattern, cache } => {
                let expanded = env.expand_parsed(pattern);
                let mut cache = cache.lock().ok()?;
                if let Some(m) = cache.get(&expanded) {
                    return Some(Arc::clone(m));
                }
                // A pattern that does not compile after expansion never matches (ModSecurity logs and fails).
                let m = Arc::new(compile(&expanded).ok()?);
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(expanded, Arc::clone(&m));
                Some(m)
            }
        }
    }

    pub(crate) fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        if let RxKind::Static(m) = &self.kind {
            return m.evaluate(input, env);
        }
        let Some(m) = self.matcher(env) else {
            return false;
        };
        m.evaluate(input, env)
    }

    /// `@verifyCC`: a regex match whose matched digits pass the Luhn check.
    pub(crate) fn verify_cc(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        let Some(m) = self.matcher(env) else {
            return false;
        };
        let Matcher::Plain(re, _) = &*m else {
            return false;
        };
        for found in re.find_iter(input) {
            if luhn(found.as_bytes()) {
                if env.capture_enabled() {
                    env.capture(0, found.as_bytes());
                }
                return true;
            }
        }
        false
    }
}

/// The Luhn checksum over the digits of `s` (other bytes ignored); needs at least 13 digits.
fn luhn(s: &[u8]) -> bool {
    let digits: Vec<u32> = s
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| u32::from(b - b'0'))
        .collect();
    if digits.len() < 13 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl Matcher {
    /// Runs the matcher, storing captures when the environment asks for them.
    pub(crate) fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        match self {
            Self::Plain(re, line_start) => {
                // PCRE's multiline `^` never matches after a newline that ends the subject; `regex`'s does. An
                // empty match at the very end after such a newline (`^$` on "a\n") is therefore not a PCRE match.
                let pcre_end_quirk = *line_start && input.last() == Some(&b'\n');
                if !env.capture_enabled() {
                    return if pcre_end_quirk {
                        // leftmost match: if it starts at the end, no earlier one exists
                        re.find(input).is_some_and(|m| m.start() < input.len())
                    } else {
                        re.is_match(input)
                    };
                }
                // Most values do not match: the match-only search is much cheaper than resolving captures.
                if !re.is_match(input) {
                    return false;
                }
                let Some(caps) = re.captures(input) else {
                    return false;
                };
                if pcre_end_quirk && caps.get(0).is_some_and(|m| m.start() == input.len()) {
                    return false;
                }
                for i in 0..caps.len().min(10) {
                    let v = caps.get(i).map_or(&b""[..], |m| m.as_bytes());
                    env.capture(i, v);
                }
                true
            }
            Self::LookBehind(lb) => lb.evaluate(input, env),
            Self::Tautology => match super::tautology::find(input) {
                Some(t) => {
                    if env.capture_enabled() {
                        env.capture(0, input.get(t.start..t.end).unwrap_or_default());
                        env.capture(1, input.get(t.word.0..t.word.1).unwrap_or_default());
                    }
                    true
                }
                None => false,
            },
        }
    }
}

impl LookBehind {
    fn evaluate(&self, input: &[u8], env: &mut dyn OperatorEnv) -> bool {
        let mut first: Option<usize> = None;
        for (pos, _) in input.iter().enumerate().filter(|&(_, &b)| b == self.byte) {
            let window = input
                .get(pos.saturating_sub(LOOKBEHIND_WINDOW)..pos)
                .unwrap_or_default();
            if !self.behind.is_match(window) {
                first = Some(pos);
                break;
            }
        }
        let rest = self
            .rest
            .as_ref()
            .and_then(|r| r.find(input))
            .map(|m| (m.start(), m.end()));
        let hit = match (first, rest) {
            (Some(p), Some((s, e))) => Some(if p <= s { (p, p + 1) } else { (s, e) }),
            (Some(p), None) => Some((p, p + 1)),
            (None, r) => r,
        };
        match hit {
            Some((s, e)) => {
                if env.capture_enabled() {
                    env.capture(0, input.get(s..e).unwrap_or_default());
                }
                true
            }
            None => false,
        }
    }
}

/// Compiles a PCRE pattern with ModSecurity's flags.
pub(crate) fn compile(pattern: &str) -> Result<Matcher, OperatorError> {
    let err = |reason: String| OperatorError::Regex {
        pattern: pattern.to_owned(),
        reason,
    };
    if super::tautology::recognise(pattern) {
        return Ok(Matcher::Tautology);
    }
    if let Some((behind, byte, rest)) = split_lookbehind(pattern) {
        let behind =
            build(&format!("(?:{})\\z", translate_pcre(behind).map_err(err)?)).map_err(err)?;
        let rest = match rest {
            Some(r) => Some(build(&translate_pcre(r).map_err(err)?).map_err(err)?),
            None => None,
        };
        return Ok(Matcher::LookBehind(LookBehind { behind, byte, rest }));
    }
    let (translated, line_start) = translate(pattern).map_err(err)?;
    Ok(Matcher::Plain(build(&translated).map_err(err)?, line_start))
}

fn build(translated: &str) -> Result<Regex, String> {
    RegexBuilder::new(translated)
        .unicode(false)
        .dot_matches_new_line(true)
        .multi_line(true)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| e.to_string())
}

/// Recognises `(?<!X)c|rest` (or `(?<!X)c` alone) where `X` is bounded and `c` one literal byte.
fn split_lookbehind(pattern: &str) -> Option<(&str, u8, Option<&str>)> {
    let body = pattern.strip_prefix("(?<!")?;
    let close = matching_paren(body)?;
    let behind = body.get(..close)?;
    if behind.contains(['*', '+']) || behind.contains(",}") {
        return None;
    }
    let after = body.get(close + 1..)?;
    let (lit, rest) = match after.split_once('|') {
        Some((l, r)) => (l, Some(r)),
        None => (after, None),
    };
    let byte = match lit.as_bytes() {
        [b] if b.is_ascii_alphanumeric() || b";:,'\"=&<>@%!/".contains(b) => *b,
        [b'\\', b] if !b.is_ascii_alphanumeric() => *b,
        _ => return None,
    };
    // `rest` must be a complete set of top-level alternatives: reject if `|` was inside a group.
    if rest.is_some_and(|r| depth_after(r) != 0) {
        return None;
    }
    Some((behind, byte, rest))
}

/// The index of the `)` closing the group whose body starts at `s` (escapes and classes respected).
fn matching_paren(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (mut depth, mut i, mut in_class) = (0usize, 0usize, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The net parenthesis depth of `s` (0 when balanced).
fn depth_after(s: &str) -> isize {
    let b = s.as_bytes();
    let (mut depth, mut i, mut in_class) = (0isize, 0usize, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => depth += 1,
            b')' if !in_class => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    depth
}
