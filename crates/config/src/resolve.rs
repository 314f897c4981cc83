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
    /// Where the root key lives.
    pub root_key: RootKeyConfig,
    /// The WAF reverse proxy; no listeners means it is not started.
    pub waf: crate::waf::WafConfig,
    /// Guard's log sources and exports; none means nothing is started.
    pub guard: crate::guard::GuardConfig,
    /// Inspector's network description files.
    pub inspector: crate::inspector::InspectorConfig,
}

/// The resolved `[root_key]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKeyConfig {
    /// A key file (or `PORTCULLIS_ROOT_KEY`), used in process.
    File {
        /// The key file.
        path: PathBuf,
    },
    /// A key inside a PKCS#11 token.
    Pkcs11 {
        /// The module (shared library); it existed when the configuration was resolved.
        module: PathBuf,
        /// Label of the token.
        token_label: String,
        /// Name of the environment variable holding the user PIN.
        pin_env: String,
        /// Label of the key in the token.
        key_label: String,
    },
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
    /// Worker threads of the listener; `None` means one per core, `Some(0)` the shared runtime.
    pub workers: Option<usize>,
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

        if let Some(n) = self.api.workers
            && n > 1024
        {
            problems.push(Problem {
                field: "api.workers",
                message: format!("{n} is above 1024"),
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

        let root_key = resolve_root_key(self.root_key, &data_dir, &mut problems);
        let waf = crate::waf::resolve_waf(self.waf, &mut problems);
        let guard = crate::guard::resolve_guard(self.guard, &mut problems);
        let inspector = crate::inspector::resolve_inspector(self.inspector, &mut problems);

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
                    workers: self.api.workers,
                },
                store_url,
                server_names,
                audit: AuditConfig {
                    write_files: self.audit.write_files.unwrap_or(true),
                    file_interval: Duration::from_secs(interval),
                },
                root_key,
                waf,
                guard,
                inspector,
            }),
            _ => Err(ConfigErrors(problems)),
        }
    }
}

