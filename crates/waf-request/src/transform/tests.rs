//! Unit and property tests for the transformations, with hand-worked expectations.

use super::*;
use proptest::prelude::*;

/// Applies the SecLang-named transformation and returns the output bytes.
fn t(name: &str, input: &[u8]) -> Vec<u8> {
    let tr = Transform::from_seclang_name(name)
        .or_else(|| Transform::from_aws_name(name))
        .unwrap_or_else(|| panic!("unknown transform {name}"));
    apply(tr, input).into_owned()
}

fn borrowed(name: &str, input: &[u8]) -> bool {
    let tr = Transform::from_seclang_name(name)
        .or_else(|| Transform::from_aws_name(name))
        .unwrap_or_else(|| panic!("unknown transform {name}"));
    matches!(apply(tr, input), Cow::Borrowed(_))
}

#[test]
fn names_round_trip() {
    let aws: Vec<_> = Transform::all().filter_map(|t| t.aws_name()).collect();
    assert_eq!(aws.len(), 31);
    for t in Transform::all() {
        if let Some(n) = t.aws_name() {
            assert_eq!(Transform::from_aws_name(n), Some(t));
        }
        if let Some(n) = t.seclang_name() {
            assert_eq!(Transform::from_seclang_name(n), Some(t));
            assert_eq!(
                Transform::from_seclang_name(&n.to_ascii_uppercase()),
                Some(t)
            );
        }
    }
    assert_eq!(
        Transform::from_seclang_name("normalisePath"),
        Some(Transform::NormalizePath)
    );
    assert_eq!(
        Transform::from_seclang_name("NORMALISEPATHWIN"),
        Some(Transform::NormalizePathWin)
    );
    assert_eq!(
        Transform::from_seclang_name("utf8toUnicode"),
        Some(Transform::Utf8ToUnicode)
    );
    assert_eq!(Transform::from_seclang_name("bogus"), None);
    assert_eq!(Transform::from_aws_name("url_decode"), None);
    assert_eq!(Transform::Sha256.seclang_name(), None);
    assert_eq!(Transform::Sha1.aws_name(), None);
}

#[test]
fn every_aws_model_name_is_known() {
    // The 31 values of TextTransformationType in the WAFv2 model.
    let model = [
        "NONE",
        "COMPRESS_WHITE_SPACE",
        "HTML_ENTITY_DECODE",
        "LOWERCASE",
        "CMD_LINE",
        "URL_DECODE",
        "BASE64_DECODE",
        "HEX_DECODE",
        "MD5",
        "REPLACE_COMMENTS",
        "ESCAPE_SEQ_DECODE",
        "SQL_HEX_DECODE",
        "CSS_DECODE",
        "JS_DECODE",
        "NORMALIZE_PATH",
        "NORMALIZE_PATH_WIN",
        "REMOVE_NULLS",
        "REPLACE_NULLS",
        "BASE64_DECODE_EXT",
        "URL_DECODE_UNI",
        "UTF8_TO_UNICODE",
        "REMOVE_WHITESPACE",
        "TRIM",
        "TRIM_LEFT",
        "TRIM_RIGHT",
        "REMOVE_COMMENTS_CHAR",
        "UPPERCASE",
        "CMD_LINE_WIN",
        "CMD_LINE_UNIX",
        "JS_DECODE_EXT",
        "SHA256",
    ];
    for n in model {
        assert!(Transform::from_aws_name(n).is_some(), "{n}");
    }
}

#[test]
fn case_and_nulls() {
    assert_eq!(t("lowercase", b"AbC\xc3"), b"abc\xc3");
    assert!(borrowed("lowercase", b"abc"));
    assert_eq!(t("uppercase", b"aBc"), b"ABC");
    assert_eq!(t("removeNulls", b"a\0b\0"), b"ab");
    assert!(borrowed("removeNulls", b"ab"));
    assert_eq!(t("replaceNulls", b"a\0b"), b"a b");
    assert_eq!(t("none", b"x"), b"x");
}

