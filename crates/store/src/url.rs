//! Store URLs: which backend, and where.
//!
//! `sqlite:///abs/path.db` (absolute), `sqlite://relative.db` (relative to the working
//! directory), `postgres://user:pw@host:port/db` or `postgresql://...` (passed to the
//! PostgreSQL driver as is, so its query parameters such as `sslmode` work).

use std::path::PathBuf;

use crate::StoreError;

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// Parses a store URL.
pub(crate) fn parse(url: &str) -> Result<Target, StoreError> {
    let invalid = |reason: &str| StoreError::InvalidUrl {
        url: redact(url),
        reason: reason.to_owned(),
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid("expected sqlite://PATH or postgres://USER@HOST/DB"));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            if rest.is_empty() {
                return Err(invalid("no database file path"));
            }
            if rest == ":memory:" || rest.contains("mode=memory") {
                return Err(invalid("in-memory SQLite is not durable; give a file path"));
            }
            Ok(Target::Sqlite(PathBuf::from(rest)))
        }
        "postgres" | "postgresql" => {
            if rest.is_empty() {
                return Err(invalid("no host"));
            }
            Ok(Target::Postgres(url.to_owned()))
        }
        _ => Err(invalid(
            "unknown scheme: expected sqlite, postgres or postgresql",
        )),
    }
}

/// `url` with the password (if any) replaced by `***`, fit for logs and errors.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_absolute_and_relative() {
        assert_eq!(
            parse("sqlite:///var/lib/p/store.db").ok(),
            Some(Target::Sqlite("/var/lib/p/store.db".into()))
        );
        assert_eq!(
            parse("sqlite://data/store.db").ok(),
            Some(Target::Sqlite("data/store.db".into()))
        );
    }

    #[test]
    fn postgres_urls_pass_through() {
        for url in [
            "postgres://u:pw@db:5432/portcullis",
            "postgresql://u@db/p?sslmode=require",
        ] {
            assert_eq!(parse(url).ok(), Some(Target::Postgres(url.to_owned())));
        }
    }

    #[test]
    fn bad_urls_are_rejected_without_leaking_passwords() {
        for url in [
            "mysql://u:secret@h/db",
            "sqlite://",
            "sqlite://:memory:",
            "store.db",
            "postgres://",
        ] {
            let err = parse(url).err();
            assert!(
                matches!(err, Some(StoreError::InvalidUrl { .. })),
                "{url}: {err:?}"
            );
            assert!(
                !err.map(|e| e.to_string())
                    .unwrap_or_default()
                    .contains("secret")
            );
        }
    }

    #[test]
    fn redaction_hides_only_the_password() {
        assert_eq!(
            redact("postgres://u:p%40ss@h:5/db?x=1"),
            "postgres://u:***@h:5/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///a@b:c/d.db"), "sqlite:///a@b:c/d.db");
    }
}
