//! Operator tests against a mock environment, plus a check that every `@rx` of the installed CRS compiles.

use std::net::{IpAddr, Ipv4Addr};

use super::*;

/// A mock environment recording captures and expanding `%{tx.x}` to a fixed value.
#[derive(Default)]
struct Env {
    capture: bool,
    caps: Vec<(usize, Vec<u8>)>,
    vars: Vec<(&'static str, &'static str)>,
}

impl OperatorEnv for Env {
    fn expand(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (k, v) in &self.vars {
            out = out.replace(&format!("%{{{k}}}"), v);
        }
        out
    }
    fn capture(&mut self, index: usize, value: &[u8]) {
        self.caps.push((index, value.to_vec()));
    }
    fn capture_enabled(&self) -> bool {
        self.capture
    }
    fn remote_addr(&self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }
}

fn op(name: &str, arg: &str) -> Operator {
    Operator::parse(name, arg, &OperatorContext::default())
        .unwrap_or_else(|e| panic!("@{name} {arg}: {e}"))
}

fn eval(o: &Operator, input: &[u8]) -> bool {
    o.evaluate(input, &mut Env::default())
}

#[test]
fn rx_basic_and_flags() {
    let o = op("rx", "^a.c$");
    assert!(eval(&o, b"abc"));
    assert!(eval(&o, b"a\nc"), "DOTALL: . matches newline");
    assert!(
        eval(&o, b"x\nabc\ny"),
        "MULTILINE: ^ and $ at line boundaries"
    );
    assert!(!eval(&o, b"abcd"));
    let o = op("rx", "(?i)select");
    assert!(eval(&o, b"SeLeCt"));
    let o = op("rx", r"\w+");
    assert!(
        !eval(&o, "é".as_bytes()),
        "\\w is ASCII-only like PCRE without UCP"
    );
    let o = op("rx", r"\xff");
    assert!(eval(&o, b"a\xff"), "\\xHH is a byte");
}

#[test]
fn rx_captures() {
    let o = op("rx", r"(\d+)-(\d+)");
    let mut env = Env {
        capture: true,
        ..Env::default()
    };
    assert!(o.evaluate(b"x 12-34 y", &mut env));
    assert_eq!(
        env.caps,
        vec![
            (0, b"12-34".to_vec()),
            (1, b"12".to_vec()),
            (2, b"34".to_vec())
        ]
    );
}

#[test]
fn rx_pcre_translation() {
    // braces that are not quantifiers are literals
    assert!(eval(&op("rx", r"\${a}"), b"${a}"));
    assert!(eval(&op("rx", r"a{2}"), b"aa"));
    assert!(!eval(&op("rx", r"^a{2}$"), b"a"));
    assert!(eval(&op("rx", r"x{,3}"), b"x{,3}"));
    // PCRE escapes inside classes
    assert!(eval(&op("rx", r"[\~\<\>]"), b"<"));
    assert!(eval(&op("rx", r"[\'a]"), b"'"));
    assert!(eval(&op("rx", r"[[a]"), b"["));
    assert!(eval(&op("rx", r"[a&&b]"), b"&"));
    assert!(eval(&op("rx", r"[\w-.]"), b"-"));
    // possessive quantifiers and atomic groups
    assert!(eval(&op("rx", r"a\s*+b"), b"a  b"));
    assert!(eval(&op("rx", r"(?>ab)c"), b"abc"));
    // \v is vertical whitespace in PCRE
    assert!(eval(&op("rx", r"a\vb"), b"a\nb"));
    // \Q..\E and short \x
    assert!(eval(&op("rx", r"\Q.*\E"), b".*"));
    assert!(!eval(&op("rx", r"\Q.*\E"), b"ab"));
    assert!(eval(&op("rx", r"a\x0"), b"a\x00"));
}

#[test]
fn rx_trailing_negative_lookahead() {
    let o = op("rx", r"<\?(?!xml)");
    assert!(eval(&o, b"<?php"));
    assert!(eval(&o, b"<?"));
    assert!(eval(&o, b"<?xm"));
    assert!(!eval(&o, b"<?xml version"));
    assert!(eval(&o, b"<?xml <?php"));
}

