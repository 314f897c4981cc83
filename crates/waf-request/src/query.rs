//! Query-string (and `application/x-www-form-urlencoded`) argument parsing, ModSecurity style.
//!
//! The input is split on the separator (`&` by default; empty pieces are skipped), each piece into name and value
//! on its first `=` (a piece without `=` is a name with an empty value), and both are decoded leniently:
//! `+` becomes a space, `%XX` with two hex digits becomes that byte, and any other `%` is kept as-is.

use std::borrow::Cow;

/// One argument: decoded name/value plus the raw text as it appeared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param {
    /// The decoded name.
    pub name: Vec<u8>,
    /// The decoded value.
    pub value: Vec<u8>,
    /// The name as it appeared in the input.
    pub raw_name: Vec<u8>,
    /// The value as it appeared in the input.
    pub raw_value: Vec<u8>,
}

impl Param {
    /// A parameter whose raw and decoded forms are identical.
    pub fn plain(name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        let name = name.into();
        let value = value.into();
        Self {
            raw_name: name.clone(),
            raw_value: value.clone(),
            name,
            value,
        }
    }

    /// The decoded name as (lossy) UTF-8, for logs and selectors.
    pub fn name_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }
}

/// Parses `raw` (a query string without the leading `?`) with the `&` separator.
pub fn parse(raw: &[u8]) -> Vec<Param> {
    parse_with_separator(raw, b'&')
}

/// Parses `raw` with a custom separator (ModSecurity `SecArgumentSeparator`).
pub fn parse_with_separator(raw: &[u8], sep: u8) -> Vec<Param> {
    let mut out = Vec::new();
    for_each_piece(raw, sep, |raw_name, raw_value| {
        out.push(Param {
            name: form_decode(raw_name).into_owned(),
            value: form_decode(raw_value).into_owned(),
            raw_name: raw_name.to_vec(),
            raw_value: raw_value.to_vec(),
        });
    });
    out
}

/// One argument borrowed from the parsed input: no copy of the raw text, and the decoded name is borrowed
/// too when it needed no decoding. The decoded value is computed on demand ([`ParamRef::value`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRef<'a> {
    /// The decoded name.
    pub name: Cow<'a, [u8]>,
    /// The name as it appeared in the input.
    pub raw_name: &'a [u8],
    /// The value as it appeared in the input.
    pub raw_value: &'a [u8],
}

impl ParamRef<'_> {
    /// The decoded value (borrowed when nothing needed decoding).
    pub fn value(&self) -> Cow<'_, [u8]> {
        form_decode(self.raw_value)
    }

    /// The owned [`Param`] with the same content.
    pub fn to_param(&self) -> Param {
        Param {
            name: self.name.to_vec(),
            value: self.value().into_owned(),
            raw_name: self.raw_name.to_vec(),
            raw_value: self.raw_value.to_vec(),
        }
    }
}

/// Like [`parse`], borrowing from `raw` instead of copying: `parse_ref(raw)[i].to_param() == parse(raw)[i]`.
pub fn parse_ref(raw: &[u8]) -> Vec<ParamRef<'_>> {
    parse_ref_with_separator(raw, b'&')
}

/// Like [`parse_with_separator`], borrowing from `raw`.
pub fn parse_ref_with_separator(raw: &[u8], sep: u8) -> Vec<ParamRef<'_>> {
    if raw.is_empty() {
        return Vec::new();
    }
    // Room for the arguments of most queries without growing the list (from four to eight: a copy of each).
    let mut out = Vec::with_capacity(8);
    for_each_piece(raw, sep, |raw_name, raw_value| {
        out.push(ParamRef {
            name: form_decode(raw_name),
            raw_name,
            raw_value,
        });
    });
    out
}

/// Calls `f(raw_name, raw_value)` for every non-empty `sep`-separated piece of `raw`.
fn for_each_piece<'a>(raw: &'a [u8], sep: u8, mut f: impl FnMut(&'a [u8], &'a [u8])) {
    for piece in raw.split(|&b| b == sep).filter(|piece| !piece.is_empty()) {
        match piece.iter().position(|&b| b == b'=') {
            Some(i) => f(
                piece.get(..i).unwrap_or(&[]),
                piece.get(i + 1..).unwrap_or(&[]),
            ),
            None => f(piece, &[]),
        }
    }
}

