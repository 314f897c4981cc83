//! `NETWORK_REACHABILITY` findings: an account's imported network description (the EC2
//! `describe-*` snapshot) analysed once at import, combined per instance with the listeners of
//! the agent that reports that instance id.
//!
//! - Importing replaces the account's description and re-evaluates every instance it names
//!   and every instance that had network findings (instances gone from the description get
//!   their findings closed).
//! - An agent report whose listeners or instance id changed re-evaluates that instance (and
//!   the instance it reported before, which falls back to `RecognizedPortNoAgent`).
//! - Findings are stored under the owner `~net~{instanceId}`; their resource id is the
//!   instance id. The finding type of the Network Reachability package (reference §1.5),
//!   which Inspector2's model has no member for, leads the `title`
//!   (`RecognizedPortWithListener: port 22 (SSH) …`), so a `title` PREFIX filter selects it.
//! - Package findings' scores are left as they are: the reference says the adjustment rules
//!   are not published.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_inspector_core::inventory::{CloudIdentity, Listener};
use portcullis_inspector_core::reachability::{
    Network, NetworkFinding, NetworkFindingType, ReachabilityRoute, analyze, classify,
};
use portcullis_store::WriteOp;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{InspectorApiError, Result};
use crate::evaluate::Observed;
use crate::ingest::meta_of;
use crate::state::{Host, InspectorApi, InstanceInfo, NetworkRecord, collections as c, cond_of};

/// The owner segment of an instance's network findings.
pub fn owner_of(instance_id: &str) -> String {
    format!("~net~{instance_id}")
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// Instances in the description.
    pub instances: usize,
    /// Reachable (ENI, security group, route, protocol, range) entries.
    pub reachable_ranges: usize,
    /// Findings written (opened, updated or closed).
    pub findings_written: usize,
}

/// Analyses a snapshot into the record stored for the account.
pub fn record_of(bytes: &[u8], region: &str, now: f64) -> Result<NetworkRecord> {
    let net = Network::from_snapshot_json(bytes).map_err(|e| {
        InspectorApiError::cannot_parse(format!("The body is not a network description: {e}"))
    })?;
    let report = analyze(&net);
    let mut instances: BTreeMap<String, InstanceInfo> = BTreeMap::new();
    for i in net.resources.reservations.iter().flat_map(|r| &r.instances) {
        let mut ipv4: Vec<String> = i
            .private_ip_address
            .iter()
            .chain(i.public_ip_address.iter())
            .cloned()
            .collect();
        for eni in &i.network_interfaces {
            ipv4.extend(eni.private_ip_address.iter().cloned());
            ipv4.extend(eni.association.iter().filter_map(|a| a.public_ip.clone()));
        }
        ipv4.sort();
        ipv4.dedup();
        instances.insert(
            i.instance_id.clone(),
            InstanceInfo {
                instance_id: i.instance_id.clone(),
                vpc_id: i.vpc_id.clone(),
                subnet_id: i.subnet_id.clone(),
                ipv4,
            },
        );
    }
    for f in &report.findings {
        if let Some(id) = &f.instance_id {
            instances.entry(id.clone()).or_insert_with(|| InstanceInfo {
                instance_id: id.clone(),
                ..InstanceInfo::default()
            });
        }
    }
    Ok(NetworkRecord {
        region: region.to_owned(),
        imported_at: now,
        sha256: hex::encode(Sha256::digest(bytes)),
        instances: instances
            .into_values()
            .filter(|i| CloudIdentity::valid_instance_id(&i.instance_id))
            .collect(),
        reachable: report.findings,
    })
}

fn route_text(r: &ReachabilityRoute) -> String {
    match r {
        ReachabilityRoute::Internet {
            internet_gateway_id,
        } => format!("the internet through {internet_gateway_id}"),
        ReachabilityRoute::PeeredVpc {
            vpc_peering_connection_id,
            peer_vpc_id,
        } => format!("peered VPC {peer_vpc_id} through {vpc_peering_connection_id}"),
    }
}

