//! `Limit` / `Marker` in, `NextMarker` / `Truncated` out, over lists built in memory.

use serde_json::{Value, json};

use super::render::set;
use crate::error::{KmsError, Result};
use crate::input::Input;

/// One page of a list.
#[derive(Debug)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The marker of the next page, if there is more.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Renders `{<member>: [...], Truncated, NextMarker?}`.
    pub fn render(self, member: &str, f: impl Fn(&T) -> Value) -> Value {
        let mut body = json!({ member: self.items.iter().map(f).collect::<Vec<_>>(), "Truncated": self.next.is_some() });
        if let Some(m) = self.next {
            set(&mut body, "NextMarker", json!(m));
        }
        body
    }
}

/// Reads `Limit` (1..=1000, default `default`) and `Marker` (1..=1024 characters of
/// U+0020..=U+00FF, else `InvalidMarkerException`).
pub fn params(input: &Input, default: usize) -> Result<(usize, Option<String>)> {
    let limit = input
        .int_opt("Limit", 1..=1000)?
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(default);
    let marker = input.str_opt("Marker", 1..=1024)?;
    if let Some(m) = marker
        && !m.chars().all(|c| ('\u{20}'..='\u{ff}').contains(&c))
    {
        return Err(KmsError::InvalidMarker("Invalid marker".into()));
    }
    Ok((limit, marker.map(str::to_owned)))
}

/// Cuts a page out of `items`, which are in list order. The marker is the key of the last
/// item returned; the next page starts after it, or (if that item has gone since) after
/// the first key that sorts above it, which is right for lists sorted by key.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    limit: usize,
    marker: Option<&str>,
) -> Page<T> {
    let start = match marker {
        None => 0,
        Some(m) => match items.iter().position(|i| key(i) == m) {
            Some(p) => p + 1,
            None => items
                .iter()
                .position(|i| key(i).as_str() > m)
                .unwrap_or(items.len()),
        },
    };
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(&key) } else { None };
    Page { items: rest, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list_once() {
        let items: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut seen = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let p = paginate(items.clone(), Clone::clone, 3, marker.as_deref());
            seen.extend(p.items);
            match p.next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, items);
        // A marker whose item has gone resumes after it.
        let p = paginate(
            vec!["a".to_string(), "c".to_string()],
            Clone::clone,
            5,
            Some("b"),
        );
        assert_eq!(p.items, vec!["c".to_string()]);
        assert!(p.next.is_none());
    }

    #[test]
    fn markers_outside_latin1_are_refused() {
        let i = Input::parse("{\"Marker\": \"\u{2603}\"}".as_bytes()).unwrap();
        assert!(matches!(params(&i, 50), Err(KmsError::InvalidMarker(_))));
        let i = Input::parse(br#"{"Limit": 2, "Marker": "x"}"#).unwrap();
        assert_eq!(params(&i, 50).unwrap(), (2, Some("x".to_string())));
    }
}
