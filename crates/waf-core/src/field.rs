//! `FieldToMatch` extraction: turns a request into the (transformed) values a statement inspects.
//!
//! [`Parsed`] caches the parses several fields share (query arguments, cookies); [`extract`] produces one
//! [`Slot`] per field id, borrowing from the request whenever no transformation changed a value.
//!
//! Choices where the AWS documentation is silent:
//! - a component that is absent (no such header, argument or cookie) yields no values, so no statement on it
//!   matches, `SizeConstraint` and `NE` included;
//! - a name that occurs several times yields every value; the statement matches when any value does;
//! - query-argument values are inspected as sent (not URL-decoded: add `URL_DECODE`), names are compared
//!   case-insensitively after decoding; `UriPath` and `QueryString` exclude any `#fragment`;
//! - `Headers`/`Cookies` stop at the item that crosses 200 items or 8 KB (names + values); that item and the ones
//!   after it are the oversize part.

use std::borrow::Cow;
use std::cell::OnceCell;

use portcullis_waf_request::{Param, ParamRef, Request, Transform, apply_chain, cookies, query};

use crate::json::{self, ItemKind};
use crate::plan::{FieldKind, FieldSpec, JsonInvalid, NameFilter, Oversize, PreParse, Scope};

/// At most this many headers or cookies reach inspection [model §1.7].
pub(crate) const MAX_ITEMS: usize = 200;
/// At most this many bytes of headers or cookies reach inspection [model §1.7].
pub(crate) const MAX_ITEM_BYTES: usize = 8 * 1024;

/// Lazily parsed parts of a request that several fields share.
pub(crate) struct Parsed<'r> {
    pub req: &'r Request,
    path: OnceCell<&'r str>,
    query: OnceCell<&'r str>,
    args: OnceCell<Vec<ParamRef<'r>>>,
    cookies: OnceCell<Vec<(&'r [u8], &'r [u8])>>,
}

impl<'r> Parsed<'r> {
    pub(crate) fn new(req: &'r Request) -> Parsed<'r> {
        Parsed {
            req,
            path: OnceCell::new(),
            query: OnceCell::new(),
            args: OnceCell::new(),
            cookies: OnceCell::new(),
        }
    }

    /// The path, without query or fragment ([`path_of`], computed once per request).
    pub(crate) fn path(&self) -> &'r str {
        self.path.get_or_init(|| path_of(self.req))
    }

    /// The query string, without fragment ([`query_of`], computed once per request).
    pub(crate) fn query(&self) -> &'r str {
        self.query.get_or_init(|| query_of(self.req))
    }

    /// The query arguments (raw forms and decoded names, borrowed from the request).
    pub(crate) fn args(&self) -> &[ParamRef<'r>] {
        self.args
            .get_or_init(|| query::parse_ref(self.query().as_bytes()))
    }

    /// The (name, value) cookies of every `Cookie` header, borrowed from the request.
    pub(crate) fn cookies(&self) -> &[(&'r [u8], &'r [u8])] {
        self.cookies.get_or_init(|| cookies::parse_pairs(self.req))
    }
}

/// The path, without query or fragment.
pub(crate) fn path_of(req: &Request) -> &str {
    let p = req.path();
    p.split_once('#').map_or(p, |(p, _)| p)
}

/// The query string, without fragment.
pub(crate) fn query_of(req: &Request) -> &str {
    let q = req.query();
    q.split_once('#').map_or(q, |(q, _)| q)
}

pub(crate) use crate::values::{Value, Values};

/// The extracted values of one field id for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Slot<'p> {
    /// The values to inspect (empty when the component is absent: nothing matches).
    Values(Values<'p>),
    /// Oversize or fallback handling decided the outcome of every statement on this field.
    Forced(bool),
    /// The same values as the field with this id: a derived field whose extra transformations changed no
    /// value (see [`derive()`]). Never points at another `Same`.
    Same(usize),
}

fn forced<'p>(o: Oversize) -> Option<Slot<'p>> {
    match o {
        Oversize::Continue => None,
        Oversize::Match => Some(Slot::Forced(true)),
        Oversize::NoMatch => Some(Slot::Forced(false)),
    }
}

