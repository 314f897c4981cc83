//! Runs the challenge page's own script under Node.js (WebCrypto and the plain-script SHA-256 fallback) and
//! checks that the proxy accepts what it posts. Skipped, loudly, when `node` is not installed.

use std::process::Command;

use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

use super::{NOW, attr, engine, req};
use crate::{VERIFY_PATH, pow};

const HARNESS: &str = r#"
const fs = require("fs");
const [scriptPath, attrsPath, mode] = process.argv.slice(2);
const attrs = JSON.parse(fs.readFileSync(attrsPath, "utf8"));
globalThis.document = {
  getElementById: (id) => id === "pcw"
    ? { getAttribute: (n) => attrs[n] }
    : { set textContent(v) { console.log("MSG " + v); process.exitCode = 2; } },
};
globalThis.window = {
  crypto: mode === "soft" ? undefined : globalThis.crypto,
  location: { replace: (u) => console.log("LOCATION " + u) },
};
globalThis.fetch = async (url, opts) => {
  console.log("POST " + url + " " + opts.body);
  return { ok: true, json: async () => ({ location: "/after" }) };
};
(0, eval)(fs.readFileSync(scriptPath, "utf8"));
"#;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn page_script_solves_and_is_accepted() {
    if !node_available() {
        eprintln!("!!! SKIPPED: `node` not found; the challenge page's JavaScript was not run");
        return;
    }
    let e = engine();
    let mut h = HeaderMap::new();
    h.insert(header::USER_AGENT, HeaderValue::from_static("Mozilla/5.0"));
    let page = e.challenge_page(&req(&h, NOW), "/deep/link?q=1");
    let html = std::str::from_utf8(page.body()).unwrap();
    let script = html
        .split("<script>")
        .nth(1)
        .unwrap()
        .split("</script>")
        .next()
        .unwrap();
    let nonce = attr(html, "data-nonce=\"");
    let attrs = format!(
        r#"{{"data-puzzle":"{}","data-nonce":"{}","data-bits":"{}","data-action":"{}"}}"#,
        attr(html, "data-puzzle=\""),
        nonce,
        attr(html, "data-bits=\""),
        attr(html, "data-action=\"")
    );
    let dir = std::env::temp_dir().join(format!("pcw-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (sp, ap, hp) = (
        dir.join("challenge.js"),
        dir.join("attrs.json"),
        dir.join("harness.js"),
    );
    std::fs::write(&sp, script).unwrap();
    std::fs::write(&ap, attrs).unwrap();
    std::fs::write(&hp, HARNESS).unwrap();
    let expected = pow::solve(&nonce, 10);
    for mode in ["subtle", "soft"] {
        let out = Command::new("node")
            .arg(&hp)
            .arg(&sp)
            .arg(&ap)
            .arg(mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find(|l| l.starts_with("POST "))
            .expect("script posted");
        let (url, body) = line["POST ".len()..].split_once(' ').unwrap();
        assert_eq!(url, VERIFY_PATH);
        let counter: u64 = body.rsplit_once("&counter=").unwrap().1.parse().unwrap();
        assert_eq!(
            counter, expected,
            "{mode}: the script finds the same smallest counter"
        );
        assert!(stdout.contains("LOCATION /after"), "{mode}: {stdout}");
        let r = e
            .intercept(
                &req(&h, NOW + 1000),
                &http::Method::POST,
                url,
                &h,
                body.as_bytes(),
            )
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{mode}");
        assert_eq!(
            std::str::from_utf8(r.body()).unwrap(),
            r#"{"location":"/deep/link?q=1"}"#
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
