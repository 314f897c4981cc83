//! Resolving a rule target to the values it names.

use std::borrow::Cow;

use portcullis_waf_request::Request;

use super::data::RequestData;
use super::state::State;
use crate::rule::{Exclusion, Selector, Target};
use crate::variables::Var;

/// One value of a target.
#[derive(Debug, Clone)]
pub(crate) struct Value<'a> {
    /// The variable it came from.
    pub var: Var,
    /// The member key, for collections.
    pub key: Option<Cow<'a, [u8]>>,
    /// The value.
    pub value: Cow<'a, [u8]>,
}

impl Value<'_> {
    /// Appends the name (`ARGS:id`, `REQUEST_URI`, `TX:score`) to `out`.
    pub fn write_name(&self, out: &mut String) {
        out.push_str(self.var.name());
        if let Some(k) = &self.key {
            out.push(':');
            match std::str::from_utf8(k) {
                Ok(s) => out.push_str(s),
                Err(_) => out.push_str(&String::from_utf8_lossy(k)),
            }
        }
    }
}

/// Read-only view of what a transaction inspects.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub rules: &'a crate::RuleSet,
    pub req: &'a Request,
    pub data: &'a RequestData,
}

struct Sink<'o, 'a> {
    target: &'a Target,
    excl: [&'o [Exclusion]; 2],
    out: &'o mut Vec<Value<'a>>,
}

impl<'a> Sink<'_, 'a> {
    fn excluded(&self, var: Var, key: Option<&[u8]>) -> bool {
        self.excl
            .iter()
            .any(|list| list.iter().any(|e| e.excludes(var, key)))
    }

    fn keyed(&mut self, key: Cow<'a, [u8]>, value: Cow<'a, [u8]>) {
        let var = self.target.var;
        if self.target.selector.matches(&key) && !self.excluded(var, Some(&key)) {
            self.out.push(Value {
                var,
                key: Some(key),
                value,
            });
        }
    }

    /// Like [`Sink::keyed`] for values that must be copied: the key is tested before anything is allocated.
    fn keyed_copy(&mut self, key: &[u8], value: &[u8]) {
        let var = self.target.var;
        if self.target.selector.matches(key) && !self.excluded(var, Some(key)) {
            self.out.push(Value {
                var,
                key: Some(Cow::Owned(key.to_vec())),
                value: Cow::Owned(value.to_vec()),
            });
        }
    }

    fn scalar(&mut self, value: Cow<'a, [u8]>) {
        let var = self.target.var;
        if !self.excluded(var, None) {
            self.out.push(Value {
                var,
                key: None,
                value,
            });
        }
    }
}

fn b(s: &str) -> Cow<'_, [u8]> {
    Cow::Borrowed(s.as_bytes())
}

fn owned(s: String) -> Cow<'static, [u8]> {
    Cow::Owned(s.into_bytes())
}

fn flag(v: bool) -> Cow<'static, [u8]> {
    Cow::Borrowed(if v { b"1" } else { b"0" })
}

