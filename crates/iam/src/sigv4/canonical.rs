//! The SigV4 canonical request, built directly from the received request.
//!
//! These are the rules the AWS SDKs, botocore and the AWS CLI sign non-S3 requests with:
//!
//! - **Path**: dot segments and empty segments removed (RFC 3986 §5.2.4; an empty path is
//!   `/`), then every byte outside `A-Z a-z 0-9 - . _ ~ /` percent-encoded again, so the
//!   `%` of an already encoded path becomes `%25` ("double encoding").
//! - **Query**: split on `&` (empty pieces dropped), each piece split at its first `=` (a
//!   piece without one has an empty value), both halves decoded form-style (`+` is a space,
//!   invalid UTF-8 replaced), re-encoded with only `A-Z a-z 0-9 - . _ ~` left bare, sorted by
//!   encoded key then encoded value (repeated keys keep every value), joined as `k=v` with `&`.
//! - **Headers**: the signed names lower-cased, sorted and de-duplicated; each line is
//!   `name:values` with every value of the header trimmed of leading and trailing spaces,
//!   runs of spaces inside folded to one, and the values joined with `,` in request order.
//!
//! The builder writes into one `String`; nothing is copied per header or per query pair on
//! the path KMS and STS requests take (no query, a handful of headers).

use std::borrow::Cow;

use super::parse::query_pairs;

/// Appends `byte` as `%XX` with upper-case hex digits.
fn push_percent(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    let digit = |n: u8| char::from(HEX.get(usize::from(n)).copied().unwrap_or(b'0'));
    out.push(digit(byte >> 4));
    out.push(digit(byte & 0x0f));
}

/// True for the bytes SigV4 never encodes: `A-Z a-z 0-9 - . _ ~`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `text` percent-encoded; `/` stays bare when `keep_slash`.
pub(crate) fn push_encoded(out: &mut String, text: &str, keep_slash: bool) {
    let mut bare_from = 0;
    for (i, b) in text.bytes().enumerate() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            continue;
        }
        out.push_str(text.get(bare_from..i).unwrap_or_default());
        push_percent(out, b);
        bare_from = i + 1;
    }
    out.push_str(text.get(bare_from..).unwrap_or_default());
}

/// The path with dot segments and empty segments removed, always starting with `/`.
pub(crate) fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    let rooted: Cow<'_, str> = if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    };
    if !rooted.contains('.') && !rooted.contains("//") {
        return rooted;
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in rooted.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(rooted.len());
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    let trailing = ["/", "/.", "/./", "/..", "/../"]
        .iter()
        .any(|end| rooted.ends_with(end));
    if out.is_empty() || (trailing && !out.ends_with('/')) {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Appends the canonical URI of a raw (still percent-encoded) request path.
pub(crate) fn push_canonical_path(out: &mut String, raw_path: &str) {
    push_encoded(out, &normalize_path(raw_path), true);
}

/// Appends the canonical query string of a raw query (without the leading `?`).
pub(crate) fn push_canonical_query(out: &mut String, raw_query: &str) {
    if raw_query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query_pairs(raw_query)
        .map(|(k, v)| {
            let mut key = String::with_capacity(k.len());
            push_encoded(&mut key, &k, false);
            let mut value = String::with_capacity(v.len());
            push_encoded(&mut value, &v, false);
            (key, value)
        })
        .collect();
    pairs.sort_unstable();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
}

/// Appends a header value trimmed of leading and trailing spaces, with every run of spaces
/// inside folded to one. Only the space character is touched (not tabs), as the signers do.
pub(crate) fn push_trimmed(out: &mut String, value: &str) {
    let mut previous_space = false;
    for c in value.trim_matches(' ').chars() {
        if c == ' ' {
            if previous_space {
                continue;
            }
            previous_space = true;
        } else {
            previous_space = false;
        }
        out.push(c);
    }
}

/// The signed header names, lower-cased, sorted and without repeats.
pub(crate) fn canonical_header_names(signed: &[String]) -> Vec<Cow<'_, str>> {
    let mut names: Vec<Cow<'_, str>> = signed
        .iter()
        .map(|n| {
            if n.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(n.to_ascii_lowercase())
            } else {
                Cow::Borrowed(n.as_str())
            }
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> String {
        let mut s = String::new();
        push_canonical_path(&mut s, p);
        s
    }

    fn query(q: &str) -> String {
        let mut s = String::new();
        push_canonical_query(&mut s, q);
        s
    }

    #[test]
    fn paths_are_normalised_and_encoded_twice() {
        assert_eq!(path(""), "/");
        assert_eq!(path("/"), "/");
        assert_eq!(path("/a/./b/../c"), "/a/c");
        assert_eq!(path("/a//b/"), "/a/b/");
        assert_eq!(path("/a/b/."), "/a/b/");
        assert_eq!(path("/a/b/.."), "/a/");
        assert_eq!(path("/.."), "/");
        assert_eq!(path("/../x"), "/x");
        assert_eq!(path("/%20a:b"), "/%2520a%3Ab");
        assert_eq!(path("/~user/file-1_2.txt"), "/~user/file-1_2.txt");
        assert_eq!(path("a"), "/a");
    }

    #[test]
    fn queries_are_decoded_reencoded_and_sorted() {
        assert_eq!(query(""), "");
        assert_eq!(query("b=2&a=1"), "a=1&b=2");
        assert_eq!(query("a=2&a=1&a="), "a=&a=1&a=2");
        assert_eq!(query("flag&x=1"), "flag=&x=1");
        assert_eq!(query("&&x=1&"), "x=1");
        assert_eq!(query("s=a+b%20c"), "s=a%20b%20c");
        assert_eq!(query("k=%2B%2f:@"), "k=%2B%2F%3A%40");
        assert_eq!(query("k=a=b"), "k=a%3Db");
        assert_eq!(query("%E2%82%AC=~"), "%E2%82%AC=~");
        // Sorting is on the encoded text: `%` sorts before letters.
        assert_eq!(query("b=1&%21=2"), "%21=2&b=1");
    }

    #[test]
    fn header_values_fold_spaces_only() {
        let mut s = String::new();
        push_trimmed(&mut s, "  a   b \t c  ");
        assert_eq!(s, "a b \t c");
        let mut s = String::new();
        push_trimmed(&mut s, "   ");
        assert_eq!(s, "");
    }

    #[test]
    fn header_names_sorted_lowercase_unique() {
        let signed: Vec<String> = ["X-Amz-Date", "host", "content-type", "x-amz-date"]
            .map(String::from)
            .to_vec();
        let names = canonical_header_names(&signed);
        assert_eq!(names, ["content-type", "host", "x-amz-date"]);
    }
}
