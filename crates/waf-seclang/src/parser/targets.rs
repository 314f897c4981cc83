//! Rule targets: `ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/^sess/|XML:/*`.
//!
//! Targets are separated by `|`. Each is an optional `!` (exclusion) or `&` (count), a collection name and an
//! optional `:selector`. A selector is a key (`ARGS:id`), a regular expression between slashes
//! (`ARGS:/^id_/`), or — for `XML` — an XPath expression taken verbatim. A selector may be wrapped in `'…'`.

/// How a target names the members of its collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawSelector {
    /// A key (matched case-insensitively) or, for `XML`, an XPath expression.
    Key(String),
    /// A regular expression over keys (the text between the slashes).
    Regex(String),
}

/// One target as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTarget {
    /// `!COLL:sel` — removes members from the rule's other targets.
    pub exclude: bool,
    /// `&COLL` — the number of members rather than their values.
    pub count: bool,
    /// The collection name, uppercased.
    pub collection: String,
    /// The selector, if any.
    pub selector: Option<RawSelector>,
}

/// Parses a target list.
pub fn parse(text: &str) -> Result<Vec<RawTarget>, String> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let mut exclude = false;
        let mut count = false;
        loop {
            match bytes.get(i) {
                Some('!') => exclude = true,
                Some('&') => count = true,
                Some(' ') => {}
                _ => break,
            }
            i += 1;
        }
        let mut name = String::new();
        while let Some(&c) = bytes.get(i) {
            if c == ':' || c == '|' {
                break;
            }
            name.push(c);
            i += 1;
        }
        let name = name.trim().to_ascii_uppercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid variable name {name:?}"));
        }
        let mut selector = None;
        if bytes.get(i) == Some(&':') {
            i += 1;
            let mut sel = String::new();
            let quoted = bytes.get(i) == Some(&'\'');
            if quoted {
                i += 1;
                let mut closed = false;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    if c == '\\' && bytes.get(i) == Some(&'\'') {
                        sel.push('\'');
                        i += 1;
                    } else if c == '\'' {
                        closed = true;
                        break;
                    } else {
                        sel.push(c);
                    }
                }
                if !closed {
                    return Err("unterminated quoted selector".to_owned());
                }
            } else if bytes.get(i) == Some(&'/') && name != "XML" {
                sel.push('/');
                i += 1;
                let mut closed = false;
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    sel.push(c);
                    if c == '\\' {
                        if let Some(&n) = bytes.get(i) {
                            sel.push(n);
                            i += 1;
                        }
                    } else if c == '/' {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err("unterminated /regex/ selector".to_owned());
                }
            }
            while let Some(&c) = bytes.get(i) {
                if c == '|' {
                    break;
                }
                sel.push(c);
                i += 1;
            }
            let sel = sel.trim().to_owned();
            selector = Some(classify(&name, sel));
        }
        match bytes.get(i) {
            Some('|') => i += 1,
            None => {}
            Some(c) => return Err(format!("unexpected {c:?} in target list")),
        }
        out.push(RawTarget {
            exclude,
            count,
            collection: name,
            selector,
        });
    }
    if out.is_empty() {
        return Err("empty target list".to_owned());
    }
    Ok(out)
}

fn classify(collection: &str, sel: String) -> RawSelector {
    if collection != "XML" && sel.len() >= 2 && sel.starts_with('/') && sel.ends_with('/') {
        let inner = sel.get(1..sel.len() - 1).unwrap_or("").to_owned();
        RawSelector::Regex(inner)
    } else {
        RawSelector::Key(sel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crs_style_lists() {
        let t = parse("REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|ARGS_NAMES|ARGS|XML:/*|&TX:x|request_headers:User-Agent")
            .unwrap();
        assert_eq!(t.len(), 7);
        assert!(t[1].exclude);
        assert_eq!(t[1].selector, Some(RawSelector::Regex("__utm".into())));
        assert_eq!(t[4].selector, Some(RawSelector::Key("/*".into())));
        assert!(t[5].count);
        assert_eq!(t[6].collection, "REQUEST_HEADERS");
        assert_eq!(t[6].selector, Some(RawSelector::Key("User-Agent".into())));
    }

    #[test]
    fn quoted_regex_selector_with_pipe() {
        let t = parse("&TX:'/LEAKAGE\\\\\\/ERRORS/'|ARGS:/a|b/").unwrap();
        assert_eq!(
            t[0].selector,
            Some(RawSelector::Regex("LEAKAGE\\\\\\/ERRORS".into()))
        );
        assert_eq!(t[1].selector, Some(RawSelector::Regex("a|b".into())));
    }

    #[test]
    fn errors() {
        assert!(parse("").is_err());
        assert!(parse("ARGS:/abc").is_err());
        assert!(parse("AR GS").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }
    }
}
