//! What is stored: load balancers, target groups, listeners and rules of one account and region, kept together in
//! one [`World`] document so that every check across them (a listener's port, a target group in use, a rule's
//! priority) and every cascade (deleting a load balancer deletes its listeners and rules) is one atomic write.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Tags of a resource.
pub type Tags = BTreeMap<String, String>;

/// Everything of one account in one region.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct World {
    /// Load balancers, in creation order.
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    /// Target groups, in creation order.
    #[serde(default)]
    pub target_groups: Vec<TargetGroup>,
    /// Listeners, in creation order.
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// Rules other than the listeners' default rules, in creation order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// An application load balancer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadBalancer {
    /// `LoadBalancerArn`.
    pub arn: String,
    /// `LoadBalancerName`.
    pub name: String,
    /// The 16-hex-digit id at the end of the ARN.
    pub id: String,
    /// `DNSName`.
    pub dns_name: String,
    /// `internet-facing` (listeners bind every address) or `internal` (loopback only).
    pub scheme: String,
    /// `ipv4` or `dualstack`.
    pub ip_address_type: String,
    /// `CreatedTime`, RFC 3339.
    pub created: String,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Health check settings of a target group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthCheck {
    /// `HealthCheckEnabled`.
    pub enabled: bool,
    /// `HealthCheckProtocol` (`HTTP`; the checks speak plain HTTP).
    pub protocol: String,
    /// `HealthCheckPort` (`traffic-port` or a port number).
    pub port: String,
    /// `HealthCheckPath`.
    pub path: String,
    /// `HealthCheckIntervalSeconds`.
    pub interval: u32,
    /// `HealthCheckTimeoutSeconds`.
    pub timeout: u32,
    /// `HealthyThresholdCount`.
    pub healthy: u32,
    /// `UnhealthyThresholdCount`.
    pub unhealthy: u32,
    /// `Matcher.HttpCode`.
    pub matcher: String,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            enabled: true,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: "/".into(),
            interval: 30,
            timeout: 5,
            healthy: 5,
            unhealthy: 2,
            matcher: "200".into(),
        }
    }
}

/// A registered target: an IP address and the port traffic goes to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// `Id`: the IP address.
    pub id: String,
    /// `Port`.
    pub port: u16,
}

/// A target group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetGroup {
    /// `TargetGroupArn`.
    pub arn: String,
    /// `TargetGroupName`.
    pub name: String,
    /// `Protocol` (`HTTP`).
    pub protocol: String,
    /// `Port`: the default port of targets registered without one.
    pub port: u16,
    /// `VpcId`, echoed.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Health check settings.
    pub health: HealthCheck,
    /// The registered targets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// What a listener or rule does with a request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Action {
    /// Forward to a target group.
    Forward {
        /// The target group.
        target_group_arn: String,
    },
    /// Answer with a fixed response.
    FixedResponse {
        /// `StatusCode` (2XX, 4XX or 5XX).
        status: String,
        /// `ContentType`.
        content_type: Option<String>,
        /// `MessageBody`.
        body: Option<String>,
    },
    /// Answer with a redirect.
    Redirect {
        /// `Protocol` (`HTTP`, `HTTPS` or `#{protocol}`).
        protocol: Option<String>,
        /// `Port`.
        port: Option<String>,
        /// `Host`.
        host: Option<String>,
        /// `Path`.
        path: Option<String>,
        /// `Query`.
        query: Option<String>,
        /// `StatusCode` (`HTTP_301` or `HTTP_302`).
        status: String,
    },
}

impl Action {
    /// The model's `Type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Action::Forward { .. } => "forward",
            Action::FixedResponse { .. } => "fixed-response",
            Action::Redirect { .. } => "redirect",
        }
    }

    /// The target group it forwards to.
    pub fn target_group(&self) -> Option<&str> {
        match self {
            Action::Forward { target_group_arn } => Some(target_group_arn),
            _ => None,
        }
    }
}

