//! Filter criteria as the model defines them — `FilterCriteria` (findings),
//! `CoverageFilterCriteria` (coverage) and `ResourceFilterCriteria` (SBOM exports) — and
//! `SortCriteria`.
//!
//! Semantics (the model does not state them): the filters of one key are combined with OR,
//! except `NOT_EQUALS`, which must hold for every value (so `severity ≠ LOW` and `≠ MEDIUM`
//! together exclude both); different keys combine with AND. A multi-valued member (resource
//! ids, related vulnerabilities, packages) matches a positive filter when any value does and a
//! `NOT_EQUALS` filter when none does. Keys for resources Portcullis never has (ECR images,
//! Lambda functions, other clouds) are accepted and match nothing, except through
//! `NOT_EQUALS`.

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{InspectorApiError, Result};

/// Which criteria shape is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `FilterCriteria` over findings.
    Findings,
    /// `CoverageFilterCriteria` over covered resources.
    Coverage,
    /// `ResourceFilterCriteria` over covered resources (SBOM exports).
    Resources,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Num,
    Date,
    Map,
    Port,
    Package,
}

fn kind(scope: Scope, key: &str) -> Option<Kind> {
    use Kind::*;
    match scope {
        Scope::Findings => Some(match key {
            "firstObservedAt"
            | "lastObservedAt"
            | "updatedAt"
            | "ecrImagePushedAt"
            | "ecrImageLastInUseAt"
            | "lambdaFunctionLastModifiedAt"
            | "cloudImagePushedAt"
            | "cloudImageLastInUseAt"
            | "cloudServerlessFunctionLastModifiedAt" => Date,
            "inspectorScore" | "epssScore" | "ecrImageInUseCount" | "cloudImageInUseCount" => Num,
            "resourceTags" => Map,
            "portRange" => Port,
            "vulnerablePackages" => Package,
            "findingArn"
            | "awsAccountId"
            | "findingType"
            | "severity"
            | "findingStatus"
            | "title"
            | "resourceType"
            | "resourceId"
            | "ec2InstanceImageId"
            | "ec2InstanceVpcId"
            | "ec2InstanceSubnetId"
            | "ecrImageArchitecture"
            | "ecrImageRegistry"
            | "ecrImageRepositoryName"
            | "ecrImageTags"
            | "ecrImageHash"
            | "networkProtocol"
            | "componentId"
            | "componentType"
            | "vulnerabilityId"
            | "vulnerabilitySource"
            | "vendorSeverity"
            | "relatedVulnerabilities"
            | "fixAvailable"
            | "lambdaFunctionName"
            | "lambdaFunctionLayers"
            | "lambdaFunctionRuntime"
            | "lambdaFunctionExecutionRoleArn"
            | "exploitAvailable"
            | "codeVulnerabilityDetectorName"
            | "codeVulnerabilityDetectorTags"
            | "codeVulnerabilityFilePath"
            | "codeRepositoryProjectName"
            | "codeRepositoryProviderType"
            | "machineImageId"
            | "machineImageName"
            | "machineImageOwnerAccountId"
            | "machineImagePlatform"
            | "cloudProvider"
            | "cloudProviderRegion"
            | "cloudProviderAccountId"
            | "cloudProviderOrgId"
            | "cloudVmImageReference"
            | "cloudVmNetworkId"
            | "cloudVmSubnetIds"
            | "cloudImageRepositoryName"
            | "cloudImageRegistry"
            | "cloudImageDigest"
            | "cloudImageTags"
            | "cloudImageArchitecture"
            | "cloudServerlessFunctionName"
            | "cloudServerlessFunctionRuntime"
            | "cloudServerlessFunctionExecutionRole" => Str,
            _ => return None,
        }),
        Scope::Coverage => Some(match key {
            "lastScannedAt" | "imagePulledAt" | "ecrImageLastInUseAt" => Date,
            "ecrImageInUseCount" => Num,
            "ec2InstanceTags"
            | "lambdaFunctionTags"
            | "machineImageTags"
            | "cloudVmInstanceTags"
            | "cloudServerlessFunctionTags" => Map,
            "scanStatusCode"
            | "scanStatusReason"
            | "accountId"
            | "resourceId"
            | "resourceType"
            | "scanType"
            | "ecrRepositoryName"
            | "ecrImageTags"
            | "lambdaFunctionName"
            | "lambdaFunctionRuntime"
            | "scanMode"
            | "codeRepositoryProjectName"
            | "codeRepositoryProviderType"
            | "codeRepositoryProviderTypeVisibility"
            | "lastScannedCommitId"
            | "cloudProvider"
            | "cloudProviderAccountId"
            | "cloudProviderRegion"
            | "cloudContainerImageTags"
            | "cloudContainerRepositoryName"
            | "cloudContainerRegistryName"
            | "cloudServerlessFunctionName"
            | "cloudServerlessFunctionRuntime"
            | "cloudProviderOrgId" => Str,
            _ => return None,
        }),
        Scope::Resources => Some(match key {
            "ec2InstanceTags"
            | "lambdaFunctionTags"
            | "cloudVmInstanceTags"
            | "cloudServerlessFunctionTags" => Map,
            "accountId"
            | "resourceId"
            | "resourceType"
            | "ecrRepositoryName"
            | "lambdaFunctionName"
            | "ecrImageTags"
            | "cloudProvider"
            | "cloudProviderAccountId"
            | "cloudProviderOrgId"
            | "cloudProviderRegion"
            | "cloudContainerImageTags"
            | "cloudContainerRepositoryName"
            | "cloudContainerRegistryName"
            | "cloudServerlessFunctionName"
            | "cloudServerlessFunctionRuntime" => Str,
            _ => return None,
        }),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Equals,
    Prefix,
    NotEquals,
}

#[derive(Debug, Clone, PartialEq)]
struct StrF {
    cmp: Cmp,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Range {
    lo: Option<f64>,
    hi: Option<f64>,
}

impl Range {
    fn holds(&self, x: f64) -> bool {
        self.lo.is_none_or(|l| x >= l) && self.hi.is_none_or(|h| x <= h)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct PkgF {
    strs: Vec<(&'static str, StrF)>,
    epoch: Option<Range>,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Str(Vec<StrF>),
    Num(Vec<Range>),
    Map(Vec<(String, Option<String>)>),
    Package(Vec<PkgF>),
}

/// Parsed criteria.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    clauses: Vec<(String, Test)>,
}

/// A timestamp member: epoch seconds (number or numeric string) or RFC 3339.
pub fn parse_time(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| {
            OffsetDateTime::parse(s, &Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
        }),
        _ => None,
    }
}

fn str_filter(name: &str, v: &Value, scope: Scope) -> Result<StrF> {
    let cmp = match v.get("comparison").and_then(Value::as_str) {
        Some("EQUALS") => Cmp::Equals,
        Some("NOT_EQUALS") => Cmp::NotEquals,
        Some("PREFIX") if scope == Scope::Findings => Cmp::Prefix,
        _ => {
            return Err(InspectorApiError::field(
                name,
                "comparison must be one of EQUALS, PREFIX (findings only), NOT_EQUALS",
            ));
        }
    };
    let value = v
        .get("value")
        .and_then(Value::as_str)
        .filter(|s| (1..=1024).contains(&s.chars().count()))
        .ok_or_else(|| InspectorApiError::field(name, "value must be 1 to 1024 characters"))?;
    Ok(StrF {
        cmp,
        value: value.to_owned(),
    })
}

fn range(name: &str, v: &Value, lo: &str, hi: &str, date: bool) -> Result<Range> {
    let get = |k: &str| -> Result<Option<f64>> {
        match v.get(k).filter(|x| !x.is_null()) {
            None => Ok(None),
            Some(x) => {
                let parsed = if date { parse_time(x) } else { x.as_f64() };
                parsed
                    .map(Some)
                    .ok_or_else(|| InspectorApiError::field(name, format!("{k} is not valid")))
            }
        }
    };
    Ok(Range {
        lo: get(lo)?,
        hi: get(hi)?,
    })
}

fn pkg_filter(name: &str, v: &Value) -> Result<PkgF> {
    let mut strs = Vec::new();
    for (member, field) in [
        ("name", "name"),
        ("version", "version"),
        ("release", "release"),
        ("architecture", "arch"),
        ("sourceLayerHash", "sourceLayerHash"),
        ("sourceLambdaLayerArn", "sourceLambdaLayerArn"),
        ("filePath", "filePath"),
    ] {
        if let Some(f) = v.get(member).filter(|x| !x.is_null()) {
            strs.push((
                field,
                str_filter(&format!("{name}.{member}"), f, Scope::Findings)?,
            ));
        }
    }
    let epoch = match v.get("epoch").filter(|x| !x.is_null()) {
        Some(e) => Some(range(name, e, "lowerInclusive", "upperInclusive", false)?),
        None => None,
    };
    Ok(PkgF { strs, epoch })
}

impl Criteria {
    /// Parses a criteria object (absent or `null`: match everything).
    pub fn parse(v: Option<&Value>, scope: Scope) -> Result<Criteria> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Criteria::default());
        };
        let obj = v
            .as_object()
            .ok_or_else(|| InspectorApiError::field("filterCriteria", "must be an object"))?;
        let mut clauses = Vec::new();
        for (key, list) in obj {
            if list.is_null() {
                continue;
            }
            let k = kind(scope, key).ok_or_else(|| {
                InspectorApiError::field(key, "is not a filter criterion of this operation")
            })?;
            let items = list
                .as_array()
                .filter(|a| (1..=10).contains(&a.len()))
                .ok_or_else(|| {
                    InspectorApiError::field(key, "must be a list of 1 to 10 filters")
                })?;
            let test = match k {
                Kind::Str => Test::Str(
                    items
                        .iter()
                        .map(|i| str_filter(key, i, scope))
                        .collect::<Result<_>>()?,
                ),
                Kind::Num => Test::Num(
                    items
                        .iter()
                        .map(|i| range(key, i, "lowerInclusive", "upperInclusive", false))
                        .collect::<Result<_>>()?,
                ),
                Kind::Date => Test::Num(
                    items
                        .iter()
                        .map(|i| range(key, i, "startInclusive", "endInclusive", true))
                        .collect::<Result<_>>()?,
                ),
                Kind::Port => Test::Num(
                    items
                        .iter()
                        .map(|i| range(key, i, "beginInclusive", "endInclusive", false))
                        .collect::<Result<_>>()?,
                ),
                Kind::Map => Test::Map(
                    items
                        .iter()
                        .map(|i| {
                            if i.get("comparison").and_then(Value::as_str) != Some("EQUALS") {
                                return Err(InspectorApiError::field(
                                    key,
                                    "comparison must be EQUALS",
                                ));
                            }
                            let k = i
                                .get("key")
                                .and_then(Value::as_str)
                                .filter(|s| !s.is_empty())
                                .ok_or_else(|| InspectorApiError::field(key, "key is required"))?;
                            Ok((
                                k.to_owned(),
                                i.get("value").and_then(Value::as_str).map(str::to_owned),
                            ))
                        })
                        .collect::<Result<_>>()?,
                ),
                Kind::Package => Test::Package(
                    items
                        .iter()
                        .map(|i| pkg_filter(key, i))
                        .collect::<Result<_>>()?,
                ),
            };
            clauses.push((key.clone(), test));
        }
        Ok(Criteria { clauses })
    }

    /// Whether no criterion is set.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Whether `doc` matches, reading each key's values with `values`.
    pub fn matches(&self, doc: &Value, values: fn(&Value, &str) -> Vec<Value>) -> bool {
        self.clauses.iter().all(|(key, test)| {
            let vals = values(doc, key);
            match test {
                Test::Str(fs) => str_matches(fs, &vals),
                Test::Num(rs) => {
                    let nums: Vec<f64> = vals.iter().filter_map(Value::as_f64).collect();
                    rs.iter().any(|r| nums.iter().any(|x| r.holds(*x)))
                }
                Test::Map(ms) => ms.iter().any(|(k, want)| {
                    vals.iter().any(|m| {
                        m.get(k)
                            .and_then(Value::as_str)
                            .is_some_and(|v| want.as_deref().is_none_or(|w| w == v))
                    })
                }),
                Test::Package(ps) => ps
                    .iter()
                    .any(|p| vals.iter().any(|pkg| pkg_matches(p, pkg))),
            }
        })
    }
}

