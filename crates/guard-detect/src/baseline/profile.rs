//! The learned facts of one identity or instance: per-item usage with a 64-day bitmap of the
//! days it was used, and the GuardDuty frequency buckets (FREQUENT / INFREQUENT / RARE /
//! UNSEEN, reference guard.md §8.1) computed from them.
//!
//! Every map is capped; when full, the least recently used item makes room, so a profile
//! never grows with its input.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::window::FastState;

/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// Days a [`DayBits`] remembers.
pub const DAY_BITS: i64 = 64;

/// Which of the last 64 days something happened on, anchored at the latest such day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBits {
    /// Day number (Unix days) of bit 0.
    pub day: i64,
    /// Bit `n` set: used on day `day - n`.
    pub bits: u64,
}

impl DayBits {
    /// Marks the day of Unix time `t` (out-of-order times within the 64 days count too).
    pub fn mark(&mut self, t: i64) {
        let d = t.div_euclid(DAY);
        if self.bits == 0 {
            *self = DayBits { day: d, bits: 1 };
        } else if d > self.day {
            let shift = d.saturating_sub(self.day);
            self.bits = if shift >= DAY_BITS {
                0
            } else {
                self.bits << shift
            };
            self.bits |= 1;
            self.day = d;
        } else {
            let off = self.day.saturating_sub(d);
            if off < DAY_BITS {
                self.bits |= 1u64 << off;
            }
        }
    }

    /// Days marked among the `span` days ending on day `now_day`.
    pub fn count_within(&self, now_day: i64, span: i64) -> u32 {
        let shift = now_day.saturating_sub(self.day).max(0);
        if shift >= DAY_BITS || span <= 0 {
            return 0;
        }
        let aligned = self.bits << shift;
        let mask = if span >= DAY_BITS {
            u64::MAX
        } else {
            (1u64 << span) - 1
        };
        (aligned & mask).count_ones()
    }
}

/// How often an identity used something, as GuardDuty's profiles name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Frequency {
    /// Never seen for this identity.
    Unseen,
    /// Used on one day of a profile longer than a week (less than "a few times a month").
    Rare,
    /// Used on a few days, less than weekly.
    Infrequent,
    /// Used at least weekly on average over the profile's days (daily to weekly).
    Frequent,
}

impl Frequency {
    /// `FREQUENT`, `INFREQUENT`, `RARE` or `UNSEEN` (the model's `profileSubtype`).
    pub fn name(self) -> &'static str {
        match self {
            Frequency::Unseen => "UNSEEN",
            Frequency::Rare => "RARE",
            Frequency::Infrequent => "INFREQUENT",
            Frequency::Frequent => "FREQUENT",
        }
    }
}

/// Use of one item (an API, a network, a user agent, a region, a port).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Times used.
    pub calls: u64,
    /// Unix seconds of the first use.
    pub first: i64,
    /// Unix seconds of the last use.
    pub last: i64,
    /// Days used.
    pub days: DayBits,
}

impl Usage {
    fn touch(&mut self, t: i64) {
        if self.calls == 0 {
            self.first = t;
            self.last = t;
        }
        self.calls = self.calls.saturating_add(1);
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        self.days.mark(t);
    }
}

/// A capped map of item → [`Usage`]: a hash map (lookups are per record), stored and iterated
/// in key order (as a JSON object keyed by item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageMap<K: Ord + Hash> {
    items: HashMap<K, Usage, FastState>,
}

impl<K: Ord + Hash> Default for UsageMap<K> {
    fn default() -> Self {
        Self {
            items: HashMap::default(),
        }
    }
}

impl<K: Ord + Hash + Serialize> Serialize for UsageMap<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut items: Vec<(&K, &Usage)> = self.items.iter().collect();
        items.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(items)
    }
}

impl<'de, K: Ord + Hash + Deserialize<'de>> Deserialize<'de> for UsageMap<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            items: HashMap::deserialize(d)?,
        })
    }
}

impl<K: Ord + Hash + Clone> UsageMap<K> {
    /// Records a use of `key` at `t`, dropping the least recently used item when `cap` is reached.
    pub fn touch(&mut self, key: K, t: i64, cap: usize) {
        if let Some(u) = self.items.get_mut(&key) {
            u.touch(t);
            return;
        }
        self.make_room(cap);
        self.items.entry(key).or_default().touch(t);
    }

