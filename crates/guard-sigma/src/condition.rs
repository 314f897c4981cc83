//! The `condition` expression: `and`/`or`/`not`, parentheses, `1 of sel*`, `all of them`, resolved to
//! selection indices at compile time.

use crate::SigmaError;

/// A compiled condition over selection indices.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    /// One named selection.
    Sel(usize),
    /// Negation.
    Not(Box<Cond>),
    /// All must hold.
    And(Vec<Cond>),
    /// Any must hold.
    Or(Vec<Cond>),
    /// At least `n` of the selections hold (`n == usize::MAX` is `all of`).
    Of(usize, Vec<usize>),
}

impl Cond {
    /// Evaluates with `sel(i)` giving the (lazily computed) truth of selection `i`.
    pub(crate) fn eval(&self, sel: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Sel(i) => sel(*i),
            Cond::Not(c) => !c.eval(sel),
            Cond::And(cs) => cs.iter().all(|c| c.eval(sel)),
            Cond::Or(cs) => cs.iter().any(|c| c.eval(sel)),
            Cond::Of(n, idx) if *n == usize::MAX => idx.iter().all(|i| sel(*i)),
            Cond::Of(n, idx) => {
                let mut hits = 0;
                idx.iter().any(|i| {
                    if sel(*i) {
                        hits += 1;
                    }
                    hits >= *n
                })
            }
        }
    }

    /// Values a single-part field must take for the condition to hold (folded), or `None` if unconstrained.
    /// `req(i)` gives the constraint of selection `i`.
    pub(crate) fn required(
        &self,
        req: &dyn Fn(usize) -> Option<Vec<String>>,
    ) -> Option<Vec<String>> {
        match self {
            Cond::Sel(i) => req(*i),
            Cond::Not(_) => None,
            Cond::And(cs) => smallest(cs.iter().filter_map(|c| c.required(req))),
            Cond::Of(n, idx) if *n == usize::MAX => smallest(idx.iter().filter_map(|i| req(*i))),
            Cond::Or(cs) => union(cs.iter().map(|c| c.required(req))),
            Cond::Of(_, idx) => union(idx.iter().map(|i| req(*i))),
        }
    }
}

fn smallest(it: impl Iterator<Item = Vec<String>>) -> Option<Vec<String>> {
    it.min_by_key(Vec::len)
}

fn union(it: impl Iterator<Item = Option<Vec<String>>>) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for v in it {
        out.extend(v?);
    }
    Some(out)
}

/// Does a selection name match a `1 of` pattern (`*` wildcards)?
fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(mut tail) = name.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            // Try every position for the remainder.
            loop {
                if name_matches(rest, tail) {
                    return true;
                }
                let mut chars = tail.chars();
                if chars.next().is_none() {
                    return false;
                }
                tail = chars.as_str();
            }
        }
    }
}

/// Bound on `not`/parenthesis nesting, so hostile conditions cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    toks: Vec<&'a str>,
    pos: usize,
    names: &'a [String],
    text: &'a str,
    depth: usize,
}

