//! Numeric comparisons `@eq`, `@ge`, `@gt`, `@le`, `@lt`.
//!
//! Both sides are read the way ModSecurity reads them (C `atoi`-like): optional leading whitespace and sign, then
//! the leading decimal digits; anything non-numeric reads as 0 (so `@eq 0` matches an empty value).

/// Which comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumOp {
    /// `input == arg`.
    Eq,
    /// `input >= arg`.
    Ge,
    /// `input > arg`.
    Gt,
    /// `input <= arg`.
    Le,
    /// `input < arg`.
    Lt,
}

impl NumOp {
    /// The operator's SecLang name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ge => "ge",
            Self::Gt => "gt",
            Self::Le => "le",
            Self::Lt => "lt",
        }
    }

    /// Compares the input with the (expanded) argument.
    pub(crate) fn evaluate(self, input: &[u8], arg: &str) -> bool {
        let a = parse_int(input);
        let b = parse_int(arg.as_bytes());
        match self {
            Self::Eq => a == b,
            Self::Ge => a >= b,
            Self::Gt => a > b,
            Self::Le => a <= b,
            Self::Lt => a < b,
        }
    }
}

/// `atoi`-like: leading whitespace, optional sign, leading digits; saturates instead of overflowing.
pub(crate) fn parse_int(s: &[u8]) -> i64 {
    let mut it = s
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .peekable();
    let neg = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    for b in it.take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like() {
        assert_eq!(parse_int(b"42"), 42);
        assert_eq!(parse_int(b"  -7x"), -7);
        assert_eq!(parse_int(b"abc"), 0);
        assert_eq!(parse_int(b""), 0);
        assert_eq!(parse_int(b"99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn comparisons() {
        assert!(NumOp::Eq.evaluate(b"", "0"));
        assert!(NumOp::Ge.evaluate(b"5", "5"));
        assert!(NumOp::Gt.evaluate(b"6", "5"));
        assert!(!NumOp::Lt.evaluate(b"5", "5"));
        assert!(NumOp::Le.evaluate(b"1", "2"));
    }
}