/// Checks `[root_key]`, pushing every problem.
fn resolve_root_key(
    raw: crate::RawRootKey,
    data_dir: &Path,
    problems: &mut Vec<Problem>,
) -> RootKeyConfig {
    let mut problem = |field: &'static str, message: String| {
        problems.push(Problem { field, message });
    };
    let kind = raw.kind.as_deref().unwrap_or("file");
    match kind {
        "pkcs11" => {
            if raw.file.is_some() {
                problem(
                    "root_key.file",
                    "is only for kind = \"file\"; remove it or set kind = \"file\"".into(),
                );
            }
            let module = PathBuf::from(raw.module.clone().unwrap_or_default());
            match raw.module.as_deref() {
                None | Some("") => problem(
                    "root_key.module",
                    "is required for kind = \"pkcs11\": the path of the PKCS#11 module (.so)"
                        .into(),
                ),
                Some(_) if !module.is_file() => problem(
                    "root_key.module",
                    format!("{} is not a file", module.display()),
                ),
                Some(_) => {}
            }
            let token_label = raw.token_label.unwrap_or_default();
            if token_label.is_empty() {
                problem(
                    "root_key.token_label",
                    "is required for kind = \"pkcs11\" and must not be empty".into(),
                );
            } else if token_label.len() > 32 {
                problem(
                    "root_key.token_label",
                    format!("{token_label:?} is longer than a token label's 32 bytes"),
                );
            }
            let pin_env = raw
                .pin_env
                .unwrap_or_else(|| crate::DEFAULT_PKCS11_PIN_ENV.to_owned());
            if pin_env.is_empty() || pin_env.contains(['=', '\0']) {
                problem(
                    "root_key.pin_env",
                    format!("{pin_env:?} is not an environment variable name"),
                );
            }
            let key_label = raw
                .key_label
                .unwrap_or_else(|| crate::DEFAULT_PKCS11_KEY_LABEL.to_owned());
            if key_label.is_empty() {
                problem("root_key.key_label", "must not be empty".into());
            }
            RootKeyConfig::Pkcs11 {
                module,
                token_label,
                pin_env,
                key_label,
            }
        }
        other => {
            if other != "file" {
                problem(
                    "root_key.kind",
                    format!("{other:?} is not \"file\" or \"pkcs11\""),
                );
            }
            for (field, set) in [
                ("root_key.module", raw.module.is_some()),
                ("root_key.token_label", raw.token_label.is_some()),
                ("root_key.pin_env", raw.pin_env.is_some()),
                ("root_key.key_label", raw.key_label.is_some()),
            ] {
                if set && other == "file" {
                    problem(
                        field,
                        "is only for kind = \"pkcs11\"; remove it or set kind = \"pkcs11\"".into(),
                    );
                }
            }
            let path = match raw.file {
                Some(f) if f.is_empty() => {
                    problem("root_key.file", "must not be empty".into());
                    PathBuf::new()
                }
                Some(f) => PathBuf::from(f),
                None => data_dir.join("root.key"),
            };
            RootKeyConfig::File { path }
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
        assert_eq!(
            c.root_key,
            RootKeyConfig::File {
                path: PathBuf::from("./portcullis-data/root.key")
            }
        );
    }

    #[test]
    fn api_workers_default_to_cores_and_are_bounded() {
        let c = RawConfig::default().resolve(&Overrides::default()).unwrap();
        assert_eq!(c.api.workers, None);
        let c = RawConfig::from_toml("[api]\nworkers = 0\n")
            .unwrap()
            .resolve(&Overrides::default())
            .unwrap();
        assert_eq!(c.api.workers, Some(0));
        let e = RawConfig::from_toml("[api]\nworkers = 5000\n")
            .unwrap()
            .resolve(&Overrides::default())
            .unwrap_err();
        assert!(e.0.iter().any(|p| p.field == "api.workers"), "{e}");
    }

    #[test]
    fn root_key_file_path_is_configurable() {
        let raw =
            RawConfig::from_toml("[root_key]\nkind = \"file\"\nfile = \"/k/root.key\"\n").unwrap();
        let c = raw.resolve(&Overrides::default()).unwrap();
        assert_eq!(
            c.root_key,
            RootKeyConfig::File {
                path: PathBuf::from("/k/root.key")
            }
        );
    }

    #[test]
    fn pkcs11_root_key_resolves_with_defaults() {
        let d = tempfile::tempdir().unwrap();
        let module = d.path().join("libtoken.so");
        std::fs::write(&module, b"").unwrap();
        let raw = RawConfig::from_toml(&format!(
            "[root_key]\nkind = \"pkcs11\"\nmodule = {:?}\ntoken_label = \"prod\"\n",
            module.display().to_string()
        ))
        .unwrap();
        let c = raw.resolve(&Overrides::default()).unwrap();
        assert_eq!(
            c.root_key,
            RootKeyConfig::Pkcs11 {
                module,
                token_label: "prod".into(),
                pin_env: "PORTCULLIS_PKCS11_PIN".into(),
                key_label: "portcullis-root".into(),
            }
        );
    }

    #[test]
    fn pkcs11_problems_are_reported_together() {
        let raw = RawConfig::from_toml(
            "[root_key]\nkind = \"pkcs11\"\nfile = \"x\"\nmodule = \"/no/such/module.so\"\ntoken_label = \"\"\nkey_label = \"\"\npin_env = \"\"\n",
        )
        .unwrap();
        let errs = raw.resolve(&Overrides::default()).unwrap_err();
        let fields: Vec<_> = errs.0.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "root_key.file",
                "root_key.module",
                "root_key.token_label",
                "root_key.pin_env",
                "root_key.key_label"
            ]
        );
        assert!(
            errs.to_string()
                .contains("/no/such/module.so is not a file")
        );
    }

    #[test]
    fn pkcs11_requires_module_and_token() {
        let raw = RawConfig::from_toml("[root_key]\nkind = \"pkcs11\"\n").unwrap();
        let errs = raw.resolve(&Overrides::default()).unwrap_err();
        let fields: Vec<_> = errs.0.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["root_key.module", "root_key.token_label"]);
    }

    #[test]
    fn unknown_root_key_kind_and_stray_fields_are_refused() {
        let raw = RawConfig::from_toml("[root_key]\nkind = \"vault\"\n").unwrap();
        let e = raw.resolve(&Overrides::default()).unwrap_err().to_string();
        assert!(e.contains("root_key.kind: \"vault\" is not"), "{e}");

        let raw = RawConfig::from_toml("[root_key]\ntoken_label = \"t\"\n").unwrap();
        let e = raw.resolve(&Overrides::default()).unwrap_err().to_string();
        assert!(
            e.contains("root_key.token_label: is only for kind = \"pkcs11\""),
            "{e}"
        );
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
