//! The byte-level reader of flow lines: a [`Cursor`] that splits tokens exactly as
//! `str::split_ascii_whitespace` does and reads numbers and dotted quads while it scans
//! them, and [`parse_v2`], a straight-line reader for the version 2 default format.
//!
//! The cursor holds the unread rest of the line as a slice (no index, so no bounds check
//! per byte); tokens are cut from the line by offset, always at ASCII bytes, so they are
//! `str` slices without re-validation.

use std::net::{IpAddr, Ipv4Addr};

use super::{FlowAction, FlowRecord, LogStatus};

/// ASCII whitespace as `str::split_ascii_whitespace` splits on it (space, tab, LF, FF, CR).
#[inline(always)]
pub(super) fn is_ws(b: u8) -> bool {
    const WS: u64 = 1 << b' ' | 1 << b'\t' | 1 << b'\n' | 1 << 0x0c | 1 << b'\r';
    b <= b' ' && (WS >> b) & 1 == 1
}

/// A position in a line: the bytes not read yet.
pub(super) struct Cursor<'a> {
    line: &'a str,
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `line`.
    #[inline]
    pub(super) fn new(line: &'a str) -> Self {
        Self {
            line,
            rest: line.as_bytes(),
        }
    }

    /// Offset of the cursor in the line.
    #[inline(always)]
    fn pos(&self) -> usize {
        self.line.len() - self.rest.len()
    }

    /// The line's text from `start` to the cursor.
    #[inline(always)]
    fn since(&self, start: usize) -> &'a str {
        self.line.get(start..self.pos()).unwrap_or_default()
    }

    /// Skips whitespace; false at the end of the line.
    #[inline(always)]
    pub(super) fn skip_ws(&mut self) -> bool {
        while let [b, tail @ ..] = self.rest {
            if !is_ws(*b) {
                return true;
            }
            self.rest = tail;
        }
        false
    }

    /// Whether the cursor is at whitespace or the end of the line.
    #[inline]
    fn at_separator(&self) -> bool {
        self.rest.first().is_none_or(|b| is_ws(*b))
    }

    /// Moves the cursor `n` bytes on (at most to the end).
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    /// The token at the cursor (after [`Cursor::skip_ws`]).
    #[inline]
    pub(super) fn token(&mut self) -> &'a str {
        let start = self.pos();
        let n = self
            .rest
            .iter()
            .position(|b| is_ws(*b))
            .unwrap_or(self.rest.len());
        self.advance(n);
        self.since(start)
    }

    /// The leading decimal digits at the cursor: (value, count), the value wrapping past
    /// 19 digits (callers reject those).
    #[inline(always)]
    fn digits(&self) -> (u64, usize) {
        let mut acc: u64 = 0;
        let mut n = 0usize;
        for &b in self.rest {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
            n += 1;
        }
        (acc, n)
    }

    /// A token of 1–19 decimal digits (so no `u64` overflow), read while it is scanned,
    /// with its text; any other token is returned whole as the error.
    #[inline]
    pub(super) fn number(&mut self) -> Result<(u64, &'a str), &'a str> {
        let (acc, n) = self.digits();
        if (1..=19).contains(&n) {
            let (saved, start) = (self.rest, self.pos());
            self.advance(n);
            if self.at_separator() {
                return Ok((acc, self.since(start)));
            }
            self.rest = saved;
        }
        Err(self.token())
    }

    /// One octet of a dotted quad: 1–3 digits, at most 255, no leading zero (as `std`).
    #[inline]
    fn octet(&mut self) -> Option<u32> {
        let mut acc = 0u32;
        let mut n = 0u32;
        while let [c, tail @ ..] = self.rest {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if n == 3 || (n == 1 && acc == 0) {
                // A fourth digit, or a digit after a leading zero.
                return None;
            }
            acc = acc * 10 + u32::from(d);
            n += 1;
            self.rest = tail;
        }
        (n > 0 && acc <= 255).then_some(acc)
    }

    /// A dotted quad read at the cursor (not checked for a separator after it).
    #[inline]
    fn quad(&mut self) -> Option<Ipv4Addr> {
        let mut word = self.octet()?;
        for _ in 0..3 {
            let [b'.', tail @ ..] = self.rest else {
                return None;
            };
            self.rest = tail;
            word = word << 8 | self.octet()?;
        }
        Some(Ipv4Addr::from(word))
    }

    /// A dotted-quad IPv4 token as `std` accepts it, read while it is scanned; any other
    /// token is returned whole as the error.
    #[inline]
    pub(super) fn ipv4(&mut self) -> Result<Ipv4Addr, &'a str> {
        let saved = self.rest;
        if let Some(a) = self.quad()
            && self.at_separator()
        {
            return Ok(a);
        }
        self.rest = saved;
        Err(self.token())
    }
}

