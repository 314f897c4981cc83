//! Multipart tests: one crafted body per flag, the error paths, and a property test.

use super::*;
use proptest::prelude::*;

const CT: &[u8] = b"multipart/form-data; boundary=abc";

fn crlf(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

fn lf(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn ok_body() -> Vec<&'static str> {
    vec![
        "--abc",
        "Content-Disposition: form-data; name=\"a\"",
        "",
        "1",
        "--abc",
        "Content-Disposition: form-data; name=\"f\"; filename=\"x.php\"",
        "Content-Type: application/x-php",
        "",
        "<?php",
        "echo 1;",
        "--abc",
        "Content-Disposition: form-data; name=b",
        "",
        "two words",
        "--abc--",
    ]
}

fn only_flags_set(f: &MultipartFlags) -> Vec<&'static str> {
    let all = [
        ("strict_error", f.strict_error),
        ("boundary_quoted", f.boundary_quoted),
        ("boundary_whitespace", f.boundary_whitespace),
        ("data_before", f.data_before),
        ("data_after", f.data_after),
        ("header_folding", f.header_folding),
        ("lf_line", f.lf_line),
        ("crlf_lf_lines", f.crlf_lf_lines),
        ("missing_semicolon", f.missing_semicolon),
        ("invalid_quoting", f.invalid_quoting),
        ("invalid_part", f.invalid_part),
        ("invalid_header_folding", f.invalid_header_folding),
        ("file_limit_exceeded", f.file_limit_exceeded),
        ("unmatched_boundary", f.unmatched_boundary),
    ];
    all.into_iter()
        .filter(|(_, v)| *v)
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn clean_body() {
    let m = parse(CT, &crlf(&ok_body()), Limits::default());
    assert_eq!(m.error, None);
    assert!(only_flags_set(&m.flags).is_empty(), "{:?}", m.flags);
    assert_eq!(m.boundary.as_deref(), Some(&b"abc"[..]));
    assert_eq!(m.parts.len(), 3);
    assert_eq!(m.parts[0].name, b"a");
    assert_eq!(m.parts[0].value, b"1");
    assert!(!m.parts[0].is_file);
    let f = &m.parts[1];
    assert!(f.is_file);
    assert_eq!(f.filename.as_deref(), Some(&b"x.php"[..]));
    assert_eq!(f.content_type.as_deref(), Some(&b"application/x-php"[..]));
    assert_eq!(f.value, b"<?php\r\necho 1;");
    assert_eq!(f.headers.len(), 2);
    assert_eq!(m.parts[2].value, b"two words");
    assert_eq!(m.fields().count(), 2);
    assert_eq!(m.files().count(), 1);
}

#[test]
fn lf_lines_and_mixed() {
    let m = parse(CT, &lf(&ok_body()), Limits::default());
    assert_eq!(m.error, None);
    assert_eq!(only_flags_set(&m.flags), ["strict_error", "lf_line"]);
    assert_eq!(m.parts[1].value, b"<?php\necho 1;");
    let mut body = crlf(&ok_body()[..4]);
    body.extend_from_slice(&lf(&ok_body()[4..]));
    let m = parse(CT, &body, Limits::default());
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "lf_line", "crlf_lf_lines"]
    );
}

#[test]
fn boundary_quoted_whitespace_semicolon() {
    let body = crlf(&ok_body());
    let m = parse(
        b"multipart/form-data; boundary=\"abc\"",
        &body,
        Limits::default(),
    );
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "boundary_quoted"]
    );
    assert_eq!(m.parts.len(), 3);
    let m = parse(
        b"multipart/form-data; boundary =abc",
        &body,
        Limits::default(),
    );
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "boundary_whitespace"]
    );
    let m = parse(
        b"multipart/form-data boundary=abc",
        &body,
        Limits::default(),
    );
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "missing_semicolon"]
    );
    assert_eq!(m.parts.len(), 3);
    let m = parse(
        b"Multipart/Form-Data;boundary=abc",
        &body,
        Limits::default(),
    );
    assert!(only_flags_set(&m.flags).is_empty());
}

#[test]
fn content_type_errors() {
    let body = crlf(&ok_body());
    for ct in [
        &b""[..],
        b"multipart/mixed; boundary=abc",
        b"multipart/form-data",
        b"multipart/form-data; BOUNDARY=abc",
        b"multipart/form-data; boundary=abc; boundary=def",
        b"multipart/form-data; charset=utf-8; boundary=abc",
        b"multipart/form-data; boundary=\"abc",
        b"multipart/form-data; boundary=",
        b"multipart/form-data; boundary=a<b",
        b"multipart/form-data; boundary=abc; charset=utf-8",
        b"multipart/form-data; boundaryx=abc",
    ] {
        let m = parse(ct, &body, Limits::default());
        assert!(m.error.is_some(), "{}", String::from_utf8_lossy(ct));
        assert!(m.flags.strict_error);
        assert!(m.parts.is_empty());
    }
}

