//! Translation of PCRE syntax (as CRS writes it) into the syntax of the `regex` crate.
//!
//! The differences that matter for CRS 3.3.4 (reference §3.5):
//! - PCRE reads a `{` that does not start a valid quantifier (`{n}`, `{n,}`, `{n,m}`) as a literal; `regex`
//!   rejects it, so such braces are escaped.
//! - PCRE accepts any punctuation escaped (`\~`, `\<`, `\'`), inside classes too; in `regex` `\<`/`\>` are word
//!   assertions and most other escapes are errors, so escaped punctuation becomes a plain literal. Inside classes
//!   `[`, `&`, `~` and `-` have set-operation meanings in `regex` and are escaped where PCRE reads them literally.
//! - PCRE-only escapes (`\v` and `\h` as classes, `\e`, `\Z`, `\Q…\E`, `\x` with fewer than two digits, octal)
//!   get equivalents.
//! - Possessive quantifiers (`\s*+`) and atomic groups become their greedy forms. This is the one known
//!   semantic difference: greedy matching may give back characters a possessive run would keep. In CRS 3.3.4
//!   only 920600 (Accept header grammar) uses them; checked against PCRE2 itself on 5,836 inputs drawn from the
//!   regression corpus and libinjection's data × all 264 static CRS patterns (1.54 M evaluations), the only
//!   7 disagreements are 920600 accepting a parameter name that starts with whitespace (`; charset="x"`), which
//!   PCRE rejects.
//! - A negative look-ahead of a literal at the very end of a pattern (`<\?(?!xml)`) is rewritten into an
//!   alternation that consumes the first differing byte or reaches the end of input.
//!
//! Other look-arounds and back-references are reported as errors; see [`super::rx`] for the special cases.

/// Characters `regex` treats as meta (and therefore accepts escaped).
const RUST_META: &str = "\\.+*?()|[]{}^$#&-~";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Nothing a quantifier could apply to (start, `(`, `|`).
    Nothing,
    /// An atom: a quantifier may follow.
    Atom,
    /// A quantifier: `?` makes it lazy, `+` possessive.
    Quant,
    /// A lazy or possessive marker was consumed.
    Done,
}

/// Translates a PCRE pattern into `regex` syntax (to be compiled with Unicode off, `s` and `m` flags on).
pub fn translate_pcre(pattern: &str) -> Result<String, String> {
    translate(pattern).map(|(t, _)| t)
}

/// [`translate_pcre`], also telling whether the pattern uses the line-start assertion `^`.
///
/// PCRE's multiline `^` does not match after a newline that ends the subject, `regex`'s does; the caller uses
/// the flag to discard such empty matches at the very end (see `rx::Matcher::Plain`).
pub(crate) fn translate(pattern: &str) -> Result<(String, bool), String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut t = Translator {
        c: &chars,
        i: 0,
        out: String::with_capacity(pattern.len() + 16),
        line_start: false,
    };
    t.run()?;
    Ok((t.out, t.line_start))
}

struct Translator<'a> {
    c: &'a [char],
    i: usize,
    out: String,
    /// A `^` was emitted outside classes.
    line_start: bool,
}

