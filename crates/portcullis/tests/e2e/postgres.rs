//! The PostgreSQL backend, run when `PORTCULLIS_TEST_POSTGRES_URL` names a server
//! (`scripts/with-postgres.sh cargo test -p portcullis --test e2e postgres`).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;

use crate::client::Client;
use crate::harness::{Server, scratch};

/// The server URL, or `None` after saying loudly that the test is skipped (a failure on CI).
fn postgres_url() -> Option<String> {
    match std::env::var("PORTCULLIS_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "PORTCULLIS_TEST_POSTGRES_URL must be set on CI (use scripts/with-postgres.sh)"
                );
            }
            // Straight to the process's stderr, past the test harness's capture, so the skip
            // shows in every run.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PORTCULLIS_TEST_POSTGRES_URL not set (run under scripts/with-postgres.sh) ***\n"
            );
            None
        }
    }
}

/// Creates a fresh database and returns its URL.
async fn fresh_database(url: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("portcullis_e2e_{}_{nanos}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connecting to PORTCULLIS_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    conn.close().await.ok();
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    format!("{server}/{name}{query}")
}

#[tokio::test]
async fn postgres_store_keeps_users_across_restarts() {
    let Some(url) = postgres_url() else {
        return;
    };
    let db = fresh_database(&url).await;
    let (_tmp, data) = scratch();
    let mut first = Server::start(&data, &["--store", &db], &[]);
    assert!(
        !data.join("portcullis.db").exists(),
        "no SQLite file when PostgreSQL is the store"
    );
    let client = Client::new(first.addr, &first.ca_pem);
    let health = client
        .must_send(
            client
                .request(http::Method::GET, "/health")
                .body(bytes::Bytes::new())
                .unwrap(),
        )
        .await;
    assert!(health.body.contains("postgres"), "{}", health.body);
    let r = client
        .query("iam", &first.admin, "CreateUser", &[("UserName", "erin")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _) = first.terminate(Duration::from_secs(10)).await;
    assert!(status.success());

    let second = Server::start(&data, &["--store", &db], &[]);
    assert_eq!(second.admin, first.admin);
    let client = Client::new(second.addr, &second.ca_pem);
    let r = client
        .query("iam", &second.admin, "GetUser", &[("UserName", "erin")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("UserName").as_deref(), Some("erin"));
}
