//! ARNs and ids of ELBv2 resources:
//! - load balancer `arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{id}`;
//! - listener `...:listener/app/{lb name}/{lb id}/{id}`;
//! - rule `...:listener-rule/app/{lb name}/{lb id}/{listener id}/{id}`;
//! - target group `...:targetgroup/{name}/{id}`.
//!
//! Ids are 16 lower-case hex digits, as AWS's.

/// The ARN prefix of every resource of an account in a region.
pub fn prefix(region: &str, account: &str) -> String {
    format!("arn:aws:elasticloadbalancing:{region}:{account}:")
}

/// A fresh 16-hex-digit id.
pub fn new_id() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    u.chars().take(16).collect()
}

/// A load balancer's ARN.
pub fn load_balancer(region: &str, account: &str, name: &str, id: &str) -> String {
    format!("{}loadbalancer/app/{name}/{id}", prefix(region, account))
}

/// A target group's ARN.
pub fn target_group(region: &str, account: &str, name: &str, id: &str) -> String {
    format!("{}targetgroup/{name}/{id}", prefix(region, account))
}

/// A listener's ARN under its load balancer's.
pub fn listener(lb_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        lb_arn.replacen(":loadbalancer/", ":listener/", 1)
    )
}

/// A rule's ARN under its listener's.
pub fn rule(listener_arn: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1)
    )
}

/// The ARN of a listener's default rule (its id is the listener's).
pub fn default_rule(listener_arn: &str) -> String {
    let id = listener_arn.rsplit('/').next().unwrap_or_default();
    rule(listener_arn, id)
}

/// The load balancer a listener ARN belongs to; `None` when `listener_arn` is not an ELBv2 listener ARN.
pub fn load_balancer_of_listener(listener_arn: &str) -> Option<String> {
    let (head, rest) = listener_arn.split_once(":listener/app/")?;
    if !head.starts_with("arn:aws:elasticloadbalancing:") {
        return None;
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let [name, lb_id, id] = segs.as_slice() else {
        return None;
    };
    if name.is_empty() || !is_id(lb_id) || !is_id(id) {
        return None;
    }
    Some(format!("{head}:loadbalancer/app/{name}/{lb_id}"))
}

/// The listener a rule ARN belongs to.
pub fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (head, rest) = rule_arn.split_once(":listener-rule/app/")?;
    let (listener, _) = rest.rsplit_once('/')?;
    Some(format!("{head}:listener/app/{listener}"))
}

/// Whether `s` is an id as [`new_id`] makes them.
pub fn is_id(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `(region, account)` of an ELBv2 ARN.
pub fn place(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:elasticloadbalancing:")?;
    let mut parts = rest.splitn(3, ':');
    Some((parts.next()?, parts.next()?))
}

/// Whether `name` is a valid load balancer or target group name: 1–32 letters, digits and hyphens, not starting
/// or ending with a hyphen (nor starting with `internal-`, for load balancers).
pub fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_nest_and_unnest() {
        let lb = load_balancer("us-east-1", "000000000000", "web", "0123456789abcdef");
        assert_eq!(
            lb,
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789abcdef"
        );
        let l = listener(&lb, "fedcba9876543210");
        assert_eq!(
            l,
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/0123456789abcdef/fedcba9876543210"
        );
        assert_eq!(load_balancer_of_listener(&l).as_deref(), Some(lb.as_str()));
        let r = rule(&l, "1111222233334444");
        assert!(
            r.contains(":listener-rule/app/web/0123456789abcdef/fedcba9876543210/1111222233334444")
        );
        assert_eq!(listener_of_rule(&r).as_deref(), Some(l.as_str()));
        assert_eq!(place(&r), Some(("us-east-1", "000000000000")));
        assert!(default_rule(&l).ends_with("/fedcba9876543210/fedcba9876543210"));
        assert!(load_balancer_of_listener("web").is_none());
        assert!(load_balancer_of_listener(&lb).is_none());
        assert!(is_id(&new_id()));
    }

    #[test]
    fn names() {
        assert!(is_name("web-1"));
        assert!(!is_name("-web"));
        assert!(!is_name("web_1"));
        assert!(!is_name(&"a".repeat(33)));
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,200}") {
            let _ = load_balancer_of_listener(&s);
            let _ = listener_of_rule(&s);
            let _ = place(&s);
        }
    }
}
