//! First start, restart, the admin key from the environment, and configuration checks.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use crate::client::{Client, Creds};
use crate::harness::{ADMIN_ARN, Server, run, scratch, text};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn first_start_writes_private_files_and_prints_working_exports() {
    let (_tmp, data) = scratch();
    let server = Server::start(&data, &[], &[]);
    let dir = std::fs::canonicalize(&data).unwrap();

    assert_eq!(mode(&dir), 0o700, "data dir");
    assert_eq!(mode(&dir.join("credentials")), 0o600, "credentials");
    assert_eq!(mode(&dir.join("root.key")), 0o600, "root.key");
    assert_eq!(mode(&dir.join("pki/ca.key")), 0o600, "pki/ca.key");
    assert_eq!(mode(&dir.join("pki/server.key")), 0o600, "pki/server.key");
    assert!(dir.join("portcullis.db").is_file(), "the SQLite store");
    assert!(
        server.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "ca.pem is a PEM certificate"
    );

    let port = server.addr.port();
    let export = server
        .banner
        .lines()
        .find(|l| l.starts_with("export "))
        .expect("an export line");
    let vars: Vec<(&str, &str)> = export
        .trim_start_matches("export ")
        .split_whitespace()
        .map(|kv| kv.split_once('=').expect("NAME=value"))
        .collect();
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{name} missing from {export}"))
    };
    assert_eq!(get("AWS_ENDPOINT_URL"), format!("https://127.0.0.1:{port}"));
    assert_eq!(get("AWS_CA_BUNDLE"), dir.join("ca.pem").to_str().unwrap());
    assert_eq!(
        get("AWS_SHARED_CREDENTIALS_FILE"),
        dir.join("credentials").to_str().unwrap()
    );
    assert_eq!(get("AWS_PROFILE"), "portcullis");
    assert_eq!(get("AWS_REGION"), "us-east-1");

    // What the exports point at works: the CA bundle verifies the server and the
    // credentials file's key is the admin's.
    let ca = std::fs::read_to_string(get("AWS_CA_BUNDLE")).unwrap();
    let creds = crate::harness::read_credentials(Path::new(get("AWS_SHARED_CREDENTIALS_FILE")));
    assert!(creds.id.len() >= 16, "an access key id: {}", creds.id);
    let client = Client::new(server.addr, &ca);
    let r = client.query("sts", &creds, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("Arn").as_deref(), Some(ADMIN_ARN));
    assert_eq!(r.xml("Account").as_deref(), Some("000000000000"));
}

#[tokio::test]
async fn restart_keeps_the_ca_the_admin_key_and_the_data() {
    let (_tmp, data) = scratch();
    let mut first = Server::start(&data, &[], &[]);
    let client = Client::new(first.addr, &first.ca_pem);
    let r = client
        .query("iam", &first.admin, "CreateUser", &[("UserName", "alice")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _) = first.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "{status:?}");
    let pki_key = std::fs::read(data.join("pki/ca.key")).unwrap();

    let second = Server::start(&data, &[], &[]);
    assert_eq!(second.ca_pem, first.ca_pem, "the CA survives a restart");
    assert_eq!(
        second.admin, first.admin,
        "the admin key survives a restart"
    );
    assert_eq!(std::fs::read(data.join("pki/ca.key")).unwrap(), pki_key);
    // The old CA bundle still verifies the restarted server.
    let client = Client::new(second.addr, &first.ca_pem);
    let r = client
        .query("iam", &first.admin, "GetUser", &[("UserName", "alice")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("UserName").as_deref(), Some("alice"));
    let r = client
        .query("iam", &first.admin, "GetUser", &[("UserName", "bob")])
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("NoSuchEntity"));
}

const GIVEN_ID: &str = "AKIAE2ETESTADMIN0001";
const GIVEN_SECRET: &str = "e2e-secret-0123456789abcdefghijklmnop";

#[tokio::test]
async fn admin_key_from_the_environment_is_used_on_first_start() {
    let (_tmp, data) = scratch();
    let server = Server::start(
        &data,
        &[],
        &[
            ("PORTCULLIS_ADMIN_ACCESS_KEY_ID", GIVEN_ID),
            ("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY", GIVEN_SECRET),
        ],
    );
    let given = Creds {
        id: GIVEN_ID.into(),
        secret: GIVEN_SECRET.into(),
        token: None,
    };
    assert_eq!(
        server.admin, given,
        "the credentials file holds the given key"
    );
    let client = Client::new(server.addr, &server.ca_pem);
    let r = client.query("sts", &given, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.xml("Arn").as_deref(), Some(ADMIN_ARN));

    // The id with another secret is refused.
    let wrong = Creds {
        secret: "not-the-secret-0123456789".into(),
        ..given
    };
    let r = client.query("sts", &wrong, "GetCallerIdentity", &[]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.xml("Code").as_deref(), Some("SignatureDoesNotMatch"));
}

#[test]
fn only_one_admin_variable_is_a_clear_error() {
    for (name, value) in [
        ("PORTCULLIS_ADMIN_ACCESS_KEY_ID", GIVEN_ID),
        ("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY", GIVEN_SECRET),
    ] {
        let (_tmp, data) = scratch();
        let failure = match Server::try_start(&data, &[], &[(name, value)]) {
            Ok(_) => panic!("the server started with only {name} set"),
            Err(f) => f,
        };
        let status = failure.status.expect("the server exited");
        assert!(!status.success(), "{status:?}");
        assert!(
            failure.stderr.contains("PORTCULLIS_ADMIN_ACCESS_KEY_ID")
                && failure
                    .stderr
                    .contains("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY"),
            "the error names both variables: {}",
            failure.stderr
        );
        assert!(
            !failure.stderr.contains(GIVEN_SECRET),
            "the secret is not echoed"
        );
        assert!(
            !data.join("credentials").exists(),
            "no credentials written for a refused start"
        );
    }
}

