//! Required bytes of a regex: sets of bytes such that every match contains at least one byte of each set.
//!
//! Evaluation notes once which bytes a value contains (one pass, [`ByteMasks::scan`]) and then skips every regex set of
//! the field whose requirements the value cannot meet, in a few instructions per set. Most attack patterns need a
//! byte that ordinary values lack (`$` and `{` for Log4J lookups, `<` for script tags, `/` and `.` together for path
//! traversal), so on ordinary traffic most regex searches never start. The regex engine's own prefilter only helps
//! once a search has started, and starting one costs a few hundred instructions on a short value.
//!
//! The analysis is conservative: a part of the pattern that can match without a byte of a given set (an optional or
//! empty part, an alternation branch without that byte) never contributes the set.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A set of byte values, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    /// The bytes that occur in `value`.
    #[cfg(test)]
    fn of(value: &[u8]) -> ByteSet {
        let mut w = [0u64; 4];
        for &b in value {
            if let Some(x) = w.get_mut(usize::from(b >> 6)) {
                *x |= 1 << (b & 63);
            }
        }
        ByteSet(w)
    }

    fn single(b: u8) -> ByteSet {
        let mut s = ByteSet::default();
        s.insert(b);
        s
    }

    fn insert(&mut self, b: u8) {
        if let Some(x) = self.0.get_mut(usize::from(b >> 6)) {
            *x |= 1 << (b & 63);
        }
    }

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.insert(b);
        }
    }

    fn union(self, other: ByteSet) -> ByteSet {
        let [a, b, c, d] = self.0;
        let [e, f, g, h] = other.0;
        ByteSet([a | e, b | f, c | g, d | h])
    }

    /// Whether the two sets share a byte.
    fn meets(&self, other: &ByteSet) -> bool {
        let [a, b, c, d] = self.0;
        let [e, f, g, h] = other.0;
        (a & e) | (b & f) | (c & g) | (d & h) != 0
    }

    /// How often ordinary request text can be expected to contain a byte of the set (a sum of rough weights):
    /// the lower, the more values a requirement on this set turns away.
    fn weight(&self) -> u32 {
        (0..=255u8)
            .filter(|&b| {
                self.0
                    .get(usize::from(b >> 6))
                    .is_some_and(|w| w >> (b & 63) & 1 == 1)
            })
            .map(byte_weight)
            .sum()
    }
}

/// Rough frequency of `b` in ordinary header, query and body text.
fn byte_weight(b: u8) -> u32 {
    match b {
        b'j' | b'q' | b'x' | b'z' | b'k' | b'v' => 3,
        b'a'..=b'z' | b'0'..=b'9' => 10,
        b'A'..=b'Z' => 4,
        b' ' | b'.' | b'/' | b'-' | b'_' | b'=' | b'&' | b';' | b',' | b':' | b'%' | b'+' => 8,
        b'(' | b')' | b'?' | b'*' | b'#' | b'@' | b'!' | b'~' => 3,
        _ => 1,
    }
}

/// Sets kept per pattern set: each costs a few instructions per value and field.
const MAX_SETS: usize = 4;
/// Requirements collected per node before the best are kept.
const MAX_PER_NODE: usize = 8;
/// Heavier sets are kept out: ordinary values nearly always meet them.
const MAX_WEIGHT: u32 = 40;

/// The requirements of a pattern set: a value that lacks every byte of any one of them matches none of its
/// patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Needs(Vec<ByteSet>);

impl Needs {
    /// The requirements every match of any of `patterns` meets, parsed as the engine parses them (`unicode` mode
    /// or bytes). A pattern that does not parse gives none (the set is then always searched).
    pub(crate) fn of(patterns: &[&str], unicode: bool) -> Needs {
        let mut branches = Vec::new();
        for p in patterns {
            let Ok(hir) = regex_syntax::ParserBuilder::new()
                .unicode(unicode)
                .utf8(false)
                .build()
                .parse(p)
            else {
                return Needs::default();
            };
            branches.push(required(&hir));
        }
        let mut sets = either(branches);
        sets.retain(|s| s.weight() <= MAX_WEIGHT);
        sets.truncate(MAX_SETS);
        Needs(sets)
    }