#[test]
fn url_decode() {
    assert_eq!(t("urlDecode", b"a%20b+c%zz%4"), b"a b c%zz%4");
    assert_eq!(t("urlDecode", b"%41%"), b"A%");
    assert_eq!(t("urlDecode", b"%2527"), b"%27");
    assert_eq!(t("urlDecode", b""), b"");
    assert!(borrowed("urlDecode", b"plain"));
    assert!(borrowed("urlDecode", b"%zz"));
}

#[test]
fn url_decode_uni() {
    assert_eq!(t("urlDecodeUni", b"%u0041%U0042"), b"AB");
    assert_eq!(t("urlDecodeUni", b"%uff1cscript%uFF1E"), b"<script>");
    assert_eq!(t("urlDecodeUni", b"%u00e9t%u00C9"), b"etE");
    assert_eq!(t("urlDecodeUni", b"%u2019%u201c%u2014"), b"'\"-");
    assert_eq!(
        t("urlDecodeUni", b"%u00a4%u00d7%u00a7%u00ff"),
        b"$\xd7\xa7y"
    );
    assert_eq!(
        t(
            "urlDecodeUni",
            b"%u0130%u0131%u0141%u0142%u0152%u017d%u017e%u0178%u0138"
        ),
        b"IiLlOZzYk"
    );
    assert_eq!(t("urlDecodeUni", b"%u4e2d"), b"\x2d");
    assert_eq!(t("urlDecodeUni", b"%u004"), b"%u004");
    assert_eq!(t("urlDecodeUni", b"%uzzzz%u"), b"%uzzzz%u");
    assert_eq!(t("urlDecodeUni", b"%3C+%3e"), b"< >");
    assert!(borrowed("urlDecodeUni", b"%u12"));
}

#[test]
fn html_entity_decode() {
    assert_eq!(t("htmlEntityDecode", b"&lt;script&gt;"), b"<script>");
    assert_eq!(t("htmlEntityDecode", b"&LT&QUOT;&amp;"), b"<\"&");
    assert_eq!(t("htmlEntityDecode", b"&#60;&#x3c;&#X3C"), b"<<<");
    assert_eq!(t("htmlEntityDecode", b"&#0000060x"), b"<x");
    assert_eq!(t("htmlEntityDecode", b"&nbsp;"), b"\xa0");
    assert_eq!(t("htmlEntityDecode", b"&#256;&#x141;"), b"\x00\x41");
    assert_eq!(
        t("htmlEntityDecode", b"&#99999999999999999999999;"),
        b"\xff"
    );
    assert_eq!(
        t("htmlEntityDecode", b"&foo;&#;&#x;&#xg&"),
        b"&foo;&#;&#x;&#xg&"
    );
    assert!(borrowed("htmlEntityDecode", b"a & b &apos;"));
}

#[test]
fn js_decode() {
    assert_eq!(t("jsDecode", br"\x3cscript\x3e"), b"<script>");
    assert_eq!(t("jsDecode", br"\u003c\uff1c\uFF1E"), b"<<>");
    assert_eq!(t("jsDecode", br"\074\74\7"), b"<<\x07");
    assert_eq!(t("jsDecode", br"\400"), b" 0");
    assert_eq!(t("jsDecode", br"\n\t\q\'\\"), b"\n\tq'\\");
    assert_eq!(t("jsDecode", br"\x4"), b"x4");
    assert_eq!(t("jsDecode", br"\u12"), b"u12");
    assert_eq!(t("jsDecode", b"ab\\"), b"ab\\");
    assert_eq!(t("jsDecode", br"\u{3c}"), b"u{3c}");
    assert_eq!(t("JS_DECODE_EXT", br"\u{3c}\u{ff1c}\u{1F600}"), b"<<\x00");
    assert_eq!(t("JS_DECODE_EXT", br"\u{}\u{1234567}"), b"u{}u{1234567}");
    assert_eq!(t("JS_DECODE_EXT", br"\x41"), b"A");
}

