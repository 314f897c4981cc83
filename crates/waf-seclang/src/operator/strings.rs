//! String comparison operators: `@streq`, `@strmatch`, `@contains`, `@containsWord`, `@beginsWith`,
//! `@endsWith`, `@within`. All are case-sensitive byte comparisons, as in ModSecurity.

/// Which string operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    /// The input equals the argument.
    StrEq,
    /// The argument occurs in the input (ModSecurity uses Boyer-Moore-Horspool; same result).
    StrMatch,
    /// The argument occurs in the input.
    Contains,
    /// The argument occurs in the input delimited by non-word characters or the ends.
    ContainsWord,
    /// The input starts with the argument.
    BeginsWith,
    /// The input ends with the argument.
    EndsWith,
    /// The input occurs in the argument (`@within GET HEAD POST` matches `GET`, and also `ET H`: a substring
    /// test, exactly as ModSecurity 3; an empty input matches).
    Within,
}

impl StrOp {
    /// Whether the operator, on a match, stores the argument in `TX:0` when `capture` is on.
    pub(crate) fn captures(self) -> bool {
        !matches!(self, Self::StrEq)
    }

    /// The operator's SecLang name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::StrEq => "streq",
            Self::StrMatch => "strmatch",
            Self::Contains => "contains",
            Self::ContainsWord => "containsWord",
            Self::BeginsWith => "beginsWith",
            Self::EndsWith => "endsWith",
            Self::Within => "within",
        }
    }

    /// Runs the comparison.
    pub(crate) fn evaluate(self, input: &[u8], arg: &[u8]) -> bool {
        match self {
            Self::StrEq => input == arg,
            Self::StrMatch | Self::Contains => contains(input, arg),
            Self::ContainsWord => contains_word(input, arg),
            Self::BeginsWith => input.starts_with(arg),
            Self::EndsWith => input.ends_with(arg),
            Self::Within => input.is_empty() || contains(arg, input),
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn contains_word(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len()).enumerate().any(|(i, w)| {
        w == needle
            && (i == 0 || !hay.get(i - 1).is_some_and(|&b| is_word(b)))
            && !hay.get(i + needle.len()).is_some_and(|&b| is_word(b))
    })
}

#[cfg(test)]
mod tests {
    use super::StrOp::*;

    #[test]
    fn semantics() {
        assert!(StrEq.evaluate(b"abc", b"abc"));
        assert!(!StrEq.evaluate(b"abc", b"ABC"));
        assert!(Contains.evaluate(b"xxabcxx", b"abc"));
        assert!(StrMatch.evaluate(b"xxabcxx", b"abc"));
        assert!(ContainsWord.evaluate(b"a abc b", b"abc"));
        assert!(ContainsWord.evaluate(b"abc", b"abc"));
        assert!(!ContainsWord.evaluate(b"xabc", b"abc"));
        assert!(BeginsWith.evaluate(b"abcdef", b"abc"));
        assert!(!BeginsWith.evaluate(b"ab", b"abc"));
        assert!(EndsWith.evaluate(b"x.php", b".php"));
        assert!(Within.evaluate(b"GET", b"GET HEAD POST"));
        assert!(!Within.evaluate(b"PUT", b"GET HEAD POST"));
        assert!(Within.evaluate(b"ET H", b"GET HEAD POST"));
        assert!(Within.evaluate(b"", b"GET"));
    }
}
