//! The `[inspector]` section: network description files the server imports at start and
//! again whenever they change, as written ([`RawInspector`]) and checked
//! ([`InspectorConfig`]).
//!
//! Only the file names are checked here (the configuration is not I/O); the files themselves
//! are read and checked when the server starts (a bad one fails the start) and by
//! `portcullis config check`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::resolve::Problem;
use crate::waf::parse_duration;

/// `[inspector]`: the Inspector assessment service.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawInspector {
    /// Network descriptions (the JSON `POST /network/import` and `portcullis inspector network
    /// import` take: `{"DescribeVpcs": {...}, "DescribeInstances": {...}, ...}`) imported into
    /// the default account at start, merged with the one `inspector network import` wrote, and
    /// imported again when one changes. A missing or malformed file fails the start. Relative
    /// paths are relative to the server's working directory. Default: none.
    #[serde(default)]
    pub network_files: Vec<String>,
    /// How often the network files are checked for changes. Default `"1s"`.
    pub network_reload_interval: Option<String>,
}

/// The checked `[inspector]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectorConfig {
    /// Network description files, in order.
    pub network_files: Vec<PathBuf>,
    /// How often they are checked for changes.
    pub network_reload_interval: Duration,
}

impl Default for InspectorConfig {
    fn default() -> Self {
        Self {
            network_files: Vec::new(),
            network_reload_interval: Duration::from_secs(1),
        }
    }
}

/// Checks `[inspector]`, pushing every problem.
pub(crate) fn resolve_inspector(raw: RawInspector, problems: &mut Vec<Problem>) -> InspectorConfig {
    let mut out = InspectorConfig::default();
    for f in raw.network_files {
        if f.trim().is_empty() {
            problems.push(Problem {
                field: "inspector.network_files",
                message: "an empty file name".to_owned(),
            });
            continue;
        }
        let path = PathBuf::from(&f);
        if out.network_files.contains(&path) {
            problems.push(Problem {
                field: "inspector.network_files",
                message: format!("{f:?} is listed twice"),
            });
            continue;
        }
        out.network_files.push(path);
    }
    if let Some(s) = raw.network_reload_interval.as_deref() {
        match parse_duration(s) {
            Some(d) if d >= Duration::from_millis(100) && d <= Duration::from_secs(86_400) => {
                out.network_reload_interval = d;
            }
            _ => problems.push(Problem {
                field: "inspector.network_reload_interval",
                message: format!("{s:?} is not a duration between \"100ms\" and \"24h\""),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::RawConfig;

    fn parse(toml_text: &str) -> Result<crate::Config, String> {
        let raw = RawConfig::from_toml(toml_text).map_err(|e| e.to_string())?;
        raw.resolve(&crate::Overrides::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn network_files_and_interval() {
        let c = parse(
            "[inspector]\nnetwork_files = [\"a.json\", \"/etc/net/b.json\"]\nnetwork_reload_interval = \"2s\"\n",
        )
        .unwrap();
        assert_eq!(c.inspector.network_files.len(), 2);
        assert_eq!(
            c.inspector.network_reload_interval,
            std::time::Duration::from_secs(2)
        );
        let d = parse("").unwrap();
        assert!(d.inspector.network_files.is_empty());
        assert_eq!(
            d.inspector.network_reload_interval,
            std::time::Duration::from_secs(1)
        );
    }

    #[test]
    fn unknown_inspector_fields_are_refused() {
        let e = parse("[inspector]\nnetwork_file = [\"a.json\"]\n").unwrap_err();
        assert!(e.contains("inspector.network_file"), "{e}");
    }

    #[test]
    fn bad_inspector_settings_are_reported_together() {
        let e = parse(
            "[inspector]\nnetwork_files = [\"a.json\", \"a.json\", \" \"]\nnetwork_reload_interval = \"soon\"\n",
        )
        .unwrap_err();
        assert!(e.contains("listed twice"), "{e}");
        assert!(e.contains("empty file name"), "{e}");
        assert!(e.contains("inspector.network_reload_interval"), "{e}");
    }
}
