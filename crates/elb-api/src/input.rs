//! Request parameters of the AWS Query protocol (`Names.member.1`, `DefaultActions.member.1.Type`, ...) and the
//! structures built from them: actions, rule conditions, tags, targets. Every check that AWS makes on the shape of
//! a value is made here, before any state is read.

use std::collections::BTreeMap;

use crate::error::{ElbError, Result, lower_first};
use crate::model::{Action, Condition, Tags, Target};

/// Tags a resource may carry.
pub const MAX_TAGS: usize = 50;
/// Values of one rule condition.
pub const MAX_CONDITION_VALUES: usize = 5;

/// The request's parameters, or one structure's members (keys relative to it).
#[derive(Debug, Clone, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// An optional parameter.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.optional(name).ok_or_else(|| ElbError::missing(name))
    }

    /// An optional integer within `range`.
    pub fn int(&self, name: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>> {
        let Some(v) = self.optional(name) else {
            return Ok(None);
        };
        let n: i64 = v
            .parse()
            .map_err(|_| ElbError::Validation(format!("Invalid value for {name}: {v:?}")))?;
        if !range.contains(&n) {
            return Err(ElbError::Validation(format!(
                "1 validation error detected: Value '{n}' at '{}' failed to satisfy constraint: Member must have value between {} and {}",
                lower_first(name),
                range.start(),
                range.end()
            )));
        }
        Ok(Some(n))
    }

    /// An optional boolean (`true`/`false`).
    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.optional(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ElbError::Validation(format!(
                "Invalid value for {name}: {v:?}"
            ))),
        }
    }

    /// A list of strings `Name.member.1`, `Name.member.2`, ... in index order.
    pub fn list(&self, name: &str) -> Vec<String> {
        let prefix = format!("{name}.member.");
        let mut items: Vec<(u32, String)> = self
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.parse::<u32>().ok()?, v.clone())))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// A list of structures `Name.member.N.<member path>`, in index order.
    pub fn structs(&self, name: &str) -> Vec<Params> {
        let prefix = format!("{name}.member.");
        let mut by_index: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&prefix) else {
                continue;
            };
            let Some((idx, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(idx) = idx.parse::<u32>() else {
                continue;
            };
            by_index
                .entry(idx)
                .or_default()
                .insert(field.to_owned(), v.clone());
        }
        by_index.into_values().map(Params).collect()
    }

    /// The members of the structure `Name` (`Name.X` → `X`); `None` when none is given.
    pub fn sub(&self, name: &str) -> Option<Params> {
        let prefix = format!("{name}.");
        let m: BTreeMap<String, String> = self
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_owned(), v.clone())))
            .collect();
        (!m.is_empty()).then_some(Params(m))
    }

    /// `Tags.member.N.{Key,Value}`: duplicate keys and more than [`MAX_TAGS`] are refused.
    pub fn tags(&self, name: &str) -> Result<Tags> {
        let mut tags = Tags::new();
        for t in self.structs(name) {
            let key = t.required("Key")?.to_owned();
            check_tag(&key, t.optional("Value").unwrap_or(""))?;
            if tags
                .insert(key.clone(), t.optional("Value").unwrap_or("").to_owned())
                .is_some()
            {
                return Err(ElbError::DuplicateTagKeys(format!(
                    "Tag key '{key}' is duplicated"
                )));
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(ElbError::TooManyTags(format!(
                "A resource can have at most {MAX_TAGS} tags"
            )));
        }
        Ok(tags)
    }

    /// The parameters for the audit record: everything but the protocol envelope.
    pub fn for_audit(&self) -> serde_json::Value {
        let m: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "Action" | "Version") && !k.starts_with("X-Amz-")
            })
            .map(|(k, v)| (lower_first(k), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::Value::Object(m)
    }
}

fn check_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
        return Err(ElbError::Validation(format!(
            "Tag key must be 1-128 characters and values at most 256: '{key}'"
        )));
    }
    if key.starts_with("aws:") {
        return Err(ElbError::Validation(
            "Tag keys starting with 'aws:' are reserved".into(),
        ));
    }
    Ok(())
}

/// The only action of `DefaultActions` / `Actions`. Forward (to one target group), fixed-response and redirect are
/// supported; authentication actions and several actions are refused.
pub fn action(p: &Params, name: &str) -> Result<Action> {
    let all = p.structs(name);
    let [one] = all.as_slice() else {
        if all.is_empty() {
            return Err(ElbError::missing(name));
        }
        return Err(ElbError::InvalidLbAction(
            "Portcullis load balancers take exactly one action per listener or rule".into(),
        ));
    };
    parse_action(one)
}