#[test]
fn data_before_and_after() {
    let mut lines = vec!["preamble"];
    lines.extend(ok_body());
    let m = parse(CT, &crlf(&lines), Limits::default());
    assert_eq!(only_flags_set(&m.flags), ["strict_error", "data_before"]);
    let mut lines = ok_body();
    lines.push("epilogue");
    let m = parse(CT, &crlf(&lines), Limits::default());
    assert_eq!(only_flags_set(&m.flags), ["strict_error", "data_after"]);
    assert_eq!(m.error, None);
}

#[test]
fn final_boundary_without_newline() {
    let mut body = crlf(&ok_body()[..14]);
    body.extend_from_slice(b"--abc--");
    let m = parse(CT, &body, Limits::default());
    assert_eq!(m.error, None);
    assert_eq!(m.parts.len(), 3);
    assert!(!m.flags.strict_error);
}

#[test]
fn header_folding() {
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data;",
        " name=\"a\"",
        "",
        "1",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(m.error, None);
    assert_eq!(only_flags_set(&m.flags), ["strict_error", "header_folding"]);
    assert_eq!(m.parts[0].name, b"a");
    assert_eq!(m.parts[0].headers[0].1, b"form-data; name=\"a\"");
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data;",
        "\x0bname=\"a\"",
        "",
        "1",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "header_folding", "invalid_header_folding"]
    );
}

#[test]
fn invalid_quoting() {
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name='a'",
        "",
        "1",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(m.error, None);
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "invalid_quoting"]
    );
    assert_eq!(m.parts[0].name, b"a");
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name=\"a\"x",
        "",
        "1",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert!(m.flags.invalid_quoting);
    assert!(m.error.is_some());
}

#[test]
fn invalid_part() {
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data",
        "",
        "1",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert!(m.flags.invalid_part);
    assert!(m.flags.strict_error);
    assert!(m.parts.is_empty());
    assert!(
        m.error
            .as_deref()
            .is_some_and(|e| e.contains("missing name"))
    );
}

#[test]
fn file_limit() {
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name=\"f1\"; filename=\"a\"",
        "",
        "x",
        "--abc",
        "Content-Disposition: form-data; name=\"f2\"; filename=\"b\"",
        "",
        "y",
        "--abc--",
    ]);
    let limits = Limits {
        max_files: 1,
        ..Limits::default()
    };
    let m = parse(CT, &body, limits);
    assert_eq!(
        only_flags_set(&m.flags),
        ["strict_error", "file_limit_exceeded"]
    );
    assert_eq!(m.files().count(), 2);
    assert!(
        !parse(CT, &body, Limits::default())
            .flags
            .file_limit_exceeded
    );
}

#[test]
fn unmatched_boundary() {
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name=\"a\"",
        "",
        "x--abc y",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(only_flags_set(&m.flags), ["unmatched_boundary"]);
    assert_eq!(m.parts[0].value, b"x--abc y");
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name=\"a\"",
        "",
        "--xyz",
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(only_flags_set(&m.flags), ["unmatched_boundary"]);
    assert_eq!(m.parts[0].value, b"--xyz");
}

