//! Sampled requests, as `GetSampledRequests` returns them.
//!
//! For every (web ACL ARN, rule metric name) with `SampledRequestsEnabled` — the web ACL's own metric name
//! stands for requests decided by the default action — the proxy keeps a reservoir per time bucket
//! ([`SamplesConfig::bucket`], 15 minutes by default): Algorithm R keeps a uniform sample of at most
//! [`SamplesConfig::per_bucket`] requests (AWS returns up to 500) whatever the traffic, and a sampled entry is
//! only built for requests that are kept. Populations are counted per minute. Data older than
//! [`SamplesConfig::retention`] (AWS: 3 hours) is dropped.
//!
//! [`Samples::query`] draws up to `max_items` entries from the buckets in the window, each bucket's entries
//! weighted by how many requests they stand for (the `Weight` member), and returns them in time order with the
//! number of requests seen in the window (`PopulationSize`, minute granularity).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::detail::{TokenResponse, WafAction};

/// Sampling settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplesConfig {
    /// Width of one reservoir.
    pub bucket: Duration,
    /// Requests kept per reservoir.
    pub per_bucket: usize,
    /// How long samples are kept.
    pub retention: Duration,
    /// Headers kept per sampled request (the rest are dropped).
    pub max_headers: usize,
}

impl Default for SamplesConfig {
    fn default() -> Self {
        Self {
            bucket: Duration::from_secs(15 * 60),
            per_bucket: 500,
            retention: Duration::from_secs(3 * 3600),
            max_headers: 64,
        }
    }
}

/// One sampled request (rendered as a `SampledHTTPRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampledRequest {
    /// When it arrived, epoch milliseconds.
    pub timestamp_ms: u64,
    /// The client address.
    pub client_ip: IpAddr,
    /// The client's country (ISO 3166-1 alpha-2), when known.
    pub country: Option<String>,
    /// The path.
    pub uri: String,
    /// The method.
    pub method: String,
    /// `HTTP/1.1`, ...
    pub http_version: String,
    /// Request headers (at most [`SamplesConfig::max_headers`]).
    pub headers: Vec<(String, String)>,
    /// The action the rule (or the default action) applied.
    pub action: WafAction,
    /// `<vendor>#<group>#<rule>` / `<group>#<rule>` for a match inside a rule group.
    pub rule_within_group: Option<String>,
    /// Headers inserted into the forwarded request.
    pub headers_inserted: Vec<(String, String)>,
    /// The status of a custom response.
    pub response_code_sent: Option<u16>,
    /// Labels.
    pub labels: Vec<String>,
    /// The CAPTCHA check.
    pub captcha: Option<TokenResponse>,
    /// The challenge check.
    pub challenge: Option<TokenResponse>,
    /// The action an override replaced.
    pub overridden_action: Option<WafAction>,
}

fn token_json(t: &TokenResponse) -> Value {
    let mut m = Map::new();
    m.insert("ResponseCode".into(), json!(t.response_code));
    if let Some(ts) = t.solve_timestamp {
        m.insert("SolveTimestamp".into(), json!(ts));
    }
    if let Some(r) = t.failure_reason {
        m.insert("FailureReason".into(), json!(r));
    }
    Value::Object(m)
}

impl SampledRequest {
    /// The `SampledHTTPRequest` JSON with this `Weight`.
    pub fn to_json(&self, weight: u64) -> Value {
        let pairs = |h: &[(String, String)]| -> Vec<Value> {
            h.iter()
                .map(|(n, v)| json!({"Name": n, "Value": v}))
                .collect()
        };
        let mut m = Map::new();
        m.insert(
            "Request".into(),
            json!({
                "ClientIP": self.client_ip.to_string(),
                "Country": self.country.as_deref().unwrap_or("-"),
                "URI": self.uri,
                "Method": self.method,
                "HTTPVersion": self.http_version,
                "Headers": pairs(&self.headers),
            }),
        );
        m.insert("Weight".into(), json!(weight));
        m.insert("Timestamp".into(), json!(self.timestamp_ms as f64 / 1000.0));
        m.insert("Action".into(), json!(self.action.log_name()));
        if let Some(r) = &self.rule_within_group {
            m.insert("RuleNameWithinRuleGroup".into(), json!(r));
        }
        if !self.headers_inserted.is_empty() {
            m.insert(
                "RequestHeadersInserted".into(),
                json!(pairs(&self.headers_inserted)),
            );
        }
        if let Some(c) = self.response_code_sent {
            m.insert("ResponseCodeSent".into(), json!(c));
        }
        if !self.labels.is_empty() {
            let labels: Vec<Value> = self.labels.iter().map(|l| json!({"Name": l})).collect();
            m.insert("Labels".into(), Value::Array(labels));
        }
        if let Some(t) = &self.captcha {
            m.insert("CaptchaResponse".into(), token_json(t));
        }
        if let Some(t) = &self.challenge {
            m.insert("ChallengeResponse".into(), token_json(t));
        }
        if let Some(a) = self.overridden_action {
            m.insert("OverriddenAction".into(), json!(a.log_name()));
        }
        Value::Object(m)
    }
}

