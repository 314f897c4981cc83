//! Profiling driver for the CRS 3.3.4 PL1 requests of `benches/crs.rs`: runs one request type `N` times so that
//! `valgrind --tool=callgrind` can count instructions per request.
//! Usage: `crs_profile <simple|browser|json|form> [N]`.

use std::hint::black_box;

#[path = "../benches/support/crs_fixture.rs"]
mod crs_fixture;

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "browser".to_owned());
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let Some(rules) = crs_fixture::load() else {
        eprintln!("CRS not found or did not load: {}", crs_fixture::CRS_LOAD);
        return;
    };
    let req = match kind.as_str() {
        "simple" => crs_fixture::simple_get(),
        "json" => crs_fixture::json_post(),
        "form" => match crs_fixture::form_post() {
            Some(r) => r,
            None => {
                eprintln!("bench/waf/requests/form-post-8k.http not found");
                return;
            }
        },
        _ => crs_fixture::browser_get(),
    };
    let mut blocked = 0;
    for _ in 0..n {
        blocked += u32::from(black_box(crs_fixture::run(&rules, black_box(&req))));
    }
    eprintln!("{kind}: {n} requests, {blocked} blocked");
}