/// The finding body of one classified finding.
pub fn finding_body(f: &NetworkFinding, info: &InstanceInfo, region: &str) -> Observed {
    let r = &f.reachability;
    let d = &r.network_reachability_details;
    let proto = d.protocol.as_str();
    let (b, e) = (d.open_port_range.begin, d.open_port_range.end);
    let ports = if b == e {
        format!("port {b}")
    } else {
        format!("port range {b}-{e}")
    };
    let svc = if f.services.is_empty() {
        String::new()
    } else {
        format!(" ({})", f.services.join(", "))
    };
    let from = route_text(&r.route);
    let t = f.finding_type.as_str();
    let by = f
        .process
        .as_deref()
        .map(|p| format!(" by {p}"))
        .unwrap_or_default();
    let (what, fix) = match f.finding_type {
        NetworkFindingType::RecognizedPortWithListener => (
            format!("and a process listens on it{by}"),
            "Restrict the security group and network ACL to the sources that need the service, or stop the service if it should not be exposed.",
        ),
        NetworkFindingType::RecognizedPortNoListener => (
            "but the agent sees nothing listening on it".to_owned(),
            "Close the port in the security group: nothing uses it, and a service started later would be exposed at once.",
        ),
        NetworkFindingType::RecognizedPortNoAgent => (
            "and no agent reports for the instance, so whether anything listens is unknown"
                .to_owned(),
            "Restrict the security group and network ACL, or install the agent to learn whether a process listens.",
        ),
        NetworkFindingType::UnrecognizedPortWithListener => (
            format!("and a process listens on it{by}"),
            "Restrict the security group and network ACL to the sources that need the service.",
        ),
        NetworkFindingType::NetworkExposure => (
            "(all reachable ranges are reported as exposure)".to_owned(),
            "Review whether the range must be open; restrict the security group's rule otherwise.",
        ),
    };
    let title = format!("{t}: {ports}{svc} is reachable from {from} - {proto}");
    let description = format!(
        "On instance {}, {proto} {ports}{svc} of network interface {} is reachable from {from} through security group {} {what}.",
        info.instance_id, r.network_interface_id, r.security_group_id
    );
    let mut ec2 = Map::new();
    if let Some(v) = &info.vpc_id {
        ec2.insert("vpcId".into(), json!(v));
    }
    if let Some(s) = &info.subnet_id {
        ec2.insert("subnetId".into(), json!(s));
    }
    if !info.ipv4.is_empty() {
        ec2.insert("ipV4Addresses".into(), json!(info.ipv4));
    }
    let mut body = Map::new();
    body.insert("type".into(), json!("NETWORK_REACHABILITY"));
    body.insert("title".into(), json!(title));
    body.insert("description".into(), json!(description));
    body.insert(
        "remediation".into(),
        json!({"recommendation": {"text": fix}}),
    );
    body.insert("severity".into(), json!(f.severity.as_str()));
    body.insert(
        "resources".into(),
        json!([{"type": "AWS_EC2_INSTANCE", "id": info.instance_id, "partition": "aws",
                "region": region, "details": {"awsEc2Instance": ec2}}]),
    );
    body.insert(
        "networkReachabilityDetails".into(),
        serde_json::to_value(d).unwrap_or(Value::Null),
    );
    Observed { key: f.key(), body }
}

impl InspectorApi {
    /// The account's network description, if one was imported.
    pub async fn network_of(&self, account: &str) -> Result<Option<NetworkRecord>> {
        Ok(self
            .get::<NetworkRecord>(c::NETWORKS, account)
            .await?
            .map(|v| v.value))
    }

