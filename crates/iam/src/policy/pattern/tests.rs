//! Tests of wildcard matching and policy-variable substitution.

use proptest::prelude::*;

use super::*;
use crate::policy::context::Principal;

fn ctx() -> RequestContext {
    let alice = Principal::user("111122223333", "alice", "AIDAALICE").with_tag("team", "blue");
    RequestContext::new(alice, "s3:GetObject", "*").with("s3:prefix", "home/")
}

fn matches(pattern: &str, text: &str) -> bool {
    glob(&wildcard_tokens(pattern), text, false)
}

#[test]
fn star_and_question_mark() {
    assert!(matches(
        "arn:aws:iam::*:user/*",
        "arn:aws:iam::111122223333:user/alice"
    ));
    assert!(matches("a?c", "abc"));
    assert!(!matches("a?c", "ac"));
    assert!(matches("*", ""));
    assert!(matches("a*b*c", "aXXbYYc"));
    assert!(!matches("a*b*c", "aXXbYY"));
    assert!(!matches("abc", "abcd"));
}

#[test]
fn star_crosses_arn_segments() {
    assert!(matches("arn:aws:*", "arn:aws:iam::111122223333:user/alice"));
    assert!(matches(
        "arn:*/alice",
        "arn:aws:iam::111122223333:user/alice"
    ));
}

#[test]
fn case_folding_is_optional() {
    let p = wildcard_tokens("iam:get*");
    assert!(glob(&p, "iam:GetUser", true));
    assert!(!glob(&p, "iam:GetUser", false));
}

#[test]
fn variables_substitute_literally() {
    let t = Template::parse("arn:aws:s3:::bucket/${aws:username}/*", true);
    let toks = t.resolve(&ctx()).unwrap();
    assert!(glob(&toks, "arn:aws:s3:::bucket/alice/notes.txt", false));
    assert!(!glob(&toks, "arn:aws:s3:::bucket/bob/notes.txt", false));
}

#[test]
fn substituted_wildcards_are_literal() {
    let c = ctx().with("aws:username", "*");
    let toks = Template::parse("home/${aws:username}", true)
        .resolve(&c)
        .unwrap();
    assert!(glob(&toks, "home/*", false));
    assert!(!glob(&toks, "home/alice", false));
}

#[test]
fn escapes_are_literal_characters() {
    let toks = Template::parse("a${*}b${?}c${$}", true)
        .resolve(&ctx())
        .unwrap();
    assert_eq!(literal(&toks), "a*b?c$");
    assert!(glob(&toks, "a*b?c$", false));
    assert!(!glob(&toks, "aXb?c$", false));
}

#[test]
fn missing_variable_is_unresolvable_unless_defaulted() {
    let c = ctx();
    assert_eq!(
        Template::parse("x/${aws:SourceVpc}", true).resolve(&c),
        None
    );
    let toks = Template::parse("x/${aws:SourceVpc, 'none'}", true)
        .resolve(&c)
        .unwrap();
    assert_eq!(literal(&toks), "x/none");
    let toks = Template::parse("x/${aws:username,'none'}", true)
        .resolve(&c)
        .unwrap();
    assert_eq!(literal(&toks), "x/alice");
}

#[test]
fn any_context_key_and_principal_tags_resolve() {
    let c = ctx();
    let toks = Template::parse("${s3:prefix}${aws:PrincipalTag/team}", true)
        .resolve(&c)
        .unwrap();
    assert_eq!(literal(&toks), "home/blue");
}

#[test]
fn legacy_version_keeps_dollar_braces_as_text() {
    let toks = Template::parse("home/${aws:username}", false)
        .resolve(&ctx())
        .unwrap();
    assert_eq!(literal(&toks), "home/${aws:username}");
}

#[test]
fn malformed_variables_stay_text() {
    for s in ["a${b", "a${}", "a${x, nodefault}"] {
        let toks = Template::parse(s, true).resolve(&ctx()).unwrap();
        assert_eq!(literal(&toks), s);
    }
}

proptest! {
    #[test]
    fn text_matches_itself_star_and_a_one_char_hole(text in "[a-z:/*?]{1,24}", hole in 0usize..24) {
        let escaped: Vec<Tok> = text.chars().map(Tok::Lit).collect();
        prop_assert!(glob(&escaped, &text, false));
        prop_assert!(matches("*", &text));
        let mut holed = escaped.clone();
        let at = hole % holed.len();
        if let Some(t) = holed.get_mut(at) {
            *t = Tok::One;
        }
        prop_assert!(glob(&holed, &text, false));
        holed.push(Tok::Lit('#'));
        prop_assert!(!glob(&holed, &text, false));
    }

    #[test]
    fn question_marks_match_exactly_one_char_each(text in "[a-z0-9]{0,16}", n in 0usize..20) {
        let pattern = "?".repeat(n);
        prop_assert_eq!(matches(&pattern, &text), n == text.chars().count());
    }

    #[test]
    fn literal_pattern_matches_only_equal_text(a in "[a-c]{0,6}", b in "[a-c]{0,6}") {
        prop_assert_eq!(matches(&a, &b), a == b);
    }

    #[test]
    fn prefix_star_matches_iff_prefix(prefix in "[a-c]{0,4}", text in "[a-c]{0,8}") {
        prop_assert_eq!(matches(&format!("{prefix}*"), &text), text.starts_with(&prefix));
    }
}

/// `glob` by dynamic programming over characters: the reference the matcher is held to.
fn glob_oracle(pat: &[Tok], text: &str, ignore_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()));
    // row[j]: the pattern so far matches the first j characters.
    let mut row = vec![false; text.len() + 1];
    if let Some(first) = row.first_mut() {
        *first = true;
    }
    for tok in pat {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            let prev = row.get(j).copied().unwrap_or(false);
            let diag = j > 0 && row.get(j - 1).copied().unwrap_or(false);
            let left = j > 0 && next.get(j - 1).copied().unwrap_or(false);
            let hit = match tok {
                Tok::Star => prev || left,
                Tok::One => diag,
                Tok::Lit(a) => diag && text.get(j - 1).is_some_and(|b| same(*a, *b)),
            };
            if let Some(n) = next.get_mut(j) {
                *n = hit;
            }
        }
        row = next;
    }
    row.last().copied().unwrap_or(false)
}

/// Characters whose case folding crosses between ASCII and the rest (the Kelvin sign folds
/// to `k`), beside plain ones and the wildcards.
fn glob_char() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        'a', 'A', 'k', 'K', '\u{212A}', 'é', 'É', ':', '*', '?',
    ])
}

proptest! {
    #[test]
    fn glob_agrees_with_the_reference(
        pattern in prop::collection::vec(glob_char(), 0..8),
        text in prop::collection::vec(glob_char(), 0..10),
        ignore_case: bool,
    ) {
        let pattern: String = pattern.into_iter().collect();
        // Wildcards in the text are plain characters there.
        let text: String = text.into_iter().collect();
        let toks = wildcard_tokens(&pattern);
        prop_assert_eq!(
            glob(&toks, &text, ignore_case),
            glob_oracle(&toks, &text, ignore_case),
            "{:?} against {:?}", pattern, text
        );
    }
}

#[test]
fn ignoring_case_folds_the_kelvin_sign_in_ascii_text() {
    let kelvin = wildcard_tokens("\u{212A}ms:*");
    assert!(glob(&kelvin, "kms:Encrypt", true));
    assert!(!glob(&kelvin, "kms:Encrypt", false));
}
