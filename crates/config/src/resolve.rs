//! Validation: raw file + command-line overrides → a resolved [`Config`], with every
//! problem reported at once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portcullis_common::AccountId;

use crate::raw::RawConfig;

/// Values from the command line, which win over the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--api-listen`.
    pub api_listen: Option<String>,
    /// `--store`.
    pub store_url: Option<String>,
    /// `--account-id`.
    pub account_id: Option<String>,
}

/// A checked configuration, ready to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory for all local state.
    pub data_dir: PathBuf,
    /// The default account.
    pub account_id: AccountId,
    /// Region in ARNs and accepted SigV4 scopes.
    pub region: String,
    /// The API listener.
    pub api: ApiConfig,
    /// Store URL (`sqlite://...` or `postgres://...`).
    pub store_url: String,
    /// Names for the server certificate.
    pub server_names: Vec<String>,
    /// The audit trail.
    pub audit: AuditConfig,
}

/// The resolved `[api]` section.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Socket to bind.
    pub listen: SocketAddr,
    /// Body size cap.
    pub max_body_bytes: usize,
    /// Allowed clock skew for SigV4.
    pub max_clock_skew: Duration,
    /// Grace period on shutdown.
    pub shutdown_grace: Duration,
}

/// The resolved `[audit]` section.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Whether log files are written.
    pub write_files: bool,
    /// Interval between log files.
    pub file_interval: Duration,
}

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as written in the file (`api.listen`).
    pub field: &'static str,
    /// What is wrong and what would be right.
    pub message: String,
}

