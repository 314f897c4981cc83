//! The interstitial HTML pages (challenge and CAPTCHA) and their Content-Security-Policy.
//!
//! Pages are self-contained: no external script, style, font or image. The challenge script is a constant
//! (`challenge.js`, allowed by its SHA-256 in the CSP); per-request values travel in HTML-escaped `data-`
//! attributes, never inside the script.

use std::sync::LazyLock;

use aws_lc_rs::digest;
use base64::Engine as _;

/// The challenge page's script.
pub(crate) const CHALLENGE_JS: &str = include_str!("challenge.js");

/// CSP of the challenge page: only our script, and fetches to our own origin.
pub(crate) static CHALLENGE_CSP: LazyLock<String> = LazyLock::new(|| {
    let h = digest::digest(&digest::SHA256, CHALLENGE_JS.as_bytes());
    format!(
        "default-src 'none'; script-src 'sha256-{}'; connect-src 'self'; style-src 'unsafe-inline'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        base64::engine::general_purpose::STANDARD.encode(h.as_ref())
    )
});

/// CSP of the CAPTCHA page: no script at all; the form posts to our own origin.
pub(crate) const CAPTCHA_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                                      base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f6f6f4;color:#222;margin:0}\
main{max-width:34rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.3rem}.err{color:#a40000}input[type=text]{font-size:1.2rem;letter-spacing:.2em;padding:.3rem;width:12rem}\
button{font-size:1rem;padding:.4rem 1rem}svg{display:block;margin:1rem 0;max-width:100%;height:auto}";

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The 202 challenge page.
pub(crate) fn challenge(signed: &str, nonce: &str, bits: u8, action: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
<title>Checking your browser</title><style>{STYLE}</style></head><body><main>\
<h1>Checking your browser…</h1>\
<p id=\"pcw-msg\">This site checks that requests come from a real browser. This takes a moment; the page reloads by itself.</p>\
<noscript><p class=\"err\">JavaScript is disabled. This site needs JavaScript to verify your browser \
(a short computation, no tracking). Enable JavaScript and reload the page.</p></noscript>\
<div id=\"pcw\" data-puzzle=\"{}\" data-nonce=\"{}\" data-bits=\"{bits}\" data-action=\"{}\"></div>\
</main><script>{CHALLENGE_JS}</script></body></html>",
        escape(signed),
        escape(nonce),
        escape(action)
    )
}

/// The 405 CAPTCHA page; `error` is shown above the puzzle after a failed attempt.
pub(crate) fn captcha(svg: &str, signed: &str, action: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"err\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
<title>Human verification</title><style>{STYLE}</style></head><body><main>\
<h1>Please confirm you are human</h1>{error}\
<p>Type the characters shown in the picture (letters are not case-sensitive).</p>{svg}\
<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"puzzle\" value=\"{}\">\
<label for=\"pcw-answer\">Characters: </label>\
<input type=\"text\" id=\"pcw-answer\" name=\"answer\" autocomplete=\"off\" autocapitalize=\"characters\" \
spellcheck=\"false\" maxlength=\"16\" required autofocus> <button type=\"submit\">Continue</button></form>\
<p><small>Can't read it? Reload the page for a new picture.</small></p></main></body></html>",
        escape(action),
        escape(signed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        let p = challenge("v1.a\"b", "n<", 16, "/x");
        assert!(p.contains("data-puzzle=\"v1.a&quot;b\"") && p.contains("data-nonce=\"n&lt;\""));
        assert!(p.contains("<noscript>"));
    }

    #[test]
    fn csp_hash_matches_script() {
        assert!(CHALLENGE_CSP.contains("script-src 'sha256-"));
        let page = challenge("p", "n", 8, "/v");
        let script = page
            .split("<script>")
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap();
        let h = digest::digest(&digest::SHA256, script.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(h.as_ref());
        assert!(CHALLENGE_CSP.contains(&b64));
    }
}
