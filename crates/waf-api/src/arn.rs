//! ARNs: of WAFv2 resources (`arn:aws:wafv2:{region}:{account}:{regional|global}/{kind}/{name}/{id}`)
//! and of the resources a web ACL is associated with, the Portcullis proxy listeners
//! (`arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{listener}/portcullis`) and the load
//! balancers made through the ELBv2 API (`...:loadbalancer/app/{name}/{16 hex digits}`).

use portcullis_waf_model::Scope;
use serde::{Deserialize, Serialize};

/// The region CloudFront-scope resources live in, as at AWS.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

/// The kind of a WAFv2 resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A web ACL.
    WebAcl,
    /// An IP set.
    IpSet,
    /// A regex pattern set.
    RegexPatternSet,
    /// A rule group.
    RuleGroup,
}

impl Kind {
    /// The ARN segment (`webacl`, `ipset`, `regexpatternset`, `rulegroup`).
    pub fn segment(self) -> &'static str {
        match self {
            Kind::WebAcl => "webacl",
            Kind::IpSet => "ipset",
            Kind::RegexPatternSet => "regexpatternset",
            Kind::RuleGroup => "rulegroup",
        }
    }

    fn from_segment(s: &str) -> Option<Kind> {
        Some(match s {
            "webacl" => Kind::WebAcl,
            "ipset" => Kind::IpSet,
            "regexpatternset" => Kind::RegexPatternSet,
            "rulegroup" => Kind::RuleGroup,
            _ => return None,
        })
    }

    /// The model's name of the shape (`WebACL`, `IPSet`, ...), for messages.
    pub fn shape(self) -> &'static str {
        match self {
            Kind::WebAcl => "WebACL",
            Kind::IpSet => "IPSet",
            Kind::RegexPatternSet => "RegexPatternSet",
            Kind::RuleGroup => "RuleGroup",
        }
    }
}

/// Where a resource lives: account, scope and (for `REGIONAL`) region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    /// The account.
    pub account: String,
    /// The scope.
    pub scope: Scope,
    /// The region (`us-east-1` for `CLOUDFRONT`).
    pub region: String,
}

impl Place {
    /// A place; `CLOUDFRONT` always lives in [`CLOUDFRONT_REGION`].
    pub fn new(account: &str, scope: Scope, region: &str) -> Place {
        let region = match scope {
            Scope::Cloudfront => CLOUDFRONT_REGION,
            Scope::Regional => region,
        };
        Place {
            account: account.to_owned(),
            scope,
            region: region.to_owned(),
        }
    }

    /// The key prefix of this place in the store: `{account}/{region|global}/`.
    pub fn key_prefix(&self) -> String {
        match self.scope {
            Scope::Regional => format!("{}/{}/", self.account, self.region),
            Scope::Cloudfront => format!("{}/global/", self.account),
        }
    }

    fn scope_segment(&self) -> &'static str {
        match self.scope {
            Scope::Regional => "regional",
            Scope::Cloudfront => "global",
        }
    }
}

/// A parsed WAFv2 resource ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArn {
    /// Account, scope and region.
    pub place: Place,
    /// The kind.
    pub kind: Kind,
    /// The name.
    pub name: String,
    /// The id.
    pub id: String,
}

/// The ARN of a WAFv2 resource.
pub fn resource_arn(place: &Place, kind: Kind, name: &str, id: &str) -> String {
    format!(
        "arn:aws:wafv2:{}:{}:{}/{}/{name}/{id}",
        place.region,
        place.account,
        place.scope_segment(),
        kind.segment()
    )
}

/// Parses a WAFv2 resource ARN; `None` when it is not one.
pub fn parse_resource_arn(arn: &str) -> Option<ResourceArn> {
    let rest = arn.strip_prefix("arn:aws:wafv2:")?;
    let mut parts = rest.splitn(3, ':');
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let segs: Vec<&str> = resource.split('/').collect();
    let [scope, kind, name, id] = segs.as_slice() else {
        return None;
    };
    let scope = match *scope {
        "regional" => Scope::Regional,
        "global" => Scope::Cloudfront,
        _ => return None,
    };
    if region.is_empty() || account.is_empty() || name.is_empty() || id.is_empty() {
        return None;
    }
    Some(ResourceArn {
        place: Place {
            account: account.to_owned(),
            scope,
            region: region.to_owned(),
        },
        kind: Kind::from_segment(kind)?,
        name: (*name).to_owned(),
        id: (*id).to_owned(),
    })
}

/// The ARN under which a Portcullis proxy listener is associated with a web ACL:
/// `arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{listener_name}/portcullis`.
pub fn listener_arn(region: &str, account: &str, listener_name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{listener_name}/portcullis"
    )
}