/// Applies `chain` to a value that may already be owned.
pub(crate) fn transform<'p>(chain: &[Transform], v: Cow<'p, [u8]>) -> Cow<'p, [u8]> {
    if chain.is_empty() {
        return v;
    }
    match v {
        Cow::Borrowed(b) => apply_chain(chain, b),
        Cow::Owned(o) => match apply_chain(chain, &o) {
            Cow::Borrowed(_) => Cow::Owned(o),
            Cow::Owned(n) => Cow::Owned(n),
        },
    }
}

fn name_selected(filter: &NameFilter, name: &[u8], case_insensitive: bool) -> bool {
    let eq = |want: &String| {
        if case_insensitive {
            want.as_bytes().eq_ignore_ascii_case(name)
        } else {
            want.as_bytes() == name
        }
    };
    match filter {
        NameFilter::All => true,
        NameFilter::Include(names) => names.iter().any(eq),
        NameFilter::Exclude(names) => !names.iter().any(eq),
    }
}

/// Query arguments after pre-parse transformations (owned: they no longer borrow from the request).
fn preparsed_args(query: &str, pre: &[PreParse]) -> Vec<Param> {
    let mut raw: Vec<u8> = query.as_bytes().to_vec();
    let mut combine = false;
    for p in pre {
        match p {
            PreParse::UrlDecode => raw = apply_chain(&[Transform::UrlDecode], &raw).into_owned(),
            PreParse::UrlDecodeUni => {
                raw = apply_chain(&[Transform::UrlDecodeUni], &raw).into_owned();
            }
            PreParse::SemicolonsToAmpersands => {
                for b in raw.iter_mut() {
                    if *b == b';' {
                        *b = b'&';
                    }
                }
            }
            PreParse::CombineDuplicates => combine = true,
        }
    }
    let args = query::parse(&raw);
    if !combine {
        return args;
    }
    let mut out: Vec<Param> = Vec::new();
    for a in args {
        if let Some(prev) = out
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(&a.name))
        {
            prev.raw_value.push(b',');
            prev.raw_value.extend_from_slice(&a.raw_value);
            prev.value.push(b',');
            prev.value.extend_from_slice(&a.value);
        } else {
            out.push(a);
        }
    }
    out
}

fn arg_values<'p>(args: &[ParamRef<'p>], name: Option<&str>) -> Values<'p> {
    args.iter()
        .filter(|a| name.is_none_or(|n| a.name.eq_ignore_ascii_case(n.as_bytes())))
        .map(|a| Cow::Borrowed(a.raw_value))
        .collect()
}

fn owned_arg_values<'p>(args: Vec<Param>, name: Option<&str>) -> Values<'p> {
    args.into_iter()
        .filter(|a| name.is_none_or(|n| a.name.eq_ignore_ascii_case(n.as_bytes())))
        .map(|a| Cow::Owned(a.raw_value))
        .collect()
}

/// The inspected body prefix, or the oversize decision.
fn body_window<'p>(req: &'p Request, limit: usize, o: Oversize) -> Result<&'p [u8], Slot<'p>> {
    if req.body_total_len > limit as u64
        && let Some(s) = forced(o)
    {
        return Err(s);
    }
    Ok(req
        .body
        .get(..limit.min(req.body.len()))
        .unwrap_or(&req.body))
}

fn json_values<'p>(
    body: &'p [u8],
    paths: Option<&[json::Pointer]>,
    scope: Scope,
    invalid: JsonInvalid,
) -> Slot<'p> {
    let mut out = Values::new();
    let res = json::walk(body, &mut |path, kind, text| {
        let wanted = match kind {
            ItemKind::Key => scope.keys(),
            ItemKind::Value => scope.values(),
        };
        if wanted && paths.is_none_or(|ps| ps.iter().any(|p| p.covers(path))) {
            out.push(text);
        }
    });
    match (res, invalid) {
        (Ok(()), _) | (Err(_), JsonInvalid::UpToError) => Slot::Values(out),
        (Err(_), JsonInvalid::Match) => Slot::Forced(true),
        (Err(_), JsonInvalid::NoMatch) => Slot::Forced(false),
        (Err(_), JsonInvalid::AsString) => Slot::Values(Values::One(Cow::Borrowed(body))),
    }
}

