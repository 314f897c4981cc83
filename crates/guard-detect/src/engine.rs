//! [`Engine`]: runs every detector over a stream of records and keeps the findings.
//!
//! The caller reads inputs and hands over each record with its [`Loc`]ation; the engine
//! keeps no reference to the record. All per-key state lives in
//! [`BoundedMap`](crate::window::BoundedMap)s, so memory is bounded by configuration,
//! not by input.

use std::net::IpAddr;

use portcullis_guard_core::decode::{self, DecodeOptions, InputFormat, Location};
use portcullis_guard_core::intel::ThreatIntel;
use portcullis_guard_core::record::Record;
use serde_json::{Value, json};

use crate::baseline::Baselines;
use crate::config::Config;
use crate::dns::DnsDetectors;
use crate::finding::{Finding, InstanceDetails, NetworkInterface, Resource};
use crate::flow::FlowDetectors;
use crate::store::{Detection, FindingStore};
use crate::trail::TrailDetectors;
use crate::window::BoundedMap;

/// Where a record came from: an input registered with [`Engine::add_input`] and a line
/// (or record index) in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// Input handle.
    pub file: u32,
    /// 1-based line in the input.
    pub line: u32,
    /// 1-based record number inside a JSON array on that line (0 for line formats).
    pub record: u32,
}

/// What [`Engine::ingest`] did with one input.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// The detected format (`None` when the input was not recognised).
    pub format: Option<InputFormat>,
    /// Records decoded and analysed.
    pub records: u64,
    /// Malformed records skipped.
    pub malformed: u64,
    /// `file:line: error` of the first malformed records (at most [`MAX_REPORTED_ERRORS`]).
    pub errors: Vec<String>,
    /// Why the whole input was refused (gzip error, unknown format), if it was.
    pub refused: Option<String>,
}

/// Malformed records reported by location per input.
pub const MAX_REPORTED_ERRORS: usize = 5;

/// What the engine has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// VPC flow records.
    pub flow: u64,
    /// Resolver query records.
    pub dns: u64,
    /// CloudTrail events.
    pub cloudtrail: u64,
    /// Per-key states evicted to stay within bounds.
    pub evicted: u64,
    /// Per-key states currently tracked (all tables).
    pub tracked: usize,
    /// Findings dropped because the store was full.
    pub dropped_findings: u64,
}

/// Read-only context the detectors share.
pub struct Ctx<'e> {
    /// Settings.
    pub cfg: &'e Config,
    /// Threat lists.
    pub intel: &'e ThreatIntel,
    /// Networks inside AWS (parsed `aws_networks`).
    pub aws_networks: &'e [(IpAddr, u8)],
    /// GeoIP/ASN databases, when configured.
    pub geo: Option<&'e crate::geo::GeoLookup>,
    files: &'e [String],
}

impl Ctx<'_> {
    /// `file:line` of a location.
    pub fn loc(&self, loc: Loc) -> String {
        let file = usize::try_from(loc.file)
            .ok()
            .and_then(|i| self.files.get(i))
            .map_or("?", String::as_str);
        if loc.record == 0 {
            format!("{file}:{}", loc.line)
        } else {
            format!("{file}:{}[{}]", loc.line, loc.record)
        }
    }

    /// Whether `ip` is in one of the configured AWS networks.
    pub fn in_aws(&self, ip: IpAddr) -> bool {
        self.aws_networks
            .iter()
            .any(|(net, len)| same_prefix(*net, ip, *len))
    }
}

/// Text of a record that borrows from the input, to locate it.
fn record_text<'r>(rec: &'r Record<'_>) -> Option<&'r str> {
    match rec {
        Record::Flow(f) => Some(f.line),
        Record::CloudTrail(c) => c.raw,
        Record::Dns(d) => match &d.query_name {
            std::borrow::Cow::Borrowed(s) => Some(s),
            std::borrow::Cow::Owned(_) => None,
        },
    }
}

fn same_prefix(a: IpAddr, b: IpAddr, len: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & m == u128::from(b) & m
        }
        _ => false,
    }
}