    /// The writes that bring `instance_id`'s network findings in line with `record` and the
    /// agent's listeners (`None`: no agent reports for it).
    async fn network_ops(
        &self,
        account: &str,
        record: Option<&NetworkRecord>,
        instance_id: &str,
        listeners: Option<&[Listener]>,
        now: f64,
    ) -> Result<Vec<WriteOp>> {
        let observed = match record {
            Some(rec) => {
                let info = rec
                    .instances
                    .iter()
                    .find(|i| i.instance_id == instance_id)
                    .cloned()
                    .unwrap_or_else(|| InstanceInfo {
                        instance_id: instance_id.to_owned(),
                        ..InstanceInfo::default()
                    });
                classify(&rec.reachable, instance_id, listeners)
                    .iter()
                    .map(|f| finding_body(f, &info, &rec.region))
                    .collect()
            }
            None => Vec::new(),
        };
        let region = record.map_or("us-east-1", |r| r.region.as_str());
        self.reconcile_owner(account, region, &owner_of(instance_id), observed, true, now)
            .await
    }

    /// Network finding writes after `host` reported: its (new) instance with its listeners,
    /// and the instance it reported before (now without an agent) if that changed.
    pub(crate) async fn network_ops_for_host(
        &self,
        host: &Host,
        before: Option<(Option<CloudIdentity>, Vec<Listener>)>,
        now: f64,
    ) -> Result<Vec<WriteOp>> {
        let old_id = before.and_then(|(c, _)| c).map(|c| c.instance_id);
        let new_id = host.cloud.as_ref().map(|c| c.instance_id.clone());
        if old_id.is_none() && new_id.is_none() {
            return Ok(Vec::new());
        }
        let record = self.network_of(&host.account).await?;
        let mut ops = Vec::new();
        if let Some(id) = &new_id {
            ops.extend(
                self.network_ops(
                    &host.account,
                    record.as_ref(),
                    id,
                    Some(&host.inventory.listeners),
                    now,
                )
                .await?,
            );
        }
        if let Some(old) = old_id.filter(|o| Some(o) != new_id.as_ref()) {
            ops.extend(
                self.network_ops(&host.account, record.as_ref(), &old, None, now)
                    .await?,
            );
        }
        Ok(ops)
    }

    /// Imports (replaces) the account's network description and re-evaluates its instances.
    pub async fn import_network(
        &self,
        account: &str,
        region: &str,
        bytes: &[u8],
        now: f64,
    ) -> Result<ImportSummary> {
        let record = record_of(bytes, region, now)?;
        let stored = self.get::<NetworkRecord>(c::NETWORKS, account).await?;
        // Every instance to look at: the new description's, and those with findings.
        let mut instances: BTreeSet<String> = record
            .instances
            .iter()
            .map(|i| i.instance_id.clone())
            .collect();
        for (_, v) in self
            .list::<Value>(c::FINDINGS, &format!("{account}/~net~"))
            .await?
        {
            if let Some(m) = meta_of(&v.value).filter(|m| m.open)
                && let Some(id) = m.agent_id.strip_prefix("~net~")
            {
                instances.insert(id.to_owned());
            }
        }
        // The agent of each instance: the host reporting it most recently.
        let mut agents: BTreeMap<String, Host> = BTreeMap::new();
        for (_, h) in self.list::<Host>(c::HOSTS, &format!("{account}/")).await? {
            let h = h.value;
            let Some(id) = h.cloud.as_ref().map(|c| c.instance_id.clone()) else {
                continue;
            };
            if agents
                .get(&id)
                .is_none_or(|cur| cur.last_report_at < h.last_report_at)
            {
                agents.insert(id, h);
            }
        }
        let mut ops = Vec::new();
        for id in &instances {
            let listeners = agents.get(id).map(|h| h.inventory.listeners.as_slice());
            ops.extend(
                self.network_ops(account, Some(&record), id, listeners, now)
                    .await?,
            );
        }
        let summary = ImportSummary {
            instances: record.instances.len(),
            reachable_ranges: record.reachable.len(),
            findings_written: ops.len(),
        };
        let doc = serde_json::to_value(&record)
            .map_err(|e| InspectorApiError::Internal(format!("network does not encode: {e}")))?;
        ops.push(WriteOp::put(
            c::NETWORKS,
            account,
            doc,
            cond_of(stored.map_or(0, |s| s.version)),
        ));
        for chunk in ops.chunks(500) {
            self.store.write_batch(chunk).await?;
        }
        Ok(summary)
    }
}