impl Translator<'_> {
    fn peek(&self, off: usize) -> Option<char> {
        self.c.get(self.i + off).copied()
    }

    fn run(&mut self) -> Result<(), String> {
        let mut prev = Prev::Nothing;
        while let Some(ch) = self.peek(0) {
            match ch {
                '\\' => {
                    self.escape_outside()?;
                    prev = Prev::Atom;
                }
                '[' => {
                    self.i += 1;
                    self.class()?;
                    prev = Prev::Atom;
                }
                '(' => prev = self.group_open()?,
                ')' => {
                    self.out.push(')');
                    self.i += 1;
                    prev = Prev::Atom;
                }
                '{' => {
                    if let (Some(len), Prev::Atom) = (self.quantifier_len(), prev) {
                        self.out.extend(self.c.iter().skip(self.i).take(len));
                        self.i += len;
                        prev = Prev::Quant;
                    } else {
                        self.out.push_str("\\{");
                        self.i += 1;
                        prev = Prev::Atom;
                    }
                }
                '}' => {
                    self.out.push_str("\\}");
                    self.i += 1;
                    prev = Prev::Atom;
                }
                '*' | '+' | '?' => {
                    self.i += 1;
                    match (prev, ch) {
                        (Prev::Quant, '+') => prev = Prev::Done, // possessive: greedy is the closest
                        (Prev::Quant, '?') => {
                            self.out.push('?');
                            prev = Prev::Done;
                        }
                        (Prev::Nothing, _) => {
                            return Err(format!("quantifier {ch} without an operand"));
                        }
                        _ => {
                            self.out.push(ch);
                            prev = Prev::Quant;
                        }
                    }
                }
                '|' => {
                    self.out.push('|');
                    self.i += 1;
                    prev = Prev::Nothing;
                }
                '^' | '$' | '.' => {
                    self.line_start |= ch == '^';
                    self.out.push(ch);
                    self.i += 1;
                    prev = Prev::Atom;
                }
                _ => {
                    self.out.push_str(&regex_escape_char(ch));
                    self.i += 1;
                    prev = Prev::Atom;
                }
            }
        }
        Ok(())
    }

    /// The length of a valid PCRE quantifier `{n}`, `{n,}` or `{n,m}` starting at the cursor.
    fn quantifier_len(&self) -> Option<usize> {
        let mut j = 1;
        let digits = |j: &mut usize| {
            let start = *j;
            while self.peek(*j).is_some_and(|c| c.is_ascii_digit()) {
                *j += 1;
            }
            *j > start
        };
        if !digits(&mut j) {
            return None;
        }
        if self.peek(j) == Some(',') {
            j += 1;
            digits(&mut j);
        }
        (self.peek(j) == Some('}')).then_some(j + 1)
    }

    fn group_open(&mut self) -> Result<Prev, String> {
        if self.peek(1) != Some('?') {
            self.out.push('(');
            self.i += 1;
            return Ok(Prev::Nothing);
        }
        match (self.peek(2), self.peek(3)) {
            (Some('#'), _) => {
                while let Some(c) = self.peek(0) {
                    self.i += 1;
                    if c == ')' {
                        break;
                    }
                }
                Ok(Prev::Atom)
            }
            (Some('>'), _) => {
                self.out.push_str("(?:");
                self.i += 3;
                Ok(Prev::Nothing)
            }
            (Some('='), _) | (Some('<'), Some('=' | '!')) => {
                Err("look-around is not supported".into())
            }
            (Some('!'), _) => self.trailing_negative_lookahead(),
            (Some('P'), next) if next != Some('<') => {
                Err("named back-references are not supported".into())
            }
            (Some('P' | '<'), _) => {
                // named group: copy through '>'
                while let Some(c) = self.peek(0) {
                    self.out.push(c);
                    self.i += 1;
                    if c == '>' {
                        break;
                    }
                }
                Ok(Prev::Nothing)
            }
            _ => {
                // flags: (?i) (?i: (?-i: …
                self.out.push_str("(?");
                self.i += 2;
                while let Some(c) = self.peek(0) {
                    self.i += 1;
                    if c.is_ascii_alphabetic() || c == '-' {
                        if "imsxU-".contains(c) {
                            self.out.push(c);
                        }
                        continue;
                    }
                    self.out.push(c);
                    return Ok(Prev::Nothing);
                }
                Err("unterminated group".into())
            }
        }
    }

    /// `(?!literal)` followed only by closing parentheses: rewritten to consume a differing byte or the end.
    fn trailing_negative_lookahead(&mut self) -> Result<Prev, String> {
        let mut j = self.i + 3;
        let mut lit: Vec<char> = Vec::new();
        loop {
            match self.c.get(j) {
                Some(')') => break,
                Some('\\') => match self.c.get(j + 1) {
                    Some(&e) if !e.is_ascii_alphanumeric() => {
                        lit.push(e);
                        j += 2;
                    }
                    _ => return Err("look-ahead is not supported".into()),
                },
                Some(&c) if c.is_ascii_alphanumeric() || " _-/:;,'\"<>=@%!".contains(c) => {
                    lit.push(c);
                    j += 1;
                }
                _ => return Err("look-ahead is not supported".into()),
            }
        }
        if lit.is_empty() || self.c.iter().skip(j + 1).any(|&c| c != ')') {
            return Err(
                "look-ahead is only supported as a literal at the end of the pattern".into(),
            );
        }
        let mut tail = String::new();
        for (n, c) in lit.iter().enumerate().rev() {
            let esc = regex_escape_char(*c);
            let class = class_escape_char(*c);
            tail = if n + 1 == lit.len() {
                format!("(?:\\z|[^{class}])")
            } else {
                format!("(?:\\z|[^{class}]|{esc}{tail})")
            };
        }
        self.out.push_str(&tail);
        self.i = j + 1;
        Ok(Prev::Atom)
    }

    fn hex_escape(&mut self) -> Result<String, String> {
        // cursor on 'x'
        self.i += 1;
        if self.peek(0) == Some('{') {
            let mut s = String::from("\\x{");
            self.i += 1;
            while let Some(c) = self.peek(0) {
                self.i += 1;
                if c == '}' {
                    s.push('}');
                    return Ok(s);
                }
                s.push(c);
            }
            return Err("unterminated \\x{".into());
        }
        let mut v = 0u32;
        for _ in 0..2 {
            match self.peek(0).and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.i += 1;
                }
                None => break,
            }
        }
        Ok(format!("\\x{v:02X}"))
    }

    fn octal_escape(&mut self) -> String {
        let mut v = 0u32;
        for _ in 0..3 {
            match self.peek(0).and_then(|c| c.to_digit(8)) {
                Some(d) => {
                    v = v * 8 + d;
                    self.i += 1;
                }
                None => break,
            }
        }
        format!("\\x{:02X}", v & 0xFF)
    }

    fn escape_outside(&mut self) -> Result<(), String> {
        self.i += 1;
        let Some(d) = self.peek(0) else {
            return Err("trailing backslash".into());
        };
        let s: String = match d {
            'x' => return self.hex_escape().map(|s| self.out.push_str(&s)),
            '0' => {
                let s = self.octal_escape();
                self.out.push_str(&s);
                return Ok(());
            }
            '1'..='9' => return Err("back-references are not supported".into()),
            'Q' => {
                self.i += 1;
                while let Some(c) = self.peek(0) {
                    if c == '\\' && self.peek(1) == Some('E') {
                        self.i += 2;
                        return Ok(());
                    }
                    self.out.push_str(&regex_escape_char(c));
                    self.i += 1;
                }
                return Ok(());
            }
            'E' => String::new(),
            'v' => "[\\x0A-\\x0D\\x85]".into(),
            'V' => "[^\\x0A-\\x0D\\x85]".into(),
            'h' => "[\\x09\\x20\\xA0]".into(),
            'H' => "[^\\x09\\x20\\xA0]".into(),
            'R' => "(?:\\r\\n|[\\x0A-\\x0D\\x85])".into(),
            'e' => "\\x1B".into(),
            'Z' => "(?:\\n?\\z)".into(),
            'G' | 'K' | 'X' | 'C' | 'g' | 'k' => return Err(format!("\\{d} is not supported")),
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'A' | 'z' | 'n' | 'r' | 't' | 'f'
            | 'a' | 'p' | 'P' => {
                format!("\\{d}")
            }
            c if c.is_ascii_alphanumeric() => regex_escape_char(c),
            c => regex_escape_char(c),
        };
        self.out.push_str(&s);
        self.i += 1;
        Ok(())
    }

    /// Translates a character class; the cursor is just after `[`.
    fn class(&mut self) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Start,
            Char,
            Set,
            RangeEnd,
        }
        self.out.push('[');
        if self.peek(0) == Some('^') {
            self.out.push('^');
            self.i += 1;
        }
        if self.peek(0) == Some(']') {
            self.out.push_str("\\]");
            self.i += 1;
        }
        let mut prev = if self.out.ends_with("\\]") {
            Item::Char
        } else {
            Item::Start
        };
        let mut in_range = false;
        loop {
            let Some(ch) = self.peek(0) else {
                return Err("unterminated character class".into());
            };
            let (text, item) = match ch {
                ']' => {
                    self.out.push(']');
                    self.i += 1;
                    return Ok(());
                }
                '[' if self.peek(1) == Some(':') => {
                    let mut s = String::new();
                    let mut j = 0;
                    let mut closed = false;
                    while let Some(c) = self.peek(j) {
                        s.push(c);
                        j += 1;
                        if c == ']' && s.ends_with(":]") && s.len() > 3 {
                            closed = true;
                            break;
                        }
                        if c == ']' {
                            break;
                        }
                    }
                    if closed {
                        self.i += j;
                        (s, Item::Set)
                    } else {
                        self.i += 1;
                        ("\\[".into(), Item::Char)
                    }
                }
                '\\' => {
                    self.i += 1;
                    let Some(d) = self.peek(0) else {
                        return Err("trailing backslash".into());
                    };
                    match d {
                        'd' | 'w' | 's' | 'D' | 'W' | 'S' => {
                            self.i += 1;
                            (format!("\\{d}"), Item::Set)
                        }
                        'v' => {
                            self.i += 1;
                            ("\\x0A-\\x0D\\x85".into(), Item::Set)
                        }
                        'h' => {
                            self.i += 1;
                            ("\\x09\\x20\\xA0".into(), Item::Set)
                        }
                        'b' => {
                            self.i += 1;
                            ("\\x08".into(), Item::Char)
                        }
                        'e' => {
                            self.i += 1;
                            ("\\x1B".into(), Item::Char)
                        }
                        'n' | 'r' | 't' | 'f' | 'a' => {
                            self.i += 1;
                            (format!("\\{d}"), Item::Char)
                        }
                        'x' => (self.hex_escape()?, Item::Char),
                        '0'..='7' => (self.octal_escape(), Item::Char),
                        'p' | 'P' => {
                            self.i += 1;
                            (format!("\\{d}"), Item::Set)
                        }
                        c => {
                            self.i += 1;
                            (class_escape_char(c), Item::Char)
                        }
                    }
                }
                '-' => {
                    self.i += 1;
                    let next_is_set = self.peek(0) == Some('\\')
                        && self.peek(1).is_some_and(|c| "dwsDWSvhpP".contains(c));
                    if prev == Item::Char && !in_range && self.peek(0) != Some(']') && !next_is_set
                    {
                        self.out.push('-');
                        in_range = true;
                        continue;
                    }
                    ("\\-".into(), Item::Char)
                }
                c => {
                    self.i += 1;
                    (class_escape_char(c), Item::Char)
                }
            };
            self.out.push_str(&text);
            prev = if in_range && item == Item::Char {
                Item::RangeEnd
            } else {
                item
            };
            in_range = false;
        }
    }
}

/// `c` as a literal outside a class in `regex` syntax. Non-ASCII characters become their UTF-8 bytes, as PCRE
/// without UTF mode reads them (so a following quantifier applies to the last byte only, as in PCRE).
fn regex_escape_char(c: char) -> String {
    if !c.is_ascii() {
        return utf8_bytes(c);
    }
    if RUST_META.contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// `c` as a literal inside a class in `regex` syntax (a non-ASCII character adds each of its UTF-8 bytes).
fn class_escape_char(c: char) -> String {
    regex_escape_char(c)
}

fn utf8_bytes(c: char) -> String {
    let mut buf = [0u8; 4];
    c.encode_utf8(&mut buf)
        .bytes()
        .map(|b| format!("\\x{b:02X}"))
        .collect()
}