/// `0x0101_0101_0101_0101`: one in every byte.
const ONES: u64 = u64::MAX / 255;

/// Powers of ten up to 10^8.
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The value of the first `n` (1–8) bytes of `w` (loaded little-endian, so the first byte
/// is the most significant digit) when they are all ASCII digits.
#[inline(always)]
fn digits_swar(w: u64, n: usize) -> Option<u64> {
    if n == 0 || n > 8 {
        return None;
    }
    // Move the n digits to the top and fill the bytes below with leading '0's.
    let shift = 8 * (8 - n as u32);
    let w = w.checked_shl(shift).unwrap_or(0)
        | (ONES * b'0' as u64).checked_shr(64 - shift).unwrap_or(0);
    let hi = ONES * 0xF0;
    let all_digits = (w & hi) | ((w.wrapping_add(ONES * 0x06) & hi) >> 4) == ONES * 0x33;
    if !all_digits {
        return None;
    }
    // Pairs, then quads, then the eight digits.
    let v = w - ONES * b'0' as u64;
    let v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((v * 10_000 + (v >> 32)) & 0xFFFF_FFFF)
}

/// A dotted quad as `std` reads one, from the token of `n` bytes at the start of `c`,
/// sixteen bytes at a time: the dots are found and the digits checked with one mask each,
/// then the octets read at the dots.
#[inline(always)]
fn quad_swar(c: &[u8; 16], n: usize) -> Option<u32> {
    const ONES: u128 = u128::MAX / 255;
    const LOW7: u128 = ONES * 0x7F;
    const HIGH: u128 = ONES * 0x80;
    if !(7..=15).contains(&n) {
        return None;
    }
    let x = u128::from_le_bytes(*c);
    let keep = (1u128 << (8 * n)) - 1;
    // The dots of the token, exactly (no carry crosses bytes).
    let t = x ^ (ONES * u128::from(b'.'));
    let dots = !(((t & LOW7) + LOW7) | t) & HIGH & keep;
    if dots.count_ones() != 3 {
        return None;
    }
    // Every other byte of the token a digit: dots become '0' (0x2e + 2), bytes past the
    // token are replaced by '0'.
    let y = ((x + (dots >> 6)) & keep) | ((ONES * u128::from(b'0')) & !keep);
    let hi = ONES * 0xF0;
    if (y & hi) | ((y.wrapping_add(ONES * 0x06) & hi) >> 4) != ONES * 0x33 {
        return None;
    }
    let p1 = (dots.trailing_zeros() / 8) as usize;
    let rest = dots & (dots - 1);
    let p2 = (rest.trailing_zeros() / 8) as usize;
    let p3 = ((rest & (rest - 1)).trailing_zeros() / 8) as usize;
    Some(
        octet(c, 0, p1)? << 24
            | octet(c, p1 + 1, p2)? << 16
            | octet(c, p2 + 1, p3)? << 8
            | octet(c, p3 + 1, n)?,
    )
}

/// The octet of `c[a..end]`, bytes already known to be digits: 1–3 of them, no leading
/// zero, at most 255.
#[inline(always)]
fn octet(c: &[u8; 16], a: usize, end: usize) -> Option<u32> {
    let d = |i: usize| c.get(i).map(|b| u32::from(b.wrapping_sub(b'0')));
    let first = d(a)?;
    let v = match end.checked_sub(a)? {
        1 => return Some(first),
        2 => first * 10 + d(a + 1)?,
        3 => first * 100 + d(a + 1)? * 10 + d(a + 2)?,
        _ => return None,
    };
    (v <= 255 && first != 0).then_some(v)
}

/// A dotted quad as `std` reads one (four octets of 1–3 digits, at most 255, no leading
/// zero), from a whole token.
#[inline(always)]
fn quad(tok: &[u8]) -> Option<u32> {
    let (mut word, mut acc, mut digits, mut dots) = (0u32, 0u32, 0u32, 0u32);
    for &c in tok {
        if c == b'.' {
            if digits == 0 || dots == 3 {
                return None;
            }
            word = word << 8 | acc;
            (acc, digits) = (0, 0);
            dots += 1;
            continue;
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 || (digits == 1 && acc == 0) {
            return None;
        }
        acc = acc * 10 + u32::from(d);
        digits += 1;
        if acc > 255 {
            return None;
        }
    }
    (dots == 3 && digits > 0).then_some(word << 8 | acc)
}

/// The high bit of every byte of `w` below 0x21 (space and control bytes); exact for the
/// lowest such byte (a borrow can only flag bytes above it).
#[inline(always)]
fn below_0x21(w: u64) -> u64 {
    w.wrapping_sub(ONES * 0x21) & !w & (ONES * 0x80)
}

/// The length of a token of at least eight bytes at the start of `rest`.
#[inline]
fn long_token(rest: &[u8]) -> Option<usize> {
    let mut off = 8usize;
    loop {
        let tail = rest.get(off..)?;
        let Some(w) = tail.first_chunk::<8>() else {
            return Some(off + tail.iter().position(|b| *b <= b' ').unwrap_or(tail.len()));
        };
        let m = below_0x21(u64::from_le_bytes(*w));
        if m != 0 {
            return Some(off + (m.trailing_zeros() / 8) as usize);
        }
        off += 8;
    }
}

/// A token of 1–19 ASCII digits, read a byte at a time.
#[inline(always)]
fn digits_scalar(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 19 {
        return None;
    }
    let mut acc = 0u64;
    for &c in tok {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        acc = acc * 10 + u64::from(d);
    }
    Some(acc)
}

/// A version 2 line being read by the fast path: tokens separated by single spaces.
struct V2<'a> {
    line: &'a str,
    bytes: &'a [u8],
    /// Start of the next token.
    pos: usize,
}

impl<'a> V2<'a> {
    /// (start, end) of the next token, measured eight bytes at a time, when one space and
    /// another token, or the end of the line, follow it; `None` otherwise (leading, double
    /// or trailing blanks, tabs, control bytes: the general path reads those lines).
    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        let s = self.pos;
        let rest = self.bytes.get(s..)?;
        let n = match rest.first_chunk::<8>() {
            Some(w) => match below_0x21(u64::from_le_bytes(*w)) {
                0 => long_token(rest)?,
                m => (m.trailing_zeros() / 8) as usize,
            },
            None => rest.iter().position(|b| *b <= b' ').unwrap_or(rest.len()),
        };
        if n == 0 {
            return None;
        }
        let e = s + n;
        // A second blank after the space ends the next token before it starts (`n == 0`).
        match rest.get(n) {
            None | Some(b' ') => {}
            Some(_) => return None,
        }
        self.pos = e + 1;
        Some((s, e))
    }

    /// Whether every token was read.
    #[inline(always)]
    fn done(&self) -> bool {
        self.pos > self.bytes.len()
    }

    /// The next token's bytes.
    #[inline(always)]
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let (s, e) = self.next()?;
        self.bytes.get(s..e)
    }

    /// The next token: a number of 1–19 digits that fits `T`, read eight digits at a time.
    #[inline(always)]
    fn number<T: TryFrom<u64>>(&mut self) -> Option<T> {
        let (s, e) = self.next()?;
        let n = e - s;
        let at = self.bytes.get(s..)?;
        let v = match (at.first_chunk::<8>(), n) {
            (Some(w), 1..=8) => digits_swar(u64::from_le_bytes(*w), n)?,
            (Some(w), 9..=16) => match at.get(8..).and_then(<[u8]>::first_chunk::<8>) {
                Some(lo) => {
                    let hi = digits_swar(u64::from_le_bytes(*w), 8)?;
                    let lo = digits_swar(u64::from_le_bytes(*lo), n - 8)?;
                    hi * POW10.get(n - 8)? + lo
                }
                None => digits_scalar(at.get(..n)?)?,
            },
            _ => digits_scalar(at.get(..n)?)?,
        };
        T::try_from(v).ok()
    }

    /// The next token: a dotted quad.
    #[inline(always)]
    fn ipv4(&mut self) -> Option<IpAddr> {
        let (s, e) = self.next()?;
        let at = self.bytes.get(s..)?;
        let a = match at.first_chunk::<16>() {
            Some(c) => quad_swar(c, e - s)?,
            None => quad(at.get(..e - s)?)?,
        };
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    }

    /// The next token: text other than `-`.
    #[inline(always)]
    fn text(&mut self) -> Option<&'a str> {
        let (s, e) = self.next()?;
        let t = self.line.get(s..e)?;
        (t != "-").then_some(t)
    }
}

