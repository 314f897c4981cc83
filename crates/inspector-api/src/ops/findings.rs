//! Findings: ListFindings, BatchGetFindingDetails, ListFindingAggregations.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Ctx, Done, paginate, with_token};
use crate::criteria::{Criteria, Scope, Sort, StringFilters, arn_of, finding_matches};
use crate::error::{InspectorApiError, Result};
use crate::state::{PRIVATE, collections as c, finding_id_of};

/// A stored finding as the API renders it (private members dropped).
pub fn render(stored: &Value) -> Value {
    let mut f = stored.clone();
    if let Some(o) = f.as_object_mut() {
        o.remove(PRIVATE);
    }
    f
}

/// Every finding of the caller's account, rendered.
async fn all(ctx: &Ctx<'_>) -> Result<Vec<Value>> {
    Ok(ctx
        .api
        .list::<Value>(c::FINDINGS, &format!("{}/", ctx.account()))
        .await?
        .into_iter()
        .map(|(_, v)| render(&v.value))
        .collect())
}

/// ListFindings.
pub async fn list(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("ListFindings").await?;
    let criteria = Criteria::parse(ctx.get("filterCriteria"), Scope::Findings)?;
    let sort = Sort::parse(ctx.get("sortCriteria"))?;
    let (limit, offset) = ctx.page_params(100, 25)?;
    let mut found: Vec<Value> = all(ctx)
        .await?
        .into_iter()
        .filter(|f| finding_matches(&criteria, f))
        .collect();
    match sort {
        Some(s) => found.sort_by(|a, b| s.compare(a, b)),
        None => found.sort_by(|a, b| arn_of(a).cmp(arn_of(b))),
    }
    let (page, next) = paginate(found, limit, offset);
    Ok(Done::read(with_token(json!({"findings": page}), next)))
}

/// BatchGetFindingDetails: what is known beyond the finding (reference URLs, CWEs).
pub async fn details(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("BatchGetFindingDetails").await?;
    let arns: Vec<String> = match ctx.get("findingArns") {
        Some(Value::Array(a)) if (1..=10).contains(&a.len()) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| InspectorApiError::field("findingArns", "must be strings"))
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(InspectorApiError::field(
                "findingArns",
                "must be a list of 1 to 10 finding ARNs",
            ));
        }
    };
    let by_arn: BTreeMap<String, Value> = all(ctx)
        .await?
        .into_iter()
        .map(|f| (arn_of(&f).to_owned(), f))
        .collect();
    let mut details = Vec::new();
    let mut errors = Vec::new();
    for arn in arns {
        if finding_id_of(&arn).is_none() {
            errors.push(json!({"findingArn": arn, "errorCode": "INVALID_INPUT",
                               "errorMessage": "Not a finding ARN."}));
            continue;
        }
        let Some(f) = by_arn.get(&arn) else {
            errors.push(
                json!({"findingArn": arn, "errorCode": "FINDING_DETAILS_NOT_FOUND",
                               "errorMessage": "No such finding."}),
            );
            continue;
        };
        let mut d = Map::new();
        d.insert("findingArn".into(), json!(arn));
        let refs = f
            .pointer("/packageVulnerabilityDetails/referenceUrls")
            .or_else(|| f.pointer("/codeVulnerabilityDetails/referenceUrls"))
            .cloned();
        if let Some(r) = refs {
            d.insert("referenceUrls".into(), r);
        }
        if let Some(cwes) = f.pointer("/codeVulnerabilityDetails/cwes") {
            d.insert("cwes".into(), cwes.clone());
        }
        if let Some(e) = f.pointer("/epss/score") {
            d.insert("epssScore".into(), e.clone());
        }
        details.push(Value::Object(d));
    }
    Ok(Done::read(
        json!({"findingDetails": details, "errors": errors}),
    ))
}

#[derive(Default)]
struct Counts {
    sev: BTreeMap<&'static str, u64>,
    all: u64,
    fix: u64,
    exploit: u64,
    network: u64,
}