    /// [`UsageMap::touch`] by reference: the key is only copied when it is new to the map.
    pub fn touch_ref<Q>(&mut self, key: &Q, t: i64, cap: usize)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(u) = self.items.get_mut(key) {
            u.touch(t);
            return;
        }
        self.make_room(cap);
        self.items.entry(key.to_owned()).or_default().touch(t);
    }

    /// Drops the least recently used item (the first in key order among equals) when the map
    /// holds `cap` items.
    fn make_room(&mut self, cap: usize) {
        if self.items.len() < cap.max(1) {
            return;
        }
        let mut oldest: Option<(&K, i64)> = None;
        for (k, u) in &self.items {
            match oldest {
                Some((ok, ol)) if u.last > ol || (u.last == ol && k >= ok) => {}
                _ => oldest = Some((k, u.last)),
            }
        }
        if let Some(k) = oldest.map(|(k, _)| k.clone()) {
            self.items.remove(&k);
        }
    }

    /// The use of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&Usage>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.items.get(key)
    }

    /// Items tracked.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every item, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &Usage)> {
        let mut items: Vec<(&K, &Usage)> = self.items.iter().collect();
        items.sort_unstable_by(|a, b| a.0.cmp(b.0));
        items.into_iter()
    }
}

/// The frequency bucket of `usage` for a profile spanning `span_days` days, at day `now_day`.
pub fn frequency(usage: Option<&Usage>, span_days: i64, now_day: i64) -> Frequency {
    let Some(u) = usage else {
        return Frequency::Unseen;
    };
    let span = span_days.clamp(1, DAY_BITS);
    let days = i64::from(u.days.count_within(now_day, span));
    if days > 0 && days.saturating_mul(7) >= span {
        Frequency::Frequent
    } else if days >= 2 {
        Frequency::Infrequent
    } else {
        Frequency::Rare
    }
}

/// Caps of an identity profile's maps.
pub const MAX_APIS: usize = 400;
/// See [`MAX_APIS`].
pub const MAX_NETWORKS: usize = 64;
/// See [`MAX_APIS`].
pub const MAX_AGENTS: usize = 32;
/// See [`MAX_APIS`].
pub const MAX_REGIONS: usize = 32;
/// APIs remembered by an account's profile (every principal of the account feeds it).
pub const MAX_ACCOUNT_APIS: usize = 1_000;
/// Principals (and user types) remembered by an account's profile.
pub const MAX_USERS: usize = 256;
/// Remote ports remembered per instance.
pub const MAX_PORTS: usize = 256;

/// What one identity (account + principal) usually does; the same shape profiles a whole
/// account (every principal's calls), which also fills [`IdentityProfile::users`] and
/// [`IdentityProfile::user_types`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProfile {
    /// `Root`, `IAMUser`, `AssumedRole`, `FederatedUser`, ...
    pub user_type: String,
    /// Unix seconds of the first event.
    pub first_seen: i64,
    /// Unix seconds of the last event.
    pub last_seen: i64,
    /// Days with any activity.
    pub days: DayBits,
    /// `eventSource:eventName` (successful calls).
    pub apis: UsageMap<String>,
    /// `eventSource:eventName` of failed calls (`errorCode` set: AccessDenied, ...), learned
    /// apart: a routine failure is not unusual, but a failure never teaches that an API is used.
    #[serde(default, skip_serializing_if = "UsageMap::is_empty")]
    pub failed_apis: UsageMap<String>,
    /// Source networks: `/24` (IPv4), `/48` (IPv6), or a domain (AWS service callers).
    pub networks: UsageMap<String>,
    /// User agent families ([`agent_family`]).
    pub agents: UsageMap<String>,
    /// Regions.
    pub regions: UsageMap<String>,
    /// Account profiles only: the principals that called (ARN).
    #[serde(default, skip_serializing_if = "UsageMap::is_empty")]
    pub users: UsageMap<String>,
    /// Account profiles only: the `userIdentity.type`s that called.
    #[serde(default, skip_serializing_if = "UsageMap::is_empty")]
    pub user_types: UsageMap<String>,
}

impl IdentityProfile {
    /// Days the profile spans at `t` (1 on its first day, at most 64).
    pub fn span_days(&self, t: i64) -> i64 {
        (t.div_euclid(DAY) - self.first_seen.div_euclid(DAY) + 1).clamp(1, DAY_BITS)
    }