/// `{ipAddressV4: ...}` or `{ipAddressV6: ...}`.
pub fn ip_details(ip: IpAddr) -> Value {
    match ip {
        IpAddr::V4(v) => json!({ "ipAddressV4": v.to_string() }),
        IpAddr::V6(v) => json!({ "ipAddressV6": v.to_string() }),
    }
}

/// An `Instance` resource for a private address (and interface / instance when known).
pub fn instance_resource(
    ip: IpAddr,
    eni: Option<&str>,
    instance: Option<&str>,
    vpc: Option<&str>,
) -> Resource {
    Resource {
        resource_type: "Instance".into(),
        instance_details: Some(InstanceDetails {
            instance_id: instance.map(str::to_owned),
            network_interfaces: vec![NetworkInterface {
                network_interface_id: eni.map(str::to_owned),
                private_ip_address: Some(ip.to_string()),
                vpc_id: vpc.map(str::to_owned),
            }],
        }),
        ..Resource::default()
    }
}

/// The detection engine.
pub struct Engine {
    cfg: Config,
    intel: ThreatIntel,
    aws_networks: Vec<(IpAddr, u8)>,
    files: Vec<String>,
    store: FindingStore,
    flow: FlowDetectors,
    dns: DnsDetectors,
    trail: TrailDetectors,
    baseline: Baselines,
    instances: BoundedMap<IpAddr, String>,
    stats: EngineStats,
    out: Vec<Detection>,
    clock: i64,
    sigma: Option<crate::sigma::SigmaDetector>,
    geo: Option<crate::geo::GeoLookup>,
}

impl Engine {
    /// An engine with these settings and threat lists.
    pub fn new(cfg: Config, intel: ThreatIntel) -> Self {
        let aws_networks = cfg
            .aws_networks
            .iter()
            .filter_map(|c| {
                let (a, l) = c.split_once('/').unwrap_or((c.as_str(), ""));
                let ip: IpAddr = a.trim().parse().ok()?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let len = if l.is_empty() { max } else { l.parse().ok()? };
                (len <= max).then_some((ip, len))
            })
            .collect();
        Self {
            store: FindingStore::new(
                &cfg.detector_id,
                &cfg.default_account,
                &cfg.default_region,
                cfg.max_findings,
            ),
            flow: FlowDetectors::new(&cfg),
            dns: DnsDetectors::new(&cfg),
            trail: TrailDetectors::new(&cfg),
            baseline: Baselines::new(&cfg),
            instances: BoundedMap::new(cfg.max_tracked_keys, i64::MAX),
            aws_networks,
            files: Vec::new(),
            stats: EngineStats::default(),
            out: Vec::new(),
            clock: 0,
            sigma: None,
            geo: None,
            intel,
            cfg,
        }
    }

    /// Also runs these Sigma rules on every CloudTrail event.
    pub fn with_sigma(mut self, rules: portcullis_guard_sigma::RuleSet) -> Self {
        self.sigma = Some(crate::sigma::SigmaDetector::new(rules));
        self
    }

    /// Adds GeoIP/ASN details to findings' remote addresses (and keys the identity profiles'
    /// networks by ASN when an ASN database is given).
    pub fn with_geo(mut self, geo: crate::geo::GeoLookup) -> Self {
        self.geo = (!geo.is_empty()).then_some(geo);
        self
    }

    /// Registers an input name (shown in source locations) and returns its handle.
    pub fn add_input(&mut self, name: &str) -> u32 {
        self.files.push(name.to_owned());
        u32::try_from(self.files.len() - 1).unwrap_or(u32::MAX)
    }