struct Bucket {
    start_ms: u64,
    seen: u64,
    items: Vec<SampledRequest>,
}

struct Reservoir {
    buckets: VecDeque<Bucket>,
    /// (minute since epoch, requests).
    minutes: VecDeque<(u64, u64)>,
    rng: u64,
}

impl Reservoir {
    fn new(seed: u64) -> Self {
        Self {
            buckets: VecDeque::new(),
            minutes: VecDeque::new(),
            rng: seed | 1,
        }
    }

    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn expire(&mut self, now_ms: u64, cfg: &SamplesConfig) {
        let keep_from = now_ms.saturating_sub(duration_ms(cfg.retention));
        let bucket_ms = duration_ms(cfg.bucket).max(1);
        while self
            .buckets
            .front()
            .is_some_and(|b| b.start_ms + bucket_ms <= keep_from)
        {
            self.buckets.pop_front();
        }
        while self
            .minutes
            .front()
            .is_some_and(|(m, _)| (m + 1) * 60_000 <= keep_from)
        {
            self.minutes.pop_front();
        }
    }

    fn offer(
        &mut self,
        now_ms: u64,
        cfg: &SamplesConfig,
        build: &mut dyn FnMut() -> SampledRequest,
    ) {
        self.expire(now_ms, cfg);
        let minute = now_ms / 60_000;
        match self.minutes.back_mut() {
            Some((m, n)) if *m == minute => *n += 1,
            _ => self.minutes.push_back((minute, 1)),
        }
        let bucket_ms = duration_ms(cfg.bucket).max(1);
        let start_ms = now_ms - now_ms % bucket_ms;
        if self.buckets.back().is_none_or(|b| b.start_ms != start_ms) {
            self.buckets.push_back(Bucket {
                start_ms,
                seen: 0,
                items: Vec::new(),
            });
        }
        let r = self.next();
        let Some(b) = self.buckets.back_mut() else {
            return;
        };
        b.seen += 1;
        if b.items.len() < cfg.per_bucket {
            b.items.push(build());
        } else {
            let j = r % b.seen;
            if let Some(slot) = usize::try_from(j).ok().and_then(|j| b.items.get_mut(j)) {
                *slot = build();
            }
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, duration_ms)
}

type Reservoirs = HashMap<String, HashMap<String, Arc<Mutex<Reservoir>>>>;

/// Sampled requests of every web ACL and rule. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Samples {
    cfg: Arc<SamplesConfig>,
    map: Arc<RwLock<Reservoirs>>,
}

