//! Compilation of the WAFv2 model into a [`Plan`]: fields are interned, byte matches and regexes are merged per
//! field, resources are resolved, and every problem becomes a [`CompileError`].

pub(crate) mod literal;
mod rules;
mod stmt;

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::RegexBuilder;
use regex_syntax::hir::Hir;

use crate::error::CompileError;
use crate::gate::{self, Gate};
use crate::ipset::IpSet;
use crate::joined::{self, build_joined};
use crate::needs::{ByteMasks, Needs};
use crate::plan::{
    ByteGroup, Detector, FieldId, FieldSpec, Plan, Position, RegexGroup, RegexSetEntry,
};
use crate::precheck::{MixedCheck, Precheck};
use crate::regexset::{build_set, next_plan_id};

pub(crate) use rules::{AclCx, acl_immunity, compile_group_rules, compile_rules, resolve_default};

/// Compiled-program size limit of one regex (bytes).
const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// Compiled-program size limit of a merged regex set (bytes); above it the set is split per pattern.
const REGEX_SET_SIZE_LIMIT: usize = 32 << 20;

/// Byte-match search strings collected for one field.
struct ByteAcc {
    field: FieldId,
    patterns: Vec<Vec<u8>>,
    meta: Vec<(Position, usize)>,
}

/// Regexes collected for one field.
struct RegexAcc {
    field: FieldId,
    /// Each pattern with whether it needs Unicode mode.
    patterns: Vec<(String, bool)>,
    owners: Vec<usize>,
}

/// Accumulates interned fields and merged matchers while statements compile.
#[derive(Default)]
pub(crate) struct Builder {
    fields: Vec<FieldSpec>,
    field_ids: HashMap<FieldSpec, FieldId>,
    bytes: Vec<ByteAcc>,
    byte_by_field: HashMap<FieldId, usize>,
    byte_hit_ids: HashMap<(usize, Vec<u8>, u8), usize>,
    byte_hits: usize,
    regexes: Vec<RegexAcc>,
    regex_by_field: HashMap<FieldId, usize>,
    regex_hit_ids: HashMap<(usize, String), usize>,
    regex_hits: usize,
    detect: HashMap<(FieldId, Detector), usize>,
    /// Patterns already checked, with whether they need Unicode mode.
    checked: HashMap<String, bool>,
    ip_sets: HashMap<String, Arc<IpSet>>,
}

fn position_code(p: Position) -> u8 {
    match p {
        Position::Exactly => 0,
        Position::StartsWith => 1,
        Position::EndsWith => 2,
        Position::Contains => 3,
        Position::ContainsWord => 4,
    }
}

impl Builder {
    /// The id of a field spec, interning it on first use.
    pub(crate) fn field(&mut self, spec: FieldSpec) -> FieldId {
        if let Some(id) = self.field_ids.get(&spec) {
            return *id;
        }
        let id = self.fields.len();
        self.fields.push(spec.clone());
        self.field_ids.insert(spec, id);
        id
    }

    /// Registers a byte-match search string; returns (group, hit).
    pub(crate) fn byte(
        &mut self,
        field: FieldId,
        search: Vec<u8>,
        pos: Position,
    ) -> (usize, usize) {
        let group = match self.byte_by_field.get(&field) {
            Some(g) => *g,
            None => {
                let g = self.bytes.len();
                self.bytes.push(ByteAcc {
                    field,
                    patterns: Vec::new(),
                    meta: Vec::new(),
                });
                self.byte_by_field.insert(field, g);
                g
            }
        };
        let key = (group, search.clone(), position_code(pos));
        if let Some(hit) = self.byte_hit_ids.get(&key) {
            return (group, *hit);
        }
        let hit = self.byte_hits;
        self.byte_hits += 1;
        self.byte_hit_ids.insert(key, hit);
        if let Some(acc) = self.bytes.get_mut(group) {
            acc.patterns.push(search);
            acc.meta.push((pos, hit));
        }
        (group, hit)
    }

