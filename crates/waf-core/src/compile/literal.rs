//! Required literals of a regex: byte strings at least one of which every match must contain. Evaluation looks for
//! them first and skips the regex when none occurs.
//!
//! This matters where the regex engine's own prefilter cannot help: it only uses literals a match *starts* (or
//! ends) with, so `(?:^|[/\\=&\s"':])\.\.[/\\;]` (CommonRuleSet `GenericLFI_BODY`) is run in full on every body, at
//! about 13 µs per kilobyte of JSON, although a match needs `..`.
//!
//! Two kinds of requirement are looked for. [`required_any`]: a few literals of two bytes or more, searched in
//! every value (one Aho-Corasick pass, ASCII case-insensitive). [`required_mixed`], for sets without such literals:
//! a few rare single bytes *or* a few literals of three bytes or more, searched only in long values, where it pays
//! (SQLiRuleSet `SQLiExtendedPatterns_BODY`: every branch needs `union`/`select`, `into`, `waitfor`,
//! `information_schema`, `like` or one of `( ; = < >`, which a JSON body rarely holds).
//!
//! The analysis is conservative: a node without a usable literal makes its alternation (and a pattern without
//! one) unchecked. Letters are compared case-insensitively even where the pattern is case-sensitive, which only
//! weakens the condition (anything containing the exact bytes contains them case-insensitively). So does
//! trading a literal for one of its bytes, or for its first bytes.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Shortest literal worth a pre-check.
const MIN_LEN: usize = 2;
/// Most literals a pre-check may have. Larger sets (keyword lists such as the SQLi extended patterns, with `or`
/// among them) pass on most text, so the pre-check would only add a scan; a few short literals are searched fast.
const MAX_LITERALS: usize = 4;

/// Shortest literal of a mixed requirement (one that holds no rare byte): two-letter words such as `or` occur in
/// almost any text, so a check for them would rarely skip a search.
const MIXED_MIN_LEN: usize = 3;
/// Literals of a mixed requirement that the packed (SIMD) search over a lower-cased copy of the value keeps in
/// buckets of their own; more share buckets and give false candidates, so [`factor`] trades literals that share a
/// substring for it down to this many where it can.
const MIXED_BUCKETS: usize = 8;
/// Most literals of a mixed requirement. The SQLi extended patterns need five; the JavaDeserializationRCE patterns
/// need fourteen, nine once the literals that share a substring are traded for it ([`factor`]).
const MAX_MIXED_LITERALS: usize = 12;
/// Most literals [`factor`] works on: it counts the literals holding each of their substrings.
const MAX_FACTORED: usize = 2 * MAX_MIXED_LITERALS;
/// Length of the substrings [`factor`] trades literals for. Only one length: counting the literals holding every
/// substring of every length cost 160M instructions (40 %) on compiling the managed groups of
/// `examples/managed_cost.rs`, and 4 to 8 bytes still 23M.
const FACTOR_LEN: usize = 4;
/// Most single bytes of a mixed requirement: they are searched in one packed pass over the value itself, whose
/// eight buckets then hold one byte each, so every candidate is a match.
const MAX_MIXED_BYTES: usize = 8;
/// Literals longer than this are cut to their first bytes (still required), which bounds the overlap of the
/// pieces a long value is lower-cased in.
pub(crate) const MAX_MIXED_LITERAL_LEN: usize = 32;
/// How much a literal costs against a single byte when choosing between the requirements of a pattern's parts:
/// a byte joins a pass over the value, a literal a pass over a lower-cased copy of it.
const LITERAL_COST: usize = 4;
/// What a [`weak`] byte costs: more than a literal, since the search it would spare runs on most values anyway.
const WEAK_COST: usize = LITERAL_COST + 1;

/// Whether a single byte is rare enough in ordinary values to be worth a check: ASCII punctuation or control bytes
/// other than whitespace and the punctuation of ordinary text, JSON, URLs and e-mail addresses (a value holding
/// one almost always passes, so the check would only add a scan). `=`, `&`, `;`, `(` stay: form bodies have the
/// first two, but a check that finds a byte early costs little.
pub(crate) fn rare(b: u8) -> bool {
    b.is_ascii()
        && !b.is_ascii_alphanumeric()
        && !b.is_ascii_whitespace()
        && !b"\"'.,-_/:@".contains(&b)
}