#[test]
fn a_store_that_cannot_open_says_why_once() {
    let (tmp, data) = scratch();
    let url = format!(
        "sqlite://{}",
        tmp.path().join("no-such-dir/store.db").display()
    );
    let failure = match Server::try_start(&data, &["--store", &url], &[]) {
        Ok(_) => panic!("the server started on a store in a missing directory"),
        Err(f) => f,
    };
    assert!(!failure.status.expect("exited").success());
    let line = failure
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {}", failure.stderr));
    assert!(line.contains("no-such-dir/store.db"), "{line}");
    // The store error and the database driver both repeat their cause; the report shows it once.
    assert_eq!(
        line.matches("unable to open database file").count(),
        1,
        "{line}"
    );
}

#[test]
fn a_too_short_admin_key_is_refused() {
    let (_tmp, data) = scratch();
    let failure = match Server::try_start(
        &data,
        &[],
        &[
            ("PORTCULLIS_ADMIN_ACCESS_KEY_ID", "short"),
            ("PORTCULLIS_ADMIN_SECRET_ACCESS_KEY", "tiny"),
        ],
    ) {
        Ok(_) => panic!("the server started with an unusable admin key"),
        Err(f) => f,
    };
    assert!(!failure.status.expect("exited").success());
    assert!(
        failure.stderr.contains("PORTCULLIS_ADMIN_ACCESS_KEY_ID"),
        "{}",
        failure.stderr
    );
}

/// Values that are each wrong in their own way.
const BAD_VALUES: &str = r#"
account_id = "123"
region = "Not A Region"

[api]
listen = "nowhere:port"
max_body_bytes = 5
"#;

#[test]
fn config_check_lists_every_problem_and_fails() {
    let (tmp, _) = scratch();
    let path = tmp.path().join("bad.toml");
    std::fs::write(&path, BAD_VALUES).unwrap();
    let out = run(&["config", "check", "-c", path.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    for field in ["account_id", "region", "api.listen", "api.max_body_bytes"] {
        assert!(
            stderr.contains(&format!("{field}: ")),
            "{field} is reported: {stderr}"
        );
    }
    assert!(
        stderr.contains("\"123\""),
        "the bad value is quoted: {stderr}"
    );
    assert!(!stdout.contains("configuration OK"));
}

#[test]
fn config_check_reports_an_unknown_field_by_name() {
    let (tmp, _) = scratch();
    let path = tmp.path().join("typo.toml");
    std::fs::write(&path, "[api]\nlisten = \"127.0.0.1:7443\"\nlisen = \"x\"\n").unwrap();
    let out = run(&["config", "check", "-c", path.to_str().unwrap()], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("lisen"),
        "the unknown field is named: {stderr}"
    );
}

#[test]
fn config_check_reports_an_unknown_field_together_with_bad_values() {
    let (tmp, _) = scratch();
    let path = tmp.path().join("both.toml");
    std::fs::write(&path, format!("colour = \"blue\"\n{BAD_VALUES}")).unwrap();
    let out = run(&["config", "check", "-c", path.to_str().unwrap()], &[]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    for needle in ["colour", "account_id", "api.listen"] {
        assert!(stderr.contains(needle), "{needle} is reported: {stderr}");
    }
}

#[test]
fn config_check_accepts_a_good_file() {
    let (tmp, _) = scratch();
    let path = tmp.path().join("good.toml");
    std::fs::write(
        &path,
        "account_id = \"123456789012\"\nregion = \"eu-west-1\"\n[api]\nlisten = \"127.0.0.1:7999\"\n[audit]\nfile_interval_secs = 5\n",
    )
    .unwrap();
    let out = run(&["config", "check", "-c", path.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(stdout.contains("127.0.0.1:7999"), "{stdout}");
    assert!(stdout.contains("123456789012"), "{stdout}");
}

#[test]
fn serve_refuses_a_bad_config_with_the_same_messages() {
    let (tmp, data) = scratch();
    let path = tmp.path().join("bad.toml");
    std::fs::write(&path, BAD_VALUES).unwrap();
    let check = run(&["config", "check", "-c", path.to_str().unwrap()], &[]);
    let (_, check_err) = text(&check);
    let failure = match Server::try_start(&data, &["-c", path.to_str().unwrap()], &[]) {
        Ok(_) => panic!("the server started with a bad configuration"),
        Err(f) => f,
    };
    assert!(!failure.status.expect("exited").success());
    let problems: Vec<&str> = check_err
        .lines()
        .filter(|l| l.contains(": ") && !l.starts_with("error"))
        .collect();
    assert!(problems.len() >= 3, "{check_err}");
    for line in problems {
        // `serve` overrides api.listen from the command line, so that line may differ.
        if line.starts_with("api.listen") {
            continue;
        }
        assert!(
            failure.stderr.contains(line),
            "serve reports {line:?}: {}",
            failure.stderr
        );
    }
    assert!(!data.join("credentials").exists(), "nothing was set up");
}

/// `portcullis ... | head`: a command whose stdout reader has gone ends with the shell's `SIGPIPE`
/// status and no panic report.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let (_tmp, data) = scratch();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = crate::harness::command(
        &["config", "check", "--data-dir", data.to_str().unwrap()],
        &[],
    )
    .stdin(std::process::Stdio::null())
    .stdout(writer)
    .output()
    .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