fn parse_action(a: &Params) -> Result<Action> {
    match a.required("Type")? {
        "forward" => {
            let mut groups: Vec<String> = a
                .optional("TargetGroupArn")
                .map(str::to_owned)
                .into_iter()
                .collect();
            if let Some(fc) = a.sub("ForwardConfig") {
                for g in fc.structs("TargetGroups") {
                    let arn = g.required("TargetGroupArn")?.to_owned();
                    if !groups.contains(&arn) {
                        groups.push(arn);
                    }
                }
            }
            match groups.as_slice() {
                [one] => Ok(Action::Forward {
                    target_group_arn: one.clone(),
                }),
                [] => Err(ElbError::InvalidLbAction(
                    "A forward action needs a TargetGroupArn".into(),
                )),
                _ => Err(ElbError::InvalidLbAction(
                    "Portcullis forwards to one target group per action (weighted target groups are not supported)"
                        .into(),
                )),
            }
        }
        "fixed-response" => {
            let c = a
                .sub("FixedResponseConfig")
                .ok_or_else(|| ElbError::missing("FixedResponseConfig"))?;
            let status = c.required("StatusCode")?.to_owned();
            let ok = status.len() == 3
                && status.bytes().all(|b| b.is_ascii_digit())
                && matches!(status.as_bytes().first(), Some(b'2' | b'4' | b'5'));
            if !ok {
                return Err(ElbError::Validation(format!(
                    "1 validation error detected: Value '{status}' at 'fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$"
                )));
            }
            let content_type = c.optional("ContentType").map(str::to_owned);
            if let Some(ct) = &content_type
                && !matches!(
                    ct.as_str(),
                    "text/plain"
                        | "text/css"
                        | "text/html"
                        | "application/javascript"
                        | "application/json"
                )
            {
                return Err(ElbError::InvalidLbAction(format!(
                    "Content type '{ct}' is not supported"
                )));
            }
            let body = c.optional("MessageBody").map(str::to_owned);
            if body.as_ref().is_some_and(|b| b.len() > 1024) {
                return Err(ElbError::Validation(
                    "A fixed response body is at most 1024 characters".into(),
                ));
            }
            Ok(Action::FixedResponse {
                status,
                content_type,
                body,
            })
        }
        "redirect" => {
            let c = a
                .sub("RedirectConfig")
                .ok_or_else(|| ElbError::missing("RedirectConfig"))?;
            let status = c.required("StatusCode")?.to_owned();
            if !matches!(status.as_str(), "HTTP_301" | "HTTP_302") {
                return Err(ElbError::Validation(format!(
                    "1 validation error detected: Value '{status}' at 'redirectConfig.statusCode' failed to satisfy constraint: Member must satisfy enum value set: [HTTP_301, HTTP_302]"
                )));
            }
            let protocol = c.optional("Protocol").map(str::to_owned);
            if let Some(p) = &protocol
                && !matches!(p.as_str(), "HTTP" | "HTTPS" | "#{protocol}")
            {
                return Err(ElbError::InvalidLbAction(format!(
                    "Redirect protocol '{p}' is not valid"
                )));
            }
            let path = c.optional("Path").map(str::to_owned);
            if path.as_ref().is_some_and(|p| !p.starts_with('/')) {
                return Err(ElbError::InvalidLbAction(
                    "A redirect path must start with '/'".into(),
                ));
            }
            Ok(Action::Redirect {
                protocol,
                port: c.optional("Port").map(str::to_owned),
                host: c.optional("Host").map(str::to_owned),
                path,
                query: c.optional("Query").map(str::to_owned),
                status,
            })
        }
        other @ ("authenticate-oidc" | "authenticate-cognito" | "jwt-validation") => {
            Err(ElbError::InvalidLbAction(format!(
                "Action type '{other}' is not supported by Portcullis load balancers"
            )))
        }
        other => Err(ElbError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'actions.member.1.type' failed to satisfy constraint: Member must satisfy enum value set: [forward, authenticate-oidc, authenticate-cognito, fixed-response, redirect, jwt-validation]"
        ))),
    }
}