/// A `StringFilterList` on its own (the aggregation requests use them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringFilters(Vec<StrF>);

impl StringFilters {
    /// Parses an optional list of 1–10 `StringFilter`s.
    pub fn parse(name: &str, v: Option<&Value>) -> Result<StringFilters> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(StringFilters::default());
        };
        let items = v
            .as_array()
            .filter(|a| (1..=10).contains(&a.len()))
            .ok_or_else(|| InspectorApiError::field(name, "must be a list of 1 to 10 filters"))?;
        Ok(StringFilters(
            items
                .iter()
                .map(|i| str_filter(name, i, Scope::Findings))
                .collect::<Result<_>>()?,
        ))
    }

    /// Whether the values pass (no filters: always).
    pub fn matches(&self, vals: &[&str]) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let vals: Vec<Value> = vals.iter().map(|s| Value::from(*s)).collect();
        str_matches(&self.0, &vals)
    }
}

fn one_str(f: &StrF, v: &str) -> bool {
    match f.cmp {
        Cmp::Equals | Cmp::NotEquals => v == f.value,
        Cmp::Prefix => v.starts_with(&f.value),
    }
}

fn str_matches(fs: &[StrF], vals: &[Value]) -> bool {
    let strs: Vec<&str> = vals.iter().filter_map(Value::as_str).collect();
    let (neg, pos): (Vec<&StrF>, Vec<&StrF>) = fs.iter().partition(|f| f.cmp == Cmp::NotEquals);
    let pos_ok = pos.is_empty() || pos.iter().any(|f| strs.iter().any(|v| one_str(f, v)));
    let neg_ok = neg.iter().all(|f| !strs.iter().any(|v| one_str(f, v)));
    pos_ok && neg_ok
}

