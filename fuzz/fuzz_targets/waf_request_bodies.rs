//! Request body and argument parsers, and every text transformation: arbitrary bytes never
//! panic. The first byte picks the multipart `Content-Type` header shape; the rest is the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_waf_request::body::{json, multipart, urlencoded, xml};
use portcullis_waf_request::{Transform, apply, apply_chain, query};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    // Multipart: either a fixed boundary or a header value taken from the input itself.
    let (ct, body): (&[u8], &[u8]) = if selector & 1 == 0 {
        (b"multipart/form-data; boundary=xyz", input)
    } else {
        let cut = input
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(input.len());
        (&input[..cut], input.get(cut + 1..).unwrap_or_default())
    };
    let _ = multipart::parse(ct, body, multipart::Limits::default());
    let _ = json::flatten(input, 64);
    let _ = json::flatten_partial(input, 64);
    let _ = xml::parse(input);
    let _ = query::parse(input);
    let _ = urlencoded::parse(input);
    let _ = query::percent_decode(input);
    let _ = query::form_decode(input);
    let all: Vec<Transform> = Transform::all().collect();
    for &t in &all {
        let _ = apply(t, input);
    }
    // A short chain chosen by the selector, so transforms also see each other's output.
    let n = all.len();
    if n > 0 {
        let s = usize::from(selector);
        let chain = [all[s % n], all[(s / 3) % n], all[(s / 7) % n]];
        let _ = apply_chain(&chain, input);
    }
});
