//! `Cookie` header parsing, ModSecurity 3 style (`SecCookieFormat 0`).
//!
//! Every `Cookie` header is processed in order:
//! - the value is split on `;`; trailing whitespace (C `isspace`) of the last piece is dropped;
//! - empty pieces are skipped (`;;a=1` gives one cookie);
//! - a piece is split at its first `=` into name and value (`a=b=c` → `a` / `b=c`); a piece without `=` is a
//!   cookie with that name and an empty value;
//! - leading whitespace (C `isspace`) of the name is removed; the value is kept verbatim (no trimming, no URL decoding);
//! - a piece whose name is empty after trimming (`=x`, `  =x`) is skipped.
//!
//! Raw and decoded forms of the returned [`Param`]s are identical (the name's raw form is trimmed too).

use crate::query::Param;
use crate::request::Request;

/// C `isspace` in the "C" locale (includes vertical tab, unlike `u8::is_ascii_whitespace`).
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses every `Cookie` header of `request`.
pub fn parse(request: &Request) -> Vec<Param> {
    let mut out = Vec::new();
    for value in request.header_values("cookie") {
        parse_header_into(value, |name, val| out.push(Param::plain(name, val)));
    }
    out
}

/// Like [`parse`], borrowing: `(name, value)` slices of the request's `Cookie` headers, in order.
pub fn parse_pairs(request: &Request) -> Vec<(&[u8], &[u8])> {
    let mut out = Vec::new();
    for value in request.header_values("cookie") {
        // Room for a browser's few cookies without growing the list (from four to eight: a copy of each).
        out.reserve(8);
        parse_header_into(value, |name, val| out.push((name, val)));
    }
    out
}

/// Parses one `Cookie` header value.
pub fn parse_header(value: &[u8]) -> Vec<Param> {
    let mut out = Vec::new();
    parse_header_into(value, |name, val| out.push(Param::plain(name, val)));
    out
}

/// Calls `f(name, value)` for every cookie of one `Cookie` header value.
fn parse_header_into<'a>(value: &'a [u8], mut f: impl FnMut(&'a [u8], &'a [u8])) {
    // The pieces between `;`s, found with `memchr` (a browser sends a dozen cookies in one header).
    let mut rest = Some(value);
    while let Some(left) = rest {
        let mut piece = match memchr::memchr(b';', left) {
            Some(i) => {
                rest = left.get(i + 1..);
                left.get(..i).unwrap_or_default()
            }
            None => {
                rest = None;
                left
            }
        };
        if rest.is_none() {
            while let [before @ .., c] = piece
                && is_c_space(*c)
            {
                piece = before;
            }
        }
        if piece.is_empty() {
            continue;
        }
        let (name, val) = match memchr::memchr(b'=', piece) {
            Some(p) => (
                piece.get(..p).unwrap_or(&[]),
                piece.get(p + 1..).unwrap_or(&[]),
            ),
            None => (piece, &[][..]),
        };
        let skip = name.iter().take_while(|&&c| is_c_space(c)).count();
        let name = name.get(skip..).unwrap_or(&[]);
        if name.is_empty() {
            continue;
        }
        f(name, val);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(ps: &[Param]) -> Vec<(&[u8], &[u8])> {
        ps.iter()
            .map(|p| (p.name.as_slice(), p.value.as_slice()))
            .collect()
    }

    #[test]
    fn basic_cookies() {
        let ps = parse_header(b"a=1; b=x%20y;c=d=e; flag;;  =skip; z=2  ");
        assert_eq!(
            names_values(&ps),
            vec![
                (&b"a"[..], &b"1"[..]),
                (b"b", b"x%20y"),
                (b"c", b"d=e"),
                (b"flag", b""),
                (b"z", b"2"),
            ]
        );
    }

    #[test]
    fn value_spaces_kept_except_trailing_of_last() {
        let ps = parse_header(b"a= 1 ;b=2 \t\x0b");
        assert_eq!(ps[0].value, b" 1 ");
        assert_eq!(ps[1].value, b"2");
        let ps = parse_header(b"\x0b\tk=v");
        assert_eq!(ps[0].name, b"k");
    }

    #[test]
    fn all_cookie_headers() {
        let r = Request::builder()
            .header("Cookie", "a=1")
            .header("X", "y=2")
            .header("COOKIE", "b=2; c")
            .build();
        let ps = parse(&r);
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[2].name, b"c");
    }

    /// The parser before borrowing (a list of pieces, owned parameters), kept to check the new one against.
    fn parse_header_reference(value: &[u8]) -> Vec<Param> {
        let mut out = Vec::new();
        let pieces: Vec<&[u8]> = value.split(|&b| b == b';').collect();
        let last = pieces.len().saturating_sub(1);
        for (i, mut piece) in pieces.into_iter().enumerate() {
            if i == last {
                while let [rest @ .., c] = piece
                    && is_c_space(*c)
                {
                    piece = rest;
                }
            }
            if piece.is_empty() {
                continue;
            }
            let (name, val) = match piece.iter().position(|&b| b == b'=') {
                Some(p) => (&piece[..p], &piece[p + 1..]),
                None => (piece, &[][..]),
            };
            let skip = name.iter().take_while(|&&c| is_c_space(c)).count();
            let name = &name[skip..];
            if name.is_empty() {
                continue;
            }
            out.push(Param::plain(name, val));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn borrowed_and_owned_parses_agree(
            raw in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b';'),
                proptest::strategy::Just(b'='), proptest::strategy::Just(b' '), proptest::strategy::Just(b'\t'),
                proptest::strategy::Just(b'a'), proptest::prelude::any::<u8>()], 0..64),
            second in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
        ) {
            let want = parse_header_reference(&raw);
            proptest::prop_assert_eq!(&parse_header(&raw), &want);
            let r = Request::builder()
                .header("Cookie", raw.clone())
                .header("cookie", second.clone())
                .build();
            let mut want_all = want.clone();
            want_all.extend(parse_header_reference(&second));
            let pairs: Vec<Param> = parse_pairs(&r).into_iter().map(|(n, v)| Param::plain(n, v)).collect();
            proptest::prop_assert_eq!(&pairs, &want_all);
            proptest::prop_assert_eq!(&parse(&r), &want_all);
        }

        #[test]
        fn never_panics_and_names_are_trimmed(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            for p in parse_header(&raw) {
                proptest::prop_assert!(!p.name.is_empty());
                proptest::prop_assert!(!is_c_space(p.name[0]));
                proptest::prop_assert!(!p.name.contains(&b';') && !p.name.contains(&b'='));
            }
        }
    }

    #[test]
    fn empty_header() {
        assert!(parse_header(b"").is_empty());
        assert!(parse_header(b" ; ;").is_empty());
    }
}
