//! Differential tests: our tokenizer against libinjectionrs's `SqliTokenizer` (the oracle), token by token
//! (type, full 32-byte value, length, position, quote marks, `@` count) plus the comment statistics, in every
//! context libinjection parses in; and `detect` on our tokens against `detect` on libinjectionrs's.
//!
//! libinjectionrs is no oracle for NUL bytes: it leaves NUL out of the byte sets C scans with `strchr` (see
//! `classes`), where this tokenizer follows C. Inputs with NUL are therefore compared with C libinjection itself
//! (`tests/c_libinjection.rs`); here they are skipped, or their NULs replaced, and a few NUL shapes are pinned.

use libinjectionrs::sqli::SqliTokenizer;
use libinjectionrs::sqli::sqli_data::{CHAR_MAP, CharType};
use proptest::prelude::*;

use super::classes::CLASSES;
use super::*;
use crate::sqli::{Context, detect, detect_reference};

/// The five contexts `libinjection_is_sqli` may parse in.
const CONTEXTS: [Context; 5] = [
    Context::AsIsAnsi,
    Context::AsIsMysql,
    Context::SingleQuoteAnsi,
    Context::SingleQuoteMysql,
    Context::DoubleQuoteMysql,
];

fn describe(t: &Token) -> String {
    format!(
        "{:?} val={:?} len={} pos={} open={} close={} count={}",
        t.token_type, t.val, t.len, t.pos, t.str_open, t.str_close, t.count
    )
}

/// Every token of our tokenizer, then its comment statistics.
fn ours(input: &[u8], flags: SqliFlags) -> Vec<String> {
    let mut t = Tokenizer::new(input, flags);
    let mut out = Vec::new();
    let mut tok = Token::new();
    while t.next_into(&mut tok) {
        out.push(describe(&tok));
        assert!(out.len() <= input.len(), "more tokens than bytes");
    }
    out.push(format!(
        "stats {} {} {} {}",
        t.stats_comment_c, t.stats_comment_ddw, t.stats_comment_ddx, t.stats_comment_hash
    ));
    out
}

/// Every token of libinjectionrs's tokenizer, then its comment statistics.
fn reference(input: &[u8], flags: SqliFlags) -> Vec<String> {
    let mut t = SqliTokenizer::new(input, flags);
    let mut out = Vec::new();
    while let Some(tok) = t.next_token() {
        out.push(describe(&tok));
        if out.len() > input.len() {
            break;
        }
    }
    out.push(format!(
        "stats {} {} {} {}",
        t.stats_comment_c, t.stats_comment_ddw, t.stats_comment_ddx, t.stats_comment_hash
    ));
    out
}

/// `input` with each NUL byte replaced by `\x01` (another byte of class "other"), for the comparisons with
/// libinjectionrs.
fn without_nul(input: &[u8]) -> Vec<u8> {
    input.iter().map(|&b| if b == 0 { 1 } else { b }).collect()
}