/// Every problem found, in file order; `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl RawConfig {
    /// Reads and parses a file; a syntax or type error is one problem, unknown fields are
    /// kept for [`RawConfig::resolve`] to report with the rest.
    pub fn from_file(path: &Path) -> Result<RawConfig, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Problem {
                field: "file",
                message: format!("cannot read {}: {e}", path.display()),
            }])
        })?;
        Self::from_toml(&text)
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<RawConfig, ConfigErrors> {
        let syntax = |e: toml::de::Error| {
            ConfigErrors(vec![Problem {
                field: "file",
                message: e.to_string().trim().to_owned(),
            }])
        };
        let de = toml::Deserializer::parse(text).map_err(syntax)?;
        let mut unknown = Vec::new();
        let mut raw: RawConfig =
            serde_ignored::deserialize(de, |path| unknown.push(path.to_string()))
                .map_err(syntax)?;
        raw.unknown_fields = unknown;
        Ok(raw)
    }

    /// Applies overrides and checks every value.
    pub fn resolve(self, o: &Overrides) -> Result<Config, ConfigErrors> {
        let mut problems: Vec<Problem> = self
            .unknown_fields
            .iter()
            .map(|f| Problem {
                field: "file",
                message: format!("unknown field `{f}`"),
            })
            .collect();
        let data_dir = PathBuf::from(
            o.data_dir
                .clone()
                .or(self.data_dir)
                .unwrap_or_else(|| crate::DEFAULT_DATA_DIR.to_owned()),
        );
        if data_dir.as_os_str().is_empty() {
            problems.push(Problem {
                field: "data_dir",
                message: "must not be empty".into(),
            });
        }

        let account_raw = o
            .account_id
            .clone()
            .or(self.account_id)
            .unwrap_or_else(|| portcullis_common::DEFAULT_ACCOUNT_ID.to_owned());
        let account_id = AccountId::new(account_raw.clone()).map_err(|_| {
            problems.push(Problem {
                field: "account_id",
                message: format!("{account_raw:?} is not a 12-digit account id"),
            })
        });

        let region = self
            .region
            .unwrap_or_else(|| portcullis_common::DEFAULT_REGION.to_owned());
        if !valid_region(&region) {
            problems.push(Problem {
                field: "region",
                message: format!("{region:?} is not a region name (lower-case letters, digits and '-', e.g. us-east-1)"),
            });
        }

        let listen_raw = o
            .api_listen
            .clone()
            .or(self.api.listen)
            .unwrap_or_else(|| crate::DEFAULT_API_LISTEN.to_owned());
        let listen = listen_raw.parse::<SocketAddr>().map_err(|_| {
            problems.push(Problem {
                field: "api.listen",
                message: format!(
                    "{listen_raw:?} is not an address:port such as 127.0.0.1:7443 or [::1]:7443"
                ),
            })
        });

        let max_body = self.api.max_body_bytes.unwrap_or(1 << 20);
        if !(1024..=(64 << 20)).contains(&max_body) {
            problems.push(Problem {
                field: "api.max_body_bytes",
                message: format!("{max_body} is outside 1024..=67108864"),
            });
        }
        let skew = self.api.max_clock_skew_secs.unwrap_or(900);
        if !(1..=3600).contains(&skew) {
            problems.push(Problem {
                field: "api.max_clock_skew_secs",
                message: format!("{skew} is outside 1..=3600"),
            });
        }
        let grace = self.api.shutdown_grace_secs.unwrap_or(10);
        if grace > 600 {
            problems.push(Problem {
                field: "api.shutdown_grace_secs",
                message: format!("{grace} is above 600"),
            });
        }

        let store_url =
            o.store_url.clone().or(self.store.url).unwrap_or_else(|| {
                format!("sqlite://{}", data_dir.join("portcullis.db").display())
            });
        if !(store_url.starts_with("sqlite://")
            || store_url.starts_with("postgres://")
            || store_url.starts_with("postgresql://"))
        {
            problems.push(Problem {
                field: "store.url",
                message: "must start with sqlite://, postgres:// or postgresql://".into(),
            });
        }

        let server_names = self
            .tls
            .server_names
            .unwrap_or_else(|| vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]);
        if server_names.is_empty() {
            problems.push(Problem {
                field: "tls.server_names",
                message: "needs at least one name".into(),
            });
        }
        for n in &server_names {
            if n.is_empty() || n.contains(char::is_whitespace) {
                problems.push(Problem {
                    field: "tls.server_names",
                    message: format!("{n:?} is not a DNS name or IP"),
                });
            }
        }

        let interval = self.audit.file_interval_secs.unwrap_or(60);
        if !(1..=86_400).contains(&interval) {
            problems.push(Problem {
                field: "audit.file_interval_secs",
                message: format!("{interval} is outside 1..=86400"),
            });
        }

        match (account_id, listen) {
            (Ok(account_id), Ok(listen)) if problems.is_empty() => Ok(Config {
                data_dir,
                account_id,
                region,
                api: ApiConfig {
                    listen,
                    max_body_bytes: usize::try_from(max_body).unwrap_or(1 << 20),
                    max_clock_skew: Duration::from_secs(skew),
                    shutdown_grace: Duration::from_secs(grace),
                },
                store_url,
                server_names,
                audit: AuditConfig {
                    write_files: self.audit.write_files.unwrap_or(true),
                    file_interval: Duration::from_secs(interval),
                },
            }),
            _ => Err(ConfigErrors(problems)),
        }
    }
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !r.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_resolve() {
        let c = RawConfig::default().resolve(&Overrides::default()).unwrap();
        assert_eq!(c.api.listen.to_string(), "127.0.0.1:7443");
        assert_eq!(c.account_id.as_str(), "000000000000");
        assert_eq!(c.data_dir, PathBuf::from("./portcullis-data"));
        assert!(c.store_url.starts_with("sqlite://"));
        assert!(c.store_url.ends_with("portcullis.db"));
    }

    #[test]
    fn overrides_win() {
        let raw =
            RawConfig::from_toml("data_dir = \"/a\"\n[api]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        let c = raw
            .resolve(&Overrides {
                data_dir: Some("/b".into()),
                api_listen: Some("[::1]:9".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/b"));
        assert_eq!(c.api.listen.to_string(), "[::1]:9");
    }

    #[test]
    fn reports_every_problem_at_once() {
        let raw = RawConfig::from_toml(
            "account_id = \"12\"\nregion = \"US East\"\n[api]\nlisten = \"nowhere\"\nmax_body_bytes = 1\n[store]\nurl = \"mysql://x\"\n",
        )
        .unwrap();
        let errs = raw.resolve(&Overrides::default()).unwrap_err();
        let fields: Vec<_> = errs.0.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "account_id",
                "region",
                "api.listen",
                "api.max_body_bytes",
                "store.url"
            ]
        );
        assert!(errs.to_string().lines().count() == 5);
    }

    #[test]
    fn unknown_fields_are_refused_with_the_other_problems() {
        let raw =
            RawConfig::from_toml("colour = 1\naccount_id = \"1\"\n[api]\nlisen = \"x\"\n").unwrap();
        let e = raw.resolve(&Overrides::default()).unwrap_err().to_string();
        assert!(e.contains("unknown field `api.lisen`"), "{e}");
        assert!(e.contains("unknown field `colour`"), "{e}");
        assert!(e.contains("account_id"), "{e}");
    }
}