    /// Checks that `pattern` compiles; returns it with whether it needs Unicode mode. Patterns run in byte mode
    /// (PCRE's default semantics: `.` is any byte) unless they only compile with Unicode, e.g. `\p{L}`.
    pub(crate) fn check_regex(
        &mut self,
        rule: &str,
        pattern: &str,
    ) -> Result<(String, bool), CompileError> {
        if let Some(unicode) = self.checked.get(pattern) {
            return Ok((pattern.to_owned(), *unicode));
        }
        let build = |unicode: bool| {
            RegexBuilder::new(pattern)
                .unicode(unicode)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
        };
        let unicode = match build(false) {
            Ok(_) => false,
            Err(_) => match build(true) {
                Ok(_) => true,
                Err(e) => {
                    return Err(CompileError::Regex {
                        rule: rule.to_owned(),
                        pattern: pattern.to_owned(),
                        reason: e.to_string(),
                    });
                }
            },
        };
        self.checked.insert(pattern.to_owned(), unicode);
        Ok((pattern.to_owned(), unicode))
    }

    /// Registers a regex statement made of `patterns` (already checked) under the dedup `key`; returns
    /// (group, hit).
    pub(crate) fn regex(
        &mut self,
        field: FieldId,
        key: String,
        patterns: Vec<(String, bool)>,
    ) -> (usize, usize) {
        let group = match self.regex_by_field.get(&field) {
            Some(g) => *g,
            None => {
                let g = self.regexes.len();
                self.regexes.push(RegexAcc {
                    field,
                    patterns: Vec::new(),
                    owners: Vec::new(),
                });
                self.regex_by_field.insert(field, g);
                g
            }
        };
        if let Some(hit) = self.regex_hit_ids.get(&(group, key.clone())) {
            return (group, *hit);
        }
        let hit = self.regex_hits;
        self.regex_hits += 1;
        self.regex_hit_ids.insert((group, key), hit);
        if let Some(acc) = self.regexes.get_mut(group) {
            for p in patterns {
                acc.patterns.push(p);
                acc.owners.push(hit);
            }
        }
        (group, hit)
    }

    /// The result slot of a detector on a field.
    pub(crate) fn detect(&mut self, field: FieldId, d: Detector) -> usize {
        let next = self.detect.len();
        *self.detect.entry((field, d)).or_insert(next)
    }

    /// Builds (once per ARN) an IP set.
    pub(crate) fn ip_set(
        &mut self,
        arn: &str,
        set: &portcullis_waf_model::IpSet,
    ) -> Result<Arc<IpSet>, CompileError> {
        if let Some(s) = self.ip_sets.get(arn) {
            return Ok(s.clone());
        }
        let built =
            IpSet::from_addresses(&set.addresses).map_err(|e| CompileError::InvalidIpSet {
                arn: arn.to_owned(),
                reason: e.to_string(),
            })?;
        let built = Arc::new(built);
        self.ip_sets.insert(arn.to_owned(), built.clone());
        Ok(built)
    }