    /// Runs every detector on one record.
    pub fn observe(&mut self, rec: &Record<'_>, loc: Loc) {
        let ctx = Ctx {
            cfg: &self.cfg,
            intel: &self.intel,
            aws_networks: &self.aws_networks,
            geo: self.geo.as_ref(),
            files: &self.files,
        };
        match rec {
            Record::Flow(f) => {
                self.stats.flow += 1;
                let t = f.end.or(f.start).and_then(|t| i64::try_from(t).ok());
                let t = t.unwrap_or(self.clock);
                self.clock = self.clock.max(t);
                if let Some(id) = f.instance_id
                    && let Some(ip) = f.srcaddr.or(f.dstaddr)
                    && !portcullis_guard_core::intel::is_public(ip)
                {
                    self.instances.entry(ip, t, || id.to_owned());
                }
                if let Some(ends) = crate::flow::Endpoints::of(f) {
                    self.flow.observe(f, &ends, t, loc, &ctx, &mut self.out);
                    crate::baseline::network::observe(
                        &mut self.baseline,
                        f,
                        &ends,
                        t,
                        loc,
                        &ctx,
                        &mut self.out,
                    );
                }
            }
            Record::Dns(d) => {
                self.stats.dns += 1;
                let t = d
                    .query_timestamp
                    .as_deref()
                    .and_then(crate::time::parse_iso)
                    .unwrap_or(self.clock);
                self.clock = self.clock.max(t);
                if let (Some(id), Some(ip)) = (d.srcids.instance.as_deref(), d.src_ip()) {
                    self.instances.entry(ip, t, || id.to_owned());
                }
                self.dns.observe(d, t, loc, &ctx, &mut self.out);
            }
            Record::CloudTrail(c) => {
                self.stats.cloudtrail += 1;
                let t = c
                    .event_time
                    .as_deref()
                    .and_then(crate::time::parse_iso)
                    .unwrap_or(self.clock);
                self.clock = self.clock.max(t);
                self.trail
                    .observe(c, t, loc, &ctx, &self.baseline, &mut self.out);
                let e = crate::trail::Event::of(c, t, loc);
                crate::baseline::identity::observe(&mut self.baseline, &e, &ctx, &mut self.out);
                if let Some(sigma) = self.sigma.as_mut() {
                    sigma.observe(c, t, loc, &ctx, &mut self.out);
                }
            }
        }
        if !self.out.is_empty() {
            for d in self.out.drain(..) {
                self.store.upsert(d);
            }
        }
    }

    /// Decodes one input (gzip or not, format detected) and runs every record through the
    /// detectors; malformed records are counted and skipped.
    pub fn ingest(&mut self, name: &str, bytes: &[u8], opts: &DecodeOptions) -> IngestReport {
        let file = self.add_input(name);
        self.ingest_chunk(file, 1, bytes, opts)
    }

    /// [`Engine::ingest`] for a piece of an input registered once with
    /// [`Engine::add_input`] (a followed file read chunk by chunk): `first_line` is the
    /// 1-based line of the input the chunk starts at, so locations stay those of the file.
    pub fn ingest_chunk(
        &mut self,
        file: u32,
        first_line: u32,
        bytes: &[u8],
        opts: &DecodeOptions,
    ) -> IngestReport {
        let mut report = IngestReport::default();
        let name = usize::try_from(file)
            .ok()
            .and_then(|i| self.files.get(i))
            .cloned()
            .unwrap_or_else(|| "?".to_owned());
        let base_line = first_line.max(1) - 1;
        let text = match decode::prepare(bytes, opts.max_decompressed) {
            Ok(t) => t,
            Err(e) => {
                report.refused = Some(e.to_string());
                return report;
            }
        };
        let to_loc = |l: Location| match l {
            Location::Line(n) => Loc {
                file,
                line: u32::try_from(n)
                    .unwrap_or(u32::MAX)
                    .saturating_add(base_line),
                record: 0,
            },
            Location::Record { line, index } => Loc {
                file,
                line: u32::try_from(line)
                    .unwrap_or(u32::MAX)
                    .saturating_add(base_line),
                record: u32::try_from(index + 1).unwrap_or(u32::MAX),
            },
        };
        let base = text.as_ptr() as usize;
        let (mut cursor, mut line) = (0usize, base_line.saturating_add(1));
        let mut index = 0u32;
        let result = decode::decode_each_ref(&text, opts, |r| match r {
            Ok(rec) => {
                // The line of a record: from where its text sits in the input (records
                // borrow from it), counting newlines incrementally as records come in order.
                let at = record_text(rec).map(|s| (s.as_ptr() as usize).wrapping_sub(base));
                if let Some(off) = at.filter(|o| *o >= cursor && *o <= text.len()) {
                    let skipped = text.get(cursor..off).unwrap_or_default();
                    line += match skipped {
                        // The next flow line, right after the last one.
                        b"\n" => 1,
                        _ => {
                            u32::try_from(memchr::memchr_iter(b'\n', skipped).count()).unwrap_or(0)
                        }
                    };
                    // A flow record is one line: the next one starts after it, so only
                    // its line end is left to count. Others may span lines.
                    cursor = match rec {
                        Record::Flow(f) => off + f.line.len(),
                        _ => off,
                    };
                }
                index += 1;
                let record = if matches!(rec, Record::CloudTrail(_)) {
                    index
                } else {
                    0
                };
                self.observe(rec, Loc { file, line, record });
                report.records += 1;
            }
            Err(e) => {
                report.malformed += 1;
                if report.errors.len() < MAX_REPORTED_ERRORS {
                    let l = to_loc(e.location);
                    let at = if l.record == 0 {
                        format!("{name}:{}", l.line)
                    } else {
                        format!("{name}:{}[{}]", l.line, l.record)
                    };
                    report.errors.push(format!("{at}: {}", e.error));
                }
            }
        });
        match result {
            Ok(format) => report.format = Some(format),
            Err(e) => report.refused = Some(e.to_string()),
        }
        report
    }