/// Lenient form decoding: `+` → space, `%XX` → byte, invalid `%` sequences kept verbatim.
pub fn form_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| b == b'+' || b == b'%') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// Percent-decoding without `+` handling (ModSecurity's `uri_decode`, used for `REQUEST_FILENAME` and
/// `REQUEST_URI`): `%XX` with two hex digits becomes that byte, everything else is kept.
pub fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex_val),
                input.get(i + 2).copied().and_then(hex_val),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// The value of one ASCII hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(raw: &[u8]) -> Vec<(String, String)> {
        parse(raw)
            .into_iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(&p.name).into_owned(),
                    String::from_utf8_lossy(&p.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn splits_and_decodes() {
        assert_eq!(
            pairs(b"a=1&b=x+y%20z&&c&d=&=e&f=g=h"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y z".into()),
                ("c".into(), "".into()),
                ("d".into(), "".into()),
                ("".into(), "e".into()),
                ("f".into(), "g=h".into()),
            ]
        );
    }

    #[test]
    fn invalid_percent_kept() {
        let p = parse(b"n%zz=%4%41%");
        assert_eq!(p[0].name, b"n%zz");
        assert_eq!(p[0].value, b"%4A%");
        assert_eq!(p[0].raw_value, b"%4%41%");
    }

    #[test]
    fn custom_separator() {
        let p = parse_with_separator(b"a=1;b=2&c", b';');
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].value, b"2&c");
    }

    #[test]
    fn percent_decode_keeps_plus() {
        assert_eq!(&*percent_decode(b"/a%20b+c%2e%2E/%zz%"), b"/a b+c../%zz%");
        assert!(matches!(percent_decode(b"/plain+path"), Cow::Borrowed(_)));
    }

    #[test]
    fn borrowed_when_plain() {
        assert!(matches!(form_decode(b"abc"), Cow::Borrowed(_)));
        assert_eq!(&*form_decode(b"%00%ff"), &[0u8, 0xff][..]);
    }

    /// The parser before borrowing (owned copies of every part), kept to check the borrowing one against.
    fn parse_owned_reference(raw: &[u8], sep: u8) -> Vec<Param> {
        raw.split(|&b| b == sep)
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let (raw_name, raw_value) = match piece.iter().position(|&b| b == b'=') {
                    Some(i) => (&piece[..i], &piece[i + 1..]),
                    None => (piece, &[][..]),
                };
                Param {
                    name: form_decode(raw_name).into_owned(),
                    value: form_decode(raw_value).into_owned(),
                    raw_name: raw_name.to_vec(),
                    raw_value: raw_value.to_vec(),
                }
            })
            .collect()
    }

    #[test]
    fn borrowed_parts_point_into_the_input() {
        let raw = b"a=1&b%41=x+y";
        let ps = parse_ref(raw);
        assert_eq!(ps.len(), 2);
        assert!(matches!(ps[0].name, Cow::Borrowed(_)));
        assert_eq!(&*ps[1].name, b"bA");
        assert_eq!(ps[1].raw_name, b"b%41");
        assert_eq!(&*ps[1].value(), b"x y");
        assert!(matches!(ps[0].value(), Cow::Borrowed(b"1")));
    }

    proptest! {
        #[test]
        fn borrowed_and_owned_parses_agree(
            raw in proptest::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'%'), Just(b'+'),
                Just(b';'), Just(b'4'), Just(b'a'), any::<u8>()], 0..64),
            semicolon in any::<bool>(),
        ) {
            let sep = if semicolon { b';' } else { b'&' };
            let want = parse_owned_reference(&raw, sep);
            prop_assert_eq!(&parse_with_separator(&raw, sep), &want);
            let got: Vec<Param> = parse_ref_with_separator(&raw, sep).iter().map(ParamRef::to_param).collect();
            prop_assert_eq!(&got, &want);
        }

        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
            let ps = parse(&raw);
            for p in ps {
                prop_assert!(p.value.len() <= p.raw_value.len());
                prop_assert!(p.name.len() <= p.raw_name.len());
            }
        }
    }
}
