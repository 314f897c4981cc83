//! Where a solved interstitial may send the client back to: only a path on the same host.

use crate::interstitials::PATH_PREFIX;

/// Longest return URL kept; longer ones fall back to `/`.
const MAX_URL_LEN: usize = 2048;

/// `url` when it is a same-host, origin-relative path (`/…`), otherwise `/`.
///
/// Refused: anything not starting with `/`; scheme-relative `//host`; any backslash (browsers read `/\host` as
/// `//host`); control characters and whitespace (header splitting, and browsers strip tabs/newlines before
/// parsing); over-long values; our own verification endpoints (a redirect loop).
pub fn safe_return_url(url: &str) -> &str {
    let ok = url.starts_with('/')
        && !url.starts_with("//")
        && url.len() <= MAX_URL_LEN
        && !url
            .bytes()
            .any(|b| b == b'\\' || b.is_ascii_control() || b == b' ' || b >= 0x80)
        && !url.starts_with(PATH_PREFIX);
    if ok { url } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths() {
        for good in ["/", "/a/b?c=d&e=%2F%2F", "/a//b", "/search?q=//x"] {
            assert_eq!(safe_return_url(good), good);
        }
        for bad in [
            "//evil.com",
            "https://evil.com",
            "/\\evil",
            "\\\\evil",
            "/\t/evil.com",
            "evil.com",
            "",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x=1",
            "/.well-known/portcullis-waf/verify",
            "/caf\u{e9}",
        ] {
            assert_eq!(safe_return_url(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_return_url(&format!("/{}", "a".repeat(3000))), "/");
    }
}
