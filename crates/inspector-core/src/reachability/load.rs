//! Loading `describe-*` JSON into a [`Network`].

use std::collections::BTreeMap;

use super::ReachabilityError;
use super::model::DescribeOutput;

/// Largest JSON document accepted by the loaders (256 MiB).
pub const MAX_INPUT_BYTES: usize = 256 << 20;

/// A network description: the merged bodies of the `describe-*` calls.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// All resources, merged.
    pub resources: DescribeOutput,
}

fn check_size(bytes: &[u8]) -> Result<(), ReachabilityError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ReachabilityError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

impl Network {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps already-built resources.
    pub fn from_resources(resources: DescribeOutput) -> Self {
        Self { resources }
    }

    /// Loads a snapshot object whose keys name describe calls (`"DescribeVpcs"`, …) and whose
    /// values are those calls' bodies; keys not starting with `Describe` (e.g. `_comment`) are
    /// ignored. A value may also be a list of bodies (pages).
    pub fn from_snapshot_json(bytes: &[u8]) -> Result<Self, ReachabilityError> {
        check_size(bytes)?;
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_slice(bytes)?;
        let mut net = Self::new();
        for (key, value) in map {
            if !key.starts_with("Describe") {
                continue;
            }
            let pages = match value {
                serde_json::Value::Array(pages) => pages,
                other => vec![other],
            };
            for page in pages {
                let out: DescribeOutput = serde_json::from_value(page)?;
                net.merge(out);
            }
        }
        Ok(net)
    }

    /// Adds the body of one describe call (`{"Vpcs": [...]}`, `{"Reservations": [...]}`, …).
    pub fn add_describe_json(&mut self, bytes: &[u8]) -> Result<(), ReachabilityError> {
        check_size(bytes)?;
        let out: DescribeOutput = serde_json::from_slice(bytes)?;
        self.merge(out);
        Ok(())
    }

    /// Appends every resource of `out`.
    pub fn merge(&mut self, out: DescribeOutput) {
        let r = &mut self.resources;
        r.vpcs.extend(out.vpcs);
        r.subnets.extend(out.subnets);
        r.internet_gateways.extend(out.internet_gateways);
        r.nat_gateways.extend(out.nat_gateways);
        r.vpc_peering_connections
            .extend(out.vpc_peering_connections);
        r.route_tables.extend(out.route_tables);
        r.network_acls.extend(out.network_acls);
        r.security_groups.extend(out.security_groups);
        r.network_interfaces.extend(out.network_interfaces);
        r.reservations.extend(out.reservations);
    }
}
