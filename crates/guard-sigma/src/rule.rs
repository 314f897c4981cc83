//! Sigma detection rules: metadata and compilation of one YAML document into a matcher.

use serde_json::Value;
use serde_norway::{Mapping, Value as Yaml};

use crate::SigmaError;
use crate::condition::{self, Cond};
use crate::detection::Selection;

/// Sigma `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// Parses a Sigma level name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" => Self::Informational,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }

    /// The Sigma name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Informational => "informational",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Descriptive fields of a loaded rule (kept verbatim for attribution: DRL 1.1 requires author/references).
#[derive(Debug, Clone, Default)]
pub struct RuleMeta {
    /// Position in the rule set.
    pub index: usize,
    /// Where the rule came from (file path or caller-supplied origin).
    pub origin: String,
    /// `title`.
    pub title: String,
    /// `id` (UUID).
    pub id: Option<String>,
    /// `name` (used by correlations).
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `description`.
    pub description: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `tags` (e.g. `attack.t1098`).
    pub tags: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `fields`.
    pub fields: Vec<String>,
    /// Only referenced by a correlation with `generate: false`: not reported on its own by `process`.
    pub correlation_only: bool,
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) meta: RuleMeta,
    selections: Vec<Selection>,
    cond: Cond,
}

impl CompiledRule {
    pub(crate) fn is_match(&self, rec: &Value) -> bool {
        // Memoise selections: a condition may name one several times.
        let mut memo: [u8; 32] = [0; 32];
        self.cond.eval(&mut |i| {
            let Some(slot) = memo.get_mut(i) else {
                return self.selections.get(i).is_some_and(|s| s.eval(rec));
            };
            if *slot == 0 {
                let hit = self.selections.get(i).is_some_and(|s| s.eval(rec));
                *slot = if hit { 2 } else { 1 };
            }
            *slot == 2
        })
    }

    /// Every field the rule reads (deduplicated), or `None` when its result may depend on more
    /// than those fields' values.
    pub(crate) fn fields(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        if !self.selections.iter().all(|s| s.fields(&mut out)) {
            return None;
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// Folded values of a top-level `field` this rule requires, or `None`.
    pub(crate) fn required(&self, field: &str) -> Option<Vec<String>> {
        self.cond
            .required(&|i| self.selections.get(i).and_then(|s| s.required(field)))
    }
}

pub(crate) fn get<'a>(m: &'a Mapping, key: &str) -> Option<&'a Yaml> {
    m.get(key)
}

pub(crate) fn get_str(m: &Mapping, key: &str) -> Option<String> {
    match get(m, key)? {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn get_list(m: &Mapping, key: &str) -> Vec<String> {
    match get(m, key) {
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter_map(|i| match i {
                Yaml::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Reads the common metadata of a rule or correlation document.
pub(crate) fn meta_of(m: &Mapping, origin: &str) -> RuleMeta {
    RuleMeta {
        index: 0,
        origin: origin.to_owned(),
        title: get_str(m, "title").unwrap_or_default(),
        id: get_str(m, "id"),
        name: get_str(m, "name"),
        status: get_str(m, "status"),
        level: get_str(m, "level").as_deref().and_then(Level::parse),
        description: get_str(m, "description"),
        author: get_str(m, "author"),
        references: get_list(m, "references"),
        tags: get_list(m, "tags"),
        falsepositives: get_list(m, "falsepositives"),
        fields: get_list(m, "fields"),
        correlation_only: false,
    }
}

/// Checks the logsource is AWS CloudTrail.
pub(crate) fn check_logsource(m: &Mapping) -> Result<(), SigmaError> {
    let Some(Yaml::Mapping(ls)) = get(m, "logsource") else {
        return Err(SigmaError::Logsource("missing logsource".into()));
    };
    let product = get_str(ls, "product").unwrap_or_default();
    let service = get_str(ls, "service");
    if !product.eq_ignore_ascii_case("aws") {
        return Err(SigmaError::Logsource(format!(
            "product `{product}` is not aws"
        )));
    }
    match service {
        Some(s) if !s.eq_ignore_ascii_case("cloudtrail") => Err(SigmaError::Logsource(format!(
            "service `{s}` is not cloudtrail"
        ))),
        _ => Ok(()),
    }
}

/// Compiles the `detection` block of a rule document.
pub(crate) fn compile(m: &Mapping, meta: RuleMeta) -> Result<CompiledRule, SigmaError> {
    let Some(Yaml::Mapping(det)) = get(m, "detection") else {
        return Err(SigmaError::Invalid("missing or non-map `detection`".into()));
    };
    if meta.title.is_empty() {
        return Err(SigmaError::Invalid("missing `title`".into()));
    }
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut cond_text = None;
    for (k, v) in det {
        let Yaml::String(k) = k else {
            return Err(SigmaError::Invalid("detection key is not a string".into()));
        };
        match k.as_str() {
            "condition" => cond_text = Some(v),
            "timeframe" => {
                return Err(SigmaError::LegacyAggregation(
                    "detection.timeframe (an aggregation over several events)".to_owned(),
                ));
            }
            _ => {
                selections.push(Selection::compile(k, v)?);
                names.push(k.clone());
            }
        }
    }
    let cond = match cond_text {
        Some(Yaml::String(s)) => condition::parse(s, &names)?,
        Some(Yaml::Sequence(items)) => {
            let mut alts = Vec::new();
            for it in items {
                match it {
                    Yaml::String(s) => alts.push(condition::parse(s, &names)?),
                    _ => {
                        return Err(SigmaError::Invalid(
                            "condition list item is not a string".into(),
                        ));
                    }
                }
            }
            Cond::Or(alts)
        }
        _ => return Err(SigmaError::Invalid("missing `condition`".into())),
    };
    Ok(CompiledRule {
        meta,
        selections,
        cond,
    })
}
