//! A small streaming JSON reader for `JsonBody` inspection.
//!
//! AWS WAF "evaluates the content up to the first parse error" when no `InvalidFallbackBehavior` is set [model],
//! so the reader reports keys and scalar values as it meets them and stops at the first error; the caller keeps
//! what was reported and learns that the document was invalid. Strings are unescaped (borrowed when they hold no
//! escapes); numbers and literals are reported as written. Nesting is bounded by [`MAX_DEPTH`].
//!
//! [model]: https://github.com/boto/botocore/blob/develop/botocore/data/wafv2/2019-07-29/service-2.json

use std::borrow::Cow;

/// Deepest nesting the reader accepts; deeper documents are invalid.
pub const MAX_DEPTH: usize = 128;

/// One step of the path from the document root to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathComp<'b> {
    /// An object member.
    Key(Cow<'b, [u8]>),
    /// An array element.
    Index(usize),
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// An object member name; its path ends with that name.
    Key,
    /// A string, number, `true`, `false` or `null`.
    Value,
}

/// The callback of [`walk`]: `(path, kind, text)` for every key and scalar value.
pub type Visitor<'f, 'b> = dyn FnMut(&[PathComp<'b>], ItemKind, Cow<'b, [u8]>) + 'f;

/// The document was not valid JSON (the reader stopped there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// A JSON Pointer (RFC 6901) split into unescaped components.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer(Vec<Vec<u8>>);

impl Pointer {
    /// Parses a pointer such as `/dogs/0/name`; `""` is the whole document. `None` when it does not start with `/`.
    pub fn parse(text: &str) -> Option<Pointer> {
        if text.is_empty() {
            return Some(Pointer(Vec::new()));
        }
        let rest = text.strip_prefix('/')?;
        Some(Pointer(
            rest.split('/')
                .map(|c| c.replace("~1", "/").replace("~0", "~").into_bytes())
                .collect(),
        ))
    }

    /// True when `path` is at or below this pointer.
    pub fn covers(&self, path: &[PathComp<'_>]) -> bool {
        if path.len() < self.0.len() {
            return false;
        }
        self.0.iter().zip(path).all(|(want, have)| match have {
            PathComp::Key(k) => k.as_ref() == want.as_slice(),
            PathComp::Index(i) => {
                std::str::from_utf8(want)
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                    == Some(*i)
                    && (want.len() == 1 || !want.starts_with(b"0"))
            }
        })
    }
}

/// Reads `input`, calling `f(path, kind, text)` for every key and scalar value in document order.
/// Whitespace-only input is an empty document (no items, valid).
pub fn walk<'b>(input: &'b [u8], f: &mut Visitor<'_, 'b>) -> Result<(), Invalid> {
    let mut r = Reader {
        s: input,
        i: 0,
        path: Vec::new(),
    };
    r.ws();
    if r.i >= input.len() {
        return Ok(());
    }
    r.value(f, 0)?;
    r.ws();
    if r.i == input.len() {
        Ok(())
    } else {
        Err(Invalid)
    }
}

struct Reader<'b> {
    s: &'b [u8],
    i: usize,
    path: Vec<PathComp<'b>>,
}

