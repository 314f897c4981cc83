//! Wildcard patterns and policy variables.
//!
//! A [`Template`] is a policy string (a resource, an action or a condition value) split into
//! text and `${...}` policy variables. Resolving it against a request yields [`Tok`]ens:
//! in the policy's own text `*` and `?` are wildcards, while text substituted for a variable
//! (and the escapes `${*}`, `${?}`, `${$}`) is always literal, so a user name can never
//! widen a pattern. A variable with no value (and no default) makes the whole string
//! unresolvable, which callers treat as "does not match".

use super::context::{ContextValue, RequestContext};

/// One element of a resolved pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A character that must match itself.
    Lit(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A piece of a policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Policy text, whose `*` and `?` are wildcards.
    Text(String),
    /// A literal character from `${*}`, `${?}` or `${$}`.
    Escaped(char),
    /// `${key}` or `${key, 'default'}`.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A policy string with its policy variables found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Splits `s` into text and variables; with `variables` false (a 2008-10-17 policy)
    /// `${...}` is plain text.
    pub(crate) fn parse(s: &str, variables: bool) -> Self {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while !rest.is_empty() {
            let found = if variables { rest.find("${") } else { None };
            let Some(start) = found else {
                text.push_str(rest);
                break;
            };
            let (before, after) = rest.split_at(start);
            text.push_str(before);
            let inner_and_more = after.get(2..).unwrap_or("");
            let parsed = inner_and_more.find('}').and_then(|end| {
                let inner = inner_and_more.get(..end)?;
                Some((parse_variable(inner)?, inner_and_more.get(end + 1..)?))
            });
            match parsed {
                Some((piece, more)) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(piece);
                    rest = more;
                }
                None => {
                    text.push_str("${");
                    rest = inner_and_more;
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Self { pieces }
    }

    /// Substitutes the request's values; `None` when a variable has no value.
    pub(crate) fn resolve(&self, ctx: &RequestContext) -> Option<Vec<Tok>> {
        let mut toks = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => toks.extend(t.chars().map(wild)),
                Piece::Escaped(c) => toks.push(Tok::Lit(*c)),
                Piece::Var { key, default } => {
                    let value = match ctx.lookup(key).as_deref() {
                        Some(ContextValue::Single(v)) => v.clone(),
                        _ => default.clone()?,
                    };
                    toks.extend(value.chars().map(Tok::Lit));
                }
            }
        }
        Some(toks)
    }
}

/// Parses the inside of `${...}`; `None` if it is not a variable.
fn parse_variable(inner: &str) -> Option<Piece> {
    match inner.trim() {
        "*" => return Some(Piece::Escaped('*')),
        "?" => return Some(Piece::Escaped('?')),
        "$" => return Some(Piece::Escaped('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let quoted = default.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(quoted.to_owned()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty() && !key.chars().any(|c| c.is_whitespace() || "${}'".contains(c));
    valid.then(|| Piece::Var {
        key: key.to_owned(),
        default,
    })
}

/// Tokens of a string with no variables: `*` and `?` are wildcards.
pub(crate) fn wildcard_tokens(s: &str) -> Vec<Tok> {
    s.chars().map(wild).collect()
}

/// The token for one character of policy text.
fn wild(c: char) -> Tok {
    match c {
        '*' => Tok::Star,
        '?' => Tok::One,
        c => Tok::Lit(c),
    }
}

/// The literal string of resolved tokens, wildcards written back as `*` and `?`.
pub(crate) fn literal(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Star => '*',
            Tok::One => '?',
        })
        .collect()
}

/// Whether `text` matches the wildcard pattern `pat`, optionally ignoring case.
///
/// Linear backtracking over the last `*` seen, so no input can make it exponential.
pub(crate) fn glob(pat: &[Tok], text: &str, ignore_case: bool) -> bool {
    // Actions and ARNs are nearly always ASCII: each byte is then one character, so the
    // match runs on the bytes without collecting the characters first (every policy
    // statement of every call matches a few of these).
    if text.is_ascii() {
        glob_in(pat, text.as_bytes(), char::from, ignore_case)
    } else {
        let chars: Vec<char> = text.chars().collect();
        glob_in(pat, &chars, |c| c, ignore_case)
    }
}

/// [`glob`] over `text` as a slice of characters, each read through `as_char`.
fn glob_in<T: Copy>(
    pat: &[Tok],
    text: &[T],
    as_char: impl Fn(T) -> char,
    ignore_case: bool,
) -> bool {
    let same = |a: char, b: char| a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        match (pat.get(p), text.get(t)) {
            (Some(Tok::Star), _) => {
                backtrack = Some((p, t));
                p += 1;
            }
            (Some(Tok::One), Some(_)) => {
                p += 1;
                t += 1;
            }
            (Some(Tok::Lit(a)), Some(b)) if same(*a, as_char(*b)) => {
                p += 1;
                t += 1;
            }
            (None, None) => return true,
            _ => match backtrack {
                Some((star, from)) if from < text.len() => {
                    backtrack = Some((star, from + 1));
                    p = star + 1;
                    t = from + 1;
                }
                _ => return false,
            },
        }
    }
}

#[cfg(test)]
mod tests;
