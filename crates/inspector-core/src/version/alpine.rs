//! apk (Alpine, Wolfi) version ordering.
//!
//! A version is a token stream: digit groups separated by `.`, an optional lowercase letter,
//! `_suffix[N]` groups (`alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`) and a
//! `-rN` revision. Tokens are compared pairwise while their kinds agree; when one side ends or
//! changes kind first, the longer one is greater unless it continues with a pre-release suffix.
//! Malformed input stops tokenisation at an `Invalid` token (which, like in apk, sorts lowest
//! among continuations), so the comparator stays total on arbitrary strings.

use std::cmp::Ordering;

/// Token kinds, in apk's precedence order (the derive gives the order used at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid,
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
}

#[derive(Clone)]
struct Cur<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cur<'_> {
    fn at(&self, off: usize) -> Option<u8> {
        self.s.get(self.pos + off).copied().filter(|&c| c != 0)
    }
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }
    fn empty(&self) -> bool {
        self.at(0).is_none()
    }
}

const PRE: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

fn next_token(t: &mut Tok, c: &mut Cur<'_>) {
    let first = c.at(0);
    let mut n = match first {
        None => Tok::End,
        Some(ch) if matches!(*t, Tok::Digit | Tok::DigitOrZero) && ch.is_ascii_lowercase() => {
            Tok::Letter
        }
        Some(ch) if *t == Tok::Letter && ch.is_ascii_digit() => Tok::Digit,
        Some(ch) if *t == Tok::Suffix && ch.is_ascii_digit() => Tok::SuffixNo,
        Some(ch) => {
            let n = match ch {
                b'.' => Tok::DigitOrZero,
                b'_' => Tok::Suffix,
                b'-' if c.at(1) == Some(b'r') => {
                    c.pos += 1;
                    Tok::RevisionNo
                }
                _ => Tok::Invalid,
            };
            c.pos += 1;
            n
        }
    };
    if n < *t
        && !((n == Tok::DigitOrZero && *t == Tok::Digit)
            || (n == Tok::Suffix && *t == Tok::SuffixNo)
            || (n == Tok::Digit && *t == Tok::Letter))
    {
        n = Tok::Invalid;
    }
    *t = n;
}

fn read_number(c: &Cur<'_>) -> (i64, usize) {
    let mut v: i64 = 0;
    let mut i = 0;
    while let Some(d) = c.at(i).filter(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    (v, i)
}

fn get_token(t: &mut Tok, c: &mut Cur<'_>) -> i64 {
    if c.empty() {
        *t = Tok::End;
        return 0;
    }
    let mut nt = Tok::Invalid;
    let (v, i) = match *t {
        Tok::DigitOrZero if c.at(0) == Some(b'0') => {
            let mut i = 0;
            while c.at(i) == Some(b'0') {
                i += 1;
            }
            nt = Tok::Digit;
            (-(i as i64), i)
        }
        Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => read_number(c),
        Tok::Letter => (i64::from(c.at(0).unwrap_or(0)), 1),
        Tok::Suffix => {
            let rest = c.rest();
            if let Some((idx, p)) = PRE.iter().enumerate().find(|(_, p)| rest.starts_with(p)) {
                (idx as i64 - PRE.len() as i64, p.len())
            } else if let Some((idx, p)) =
                POST.iter().enumerate().find(|(_, p)| rest.starts_with(p))
            {
                (idx as i64, p.len())
            } else {
                *t = Tok::Invalid;
                return -1;
            }
        }
        Tok::Invalid | Tok::End => {
            *t = Tok::Invalid;
            return -1;
        }
    };
    c.pos += i;
    if c.empty() {
        *t = Tok::End;
    } else if nt != Tok::Invalid {
        *t = nt;
    } else {
        next_token(t, c);
    }
    v
}

/// Compares two apk versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut ca = Cur {
        s: a.as_bytes(),
        pos: 0,
    };
    let mut cb = Cur {
        s: b.as_bytes(),
        pos: 0,
    };
    let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
    let (mut av, mut bv) = (0i64, 0i64);
    // Each round consumes at least one byte on some side or ends; bound it anyway.
    let mut budget = a.len() + b.len() + 8;
    while at == bt && at != Tok::End && at != Tok::Invalid && av == bv && budget > 0 {
        av = get_token(&mut at, &mut ca);
        bv = get_token(&mut bt, &mut cb);
        budget -= 1;
    }
    match av.cmp(&bv) {
        Ordering::Equal => {}
        o => return o,
    }
    if at == bt {
        return Ordering::Equal;
    }
    if at == Tok::Suffix && get_token(&mut at.clone(), &mut ca.clone()) < 0 {
        return Ordering::Less;
    }
    if bt == Tok::Suffix && get_token(&mut bt.clone(), &mut cb.clone()) < 0 {
        return Ordering::Greater;
    }
    bt.cmp(&at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(compare("1.2", "1.2_rc1"), Ordering::Greater);
        assert_eq!(compare("1.2", "1.2_p1"), Ordering::Less);
        assert_eq!(compare("2.2.39-r1", "1.0.4-r3"), Ordering::Greater);
        assert_eq!(compare("1-r1", "1-r01"), Ordering::Equal);
        assert_eq!(compare("1.2.3b", "1.2.0d"), Ordering::Greater);
    }
}