impl<'b> Reader<'b> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), Invalid> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    fn value(&mut self, f: &mut Visitor<'_, 'b>, depth: usize) -> Result<(), Invalid> {
        if depth >= MAX_DEPTH {
            return Err(Invalid);
        }
        self.ws();
        match self.peek().ok_or(Invalid)? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.path.push(PathComp::Key(key.clone()));
                    f(&self.path, ItemKind::Key, key);
                    self.ws();
                    let r = self.eat(b':').and_then(|()| self.value(f, depth + 1));
                    self.path.pop();
                    r?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(Invalid),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                let mut idx = 0usize;
                loop {
                    self.path.push(PathComp::Index(idx));
                    let r = self.value(f, depth + 1);
                    self.path.pop();
                    r?;
                    idx += 1;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(Invalid),
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                f(&self.path, ItemKind::Value, s);
                Ok(())
            }
            b't' => self.literal(b"true", f),
            b'f' => self.literal(b"false", f),
            b'n' => self.literal(b"null", f),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.number()?;
                let text = self.s.get(start..self.i).ok_or(Invalid)?;
                f(&self.path, ItemKind::Value, Cow::Borrowed(text));
                Ok(())
            }
            _ => Err(Invalid),
        }
    }

    fn literal(&mut self, lit: &'static [u8], f: &mut Visitor<'_, 'b>) -> Result<(), Invalid> {
        let end = self.i + lit.len();
        if self.s.get(self.i..end) == Some(lit) {
            self.i = end;
            f(&self.path, ItemKind::Value, Cow::Borrowed(lit));
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), Invalid> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let n = self.digits();
        if n == 0 || (n > 1 && self.s.get(int_start) == Some(&b'0')) {
            return Err(Invalid);
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Invalid);
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Invalid> {
        let text = self.s.get(self.i..self.i + 4).ok_or(Invalid)?;
        let text = std::str::from_utf8(text).map_err(|_| Invalid)?;
        let v = u32::from_str_radix(text, 16).map_err(|_| Invalid)?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<Cow<'b, [u8]>, Invalid> {
        self.eat(b'"')?;
        let start = self.i;
        // Fast path: no escapes.
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let text = self.s.get(start..self.i).ok_or(Invalid)?;
                    self.i += 1;
                    return Ok(Cow::Borrowed(text));
                }
                b'\\' => break,
                0..=0x1f => return Err(Invalid),
                _ => self.i += 1,
            }
        }
        let mut out = self.s.get(start..self.i).ok_or(Invalid)?.to_vec();
        loop {
            let b = self.peek().ok_or(Invalid)?;
            self.i += 1;
            match b {
                b'"' => return Ok(Cow::Owned(out)),
                b'\\' => {
                    let e = self.peek().ok_or(Invalid)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    self.i = save;
                                }
                            }
                            let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(Invalid),
                    }
                }
                0..=0x1f => return Err(Invalid),
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(doc: &str) -> (Vec<(String, ItemKind, String)>, bool) {
        let mut out = Vec::new();
        let ok = walk(doc.as_bytes(), &mut |path, kind, text| {
            let p: Vec<String> = path
                .iter()
                .map(|c| match c {
                    PathComp::Key(k) => String::from_utf8_lossy(k).into_owned(),
                    PathComp::Index(i) => i.to_string(),
                })
                .collect();
            out.push((
                format!("/{}", p.join("/")),
                kind,
                String::from_utf8_lossy(&text).into_owned(),
            ));
        })
        .is_ok();
        (out, ok)
    }

    #[test]
    fn reports_keys_and_values_in_order() {
        let (it, ok) = items(r#"{"a":1,"b":[true,"x\u00e9\n"],"c":{"d":null}}"#);
        assert!(ok);
        let flat: Vec<_> = it
            .iter()
            .map(|(p, k, t)| format!("{p} {k:?} {t}"))
            .collect();
        assert_eq!(
            flat,
            [
                "/a Key a",
                "/a Value 1",
                "/b Key b",
                "/b/0 Value true",
                "/b/1 Value xé\n",
                "/c Key c",
                "/c/d Key d",
                "/c/d Value null"
            ]
        );
    }

    #[test]
    fn stops_at_first_error_keeping_earlier_items() {
        let (it, ok) = items(r#"{"a":"one","b":tru"#);
        assert!(!ok);
        assert_eq!(it.len(), 3);
        let (_, ok) = items("{\"a\":1} x");
        assert!(!ok);
        let (it, ok) = items("  ");
        assert!(ok && it.is_empty());
        let (_, ok) = items(&"[".repeat(200));
        assert!(!ok);
        let (_, ok) = items("01");
        assert!(!ok);
    }

    #[test]
    fn surrogate_pairs() {
        let (it, ok) = items(r#"["\ud83d\ude00"]"#);
        assert!(ok);
        assert_eq!(it[0].2, "😀");
    }

    #[test]
    fn pointers() {
        let p = Pointer::parse("/dogs/0/name").unwrap();
        let path = [
            PathComp::Key(Cow::Borrowed(&b"dogs"[..])),
            PathComp::Index(0),
            PathComp::Key(Cow::Borrowed(&b"name"[..])),
        ];
        assert!(p.covers(&path));
        assert!(!p.covers(&path[..2]));
        assert!(Pointer::parse("/dogs").unwrap().covers(&path));
        assert!(!Pointer::parse("/dogs/1").unwrap().covers(&path));
        assert!(Pointer::parse("").unwrap().covers(&[]));
        assert_eq!(
            Pointer::parse("/a~1b~0"),
            Some(Pointer(vec![b"a/b~".to_vec()]))
        );
        assert_eq!(Pointer::parse("x"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = walk(&s, &mut |_, _, _| {});
        }
    }
}