#[test]
fn body_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (crlf(&ok_body()[..14]), "Final boundary missing"),
        (crlf(&["just text"]), "No boundaries found"),
        (
            crlf(&["--abc", "Content-Type: text/plain", "", "x", "--abc--"]),
            "missing Content-Disposition",
        ),
        (
            crlf(&["--abc", "no colon here", "", "x", "--abc--"]),
            "colon missing",
        ),
        (
            crlf(&["--abc", ": v", "", "x", "--abc--"]),
            "header name missing",
        ),
        (
            crlf(&["--abc", " folded first", "", "x", "--abc--"]),
            "folding error",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: attachment; name=a",
                "",
                "x",
                "--abc--",
            ]),
            "(-1)",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: form-data; size=1",
                "",
                "x",
                "--abc--",
            ]),
            "(-11)",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: form-data; name=a; name=b",
                "",
                "x",
                "--abc--",
            ]),
            "(-14)",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: form-data; name=\"a",
                "",
                "x",
                "--abc--",
            ]),
            "(-16)",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: form-data; name=a",
                "",
                "x",
                "--abc --",
            ]),
            "Invalid boundary",
        ),
        (
            crlf(&[
                "--abc",
                "Content-Disposition: form-data; name=a",
                "",
                "x",
                "-- abc--",
            ]),
            "(whitespace)",
        ),
        (crlf(&["--abc--", "--abc--"]), "data"),
        (crlf(&["--abc", "X: a\0b", "", "x", "--abc--"]), "Nul byte"),
    ];
    for (body, needle) in cases {
        let m = parse(CT, &body, Limits::default());
        if needle == "data" {
            assert!(m.flags.data_after);
            continue;
        }
        let err = m.error.unwrap_or_default();
        assert!(
            err.contains(needle),
            "{needle:?} not in {err:?} for {}",
            String::from_utf8_lossy(&body)
        );
    }
    let long = format!("X-Long: {}", "a".repeat(5000));
    let m = parse(
        CT,
        &crlf(&["--abc", &long, "", "x", "--abc--"]),
        Limits::default(),
    );
    assert!(m.error.unwrap_or_default().contains("over 4096"));
    assert!(m.flags.strict_error);
}

#[test]
fn quoted_boundary_used_with_quotes_in_body() {
    let body = crlf(&[
        "--\"abc\"",
        "Content-Disposition: form-data; name=a",
        "",
        "x",
        "--abc--",
    ]);
    let m = parse(
        b"multipart/form-data; boundary=\"abc\"",
        &body,
        Limits::default(),
    );
    assert!(m.error.unwrap_or_default().contains("(quotes)"));
}

#[test]
fn long_data_lines_and_empty_filename() {
    let big = "z".repeat(10_000);
    let body = crlf(&[
        "--abc",
        "Content-Disposition: form-data; name=\"a\"; filename=\"\"",
        "",
        &big,
        "--abc--",
    ]);
    let m = parse(CT, &body, Limits::default());
    assert_eq!(m.error, None);
    assert_eq!(m.parts[0].value.len(), 10_000);
    assert!(!m.parts[0].is_file);
    assert_eq!(m.parts[0].filename.as_deref(), Some(&b""[..]));
}

#[test]
fn part_count_is_bounded() {
    let mut body = Vec::new();
    for i in 0..50 {
        body.extend_from_slice(
            format!("--abc\r\nContent-Disposition: form-data; name=\"p{i}\"\r\n\r\nv\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"--abc--\r\n");
    let limits = Limits {
        max_parts: 10,
        ..Limits::default()
    };
    let m = parse(CT, &body, limits);
    assert_eq!(m.parts.len(), 10);
    assert!(m.error.is_some());
    assert!(m.flags.strict_error);
    assert_eq!(parse(CT, &body, Limits::default()).parts.len(), 50);
}

#[test]
fn crs_920120_shape() {
    // From the CRS 3.3.4 regression test 920120-2: a `=` inside the quoted name.
    let body = crlf(&[
        "-----------------------------627652292512397580456702590",
        "Content-Disposition: form-data; name=\"fi=le\"; filename=\"test\"",
        "Content-Type: text/plain",
        "",
        "email: security@modsecurity.org",
        "",
        "-----------------------------627652292512397580456702590",
        "Content-Disposition: form-data; name=\"note\"",
        "",
        "Contact info.",
        "-----------------------------627652292512397580456702590--",
    ]);
    let m = parse(
        b"multipart/form-data; boundary=---------------------------627652292512397580456702590",
        &body,
        Limits::default(),
    );
    assert_eq!(m.error, None);
    assert_eq!(m.parts[0].name, b"fi=le");
    assert_eq!(m.parts[0].value, b"email: security@modsecurity.org\r\n");
    assert_eq!(m.parts[1].value, b"Contact info.");
}

proptest! {
    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let m = parse(CT, &body, Limits::default());
        prop_assert!(m.parts.len() <= 1000);
    }

    #[test]
    fn never_panics_on_shaped_input(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("--abc".to_owned()),
                Just("--abc--".to_owned()),
                Just("Content-Disposition: form-data; name=\"a\"".to_owned()),
                Just(String::new()),
                "[ -~]{0,20}",
            ],
            0..20,
        ),
        eol in prop_oneof![Just("\r\n"), Just("\n")],
        ct in "multipart/form-data[; ]{0,2}boundary[ =\"]{1,3}abc\"?",
    ) {
        let body = lines.join(eol);
        let _ = parse(ct.as_bytes(), body.as_bytes(), Limits::default());
    }
}