    /// The bucket of `key` in `map` at `t`.
    pub fn bucket(&self, map: &UsageMap<String>, key: &str, t: i64) -> Frequency {
        frequency(map.get(key), self.span_days(t), t.div_euclid(DAY))
    }

    /// The most used items of a map (at most `n`), with their buckets, most used first.
    pub fn top(&self, map: &UsageMap<String>, n: usize, t: i64) -> Vec<(String, Frequency, u64)> {
        let mut all: Vec<(&String, &Usage)> = map.iter().collect();
        all.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then_with(|| a.0.cmp(b.0)));
        all.into_iter()
            .take(n)
            .map(|(k, u)| (k.clone(), self.bucket(map, k, t), u.calls))
            .collect()
    }
}

/// What one instance (private address) usually does on the network.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceProfile {
    /// Unix seconds of the first flow.
    pub first_seen: i64,
    /// Unix seconds of the last flow.
    pub last_seen: i64,
    /// Remote ports of connections the instance opened to public hosts.
    pub ports: UsageMap<u16>,
    /// Exponentially weighted mean of the bytes sent to one public host in one window.
    pub volume_mean: f64,
    /// Windows folded into [`InstanceProfile::volume_mean`].
    pub volume_samples: u64,
    /// The largest window total seen (before the current one).
    pub volume_peak: u64,
}

/// The family of a user agent, as GuardDuty's profiles show it (`aws-cli`, `Boto3`, `console`,
/// an SDK name, or the first product token).
pub fn agent_family(ua: &str) -> &str {
    let ua = ua.trim();
    if ua.is_empty() {
        return "unknown";
    }
    const KNOWN: &[(&str, &str)] = &[
        ("aws-internal", "aws-internal"),
        ("console.amazonaws.com", "console"),
        ("signin.amazonaws.com", "console"),
        ("aws-cli", "aws-cli"),
        ("boto3", "Boto3"),
        ("botocore", "Botocore"),
        ("aws-sdk-go-v2", "aws-sdk-go-v2"),
        ("aws-sdk-go", "aws-sdk-go"),
        ("aws-sdk-java", "aws-sdk-java"),
        ("aws-sdk-js", "aws-sdk-js"),
        ("aws-sdk-rust", "aws-sdk-rust"),
        ("aws-sdk-dotnet", "aws-sdk-dotnet"),
        ("terraform", "Terraform"),
        ("cloudformation", "CloudFormation"),
        ("stratus-red-team", "stratus-red-team"),
    ];
    let (mut stack, mut heap) = ([0u8; 256], String::new());
    let lower = ascii_lower(ua, &mut stack, &mut heap);
    if let Some((_, fam)) = KNOWN.iter().find(|(k, _)| lower.contains(k)) {
        return fam;
    }
    if lower.ends_with(".amazonaws.com") {
        return ua;
    }
    let token = ua
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .unwrap_or(ua);
    clip_chars(token, 40)
}

/// `s` lower-cased (ASCII letters only) in `stack` when it fits (user agents are short), else
/// in `heap`.
pub(crate) fn ascii_lower<'b>(s: &str, stack: &'b mut [u8], heap: &'b mut String) -> &'b str {
    if let Some(buf) = stack.get_mut(..s.len()) {
        buf.copy_from_slice(s.as_bytes());
        buf.make_ascii_lowercase();
        if let Ok(lower) = std::str::from_utf8(buf) {
            return lower;
        }
    }
    *heap = s.to_ascii_lowercase();
    heap
}