fn pkg_matches(p: &PkgF, pkg: &Value) -> bool {
    let strs_ok = p.strs.iter().all(|(field, f)| {
        let v = pkg.get(*field).and_then(Value::as_str);
        match (f.cmp.clone(), v) {
            (Cmp::NotEquals, None) => true,
            (Cmp::NotEquals, Some(v)) => v != f.value,
            (_, Some(v)) => one_str(f, v),
            (_, None) => false,
        }
    });
    let epoch_ok = p
        .epoch
        .as_ref()
        .is_none_or(|r| r.holds(pkg.get("epoch").and_then(Value::as_f64).unwrap_or(0.0)));
    strs_ok && epoch_ok
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k))
}

fn each_resource(doc: &Value, path: &[&str]) -> Vec<Value> {
    doc.get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| at(r, path).cloned())
        .collect()
}

fn flat(v: Option<&Value>) -> Vec<Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(x) => vec![x.clone()],
    }
}

/// The values of a `FilterCriteria` key in a finding.
pub fn finding_values(f: &Value, key: &str) -> Vec<Value> {
    let pvd = |k: &str| flat(at(f, &["packageVulnerabilityDetails", k]));
    match key {
        "findingArn" | "awsAccountId" | "title" | "severity" | "fixAvailable"
        | "exploitAvailable" | "firstObservedAt" | "lastObservedAt" | "updatedAt"
        | "inspectorScore" => flat(f.get(key)),
        "findingType" => flat(f.get("type")),
        "findingStatus" => flat(f.get("status")),
        "epssScore" => flat(at(f, &["epss", "score"])),
        "resourceType" => each_resource(f, &["type"]),
        "resourceId" => each_resource(f, &["id"]),
        "resourceTags" => each_resource(f, &["tags"]),
        "ec2InstanceImageId" => each_resource(f, &["details", "awsEc2Instance", "imageId"]),
        "ec2InstanceVpcId" => each_resource(f, &["details", "awsEc2Instance", "vpcId"]),
        "ec2InstanceSubnetId" => each_resource(f, &["details", "awsEc2Instance", "subnetId"]),
        "vulnerabilityId" => pvd("vulnerabilityId"),
        "vulnerabilitySource" => pvd("source"),
        "vendorSeverity" => pvd("vendorSeverity"),
        "relatedVulnerabilities" => pvd("relatedVulnerabilities"),
        "vulnerablePackages" => pvd("vulnerablePackages"),
        "networkProtocol" => flat(at(f, &["networkReachabilityDetails", "protocol"])),
        "portRange" => {
            let r = at(f, &["networkReachabilityDetails", "openPortRange"]);
            // A finding's range is inside the filter's when both of its ends are.
            let ends = [r.and_then(|r| r.get("begin")), r.and_then(|r| r.get("end"))];
            if ends.iter().all(Option::is_some) {
                ends.into_iter().flatten().cloned().collect()
            } else {
                Vec::new()
            }
        }
        "componentId" | "componentType" => {
            at(f, &["networkReachabilityDetails", "networkPath", "steps"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get(key).cloned())
                .collect()
        }
        "codeVulnerabilityDetectorName" => {
            flat(at(f, &["codeVulnerabilityDetails", "detectorName"]))
        }
        "codeVulnerabilityDetectorTags" => {
            flat(at(f, &["codeVulnerabilityDetails", "detectorTags"]))
        }
        "codeVulnerabilityFilePath" => {
            flat(at(f, &["codeVulnerabilityDetails", "filePath", "filePath"]))
        }
        _ => Vec::new(),
    }
}

/// The values of a `CoverageFilterCriteria` / `ResourceFilterCriteria` key in a covered
/// resource.
pub fn coverage_values(c: &Value, key: &str) -> Vec<Value> {
    match key {
        "scanStatusCode" => flat(at(c, &["scanStatus", "statusCode"])),
        "scanStatusReason" => flat(at(c, &["scanStatus", "reason"])),
        "accountId" | "resourceId" | "resourceType" | "scanType" | "scanMode" | "lastScannedAt" => {
            flat(c.get(key))
        }
        "ec2InstanceTags" => flat(at(c, &["resourceMetadata", "ec2", "tags"])),
        _ => Vec::new(),
    }
}

/// A `portRange` filter holds when the finding's begin and end both lie in it; with the
/// generic numeric test that is "every value in range", checked here.
pub fn port_range_ok(criteria: &Criteria, f: &Value) -> bool {
    criteria.clauses.iter().all(|(k, t)| match (k.as_str(), t) {
        ("portRange", Test::Num(rs)) => {
            let ends: Vec<f64> = finding_values(f, "portRange")
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            !ends.is_empty() && rs.iter().any(|r| ends.iter().all(|x| r.holds(*x)))
        }
        _ => true,
    })
}

/// Whether a finding matches `FilterCriteria`.
pub fn finding_matches(criteria: &Criteria, f: &Value) -> bool {
    criteria.matches(f, finding_values) && port_range_ok(criteria, f)
}

/// Severity order for sorting (UNTRIAGED sorts with INFORMATIONAL, below LOW).
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "CRITICAL" => 5,
        "HIGH" => 4,
        "MEDIUM" => 3,
        "LOW" => 2,
        "INFORMATIONAL" => 1,
        _ => 0,
    }
}

