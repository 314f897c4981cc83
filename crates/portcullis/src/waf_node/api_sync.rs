//! Web ACLs associated with listeners through the WAFv2 API (`AssociateWebACL`): the node polls the store's WAF
//! revision and, when it moves, recompiles the web ACL of every listener and applies its logging configuration.
//!
//! An API association takes precedence over the listener's `web_acl` file; `DisassociateWebACL` returns the
//! listener to its file (or to allowing everything).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_waf_api::{ResolvedAcl, SampleSource, WafApi, listener_arn};
use portcullis_waf_core::CompiledAcl;
use portcullis_waf_core::rate::RateCounter;
use portcullis_waf_core::rate_keys::ManagedKeys;
use portcullis_waf_proxy::{FileSink, LogSink, Logging, Samples};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::Slot;
use super::acl_file::AclContext;
use super::groups::{CRS_NAME, CRS_VENDOR, references_crs};
use super::nats_log::NatsSink;
use super::reload::Slots;
use portcullis_config::WafLog;

/// How often the store's WAF revision is read: changes made through the API apply within this bound.
pub const API_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What the node needs to find its listeners' associations.
#[derive(Clone)]
pub struct ApiLink {
    /// The WAFv2 API state (same store as the API listener).
    pub api: WafApi,
    /// The region in listener ARNs.
    pub region: String,
    /// The account in listener ARNs.
    pub account: String,
    /// Where `PutLoggingConfiguration` destinations are written: `<dir>/<destination name>.log`.
    pub log_dir: PathBuf,
}

/// `[waf.log_destinations]`: destination names that publish to NATS.
pub type Destinations = BTreeMap<String, WafLog>;

/// The open log sinks, by target (`file:PATH` or `nats:URL/SUBJECT`), shared by every web ACL logging there.
struct Sinks {
    open: HashMap<String, Arc<dyn LogSink>>,
    destinations: Destinations,
}

impl Sinks {
    /// The sink of destination ARN `dest` and a description of where it goes: the NATS subject that
    /// `[waf.log_destinations]` names for it, else `<log_dir>/<name>.log`. `None` (logged) when it cannot be opened.
    async fn get(&mut self, log_dir: &Path, dest: &str) -> Option<(Arc<dyn LogSink>, String)> {
        if let Some(WafLog::Nats { url, subject }) = self.destinations.get(&destination_name(dest))
        {
            let key = format!("nats:{url}/{subject}");
            if let Some(s) = self.open.get(&key) {
                return Some((Arc::clone(s), key));
            }
            return match NatsSink::start(url, subject).await {
                Ok(s) => {
                    let s: Arc<dyn LogSink> = Arc::new(s);
                    self.open.insert(key.clone(), Arc::clone(&s));
                    Some((s, key))
                }
                Err(e) => {
                    tracing::error!(destination = %dest, error = %e, "connecting the WAF log destination to NATS failed");
                    None
                }
            };
        }
        let path = destination_file(log_dir, dest);
        let key = format!("file:{}", path.display());
        if let Some(s) = self.open.get(&key) {
            return Some((Arc::clone(s), key));
        }
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            tracing::error!(dir = %dir.display(), error = %e, "creating the WAF log directory failed");
            return None;
        }
        match FileSink::open(&path) {
            Ok(s) => {
                let s: Arc<dyn LogSink> = Arc::new(s);
                self.open.insert(key.clone(), Arc::clone(&s));
                Some((s, key))
            }
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "opening the WAF log file failed");
                None
            }
        }
    }
}

/// Compiles an API-managed web ACL with the built-in managed groups, the resources it references and CRS.
pub fn compile(resolved: &ResolvedAcl, cx: &AclContext) -> Result<CompiledAcl, String> {
    let mut res = cx.base.clone();
    for s in &resolved.ip_sets {
        res.add_ip_set(s.clone());
    }
    for s in &resolved.regex_pattern_sets {
        let arn = s.arn.clone().unwrap_or_default();
        res.add_regex_pattern_set(&arn, s.clone());
    }
    for g in &resolved.rule_groups {
        res.add_rule_group(g.clone());
    }
    if references_crs(&resolved.web_acl.to_json()) {
        res.add_managed_group(CRS_VENDOR, CRS_NAME, cx.crs.get()?);
    }
    CompiledAcl::compile(&resolved.web_acl, &res).map_err(|e| e.to_string())
}

/// The file a logging destination ARN (`arn:aws:logs:…:log-group:aws-waf-logs-x`, a Firehose stream or an S3
/// bucket, whose names AWS requires to start with `aws-waf-logs-`) is written to.
pub fn destination_file(dir: &std::path::Path, arn: &str) -> PathBuf {
    dir.join(format!("{}.log", destination_name(arn)))
}