    /// Builds the automata and returns the plan parts.
    pub(crate) fn finish(self, plan: &mut Plan) -> Result<(), CompileError> {
        let mut fields = self.fields;
        plan.statement_fields = fields.len();
        plan.field_parents = link_prefixes(&mut fields);
        plan.fields = fields;
        plan.byte_hits = self.byte_hits;
        plan.detect_slots = self.detect.len();
        for acc in self.bytes {
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&acc.patterns)
                .map_err(|e| CompileError::Unsupported {
                    rule: String::new(),
                    reason: format!("byte match automaton: {e}"),
                })?;
            plan.byte_groups.push(ByteGroup {
                field: acc.field,
                ac,
                patterns: acc.meta,
            });
        }
        plan.regex_hits = self.regex_hits;
        plan.id = next_plan_id();
        let mut set_count = 0usize;
        for acc in self.regexes {
            let many = plan
                .fields
                .get(acc.field)
                .is_some_and(|f| f.kind.many_values())
                && joined::enabled();
            let mut sets = Vec::new();
            // Per set, the bytes every match needs.
            let mut needs = Vec::new();
            // One set per statement (its patterns: one, or a regex pattern set's), not one per field: the union
            // of unrelated patterns makes a product automaton that loses each pattern's literal prefilter, so on
            // ordinary traffic (nothing matches) several prefiltered scans cost less than one merged scan (the
            // 1 KB JSON benchmark body: 66k instructions merged, about a third of that split).
            let mut statements: Vec<usize> = Vec::new();
            for o in &acc.owners {
                if !statements.contains(o) {
                    statements.push(*o);
                }
            }
            for unicode in [false, true] {
                for statement in &statements {
                    let (pats, owners): (Vec<&str>, Vec<usize>) = acc
                        .patterns
                        .iter()
                        .zip(&acc.owners)
                        .filter(|((_, u), o)| *u == unicode && *o == statement)
                        .map(|((p, _), o)| (p.as_str(), *o))
                        .unzip();
                    if pats.is_empty() {
                        continue;
                    }
                    match build_set(&pats, unicode, REGEX_SET_SIZE_LIMIT) {
                        Ok(re) => {
                            needs.push(Needs::of(&pats, unicode));
                            let cache = set_count;
                            set_count += 1;
                            let joined = if many {
                                joined_set(&pats, unicode, &mut set_count)
                            } else {
                                None
                            };
                            sets.push(RegexSetEntry {
                                re,
                                pre: precheck(&pats, unicode),
                                needs: Vec::new(),
                                only: sole_owner(&owners),
                                owners,
                                cache,
                                joined,
                            });
                        }
                        Err(_) => {
                            // Too large together: one set per pattern (each was checked alone).
                            for (p, owner) in pats.iter().zip(owners) {
                                let re =
                                    build_set(&[p], unicode, REGEX_SIZE_LIMIT).map_err(|e| {
                                        CompileError::Regex {
                                            rule: String::new(),
                                            pattern: (*p).to_owned(),
                                            reason: e,
                                        }
                                    })?;
                                needs.push(Needs::of(&[p], unicode));
                                let cache = set_count;
                                set_count += 1;
                                let joined = if many {
                                    joined_set(&[p], unicode, &mut set_count)
                                } else {
                                    None
                                };
                                sets.push(RegexSetEntry {
                                    re,
                                    owners: vec![owner],
                                    pre: precheck(&[p], unicode),
                                    needs: Vec::new(),
                                    only: Some(owner),
                                    cache,
                                    joined,
                                });
                            }
                        }
                    }
                }
            }
            plan.regex_sets = set_count;
            let masks = ByteMasks::build(&needs).map(|(masks, per_set)| {
                for (set, n) in sets.iter_mut().zip(per_set) {
                    set.needs = n;
                }
                masks
            });
            let gate_bytes = masks.as_ref().and_then(|m| {
                let per_set: Vec<&[u64]> = sets.iter().map(|s| s.needs.as_slice()).collect();
                gate::group_bytes(m, &per_set)
            });
            let gate = gate_bytes.as_ref().and_then(Gate::new);
            let parent_gate = match (
                gate_bytes,
                plan.field_parents.get(acc.field).copied().flatten(),
            ) {
                (Some(bytes), Some((parent, k))) => plan
                    .fields
                    .get(acc.field)
                    .and_then(|f| gate::lift(bytes, f.transforms.get(k..).unwrap_or_default()))
                    .as_ref()
                    .and_then(Gate::new)
                    .map(|g| (parent, g)),
                _ => None,
            };
            plan.regex_groups.push(RegexGroup {
                joined: sets.iter().any(|s| s.joined.is_some()),
                field: acc.field,
                masks,
                sets,
                gate,
                parent_gate,
            });
        }
        Ok(())
    }
}

