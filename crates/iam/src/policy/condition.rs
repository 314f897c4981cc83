//! The `Condition` element: operators, set qualifiers, `IfExists`, and how a block is
//! evaluated.
//!
//! A block is `{ "<Operator>": { "<key>": value-or-list, ... }, ... }`. Every operator and
//! every key must hold (AND); the values listed for one key are alternatives (OR). For a
//! negated operator the request value must match *none* of the values. The set qualifiers
//! decide how a multivalued request key is treated: `ForAnyValue:` needs one request value
//! to pass (false if the key is missing), `ForAllValues:` needs every request value to pass
//! (true if the key is missing). `...IfExists` makes a missing key pass.

use serde_json::Value;

use super::context::{ContextValue, RequestContext};
use super::error::PolicyError;
use super::operators::{Operand, Test, base_operator, compare, operand};

/// How a multivalued request key is quantified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    /// `ForAllValues:`: every request value must pass.
    ForAll,
    /// `ForAnyValue:`: at least one request value must pass.
    ForAny,
}

/// One operator applied to one condition key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    test: Test,
    negated: bool,
    if_exists: bool,
    set: Option<SetOp>,
    key: String,
    values: Vec<Operand>,
}

/// Parses a `Condition` element; `variables` enables policy variables in values.
pub(crate) fn parse_block(block: &Value, variables: bool) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = block else {
        return Err(PolicyError::wrong_type("Condition", "an object"));
    };
    let mut conditions = Vec::new();
    for (name, keys) in operators {
        let (test, negated, if_exists, set) = parse_operator(name)?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::wrong_type(
                name.as_str(),
                "an object of condition keys",
            ));
        };
        for (key, raw) in keys {
            if !key
                .split_once(':')
                .is_some_and(|(vendor, rest)| !vendor.is_empty() && !rest.is_empty())
            {
                return Err(PolicyError::InvalidConditionKey { key: key.clone() });
            }
            let values = scalars(key, raw)?
                .into_iter()
                .map(|v| {
                    operand(test, &v, variables).ok_or_else(|| PolicyError::InvalidConditionValue {
                        operator: name.clone(),
                        key: key.clone(),
                        value: v,
                    })
                })
                .collect::<Result<_, _>>()?;
            conditions.push(Condition {
                test,
                negated,
                if_exists,
                set,
                key: key.clone(),
                values,
            });
        }
    }
    Ok(conditions)
}

/// Splits an operator name into its test, negation, `IfExists` and set qualifier.
fn parse_operator(name: &str) -> Result<(Test, bool, bool, Option<SetOp>), PolicyError> {
    let unknown = || PolicyError::UnknownConditionOperator {
        operator: name.to_owned(),
    };
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Some(SetOp::ForAll), rest)
    } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Some(SetOp::ForAny), rest)
    } else {
        (None, name)
    };
    let (if_exists, base) = match rest.strip_suffix("IfExists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    let (test, negated) = base_operator(base).ok_or_else(unknown)?;
    if test == Test::Null && (if_exists || set.is_some()) {
        return Err(unknown());
    }
    Ok((test, negated, if_exists, set))
}

/// The values of one condition key: a string, number or boolean, or a list of them.
fn scalars(key: &str, raw: &Value) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(PolicyError::wrong_type(
            key,
            "a string, number, boolean or a list of them",
        )),
    };
    match raw {
        Value::Array(items) => items.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

impl Condition {
    /// Whether the condition holds for the request.
    pub(crate) fn holds(&self, ctx: &RequestContext) -> bool {
        let present = ctx.lookup(&self.key);
        if self.test == Test::Null {
            let missing = present.is_none();
            return self.values.contains(&Operand::Bool(missing));
        }
        let Some(value) = present else {
            // AWS: a missing key fails the positive operators, passes the negated ones,
            // passes ForAllValues (vacuously) and fails ForAnyValue; IfExists passes.
            return self.if_exists
                || match self.set {
                    Some(SetOp::ForAll) => true,
                    Some(SetOp::ForAny) => false,
                    None => self.negated,
                };
        };
        let passes = |v: &String| match self.matches_any(v, ctx) {
            Some(matched) => matched != self.negated,
            None => false,
        };
        match (self.set, value.as_ref()) {
            (Some(SetOp::ForAll), v) => v.values().iter().all(passes),
            (Some(SetOp::ForAny), v) => v.values().iter().any(passes),
            (None, ContextValue::Single(v)) => passes(v),
            // Without a qualifier a multivalued key behaves as "any value matches" for the
            // positive operators, so the negated ones need every value to match none.
            (None, ContextValue::Multi(vs)) if self.negated => vs.iter().all(passes),
            (None, ContextValue::Multi(vs)) => vs.iter().any(passes),
        }
    }

    /// Whether the request value matches any policy value; `None` if it is not of the
    /// operator's type at all.
    fn matches_any(&self, value: &str, ctx: &RequestContext) -> Option<bool> {
        for policy in &self.values {
            if compare(self.test, policy, value, ctx)? {
                return Some(true);
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests;