/// The name of a logging destination ARN (its last part), reduced to `[A-Za-z0-9._-]`: the key of
/// `[waf.log_destinations]` and the file name under `log_dir`.
pub fn destination_name(arn: &str) -> String {
    let name = arn
        .rsplit([':', '/'])
        .find(|s| !s.is_empty() && *s != "*")
        .unwrap_or("aws-waf-logs");
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Polls the API state until `stop`, applying associations to `slots` (the current listeners: a configuration
/// reload may add or remove some, which re-applies every association).
pub async fn run(
    link: ApiLink,
    slots: Slots,
    cx: Arc<AclContext>,
    rate: Arc<dyn RateCounter>,
    logging: Logging,
    destinations: Destinations,
    mut stop: watch::Receiver<bool>,
) {
    let mut seen: Option<(u64, Vec<String>)> = None;
    let mut sinks = Sinks {
        open: HashMap::new(),
        destinations,
    };
    loop {
        let current: Vec<Arc<Slot>> = slots.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let names: Vec<String> = current.iter().map(|s| s.name.clone()).collect();
        match link.api.revision().await {
            Ok(rev) if seen.as_ref() != Some(&(rev, names.clone())) => {
                if apply_all(&link, &current, &cx, &rate, &logging, &mut sinks).await {
                    seen = Some((rev, names));
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reading the WAF revision failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(API_POLL_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Applies every listener's association; false when the store could not be read (try again next time).
async fn apply_all(
    link: &ApiLink,
    slots: &[Arc<Slot>],
    cx: &Arc<AclContext>,
    rate: &Arc<dyn RateCounter>,
    logging: &Logging,
    sinks: &mut Sinks,
) -> bool {
    for slot in slots {
        // A listener made through the ELBv2 API enforces the web ACL of its load balancer.
        let resource = super::elb::association_arn(&slot.name)
            .unwrap_or_else(|| listener_arn(&link.region, &link.account, &slot.name));
        let resolved = match link.api.web_acl_for_resource(&resource).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(listener = %slot.name, error = %e, "reading the listener's web ACL association failed");
                return false;
            }
        };
        let Some(resolved) = resolved else {
            if let Some(old) = slot.set_api(None) {
                logging.delete(&old);
                tracing::info!(listener = %slot.name, acl = %old, "web ACL disassociated");
            }
            continue;
        };
        let arn = resolved.web_acl.arn.clone();
        let compiled = {
            let cx = Arc::clone(cx);
            let r = resolved.clone();
            tokio::task::spawn_blocking(move || compile(&r, &cx)).await
        };
        match compiled {
            Ok(Ok(acl)) => {
                let inspector = cx.inspector(acl, rate, &resolved.web_acl);
                slot.api_swap(Arc::new(inspector), &arn);
                tracing::info!(listener = %slot.name, acl = %arn, "web ACL from the API applied");
            }
            Ok(Err(e)) => {
                tracing::error!(listener = %slot.name, acl = %arn, error = %e, "web ACL from the API does not compile; keeping the running one");
            }
            Err(e) => {
                tracing::error!(listener = %slot.name, error = %e, "compiling the web ACL failed")
            }
        }
        match link.api.logging_configuration(&arn).await {
            Ok(Some(cfg)) => apply_logging(link, logging, sinks, &arn, &cfg).await,
            Ok(None) => {
                logging.delete(&arn);
            }
            Err(e) => {
                tracing::warn!(acl = %arn, error = %e, "reading the logging configuration failed")
            }
        }
    }
    true
}

async fn apply_logging(
    link: &ApiLink,
    logging: &Logging,
    sinks: &mut Sinks,
    arn: &str,
    cfg: &Value,
) {
    let cfg = cfg.get("LoggingConfiguration").unwrap_or(cfg);
    let Some(dest) = cfg
        .get("LogDestinationConfigs")
        .and_then(|d| d.get(0))
        .and_then(Value::as_str)
    else {
        return;
    };
    let Some((sink, target)) = sinks.get(&link.log_dir, dest).await else {
        return;
    };
    match logging.put_json(cfg, sink) {
        Ok(()) => {
            tracing::info!(acl = %arn, destination = %target, "WAF logging configured");
        }
        Err(e) => tracing::error!(acl = %arn, error = %e, "logging configuration refused"),
    }
}

/// `GetSampledRequests` reads the proxy's sample buffers.
pub struct ProxySamples {
    /// The proxy's sample buffers.
    pub samples: Samples,
    /// The addresses rate-based rules limit.
    pub keys: Arc<ManagedKeys>,
    /// The counter those rules count in (to tell which addresses are still over their limit).
    pub rate: Arc<dyn RateCounter>,
}

impl SampleSource for ProxySamples {
    fn sampled(
        &self,
        web_acl_arn: &str,
        rule_metric_name: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
        max_items: u32,
    ) -> (Vec<Value>, u64) {
        self.samples.query(
            web_acl_arn,
            rule_metric_name,
            to_system(start),
            to_system(end),
            usize::try_from(max_items).unwrap_or(usize::MAX),
        )
    }

    fn managed_keys(
        &self,
        web_acl_arn: &str,
        rule_group_rule: Option<&str>,
        rule: &str,
    ) -> Vec<std::net::IpAddr> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.keys.addresses(
            web_acl_arn,
            rule_group_rule,
            rule,
            self.rate.as_ref(),
            now_ms,
        )
    }
}

fn to_system(t: OffsetDateTime) -> SystemTime {
    let nanos = t.unix_timestamp_nanos();
    match u64::try_from(nanos) {
        Ok(n) => UNIX_EPOCH + Duration::from_nanos(n),
        Err(_) => UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_map_to_files_named_after_them() {
        let dir = std::path::Path::new("/d");
        assert_eq!(
            destination_file(
                dir,
                "arn:aws:logs:us-east-1:000000000000:log-group:aws-waf-logs-site"
            ),
            PathBuf::from("/d/aws-waf-logs-site.log")
        );
        assert_eq!(
            destination_file(
                dir,
                "arn:aws:logs:us-east-1:000000000000:log-group:aws-waf-logs-site:*"
            ),
            PathBuf::from("/d/aws-waf-logs-site.log")
        );
        assert_eq!(
            destination_file(
                dir,
                "arn:aws:firehose:us-east-1:000000000000:deliverystream/aws-waf-logs-x"
            ),
            PathBuf::from("/d/aws-waf-logs-x.log")
        );
        assert_eq!(
            destination_file(dir, "arn:aws:s3:::aws-waf-logs-bucket/../../etc"),
            PathBuf::from("/d/etc.log")
        );
    }
}