/// A listener.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Listener {
    /// `ListenerArn`.
    pub arn: String,
    /// `LoadBalancerArn`.
    pub load_balancer_arn: String,
    /// `Port`.
    pub port: u16,
    /// `Protocol` (`HTTP` or `HTTPS`).
    pub protocol: String,
    /// `Certificates` (HTTPS): the built-in CA's certificate ARN.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// `SslPolicy`, echoed (the proxy's TLS settings are rustls's).
    #[serde(default)]
    pub ssl_policy: Option<String>,
    /// `DefaultActions` (exactly one).
    pub default_actions: Vec<Action>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// One condition of a rule: every value is an alternative.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Condition {
    /// `path-pattern` or `host-header`.
    pub field: String,
    /// The patterns.
    pub values: Vec<String>,
}

/// A listener rule (not the default one, which is the listener's default actions).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    /// `RuleArn`.
    pub arn: String,
    /// The listener.
    pub listener_arn: String,
    /// `Priority`, 1–50000.
    pub priority: u32,
    /// `Conditions`.
    pub conditions: Vec<Condition>,
    /// `Actions` (exactly one).
    pub actions: Vec<Action>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

impl World {
    /// The load balancer with this ARN.
    pub fn lb(&self, arn: &str) -> Option<&LoadBalancer> {
        self.load_balancers.iter().find(|l| l.arn == arn)
    }

    /// The target group with this ARN.
    pub fn tg(&self, arn: &str) -> Option<&TargetGroup> {
        self.target_groups.iter().find(|t| t.arn == arn)
    }

    /// The target group with this ARN, to change.
    pub fn tg_mut(&mut self, arn: &str) -> Option<&mut TargetGroup> {
        self.target_groups.iter_mut().find(|t| t.arn == arn)
    }

    /// The listener with this ARN.
    pub fn listener(&self, arn: &str) -> Option<&Listener> {
        self.listeners.iter().find(|l| l.arn == arn)
    }

    /// The listener with this ARN, to change.
    pub fn listener_mut(&mut self, arn: &str) -> Option<&mut Listener> {
        self.listeners.iter_mut().find(|l| l.arn == arn)
    }

    /// The rule with this ARN.
    pub fn rule(&self, arn: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.arn == arn)
    }

    /// The rule with this ARN, to change.
    pub fn rule_mut(&mut self, arn: &str) -> Option<&mut Rule> {
        self.rules.iter_mut().find(|r| r.arn == arn)
    }

    /// The listeners of a load balancer.
    pub fn listeners_of<'a>(&'a self, lb_arn: &'a str) -> impl Iterator<Item = &'a Listener> {
        self.listeners
            .iter()
            .filter(move |l| l.load_balancer_arn == lb_arn)
    }

    /// The rules of a listener, by priority.
    pub fn rules_of(&self, listener_arn: &str) -> Vec<&Rule> {
        let mut r: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.listener_arn == listener_arn)
            .collect();
        r.sort_by_key(|r| r.priority);
        r
    }

    /// The load balancers whose listeners or rules forward to a target group.
    pub fn lbs_using(&self, tg_arn: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in &self.listeners {
            let by_default = l
                .default_actions
                .iter()
                .any(|a| a.target_group() == Some(tg_arn));
            let by_rule = self.rules.iter().any(|r| {
                r.listener_arn == l.arn
                    && r.actions.iter().any(|a| a.target_group() == Some(tg_arn))
            });
            if (by_default || by_rule) && !out.contains(&l.load_balancer_arn) {
                out.push(l.load_balancer_arn.clone());
            }
        }
        out
    }

    /// Tags of any resource by ARN.
    pub fn tags_mut(&mut self, arn: &str) -> Option<&mut Tags> {
        if let Some(x) = self.load_balancers.iter_mut().find(|x| x.arn == arn) {
            return Some(&mut x.tags);
        }
        if let Some(x) = self.target_groups.iter_mut().find(|x| x.arn == arn) {
            return Some(&mut x.tags);
        }
        if let Some(x) = self.listeners.iter_mut().find(|x| x.arn == arn) {
            return Some(&mut x.tags);
        }
        self.rules
            .iter_mut()
            .find(|x| x.arn == arn)
            .map(|x| &mut x.tags)
    }
}
