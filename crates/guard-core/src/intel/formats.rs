//! Threat-list file formats: GuardDuty's `TXT | STIX | OTX_CSV | ALIEN_VAULT |
//! PROOF_POINT | FIRE_EYE` (reference guard.md §3.7 [model]) and the maltrail / IPsum
//! trails, which are read as TXT.
//!
//! Only TXT has a documented shape ("IP addresses and CIDR ranges must appear one per
//! line", docs/guardduty_upload-lists.md [doc]). The others follow the vendors' public
//! export shapes as far as they are known [unverified]: STIX 2.x JSON indicator patterns
//! and STIX 1.x CybOX XML values; OTX CSV exports with an `Indicator` column; AlienVault
//! reputation lines `IP#reliability#risk#...`; Proofpoint ET reputation CSV rows whose
//! first column is the IP or domain. FIRE_EYE has no public shape and is refused.

use crate::error::GuardError;

/// A threat-list file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// One indicator per line; `#` starts a comment; the first whitespace-separated token
    /// is the indicator (so maltrail's `IP # host` and IPsum's `IP<TAB>count` read as is).
    Txt,
    /// STIX 2.x JSON (indicator `pattern`s) or STIX 1.x XML (CybOX address/domain/URI values).
    Stix,
    /// AlienVault OTX CSV export (the `Indicator` column).
    OtxCsv,
    /// AlienVault reputation data, `IP#reliability#risk#type#...`.
    AlienVault,
    /// Proofpoint ET reputation CSV (first column).
    ProofPoint,
    /// FireEye iSIGHT: no public shape; loading fails with `UnsupportedIntelFormat`.
    FireEye,
}

impl ListFormat {
    /// The format from its GuardDuty API name (`TXT`, `STIX`, ...).
    pub fn from_api_name(name: &str) -> Option<Self> {
        Some(match name {
            "TXT" => Self::Txt,
            "STIX" => Self::Stix,
            "OTX_CSV" => Self::OtxCsv,
            "ALIEN_VAULT" => Self::AlienVault,
            "PROOF_POINT" => Self::ProofPoint,
            "FIRE_EYE" => Self::FireEye,
            _ => return None,
        })
    }
}

/// Calls `f(line, entry)` for every entry of `text`; `Err` entries are malformed rows.
pub(super) fn entries<F>(text: &str, format: ListFormat, mut f: F) -> Result<(), GuardError>
where
    F: FnMut(usize, Result<&str, GuardError>),
{
    match format {
        ListFormat::Txt => {
            for (n, line) in numbered(text) {
                let body = line.split('#').next().unwrap_or("");
                if let Some(tok) = body.split_ascii_whitespace().next() {
                    f(n, Ok(tok));
                }
            }
        }
        ListFormat::AlienVault => {
            for (n, line) in numbered(text) {
                let first = line.split('#').next().unwrap_or("").trim();
                if !first.is_empty() {
                    f(n, Ok(first));
                }
            }
        }
        ListFormat::ProofPoint => csv_column(text, &["ip", "domain", "indicator"], f),
        ListFormat::OtxCsv => csv_column(text, &["indicator"], f),
        ListFormat::Stix => stix(text, f)?,
        ListFormat::FireEye => {
            return Err(GuardError::UnsupportedIntelFormat { format: "FIRE_EYE" });
        }
    }
    Ok(())
}

fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l))
}

/// Splits a CSV row on commas, honouring double quotes (no embedded newlines).
fn csv_fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(line.get(start..i).unwrap_or("").trim().trim_matches('"'));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(line.get(start..).unwrap_or("").trim().trim_matches('"'));
    out
}

/// Reads the column named by the header (first of `names`, case-insensitive); without a
/// header, the first column.
fn csv_column<F>(text: &str, names: &[&str], mut f: F)
where
    F: FnMut(usize, Result<&str, GuardError>),
{
    let mut col = 0usize;
    let mut header_seen = false;
    for (n, line) in numbered(text) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let fields = csv_fields(t);
        if !header_seen
            && let Some(i) = fields
                .iter()
                .position(|h| names.iter().any(|m| h.eq_ignore_ascii_case(m)))
        {
            col = i;
            header_seen = true;
            continue;
        }
        match fields.get(col) {
            Some(v) if !v.is_empty() => f(n, Ok(v)),
            _ => f(
                n,
                Err(GuardError::IntelEntry {
                    entry: crate::error::clip(t),
                }),
            ),
        }
    }
}

/// STIX 2 JSON (starts with `{`) or STIX 1 XML.
fn stix<F>(text: &str, mut f: F) -> Result<(), GuardError>
where
    F: FnMut(usize, Result<&str, GuardError>),
{
    if text.trim_start().starts_with('{') {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| GuardError::Json {
            message: e.to_string(),
        })?;
        let objects = doc
            .get("objects")
            .and_then(|o| o.as_array())
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, obj) in objects.iter().enumerate() {
            if obj.get("type").and_then(|t| t.as_str()) != Some("indicator") {
                continue;
            }
            let pattern = obj.get("pattern").and_then(|p| p.as_str()).unwrap_or("");
            for v in stix2_values(pattern) {
                f(i + 1, Ok(v));
            }
        }
        return Ok(());
    }
    const TAGS: [&str; 3] = ["Address_Value", "DomainNameObj:Value", "URIObj:Value"];
    let mut pos = 0usize;
    while let Some(rest) = text.get(pos..) {
        let Some((off, tag)) = TAGS
            .iter()
            .filter_map(|t| {
                rest.find(&format!(":{t}"))
                    .or_else(|| rest.find(&format!("<{t}")))
                    .map(|o| (o, *t))
            })
            .min_by_key(|(o, _)| *o)
        else {
            break;
        };
        let after = off + tag.len() + 1;
        let Some(body) = rest.get(after..) else { break };
        let Some(gt) = body.find('>') else { break };
        let open = body.get(..gt).unwrap_or("");
        pos += after + gt + 1;
        if open.ends_with('/') {
            continue;
        }
        let value_text = text.get(pos..).unwrap_or("");
        let end = value_text.find('<').unwrap_or(value_text.len());
        let line = text.get(..pos).map_or(1, |p| p.matches('\n').count() + 1);
        for v in value_text.get(..end).unwrap_or("").split("##comma##") {
            let v = v.trim();
            if !v.is_empty() {
                f(line, Ok(v));
            }
        }
        pos += end;
    }
    Ok(())
}

/// The quoted values of `ipv4-addr:value`, `ipv6-addr:value`, `domain-name:value` and
/// `url:value` comparisons in a STIX 2 pattern.
fn stix2_values(pattern: &str) -> Vec<&str> {
    const KEYS: [&str; 4] = [
        "ipv4-addr:value",
        "ipv6-addr:value",
        "domain-name:value",
        "url:value",
    ];
    let mut out = Vec::new();
    for key in KEYS {
        let mut rest = pattern;
        while let Some(i) = rest.find(key) {
            rest = rest.get(i + key.len()..).unwrap_or("");
            let r = rest.trim_start();
            let Some(r) = r.strip_prefix('=') else {
                continue;
            };
            let Some(r) = r.trim_start().strip_prefix('\'') else {
                continue;
            };
            if let Some(end) = r.find('\'') {
                out.push(r.get(..end).unwrap_or(""));
            }
        }
    }
    out
}
