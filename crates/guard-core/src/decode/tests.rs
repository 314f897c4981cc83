use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::record::{FlowAction, LogStatus};

fn opts() -> DecodeOptions {
    DecodeOptions::default()
}

fn ct(name: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","eventSource":"iam.amazonaws.com","eventName":"{name}","sourceIPAddress":"1.2.3.4","userIdentity":{{"type":"IAMUser"}}}}"#
    )
}

#[test]
fn records_file_plain_and_gzip() {
    let doc = format!(r#"{{"Records":[{},{}]}}"#, ct("A"), ct("B"));
    let d = decode(doc.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailFile);
    assert_eq!(d.records.len(), 2);
    assert!(d.errors.is_empty());

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(doc.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let text = prepare(&gz, 1 << 20).unwrap();
    assert!(matches!(text, Cow::Owned(_)));
    assert_eq!(decode(&text, &opts()).unwrap().records.len(), 2);
    assert_eq!(prepare(&gz, 10), Err(GuardError::TooLarge { limit: 10 }));
    assert!(matches!(
        prepare(&gz[..gz.len() / 2], 1 << 20),
        Err(GuardError::Gzip { .. })
    ));
}

#[test]
fn pretty_records_file_with_bad_record_and_truncation() {
    let doc = format!(
        "{{\n  \"Records\": [\n    {},\n    {{\"eventSource\":\"x\"}},\n    {}\n  ]\n}}\n",
        ct("A"),
        ct("C")
    );
    let d = decode(doc.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailFile);
    assert_eq!(d.records.len(), 2);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].location, Location::Record { line: 1, index: 1 });

    let truncated = format!(r#"{{"Records":[{},{},{{"eventName":"#, ct("A"), ct("B"));
    let d = decode(truncated.as_bytes(), &opts()).unwrap();
    assert_eq!(d.records.len(), 2);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].location, Location::Record { line: 1, index: 2 });
}

#[test]
fn json_lines_with_malformed_lines() {
    let text = format!(
        "{}\nnot json\n{{\"eventSource\":\"x\"}}\n\n{}\n{{\"eventName\":",
        ct("A"),
        ct("B")
    );
    let d = decode(text.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailLines);
    assert_eq!(d.records.len(), 2);
    let lines: Vec<_> = d.errors.iter().map(|e| e.location).collect();
    assert_eq!(
        lines,
        vec![Location::Line(2), Location::Line(3), Location::Line(6)]
    );
}

#[test]
fn malformed_first_line_keeps_json_lines() {
    let text = format!("{{\"eventName\": broken\n{}\n", ct("B"));
    let d = decode(text.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailLines);
    assert_eq!(d.records.len(), 1);
    assert_eq!(d.errors[0].location, Location::Line(1));
}

#[test]
fn eventbridge_single_and_lines() {
    let one = format!(
        "{{\n \"version\": \"0\",\n \"detail-type\": \"AWS API Call via CloudTrail\",\n \"source\": \"aws.iam\",\n \"detail\": {}\n}}",
        ct("CreateUser")
    );
    let d = decode(one.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::EventBridge);
    let Record::CloudTrail(r) = &d.records[0] else {
        panic!()
    };
    assert_eq!(r.event_name, "CreateUser");

    let lines = format!(
        "{{\"detail\":{}}}\n{{\"detail-type\":\"x\",\"detail\":null}}\n",
        ct("A")
    );
    let d = decode(lines.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::EventBridge);
    assert_eq!(d.records.len(), 1);
    assert_eq!(
        d.errors[0].error,
        GuardError::MissingField { field: "detail" }
    );
}

#[test]
fn single_pretty_record_and_array() {
    let one = "{\n\"eventName\":\"X\",\n\"eventSource\":\"s\"\n}".to_owned();
    let d = decode(one.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailSingle);
    assert_eq!(d.records.len(), 1);
    let arr = format!("[\n{},\n{}\n]", ct("A"), ct("B"));
    let d = decode(arr.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::CloudTrailArray);
    assert_eq!(d.records.len(), 2);
}