impl Default for Samples {
    fn default() -> Self {
        Self::new(SamplesConfig::default())
    }
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Samples")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Samples {
    /// Empty, with these settings.
    pub fn new(cfg: SamplesConfig) -> Self {
        Self {
            cfg: Arc::new(cfg),
            map: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SamplesConfig {
        &self.cfg
    }

    pub(crate) fn max_headers(&self) -> usize {
        self.cfg.max_headers
    }

    fn reservoir(&self, acl: &str, metric: &str) -> Arc<Mutex<Reservoir>> {
        if let Ok(map) = self.map.read()
            && let Some(r) = map.get(acl).and_then(|m| m.get(metric))
        {
            return Arc::clone(r);
        }
        let mut map = match self.map.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let seed = epoch_ms(SystemTime::now())
            ^ (acl.len() as u64).rotate_left(32)
            ^ (metric.len() as u64).rotate_left(16);
        Arc::clone(
            map.entry(acl.to_owned())
                .or_default()
                .entry(metric.to_owned())
                .or_insert_with(|| Arc::new(Mutex::new(Reservoir::new(seed)))),
        )
    }

    /// Counts one request for (`web_acl_arn`, `rule_metric_name`) at `now_ms` and keeps the entry `build` makes
    /// if the reservoir picks it (`build` is not called otherwise).
    pub fn offer(
        &self,
        web_acl_arn: &str,
        rule_metric_name: &str,
        now_ms: u64,
        build: &mut dyn FnMut() -> SampledRequest,
    ) {
        let r = self.reservoir(web_acl_arn, rule_metric_name);
        let mut r = match r.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        r.offer(now_ms, &self.cfg, build);
    }

    /// Drops everything kept for the web ACL (call when it is deleted).
    pub fn forget(&self, web_acl_arn: &str) {
        let mut map = match self.map.write() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.remove(web_acl_arn);
    }

    /// Up to `max_items` sampled requests of (`web_acl_arn`, `rule_metric_name`) that arrived in
    /// [`start`, `end`] (a start older than the retention is clamped), as `SampledHTTPRequest` JSON in time
    /// order, and the number of requests seen in the window (`PopulationSize`).
    pub fn query(
        &self,
        web_acl_arn: &str,
        rule_metric_name: &str,
        start: SystemTime,
        end: SystemTime,
        max_items: usize,
    ) -> (Vec<Value>, u64) {
        let reservoir = match self.map.read() {
            Ok(m) => m
                .get(web_acl_arn)
                .and_then(|m| m.get(rule_metric_name))
                .cloned(),
            Err(p) => p
                .into_inner()
                .get(web_acl_arn)
                .and_then(|m| m.get(rule_metric_name))
                .cloned(),
        };
        let Some(reservoir) = reservoir else {
            return (Vec::new(), 0);
        };
        let mut r = match reservoir.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        let now = epoch_ms(SystemTime::now());
        r.expire(now, &self.cfg);
        let start = epoch_ms(start).max(now.saturating_sub(duration_ms(self.cfg.retention)));
        let end = epoch_ms(end);
        if end < start {
            return (Vec::new(), 0);
        }
        let population = r
            .minutes
            .iter()
            .filter(|(m, _)| m * 60_000 <= end && (m + 1) * 60_000 > start)
            .map(|(_, n)| n)
            .sum();
        // Efraimidis–Spirakis: key = u^(1/w); the largest keys form a weighted sample without replacement.
        let mut candidates: Vec<(f64, u64, &SampledRequest)> = Vec::new();
        for b in &r.buckets {
            let weight = (b.seen / (b.items.len().max(1) as u64)).max(1);
            for item in &b.items {
                if item.timestamp_ms >= start && item.timestamp_ms <= end {
                    candidates.push((0.0, weight, item));
                }
            }
        }
        let mut rng = r.rng;
        for c in &mut candidates {
            rng = rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = ((z >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
            c.0 = u.powf(1.0 / c.1 as f64);
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        candidates.truncate(max_items);
        candidates.sort_by_key(|c| c.2.timestamp_ms);
        let out = candidates
            .iter()
            .map(|(_, w, item)| item.to_json(*w))
            .collect();
        (out, population)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ts: u64, uri: &str) -> SampledRequest {
        SampledRequest {
            timestamp_ms: ts,
            client_ip: "192.0.2.7".parse().unwrap(),
            country: Some("NL".into()),
            uri: uri.to_owned(),
            method: "GET".into(),
            http_version: "HTTP/1.1".into(),
            headers: vec![("host".into(), "a".into())],
            action: WafAction::Block,
            rule_within_group: None,
            headers_inserted: Vec::new(),
            response_code_sent: None,
            labels: vec!["awswaf:1:webacl:a:x".into()],
            captcha: None,
            challenge: None,
            overridden_action: None,
        }
    }

    #[test]
    fn reservoir_bounds_samples_and_counts_population() {
        let s = Samples::new(SamplesConfig {
            per_bucket: 10,
            ..SamplesConfig::default()
        });
        let now = epoch_ms(SystemTime::now());
        let mut built = 0;
        for i in 0..1000 {
            s.offer("arn", "rule", now, &mut || {
                built += 1;
                req(now, &format!("/{i}"))
            });
        }
        // Algorithm R builds about k·(1 + ln(n/k)) entries, far fewer than n.
        assert!(built < 200, "built {built}");
        let t0 = SystemTime::now() - Duration::from_secs(60);
        let t1 = SystemTime::now() + Duration::from_secs(60);
        let (items, population) = s.query("arn", "rule", t0, t1, 500);
        assert_eq!(population, 1000);
        assert_eq!(items.len(), 10);
        assert_eq!(items[0]["Weight"], 100);
        assert_eq!(items[0]["Action"], "BLOCK");
        assert_eq!(items[0]["Request"]["ClientIP"], "192.0.2.7");
        assert_eq!(items[0]["Request"]["Country"], "NL");
        assert_eq!(items[0]["Labels"][0]["Name"], "awswaf:1:webacl:a:x");
        // Later requests are represented too (uniform sample, not the first ten).
        let late = items
            .iter()
            .filter(|v| {
                v["Request"]["URI"].as_str().unwrap()[1..]
                    .parse::<u32>()
                    .unwrap()
                    >= 100
            })
            .count();
        assert!(
            late >= 5,
            "only {late} of 10 samples from the last 900 requests"
        );
        let (few, _) = s.query("arn", "rule", t0, t1, 3);
        assert_eq!(few.len(), 3);
        assert_eq!(s.query("arn", "other", t0, t1, 3), (Vec::new(), 0));
        s.forget("arn");
        assert_eq!(s.query("arn", "rule", t0, t1, 3), (Vec::new(), 0));
    }

    #[test]
    fn window_filters_by_time_and_old_data_expires() {
        let s = Samples::default();
        let now = epoch_ms(SystemTime::now());
        let old = now - 4 * 3600 * 1000;
        s.offer("arn", "r", old, &mut || req(old, "/old"));
        let recent = now - 30 * 60 * 1000;
        s.offer("arn", "r", recent, &mut || req(recent, "/recent"));
        s.offer("arn", "r", now, &mut || req(now, "/now"));
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        let (items, pop) = s.query("arn", "r", at(old), at(now + 1000), 100);
        assert_eq!(pop, 2);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["Request"]["URI"], "/recent");
        let (items, pop) = s.query("arn", "r", at(now - 60_000), at(now + 1000), 100);
        assert_eq!((items.len(), pop), (1, 1));
    }
}