/// `SortCriteria`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    field: String,
    descending: bool,
}

impl Sort {
    /// Parses `sortCriteria` (absent: none).
    pub fn parse(v: Option<&Value>) -> Result<Option<Sort>> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let field = v
            .get("field")
            .and_then(Value::as_str)
            .filter(|f| {
                [
                    "AWS_ACCOUNT_ID",
                    "FINDING_TYPE",
                    "SEVERITY",
                    "FIRST_OBSERVED_AT",
                    "LAST_OBSERVED_AT",
                    "FINDING_STATUS",
                    "RESOURCE_TYPE",
                    "ECR_IMAGE_PUSHED_AT",
                    "ECR_IMAGE_REPOSITORY_NAME",
                    "ECR_IMAGE_REGISTRY",
                    "NETWORK_PROTOCOL",
                    "COMPONENT_TYPE",
                    "VULNERABILITY_ID",
                    "VULNERABILITY_SOURCE",
                    "INSPECTOR_SCORE",
                    "VENDOR_SEVERITY",
                    "EPSS_SCORE",
                ]
                .contains(f)
            })
            .ok_or_else(|| InspectorApiError::field("sortCriteria.field", "is not a SortField"))?;
        let descending = match v.get("sortOrder").and_then(Value::as_str) {
            Some("ASC") => false,
            Some("DESC") => true,
            _ => {
                return Err(InspectorApiError::field(
                    "sortCriteria.sortOrder",
                    "must be ASC or DESC",
                ));
            }
        };
        Ok(Some(Sort {
            field: field.to_owned(),
            descending,
        }))
    }

    fn key(&self, f: &Value) -> Value {
        let first = |k: &str| {
            finding_values(f, k)
                .into_iter()
                .next()
                .unwrap_or(Value::Null)
        };
        match self.field.as_str() {
            "AWS_ACCOUNT_ID" => first("awsAccountId"),
            "FINDING_TYPE" => first("findingType"),
            "SEVERITY" => Value::from(severity_rank(first("severity").as_str().unwrap_or(""))),
            "FIRST_OBSERVED_AT" => first("firstObservedAt"),
            "LAST_OBSERVED_AT" => first("lastObservedAt"),
            "FINDING_STATUS" => first("findingStatus"),
            "RESOURCE_TYPE" => first("resourceType"),
            "NETWORK_PROTOCOL" => first("networkProtocol"),
            "COMPONENT_TYPE" => first("componentType"),
            "VULNERABILITY_ID" => first("vulnerabilityId"),
            "VULNERABILITY_SOURCE" => first("vulnerabilitySource"),
            "INSPECTOR_SCORE" => first("inspectorScore"),
            "VENDOR_SEVERITY" => first("vendorSeverity"),
            "EPSS_SCORE" => first("epssScore"),
            _ => Value::Null,
        }
    }

    /// Orders two findings (missing values last in either order; ties by ARN).
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let (ka, kb) = (self.key(a), self.key(b));
        let primary = match (&ka, &kb) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => return Ordering::Greater,
            (_, Value::Null) => return Ordering::Less,
            (Value::Number(x), Value::Number(y)) => {
                let o = x
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&y.as_f64().unwrap_or(0.0));
                if self.descending { o.reverse() } else { o }
            }
            (x, y) => {
                let o = x.as_str().unwrap_or("").cmp(y.as_str().unwrap_or(""));
                if self.descending { o.reverse() } else { o }
            }
        };
        primary.then_with(|| arn_of(a).cmp(arn_of(b)))
    }
}

