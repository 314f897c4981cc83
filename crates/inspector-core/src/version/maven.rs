//! Maven version ordering (the `ComparableVersion` model of Maven 3).
//!
//! A version is lowercased and split into a tree: `.` separates items of the current list, `-`
//! and every digit/letter transition open a nested list. Items are integers (any size), qualifiers
//! or lists. Qualifiers order `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
//! release < sp < any other (lexically)`; `a1`/`b1`/`m1` mean alpha/beta/milestone. Trailing
//! "null" items (`0`, empty qualifier, empty list) are dropped from each list. Integers beat
//! qualifiers and lists; lists beat qualifiers. Written from that description.

use std::cmp::Ordering;

use super::cmp_digits;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE_INDEX: usize = 5;

/// Orders qualifiers: known ones by their index, unknown ones after all known, lexically.
fn qualifier_key(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn make_str(value: &str, followed_by_digit: bool) -> Item {
    let v = match (followed_by_digit, value) {
        (true, "a") => "alpha",
        (true, "b") => "beta",
        (true, "m") => "milestone",
        (_, "ga" | "final" | "release") => "",
        (_, "cr") => "rc",
        (_, v) => v,
    };
    Item::Str(v.to_string())
}

fn make_item(is_digit: bool, s: &str) -> Item {
    if is_digit {
        let t = s.trim_start_matches('0');
        Item::Int(t.to_string())
    } else {
        make_str(s, false)
    }
}

fn is_null(item: &Item) -> bool {
    match item {
        Item::Int(v) => v.is_empty(),
        Item::Str(s) => s.is_empty(),
        Item::List(l) => l.is_empty(),
    }
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        match list.get(i) {
            Some(it) if is_null(it) => {
                list.remove(i);
            }
            Some(Item::List(_)) => {}
            _ => break,
        }
    }
}

/// Parses into the root list. Nested lists are built on a path stack of indices.
fn parse(version: &str) -> Vec<Item> {
    let lower = version.to_lowercase();
    // Each frame is a list under construction; a frame is attached to its parent when closed.
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let push_item = |stack: &mut Vec<Vec<Item>>, item: Item| {
        if let Some(top) = stack.last_mut() {
            top.push(item);
        }
    };
    let chars: Vec<char> = lower.chars().collect();
    let mut is_digit = false;
    let mut start = 0usize;
    let sub = |a: usize, b: usize| -> String { chars.get(a..b).unwrap_or(&[]).iter().collect() };
    for (i, &c) in chars.iter().enumerate() {
        if c == '.' || c == '-' {
            let item = if i == start {
                Item::Int(String::new())
            } else {
                make_item(is_digit, &sub(start, i))
            };
            push_item(&mut stack, item);
            start = i + 1;
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                push_item(&mut stack, make_str(&sub(start, i), true));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push_item(&mut stack, make_item(true, &sub(start, i)));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if chars.len() > start {
        let item = make_item(is_digit, &sub(start, chars.len()));
        push_item(&mut stack, item);
    }
    // Close nested lists innermost first, normalising each before it joins its parent.
    while stack.len() > 1 {
        if let Some(mut top) = stack.pop() {
            normalize(&mut top);
            push_item(&mut stack, Item::List(top));
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    root
}

/// Compares an item with "nothing" (the other list ran out).
fn cmp_absent(item: &Item) -> Ordering {
    match item {
        Item::Int(v) => {
            if v.is_empty() {
                Ordering::Equal
            } else {
                Ordering::Greater
            }
        }
        Item::Str(s) => qualifier_key(s).cmp(&(RELEASE_INDEX, "")),
        // Maven looks only at the first item here; comparing the whole list keeps more cases
        // transitive (same answers on every corpus vector).
        Item::List(l) => cmp_lists(l, &[]),
    }
}

fn cmp_item(a: &Item, b: &Item) -> Ordering {
    match (a, b) {
        (Item::Int(x), Item::Int(y)) => cmp_digits(x, y),
        (Item::Int(_), _) => Ordering::Greater,
        (_, Item::Int(_)) => Ordering::Less,
        (Item::Str(x), Item::Str(y)) => qualifier_key(x).cmp(&qualifier_key(y)),
        (Item::Str(_), Item::List(_)) => Ordering::Less,
        (Item::List(_), Item::Str(_)) => Ordering::Greater,
        (Item::List(x), Item::List(y)) => cmp_lists(x, y),
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let o = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => cmp_item(x, y),
            (Some(x), None) => cmp_absent(x),
            (None, Some(y)) => cmp_absent(y).reverse(),
            (None, None) => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    cmp_lists(&parse(a), &parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(compare("1.0-alpha-1", "1.0"), Ordering::Less);
        assert_eq!(compare("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(compare("1a1", "1-alpha-1"), Ordering::Equal);
        assert_eq!(compare("1.0.0x", "1-x"), Ordering::Equal);
        assert_eq!(compare("2.0.1-xyz", "2.0.1-123"), Ordering::Less);
        assert_eq!(
            compare("1-1.foo-bar-1-baz-0.1", "1-1.foo-bar1baz-.1"),
            Ordering::Equal
        );
    }
}
