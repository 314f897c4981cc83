//! What a transaction reports: per-rule log entries and the intervention (deny, drop, redirect).

use std::fmt;

/// How the request is disrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disruption {
    /// Answer with [`Intervention::status`] and do not forward.
    Deny,
    /// Close the connection without answering.
    Drop,
    /// Answer with a redirect to `url`.
    Redirect {
        /// The target URL (macros expanded).
        url: String,
    },
}

/// A disruptive decision taken by a rule while the engine is `On`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    /// The HTTP status to answer with (403 by default for `deny`, 302 for `redirect`).
    pub status: u16,
    /// The rule that disrupted, when it has an id.
    pub rule_id: Option<u64>,
    /// What to do.
    pub disruptive: Disruption,
    /// The log line of the disrupting rule.
    pub log: String,
}

/// One logged rule match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The rule id (`0` when the rule has none).
    pub rule_id: u64,
    /// The phase the rule ran in.
    pub phase: u8,
    /// `msg`, macros expanded.
    pub msg: String,
    /// `logdata`, macros expanded.
    pub logdata: String,
    /// `severity` (0–7), if set.
    pub severity: Option<u8>,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The name of the last matched variable (e.g. `ARGS:id`).
    pub matched_var_name: String,
    /// The last matched value (after transformations), shortened for the log.
    pub matched_data: String,
    /// The file and line of the rule.
    pub file: String,
    /// The 1-based line of the rule.
    pub line: usize,
    /// True when the rule's disruptive action was (or, in `DetectionOnly`, would have been) executed.
    pub disruptive: bool,
    /// The rule's `ver`, if any.
    pub ver: Option<String>,
}

fn esc(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            c if c.is_control() => write!(f, "\\x{:02x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    Ok(())
}

impl fmt::Display for LogEntry {
    /// ModSecurity-like: `ModSecurity: Warning. Matched "ARGS:id". [file "…"] [line "…"] [id "942100"] [msg "…"]
    /// [data "…"] [severity "2"] [ver "…"] [tag "…"]…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.disruptive {
            "ModSecurity: Access denied. "
        } else {
            "ModSecurity: Warning. "
        })?;
        if !self.matched_var_name.is_empty() {
            f.write_str("Matched \"")?;
            esc(f, &self.matched_var_name)?;
            f.write_str("\". ")?;
        }
        f.write_str("[file \"")?;
        esc(f, &self.file)?;
        write!(
            f,
            "\"] [line \"{}\"] [id \"{}\"] [msg \"",
            self.line, self.rule_id
        )?;
        esc(f, &self.msg)?;
        f.write_str("\"] [data \"")?;
        esc(f, &self.logdata)?;
        f.write_str("\"]")?;
        if let Some(s) = self.severity {
            write!(f, " [severity \"{s}\"]")?;
        }
        if let Some(v) = &self.ver {
            f.write_str(" [ver \"")?;
            esc(f, v)?;
            f.write_str("\"]")?;
        }
        for t in &self.tags {
            f.write_str(" [tag \"")?;
            esc(f, t)?;
            f.write_str("\"]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_modsecurity_fields() {
        let e = LogEntry {
            rule_id: 942100,
            phase: 2,
            msg: "SQL Injection Attack Detected via libinjection".into(),
            logdata: "Matched Data: s&1c found within ARGS:id: 1' or \"1".into(),
            severity: Some(2),
            tags: vec!["attack-sqli".into()],
            matched_var_name: "ARGS:id".into(),
            matched_data: "x".into(),
            file: "f.conf".into(),
            line: 3,
            disruptive: false,
            ver: None,
        };
        let s = e.to_string();
        assert!(s.contains(r#"[id "942100"]"#), "{s}");
        assert!(s.contains(r#"[severity "2"]"#));
        assert!(s.contains(r#"[tag "attack-sqli"]"#));
        assert!(s.contains(r#"1' or \"1"#));
    }
}
