//! Request members: typed access to the JSON body, with the checks of the model's shapes
//! (`EntityName`, `EntityId`, `LockToken`, `Scope`, `NextMarker`, `PaginationLimit`, `ResourceArn`)
//! failing as `WAFInvalidParameterException`.

use portcullis_waf_model::ParameterExceptionField as F;
use portcullis_waf_model::Scope;
use portcullis_waf_model::validate::check::{
    REASON_INVALID_FORMAT, REASON_INVALID_LENGTH, REASON_MISSING, REASON_OUT_OF_RANGE,
};
use serde_json::{Map, Value};

use crate::error::{Result, WafError};

/// The request body.
#[derive(Debug, Clone, Default)]
pub struct Input(pub Map<String, Value>);

/// True for the model's `EntityId`/`LockToken` pattern: a lowercase UUID.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// True for the model's `EntityName`: 1–128 word characters or `-`.
pub fn is_entity_name(s: &str) -> bool {
    (1..=128).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl Input {
    /// Parses a body; empty means `{}`.
    pub fn parse(body: &[u8]) -> Result<Input> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input::default());
        }
        if body.len() > portcullis_waf_model::MAX_DOCUMENT_BYTES {
            return Err(WafError::LimitsExceeded(
                "The request body is larger than WAF accepts.".into(),
            ));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(Input(m)),
            Ok(_) => Err(WafError::Serialization(
                "The request body must be a JSON object.".into(),
            )),
            Err(e) => Err(WafError::Serialization(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    /// The whole body as a JSON value (for the model's request types).
    pub fn value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// An optional member.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// An optional string member.
    pub fn str_opt(&self, name: &str) -> Result<Option<&str>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(WafError::Serialization(format!(
                "Member {name} must be a string"
            ))),
        }
    }

    /// A required string member; missing is `WAFInvalidParameterException` on `field`.
    pub fn str_req(&self, name: &str, field: F) -> Result<&str> {
        self.str_opt(name)?
            .ok_or_else(|| WafError::invalid(field, name, REASON_MISSING))
    }

    /// `Scope*`.
    pub fn scope(&self) -> Result<Scope> {
        let s = self.str_req("Scope", F::ScopeValue)?;
        Scope::from_aws(s).ok_or_else(|| WafError::invalid(F::ScopeValue, s, REASON_INVALID_FORMAT))
    }

    /// A required `EntityName` member.
    pub fn name(&self, member: &str, field: F) -> Result<String> {
        let s = self.str_req(member, field)?;
        if !is_entity_name(s) {
            return Err(WafError::invalid(field, s, REASON_INVALID_FORMAT));
        }
        Ok(s.to_owned())
    }

    /// A required `EntityId` member.
    pub fn id(&self, field: F) -> Result<String> {
        let s = self.str_req("Id", field)?;
        if !is_uuid(s) {
            return Err(WafError::invalid(field, s, REASON_INVALID_FORMAT));
        }
        Ok(s.to_owned())
    }

    /// `LockToken*`.
    pub fn lock_token(&self, field: F) -> Result<String> {
        let s = self.str_req("LockToken", field)?;
        check_lock_token(s, field)?;
        Ok(s.to_owned())
    }

    /// A required `ResourceArn` member (20–2048 characters).
    pub fn arn(&self, member: &str) -> Result<String> {
        let s = self.str_req(member, F::ResourceArn)?;
        if !(20..=2048).contains(&s.chars().count()) {
            return Err(WafError::invalid(F::ResourceArn, s, REASON_INVALID_LENGTH));
        }
        Ok(s.to_owned())
    }

    /// An optional integer member within `range` (`field` names the error).
    pub fn int_opt(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        field: F,
    ) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                let n = v.as_i64().ok_or_else(|| {
                    WafError::Serialization(format!("Member {name} must be an integer"))
                })?;
                if !range.contains(&n) {
                    return Err(WafError::invalid(field, n.to_string(), REASON_OUT_OF_RANGE));
                }
                Ok(Some(n))
            }
        }
    }

    /// `Limit` (1–100, default 100) and `NextMarker` (1–256 characters).
    pub fn page(&self) -> Result<(usize, Option<String>)> {
        let limit = self
            .int_opt("Limit", 1..=100, F::EntityLimit)?
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(100);
        let marker = self.str_opt("NextMarker")?;
        if let Some(m) = marker
            && !(1..=256).contains(&m.chars().count())
        {
            return Err(WafError::invalid(F::EntityLimit, m, REASON_INVALID_LENGTH));
        }
        Ok((limit, marker.map(str::to_owned)))
    }
}

/// Checks the `LockToken` pattern.
pub fn check_lock_token(s: &str, field: F) -> Result<()> {
    if !is_uuid(s) {
        return Err(WafError::invalid(field, s, REASON_INVALID_FORMAT));
    }
    Ok(())
}

/// One page of a list sorted by `key`: items after `marker`, at most `limit`, and the next marker.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    limit: usize,
    marker: Option<&str>,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|i| marker.is_none_or(|m| key(i).as_str() > m))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = if more { rest.last().map(&key) } else { None };
    (rest, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_names() {
        assert!(is_uuid("0f3b2a1c-5d6e-4f70-8192-a3b4c5d6e7f8"));
        assert!(!is_uuid("0F3B2A1C-5D6E-4F70-8192-A3B4C5D6E7F8"));
        assert!(!is_uuid("0f3b2a1c5d6e4f708192a3b4c5d6e7f8"));
        assert!(is_entity_name("shop-acl_1"));
        assert!(!is_entity_name("shop acl"));
        assert!(!is_entity_name(""));
        assert!(!is_entity_name(&"a".repeat(129)));
    }

    #[test]
    fn pages_walk_once() {
        let items: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let (page, next) = paginate(items.clone(), Clone::clone, 3, marker.as_deref());
            assert!(page.len() <= 3);
            seen.extend(page);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn page_parameters_are_checked() {
        let i = Input::parse(br#"{"Limit": 0}"#).unwrap();
        assert!(matches!(i.page(), Err(WafError::InvalidParameter(_))));
        let i = Input::parse(br#"{"Limit": 5, "NextMarker": "x"}"#).unwrap();
        assert_eq!(i.page().unwrap(), (5, Some("x".into())));
        assert!(matches!(
            Input::parse(b"[1]"),
            Err(WafError::Serialization(_))
        ));
    }
}