#[test]
fn css_decode() {
    assert_eq!(t("cssDecode", br"\3c script\3e"), b"<script>");
    assert_eq!(t("cssDecode", br"\00003c"), b"<");
    assert_eq!(t("cssDecode", br"\ff1c\0ff1c\00ff1c"), b"<<<");
    assert_eq!(t("cssDecode", br"\1ff1c"), b"\x1c");
    assert_eq!(t("cssDecode", br"java\script"), b"javascript");
    assert_eq!(t("cssDecode", br"\6a avascript"), b"javascript");
    assert_eq!(t("cssDecode", br"\a"), b"\n");
    assert_eq!(t("cssDecode", b"a\\\nb\\"), b"ab");
    assert_eq!(t("cssDecode", br"\1234567"), b"\x567");
}

#[test]
fn escape_seq_decode() {
    assert_eq!(t("escapeSeqDecode", b"\\x41\\101\\n\\q\\"), b"AA\nq\\");
    assert_eq!(t("escapeSeqDecode", b"\\xZZ\\X4a"), b"xZZJ");
    assert_eq!(t("escapeSeqDecode", b"\\777\\0"), b"\xff\x00");
    assert_eq!(t("escapeSeqDecode", b"\\?\\\"\\'"), b"?\"'");
}

#[test]
fn cmd_line() {
    assert_eq!(t("cmdLine", br#"c"at^ C:\T"#), b"cat c:t");
    assert_eq!(t("cmdLine", b"cat /etc/passwd"), b"cat/etc/passwd");
    assert_eq!(t("cmdLine", b"a,b;c"), b"a b c");
    assert_eq!(t("cmdLine", b"A \t;, B"), b"a b");
    assert_eq!(t("cmdLine", b"a (b)"), b"a(b)");
    assert_eq!(t("cmdLine", b"a ' /b"), b"a/b");
    assert!(borrowed("cmdLine", b"ls -la"));
    assert_eq!(
        t("CMD_LINE_WIN", br#"C:\Windows\"system32"^ = x"#),
        br"c:\windows\system32 x"
    );
    assert_eq!(
        t("CMD_LINE_UNIX", br#"c\a't' "/etc/pa"ss"wd" ^x;y"#),
        b"cat/etc/passwd ^x;y"
    );
}

#[test]
fn whitespace() {
    assert_eq!(
        t("compressWhitespace", b"a \t\n b\x0bc\xa0\xa0d"),
        b"a b c d"
    );
    assert!(borrowed("compressWhitespace", b"a b c"));
    assert_eq!(t("compressWhitespace", b"a\tb"), b"a b");
    assert_eq!(t("removeWhitespace", b" a b\tc\xa0d\r\n"), b"abcd");
    assert_eq!(t("trim", b" \t a b \r\n"), b"a b");
    assert_eq!(t("trimLeft", b"  a "), b"a ");
    assert_eq!(t("trimRight", b"  a "), b"  a");
    assert_eq!(t("trim", b"   "), b"");
    assert!(borrowed("trim", b"ab"));
    assert!(!borrowed("trim", b" ab"));
}

#[test]
fn normalize_path() {
    assert_eq!(t("normalizePath", b"/a/b/../c/./d//e"), b"/a/c/d/e");
    assert_eq!(t("normalizePath", b"/../../etc/passwd"), b"/etc/passwd");
    assert_eq!(t("normalizePath", b"../../etc"), b"../../etc");
    assert_eq!(t("normalizePath", b"a/../../b"), b"../b");
    assert_eq!(t("normalizePath", b"/a/b/"), b"/a/b/");
    assert_eq!(t("normalizePath", b"/a/b/.."), b"/a");
    assert_eq!(t("normalizePath", b"/a/."), b"/a");
    assert_eq!(t("normalizePath", b"./x"), b"x");
    assert_eq!(t("normalizePath", b"x/"), b"x/");
    assert_eq!(t("normalizePath", b"/.."), b"/");
    assert!(borrowed("normalizePath", b"/"));
    assert!(borrowed("normalizePath", b"/a/b.php"));
    assert!(borrowed("normalizePath", b""));
    assert_eq!(t("normalizePath", br"\a\..\b"), br"\a\..\b");
    assert_eq!(t("normalizePathWin", br"\a\..\b"), b"/b");
    assert_eq!(
        t("normalizePathWin", br"c:\windows\..\boot.ini"),
        b"c:/boot.ini"
    );
}

#[test]
fn utf8_to_unicode() {
    assert_eq!(t("utf8toUnicode", "é中".as_bytes()), b"%u00e9%u4e2d");
    assert_eq!(t("utf8toUnicode", "😀".as_bytes()), b"%u1f600");
    assert_eq!(t("utf8toUnicode", b"\xc0\xbc"), b"%u003c\xc0");
    assert_eq!(t("utf8toUnicode", b"\xed\xa0\x80"), b"%ud800\xed");
    assert_eq!(t("utf8toUnicode", b"a\xc3"), b"a");
    assert_eq!(t("utf8toUnicode", b"\xc3A\x80\xff"), b"A\x80\xff");
    assert!(borrowed("utf8toUnicode", b"plain ascii"));
}

#[test]
fn comments() {
    assert_eq!(t("replaceComments", b"a/*x*/b/**/c"), b"a b c");
    assert_eq!(t("replaceComments", b"a/*x"), b"a ");
    assert!(borrowed("replaceComments", b"a*/b"));
    assert_eq!(t("removeComments", b"a/*x*/b"), b"ab");
    assert_eq!(t("removeComments", b"1 -- x"), b"1 ");
    assert_eq!(t("removeComments", b"a#b"), b"a");
    assert_eq!(t("removeComments", b"a<!--x-->b"), b"ab");
    assert_eq!(t("removeComments", b"a/*x"), b"a ");
    assert_eq!(t("removeCommentsChar", b"a/*b*/c--d#e<!--f-->"), b"abcdef");
    assert!(borrowed("removeCommentsChar", b"a-b"));
}

#[test]
fn hex_and_sql_hex() {
    assert_eq!(t("hexDecode", b"414243"), b"ABC");
    assert_eq!(t("hexDecode", b"4142z"), b"AB");
    assert_eq!(t("hexDecode", b"6A6a"), b"jj");
    assert_eq!(t("hexEncode", b"A\xff"), b"41ff");
    assert_eq!(t("sqlHexDecode", b"0x414243 and 0x4"), b"ABC and 0x4");
    assert_eq!(t("sqlHexDecode", b"select 0X6f72;"), b"select or;");
    assert_eq!(t("sqlHexDecode", b"0x41424"), b"AB4");
    assert!(borrowed("sqlHexDecode", b"0xzz 0x1"));
}

#[test]
fn base64() {
    assert_eq!(t("base64Decode", b"QUJD"), b"ABC");
    assert_eq!(t("base64Decode", b"QUI="), b"AB");
    assert_eq!(t("base64Decode", b"QQ=="), b"A");
    assert_eq!(t("base64Decode", b"QUJDRA"), b"ABC");
    assert_eq!(t("base64Decode", b"QUJD\r\nRA==  \n"), b"ABCD");
    assert_eq!(t("base64Decode", b"QUJD  "), b"ABC");
    assert_eq!(t("base64Decode", b"QU JD"), b"");
    assert_eq!(t("base64Decode", b"QU*D"), b"");
    assert_eq!(t("base64Decode", b"QU=D"), b"");
    assert_eq!(t("base64Decode", b"Q==="), b"");
    assert_eq!(t("base64Decode", b"QUJD\rRA=="), b"");
    assert_eq!(t("base64Decode", b"-_8A"), b"");
    assert_eq!(t("base64DecodeExt", b"QU*J.D"), b"ABC");
    assert_eq!(t("base64DecodeExt", b"QUI=="), b"AB");
    assert_eq!(t("base64DecodeExt", b"QUJDRA"), b"ABCD");
    assert_eq!(t("base64DecodeExt", b"Q="), b"");
    assert_eq!(t("base64DecodeExt", b"Q=="), b"");
    assert_eq!(t("base64DecodeExt", b"-_8"), b"\xfb\xff");
    assert_eq!(t("base64Encode", b"ABCD"), b"QUJDRA==");
    assert_eq!(t("base64Decode", b""), b"");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn digests_and_length() {
    assert_eq!(hex(&t("md5", b"")), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(
        hex(&t("sha1", b"abc")),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        hex(&t("SHA256", b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(t("length", b"abcd"), b"4");
    assert_eq!(t("length", b""), b"0");
}

#[test]
fn url_encode_and_parity() {
    assert_eq!(t("urlEncode", b"a b&c*\xff"), b"a+b%26c*%ff");
    assert!(borrowed("urlEncode", b"abc123"));
    assert_eq!(t("parityEven7bit", b"AC"), b"\x41\xc3");
    assert_eq!(t("parityOdd7bit", b"AC"), b"\xc1\x43");
    assert_eq!(t("parityZero7bit", b"\xc1\x43"), b"AC");
}

#[test]
fn chains() {
    let chain = [
        Transform::UrlDecodeUni,
        Transform::HtmlEntityDecode,
        Transform::Lowercase,
    ];
    assert_eq!(&*apply_chain(&chain, b"%26LT%3BSCRIPT"), b"<script");
    assert!(matches!(apply_chain(&chain, b"clean"), Cow::Borrowed(_)));
    assert!(matches!(apply_chain(&[], b"x"), Cow::Borrowed(_)));
    let two = [Transform::UrlDecode, Transform::UrlDecode];
    assert_eq!(&*apply_chain(&two, b"%2541"), b"A");
}

proptest! {
    #[test]
    fn plus_or_percent_scans_agree(input in proptest::collection::vec(any::<u8>(), 0..80), k in 0usize..80) {
        // Short and long inputs: the scans change method at 32 bytes.
        let want = |v: &[u8]| v.iter().position(|&b| b == b'%' || b == b'+');
        prop_assert_eq!(decode::has_plus_or_percent(&input), want(&input).is_some());
        prop_assert_eq!(decode::find_plus_or_percent(&input), want(&input));
        for c in [b'%', b'+', b'$', b',', b'*'] {
            let mut v = input.clone();
            v.insert(k.min(v.len()), c);
            prop_assert_eq!(decode::has_plus_or_percent(&v), want(&v).is_some());
            prop_assert_eq!(decode::find_plus_or_percent(&v), want(&v));
            prop_assert_eq!(text::has_byte(&v, c), true);
            prop_assert_eq!(text::has_byte(&input, c), input.contains(&c));
        }
    }

    #[test]
    fn never_panics_and_borrowed_iff_unchanged(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        for tr in Transform::all() {
            let out = apply(tr, &input);
            let unchanged = *out == *input;
            prop_assert_eq!(matches!(out, Cow::Borrowed(_)), unchanged, "{:?}", tr);
        }
    }

    #[test]
    fn escape_heavy_inputs_never_panic(input in "[%uUxX0-9a-fA-F&#;\\\\/*.\\-{}]{0,40}") {
        for tr in Transform::all() {
            let _ = apply(tr, input.as_bytes());
        }
    }

    #[test]
    fn idempotent_ones(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        for tr in [
            Transform::Lowercase, Transform::CompressWhitespace, Transform::RemoveNulls,
            Transform::RemoveWhitespace, Transform::Trim, Transform::NormalizePath,
            Transform::NormalizePathWin, Transform::CmdLine,
        ] {
            let once = apply(tr, &input).into_owned();
            let twice = apply(tr, &once);
            prop_assert!(matches!(twice, Cow::Borrowed(_)), "{:?} not idempotent on {:?}", tr, input);
        }
    }

    #[test]
    fn decoders_never_grow(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        for tr in [
            Transform::UrlDecode, Transform::UrlDecodeUni, Transform::HtmlEntityDecode, Transform::JsDecode,
            Transform::JsDecodeExt, Transform::CssDecode, Transform::EscapeSeqDecode, Transform::SqlHexDecode,
            Transform::Base64Decode, Transform::Base64DecodeExt, Transform::HexDecode,
        ] {
            prop_assert!(apply(tr, &input).len() <= input.len(), "{:?}", tr);
        }
    }
}

#[test]
fn empty_input() {
    for tr in Transform::all() {
        let out = apply(tr, b"");
        match tr {
            Transform::Md5 => assert_eq!(out.len(), 16),
            Transform::Sha1 => assert_eq!(out.len(), 20),
            Transform::Sha256 => assert_eq!(out.len(), 32),
            Transform::Length => assert_eq!(&*out, b"0"),
            _ => assert!(matches!(out, Cow::Borrowed(b"")), "{tr:?}"),
        }
    }
}

/// `URL_DECODE_UNI` one byte at a time, as it was before the run-copying loop (the reference for the property
/// test below).
fn url_decode_uni_bytewise(input: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'%' if matches!(input.get(i + 1), Some(b'u' | b'U')) => {
                let code = (2..6).try_fold(0u32, |acc, k| {
                    input
                        .get(i + k)
                        .copied()
                        .and_then(hex)
                        .map(|v| acc << 4 | u32::from(v))
                });
                match code {
                    Some(code) => {
                        out.push(decode::unicode_to_byte(code));
                        i += 6;
                    }
                    None => {
                        out.extend_from_slice(input.get(i..i + 2).unwrap_or(&[]));
                        i += 2;
                    }
                }
            }
            b'%' => match (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
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
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn url_decode_uni_equals_bytewise_reference(input in proptest::collection::vec(
        prop_oneof![Just(b'%'), Just(b'+'), Just(b'u'), Just(b'U'), Just(b'f'), Just(b'F'), Just(b'0'), Just(b'4'),
            Just(b'g'), Just(b'a'), any::<u8>()], 0..40)) {
        prop_assert_eq!(t("urlDecodeUni", &input), url_decode_uni_bytewise(&input));
    }
}

proptest! {
    /// Long inputs exercise the eight-bytes-at-a-time scan for `%` and `+` at every offset.
    #[test]
    fn url_decode_uni_equals_bytewise_reference_long(input in proptest::collection::vec(
        prop_oneof![8 => any::<u8>(), 1 => Just(b'%'), 1 => Just(b'+')], 0..200)) {
        prop_assert_eq!(t("urlDecodeUni", &input), url_decode_uni_bytewise(&input));
    }
}

/// `apply_chain` as first written (each step on the previous result), to check the current one against.
fn chain_reference<'a>(chain: &[Transform], input: &'a [u8]) -> Cow<'a, [u8]> {
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    for &t in chain {
        cur = match cur {
            Cow::Borrowed(b) => apply(t, b),
            Cow::Owned(o) => match apply(t, &o) {
                Cow::Borrowed(_) => Cow::Owned(o),
                Cow::Owned(n) => Cow::Owned(n),
            },
        };
    }
    cur
}

proptest! {
    #[test]
    fn chain_equals_step_by_step(
        input in proptest::collection::vec(prop_oneof![Just(b'%'), Just(b'+'), Just(b'&'), Just(b'A'),
            Just(b' '), Just(b'/'), Just(b'.'), any::<u8>()], 0..48),
        picks in proptest::collection::vec(0usize..64, 0..5),
    ) {
        let all: Vec<Transform> = Transform::all().collect();
        let chain: Vec<Transform> = picks.iter().map(|i| all[i % all.len()]).collect();
        let got = apply_chain(&chain, &input);
        let want = chain_reference(&chain, &input);
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(matches!(got, Cow::Borrowed(_)), matches!(want, Cow::Borrowed(_)));
    }
}

proptest! {
    #[test]
    fn quick_scan_only_skips_no_ops(
        input in proptest::collection::vec(prop_oneof![Just(b'%'), Just(b'+'), Just(b'&'), Just(b'\\'),
            Just(b'A'), Just(b'z'), Just(b';'), any::<u8>()], 0..40),
    ) {
        for t in Transform::all() {
            if surely_unchanged(t, &input) {
                prop_assert!(matches!(apply_full(t, &input), Cow::Borrowed(_)), "{:?}", t);
            }
            prop_assert_eq!(apply(t, &input), apply_full(t, &input));
        }
    }
}

/// A byte written plainly or as one of the escapes the decodings read (`%XX`, `%uXXXX`, `\\xXX`, `\\uXXXX`, `\\` and
/// the character, `&#NN;`, `&#xXX;`, `+`): inputs in which decodings create bytes.
fn escaped_byte() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..9,
        any::<u8>(),
        prop_oneof![
            Just(b'$'),
            Just(b'{'),
            Just(b' '),
            Just(b'k'),
            Just(b'K'),
            any::<u8>()
        ],
    )
        .prop_map(|(kind, plain, b)| match kind {
            0 => format!("%{b:02x}").into_bytes(),
            1 => format!("%u00{b:02X}").into_bytes(),
            2 => format!("\\x{b:02x}").into_bytes(),
            3 => format!("\\u00{b:02x}").into_bytes(),
            4 => vec![b'\\', b],
            5 => format!("&#{b};").into_bytes(),
            6 => format!("&#x{b:x};").into_bytes(),
            7 => b"+".to_vec(),
            _ => vec![plain],
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    #[test]
    fn source_bytes_are_needed_for_wanted_output(
        parts in proptest::collection::vec(escaped_byte(), 0..8),
        wanted in proptest::collection::vec(prop_oneof![Just(b'$'), Just(b'{'), Just(b' '), Just(b'k'), any::<u8>()], 1..4),
    ) {
        let input = parts.concat();
        let mut want = [false; 256];
        for b in &wanted {
            want[usize::from(*b)] = true;
        }
        for t in Transform::all() {
            let Some(src) = source_bytes(t, &want) else { continue };
            prop_assert!(wanted.iter().all(|b| src[usize::from(*b)]), "{:?} must keep the wanted bytes", t);
            if input.iter().all(|b| !src[usize::from(*b)]) {
                let out = apply_full(t, &input);
                prop_assert!(out.iter().all(|b| !want[usize::from(*b)]), "{:?} on {:?} made one of {:?}", t, input, wanted);
            }
        }
    }
}

#[test]
fn source_bytes_of_the_escapes() {
    let mut want = [false; 256];
    want[usize::from(b'$')] = true;
    want[usize::from(b'k')] = true;
    let src = |t| {
        let s: [bool; 256] = source_bytes(t, &want).unwrap();
        (0..=255u8)
            .filter(|b| s[usize::from(*b)])
            .collect::<Vec<u8>>()
    };
    assert_eq!(src(Transform::UrlDecodeUni), b"$%+k");
    assert_eq!(src(Transform::JsDecode), b"$\\k");
    assert_eq!(src(Transform::Lowercase), b"$Kk");
    assert_eq!(src(Transform::None), b"$k");
    assert_eq!(src(Transform::Trim), b"$k");
    assert!(source_bytes(Transform::Base64Decode, &want).is_none());
}
