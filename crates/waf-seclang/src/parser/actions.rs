//! Action lists: `id:1,phase:2,t:none,msg:'a, b',setvar:'tx.x=+1',chain`.
//!
//! Actions are separated by commas outside single quotes; each is `name` or `name:value`, blanks around names and
//! values are ignored, and a value wrapped in `'…'` is unquoted (`\'` inside stands for a quote).

/// One action as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAction {
    /// The action name, lowercased (`setvar`, `t`, `ctl`, …).
    pub name: String,
    /// The unquoted value, if the action has one.
    pub value: Option<String>,
}

/// Parses an action list.
pub fn parse(text: &str) -> Result<Vec<RawAction>, String> {
    let mut out = Vec::new();
    for piece in split_top_level(text)? {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.split_once(':') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
            None => (piece, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid action name {name:?}"));
        }
        out.push(RawAction {
            name: name.to_ascii_lowercase(),
            value,
        });
    }
    Ok(out)
}

fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut in_quote = false;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quote => escaped = true,
            '\'' => in_quote = !in_quote,
            ',' if !in_quote => {
                out.push(text.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote {
        return Err("unterminated single quote in action list".to_owned());
    }
    out.push(text.get(start..).unwrap_or(""));
    Ok(out)
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.replace("\\'", "'"),
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_quoted_values() {
        let a =
            parse("id:1, phase:2,msg:'a, b: c',setvar:'tx.x=+%{tx.y}', chain ,logdata:'it\\'s'")
                .unwrap();
        assert_eq!(a.len(), 6);
        assert_eq!(a[0].name, "id");
        assert_eq!(a[0].value.as_deref(), Some("1"));
        assert_eq!(a[2].value.as_deref(), Some("a, b: c"));
        assert_eq!(a[3].value.as_deref(), Some("tx.x=+%{tx.y}"));
        assert_eq!(a[4].name, "chain");
        assert_eq!(a[4].value, None);
        assert_eq!(a[5].value.as_deref(), Some("it's"));
    }

    #[test]
    fn ctl_value_keeps_colons() {
        let a = parse("ctl:ruleRemoveTargetById=942100;ARGS:x").unwrap();
        assert_eq!(
            a[0].value.as_deref(),
            Some("ruleRemoveTargetById=942100;ARGS:x")
        );
    }

    #[test]
    fn errors() {
        assert!(parse("msg:'abc").is_err());
        assert!(parse("bad name:1").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse(&s);
        }
    }
}