/// Rare bytes that ordinary header values still hold: `(` `)` `;` in every browser's `User-Agent`, `=` `;` in
/// every `Cookie`, `+` `*` `;` `=` in `Accept`, `&` `=` in forms. A requirement for one of them passes on most
/// requests, so a literal beside it is the better requirement; they still serve where a pattern has nothing else.
fn weak(b: u8) -> bool {
    b"();=&+*".contains(&b)
}

/// How a pre-check searches, which decides which requirement is the better one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Literals of at least [`MIN_LEN`] bytes: prefer the longest shortest literal, then fewer literals.
    Literals,
    /// Rare single bytes or literals: prefer the cheapest to search (see [`LITERAL_COST`]).
    Mixed,
}

/// A mixed requirement: every match contains one of `bytes` or one of `literals` (ASCII case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mixed {
    /// Rare single bytes (see [`rare`]), no letters, so compared exactly.
    pub bytes: Vec<u8>,
    /// Lower-case literals of [`MIXED_MIN_LEN`] to [`MAX_MIXED_LITERAL_LEN`] bytes, none holding a rare byte.
    pub literals: Vec<Vec<u8>>,
}

/// Lower-case byte strings at least one of which (compared ASCII case-insensitively) every match of a parsed
/// pattern ([`parse`]) contains; `None` when there is no useful set, or when matches start with literals of their
/// own (the engine's prefilter does the job then).
pub(crate) fn required_any(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = required_set(hir)?;
    // The engine already skips ahead to a literal every match starts with: a pre-check would only add a scan.
    let prefixes = regex_syntax::hir::literal::Extractor::new().extract(hir);
    if prefixes.is_finite() && prefixes.min_literal_len().is_some_and(|n| n >= MIN_LEN) {
        return None;
    }
    Some(set)
}

/// The required literals of a parsed pattern, when there are few enough, all long enough.
fn required_set(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = required(hir, Mode::Literals)?;
    if set.is_empty() || set.len() > MAX_LITERALS || set.iter().any(|l| l.len() < MIN_LEN) {
        return None;
    }
    Some(set)
}

/// The items (single bytes, or literals) one of which every match of `pattern` contains, for a mixed requirement;
/// `None` when the analysis finds none. Unlike [`required_any`], a pattern whose matches start with a literal
/// still gets them: the set it is part of may have patterns whose matches do not.
pub(crate) fn required_mixed(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    required(hir, Mode::Mixed)
}

/// Whether every match of a parsed pattern starts with a literal of at least [`MIN_LEN`] bytes, which the
/// engine's own prefilter skips ahead to. Literals are cut to that length as they are extracted: whether they are
/// long enough is all that is asked, and case-insensitive words otherwise multiply into thousands of variants
/// (this took 29M instructions on the managed groups, a tenth of compiling them).
pub(crate) fn prefiltered(hir: &Hir) -> bool {
    let prefixes = regex_syntax::hir::literal::Extractor::new()
        .limit_literal_len(MIN_LEN)
        .extract(hir);
    prefixes.is_finite() && prefixes.min_literal_len().is_some_and(|n| n >= MIN_LEN)
}

/// The mixed requirement of a whole set from its patterns' items ([`required_mixed`]), within the limits; `None`
/// when it has too many bytes or literals, a common single byte, or a short literal.
///
/// Shortest items first: a literal holding a byte or literal already required adds nothing; a literal holding a
/// rare byte is traded for that byte (one more byte in the byte search costs less than a literal).
pub(crate) fn settle(mut items: Vec<Vec<u8>>) -> Option<Mixed> {
    for item in &mut items {
        item.truncate(MAX_MIXED_LITERAL_LEN);
    }
    items.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    items.dedup();
    let mut req = Mixed {
        bytes: Vec::new(),
        literals: Vec::new(),
    };
    for item in items {
        if item.iter().any(|b| req.bytes.contains(b))
            || req.literals.iter().any(|l| contains(&item, l))
        {
            continue;
        }
        match item.iter().find(|b| rare(**b)) {
            Some(b) => req.bytes.push(*b),
            None if item.len() >= MIXED_MIN_LEN => req.literals.push(item),
            None => return None,
        }
    }
    if req.literals.len() > MIXED_BUCKETS && req.literals.len() <= MAX_FACTORED {
        factor(&mut req.literals);
    }
    let useful = !(req.bytes.is_empty() && req.literals.is_empty());
    (useful && req.bytes.len() <= MAX_MIXED_BYTES && req.literals.len() <= MAX_MIXED_LITERALS)
        .then_some(req)
}