#[test]
fn rx_leading_lookbehind() {
    let o = op("rx", r#"(?<!&(?:[aAoOuUyY]uml)|&(?:amp));|['"=]"#);
    assert!(!eval(&o, b"a&auml;b"));
    assert!(!eval(&o, b"a&amp;b"));
    assert!(eval(&o, b"a;b"));
    assert!(eval(&o, b"&auml;;"));
    assert!(eval(&o, b"x=y"));
    assert!(!eval(&o, b"plain"));
}

#[test]
fn rx_unsupported_constructs_are_errors() {
    for p in [r"(a)\1", r"a(?=b)", r"(?<=a)b", r"a(?!b)c"] {
        assert!(
            Operator::parse("rx", p, &OperatorContext::default()).is_err(),
            "{p}"
        );
    }
}

#[test]
fn rx_macro_expansion() {
    let o = op("rx", "^%{tx.cs}$");
    assert!(o.needs_expansion());
    let mut env = Env {
        vars: vec![("tx.cs", "utf-8|iso-8859-1")],
        ..Env::default()
    };
    assert!(o.evaluate(b"utf-8", &mut env));
    assert!(!o.evaluate(b"utf-16", &mut env));
    assert!(!op("rx", "abc").needs_expansion());
}

#[test]
fn pm_and_capture() {
    let o = op("pm", "foo bar");
    assert!(eval(&o, b"xxFOOxx"));
    assert!(!eval(&o, b"baz"));
    let mut env = Env {
        capture: true,
        ..Env::default()
    };
    assert!(o.evaluate(b"a Bar b", &mut env));
    assert_eq!(env.caps, vec![(0, b"Bar".to_vec())]);
    assert!(!eval(&op("pm", ""), b"anything"));
}

#[test]
fn pm_from_file_relative_to_base_dir() {
    let dir = std::env::temp_dir().join(format!("seclang-pm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("words.data"), "# comment\n\nevil\r\nbad thing\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let ctx = OperatorContext {
        base_dir: Some(dir.clone()),
    };
    let o = Operator::parse("pmFromFile", "words.data", &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert!(eval(&o, b"a BAD THING here"));
    assert!(eval(&o, b"EVIL"));
    assert!(!eval(&o, b"comment"));
    assert!(matches!(
        Operator::parse("pmFromFile", "missing.data", &ctx),
        Err(OperatorError::File { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn string_and_numeric_with_macros() {
    let mut env = Env {
        vars: vec![("tx.methods", "GET HEAD POST")],
        ..Env::default()
    };
    let o = op("within", "%{tx.methods}");
    assert!(o.needs_expansion());
    assert!(o.evaluate(b"GET", &mut env));
    assert!(!o.evaluate(b"PUT", &mut env));
    let mut env = Env {
        vars: vec![("tx.t", "5")],
        ..Env::default()
    };
    let o = op("ge", "%{tx.t}");
    assert!(o.evaluate(b"5", &mut env));
    assert!(!o.evaluate(b"4", &mut env));
    assert!(eval(&op("eq", "0"), b"abc"));
    assert!(eval(&op("lt", "2"), b"1"));
    assert!(eval(&op("streq", "POST"), b"POST"));
    assert!(eval(&op("beginsWith", "/admin"), b"/admin/x"));
    assert!(eval(&op("endsWith", ".php"), b"/x.php"));
    assert!(eval(&op("contains", "..;"), b"/a/..;/b"));
}

#[test]
fn misc_operators() {
    assert!(eval(&op("unconditionalMatch", ""), b""));
    assert!(!eval(&op("noMatch", ""), b"x"));
    assert!(eval(&op("validateByteRange", "32-126"), b"a\x01"));
    assert!(eval(&op("validateUrlEncoding", ""), b"%G1"));
    assert!(eval(&op("validateUtf8Encoding", ""), b"\xc3"));
    assert!(eval(&op("ipMatch", "127.0.0.1,10.0.0.0/8"), b"10.1.2.3"));
    assert!(
        !eval(&op("geoLookup", ""), b"1.2.3.4"),
        "no geo provider: no match"
    );
    assert!(eval(
        &op("verifyCC", r"\d{13,16}"),
        b"card 4111111111111111"
    ));
    assert!(!eval(
        &op("verifyCC", r"\d{13,16}"),
        b"card 4111111111111112"
    ));
}

#[test]
fn detect_sqli_and_xss() {
    let o = op("detectSQLi", "");
    let mut env = Env {
        capture: true,
        ..Env::default()
    };
    assert!(o.evaluate(b"1' OR 1=1--", &mut env));
    assert_eq!(env.caps.first().map(|c| c.0), Some(0));
    assert!(!eval(&o, b"hello world"));
    let o = op("detectXSS", "");
    assert!(eval(&o, b"<script>alert(1)</script>"));
    assert!(!eval(&o, b"hello world"));
}

#[test]
fn rbl_and_unknown_are_errors() {
    assert!(matches!(
        Operator::parse("rbl", "sbl-xbl.spamhaus.org", &OperatorContext::default()),
        Err(OperatorError::Unsupported { .. })
    ));
    assert!(matches!(
        Operator::parse("fooBar", "", &OperatorContext::default()),
        Err(OperatorError::Unknown(_))
    ));
}

/// Splits a SecLang directive line into arguments (double-quoted with `\"` escapes, or bare words).
fn split_args(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = line.chars().peekable();
    while let Some(&c) = it.peek() {
        if c == ' ' || c == '\t' {
            it.next();
            continue;
        }
        let mut cur = String::new();
        if c == '"' {
            it.next();
            while let Some(c) = it.next() {
                match c {
                    '\\' if it.peek() == Some(&'"') => {
                        cur.push('"');
                        it.next();
                    }
                    '"' => break,
                    c => cur.push(c),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c == ' ' || c == '\t' {
                    break;
                }
                cur.push(c);
                it.next();
            }
        }
        out.push(cur);
    }
    out
}

/// Every `(rule file, operator name, argument)` of the installed CRS rule files.
fn crs_operators() -> Option<Vec<(std::path::PathBuf, String, String)>> {
    let dir = std::path::Path::new("/usr/share/modsecurity-crs/rules");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "conf"));
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).ok()?;
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let line = line.trim();
            if !line.starts_with("SecRule ") {
                continue;
            }
            let args = split_args(line);
            let Some(op) = args.get(2) else { continue };
            let op = op.trim_start_matches('!');
            let (name, arg) = match op.strip_prefix('@') {
                Some(rest) => rest.split_once(' ').map_or((rest, ""), |(n, a)| (n, a)),
                None => ("rx", op),
            };
            out.push((f.clone(), name.to_owned(), arg.to_owned()));
        }
    }
    Some(out)
}

#[test]
fn every_crs_operator_builds() {
    let Some(ops) = crs_operators() else {
        eprintln!(
            "SKIP every_crs_operator_builds: CRS is not installed at /usr/share/modsecurity-crs"
        );
        return;
    };
    let mut rx = 0;
    let mut failures = Vec::new();
    for (file, name, arg) in &ops {
        let ctx = OperatorContext {
            base_dir: file.parent().map(std::path::Path::to_path_buf),
        };
        match Operator::parse(name, arg, &ctx) {
            Ok(o) => {
                if name == "rx" {
                    rx += 1;
                    // macro patterns compile at evaluation; check they expand to something valid
                    if o.needs_expansion() {
                        let mut env = Env {
                            vars: vec![(
                                "tx.allowed_request_content_type_charset",
                                "utf-8|iso-8859-1",
                            )],
                            ..Env::default()
                        };
                        let _ = o.evaluate(b"utf-8", &mut env);
                    }
                }
            }
            Err(OperatorError::Unsupported { name, .. }) if name == "rbl" => {}
            Err(e) => failures.push(format!("{}: @{name}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} operators failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rx >= 265, "only {rx} @rx operators found");
}

mod props {
    use proptest::prelude::*;

    use super::super::translate_pcre;
    use super::*;

    proptest! {
        /// Any pattern text either translates or is refused; what translates either compiles or is refused.
        #[test]
        fn translation_never_panics(p in "[\\\\\\[\\](){}|?*+^$.a-z0-9:!<=,&~ -]{0,40}") {
            if let Ok(t) = translate_pcre(&p) {
                let _ = regex::bytes::RegexBuilder::new(&t).unicode(false).build();
            }
            let _ = Operator::parse("rx", &p, &OperatorContext::default());
        }

        /// Literal text escaped PCRE-style matches itself after translation.
        #[test]
        fn escaped_literals_match_themselves(s in "[ -~]{1,20}") {
            let escaped: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") }).collect();
            let o = Operator::parse("rx", &escaped, &OperatorContext::default());
            prop_assert!(o.is_ok(), "{escaped}: {:?}", o.err());
            if let Ok(o) = o {
                prop_assert!(o.evaluate(s.as_bytes(), &mut Env::default()));
            }
        }

        /// Operators never panic on arbitrary input bytes.
        #[test]
        fn operators_never_panic(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            for (name, arg) in [("rx", r"(?i)a(b|c)\d+"), ("pm", "ab cd"), ("validateUrlEncoding", ""), ("validateUtf8Encoding", ""),
                                ("validateByteRange", "1-255"), ("eq", "1"), ("within", "GET POST"), ("ipMatch", "10.0.0.0/8"),
                                ("detectSQLi", ""), ("detectXSS", ""), ("rx", r#"(?<!&(?:amp));|['"=]"#)] {
                let o = op(name, arg);
                let _ = o.evaluate(&input, &mut Env { capture: true, ..Env::default() });
            }
        }
    }
}

/// Differential check support: with `CRS_RX_DIFF_INPUTS=<file of hex lines>` and `CRS_RX_DIFF_OUT=<file>`, writes
/// one line per CRS `@rx` pattern: the pattern (hex) and, for each input, whether it matched (`0`/`1`), so a
/// script can compare with PCRE itself.
#[test]
fn dump_crs_rx_results() {
    let (Ok(inputs), Ok(out)) = (
        std::env::var("CRS_RX_DIFF_INPUTS"),
        std::env::var("CRS_RX_DIFF_OUT"),
    ) else {
        return;
    };
    let Some(ops) = crs_operators() else {
        return;
    };
    let text = std::fs::read_to_string(inputs).unwrap_or_else(|e| panic!("{e}"));
    let hexval = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    let inputs: Vec<Vec<u8>> = text
        .lines()
        .map(|l| {
            l.as_bytes()
                .chunks(2)
                .map(|p| hexval(p[0]) * 16 + hexval(p[1]))
                .collect()
        })
        .collect();
    let mut w = String::new();
    for (_, name, arg) in ops.iter().filter(|(_, n, _)| n == "rx") {
        let Ok(o) = Operator::parse(name, arg, &OperatorContext::default()) else {
            continue;
        };
        if o.needs_expansion() {
            continue;
        }
        let hex: String = arg.bytes().map(|b| format!("{b:02x}")).collect();
        w.push_str(&hex);
        w.push('\t');
        for i in &inputs {
            w.push(if o.evaluate(i, &mut Env::default()) {
                '1'
            } else {
                '0'
            });
        }
        w.push('\n');
    }
    std::fs::write(out, w).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn rx_caret_does_not_match_after_a_final_newline() {
    // PCRE (multiline): `^` matches after internal newlines only
    let o = op("rx", "^$");
    assert!(!eval(&o, b"abc\n"));
    assert!(eval(&o, b""));
    assert!(eval(&o, b"a\n\nb"));
    let o = op("rx", "^b");
    assert!(eval(&o, b"a\nb"));
}