    /// The findings so far (most severe first), instance IDs filled in where a flow
    /// (v3+ `instance-id`) or a Resolver record (`srcids.instance`) named the address.
    pub fn findings(&mut self) -> Vec<Finding> {
        for f in self.store.findings_mut() {
            if let Some(geo) = self.geo.as_ref() {
                let a = &mut f.service.action;
                for v in [
                    &mut a.network_connection_action,
                    &mut a.port_probe_action,
                    &mut a.aws_api_call_action,
                ]
                .into_iter()
                .flatten()
                {
                    geo.enrich(v);
                }
            }
            if let Some(details) = f.resource.instance_details.as_mut()
                && details.instance_id.is_none()
                && let Some(ip) = details
                    .network_interfaces
                    .first()
                    .and_then(|n| n.private_ip_address.as_deref())
                    .and_then(|s| s.parse::<IpAddr>().ok())
                && let Some(id) = self.instances.get(&ip)
            {
                details.instance_id = Some(id.clone());
            }
        }
        self.store.findings().into_iter().cloned().collect()
    }

    /// The learned profiles (to persist them, see [`Baselines::take_dirty`]).
    pub fn baselines(&self) -> &Baselines {
        &self.baseline
    }

    /// The learned profiles, to restore stored ones or take the changed ones.
    pub fn baselines_mut(&mut self) -> &mut Baselines {
        &mut self.baseline
    }

    /// The threat lists in use.
    pub fn intel(&self) -> &ThreatIntel {
        &self.intel
    }

    /// Replaces the threat lists (built by the caller off the hot path); the next record is
    /// matched against the new ones. Returns the old lists, so the caller can drop them
    /// outside any lock it holds.
    pub fn set_intel(&mut self, intel: ThreatIntel) -> ThreatIntel {
        std::mem::replace(&mut self.intel, intel)
    }

    /// Number of findings so far.
    pub fn finding_count(&self) -> usize {
        self.store.len()
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        let (fe, ft) = self.flow.state();
        let (de, dt) = self.dns.state();
        let (te, tt) = self.trail.state();
        let (be, bt) = self.baseline.state();
        EngineStats {
            evicted: fe + de + te + be + self.instances.evicted(),
            tracked: ft + dt + tt + bt + self.instances.len(),
            dropped_findings: self.store.dropped(),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_one_input_keep_the_input_line_numbers() {
        let mut e = Engine::new(Config::default(), ThreatIntel::new());
        let file = e.add_input("flow.log");
        let good = "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1000 22 6 1 40 1700000000 1700000060 ACCEPT OK\n";
        let first = format!("{good}{good}");
        let r = e.ingest_chunk(file, 1, first.as_bytes(), &DecodeOptions::default());
        assert_eq!((r.records, r.malformed), (2, 0));
        let second = format!("{good}2 not a flow line\n");
        let r = e.ingest_chunk(file, 3, second.as_bytes(), &DecodeOptions::default());
        assert_eq!((r.records, r.malformed), (1, 1));
        assert!(r.errors[0].starts_with("flow.log:4:"), "{:?}", r.errors);
        // One input registered, however many chunks.
        assert_eq!(e.files.len(), 1);
    }
}