/// `Conditions`: `path-pattern` and `host-header`, each at most once, with 1–5 values.
pub fn conditions(p: &Params) -> Result<Vec<Condition>> {
    let mut out: Vec<Condition> = Vec::new();
    for c in p.structs("Conditions") {
        let field = c.required("Field")?.to_owned();
        let mut values = c.list("Values");
        let config = match field.as_str() {
            "path-pattern" => "PathPatternConfig",
            "host-header" => "HostHeaderConfig",
            other => {
                return Err(ElbError::InvalidConfiguration(format!(
                    "Condition field '{other}' is not supported by Portcullis load balancers (path-pattern and host-header are)"
                )));
            }
        };
        if let Some(cfg) = c.sub(config) {
            if !cfg.list("RegexValues").is_empty() {
                return Err(ElbError::InvalidConfiguration(
                    "Regular expression conditions are not supported".into(),
                ));
            }
            values.extend(cfg.list("Values"));
        }
        if values.is_empty() || values.len() > MAX_CONDITION_VALUES {
            return Err(ElbError::Validation(format!(
                "A '{field}' condition needs 1 to {MAX_CONDITION_VALUES} values"
            )));
        }
        if out.iter().any(|o| o.field == field) {
            return Err(ElbError::InvalidConfiguration(format!(
                "A rule can have only one '{field}' condition"
            )));
        }
        let values = values
            .into_iter()
            .map(|v| {
                if field == "path-pattern" {
                    check_path_pattern(&v).map(|()| v)
                } else {
                    check_host(&v)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(Condition { field, values });
    }
    if out.is_empty() {
        return Err(ElbError::Validation(
            "A rule needs at least one condition".into(),
        ));
    }
    Ok(out)
}

/// A path pattern the proxy's prefix routes can express: a path (matched as a prefix), or a path ending in one
/// `*`. `?` and `*` elsewhere are refused.
pub fn check_path_pattern(v: &str) -> Result<()> {
    let body = v.strip_suffix('*').unwrap_or(v);
    let ok =
        v.len() <= 128 && !body.contains(['*', '?']) && (body.starts_with('/') || body.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ElbError::InvalidConfiguration(format!(
            "Path pattern '{v}' is not supported: Portcullis matches a path prefix, written as a path that may end in a single '*'"
        )))
    }
}

/// The route prefix a path pattern becomes.
pub fn path_prefix(pattern: &str) -> String {
    let p = pattern.strip_suffix('*').unwrap_or(pattern);
    if p.is_empty() {
        "/".into()
    } else {
        p.to_owned()
    }
}

fn check_host(v: &str) -> Result<String> {
    let ok = !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if ok {
        Ok(v.to_ascii_lowercase())
    } else {
        Err(ElbError::InvalidConfiguration(format!(
            "Host header '{v}' is not supported: Portcullis matches exact host names (no wildcards)"
        )))
    }
}

/// `Targets.member.N.{Id,Port}`: IP addresses; the port defaults to the target group's.
pub fn targets(p: &Params, default_port: u16) -> Result<Vec<Target>> {
    let list = p.structs("Targets");
    if list.is_empty() {
        return Err(ElbError::missing("Targets"));
    }
    list.iter()
        .map(|t| {
            let id = t.required("Id")?;
            let ip: std::net::IpAddr = id.parse().map_err(|_| {
                ElbError::InvalidTarget(format!(
                    "The following targets are not valid IP addresses: '{id}' (Portcullis target groups take IP targets)"
                ))
            })?;
            let port = match t.int("Port", 1..=65535)? {
                Some(n) => u16::try_from(n).map_err(|_| ElbError::Validation("Port".into()))?,
                None => default_port,
            };
            Ok(Target {
                id: ip.to_string(),
                port,
            })
        })
        .collect()
}

/// `Marker`/`PageSize` paging over `items`: the page and the next marker.
pub fn page<T: Clone>(p: &Params, items: &[T]) -> Result<(Vec<T>, Option<String>)> {
    let size = usize::try_from(p.int("PageSize", 1..=400)?.unwrap_or(400)).unwrap_or(400);
    let start = match p.optional("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| ElbError::Validation(format!("Invalid marker '{m}'")))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let page = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn forward_actions_take_one_group_either_way() {
        let p = params(&[
            ("DefaultActions.member.1.Type", "forward"),
            ("DefaultActions.member.1.TargetGroupArn", "tg1"),
        ]);
        assert_eq!(
            action(&p, "DefaultActions").unwrap(),
            Action::Forward {
                target_group_arn: "tg1".into()
            }
        );
        let p = params(&[
            ("Actions.member.1.Type", "forward"),
            (
                "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn",
                "a",
            ),
            (
                "Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn",
                "b",
            ),
        ]);
        assert_eq!(
            action(&p, "Actions").unwrap_err().code(),
            "InvalidLoadBalancerAction"
        );
        assert_eq!(
            action(&params(&[]), "Actions").unwrap_err().code(),
            "ValidationError"
        );
    }

    #[test]
    fn fixed_response_and_redirect_are_checked() {
        let p = params(&[
            ("A.member.1.Type", "fixed-response"),
            ("A.member.1.FixedResponseConfig.StatusCode", "503"),
            ("A.member.1.FixedResponseConfig.MessageBody", "down"),
        ]);
        assert!(
            matches!(action(&p, "A").unwrap(), Action::FixedResponse { status, .. } if status == "503")
        );
        let p = params(&[
            ("A.member.1.Type", "fixed-response"),
            ("A.member.1.FixedResponseConfig.StatusCode", "302"),
        ]);
        assert_eq!(action(&p, "A").unwrap_err().code(), "ValidationError");
        let p = params(&[
            ("A.member.1.Type", "redirect"),
            ("A.member.1.RedirectConfig.StatusCode", "HTTP_301"),
            ("A.member.1.RedirectConfig.Protocol", "HTTPS"),
        ]);
        assert_eq!(action(&p, "A").unwrap().type_name(), "redirect");
        let p = params(&[("A.member.1.Type", "authenticate-oidc")]);
        assert_eq!(
            action(&p, "A").unwrap_err().code(),
            "InvalidLoadBalancerAction"
        );
    }

    #[test]
    fn conditions_map_to_prefixes_and_hosts() {
        let p = params(&[
            ("Conditions.member.1.Field", "path-pattern"),
            (
                "Conditions.member.1.PathPatternConfig.Values.member.1",
                "/api/*",
            ),
            ("Conditions.member.2.Field", "host-header"),
            ("Conditions.member.2.Values.member.1", "Shop.Example.com"),
        ]);
        let c = conditions(&p).unwrap();
        assert_eq!(c[0].values, ["/api/*"]);
        assert_eq!(c[1].values, ["shop.example.com"]);
        assert_eq!(path_prefix("/api/*"), "/api/");
        assert_eq!(path_prefix("*"), "/");
        assert!(check_path_pattern("/a*/b").is_err());
        assert!(check_path_pattern("/a?").is_err());
        let p = params(&[
            ("Conditions.member.1.Field", "source-ip"),
            ("Conditions.member.1.Values.member.1", "10.0.0.0/8"),
        ]);
        assert_eq!(
            conditions(&p).unwrap_err().code(),
            "InvalidConfigurationRequest"
        );
    }

    #[test]
    fn tags_targets_and_pages() {
        let p = params(&[("Tags.member.1.Key", "a"), ("Tags.member.2.Key", "a")]);
        assert_eq!(p.tags("Tags").unwrap_err().code(), "DuplicateTagKeys");
        let p = params(&[("Targets.member.1.Id", "i-123")]);
        assert_eq!(targets(&p, 80).unwrap_err().code(), "InvalidTarget");
        let p = params(&[("Targets.member.1.Id", "127.0.0.1")]);
        assert_eq!(targets(&p, 8080).unwrap()[0].port, 8080);
        let items: Vec<u32> = (0..5).collect();
        let (a, next) = page(&params(&[("PageSize", "2")]), &items).unwrap();
        assert_eq!((a, next.as_deref()), (vec![0, 1], Some("2")));
        let (b, next) = page(&params(&[("PageSize", "2"), ("Marker", "4")]), &items).unwrap();
        assert_eq!((b, next), (vec![4], None));
        assert!(page(&params(&[("Marker", "9")]), &items).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(k in "[A-Za-z.]{0,40}[0-9]?", v in ".{0,40}") {
            let p = params(&[("A.member.1.Type", "forward"), (k.as_str(), v.as_str())]);
            let _ = action(&p, "A");
            let _ = conditions(&p);
            let _ = targets(&p, 80);
            let _ = p.tags("Tags");
            let _ = check_path_pattern(&v);
        }
    }
}
