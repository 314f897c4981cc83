//! [`Values`]: the values one field yields for one request, stored without a list allocation in the usual case
//! of a single value (a path, one header, a body).

use std::borrow::Cow;
use std::ops::Deref;

/// One value of a field: borrowed from the request, or owned when a transformation changed it.
pub(crate) type Value<'p> = Cow<'p, [u8]>;

/// The values of one field, in request order. Dereferences to a slice.
#[derive(Debug, Clone)]
pub(crate) enum Values<'p> {
    /// Exactly one value.
    One(Value<'p>),
    /// No value, or two and more.
    Many(Vec<Value<'p>>),
}

impl Default for Values<'_> {
    fn default() -> Self {
        Values::Many(Vec::new())
    }
}

impl<'p> Values<'p> {
    /// No values.
    pub(crate) fn new() -> Values<'p> {
        Values::default()
    }

    /// The values of `list`, without copying it.
    pub(crate) fn from_vec(mut list: Vec<Value<'p>>) -> Values<'p> {
        if list.len() == 1
            && let Some(v) = list.pop()
        {
            return Values::One(v);
        }
        Values::Many(list)
    }

    /// Appends a value.
    pub(crate) fn push(&mut self, v: Value<'p>) {
        *self = match std::mem::take(self) {
            Values::Many(list) if list.is_empty() => Values::One(v),
            Values::Many(mut list) => {
                list.push(v);
                Values::Many(list)
            }
            Values::One(first) => Values::Many(vec![first, v]),
        };
    }

    /// Replaces every value by `f` of it.
    pub(crate) fn map(self, f: impl FnMut(Value<'p>) -> Value<'p>) -> Values<'p> {
        let mut f = f;
        match self {
            Values::One(v) => Values::One(f(v)),
            Values::Many(list) => Values::Many(list.into_iter().map(f).collect()),
        }
    }
}

impl<'p> Deref for Values<'p> {
    type Target = [Value<'p>];

    fn deref(&self) -> &[Value<'p>] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(list) => list,
        }
    }
}

impl<'a, 'p> IntoIterator for &'a Values<'p> {
    type Item = &'a Value<'p>;
    type IntoIter = std::slice::Iter<'a, Value<'p>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Values<'_> {}

/// Most values [`Values::from_iter`] makes room for beyond the first two before it has seen them.
const ROOM: usize = 30;

impl<'p> FromIterator<Value<'p>> for Values<'p> {
    fn from_iter<I: IntoIterator<Item = Value<'p>>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        let Some(first) = it.next() else {
            return Values::new();
        };
        let Some(second) = it.next() else {
            return Values::One(first);
        };
        // Room for as many values as the iterator may still yield (a filter over a list knows its most), up to a
        // bound: collecting the arguments of a query grew the list twice for six values.
        let (least, most) = it.size_hint();
        let mut list = Vec::with_capacity(2 + most.unwrap_or(least).min(ROOM));
        list.push(first);
        list.push(second);
        list.extend(it);
        Values::Many(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Value<'_> {
        Cow::Borrowed(s.as_bytes())
    }

    #[test]
    fn push_and_collect_agree() {
        for n in 0..5 {
            let items: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
            let mut pushed = Values::new();
            for s in &items {
                pushed.push(b(s));
            }
            let collected: Values<'_> = items.iter().map(|s| b(s)).collect();
            let want: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
            let got: Vec<&[u8]> = pushed.iter().map(|v| &**v).collect();
            assert_eq!(got, want);
            assert_eq!(pushed, collected);
            assert_eq!(matches!(pushed, Values::One(_)), n == 1);
        }
    }

    #[test]
    fn map_keeps_order_and_count() {
        let vals: Values<'_> = ["a", "bb", "ccc"].into_iter().map(b).collect();
        let up = vals.map(|v| Cow::Owned(v.to_ascii_uppercase()));
        let got: Vec<&[u8]> = up.iter().map(|v| &**v).collect();
        assert_eq!(got, vec![&b"A"[..], b"BB", b"CCC"]);
        let one = Values::One(b("x")).map(|v| Cow::Owned([&*v, b"!"].concat()));
        assert_eq!(&*one, &[Cow::<[u8]>::Owned(b"x!".to_vec())]);
        assert!(Values::new().is_empty());
    }

    #[test]
    fn stays_small() {
        // A field slot must stay as small as a plain list so that the per-request table of slots does not grow.
        assert!(std::mem::size_of::<Option<crate::field::Slot<'static>>>() <= 32);
    }
}
