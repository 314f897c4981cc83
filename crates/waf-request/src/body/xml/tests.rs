//! XML tests: string values, attributes, well-formedness and refused DTDs.

use super::*;
use proptest::prelude::*;

#[test]
fn string_value_and_attributes() {
    let doc = parse(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<root a="1" xmlns="urn:x" xmlns:p="urn:p"><b x='2 &amp; 3'>hello</b> <p:c><![CDATA[<script>]]></p:c>&lt;&#65;&#x42;<?pi data?><!-- c --></root>
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.root_name, b"root");
    assert_eq!(doc.root_string_value(), b"hello <script><AB");
    let attrs: Vec<&[u8]> = doc.attribute_values().collect();
    assert_eq!(attrs, vec![&b"1"[..], b"2 & 3"]);
    assert_eq!(doc.attributes[1].0, b"b");
    assert_eq!(doc.elements.len(), 3);
    assert_eq!(doc.element_text(1), b"hello");
    assert_eq!(doc.element_text(2), b"<script>");
    assert_eq!(doc.elements[2].name, b"p:c");
    assert_eq!(doc.elements[2].parent, Some(0));
    assert_eq!(doc.element_text(99), b"");
}

#[test]
fn soap_envelope() {
    let doc = parse(
        br#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><q id="7">' or 1=1--</q></soapenv:Body></soapenv:Envelope>"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.root_string_value(), b"' or 1=1--");
    assert_eq!(doc.attribute_values().collect::<Vec<_>>(), vec![&b"7"[..]]);
}

#[test]
fn whitespace_and_line_ends() {
    let doc = parse(b"<a>\r\n  x\ry\r\n</a>").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.text, b"\n  x\ny\n");
    let doc = parse(b"<a v=\"1\t2\r\n3\"/>").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc.attributes[0].2, b"1 2 3");
    assert!(doc.text.is_empty());
}

#[test]
fn xxe_and_dtds_refused() {
    for body in [
        &br#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#[..],
        br#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#,
        br#"<!DOCTYPE html><html/>"#,
    ] {
        assert_eq!(parse(body), Err(Error::XmlDoctype));
    }
    assert!(matches!(parse(b"<foo>&xxe;</foo>"), Err(Error::Xml { .. })));
    assert!(matches!(
        parse(b"<foo a=\"&xxe;\"/>"),
        Err(Error::Xml { .. })
    ));
}

#[test]
fn malformed() {
    for body in [
        &b""[..],
        b"   ",
        b"text",
        b"<a>",
        b"<a><b></a>",
        b"<a></b>",
        b"<a/><b/>",
        b"<a>x</a>junk",
        b"</a>",
        b"<a b='1' b='2'/>",
        b"<a b=\"<\"/>",
        b"<a>&#xZZ;</a>",
    ] {
        assert!(
            matches!(parse(body), Err(Error::Xml { .. })),
            "{:?} -> {:?}",
            String::from_utf8_lossy(body),
            parse(body)
        );
    }
    assert!(parse(b"<a/>\n  <!-- trailing comment -->\n").is_ok());
}

#[test]
fn depth_limit() {
    let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    assert!(parse(ok.as_bytes()).is_ok());
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        parse(deep.as_bytes()),
        Err(Error::XmlDepth { limit: MAX_DEPTH })
    );
}

proptest! {
    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&body);
    }

    #[test]
    fn xml_like_never_panics(body in "[<>/a-c =\"'&;#x0-9!\\[\\]CDAT?-]{0,64}") {
        if let Ok(doc) = parse(body.as_bytes()) {
            for i in 0..doc.elements.len() {
                prop_assert!(doc.element_text(i).len() <= doc.text.len());
            }
        }
    }
}