/// Reads a version 2 default-format line into `rec` when its tokens are separated by
/// single spaces, every one of its 14 fields has its common form
/// (numbers, dotted quads, `ACCEPT`/`REJECT`, `OK`/`NODATA`/`SKIPDATA`, no `-`) and nothing
/// follows: what the general path would read, without its byte-at-a-time token scan and
/// per-field dispatch. `None` (with `rec` partly written) for any other line.
#[inline]
pub(super) fn parse_v2<'a>(line: &'a str, rec: &mut FlowRecord<'a>) -> Option<()> {
    let mut c = V2 {
        line,
        bytes: line.as_bytes(),
        pos: 0,
    };
    rec.line = line;
    rec.version = Some(c.number()?);
    rec.account_id = Some(c.text()?);
    rec.interface_id = Some(c.text()?);
    rec.srcaddr = Some(c.ipv4()?);
    rec.dstaddr = Some(c.ipv4()?);
    rec.srcport = Some(c.number()?);
    rec.dstport = Some(c.number()?);
    rec.protocol = Some(c.number()?);
    rec.packets = Some(c.number()?);
    rec.bytes = Some(c.number()?);
    rec.start = Some(c.number()?);
    rec.end = Some(c.number()?);
    rec.action = Some(match c.bytes()? {
        b"ACCEPT" => FlowAction::Accept,
        b"REJECT" => FlowAction::Reject,
        _ => return None,
    });
    rec.log_status = Some(match c.bytes()? {
        b"OK" => LogStatus::Ok,
        b"NODATA" => LogStatus::NoData,
        b"SKIPDATA" => LogStatus::SkipData,
        _ => return None,
    });
    if !c.done() {
        return None;
    }
    // The fields the default format does not carry.
    rec.vpc_id = None;
    rec.subnet_id = None;
    rec.instance_id = None;
    rec.tcp_flags = None;
    rec.pkt_srcaddr = None;
    rec.pkt_dstaddr = None;
    rec.region = None;
    rec.flow_direction = None;
    rec.reject_reason = None;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn swar_digits_agree_with_std(s in "[0-9]{1,8}[ a/:]{0,8}|[0-9a/:]{1,8}") {
            let mut bytes = [b'x'; 8];
            for (d, b) in bytes.iter_mut().zip(s.bytes()) {
                *d = b;
            }
            let w = u64::from_le_bytes(bytes);
            for n in 1..=s.len().min(8) {
                let std_ = s.get(..n).and_then(|t| t.parse::<u64>().ok()).filter(|_| s.as_bytes()[0] != b'+');
                proptest::prop_assert_eq!(digits_swar(w, n), std_, "{} {}", s, n);
            }
        }

        #[test]
        fn swar_quads_agree_with_std(s in "[0-9.]{0,16}|[0-9]{1,4}(\\.[0-9]{1,4}){3}", pad in "[ 0-9.a]{16}") {
            let mut c = [0u8; 16];
            for (d, b) in c.iter_mut().zip(s.bytes().chain(pad.bytes())) {
                *d = b;
            }
            let n = s.len();
            if n <= 16 {
                let ours = quad_swar(&c, n).map(Ipv4Addr::from);
                let std_ = s.parse::<Ipv4Addr>().ok();
                proptest::prop_assert_eq!(ours, std_, "{:?}", s);
            }
        }

        #[test]
        fn quads_agree_with_std(s in "[0-9.]{0,18}|[0-9]{1,3}(\\.[0-9]{1,3}){3}") {
            let ours = quad(s.as_bytes()).map(Ipv4Addr::from);
            proptest::prop_assert_eq!(ours, s.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn fast_tokens_agree_with_std(s in "[ \\t\\r\\x01a-z0-9é.-]{0,40}|([a-z0-9]{1,20} ){0,8}[a-z0-9]{1,20}") {
            let mut c = V2 { line: &s, bytes: s.as_bytes(), pos: 0 };
            let mut ours = Vec::new();
            let mut declined = false;
            while !c.done() {
                match c.next() {
                    Some((st, e)) => ours.push(&s[st..e]),
                    None => {
                        declined = true;
                        break;
                    }
                }
            }
            let std_: Vec<&str> = s.split_ascii_whitespace().collect();
            if declined {
                // Only lines that are not single-space separated, or hold control bytes,
                // are declined.
                proptest::prop_assert!(
                    s.is_empty() || std_.join(" ") != s || s.bytes().any(|b| b < b' ')
                );
            } else {
                proptest::prop_assert_eq!(ours, std_);
            }
        }
    }

    #[test]
    fn long_numbers_take_both_words() {
        for line in [
            "2 1 e 1.2.3.4 5.6.7.8 1 2 6 123456789 1234567890123456 1418530010 1418530070 ACCEPT OK",
            "2 1 e 1.2.3.4 5.6.7.8 1 2 6 1 12345678901234567 1418530010 1418530070 ACCEPT OK",
            "2 1 e 1.2.3.4 5.6.7.8 1 2 6 1 1234567890123456789 1418530010 1418530070 REJECT OK",
            "2 1 e 1.2.3.4 5.6.7.8 1 2 6 1 12345678 1 99999999 ACCEPT NODATA",
        ] {
            let mut rec = FlowRecord::default();
            assert_eq!(parse_v2(line, &mut rec), Some(()), "{line}");
            let toks: Vec<&str> = line.split_ascii_whitespace().collect();
            assert_eq!(rec.bytes, toks[9].parse().ok(), "{line}");
            assert_eq!(rec.packets, toks[8].parse().ok(), "{line}");
            assert_eq!(rec.end, toks[11].parse().ok(), "{line}");
        }
    }
}
