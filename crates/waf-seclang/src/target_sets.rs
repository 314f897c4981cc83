//! Shared target lists: links whose targets and exclusions are the same, and name only request data that cannot
//! change while a phase runs (`ARGS`, `REQUEST_HEADERS`, `REQUEST_COOKIES`, their `_NAMES`, the URI, …), get
//! the same target-set id. A phase collects each such list once and every link with that id reuses it, instead
//! of re-walking the collections and re-testing the exclusions per rule. Links with a `ctl:ruleRemoveTarget*`
//! edit in effect collect their own list (see `transaction::exec`).

use std::collections::HashMap;

use crate::rule::{Rule, Target};
use crate::variables::Var;

/// True when `t`'s values depend only on request data fixed for the whole phase.
fn phase_stable(t: &Target) -> bool {
    !t.count
        && matches!(
            t.var,
            Var::Args
                | Var::ArgsGet
                | Var::ArgsPost
                | Var::ArgsNames
                | Var::ArgsGetNames
                | Var::ArgsPostNames
                | Var::RequestHeaders
                | Var::RequestHeadersNames
                | Var::RequestCookies
                | Var::RequestCookiesNames
                | Var::RequestUri
                | Var::RequestUriRaw
                | Var::RequestFilename
                | Var::RequestBasename
                | Var::RequestMethod
                | Var::RequestProtocol
                | Var::QueryString
                | Var::RequestBody
                | Var::Xml
                | Var::Files
                | Var::FilesNames
        )
}

/// Assigns `Link::target_set` to every eligible link; returns the number of distinct sets.
pub(crate) fn assign(rules: &mut [Rule]) -> usize {
    let mut ids: HashMap<String, u32> = HashMap::new();
    for link in rules.iter_mut().flat_map(|r| r.links.iter_mut()) {
        link.target_set = None;
        if link.operator.is_none()
            || link.targets.is_empty()
            || !link.targets.iter().all(phase_stable)
        {
            continue;
        }
        // The debug form spells out variables, selectors (regex sources included) and exclusions.
        let key = format!("{:?}|{:?}", link.targets, link.exclusions);
        let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        link.target_set = Some(*ids.entry(key).or_insert(next));
    }
    ids.len()
}