    /// Whether a value containing exactly the bytes `present` meets every requirement.
    #[cfg(test)]
    fn admit(&self, present: &ByteSet) -> bool {
        self.0.iter().all(|s| s.meets(present))
    }
}

/// The byte requirements of all the regex sets over one field, in a form checked per value in one pass: every
/// byte some requirement names has a bit, and a value's bits are the OR of its bytes' table entries.
#[derive(Debug)]
pub(crate) struct ByteMasks {
    /// Per byte value, its bit (0 for bytes no requirement names).
    table: Box<[u64; 256]>,
    /// Every bit in use: once a value has shown them all, the rest of it cannot change the answer.
    all: u64,
}

/// Bits per value: at most this many distinct bytes over one field's requirements.
const MASK_BITS: u32 = 64;

impl ByteMasks {
    /// The masks of `needs` (one per regex set, in order), with each set's requirements as bit masks; `None`
    /// when no set has one. Requirements beyond the 64 bytes a mask holds are left out (weakening only).
    pub(crate) fn build(needs: &[Needs]) -> Option<(ByteMasks, Vec<Vec<u64>>)> {
        #[cfg(test)]
        if OFF.with(std::cell::Cell::get) {
            return None;
        }
        let mut table = Box::new([0u64; 256]);
        let mut used = 0u32;
        let mut per_set = Vec::with_capacity(needs.len());
        for n in needs {
            let mut masks = Vec::new();
            'set: for s in &n.0 {
                let mut mask = 0u64;
                for b in 0..=255u8 {
                    if !s.meets(&ByteSet::single(b)) {
                        continue;
                    }
                    let Some(slot) = table.get_mut(usize::from(b)) else {
                        continue;
                    };
                    if *slot == 0 {
                        if used == MASK_BITS {
                            // Out of bits: this requirement cannot be expressed; a later byte could not be either.
                            continue 'set;
                        }
                        *slot = 1 << used;
                        used += 1;
                    }
                    mask |= *slot;
                }
                masks.push(mask);
            }
            per_set.push(masks);
        }
        if used == 0 {
            return None;
        }
        let all = table.iter().fold(0, |a, m| a | m);
        Some((ByteMasks { table, all }, per_set))
    }

    /// The bytes whose bits are in `mask`, as 256 flags.
    pub(crate) fn bytes_of(&self, mask: u64) -> [bool; 256] {
        let mut out = [false; 256];
        for (o, bit) in out.iter_mut().zip(self.table.iter()) {
            *o = bit & mask != 0;
        }
        out
    }

    /// The bits of the bytes `value` contains.
    pub(crate) fn scan(&self, value: &[u8]) -> u64 {
        let t = &*self.table;
        let mut acc = 0u64;
        for chunk in value.chunks(64) {
            for &b in chunk {
                // A byte always indexes the 256 entries.
                acc |= t.get(usize::from(b)).copied().unwrap_or(0);
            }
            if acc == self.all {
                break;
            }
        }
        acc
    }
}