/// Parses `text` against the rule's selection names (in declaration order).
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Cond, SigmaError> {
    if text.contains('|') || text.split_whitespace().any(|w| w == "near") {
        return Err(SigmaError::LegacyAggregation(format!("condition `{text}`")));
    }
    let text_nc = text.split(" #").next().unwrap_or(text);
    let mut toks = Vec::new();
    let mut start = None;
    for (i, c) in text_nc.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(s) = start.take() {
                toks.push(text_nc.get(s..i).unwrap_or_default());
            }
            if c != ' ' && !c.is_whitespace() {
                toks.push(text_nc.get(i..i + 1).unwrap_or_default());
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        toks.push(text_nc.get(s..).unwrap_or_default());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        text,
        depth: 0,
    };
    let c = p.or()?;
    if let Some(t) = p.peek() {
        return Err(p.err(&format!("unexpected `{t}`")));
    }
    Ok(c)
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &str) -> SigmaError {
        SigmaError::Condition {
            condition: self.text.to_owned(),
            reason: reason.to_owned(),
        }
    }
    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        self.pos += 1;
        t
    }
    fn kw(&self, t: Option<&str>, k: &str) -> bool {
        t.is_some_and(|t| t.eq_ignore_ascii_case(k))
    }
    fn or(&mut self) -> Result<Cond, SigmaError> {
        let mut v = vec![self.and()?];
        while self.kw(self.peek(), "or") {
            self.pos += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::Or(v)
        })
    }
    fn and(&mut self) -> Result<Cond, SigmaError> {
        let mut v = vec![self.not()?];
        while self.kw(self.peek(), "and") {
            self.pos += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.remove(0)
        } else {
            Cond::And(v)
        })
    }
    fn not(&mut self) -> Result<Cond, SigmaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let c = if self.kw(self.peek(), "not") {
            self.pos += 1;
            self.not().map(|c| Cond::Not(Box::new(c)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        c
    }
    fn primary(&mut self) -> Result<Cond, SigmaError> {
        let Some(t) = self.next() else {
            return Err(self.err("unexpected end"));
        };
        if t == "(" {
            let c = self.or()?;
            return match self.next() {
                Some(")") => Ok(c),
                _ => Err(self.err("missing `)`")),
            };
        }
        if t == ")"
            || ["and", "or", "of"]
                .iter()
                .any(|k| t.eq_ignore_ascii_case(k))
        {
            return Err(self.err(&format!("unexpected `{t}`")));
        }
        if self.kw(self.peek(), "of") {
            self.pos += 1;
            let n = if t.eq_ignore_ascii_case("all") {
                usize::MAX
            } else if t.eq_ignore_ascii_case("any") {
                1
            } else {
                t.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| self.err(&format!("bad count `{t}`")))?
            };
            let Some(pat) = self.next() else {
                return Err(self.err("missing selection pattern after `of`"));
            };
            let idx: Vec<usize> = self
                .names
                .iter()
                .enumerate()
                .filter(|(_, name)| {
                    if pat == "them" {
                        !name.starts_with('_')
                    } else {
                        name_matches(pat, name)
                    }
                })
                .map(|(i, _)| i)
                .collect();
            if idx.is_empty() {
                return Err(self.err(&format!("`{pat}` matches no selection")));
            }
            return Ok(Cond::Of(n, idx));
        }
        match self.names.iter().position(|n| n == t) {
            Some(i) => Ok(Cond::Sel(i)),
            None => Err(self.err(&format!("unknown selection `{t}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["selection", "filter_a", "filter_b", "sel_x", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn ev(c: &str, truth: [bool; 5]) -> bool {
        parse(c, &names()).unwrap().eval(&mut |i| truth[i])
    }

    #[test]
    fn boolean_forms() {
        assert!(ev(
            "selection and not filter_a",
            [true, false, false, false, false]
        ));
        assert!(!ev(
            "selection and not filter_a",
            [true, true, false, false, false]
        ));
        assert!(ev(
            "selection or filter_a and filter_b",
            [true, false, false, false, false]
        ));
        assert!(!ev(
            "(selection or filter_a) and filter_b",
            [true, false, false, false, false]
        ));
        assert!(ev("not not selection", [true, false, false, false, false]));
        assert!(ev(
            "selection AND NOT filter_a",
            [true, false, false, false, false]
        ));
    }

    #[test]
    fn of_forms() {
        assert!(ev(
            "selection and not 1 of filter_*",
            [true, false, false, false, false]
        ));
        assert!(!ev(
            "selection and not 1 of filter_*",
            [true, false, true, false, false]
        ));
        assert!(ev("all of filter_*", [false, true, true, false, false]));
        assert!(!ev("all of filter_*", [false, true, false, false, false]));
        assert!(ev("1 of them", [false, false, false, true, false]));
        assert!(!ev("1 of them", [false, false, false, false, true]));
        assert!(ev("all of them", [true, true, true, true, false]));
        assert!(ev("2 of them", [true, false, false, true, false]));
        assert!(!ev("2 of them", [true, false, false, false, false]));
        assert!(ev("1 of sel*", [false, false, false, true, false]));
        assert!(ev("any of *_b", [false, false, true, false, false]));
    }

    #[test]
    fn errors() {
        let deep = format!("{}selection{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep, &names()).is_err());
        assert!(parse(&"not ".repeat(500), &names()).is_err());
        assert!(parse("((selection))", &names()).is_ok());
        for bad in [
            "",
            "selection and",
            "(selection",
            "nope",
            "1 of zzz*",
            "selection filter_a",
            "x of them",
        ] {
            assert!(parse(bad, &names()).is_err(), "{bad}");
        }
        assert!(matches!(
            parse("selection | count() > 5", &names()),
            Err(SigmaError::LegacyAggregation(_))
        ));
        assert!(matches!(
            parse("selection1 | near selection2", &names()),
            Err(SigmaError::LegacyAggregation(_))
        ));
    }

    #[test]
    fn trailing_comment_ignored() {
        assert!(ev(
            "selection and sel_x # why",
            [true, false, false, true, false]
        ));
    }
}