/// Asserts identical token streams in every context and identical `detect` results (inputs with NUL are left to
/// the comparison with C).
fn assert_same(input: &[u8]) {
    if input.contains(&0) {
        return;
    }
    for ctx in CONTEXTS {
        assert_eq!(
            ours(input, ctx.flags()),
            reference(input, ctx.flags()),
            "{ctx:?} {:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        detect(input),
        detect_reference(input),
        "{:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn class_table_matches_libinjectionrs() {
    for (b, their) in CHAR_MAP.iter().enumerate() {
        let expected = match their {
            CharType::White => Class::White,
            CharType::Bang => Class::Bang,
            CharType::String => Class::Quote,
            CharType::Hash => Class::Hash,
            CharType::Money => Class::Money,
            CharType::Op1 | CharType::Unary => Class::Op1,
            CharType::Op2 => Class::Op2,
            CharType::LeftParens
            | CharType::RightParens
            | CharType::Comma
            | CharType::Semicolon
            | CharType::LeftBrace
            | CharType::RightBrace => Class::Char,
            CharType::Dash => Class::Dash,
            CharType::Number => Class::Number,
            CharType::Slash => Class::Slash,
            CharType::Variable => Class::Variable,
            CharType::Word => Class::Word,
            CharType::BString => Class::BString,
            CharType::EString => Class::EString,
            CharType::NQString => Class::NqString,
            CharType::QString => Class::QString,
            CharType::UString => Class::UString,
            CharType::XString => Class::XString,
            CharType::BWord => Class::BracketWord,
            CharType::Backslash => Class::Backslash,
            CharType::Tick => Class::Tick,
            CharType::Other => Class::Other,
        };
        assert_eq!(CLASSES[b], expected, "byte {b:#04x}");
    }
}

#[test]
fn tokens_of_known_shapes() {
    let flags = Context::AsIsAnsi.flags();
    let kinds = |input: &[u8]| -> Vec<(TokenType, Vec<u8>)> {
        let mut t = Tokenizer::new(input, flags);
        let mut tok = Token::new();
        let mut v = Vec::new();
        while t.next_into(&mut tok) {
            v.push((tok.token_type, tok.val[..tok.len].to_vec()));
        }
        v
    };
    use TokenType as T;
    assert_eq!(
        kinds(b"SELECT.x 0x1F 1e 'a\\'b'"),
        vec![
            (T::Expression, b"SELECT".to_vec()),
            (T::Dot, b".".to_vec()),
            (T::Bareword, b"x".to_vec()),
            (T::Number, b"0x1F".to_vec()),
            (T::Bareword, b"1e".to_vec()),
            (T::String, b"a\\'b".to_vec()),
        ]
    );
    assert_eq!(
        kinds(b"@@version /*! x */ -- y"),
        vec![
            (T::Variable, b"@@version".to_vec()),
            (T::Evil, b"/*! x */".to_vec()),
            (T::Comment, b"-- y".to_vec()),
        ]
    );
    // NUL as C sees it: a digit of hex, binary and money runs, the end of a variable name, white space elsewhere.
    assert_eq!(
        kinds(b"0x\x00 0b1\x00 $\x00 x'a\x00' @v\x00w"),
        vec![
            (T::Number, b"0x\x00".to_vec()),
            (T::Number, b"0b1\x00".to_vec()),
            (T::Number, b"$\x00".to_vec()),
            (T::Number, b"x'a\x00'".to_vec()),
            (T::Variable, b"@v".to_vec()),
            (T::Bareword, b"w".to_vec()),
        ]
    );
    let long = [b'a'; 40];
    let toks = kinds(&long);
    assert_eq!(toks.len(), 1);
    assert_eq!(toks[0].1.len(), 31, "values are truncated to 31 bytes");
}

/// Hand-picked inputs for every character class and its edge cases (ends of input, escapes, truncation).
const EDGE_CASES: &[&[u8]] = &[
    b"",
    b" ",
    b"'",
    b"\"",
    b"''",
    b"'a''b'",
    b"'a\\'b",
    b"'a\\\\'b'",
    b"\\'x'",
    b"1' or '1'='1",
    b"1\" or \"1\"=\"1",
    b"`",
    b"``",
    b"`concat`(1)",
    b"`user` `sleep`",
    b"@",
    b"@@",
    b"@`x`",
    b"@@'y'",
    b"@\"z",
    b"@a.b@c",
    b"@x\0y",
    b"$",
    b"$$",
    b"$$abc$$",
    b"$$abc",
    b"$tag$ x $tag$",
    b"$tag$ x",
    b"$tag",
    b"$1,000.00",
    b"$.",
    b"$.x",
    b"$5",
    b"N'abc'",
    b"n'",
    b"nq'[x]'",
    b"NQ'(x)'",
    b"q'{a}'",
    b"Q'<a>'x",
    b"q'\x80a'",
    b"q' a'",
    b"q'",
    b"qq",
    b"U&'x'",
    b"u&'x",
    b"u&",
    b"u&x",
    b"X'0aF'",
    b"x'0g'",
    b"x'",
    b"B'0101'",
    b"b'012'",
    b"b'",
    b"E'x\\'y'",
    b"e'",
    b"e'x",
    b"0x",
    b"0x1g",
    b"0X",
    b"0b",
    b"0b012",
    b"0B1",
    b"1.5e+10",
    b"1.5e-",
    b"1e",
    b"1E5d",
    b"1d",
    b"1dunion",
    b"1fUNION",
    b"1f;",
    b"1f\xa0",
    b"1f\0",
    b"1fx",
    b".",
    b"..",
    b".5",
    b"5.",
    b".e1",
    b"--",
    b"--x",
    b"-- x\ny",
    b"--\t",
    b"--\xa0",
    b"-",
    b"#",
    b"# x\n1",
    b"/",
    b"/*",
    b"/**/",
    b"/*/",
    b"/*/*/",
    b"/* /* */",
    b"/*!12345 union*/",
    b"/*!",
    b"\\",
    b"\\N",
    b"\\n",
    b"[a b]",
    b"[a",
    b"]",
    b"?",
    b"!",
    b"!=",
    b"!!",
    b"<=>",
    b"<=",
    b"<>",
    b"||",
    b"&&",
    b":=",
    b":",
    b"::",
    b"*",
    b"a:",
    b"{",
    b"}",
    b"(",
    b")",
    b";",
    b",",
    b"~",
    b"^",
    b"%",
    b"+",
    b"select.x",
    b"union`x",
    b"foo.bar`baz",
    b"SELECT 1 UNION ALL SELECT password FROM users WHERE 1=1 LOCK IN SHARE MODE",
    b"1 into outfile 'x'",
    b"x sp_password -- c",
    b"\xff\xfe union",
    b"\xc3\xa9t\xc3\xa9",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.select",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    b"'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
    b"{ `` . `` . id }",
    b"\0",
    b"a\0b",
    b"\x7f1",
];

#[test]
fn edge_cases_match_libinjectionrs() {
    for input in EDGE_CASES {
        assert_same(input);
    }
}

/// Fragments that steer random inputs into the interesting paths.
const FRAGMENTS: &[&str] = &[
    "select",
    "UNION",
    "all",
    "from",
    "where",
    "and",
    "OR",
    "not",
    "in",
    "like",
    "lock",
    "share",
    "mode",
    "into",
    "outfile",
    "user",
    "if",
    "begin",
    "declare",
    "sleep",
    "char",
    "concat",
    "version",
    "x",
    "foo_bar",
    "1",
    "0",
    "0x",
    "0x1f",
    "0b",
    "0b10",
    "1e",
    "1e5",
    "1.5",
    ".5",
    "1d",
    "1f",
    "E",
    "e'",
    "N'",
    "nq'",
    "q'",
    "Q'[",
    "]'",
    "u&'",
    "U&",
    "x'",
    "X'ff'",
    "b'01'",
    "B'",
    "$",
    "$$",
    "$a$",
    "$1,0",
    ".",
    "`",
    "'",
    "\"",
    "''",
    "\\",
    "\\N",
    "\\'",
    " ",
    "\t",
    "\n",
    "\u{a0}",
    "\0",
    "(",
    ")",
    ",",
    ";",
    "{",
    "}",
    "[",
    "]",
    "?",
    "@",
    "@@",
    "@`",
    "=",
    "<",
    ">",
    "<=>",
    "!",
    "!=",
    "||",
    "&&",
    "&",
    "|",
    ":",
    "::",
    "*",
    "/",
    "-",
    "--",
    "-- ",
    "#",
    "/*",
    "*/",
    "/*!",
    "%",
    "^",
    "~",
    "+",
    "sp_password",
    "\u{e9}",
    "\u{ff}",
];

fn sql_like() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..24),
        proptest::collection::vec(any::<u8>(), 0..8),
        any::<prop::sample::Index>(),
        0usize..4,
    )
        .prop_map(|(parts, noise, at, cut)| {
            let mut v = parts.concat().into_bytes();
            // Splice some raw bytes in and sometimes cut the end (truncated strings and comments).
            let i = at.index(v.len() + 1);
            v.splice(i..i, noise);
            v.truncate(v.len().saturating_sub(cut));
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// SQL-like random inputs: identical token streams in every context, identical verdicts.
    #[test]
    fn sql_like_inputs_match_libinjectionrs(input in sql_like()) {
        let input = without_nul(&input);
        for ctx in CONTEXTS {
            prop_assert_eq!(ours(&input, ctx.flags()), reference(&input, ctx.flags()), "{:?}", ctx);
        }
        prop_assert_eq!(detect(&input), detect_reference(&input));
    }

    /// Arbitrary bytes, including high bytes (NUL replaced).
    #[test]
    fn random_bytes_match_libinjectionrs(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        let input = without_nul(&input);
        for ctx in CONTEXTS {
            prop_assert_eq!(ours(&input, ctx.flags()), reference(&input, ctx.flags()), "{:?}", ctx);
        }
        prop_assert_eq!(detect(&input), detect_reference(&input));
    }
}

/// Every line of libinjection's test and data files, the payloadbox lists and the CRS SQLi regression
/// files (raw, and URL-decoded), plus each golden file's input as a whole.
#[test]
fn corpus_matches_libinjectionrs() {
    let Some((inputs, files)) = crate::corpus::inputs() else {
        return;
    };
    let mut hits = 0;
    for input in &inputs {
        assert_same(input);
        hits += usize::from(detect(input).is_some());
    }
    eprintln!(
        "corpus: {} distinct inputs from {} files: tokens identical in 5 contexts, detect identical ({} SQLi)",
        inputs.len(),
        files,
        hits
    );
    assert!(inputs.len() > 20_000, "corpus too small: {}", inputs.len());
}