/// Pairs (name, value) of a map-like component, limited to [`MAX_ITEMS`] items and [`MAX_ITEM_BYTES`] bytes.
/// Returns whether the component exceeded either limit.
fn map_values<'p>(
    items: impl Iterator<Item = (&'p [u8], &'p [u8])>,
    filter: &NameFilter,
    case_insensitive: bool,
    scope: Scope,
    out: &mut Vec<Value<'p>>,
) -> bool {
    let mut count = 0usize;
    let mut bytes = 0usize;
    let mut oversize = false;
    for (name, value) in items {
        count += 1;
        bytes += name.len() + value.len();
        if count > MAX_ITEMS || bytes > MAX_ITEM_BYTES {
            oversize = true;
            break;
        }
        if !name_selected(filter, name, case_insensitive) {
            continue;
        }
        if scope.keys() {
            out.push(Cow::Borrowed(name));
        }
        if scope.values() {
            out.push(Cow::Borrowed(value));
        }
    }
    oversize
}

/// Extracts and transforms the values of `spec` for the request behind `p`.
pub(crate) fn extract<'p>(p: &'p Parsed<'_>, spec: &FieldSpec, body_limit: usize) -> Slot<'p> {
    let req: &'p Request = p.req;
    let raw: Slot<'p> = match &spec.kind {
        FieldKind::SingleHeader(name) => Slot::Values(
            req.headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| Cow::Borrowed(v.as_slice()))
                .collect(),
        ),
        FieldKind::SingleQueryArg(name, pre) if pre.is_empty() => {
            Slot::Values(arg_values(p.args(), Some(name)))
        }
        FieldKind::SingleQueryArg(name, pre) => {
            Slot::Values(owned_arg_values(preparsed_args(p.query(), pre), Some(name)))
        }
        FieldKind::AllQueryArgs(pre) if pre.is_empty() => Slot::Values(arg_values(p.args(), None)),
        FieldKind::AllQueryArgs(pre) => {
            Slot::Values(owned_arg_values(preparsed_args(p.query(), pre), None))
        }
        FieldKind::UriPath => Slot::Values(Values::One(Cow::Borrowed(p.path().as_bytes()))),
        FieldKind::QueryString => Slot::Values(Values::One(Cow::Borrowed(p.query().as_bytes()))),
        FieldKind::Method => Slot::Values(Values::One(Cow::Borrowed(req.method.as_bytes()))),
        FieldKind::Body(o) => match body_window(req, body_limit, *o) {
            Ok(body) => Slot::Values(Values::One(Cow::Borrowed(body))),
            Err(s) => s,
        },
        FieldKind::JsonBody {
            paths,
            scope,
            invalid,
            oversize,
        } => match body_window(req, body_limit, *oversize) {
            Ok(body) => json_values(body, paths.as_deref(), *scope, *invalid),
            Err(s) => s,
        },
        FieldKind::Headers {
            filter,
            scope,
            oversize,
        } => {
            let mut out = Vec::with_capacity(2 * req.headers.len().min(MAX_ITEMS));
            let over = map_values(
                req.headers
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_slice())),
                filter,
                true,
                *scope,
                &mut out,
            );
            match forced(*oversize).filter(|_| over) {
                Some(s) => s,
                None => Slot::Values(Values::from_vec(out)),
            }
        }
        FieldKind::Cookies {
            filter,
            scope,
            oversize,
        } => {
            let cookies = p.cookies();
            let mut out = Vec::with_capacity(2 * cookies.len().min(MAX_ITEMS));
            let over = map_values(cookies.iter().copied(), filter, false, *scope, &mut out);
            match forced(*oversize).filter(|_| over) {
                Some(s) => s,
                None => Slot::Values(Values::from_vec(out)),
            }
        }
        FieldKind::HeaderOrder(o) => {
            let mut order = req.header_order().into_bytes();
            let over = req.headers.len() > MAX_ITEMS || order.len() > MAX_ITEM_BYTES;
            match forced(*o).filter(|_| over) {
                Some(s) => s,
                None => {
                    order.truncate(MAX_ITEM_BYTES);
                    Slot::Values(Values::One(Cow::Owned(order)))
                }
            }
        }
        FieldKind::Ja3(fb) => match &req.ja3 {
            Some(v) => Slot::Values(Values::One(Cow::Borrowed(v.as_bytes()))),
            None => Slot::Forced(fb.matches()),
        },
        FieldKind::Ja4(fb) => match &req.ja4 {
            Some(v) => Slot::Values(Values::One(Cow::Borrowed(v.as_bytes()))),
            None => Slot::Forced(fb.matches()),
        },
        FieldKind::UriFragment(fb) => match req.fragment() {
            Some(f) => Slot::Values(Values::One(Cow::Borrowed(f.as_bytes()))),
            None => Slot::Forced(fb.matches()),
        },
    };
    match raw {
        Slot::Values(vals) if !spec.transforms.is_empty() => {
            Slot::Values(vals.map(|v| transform(&spec.transforms, v)))
        }
        other => other,
    }
}

