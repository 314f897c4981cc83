//! `application/x-www-form-urlencoded` bodies: the same splitting and decoding as the query string.

use crate::query::{self, Param};

/// Parses a URL-encoded body with the `&` separator.
pub fn parse(body: &[u8]) -> Vec<Param> {
    query::parse(body)
}

/// Parses a URL-encoded body with a custom separator (ModSecurity `SecArgumentSeparator`).
pub fn parse_with_separator(body: &[u8], sep: u8) -> Vec<Param> {
    query::parse_with_separator(body, sep)
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_as_query() {
        let ps = super::parse(b"user=a+b&pass=%27or%201%3D1--");
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].value, b"a b");
        assert_eq!(ps[1].value, b"'or 1=1--");
    }
}