/// A finding's ARN ("" when missing).
pub fn arn_of(f: &Value) -> &str {
    f.get("findingArn").and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(sev: &str, score: f64, status: &str) -> Value {
        json!({"findingArn": format!("arn:{sev}"), "awsAccountId": "111122223333", "type": "PACKAGE_VULNERABILITY",
            "severity": sev, "status": status, "inspectorScore": score, "firstObservedAt": 100.0,
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": "host-1", "tags": {"env": "prod"}}],
            "packageVulnerabilityDetails": {"vulnerabilityId": "RUSTSEC-2022-0013", "source": "RUSTSEC",
                "relatedVulnerabilities": ["CVE-2022-24713"],
                "vulnerablePackages": [{"name": "regex", "version": "1.4.2", "filePath": "/srv/Cargo.lock"}]}})
    }

    fn m(c: Value, doc: &Value) -> bool {
        finding_matches(&Criteria::parse(Some(&c), Scope::Findings).unwrap(), doc)
    }

    #[test]
    fn string_number_date_map_and_package_filters() {
        let d = f("HIGH", 7.5, "ACTIVE");
        assert!(m(json!({}), &d));
        assert!(m(
            json!({"severity": [{"comparison": "EQUALS", "value": "LOW"}, {"comparison": "EQUALS", "value": "HIGH"}]}),
            &d
        ));
        assert!(!m(
            json!({"severity": [{"comparison": "NOT_EQUALS", "value": "HIGH"}]}),
            &d
        ));
        assert!(m(
            json!({"vulnerabilityId": [{"comparison": "PREFIX", "value": "RUSTSEC-"}]}),
            &d
        ));
        assert!(m(
            json!({"relatedVulnerabilities": [{"comparison": "EQUALS", "value": "CVE-2022-24713"}]}),
            &d
        ));
        assert!(!m(
            json!({"relatedVulnerabilities": [{"comparison": "NOT_EQUALS", "value": "CVE-2022-24713"}]}),
            &d
        ));
        assert!(m(json!({"inspectorScore": [{"lowerInclusive": 7.5}]}), &d));
        assert!(!m(json!({"inspectorScore": [{"upperInclusive": 7.4}]}), &d));
        assert!(m(
            json!({"firstObservedAt": [{"startInclusive": 100, "endInclusive": 100}]}),
            &d
        ));
        assert!(m(
            json!({"firstObservedAt": [{"startInclusive": "1970-01-01T00:01:00Z"}]}),
            &d
        ));
        assert!(!m(
            json!({"firstObservedAt": [{"startInclusive": 101}]}),
            &d
        ));
        assert!(m(
            json!({"resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "prod"}]}),
            &d
        ));
        assert!(m(
            json!({"resourceTags": [{"comparison": "EQUALS", "key": "env"}]}),
            &d
        ));
        assert!(!m(
            json!({"resourceTags": [{"comparison": "EQUALS", "key": "env", "value": "dev"}]}),
            &d
        ));
        assert!(m(
            json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "regex"},
            "filePath": {"comparison": "PREFIX", "value": "/srv/"}}]}),
            &d
        ));
        assert!(!m(
            json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "regex"},
            "version": {"comparison": "EQUALS", "value": "1.5.5"}}]}),
            &d
        ));
        // Keys for resources Portcullis never has match nothing.
        assert!(!m(
            json!({"ecrImageHash": [{"comparison": "EQUALS", "value": "x"}]}),
            &d
        ));
        // AND across keys.
        assert!(!m(
            json!({"severity": [{"comparison": "EQUALS", "value": "HIGH"}],
            "findingStatus": [{"comparison": "EQUALS", "value": "CLOSED"}]}),
            &d
        ));
    }

    #[test]
    fn invalid_criteria_are_validation_errors() {
        for bad in [
            json!({"nope": [{"comparison": "EQUALS", "value": "x"}]}),
            json!({"severity": []}),
            json!({"severity": [{"comparison": "LIKE", "value": "x"}]}),
            json!({"severity": [{"comparison": "EQUALS", "value": ""}]}),
            json!({"inspectorScore": [{"lowerInclusive": "x"}]}),
            json!({"resourceTags": [{"comparison": "PREFIX", "key": "k"}]}),
            json!([1]),
        ] {
            let e = Criteria::parse(Some(&bad), Scope::Findings).unwrap_err();
            assert_eq!(e.code(), "ValidationException", "{bad}");
        }
        // PREFIX is for findings only.
        let c = json!({"resourceId": [{"comparison": "PREFIX", "value": "x"}]});
        assert!(Criteria::parse(Some(&c), Scope::Coverage).is_err());
    }

    #[test]
    fn sorting() {
        let mut v = [
            f("LOW", 2.0, "ACTIVE"),
            f("CRITICAL", 9.8, "ACTIVE"),
            f("HIGH", 7.5, "ACTIVE"),
        ];
        let s = Sort::parse(Some(&json!({"field": "SEVERITY", "sortOrder": "DESC"})))
            .unwrap()
            .unwrap();
        v.sort_by(|a, b| s.compare(a, b));
        let sev: Vec<&str> = v.iter().map(|x| x["severity"].as_str().unwrap()).collect();
        assert_eq!(sev, ["CRITICAL", "HIGH", "LOW"]);
        let s = Sort::parse(Some(
            &json!({"field": "INSPECTOR_SCORE", "sortOrder": "ASC"}),
        ))
        .unwrap()
        .unwrap();
        v.sort_by(|a, b| s.compare(a, b));
        assert_eq!(v[0]["severity"], "LOW");
        assert!(Sort::parse(Some(&json!({"field": "NOPE", "sortOrder": "ASC"}))).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_json_never_panics(s in "\\PC{0,200}") {
            if let Ok(v) = serde_json::from_str::<Value>(&s) {
                let _ = Criteria::parse(Some(&v), Scope::Findings);
                let _ = Criteria::parse(Some(&v), Scope::Coverage);
                let _ = Sort::parse(Some(&v));
            }
        }
    }
}
