//! The XML shapes of the replies: `LoadBalancer`, `TargetGroup`, `Listener`, `Rule`, `Action`, in the member
//! order of the elbv2 model.

use portcullis_http::xml::XmlWriter;

use crate::arn;
use crate::model::{Action, Listener, LoadBalancer, Rule, Tags, TargetGroup, World};

/// The certificate ARN that stands for "a certificate from the built-in CA for the load balancer's DNS name".
pub fn builtin_certificate(region: &str, account: &str) -> String {
    format!("arn:aws:acm:{region}:{account}:certificate/portcullis-ca")
}

/// `<LoadBalancer>` members.
pub fn load_balancer(w: &mut XmlWriter, lb: &LoadBalancer) {
    w.leaf("LoadBalancerArn", &lb.arn);
    w.leaf("DNSName", &lb.dns_name);
    w.leaf("CanonicalHostedZoneId", "Z00PORTCULLIS");
    w.leaf("CreatedTime", &lb.created);
    w.leaf("LoadBalancerName", &lb.name);
    w.leaf("Scheme", &lb.scheme);
    w.open("State");
    w.leaf("Code", "active");
    w.close("State");
    w.leaf("Type", "application");
    w.open("AvailabilityZones");
    w.close("AvailabilityZones");
    w.open("SecurityGroups");
    w.close("SecurityGroups");
    w.leaf("IpAddressType", &lb.ip_address_type);
}

/// `<TargetGroup>` members.
pub fn target_group(w: &mut XmlWriter, tg: &TargetGroup, world: &World) {
    w.leaf("TargetGroupArn", &tg.arn);
    w.leaf("TargetGroupName", &tg.name);
    w.leaf("Protocol", &tg.protocol);
    w.leaf("Port", &tg.port.to_string());
    w.leaf_opt("VpcId", tg.vpc_id.as_deref());
    let h = &tg.health;
    w.leaf("HealthCheckProtocol", &h.protocol);
    w.leaf("HealthCheckPort", &h.port);
    w.leaf(
        "HealthCheckEnabled",
        if h.enabled { "true" } else { "false" },
    );
    w.leaf("HealthCheckIntervalSeconds", &h.interval.to_string());
    w.leaf("HealthCheckTimeoutSeconds", &h.timeout.to_string());
    w.leaf("HealthyThresholdCount", &h.healthy.to_string());
    w.leaf("UnhealthyThresholdCount", &h.unhealthy.to_string());
    w.leaf("HealthCheckPath", &h.path);
    w.open("Matcher");
    w.leaf("HttpCode", &h.matcher);
    w.close("Matcher");
    w.open("LoadBalancerArns");
    for lb in world.lbs_using(&tg.arn) {
        w.leaf("member", &lb);
    }
    w.close("LoadBalancerArns");
    w.leaf("TargetType", "ip");
    w.leaf("ProtocolVersion", "HTTP1");
    w.leaf("IpAddressType", "ipv4");
}

/// `<Actions>`-list members (`<member>` each).
pub fn actions(w: &mut XmlWriter, name: &str, actions: &[Action]) {
    w.open(name);
    for (i, a) in actions.iter().enumerate() {
        w.open("member");
        w.leaf("Type", a.type_name());
        w.leaf("Order", &(i + 1).to_string());
        match a {
            Action::Forward { target_group_arn } => {
                w.leaf("TargetGroupArn", target_group_arn);
                w.open("ForwardConfig");
                w.open("TargetGroups");
                w.open("member");
                w.leaf("TargetGroupArn", target_group_arn);
                w.leaf("Weight", "1");
                w.close("member");
                w.close("TargetGroups");
                w.open("TargetGroupStickinessConfig");
                w.leaf("Enabled", "false");
                w.close("TargetGroupStickinessConfig");
                w.close("ForwardConfig");
            }
            Action::FixedResponse {
                status,
                content_type,
                body,
            } => {
                w.open("FixedResponseConfig");
                w.leaf_opt("MessageBody", body.as_deref());
                w.leaf("StatusCode", status);
                w.leaf_opt("ContentType", content_type.as_deref());
                w.close("FixedResponseConfig");
            }
            Action::Redirect {
                protocol,
                port,
                host,
                path,
                query,
                status,
            } => {
                w.open("RedirectConfig");
                w.leaf("Protocol", protocol.as_deref().unwrap_or("#{protocol}"));
                w.leaf("Port", port.as_deref().unwrap_or("#{port}"));
                w.leaf("Host", host.as_deref().unwrap_or("#{host}"));
                w.leaf("Path", path.as_deref().unwrap_or("/#{path}"));
                w.leaf("Query", query.as_deref().unwrap_or("#{query}"));
                w.leaf("StatusCode", status);
                w.close("RedirectConfig");
            }
        }
        w.close("member");
    }
    w.close(name);
}

/// `<Listener>` members.
pub fn listener(w: &mut XmlWriter, l: &Listener) {
    w.leaf("ListenerArn", &l.arn);
    w.leaf("LoadBalancerArn", &l.load_balancer_arn);
    w.leaf("Port", &l.port.to_string());
    w.leaf("Protocol", &l.protocol);
    if !l.certificates.is_empty() {
        w.open("Certificates");
        for c in &l.certificates {
            w.open("member");
            w.leaf("CertificateArn", c);
            w.close("member");
        }
        w.close("Certificates");
    }
    w.leaf_opt("SslPolicy", l.ssl_policy.as_deref());
    actions(w, "DefaultActions", &l.default_actions);
}

/// `<Rule>` members of a rule.
pub fn rule(w: &mut XmlWriter, r: &Rule) {
    w.leaf("RuleArn", &r.arn);
    w.leaf("Priority", &r.priority.to_string());
    w.open("Conditions");
    for c in &r.conditions {
        w.open("member");
        w.leaf("Field", &c.field);
        values(w, "Values", &c.values);
        let config = if c.field == "path-pattern" {
            "PathPatternConfig"
        } else {
            "HostHeaderConfig"
        };
        w.open(config);
        values(w, "Values", &c.values);
        w.close(config);
        w.close("member");
    }
    w.close("Conditions");
    actions(w, "Actions", &r.actions);
    w.leaf("IsDefault", "false");
}

/// `<Rule>` members of a listener's default rule.
pub fn default_rule(w: &mut XmlWriter, l: &Listener) {
    w.leaf("RuleArn", &arn::default_rule(&l.arn));
    w.leaf("Priority", "default");
    w.open("Conditions");
    w.close("Conditions");
    actions(w, "Actions", &l.default_actions);
    w.leaf("IsDefault", "true");
}

fn values(w: &mut XmlWriter, name: &str, values: &[String]) {
    w.open(name);
    for v in values {
        w.leaf("member", v);
    }
    w.close(name);
}

/// `<Tags>` of a resource.
pub fn tags(w: &mut XmlWriter, tags: &Tags) {
    w.open("Tags");
    for (k, v) in tags {
        w.open("member");
        w.leaf("Key", k);
        w.leaf("Value", v);
        w.close("member");
    }
    w.close("Tags");
}
