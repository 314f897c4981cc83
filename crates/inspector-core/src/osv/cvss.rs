//! CVSS vectors: parsing (v2, v3.0, v3.1, v4.0) and the CVSS v3.x base score.
//!
//! The base score follows the formulas of the FIRST CVSS v3.1 specification (§7.1 and Appendix A
//! `Roundup`); v3.0 vectors use the v3.0 rounding (ceiling to one decimal). v4.0 and v2 vectors are
//! parsed and kept, but not scored ([`Cvss::base_score`] returns `None`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Error;

/// CVSS version of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CvssVersion {
    /// CVSS v2 (no prefix).
    V2,
    /// CVSS v3.0.
    V3_0,
    /// CVSS v3.1.
    V3_1,
    /// CVSS v4.0.
    V4_0,
}

/// Qualitative severity rating from a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rating {
    /// 0.0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl Rating {
    /// Rating of a score.
    pub fn from_score(score: f64) -> Rating {
        if score <= 0.0 {
            Rating::None
        } else if score < 4.0 {
            Rating::Low
        } else if score < 7.0 {
            Rating::Medium
        } else if score < 9.0 {
            Rating::High
        } else {
            Rating::Critical
        }
    }
}

/// A parsed CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// The version.
    pub version: CvssVersion,
    /// The vector string as given.
    pub vector: String,
    /// Metric → value, as in the vector.
    pub metrics: BTreeMap<String, String>,
}

const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];
const V2_BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];

/// Longest vector accepted.
const MAX_VECTOR_LEN: usize = 512;

impl Cvss {
    /// Parses a vector string; every base metric of its version must be present exactly once.
    pub fn parse(vector: &str) -> Result<Cvss, Error> {
        let bad = |why: &str| Error::InvalidCvss(format!("{why}: {vector:.80}"));
        if vector.len() > MAX_VECTOR_LEN {
            return Err(bad("too long"));
        }
        let (version, body) = if let Some(rest) = vector.strip_prefix("CVSS:3.1/") {
            (CvssVersion::V3_1, rest)
        } else if let Some(rest) = vector.strip_prefix("CVSS:3.0/") {
            (CvssVersion::V3_0, rest)
        } else if let Some(rest) = vector.strip_prefix("CVSS:4.0/") {
            (CvssVersion::V4_0, rest)
        } else if vector.starts_with("AV:") || vector.starts_with("(AV:") {
            (CvssVersion::V2, vector.trim_matches(['(', ')']))
        } else {
            return Err(bad("unknown CVSS version prefix"));
        };
        let mut metrics = BTreeMap::new();
        for part in body.split('/') {
            let (k, v) = part
                .split_once(':')
                .ok_or_else(|| bad("metric without value"))?;
            if k.is_empty() || v.is_empty() {
                return Err(bad("empty metric"));
            }
            if metrics.insert(k.to_string(), v.to_string()).is_some() {
                return Err(bad("duplicate metric"));
            }
        }
        let required: &[&str] = match version {
            CvssVersion::V2 => &V2_BASE,
            CvssVersion::V3_0 | CvssVersion::V3_1 => &V3_BASE,
            CvssVersion::V4_0 => &V4_BASE,
        };
        if let Some(missing) = required.iter().find(|m| !metrics.contains_key(**m)) {
            return Err(bad(&format!("missing base metric {missing}")));
        }
        let cvss = Cvss {
            version,
            vector: vector.to_string(),
            metrics,
        };
        if matches!(version, CvssVersion::V3_0 | CvssVersion::V3_1) && cvss.v3_score().is_none() {
            return Err(bad("invalid base metric value"));
        }
        Ok(cvss)
    }

    fn m(&self, k: &str) -> &str {
        self.metrics.get(k).map_or("", String::as_str)
    }

    fn v3_score(&self) -> Option<f64> {
        let changed = match self.m("S") {
            "U" => false,
            "C" => true,
            _ => return None,
        };
        let av = match self.m("AV") {
            "N" => 0.85,
            "A" => 0.62,
            "L" => 0.55,
            "P" => 0.2,
            _ => return None,
        };
        let ac = match self.m("AC") {
            "L" => 0.77,
            "H" => 0.44,
            _ => return None,
        };
        let pr = match (self.m("PR"), changed) {
            ("N", _) => 0.85,
            ("L", false) => 0.62,
            ("L", true) => 0.68,
            ("H", false) => 0.27,
            ("H", true) => 0.5,
            _ => return None,
        };
        let ui = match self.m("UI") {
            "N" => 0.85,
            "R" => 0.62,
            _ => return None,
        };
        let cia = |k: &str| match self.m(k) {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        };
        let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
        let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22 * av * ac * pr * ui;
        if impact <= 0.0 {
            return Some(0.0);
        }
        let raw = if changed {
            (1.08 * (impact + exploitability)).min(10.0)
        } else {
            (impact + exploitability).min(10.0)
        };
        Some(match self.version {
            CvssVersion::V3_0 => (raw * 10.0).ceil() / 10.0,
            _ => roundup(raw),
        })
    }

    /// The base score (CVSS v3.0/v3.1 only).
    pub fn base_score(&self) -> Option<f64> {
        match self.version {
            CvssVersion::V3_0 | CvssVersion::V3_1 => self.v3_score(),
            CvssVersion::V2 | CvssVersion::V4_0 => None,
        }
    }

    /// The rating of the base score, when scored.
    pub fn rating(&self) -> Option<Rating> {
        self.base_score().map(Rating::from_score)
    }
}

/// CVSS v3.1 `Roundup`: the smallest one-decimal number ≥ the input, computed on integers to avoid
/// floating-point artefacts.
fn roundup(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(v: &str) -> f64 {
        Cvss::parse(v).unwrap().base_score().unwrap()
    }

    #[test]
    fn v31_reference_scores() {
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), 9.8);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"), 10.0);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"), 6.1);
        assert_eq!(score("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"), 7.8);
        assert_eq!(score("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"), 5.9);
        assert_eq!(score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"), 0.0);
        assert_eq!(score("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"), 1.6);
        assert_eq!(score("CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N"), 6.8);
        assert_eq!(score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"), 7.5);
        assert_eq!(Rating::from_score(9.8), Rating::Critical);
    }

    #[test]
    fn v4_and_v2_kept_unscored_and_garbage_rejected() {
        let v4 =
            Cvss::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").unwrap();
        assert_eq!(v4.version, CvssVersion::V4_0);
        assert_eq!(v4.base_score(), None);
        assert!(Cvss::parse("AV:N/AC:L/Au:N/C:P/I:P/A:P").is_ok());
        assert!(Cvss::parse("CVSS:3.1/AV:N").is_err());
        assert!(Cvss::parse("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").is_err());
        assert!(Cvss::parse("garbage").is_err());
    }
}