/// Trades the literals that share a substring of [`FACTOR_LEN`] bytes for it, the substring shared by the most
/// literals first, until there are at most [`MIXED_BUCKETS`] or none is shared (anything holding a literal
/// holds its substrings: the requirement only weakens). The Java patterns' `java.lang.`,
/// `javax.naming.initialcontext` and `javax.script.scriptenginemanager` become `java`.
fn factor(literals: &mut Vec<Vec<u8>>) {
    while literals.len() > MIXED_BUCKETS {
        // Each literal's distinct substrings, all together, sorted: a run is the literals holding one.
        let mut all: Vec<&[u8]> = Vec::new();
        for l in literals.iter() {
            let mut mine: Vec<&[u8]> = l.windows(FACTOR_LEN).collect();
            mine.sort_unstable();
            mine.dedup();
            all.extend(mine);
        }
        all.sort_unstable();
        let Some(sub) = all
            .chunk_by(|a, b| a == b)
            .filter(|run| run.len() >= 2)
            .max_by_key(|run| run.len())
            .and_then(|run| run.first())
            .map(|w| w.to_vec())
        else {
            return;
        };
        literals.retain(|m| !contains(m, &sub));
        literals.push(sub);
    }
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `pattern` parsed as the engine parses it (`unicode` mode or bytes).
pub(crate) fn parse(pattern: &str, unicode: bool) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}

/// The byte `h` always matches, lower-cased, when it matches exactly one byte `c` or the two cases of an ASCII
/// letter.
fn one_byte(h: &Hir) -> Option<u8> {
    match h.kind() {
        HirKind::Literal(l) => match &*l.0 {
            [b] => Some(b.to_ascii_lowercase()),
            _ => None,
        },
        HirKind::Class(Class::Bytes(c)) => class_byte(
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            0x100,
        ),
        HirKind::Class(Class::Unicode(c)) => class_byte(
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end()))),
            0x80,
        ),
        _ => None,
    }
}

/// `{x}` or `{lower, upper}` of one ASCII letter, with every member below `limit` (one byte in the input).
fn class_byte(ranges: impl Iterator<Item = (u32, u32)>, limit: u32) -> Option<u8> {
    let mut members: Vec<u8> = Vec::new();
    for (a, b) in ranges {
        if b >= limit || b.saturating_sub(a) > 1 {
            return None;
        }
        for x in a..=b {
            members.push(u8::try_from(x).ok()?);
        }
        if members.len() > 2 {
            return None;
        }
    }
    match members.as_slice() {
        [x] => Some(x.to_ascii_lowercase()),
        [x, y] if x != y && x.eq_ignore_ascii_case(y) => Some(x.to_ascii_lowercase()),
        _ => None,
    }
}

/// The better of two candidate sets, for `mode`.
fn better(a: Option<Vec<Vec<u8>>>, b: Vec<Vec<u8>>, mode: Mode) -> Option<Vec<Vec<u8>>> {
    let shortest = |s: &Vec<Vec<u8>>| s.iter().map(Vec::len).min().unwrap_or(0);
    let score = |s: &Vec<Vec<u8>>| match mode {
        // Longer shortest literal, then fewer literals.
        Mode::Literals => (shortest(s), usize::MAX - s.len(), 0),
        // Usable at all, then cheaper, then longer shortest literal.
        Mode::Mixed => (
            usize::from(
                s.iter()
                    .all(|l| l.iter().any(|b| rare(*b)) || l.len() >= MIXED_MIN_LEN),
            ),
            usize::MAX - mixed_cost(s),
            shortest(s),
        ),
    };
    match a {
        Some(a) if score(&a) >= score(&b) => Some(a),
        _ => Some(b),
    }
}

/// The search cost of a candidate of a mixed requirement: one per item holding a rare byte (it will be traded for
/// it), [`WEAK_COST`] when that byte is [`weak`], [`LITERAL_COST`] per other literal.
fn mixed_cost(s: &[Vec<u8>]) -> usize {
    s.iter()
        .map(|l| match l.iter().find(|b| rare(**b)) {
            Some(b) if weak(*b) => WEAK_COST,
            Some(_) => 1,
            None => LITERAL_COST,
        })
        .sum()
}