#[cfg(test)]
thread_local! {
    /// Plans compiled on this thread get no byte requirements (for tests that compare with and without).
    pub(crate) static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a value whose bits are `present` meets each requirement in `masks`.
pub(crate) fn admits(masks: &[u64], present: u64) -> bool {
    masks.iter().all(|m| m & present != 0)
}

/// The first byte of the UTF-8 encoding of `c`.
fn lead_byte(c: u32) -> u8 {
    let lead = match c {
        0..=0x7F => c,
        0x80..=0x7FF => 0xC0 | (c >> 6),
        0x800..=0xFFFF => 0xE0 | (c >> 12),
        _ => 0xF0 | (c >> 18),
    };
    u8::try_from(lead).unwrap_or(0xFF)
}

/// The bytes one match of the class can start with (its only byte, in bytes mode).
fn class_bytes(c: &Class) -> ByteSet {
    let mut s = ByteSet::default();
    match c {
        Class::Bytes(c) => {
            for r in c.ranges() {
                s.insert_range(r.start(), r.end());
            }
        }
        // The lead byte of a code point's encoding grows with the code point.
        Class::Unicode(c) => {
            for r in c.ranges() {
                s.insert_range(
                    lead_byte(u32::from(r.start())),
                    lead_byte(u32::from(r.end())),
                );
            }
        }
    }
    s
}

/// Sorts by weight, lightest first, drops repeats and keeps the best `MAX_PER_NODE`.
fn best(mut sets: Vec<ByteSet>) -> Vec<ByteSet> {
    sets.sort_by_key(ByteSet::weight);
    sets.dedup();
    sets.truncate(MAX_PER_NODE);
    sets
}

/// The requirements of an alternation whose branches require `branches`: the k-th requirement is the union of
/// every branch's k-th (or last) one. Empty when a branch requires nothing.
fn either(branches: Vec<Vec<ByteSet>>) -> Vec<ByteSet> {
    if branches.is_empty() || branches.iter().any(Vec::is_empty) {
        return Vec::new();
    }
    let most = branches.iter().map(Vec::len).max().unwrap_or(0);
    let sets = (0..most)
        .map(|k| {
            branches
                .iter()
                .filter_map(|b| b.get(k).or(b.last()))
                .fold(ByteSet::default(), |acc, s| acc.union(*s))
        })
        .collect();
    best(sets)
}

/// Byte sets every match of `h` meets, lightest first.
fn required(h: &Hir) -> Vec<ByteSet> {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Vec::new(),
        HirKind::Literal(l) => best(
            l.0.iter()
                .map(|&b| {
                    let mut s = ByteSet::default();
                    s.insert(b);
                    s
                })
                .collect(),
        ),
        HirKind::Class(c) => vec![class_bytes(c)],
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Repetition(_) => Vec::new(),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Concat(parts) => best(parts.iter().flat_map(required).collect()),
        HirKind::Alternation(branches) => either(branches.iter().map(required).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(bytes: &[u8]) -> ByteSet {
        let mut s = ByteSet::default();
        for &b in bytes {
            s.insert(b);
        }
        s
    }

    #[test]
    fn byte_set_of_a_value() {
        let s = ByteSet::of(b"a$\xff\x00");
        assert_eq!(s, set(b"a$\xff\x00"));
        assert!(s.meets(&set(b"$")));
        assert!(!s.meets(&set(b"{}")));
        assert_eq!(ByteSet::of(b""), ByteSet::default());
    }

    #[test]
    fn finds_rare_bytes_every_match_needs() {
        let log4j = Needs::of(&[r"(?i)\$\{\s*(?:jndi|lower|env):"], false);
        assert!(log4j.0.contains(&set(b"$")), "{log4j:?}");
        assert!(log4j.0.contains(&set(b"{")), "{log4j:?}");
        assert!(!log4j.admit(&ByteSet::of(b"Mozilla/5.0 (X11; Linux x86_64)")));
        assert!(log4j.admit(&ByteSet::of(b"${jndi:ldap://x}")));
        // A branch without `<`: no requirement on `<` for the whole alternation.
        let either = Needs::of(&["<script", "javascript:"], false);
        assert!(!either.0.contains(&set(b"<")));
        assert!(either.admit(&ByteSet::of(b"javascript:")));
        assert!(either.admit(&ByteSet::of(b"<script")));
        // Several patterns of one set are alternatives too.
        assert!(Needs::of(&["a<", "b"], false).admit(&ByteSet::of(b"b")));
        // Optional parts and anchors require nothing.
        assert!(Needs::of(&[r"^(?:\$\{)?$"], false).0.is_empty());
        assert!(Needs::of(&[r"\$?x*"], false).0.is_empty());
        // Letters and digits are too common to be worth a check.
        assert!(Needs::of(&[r"[a-z]+\d"], false).0.is_empty());
        // A pattern the parser refuses: no requirement, the set is searched.
        assert!(Needs::of(&["(", r"\$"], false).0.is_empty());
    }

    #[test]
    fn unicode_classes_require_the_lead_byte() {
        // `(?i)k` also matches U+212A KELVIN SIGN (E2 84 AA).
        let k = Needs::of(&[r"(?i)\$k"], true);
        assert!(k.admit(&ByteSet::of("$\u{212A}".as_bytes())));
        assert!(k.admit(&ByteSet::of(b"$K")));
        assert!(!k.admit(&ByteSet::of(b"K")));
        assert_eq!(lead_byte(0x41), 0x41);
        assert_eq!(lead_byte(0xE9), 0xC3);
        assert_eq!(lead_byte(0x212A), 0xE2);
        assert_eq!(lead_byte(0x1F600), 0xF0);
    }

    #[test]
    fn masks_answer_as_the_sets_do() {
        let needs = [
            Needs::of(&[r"\$\{"], false),
            Needs::default(),
            Needs::of(&[r"<script", r"on\w+="], false),
        ];
        let (masks, per_set) = ByteMasks::build(&needs).unwrap();
        assert_eq!(per_set.len(), 3);
        assert!(per_set[1].is_empty());
        for v in [
            &b"${x}"[..],
            b"$",
            b"<b onload=1>",
            b"plain text",
            b"",
            b"{$",
        ] {
            let present = masks.scan(v);
            for (n, m) in needs.iter().zip(&per_set) {
                assert_eq!(n.admit(&ByteSet::of(v)), admits(m, present), "{v:?} {n:?}");
            }
        }
        assert!(ByteMasks::build(&[Needs::default()]).is_none());
    }

    #[test]
    fn out_of_bits_only_weakens() {
        // 80 single-byte requirements (one set each): the bytes past the 64th get no bit, their sets no mask.
        let needs: Vec<Needs> = (0..80u8)
            .map(|b| Needs(vec![ByteSet::single(b + 128)]))
            .collect();
        let (masks, per_set) = ByteMasks::build(&needs).unwrap();
        assert_eq!(per_set.iter().filter(|m| !m.is_empty()).count(), 64);
        // A value with none of the bytes is still turned away by the sets that have a mask...
        assert!(!admits(&per_set[0], masks.scan(b"abc")));
        // ...and admitted by those that lost it.
        assert!(admits(&per_set[79], masks.scan(b"abc")));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A value's bits admit a set exactly when its bytes meet the set's requirements (all fit in 64 bits).
        #[test]
        fn scan_agrees_with_byte_sets(
            sets in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(32u8..127, 1..4), 0..3), 1..6),
            value in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let needs: Vec<Needs> = sets
                .iter()
                .map(|s| Needs(s.iter().map(|bytes| bytes.iter().fold(ByteSet::default(), |a, b| a.union(ByteSet::single(*b)))).collect()))
                .collect();
            if let Some((masks, per_set)) = ByteMasks::build(&needs) {
                let present = masks.scan(&value);
                for (n, m) in needs.iter().zip(&per_set) {
                    proptest::prop_assert_eq!(n.admit(&ByteSet::of(&value)), admits(m, present));
                }
            }
        }

        /// Whenever a pattern matches, the value meets every requirement: a skipped search would have found
        /// nothing.
        #[test]
        fn a_match_meets_every_requirement(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "ab", "(?i)Cd", "x", "\\.\\.", "[/\\\\]", "\\s*", "\\b", "^", "(?:ef|g\\$)", "(?:i<)?", "k+",
                "\\d", "[Mm]", "(?i:n{)", "|", "pq{2}", ".", "(?:rs|t)", "u'", "$", "[^a]", "é", "(?i)ß",
                "\\$\\{", "%[0-9a-f]{2}", "\\(", "\\w", "[<>]",
            ]), 1..8),
            unicode in proptest::bool::ANY,
            hay in "[a-vA-V0-9 ./\\\\${}<>'%(é\u{212A}ẞ]{0,40}",
        ) {
            let p = parts.concat();
            let built = regex::bytes::RegexBuilder::new(&p).unicode(unicode).build();
            if let Ok(re) = built
                && re.is_match(hay.as_bytes())
            {
                let needs = Needs::of(&[p.as_str()], unicode);
                proptest::prop_assert!(needs.admit(&ByteSet::of(hay.as_bytes())), "{} on {:?}: {:?}", p, hay, needs);
            }
        }
    }
}
