//! One HTTP exchange run through a [`RuleSet`]: phases 1–2 on the request, 3–4 on the response, 5 at the end.
//!
//! ```text
//! let mut tx = Transaction::new(&rules, &request);
//! if let Some(i) = tx.process_request() { /* answer i.status, do not forward */ }
//! tx.process_response(status, &headers, &body);
//! tx.finish();
//! for line in tx.logs() { println!("{line}") }
//! ```

mod data;
mod exec;
mod state;
mod vars;

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_waf_request::Request;

use crate::config::LimitAction;
use crate::log::{Disruption, Intervention, LogEntry};
use crate::rule::{BodyProcessor, EngineMode};
use crate::ruleset::RuleSet;
use data::{RequestData, ResponseData};
use state::State;
use vars::View;

/// The evaluation of one request (and its response) against a rule set.
#[derive(Debug)]
pub struct Transaction<'a> {
    rules: &'a RuleSet,
    req: &'a Request,
    data: RequestData,
    st: State,
    request_done: bool,
    response_done: bool,
    finished: bool,
}

impl<'a> Transaction<'a> {
    /// Starts a transaction: derives the header-time variables and picks the default body processor from the
    /// `Content-Type` (`URLENCODED` for forms, `MULTIPART` for `multipart/form-data`; JSON and XML need
    /// `ctl:requestBodyProcessor`).
    pub fn new(rules: &'a RuleSet, req: &'a Request) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = rules.counter.fetch_add(1, Ordering::Relaxed);
        let unique_id = format!("{:x}{:06x}", now.as_micros(), n & 0xff_ffff);
        let cfg = &rules.config;
        let data = RequestData::new(req, cfg, unique_id);
        let mut st = State::new(
            cfg.engine,
            cfg.request_body_access,
            cfg.response_body_access,
            now.as_secs(),
        );
        st.body_processor = match req.media_type().as_deref() {
            Some("application/x-www-form-urlencoded") => Some(BodyProcessor::UrlEncoded),
            Some("multipart/form-data") => Some(BodyProcessor::Multipart),
            _ => None,
        };
        Self {
            rules,
            req,
            data,
            st,
            request_done: false,
            response_done: false,
            finished: false,
        }
    }

    fn view(&self) -> View<'_> {
        View {
            rules: self.rules,
            req: self.req,
            data: &self.data,
        }
    }

    fn run(&mut self, phase: u8) {
        let view = View {
            rules: self.rules,
            req: self.req,
            data: &self.data,
        };
        exec::run_phase(view, &mut self.st, phase);
    }

    /// Runs phase 1 (request headers), the request body processor and phase 2 (request body). Returns the
    /// intervention when a rule disrupted (engine `On` only).
    pub fn process_request(&mut self) -> Option<Intervention> {
        if self.request_done {
            return self.st.intervention.clone();
        }
        self.request_done = true;
        self.run(1);
        if self.st.intervention.is_some() {
            return self.st.intervention.clone();
        }
        if self.st.body_access && !self.data.body_processed {
            let rejected = self.data.process_body(
                self.req,
                &self.rules.config,
                self.st.body_processor,
                self.st.force_body_var,
            );
            if rejected && self.st.engine == EngineMode::On {
                self.st.intervention = Some(Intervention {
                    status: 413,
                    rule_id: None,
                    disruptive: Disruption::Deny,
                    log: "ModSecurity: Request body is larger than the configured limit (SecRequestBodyLimit)."
                        .to_owned(),
                });
                return self.st.intervention.clone();
            }
        }
        self.run(2);
        self.st.intervention.clone()
    }

    /// Runs phase 3 (response headers) and phase 4 (response body). `body` is inspected only with
    /// `SecResponseBodyAccess On` and a `Content-Type` listed in `SecResponseBodyMimeType`, up to
    /// `SecResponseBodyLimit` bytes.
    pub fn process_response(
        &mut self,
        status: u16,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
    ) -> Option<Intervention> {
        if !self.request_done {
            let _ = self.process_request();
        }
        if self.response_done || self.st.intervention.is_some() {
            return self.st.intervention.clone();
        }
        self.response_done = true;
        let cfg = &self.rules.config;
        let media = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| {
                let end = v.iter().position(|&b| b == b';').unwrap_or(v.len());
                String::from_utf8_lossy(v.get(..end).unwrap_or(v))
                    .trim()
                    .to_ascii_lowercase()
            });
        let inspect = self.st.response_body_access
            && media.is_some_and(|m| cfg.response_body_mime_types.contains(&m));
        let mut kept = Vec::new();
        if inspect {
            let limit = usize::try_from(cfg.response_body_limit).unwrap_or(usize::MAX);
            if body.len() > limit {
                self.data.outbound_data_error = true;
                if cfg.response_body_limit_action == LimitAction::Reject
                    && self.st.engine == EngineMode::On
                {
                    self.st.intervention = Some(Intervention {
                        status: 500,
                        rule_id: None,
                        disruptive: Disruption::Deny,
                        log: "ModSecurity: Response body is larger than the configured limit (SecResponseBodyLimit)."
                            .to_owned(),
                    });
                    return self.st.intervention.clone();
                }
            }
            kept = body.get(..limit.min(body.len())).unwrap_or(body).to_vec();
        }
        self.data.response = Some(ResponseData {
            status,
            headers: headers.to_vec(),
            body: kept,
        });
        self.run(3);
        if self.st.intervention.is_none() {
            self.run(4);
        }
        self.st.intervention.clone()
    }

    /// Runs phase 5 (logging) once and stores the persistent collections opened by `initcol`.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        if !self.request_done {
            let _ = self.process_request();
        }
        self.finished = true;
        self.run(5);
        for (var, key, coll) in std::mem::take(&mut self.st.persistent) {
            self.rules.store.save(var, &key, coll, self.st.now);
        }
    }

    /// The logged rule matches so far, in order.
    pub fn logs(&self) -> &[LogEntry] {
        &self.st.logs
    }

    /// Ids of every rule that matched so far, in order — including `nolog` rules, which do not appear in
    /// [`Transaction::logs`]. (Use the logs to judge CRS `log_contains` tests.)
    pub fn matched_rule_ids(&self) -> &[u64] {
        &self.st.matched_ids
    }

    /// The intervention, if a rule disrupted.
    pub fn intervention(&self) -> Option<&Intervention> {
        self.st.intervention.as_ref()
    }

    /// The value of `TX:<key>` (case-insensitive), for tests and diagnostics.
    pub fn tx(&self, key: &str) -> Option<String> {
        self.st
            .tx
            .get(&key.to_ascii_lowercase(), self.st.now)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The engine mode in effect (`ctl:ruleEngine` may have changed it).
    pub fn engine_mode(&self) -> EngineMode {
        self.st.engine
    }

    /// The request this transaction inspects.
    pub fn request(&self) -> &Request {
        self.view().req
    }
}

#[cfg(test)]
mod tests;