/// A parsed listener ARN (see [`listener_arn`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerArn {
    /// The region.
    pub region: String,
    /// The account.
    pub account: String,
    /// The listener's name.
    pub listener_name: String,
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_listener_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parses a listener ARN of exactly the [`listener_arn`] shape (12-digit account, listener names of
/// 1–128 letters, digits, `-`, `_`, `.`), or the ARN of a load balancer made through the ELBv2 API (whose id is
/// 16 hex digits; `listener_name` is then the load balancer's name); `None` for anything else.
pub fn parse_listener_arn(arn: &str) -> Option<ListenerArn> {
    let rest = arn.strip_prefix("arn:aws:elasticloadbalancing:")?;
    let mut parts = rest.splitn(3, ':');
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    let (name, id) = resource
        .strip_prefix("loadbalancer/app/")?
        .rsplit_once('/')?;
    // `portcullis`: a `[waf]` file listener; 16 hex digits: a load balancer made through the ELBv2 API.
    let id_ok = id == "portcullis" || (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    if !id_ok || !is_region(region) || !is_account(account) || !is_listener_name(name) {
        return None;
    }
    Some(ListenerArn {
        region: region.to_owned(),
        account: account.to_owned(),
        listener_name: name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_arns_round_trip() {
        let p = Place::new("111122223333", Scope::Regional, "eu-west-1");
        let arn = resource_arn(&p, Kind::WebAcl, "shop", "a-b");
        assert_eq!(
            arn,
            "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/shop/a-b"
        );
        let parsed = parse_resource_arn(&arn).unwrap();
        assert_eq!(parsed.place, p);
        assert_eq!(parsed.kind, Kind::WebAcl);
        let g = Place::new("111122223333", Scope::Cloudfront, "eu-west-1");
        let arn = resource_arn(&g, Kind::IpSet, "x", "1");
        assert_eq!(arn, "arn:aws:wafv2:us-east-1:111122223333:global/ipset/x/1");
        assert_eq!(parse_resource_arn(&arn).unwrap().place, g);
        assert!(parse_resource_arn("arn:aws:wafv2:r:a:regional/webacl/x").is_none());
        assert!(parse_resource_arn("arn:aws:wafv2:r:a:regional/bucket/x/1").is_none());
    }

    #[test]
    fn listener_arns_round_trip_and_reject_other_shapes() {
        let arn = listener_arn("us-east-1", "123456789012", "edge-1");
        assert_eq!(
            arn,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge-1/portcullis"
        );
        let p = parse_listener_arn(&arn).unwrap();
        assert_eq!(p.listener_name, "edge-1");
        assert_eq!(p.account, "123456789012");
        let lb = parse_listener_arn(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge-1/50dc6c495c0c9188",
        )
        .unwrap();
        assert_eq!(lb.listener_name, "edge-1");
        for bad in [
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge-1/50dc6c495c0c918",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/edge-1/50dc6c495c0c918z",
            "arn:aws:elasticloadbalancing:us-east-1:1234:loadbalancer/app/edge-1/portcullis",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app//portcullis",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/b/portcullis",
            "arn:aws:apigateway:us-east-1::/restapis/x/stages/y",
        ] {
            assert!(parse_listener_arn(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,200}") {
            let _ = parse_listener_arn(&s);
            let _ = parse_resource_arn(&s);
        }

        #[test]
        fn listener_arns_round_trip(
            region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
            account in "[0-9]{12}",
            name in "[A-Za-z0-9._-]{1,128}",
        ) {
            let p = parse_listener_arn(&listener_arn(&region, &account, &name)).unwrap();
            proptest::prop_assert_eq!(p, ListenerArn { region, account, listener_name: name });
        }

        #[test]
        fn resource_arns_round_trip_prop(
            name in "[A-Za-z0-9_-]{1,128}",
            id in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            regional in proptest::bool::ANY,
        ) {
            let scope = if regional { Scope::Regional } else { Scope::Cloudfront };
            let place = Place::new("111122223333", scope, "eu-central-1");
            for kind in [Kind::WebAcl, Kind::IpSet, Kind::RegexPatternSet, Kind::RuleGroup] {
                let p = parse_resource_arn(&resource_arn(&place, kind, &name, &id)).unwrap();
                proptest::prop_assert_eq!(&p.place, &place);
                proptest::prop_assert_eq!(p.kind, kind);
                proptest::prop_assert_eq!(&p.name, &name);
                proptest::prop_assert_eq!(&p.id, &id);
            }
        }
    }
}