/// Literals at least one of which every match of `h` contains (`None`: no such set found), chosen for `mode`.
fn required(h: &Hir, mode: Mode) -> Option<Vec<Vec<u8>>> {
    match h.kind() {
        HirKind::Literal(l) => Some(vec![l.0.to_ascii_lowercase()]),
        HirKind::Class(_) => one_byte(h).map(|b| vec![vec![b]]),
        HirKind::Capture(c) => required(&c.sub, mode),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub, mode),
        HirKind::Concat(parts) => {
            let mut best = None;
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                match part.kind() {
                    // Zero-width: the bytes on either side are adjacent in the input.
                    HirKind::Look(_) => continue,
                    HirKind::Literal(l) => {
                        run.extend(l.0.to_ascii_lowercase());
                        continue;
                    }
                    HirKind::Class(_) => {
                        if let Some(b) = one_byte(part) {
                            run.push(b);
                            continue;
                        }
                    }
                    _ => {}
                }
                if !run.is_empty() {
                    best = better(best, vec![std::mem::take(&mut run)], mode);
                }
                if let Some(s) = required(part, mode) {
                    best = better(best, s, mode);
                }
            }
            if !run.is_empty() {
                best = better(best, vec![run], mode);
            }
            best
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b, mode)?);
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Empty | HirKind::Look(_) | HirKind::Repetition(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        required_any(&parse(p, false)?).map(|s| {
            s.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn finds_inner_and_case_insensitive_literals() {
        assert_eq!(
            lits(r#"(?:^|[/\\=&\s\"':])\.\.[/\\;]"#),
            Some(vec!["..".into()])
        );
        assert_eq!(
            lits(r"(?i)\s*union\s+select\b"),
            Some(vec!["select".into()])
        );
        assert_eq!(
            lits(r"(?i)\s*java\.lang\.x|\s*getruntime\s*\(|\bt\s*\(\s*java\."),
            Some(vec![
                "getruntime".into(),
                "java.".into(),
                "java.lang.x".into()
            ])
        );
        // Matches start with a literal: the engine's prefilter covers it.
        assert_eq!(lits(r"(?i)\bunion\s+select\b"), None);
        assert_eq!(lits(r"a|b"), None);
        assert_eq!(lits(r"ab|c"), None);
        assert_eq!(lits(r"\s*(?:abc)?def"), Some(vec!["def".into()]));
        assert_eq!(lits(r"x*"), None);
        assert_eq!(lits(r"\d{1,3}\.\d{1,3}"), None);
        assert_eq!(lits(r"\s*[ab]cd"), Some(vec!["cd".into()]));
        // Unicode case folding adds non-ASCII members (K: KELVIN SIGN): no literal there.
        let unicode = |p: &str| required_any(&parse(p, true).unwrap());
        assert_eq!(unicode(r"(?i)kk"), None);
        assert_eq!(unicode(r"\s*(?i)ab"), Some(vec![b"ab".to_vec()]));
    }

    /// The mixed requirement of one pattern, as strings (bytes first).
    fn mixed(p: &str, unicode: bool) -> Option<(String, Vec<String>)> {
        let m = settle(required_mixed(&parse(p, unicode)?)?)?;
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        Some((text(m.bytes), m.literals.into_iter().map(text).collect()))
    }

    #[test]
    fn mixes_rare_bytes_and_literals() {
        // The SQLiRuleSet `SQLiExtendedPatterns_*` pattern.
        let sqli = r#"(?i)\bunion(?:\s|/\*.*?\*/)+(?:all(?:\s|/\*.*?\*/)+)?\(?\s*select\b|\b(?:sleep|pg_sleep|benchmark)\s*\(\s*\d|\bwaitfor\s+delay\s+'|\binformation_schema\b|\b(?:load_file|extractvalue|updatexml|xp_cmdshell|pg_read_file|utl_http\.\w+|dbms_pipe\.\w+)\s*\(|\binto\s+(?:out|dump)file|;\s*(?:drop\s+table|insert\s+into|delete\s+from|exec\w*\s+[xs]p_|declare\s+@|shutdown\b)|['\"`)]\s*(?:or|and|\|\||&&)\s+\W?\w+\W?\s*(?:=|<>|!=|like\b)\s*\W?\w|\b(?:or|and)\s+\d+\s*(?:=|<>|!=|>|<)\s*\d+\s*(?:--|#|/\*|$)"#;
        assert_eq!(
            mixed(sqli, false),
            Some((
                "(;<=>".into(),
                vec![
                    "into".into(),
                    "like".into(),
                    "select".into(),
                    "waitfor".into(),
                    "information_schema".into()
                ]
            ))
        );
        // A literal holding a rare byte is traded for it; one holding a required byte adds nothing.
        assert_eq!(
            mixed(r"\s*(?:a<>b|ab!=c|[=])", false),
            Some(("=<".into(), vec![]))
        );
        // A weak byte (one ordinary headers hold) loses to a literal beside it, and serves where there is none
        // (each branch chooses alone: the literal stays, though the byte would do for both).
        assert_eq!(
            mixed(r"\s*(?:getruntime\s*\(|y\s*<)", false),
            Some(("<".into(), vec!["getruntime".into()]))
        );
        assert_eq!(
            mixed(r"\s*(?:getruntime\s*\(|y\s*\()", false),
            Some(("(".into(), vec!["getruntime".into()]))
        );
        assert_eq!(
            mixed(r"\s*(?:getruntime\s*\(|processbuilder\s*\()", false),
            Some((
                String::new(),
                vec!["getruntime".into(), "processbuilder".into()]
            ))
        );
        // Common single bytes, letters and two-letter words make no requirement.
        assert_eq!(mixed(r"\s*(?:x|union)", false), None);
        assert_eq!(mixed(r"\s*(?:/|union)", false), None);
        assert_eq!(mixed(r"\s*(?:or|union)", false), None);
        assert_eq!(mixed(r"\s*(?:\d|union)", false), None);
        // Too many literals, or too many bytes.
        assert_eq!(
            mixed(
                r"\s*(?:aaa|bbb|ccc|ddd|eee|fff|ggg|hhh|iii|jjj|kkk|lll|mmm)",
                false
            ),
            None
        );
        assert_eq!(mixed(r"\s*(?:!|#|\$|%|&|\(|\)|\*|\+)", false), None);
        assert_eq!(
            mixed(r"\s*(?:aaa|bbb|ccc|ddd|eee|fff|!|#|\$|%|&|\(|\)|\*)", false).map(|m| m.0),
            Some("!#$%&()*".into())
        );
        // Literals sharing a substring are traded for it when there are too many.
        let java = r"(?i)java\.lang\.(?:runtime|processbuilder|reflect)|getruntime\s*\(|processbuilder\s*\(|class\.module\.classloader|class\.classloader|spring\.cloud\.function\.routing-expression|\bt\s*\(\s*java\.|javax\.script\.scriptenginemanager|javax\.naming\.initialcontext|org\.apache\.commons\.collections\d?\.functors|com\.sun\.org\.apache\.xalan|org\.springframework\.context\.support\.|bsh\.interpreter|ysoserial|(?:^|[^A-Za-z0-9+/])(?-i:rO0AB)[A-Za-z0-9+/]";
        assert_eq!(
            mixed(java, false),
            Some((
                String::new(),
                vec![
                    "ro0ab".into(),
                    "ysoserial".into(),
                    "getruntime".into(),
                    "processbuilder".into(),
                    "bsh.interpreter".into(),
                    "spring.cloud.function.routing-ex".into(),
                    "org.".into(),
                    "java".into(),
                    "sslo".into(),
                ]
            ))
        );
        assert_eq!(
            mixed(
                r"\s*(?:abcd1|abcd2|abcd3|xyz1|xyz2|xyz3|q11|q22|q33)",
                false
            ),
            Some((
                String::new(),
                vec![
                    "q11".into(),
                    "q22".into(),
                    "q33".into(),
                    "xyz1".into(),
                    "xyz2".into(),
                    "xyz3".into(),
                    "abcd".into()
                ]
            ))
        );
        // Unicode case folding: `s` also matches U+017F and `k` the Kelvin sign, both multi-byte.
        assert_eq!(mixed(r"\s*(?i)(?:risk|;)", true), None);
        assert_eq!(
            mixed(r"\s*(?i)(?:risk|;)", false),
            Some((";".into(), vec!["risk".into()]))
        );
        assert_eq!(
            mixed(r"\s*(?i)(?:union|;)", true),
            Some((";".into(), vec!["union".into()]))
        );
    }

    /// Does the mixed requirement hold in `hay`?
    fn mixed_holds(m: &Mixed, hay: &[u8]) -> bool {
        hay.iter().any(|b| m.bytes.contains(b)) || any_occurs(&m.literals, hay)
    }

    /// Does any literal occur in `hay` (ASCII case-insensitively)?
    fn any_occurs(set: &[Vec<u8>], hay: &[u8]) -> bool {
        let hay = hay.to_ascii_lowercase();
        set.iter().any(|l| contains(&hay, l))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Whenever a pattern matches, one of its required literals occurs.
        #[test]
        fn a_match_contains_a_required_literal(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "ab", "(?i)Cd", "x", "\\.\\.", "[/\\\\]", "\\s*", "\\b", "^", "(?:ef|gh)", "(?:ij)?", "k+", "\\d",
                "[Mm]", "(?i:no)", "|", "pq{2}", ".", "(?:rs|t)", "uv", "$",
            ]), 1..8),
            hay in "[a-vA-V0-9 ./\\\\]{0,40}",
        ) {
            let p = parts.concat();
            if let (Ok(re), Some(set)) = (regex::bytes::Regex::new(&p), parse(&p, false).and_then(|h| required_set(&h)))
                && re.is_match(hay.as_bytes())
            {
                proptest::prop_assert!(any_occurs(&set, hay.as_bytes()), "{} on {:?}: {:?}", p, hay, set);
            }
        }

        /// Whenever a pattern matches, one of its mixed requirement's bytes or literals occurs, in byte and in
        /// Unicode mode (where `(?i)` `s` and `k` also match multi-byte characters, which some samples are).
        #[test]
        fn a_match_meets_the_mixed_requirement(
            // Pattern parts, each with a text it matches.
            parts in proptest::collection::vec(proptest::sample::select(vec![
                ("ab", "ab"), ("(?i)Cd", "cD"), ("x", "x"), ("\\(", "("), (";", ";"), ("[=]", "="),
                ("(?:<>|!=)", "<>"), ("(?:<>|!=)", "!="), ("[<>]", ">"), ("(?:uni|;)", "UNI"), ("(?:uni|;)", ";"),
                ("(?i:sk)", "sK"), ("(?i:sk)", "\u{17f}\u{212a}"), ("(?i)union", "UNION"), ("\\s*", " "),
                ("\\b", ""), ("^", ""), ("(?:efg|h)", "h"), ("(?:ij)?", ""), ("k+", "kk"), ("\\d", "7"),
                ("[Mm]", "M"), ("|", ""), ("(?:rst|\\))", ")"), ("(?:rst|\\))", "rst"), ("uv", "uv"), (".", "/"),
                ("$", ""), ("(?:&|like)", "&"), ("(?:&|like)", "Like"), ("\\w+", "w"), ("['\"]", "'"),
                // Enough literals to be traded for a shared substring.
                ("(?:java1|java2|java3|java4|java5|orgx|orgy|orgz|orgw)", "JAVA4"),
                ("(?:java1|java2|java3|java4|java5|orgx|orgy|orgz|orgw)", "orgz"),
            ]), 1..6),
            // Which branch's texts the haystack holds, and text around them.
            branch in 0usize..4,
            around in proptest::collection::vec(proptest::sample::select(vec![
                "", " ", "ab", "x", "uv", "efg", "/", "'", "\u{17f}", "\u{212a}", "1",
            ]), 2),
            unicode in proptest::bool::ANY,
        ) {
            let p: String = parts.iter().map(|(re, _)| *re).collect();
            let branches: Vec<&[(&str, &str)]> = parts.split(|(re, _)| *re == "|").collect();
            let texts: String = branches
                .get(branch % branches.len())
                .map(|b| b.iter().map(|(_, t)| *t).collect())
                .unwrap_or_default();
            let hay = format!("{}{texts}{}", around[0], around[1]);
            let re = regex::bytes::RegexBuilder::new(&p).unicode(unicode).build();
            let req = parse(&p, unicode).and_then(|h| required_mixed(&h)).and_then(settle);
            if let (Ok(re), Some(m)) = (re, req)
                && re.is_match(hay.as_bytes())
            {
                proptest::prop_assert!(mixed_holds(&m, hay.as_bytes()), "{} on {:?}: {:?}", p, hay, m);
            }
        }
    }
}