/// The values of a field whose transformations are `parent`'s followed by `rest` (see `Plan::field_parents`).
/// `parent_id` is the id of `parent`, which must not be a [`Slot::Same`]: when `rest` changes no value the result
/// is `Slot::Same(parent_id)`, so nothing is copied.
pub(crate) fn derive<'p>(parent_id: usize, parent: &Slot<'p>, rest: &[Transform]) -> Slot<'p> {
    let vals = match parent {
        Slot::Forced(b) => return Slot::Forced(*b),
        Slot::Same(id) => return Slot::Same(*id),
        Slot::Values(vals) => vals,
    };
    let mut changed = None;
    for (i, v) in vals.iter().enumerate() {
        if let Cow::Owned(o) = apply_chain(rest, v) {
            changed = Some((i, o));
            break;
        }
    }
    let Some((first, new)) = changed else {
        return Slot::Same(parent_id);
    };
    let mut out = Vec::with_capacity(vals.len());
    out.extend(vals.iter().take(first).cloned());
    out.push(Cow::Owned(new));
    out.extend(vals.iter().skip(first + 1).map(|v| match v {
        Cow::Borrowed(b) => apply_chain(rest, b),
        Cow::Owned(o) => match apply_chain(rest, o) {
            Cow::Borrowed(_) => Cow::Owned(o.clone()),
            Cow::Owned(n) => Cow::Owned(n),
        },
    }));
    Slot::Values(Values::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str) -> Request {
        Request::builder().method("GET").uri(uri).build()
    }

    #[test]
    fn cached_path_and_query_match_the_request() {
        for uri in [
            "/a/b?x=1&y=2#frag",
            "/a#f?x=1",
            "/p?q#",
            "/",
            "/only?",
            "/x?a=%41;b=2",
        ] {
            let r = req(uri);
            let p = Parsed::new(&r);
            assert_eq!(p.path(), path_of(&r), "{uri}");
            assert_eq!(p.query(), query_of(&r), "{uri}");
            // Second call: the cached value.
            assert_eq!(p.query(), query_of(&r), "{uri}");
            let args: Vec<Param> = p.args().iter().map(ParamRef::to_param).collect();
            assert_eq!(args, query::parse(query_of(&r).as_bytes()));
            let pre = [PreParse::UrlDecode, PreParse::SemicolonsToAmpersands];
            let direct = preparsed_args(query_of(&r), &pre);
            assert_eq!(preparsed_args(p.query(), &pre), direct, "{uri}");
        }
        let r = req("/x?a=%41;b=2");
        let names: Vec<Vec<u8>> =
            preparsed_args(Parsed::new(&r).query(), &[PreParse::SemicolonsToAmpersands])
                .into_iter()
                .map(|a| a.name)
                .collect();
        assert_eq!(names, vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn single_values_are_not_lists() {
        let r = req("/static/ok.txt?id=42");
        let p = Parsed::new(&r);
        let spec = FieldSpec {
            kind: FieldKind::UriPath,
            transforms: vec![Transform::Lowercase],
        };
        match extract(&p, &spec, 1024) {
            Slot::Values(Values::One(v)) => assert_eq!(&*v, b"/static/ok.txt"),
            other => panic!("unexpected {other:?}"),
        }
        let spec = FieldSpec {
            kind: FieldKind::AllQueryArgs(Vec::new()),
            transforms: Vec::new(),
        };
        assert_eq!(
            extract(&p, &spec, 1024),
            Slot::Values(Values::One(Cow::Borrowed(b"42")))
        );
    }
}
