//! Instructions per detector call on a few values, for callgrind:
//!
//! ```text
//! valgrind --tool=callgrind target/release/examples/value_cost sqli-low 1000 'red running shoes'
//! ```
//! `MODE` is `sqli-low`, `sqli-high`, `xss`, or `xss-before` (the detector before the per-context filter:
//! the `<`/`=` prefilter, then libinjectionrs's five contexts; its event-handler pass, which needs `on`, is left
//! out); each value is checked `ITERATIONS` times.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;

use portcullis_waf_injection::{Sensitivity, detect_sqli_with, detect_xss};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "sqli-low".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let values: Vec<Vec<u8>> = args.map(String::into_bytes).collect();
    let mut hits = 0usize;
    for _ in 0..n {
        for v in &values {
            let hit = match mode.as_str() {
                "sqli-high" => detect_sqli_with(black_box(v), Sensitivity::High).is_some(),
                "xss" => detect_xss(black_box(v)),
                "xss-before" => {
                    let v = black_box(v);
                    memchr::memchr2(b'<', b'=', v).is_some()
                        && libinjectionrs::detect_xss(v).is_injection()
                }
                _ => detect_sqli_with(black_box(v), Sensitivity::Low).is_some(),
            };
            hits += usize::from(hit);
        }
    }
    println!("{hits} hits");
}