impl Counts {
    fn add(&mut self, f: &Value) {
        let sev = match f.get("severity").and_then(Value::as_str) {
            Some("CRITICAL") => "critical",
            Some("HIGH") => "high",
            Some("MEDIUM") => "medium",
            Some("LOW") => "low",
            Some("INFORMATIONAL") => "informational",
            _ => "untriaged",
        };
        *self.sev.entry(sev).or_default() += 1;
        self.all += 1;
        if f.get("fixAvailable").and_then(Value::as_str) == Some("YES") {
            self.fix += 1;
        }
        if f.get("exploitAvailable").and_then(Value::as_str) == Some("YES") {
            self.exploit += 1;
        }
        if f.get("type").and_then(Value::as_str) == Some("NETWORK_REACHABILITY") {
            self.network += 1;
        }
    }

    fn severity_counts(&self) -> Value {
        let g = |k: &str| self.sev.get(k).copied().unwrap_or(0);
        json!({"all": self.all, "critical": g("critical"), "high": g("high"), "medium": g("medium"),
               "low": g("low"), "informational": g("informational"), "untriaged": g("untriaged")})
    }

    fn sort_key(&self, by: &str) -> u64 {
        match by {
            "CRITICAL" => self.sev.get("critical").copied().unwrap_or(0),
            "HIGH" => self.sev.get("high").copied().unwrap_or(0),
            "NETWORK_FINDINGS" => self.network,
            _ => self.all,
        }
    }
}

fn str_field<'a>(f: &'a Value, k: &str) -> &'a str {
    f.get(k).and_then(Value::as_str).unwrap_or("")
}

