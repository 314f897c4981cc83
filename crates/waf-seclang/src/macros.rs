//! `%{…}` macro expansion in `msg`, `logdata`, `setvar`, `initcol`, `redirect` and operator arguments.
//!
//! A macro names one variable: `%{tx.score}`, `%{TX.0}`, `%{MATCHED_VAR}`, `%{request_headers.host}`,
//! `%{remote_addr}`, `%{rule.id}`. Collection names are case-insensitive; the key follows a `.` (or `:`).
//! Macro text is parsed once at load time into literal and variable parts.

/// A reference to one variable inside a macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroVar {
    /// The collection or variable name, uppercased (`TX`, `MATCHED_VAR`, `RULE`).
    pub collection: String,
    /// The key, lowercased (`score`, `0`, `host`), if any.
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(MacroVar),
}

/// Text with macros, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MacroText {
    raw: String,
    parts: Vec<Part>,
}

impl MacroText {
    /// Parses `text`. An unterminated `%{` is kept literally.
    pub fn parse(text: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut lit = String::new();
        while let Some(start) = rest.find("%{") {
            let (before, after) = rest.split_at(start);
            lit.push_str(before);
            let inner_and_more = after.get(2..).unwrap_or("");
            match inner_and_more.find('}') {
                Some(end) => {
                    let inner = inner_and_more.get(..end).unwrap_or("");
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(parse_var(inner)));
                    rest = inner_and_more.get(end + 1..).unwrap_or("");
                }
                None => {
                    lit.push_str(after);
                    rest = "";
                }
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Self {
            raw: text.to_owned(),
            parts,
        }
    }

    /// The text as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// True when the text contains no macro.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The text itself when it has no macro.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Expands the text, asking `resolve` to append each variable's value to the output.
    pub fn expand(&self, mut resolve: impl FnMut(&MacroVar, &mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.extend_from_slice(s.as_bytes()),
                Part::Var(v) => resolve(v, &mut out),
            }
        }
        out
    }
}

fn parse_var(inner: &str) -> MacroVar {
    let inner = inner.trim();
    match inner.find(['.', ':']) {
        Some(i) => MacroVar {
            collection: inner.get(..i).unwrap_or("").to_ascii_uppercase(),
            key: Some(inner.get(i + 1..).unwrap_or("").to_ascii_lowercase()),
        },
        None => MacroVar {
            collection: inner.to_ascii_uppercase(),
            key: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(m: &MacroText) -> String {
        String::from_utf8(m.expand(|v, out| {
            out.extend_from_slice(
                format!("<{}|{}>", v.collection, v.key.as_deref().unwrap_or("-")).as_bytes(),
            )
        }))
        .unwrap()
    }

    #[test]
    fn parses_parts() {
        let m = MacroText::parse(
            "Total: %{TX.Anomaly_Score} at %{matched_var} %{request_headers:Host}%{",
        );
        assert_eq!(
            expand(&m),
            "Total: <TX|anomaly_score> at <MATCHED_VAR|-> <REQUEST_HEADERS|host>%{"
        );
        assert!(!m.is_literal());
        let l = MacroText::parse("plain");
        assert_eq!(l.as_literal(), Some("plain"));
    }
}