#[test]
fn flow_lines_with_header_switch_and_garbage() {
    let text = b"version srcaddr dstaddr srcport dstport protocol action tcp-flags log-status\n\
                3 52.213.180.42 10.0.0.62 43416 5001 6 ACCEPT 2 OK\n\
                3 52.213.180.42 10.0.0.62 43416 5001 6 ACCEPT\n\
                3 52.213.180.42 10.0.0.999 43416 5001 6 ACCEPT 2 OK\n\
                \xff\xfe\n\
                3 - - - - - - - NODATA\n";
    let d = decode(text, &opts()).unwrap();
    assert_eq!(d.format, InputFormat::FlowLog);
    assert_eq!(d.records.len(), 2);
    let Record::Flow(f) = &d.records[0] else {
        panic!()
    };
    assert_eq!(f.tcp_flags, Some(2));
    assert_eq!(f.action, Some(FlowAction::Accept));
    let Record::Flow(f) = &d.records[1] else {
        panic!()
    };
    assert_eq!(f.log_status, Some(LogStatus::NoData));
    let locs: Vec<_> = d.errors.iter().map(|e| e.location).collect();
    assert_eq!(
        locs,
        vec![Location::Line(3), Location::Line(4), Location::Line(5)]
    );
    assert_eq!(d.errors[2].error, GuardError::Utf8);
}

/// Records and errors as [`decode_each_ref`] hands them, debug-printed in order.
fn by_ref(text: &[u8]) -> (Result<InputFormat, GuardError>, Vec<String>) {
    let mut out = Vec::new();
    let f = decode_each_ref(text, &opts(), |r| out.push(format!("{r:?}")));
    (f, out)
}

/// The same through [`decode_each`].
fn by_value(text: &[u8]) -> (Result<InputFormat, GuardError>, Vec<String>) {
    let mut out = Vec::new();
    let f = decode_each(text, &opts(), |r| out.push(format!("{:?}", r.as_ref())));
    (f, out)
}

#[test]
fn by_reference_and_by_value_agree() {
    let flows: &[u8] = b"2 123456789010 eni-1 172.31.16.139 52.1.2.3 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n\
                 version vpc-id srcaddr dstaddr tcp-flags log-status\n\
                 5 vpc-1 10.0.0.1 8.8.8.8 2 OK\n\
                 5 vpc-1 10.0.0.1 8.8.8.8 x OK\n\
                 \xff\n\
                 5 - - - - NODATA\r\n";
    let trail = ct("GetUser");
    let inputs: [&[u8]; 4] = [flows, trail.as_bytes(), b"", b"{\"query_name\":5}\n"];
    for text in inputs {
        let (a, b) = (by_ref(text), by_value(text));
        assert_eq!(a, b);
    }
    let (_, recs) = by_ref(flows);
    assert_eq!(recs.len(), 5);
    assert!(recs[1].contains("vpc_id: Some(\"vpc-1\")"), "{}", recs[1]);
    assert!(recs[0].contains("vpc_id: None"), "{}", recs[0]);
}

#[test]
fn resolver_lines() {
    let text = "{\"query_name\":\"a.example.com.\",\"srcaddr\":\"10.0.0.1\",\"srcport\":\"53\"}\n{\"query_name\":5}\n";
    let d = decode(text.as_bytes(), &opts()).unwrap();
    assert_eq!(d.format, InputFormat::ResolverLines);
    assert_eq!(d.records.len(), 1);
    assert_eq!(d.errors.len(), 1);
}

#[test]
fn unknown_and_empty() {
    assert_eq!(detect(b"hello world"), Err(GuardError::UnknownFormat));
    assert_eq!(detect(b"\n \n# c\n"), Ok(InputFormat::Empty));
    assert_eq!(decode(b"", &opts()).unwrap().records.len(), 0);
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, &opts());
    }

    #[test]
    fn flow_lines_never_panic(line in "[0-9a-z\\-. :]{0,120}") {
        let text = format!("2 1 eni-1 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 ACCEPT OK\n{line}\n");
        let d = decode(text.as_bytes(), &opts()).unwrap();
        prop_assert!(!d.records.is_empty());
    }

    #[test]
    fn json_lines_count_every_line(n_good in 0usize..20, n_bad in 0usize..20) {
        let mut text = ct("First");
        text.push('\n');
        for i in 0..n_good.max(n_bad) {
            if i < n_good { text.push_str(&ct("G")); text.push('\n'); }
            if i < n_bad { text.push_str("{\"eventName\": nope}\n"); }
        }
        let d = decode(text.as_bytes(), &opts()).unwrap();
        prop_assert_eq!(d.records.len(), n_good + 1);
        prop_assert_eq!(d.errors.len(), n_bad);
    }
}

#[test]
fn lines_split_like_slice_split() {
    for text in [
        &b""[..],
        b"\n",
        b"a",
        b"a\n",
        b"a\r\nb",
        b"\n\nx\n\n",
        b"ab\ncd\r\n",
    ] {
        let want: Vec<(usize, &[u8])> = text
            .split(|b| *b == b'\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
            .collect();
        assert_eq!(super::lines(text).collect::<Vec<_>>(), want);
    }
}