/// Appends the values `target` names to `out`, minus the exclusions.
pub(crate) fn collect<'a>(
    view: View<'a>,
    st: &State,
    target: &'a Target,
    excl: [&[Exclusion]; 2],
    out: &mut Vec<Value<'a>>,
) {
    if target.count {
        let mut tmp = Vec::new();
        let plain = Target {
            var: target.var,
            selector: target.selector.clone(),
            count: false,
        };
        collect(view, st, &plain, excl, &mut tmp);
        out.push(Value {
            var: target.var,
            key: None,
            value: owned(tmp.len().to_string()),
        });
        return;
    }
    let mut s = Sink { target, excl, out };
    let (req, data) = (view.req, view.data);
    match target.var {
        Var::Args
        | Var::ArgsGet
        | Var::ArgsPost
        | Var::ArgsNames
        | Var::ArgsGetNames
        | Var::ArgsPostNames => {
            let (get, post) = match target.var {
                Var::ArgsGet | Var::ArgsGetNames => (true, false),
                Var::ArgsPost | Var::ArgsPostNames => (false, true),
                _ => (true, true),
            };
            let names = matches!(
                target.var,
                Var::ArgsNames | Var::ArgsGetNames | Var::ArgsPostNames
            );
            let lists: [&[portcullis_waf_request::Param]; 2] = [
                if get { &data.args_get } else { &[] },
                if post { &data.args_post } else { &[] },
            ];
            for p in lists.into_iter().flatten() {
                let v = if names { &p.name } else { &p.value };
                s.keyed(Cow::Borrowed(&p.name), Cow::Borrowed(v));
            }
        }
        Var::ArgsCombinedSize => {
            let n: usize = data
                .args_get
                .iter()
                .chain(&data.args_post)
                .map(|p| p.name.len() + p.value.len())
                .sum();
            s.scalar(owned(n.to_string()));
        }
        Var::RequestHeaders | Var::RequestHeadersNames => {
            let names = target.var == Var::RequestHeadersNames;
            for (n, v) in &req.headers {
                let value = if names {
                    b(n)
                } else {
                    Cow::Borrowed(v.as_slice())
                };
                s.keyed(b(n), value);
            }
        }
        Var::RequestCookies | Var::RequestCookiesNames => {
            let names = target.var == Var::RequestCookiesNames;
            for p in &data.cookies {
                let v = if names { &p.name } else { &p.value };
                s.keyed(Cow::Borrowed(&p.name), Cow::Borrowed(v));
            }
        }
        Var::RequestUri => s.scalar(Cow::Borrowed(&data.uri_decoded)),
        Var::RequestUriRaw => s.scalar(b(&req.uri)),
        Var::RequestFilename => s.scalar(Cow::Borrowed(&data.filename)),
        Var::RequestBasename => s.scalar(Cow::Borrowed(&data.basename)),
        Var::RequestLine => s.scalar(owned(req.request_line())),
        Var::RequestMethod => s.scalar(b(&req.method)),
        Var::RequestProtocol => s.scalar(b(&req.version)),
        Var::RequestBody => {
            if data.body_var && data.body_len > 0 {
                s.scalar(Cow::Borrowed(
                    req.body.get(..data.body_len).unwrap_or(&req.body),
                ));
            }
        }
        Var::RequestBodyLength => s.scalar(owned(data.body_len.to_string())),
        Var::QueryString => s.scalar(b(req.query())),
        Var::FullRequest => {
            let mut full = req.request_line().into_bytes();
            full.extend_from_slice(b"\n");
            for (n, v) in &req.headers {
                full.extend_from_slice(n.as_bytes());
                full.extend_from_slice(b": ");
                full.extend_from_slice(v);
                full.extend_from_slice(b"\n");
            }
            full.extend_from_slice(b"\n");
            full.extend_from_slice(req.body.get(..data.body_len).unwrap_or(&[]));
            s.scalar(Cow::Owned(full));
        }
        Var::FullRequestLength => {
            let n = req.request_line().len()
                + 2
                + req
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 3)
                    .sum::<usize>()
                + data.body_len;
            s.scalar(owned(n.to_string()));
        }
        Var::Files | Var::FilesNames | Var::FilesSizes => {
            for f in &data.files {
                let v = match target.var {
                    Var::Files => Cow::Borrowed(f.filename.as_slice()),
                    Var::FilesNames => Cow::Borrowed(f.field.as_slice()),
                    _ => owned(f.size.to_string()),
                };
                s.keyed(Cow::Borrowed(&f.field), v);
            }
        }
        Var::FilesCombinedSize => s.scalar(owned(
            data.files.iter().map(|f| f.size).sum::<usize>().to_string(),
        )),
        Var::FilesTmpnames | Var::FilesTmpContent => {}
        Var::MultipartPartHeaders => {
            for (name, line) in &data.part_headers {
                s.keyed(Cow::Borrowed(name), Cow::Borrowed(line));
            }
        }
        Var::MultipartFilename => {
            s.scalar(Cow::Borrowed(
                data.files.last().map_or(&[][..], |f| f.filename.as_slice()),
            ));
        }
        Var::MultipartName => s.scalar(Cow::Borrowed(
            data.files.last().map_or(&[][..], |f| f.field.as_slice()),
        )),
        v @ (Var::MultipartStrictError
        | Var::MultipartUnmatchedBoundary
        | Var::MultipartBoundaryQuoted
        | Var::MultipartBoundaryWhitespace
        | Var::MultipartDataBefore
        | Var::MultipartDataAfter
        | Var::MultipartHeaderFolding
        | Var::MultipartLfLine
        | Var::MultipartCrlfLfLines
        | Var::MultipartMissingSemicolon
        | Var::MultipartInvalidQuoting
        | Var::MultipartInvalidPart
        | Var::MultipartInvalidHeaderFolding
        | Var::MultipartFileLimitExceeded) => {
            let f = data.multipart.unwrap_or_default();
            let on = match v {
                Var::MultipartStrictError => f.strict_error,
                Var::MultipartUnmatchedBoundary => f.unmatched_boundary,
                Var::MultipartBoundaryQuoted => f.boundary_quoted,
                Var::MultipartBoundaryWhitespace => f.boundary_whitespace,
                Var::MultipartDataBefore => f.data_before,
                Var::MultipartDataAfter => f.data_after,
                Var::MultipartHeaderFolding => f.header_folding,
                Var::MultipartLfLine => f.lf_line,
                Var::MultipartCrlfLfLines => f.crlf_lf_lines,
                Var::MultipartMissingSemicolon => f.missing_semicolon,
                Var::MultipartInvalidQuoting => f.invalid_quoting,
                Var::MultipartInvalidPart => f.invalid_part,
                Var::MultipartInvalidHeaderFolding => f.invalid_header_folding,
                _ => f.file_limit_exceeded,
            };
            s.scalar(flag(on));
        }
        Var::Xml => {
            if let Some(doc) = &data.xml {
                let attrs = matches!(&target.selector, Selector::Key(k) if k == "//@*");
                if s.excluded(Var::Xml, None) {
                    return;
                }
                if attrs {
                    for (_, _, v) in &doc.attributes {
                        s.out.push(Value {
                            var: Var::Xml,
                            key: Some(Cow::Borrowed(b"//@*")),
                            value: Cow::Borrowed(v),
                        });
                    }
                } else {
                    s.out.push(Value {
                        var: Var::Xml,
                        key: Some(Cow::Borrowed(b"/*")),
                        value: Cow::Borrowed(&doc.text),
                    });
                }
            }
        }
        Var::RemoteAddr | Var::RemoteHost => s.scalar(owned(req.client_addr.ip().to_string())),
        Var::RemotePort => s.scalar(owned(req.client_addr.port().to_string())),
        Var::ServerAddr => s.scalar(owned(req.server_addr.ip().to_string())),
        Var::ServerPort => s.scalar(owned(req.server_addr.port().to_string())),
        Var::ServerName => {
            let host = req.header("host").unwrap_or(&[]);
            let end = if host.starts_with(b"[") {
                host.iter()
                    .position(|&c| c == b']')
                    .map_or(host.len(), |i| i + 1)
            } else {
                host.iter().position(|&c| c == b':').unwrap_or(host.len())
            };
            s.scalar(Cow::Borrowed(host.get(..end).unwrap_or(host)));
        }
        Var::UniqueId => s.scalar(b(&data.unique_id)),
        Var::Duration => s.scalar(owned(st.started.elapsed().as_micros().to_string())),
        Var::Geo | Var::Session | Var::User | Var::Resource => {
            if let Some(c) = st.persistent_get(target.var) {
                for (k, v) in c.iter(st.now) {
                    s.keyed_copy(k.as_bytes(), v);
                }
            }
        }
        Var::ReqbodyError | Var::ReqbodyProcessorError => {
            s.scalar(flag(data.reqbody_error.is_some()))
        }
        Var::ReqbodyErrorMsg | Var::ReqbodyProcessorErrorMsg => {
            s.scalar(Cow::Owned(
                data.reqbody_error.clone().unwrap_or_default().into_bytes(),
            ));
        }
        Var::ReqbodyProcessor => s.scalar(b(st.body_processor.map_or("", |p| p.name()))),
        Var::InboundDataError => s.scalar(flag(data.inbound_data_error)),
        Var::OutboundDataError => s.scalar(flag(data.outbound_data_error)),
        Var::UrlencodedError => s.scalar(flag(false)),
        Var::ResponseBody => {
            if let Some(r) = &data.response {
                s.scalar(Cow::Borrowed(&r.body));
            }
        }
        Var::ResponseStatus => {
            if let Some(r) = &data.response {
                s.scalar(owned(r.status.to_string()));
            }
        }
        Var::ResponseHeaders | Var::ResponseHeadersNames => {
            if let Some(r) = &data.response {
                let names = target.var == Var::ResponseHeadersNames;
                for (n, v) in &r.headers {
                    let value = if names {
                        b(n)
                    } else {
                        Cow::Borrowed(v.as_slice())
                    };
                    s.keyed(b(n), value);
                }
            }
        }
        Var::ResponseContentType | Var::ResponseContentLength => {
            if let Some(r) = &data.response {
                let want = if target.var == Var::ResponseContentType {
                    "content-type"
                } else {
                    "content-length"
                };
                if let Some((_, v)) = r.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(want)) {
                    s.scalar(Cow::Borrowed(v.as_slice()));
                }
            }
        }
        Var::ResponseProtocol => s.scalar(b(&req.version)),
        Var::StatusLine => {
            if let Some(r) = &data.response {
                s.scalar(owned(format!("{} {}", req.version, r.status)));
            }
        }
        Var::Tx => match &target.selector {
            Selector::Key(k) => {
                if let Some(v) = st.tx.get(k, st.now)
                    && !s.excluded(Var::Tx, Some(k.as_bytes()))
                {
                    s.out.push(Value {
                        var: Var::Tx,
                        key: Some(Cow::Borrowed(k.as_bytes())),
                        value: Cow::Owned(v.to_vec()),
                    });
                }
            }
            _ => {
                for (k, v) in st.tx.iter(st.now) {
                    s.keyed_copy(k.as_bytes(), v);
                }
            }
        },
        Var::Ip | Var::Global => {
            if let Some(c) = st.persistent_get(target.var) {
                for (k, v) in c.iter(st.now) {
                    s.keyed_copy(k.as_bytes(), v);
                }
            }
        }
        Var::Env => {
            for (k, v) in &st.env {
                s.keyed_copy(k.as_bytes(), v);
            }
        }
        Var::Rule => {
            s.keyed(Cow::Borrowed(b"id"), owned(st.rule_id.to_string()));
            s.keyed(Cow::Borrowed(b"phase"), owned(st.phase.to_string()));
        }
        Var::MatchedVar => s.scalar(Cow::Owned(st.matched_var.clone())),
        Var::MatchedVarName => s.scalar(owned(st.matched_var_name.clone())),
        Var::MatchedVars | Var::MatchedVarsNames => {
            let names = target.var == Var::MatchedVarsNames;
            for (n, v) in &st.matched_vars {
                let value = if names {
                    Cow::Owned(n.as_bytes().to_vec())
                } else {
                    Cow::Owned(v.clone())
                };
                s.keyed(Cow::Owned(n.as_bytes().to_vec()), value);
            }
        }
        Var::HighestSeverity => s.scalar(owned(st.highest_severity.to_string())),
        Var::AuthType => {
            let auth = req.header("authorization").unwrap_or(&[]);
            let end = auth.iter().position(|&c| c == b' ').unwrap_or(auth.len());
            s.scalar(Cow::Borrowed(auth.get(..end).unwrap_or(auth)));
        }
        Var::Time
        | Var::TimeEpoch
        | Var::TimeYear
        | Var::TimeMon
        | Var::TimeDay
        | Var::TimeHour
        | Var::TimeMin
        | Var::TimeSec
        | Var::TimeWday => s.scalar(owned(time_var(target.var, st.now))),
        Var::Ja3 => s.scalar(b(req.ja3.as_deref().unwrap_or(""))),
        Var::Ja4 => s.scalar(b(req.ja4.as_deref().unwrap_or(""))),
    }
}

/// The `TIME*` variables from Unix seconds (UTC).
fn time_var(var: Var, now: u64) -> String {
    let days = now / 86_400;
    let secs = now % 86_400;
    let (h, m, sec) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(mo <= 2);
    match var {
        Var::TimeEpoch => now.to_string(),
        Var::TimeYear => y.to_string(),
        Var::TimeMon => format!("{mo:02}"),
        Var::TimeDay => format!("{d:02}"),
        Var::TimeHour => format!("{h:02}"),
        Var::TimeMin => format!("{m:02}"),
        Var::TimeSec => format!("{sec:02}"),
        Var::TimeWday => ((days + 4) % 7).to_string(),
        _ => format!("{h:02}:{m:02}:{sec:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_vars() {
        // 2021-03-04 05:06:07 UTC, a Thursday.
        let t = 1_614_834_367;
        assert_eq!(time_var(Var::TimeYear, t), "2021");
        assert_eq!(time_var(Var::TimeMon, t), "03");
        assert_eq!(time_var(Var::TimeDay, t), "04");
        assert_eq!(time_var(Var::Time, t), "05:06:07");
        assert_eq!(time_var(Var::TimeWday, t), "4");
    }
}