/// Lets fields share the work of a common transformation prefix: adds a field for every strict prefix of a
/// transformation chain that two or more fields of the same component start with (unless it already exists), and
/// returns, per field id, the longest existing strict prefix field and that prefix's length.
///
/// Applying a chain is a left fold (`apply_chain`), so applying the rest of the chain to the prefix's values gives
/// exactly the values of the whole chain.
pub(crate) fn link_prefixes(fields: &mut Vec<FieldSpec>) -> Vec<Option<(FieldId, usize)>> {
    let mut ids: HashMap<FieldSpec, FieldId> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.clone(), i))
        .collect();
    let mut shared: HashMap<FieldSpec, usize> = HashMap::new();
    for f in fields.iter() {
        for k in 1..f.transforms.len() {
            let prefix = FieldSpec {
                kind: f.kind.clone(),
                transforms: f.transforms.get(..k).unwrap_or_default().to_vec(),
            };
            *shared.entry(prefix).or_default() += 1;
        }
    }
    let mut added: Vec<FieldSpec> = shared
        .into_iter()
        .filter(|(spec, n)| *n >= 2 && !ids.contains_key(spec))
        .map(|(spec, _)| spec)
        .collect();
    // Deterministic field ids whatever the hash order.
    added.sort_by_key(|s| (format!("{:?}", s.kind), s.transforms.clone()));
    for spec in added {
        ids.insert(spec.clone(), fields.len());
        fields.push(spec);
    }
    fields
        .iter()
        .map(|f| {
            (1..f.transforms.len()).rev().find_map(|k| {
                let prefix = FieldSpec {
                    kind: f.kind.clone(),
                    transforms: f.transforms.get(..k).unwrap_or_default().to_vec(),
                };
                ids.get(&prefix).map(|id| (*id, k))
            })
        })
        .collect()
}

/// The joined variant of a set ([`crate::joined`]) and its cache slot, the next free one (`next` moves past it).
fn joined_set(
    patterns: &[&str],
    unicode: bool,
    next: &mut usize,
) -> Option<(regex_automata::meta::Regex, usize)> {
    let re = build_joined(patterns, unicode, REGEX_SET_SIZE_LIMIT)?;
    *next += 1;
    Some((re, *next - 1))
}

/// The statement owning every pattern of a set, when one does.
fn sole_owner(owners: &[usize]) -> Option<usize> {
    let first = *owners.first()?;
    owners.iter().all(|&o| o == first).then_some(first)
}

/// The pre-check of a regex set (see [`literal`]): its patterns' required literals when every pattern has some,
/// else a mixed requirement of the whole set, unless the engine's own prefilter covers every pattern.
fn precheck(patterns: &[&str], unicode: bool) -> Option<Precheck> {
    let hirs = patterns
        .iter()
        .map(|p| literal::parse(p, unicode))
        .collect::<Option<Vec<_>>>()?;
    literal_precheck(&hirs)
        .map(Precheck::Literals)
        .or_else(|| mixed_precheck(&hirs).map(Precheck::Mixed))
}

/// The required-literal pre-check: every pattern must have required literals.
fn literal_precheck(patterns: &[Hir]) -> Option<AhoCorasick> {
    let mut all = Vec::new();
    for p in patterns {
        all.extend(literal::required_any(p)?);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&all)
        .ok()
}

/// The mixed pre-check (rare bytes or literals, on long values): every pattern must have required items.
fn mixed_precheck(patterns: &[Hir]) -> Option<MixedCheck> {
    if !crate::precheck::mixed_enabled() {
        return None;
    }
    let mut all = Vec::new();
    for p in patterns {
        all.extend(literal::required_mixed(p)?);
    }
    let req = literal::settle(all)?;
    // Last: the prefix analysis of a large pattern is the slow part.
    if patterns.iter().all(literal::prefiltered) {
        return None;
    }
    MixedCheck::new(&req)
}