/// ListFindingAggregations over ACTIVE findings: ACCOUNT, FINDING_TYPE, PACKAGE, TITLE and
/// AWS_EC2_INSTANCE (the other types name resources Portcullis does not have and return no
/// responses).
pub async fn aggregations(ctx: &Ctx<'_>) -> Result<Done> {
    ctx.authorize_any("ListFindingAggregations").await?;
    const TYPES: [&str; 15] = [
        "FINDING_TYPE",
        "PACKAGE",
        "TITLE",
        "REPOSITORY",
        "AMI",
        "AWS_EC2_INSTANCE",
        "AWS_ECR_CONTAINER",
        "IMAGE_LAYER",
        "ACCOUNT",
        "AWS_LAMBDA_FUNCTION",
        "LAMBDA_LAYER",
        "CODE_REPOSITORY",
        "VM_INSTANCE",
        "CONTAINER_IMAGE",
        "SERVERLESS_FUNCTION",
    ];
    let ty = ctx
        .enum_opt("aggregationType", &TYPES)?
        .ok_or_else(|| InspectorApiError::field("aggregationType", "is required"))?;
    let (limit, offset) = ctx.page_params(100, 50)?;
    let accounts = StringFilters::parse("accountIds", ctx.get("accountIds"))?;
    let member = match ty.as_str() {
        "ACCOUNT" => "accountAggregation",
        "FINDING_TYPE" => "findingTypeAggregation",
        "PACKAGE" => "packageAggregation",
        "TITLE" => "titleAggregation",
        "AWS_EC2_INSTANCE" => "ec2InstanceAggregation",
        _ => "",
    };
    let req = ctx
        .get("aggregationRequest")
        .and_then(|r| r.get(member))
        .cloned()
        .unwrap_or(Value::Null);
    let filt = |k: &str| StringFilters::parse(k, req.get(k));
    let want = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_owned);
    let (finding_type, resource_type) = (want("findingType"), want("resourceType"));
    let sort_by = want("sortBy").unwrap_or_else(|| "ALL".into());
    let ascending = want("sortOrder").as_deref() == Some("ASC");
    let (names, titles, vulns, instances, oses) = (
        filt("packageNames")?,
        filt("titles")?,
        filt("vulnerabilityIds")?,
        filt("instanceIds")?,
        filt("operatingSystems")?,
    );
    let tags_wanted = req.get("instanceTags").is_some_and(|t| !t.is_null());

    let mut groups: BTreeMap<String, (Counts, Map<String, Value>)> = BTreeMap::new();
    for f in all(ctx).await? {
        if str_field(&f, "status") != "ACTIVE"
            || !accounts.matches(&[str_field(&f, "awsAccountId")])
        {
            continue;
        }
        if finding_type
            .as_deref()
            .is_some_and(|t| t != str_field(&f, "type"))
        {
            continue;
        }
        let res = f.pointer("/resources/0").cloned().unwrap_or(Value::Null);
        if resource_type
            .as_deref()
            .is_some_and(|t| Some(t) != res.get("type").and_then(Value::as_str))
        {
            continue;
        }
        let account = str_field(&f, "awsAccountId").to_owned();
        let mut keys: Vec<(String, Map<String, Value>)> = Vec::new();
        match ty.as_str() {
            "ACCOUNT" | "FINDING_TYPE" => {
                keys.push((
                    account.clone(),
                    Map::from_iter([("accountId".into(), json!(account))]),
                ));
            }
            "PACKAGE" => {
                let mut seen = Vec::new();
                for p in f
                    .pointer("/packageVulnerabilityDetails/vulnerablePackages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let n = str_field(p, "name").to_owned();
                    if n.is_empty() || seen.contains(&n) || !names.matches(&[&n]) {
                        continue;
                    }
                    seen.push(n.clone());
                    keys.push((
                        format!("{account}/{n}"),
                        Map::from_iter([
                            ("packageName".into(), json!(n)),
                            ("accountId".into(), json!(account)),
                        ]),
                    ));
                }
            }
            "TITLE" => {
                let title = str_field(&f, "title").to_owned();
                let vuln = f
                    .pointer("/packageVulnerabilityDetails/vulnerabilityId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if !title.is_empty() && titles.matches(&[&title]) && vulns.matches(&[&vuln]) {
                    let mut m = Map::from_iter([
                        ("title".into(), json!(title)),
                        ("accountId".into(), json!(account)),
                    ]);
                    if !vuln.is_empty() {
                        m.insert("vulnerabilityId".into(), json!(vuln));
                    }
                    keys.push((format!("{account}/{title}"), m));
                }
            }
            "AWS_EC2_INSTANCE" => {
                let id = res
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let os = res
                    .pointer("/details/awsEc2Instance/platform")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                if res.get("type").and_then(Value::as_str) == Some("AWS_EC2_INSTANCE")
                    && instances.matches(&[&id])
                    && oses.matches(&[&os])
                    && !tags_wanted
                {
                    let mut m = Map::from_iter([
                        ("instanceId".into(), json!(id)),
                        ("accountId".into(), json!(account)),
                    ]);
                    if !os.is_empty() {
                        m.insert("operatingSystem".into(), json!(os));
                    }
                    keys.push((format!("{account}/{id}"), m));
                }
            }
            _ => {}
        }
        for (k, m) in keys {
            groups
                .entry(k)
                .or_insert_with(|| (Counts::default(), m))
                .0
                .add(&f);
        }
    }
    let mut rows: Vec<(String, Counts, Map<String, Value>)> =
        groups.into_iter().map(|(k, (c, m))| (k, c, m)).collect();
    rows.sort_by(|a, b| {
        let o = a.1.sort_key(&sort_by).cmp(&b.1.sort_key(&sort_by));
        (if ascending { o } else { o.reverse() }).then_with(|| a.0.cmp(&b.0))
    });
    let responses: Vec<Value> = rows
        .into_iter()
        .map(|(_, counts, mut m)| {
            m.insert("severityCounts".into(), counts.severity_counts());
            match ty.as_str() {
                "ACCOUNT" | "FINDING_TYPE" => {
                    m.insert("exploitAvailableCount".into(), json!(counts.exploit));
                    m.insert("fixAvailableCount".into(), json!(counts.fix));
                }
                "AWS_EC2_INSTANCE" => {
                    m.insert("networkFindings".into(), json!(counts.network));
                }
                _ => {}
            }
            json!({ member: m })
        })
        .collect();
    let (page, next) = paginate(responses, limit, offset);
    Ok(Done::read(with_token(
        json!({"aggregationType": ty, "responses": page}),
        next,
    )))
}
