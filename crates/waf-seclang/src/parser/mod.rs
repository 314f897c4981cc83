//! SecLang text → directives: line continuations, comments and argument quoting.
//!
//! A configuration file is a sequence of directives, one per logical line. A physical line ending in `\` continues
//! on the next one (the backslash and the newline are removed; the next line's indentation is kept, which is
//! harmless inside action lists because actions are trimmed). A line whose first non-blank character is `#` is a
//! comment. Arguments are separated by blanks; an argument may be quoted with `"…"` or `'…'`, inside which a
//! backslash followed by the quote character stands for the quote and every other backslash is kept verbatim (so
//! regular expressions reach the operator unchanged).

pub mod actions;
pub mod targets;

/// One directive: its name and raw (unquoted) arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The 1-based line where the directive starts.
    pub line: usize,
    /// The directive name as written (e.g. `SecRule`).
    pub name: String,
    /// The arguments with quotes removed.
    pub args: Vec<String>,
}

/// Longest logical line accepted (a bound on memory for hostile input).
const MAX_LOGICAL_LINE: usize = 1 << 20;

/// Splits `text` into directives. Errors carry the line number and a reason.
pub fn directives(text: &str) -> Result<Vec<Directive>, (usize, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((idx, first)) = lines.next() {
        let start_line = idx + 1;
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut logical = String::new();
        let mut current = first;
        loop {
            let body = current.trim_end();
            if let Some(stripped) = body.strip_suffix('\\') {
                logical.push_str(stripped);
                if logical.len() > MAX_LOGICAL_LINE {
                    return Err((start_line, "logical line too long".to_owned()));
                }
                match lines.next() {
                    Some((_, next)) => current = next,
                    None => break,
                }
            } else {
                logical.push_str(current);
                break;
            }
        }
        let words = split_args(&logical).map_err(|m| (start_line, m))?;
        let mut words = words.into_iter();
        let Some(name) = words.next() else { continue };
        out.push(Directive {
            line: start_line,
            name,
            args: words.collect(),
        });
    }
    Ok(out)
}

/// Splits a logical line into blank-separated words, honouring `"…"` and `'…'` quoting.
pub fn split_args(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        let mut word = String::new();
        if c == '"' || c == '\'' {
            let quote = c;
            chars.next();
            let mut closed = false;
            while let Some(ch) = chars.next() {
                if ch == '\\' && chars.peek() == Some(&quote) {
                    word.push(quote);
                    chars.next();
                } else if ch == quote {
                    closed = true;
                    break;
                } else {
                    word.push(ch);
                }
            }
            if !closed {
                return Err(format!("unterminated {quote}-quoted argument"));
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continuation_comments_quotes() {
        let text = "# comment\n\nSecRule ARGS \"@rx a\\\"b\\d\" \\\n    \"id:1,\\\n    phase:2\"\n  # indented comment\nSecMarker 'END'\n";
        let ds = directives(text).unwrap();
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].line, 3);
        assert_eq!(ds[0].name, "SecRule");
        assert_eq!(ds[0].args, vec!["ARGS", "@rx a\"b\\d", "id:1,    phase:2"]);
        assert_eq!(ds[1].args, vec!["END"]);
        assert_eq!(ds[1].line, 7);
    }

    #[test]
    fn unterminated_quote_is_error() {
        let err = directives("SecRule ARGS \"@rx x").unwrap_err();
        assert_eq!(err.0, 1);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = directives(&s);
        }
    }
}