/// The first `n` characters of `s`.
pub fn clip_chars(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    match s.char_indices().nth(n) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

/// Appends `n` in decimal.
fn push_dec(out: &mut String, n: u8) {
    let (h, t, o) = (n / 100, (n / 10) % 10, n % 10);
    if h > 0 {
        out.push(char::from(b'0' + h));
    }
    if h > 0 || t > 0 {
        out.push(char::from(b'0' + t));
    }
    out.push(char::from(b'0' + o));
}

/// The network of an address for profiles: its `/24` (IPv4) or `/48` (IPv6).
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v) => {
            let [a, b, c, _] = v.octets();
            let mut s = String::with_capacity(18);
            push_dec(&mut s, a);
            s.push('.');
            push_dec(&mut s, b);
            s.push('.');
            push_dec(&mut s, c);
            s.push_str(".0/24");
            s
        }
        IpAddr::V6(v) => {
            let [a, b, c, ..] = v.segments();
            format!("{a:x}:{b:x}:{c:x}::/48")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_bits_shift_and_count() {
        let mut b = DayBits::default();
        b.mark(0);
        b.mark(DAY * 2 + 5);
        b.mark(DAY); // out of order
        assert_eq!(b.count_within(2, 3), 3);
        assert_eq!(b.count_within(2, 1), 1);
        assert_eq!(b.count_within(10, 64), 3);
        assert_eq!(b.count_within(10, 8), 0);
        b.mark(DAY * 200);
        assert_eq!(b.count_within(200, 64), 1);
    }

    #[test]
    fn buckets() {
        let mut u = Usage::default();
        assert_eq!(frequency(None, 30, 30), Frequency::Unseen);
        u.touch(DAY * 3);
        assert_eq!(frequency(Some(&u), 1, 3), Frequency::Frequent);
        assert_eq!(frequency(Some(&u), 30, 29), Frequency::Rare);
        u.touch(DAY * 10);
        assert_eq!(frequency(Some(&u), 30, 29), Frequency::Infrequent);
        for d in 11..29 {
            u.touch(DAY * d);
        }
        assert_eq!(frequency(Some(&u), 30, 29), Frequency::Frequent);
    }

    #[test]
    fn usage_maps_are_capped() {
        let mut m = UsageMap::default();
        for i in 0..100u16 {
            m.touch(i, i64::from(i), 10);
        }
        assert_eq!(m.len(), 10);
        assert!(m.get(&99).is_some());
        assert!(m.get(&0).is_none());
    }

    #[test]
    fn usage_maps_keep_key_order_and_evict_the_oldest_first_in_key_order() {
        let mut m: UsageMap<String> = UsageMap::default();
        for (k, t) in [("c", 5), ("a", 5), ("b", 5), ("d", 9)] {
            m.touch_ref(k, t, 4);
        }
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.starts_with(r#"{"a":"#) && json.contains(r#""d":"#),
            "{json}"
        );
        let back: UsageMap<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        // Full: "a", "b" and "c" were last used at 5; "a" goes first, then "b".
        m.touch_ref("e", 10, 4);
        assert!(m.get("a").is_none() && m.get("b").is_some());
        m.touch("f".to_owned(), 11, 4);
        assert!(m.get("b").is_none() && m.get("c").is_some());
        m.touch_ref("c", 12, 4);
        assert_eq!(m.get("c").map(|u| (u.calls, u.last)), Some((2, 12)));
        assert_eq!(m.len(), 4);
        let ports: UsageMap<u16> = serde_json::from_str(r#"{"443":{"calls":1,"first":1,"last":1,"days":{"day":0,"bits":1}},"22":{"calls":2,"first":1,"last":2,"days":{"day":0,"bits":1}}}"#).unwrap();
        assert_eq!(ports.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [22, 443]);
    }

    #[test]
    fn agent_families() {
        assert_eq!(
            agent_family("aws-cli/2.15.30 Python/3.11 Linux/6 botocore/2"),
            "aws-cli"
        );
        assert_eq!(agent_family("Boto3/1.34.0 md/Botocore#1.34.0"), "Boto3");
        assert_eq!(agent_family("signin.amazonaws.com"), "console");
        assert_eq!(agent_family("curl/8.1"), "curl");
        assert_eq!(agent_family(""), "unknown");
        assert_eq!(agent_family("  AWS-CLI/2 x"), "aws-cli");
        assert_eq!(agent_family(&"x".repeat(300)), "x".repeat(40));
        assert_eq!(agent_family(&format!("{}boto3", "é".repeat(200))), "Boto3");
        assert_eq!(clip_chars("ééé", 2), "éé");
        for ip in ["0.0.0.1", "10.200.3.4", "255.99.100.7"] {
            let v: std::net::Ipv4Addr = ip.parse().unwrap();
            let o = v.octets();
            assert_eq!(
                network_of(IpAddr::V4(v)),
                format!("{}.{}.{}.0/24", o[0], o[1], o[2])
            );
        }
        assert_eq!(
            network_of("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:1:2::1".parse().unwrap()),
            "2001:db8:1::/48"
        );
    }
}
