//! From JSON text to a validated [`Policy`]: the grammar's elements, their types and the
//! rules on which elements each [`PolicyKind`] needs or forbids.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::condition::parse_block;
use super::error::PolicyError;
use super::pattern::{Template, Tok, wildcard_tokens};
use super::principal::PrincipalSet;
use super::strict;
use super::{Effect, Policy, PolicyKind, Scoped, Statement, Version};

/// Elements allowed at the top level of a document.
const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];

/// Elements allowed in a statement.
const STATEMENT: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

/// Parses and validates a whole document.
pub(super) fn policy(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let doc = strict::from_str(json)?;
    let Value::Object(doc) = doc else {
        return Err(PolicyError::NotJson { line: 0, column: 0 });
    };
    known_elements(&doc, TOP_LEVEL)?;
    let version = match doc.get("Version") {
        None => Version::V2008_10_17,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
        Some(Value::String(v)) => return Err(PolicyError::InvalidVersion { version: v.clone() }),
        Some(_) => return Err(PolicyError::wrong_type("Version", "a string")),
    };
    let id = optional_string(&doc, "Id")?;
    let raw_statements: Vec<&Value> = match doc.get("Statement") {
        None => return Err(PolicyError::MissingField { field: "Statement" }),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    if raw_statements.is_empty() {
        return Err(PolicyError::NoStatements);
    }
    let variables = version == Version::V2012_10_17;
    let mut statements = Vec::with_capacity(raw_statements.len());
    let mut sids = BTreeSet::new();
    for raw in raw_statements {
        let st = statement(raw, kind, variables)?;
        if let Some(sid) = &st.sid
            && !sids.insert(sid.clone())
        {
            return Err(PolicyError::DuplicateSid { sid: sid.clone() });
        }
        statements.push(st);
    }
    Ok(Policy {
        version,
        id,
        kind,
        statements,
    })
}

/// Parses and validates one statement.
fn statement(raw: &Value, kind: PolicyKind, variables: bool) -> Result<Statement, PolicyError> {
    let Value::Object(st) = raw else {
        return Err(PolicyError::wrong_type(
            "Statement",
            "an object or a list of objects",
        ));
    };
    known_elements(st, STATEMENT)?;
    let sid = optional_string(st, "Sid")?;
    let effect = match st.get("Effect") {
        None => return Err(PolicyError::MissingField { field: "Effect" }),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(Value::String(e)) => return Err(PolicyError::InvalidEffect { effect: e.clone() }),
        Some(_) => return Err(PolicyError::wrong_type("Effect", "a string")),
    };

    let principals = match pair(st, "Principal")? {
        Some(_) if kind == PolicyKind::Identity => return Err(PolicyError::PrincipalNotAllowed),
        None if kind != PolicyKind::Identity => {
            return Err(PolicyError::MissingField { field: "Principal" });
        }
        None => None,
        Some((not, v)) => Some(Scoped {
            not,
            value: PrincipalSet::parse(v)?,
        }),
    };

    let actions = match pair(st, "Action")? {
        None => return Err(PolicyError::MissingField { field: "Action" }),
        Some((not, v)) => {
            let list = string_list(if not { "NotAction" } else { "Action" }, v)?;
            if list.is_empty() {
                return Err(PolicyError::MissingField { field: "Action" });
            }
            Scoped {
                not,
                value: list.iter().map(|a| action(a)).collect::<Result<_, _>>()?,
            }
        }
    };

    let resources = match pair(st, "Resource")? {
        None if kind == PolicyKind::Trust => None,
        None => return Err(PolicyError::MissingField { field: "Resource" }),
        Some((not, v)) => {
            let list = string_list(if not { "NotResource" } else { "Resource" }, v)?;
            if list.is_empty() {
                return Err(PolicyError::MissingField { field: "Resource" });
            }
            let value = list
                .iter()
                .map(|r| resource(r, variables))
                .collect::<Result<_, _>>()?;
            Some(Scoped { not, value })
        }
    };

    let conditions = match st.get("Condition") {
        None => Vec::new(),
        Some(block) => parse_block(block, variables)?,
    };
    Ok(Statement {
        sid,
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

/// Rejects elements not in `allowed`.
fn known_elements(map: &Map<String, Value>, allowed: &[&str]) -> Result<(), PolicyError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(PolicyError::UnknownElement {
            element: unknown.clone(),
        }),
        None => Ok(()),
    }
}

/// An optional string element.
fn optional_string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, PolicyError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PolicyError::wrong_type(name, "a string")),
    }
}

/// The element `name` or `Not<name>`: `(negated, value)`, an error if both are present.
fn pair<'a>(
    map: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<(bool, &'a Value)>, PolicyError> {
    let negated = format!("Not{name}");
    match (map.get(name), map.get(&negated)) {
        (Some(_), Some(_)) => Err(PolicyError::Conflicting { element: name }),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

/// A string or a list of strings.
fn string_list<'a>(element: &str, v: &'a Value) -> Result<Vec<&'a str>, PolicyError> {
    let expected = "a string or a list of strings";
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| PolicyError::wrong_type(element, expected))
            })
            .collect(),
        _ => Err(PolicyError::wrong_type(element, expected)),
    }
}

/// Validates one action (`*` or `service:action`, wildcards allowed) into its pattern.
fn action(a: &str) -> Result<Vec<Tok>, PolicyError> {
    let valid = a == "*"
        || a.split_once(':').is_some_and(|(service, name)| {
            !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_*?".contains(c))
                && !name.is_empty()
                && !name.chars().any(char::is_whitespace)
        });
    if valid {
        Ok(wildcard_tokens(a))
    } else {
        Err(PolicyError::InvalidAction {
            action: a.to_owned(),
        })
    }
}

/// Validates one resource (`*` or an ARN) into its template.
fn resource(r: &str, variables: bool) -> Result<Template, PolicyError> {
    if r == "*" || r.starts_with("arn:") {
        Ok(Template::parse(r, variables))
    } else {
        Err(PolicyError::InvalidResource {
            resource: r.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
