//! The schema migrations, embedded in the binary: one set per backend, because the two
//! dialects differ in types (JSONB, BIGSERIAL, collations) even where the store's SQL does not.
//!
//! Files live in `crates/store/migrations/{sqlite,postgres}/NNNN_description.sql` and are
//! applied in version order by sqlx's migrator, which records them in `_sqlx_migrations`,
//! verifies checksums of applied ones, serialises concurrent migrators (PostgreSQL advisory
//! lock), and refuses a database that has migrations this build does not know.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// One embedded migration: version, description, SQL.
type Step = (i64, &'static str, &'static str);

/// Migrations for the SQLite backend.
pub(crate) const SQLITE: &[Step] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "event attributes keyed for lookup",
        include_str!("../migrations/sqlite/0002_event_attrs_lookup_key.sql"),
    ),
    (
        3,
        "events without a JSON check, attribute rows for runs of events",
        include_str!("../migrations/sqlite/0003_events_without_json_check.sql"),
    ),
];

/// Migrations for the PostgreSQL backend.
pub(crate) const POSTGRES: &[Step] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "event attributes keyed for lookup",
        include_str!("../migrations/postgres/0002_event_attrs_lookup_key.sql"),
    ),
    (
        3,
        "events without a JSON check, attribute rows for runs of events",
        include_str!("../migrations/postgres/0003_events_without_json_check.sql"),
    ),
];

/// A [`MigrationSource`] over compiled-in SQL, so no migration files are needed at run time
/// and no compile-time macro (or database) is needed to build.
#[derive(Debug, Clone, Copy)]
struct Embedded(&'static [Step]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// The migrator for one backend's set.
pub(crate) async fn migrator(
    steps: &'static [Step],
) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(steps)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_sets_resolve_in_version_order() {
        for steps in [SQLITE, POSTGRES] {
            let migrator = migrator(steps).await.ok();
            let versions: Vec<i64> = migrator
                .iter()
                .flat_map(|m| m.iter().map(|s| s.version))
                .collect();
            assert_eq!(versions, vec![1, 2, 3]);
        }
    }

    #[test]
    fn backends_have_the_same_migration_versions() {
        let versions = |steps: &[Step]| steps.iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
    }
}
