//! `portcullis ca ...`: the built-in certificate authority from the command line.

use std::process::ExitCode;

use anyhow::{Context, Result};
use portcullis_config::Overrides;
use portcullis_pki::{IssuedCert, Pki};

use crate::cli::{CaArgs, CaCommand};

/// Runs a CA command against the data directory's PKI.
pub fn run(args: CaArgs) -> Result<ExitCode> {
    let cfg = crate::serve::resolve(&args.common, Overrides::default())?;
    let pki = Pki::open_or_init(&cfg.data_dir.join("pki"), &cfg.server_names)
        .context("opening the certificate authority")?;
    match args.command {
        CaCommand::List { json } => {
            let certs = pki.list()?;
            if json {
                let v: Vec<serde_json::Value> = certs
                    .iter()
                    .map(|c| {
                        serde_json::json!({"serial": c.serial_hex, "kind": format!("{:?}", c.kind), "subject": c.subject,
                        "names": c.names, "principal": c.principal, "not_after": c.not_after.to_string(), "revoked": c.revoked})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!(
                    "{:<34} {:<7} {:<8} {:<25} SUBJECT / PRINCIPAL",
                    "SERIAL", "KIND", "STATUS", "NOT AFTER"
                );
                for c in certs {
                    let status = if c.revoked { "revoked" } else { "valid" };
                    let who = c.principal.clone().unwrap_or_else(|| c.names.join(","));
                    let not_after = c.not_after.date().to_string();
                    println!(
                        "{:<34} {:<7} {:<8} {:<25} {} {}",
                        c.serial_hex,
                        format!("{:?}", c.kind),
                        status,
                        not_after,
                        c.subject,
                        who
                    );
                }
            }
        }
        CaCommand::IssueClient {
            name,
            principal,
            days,
            out,
        } => {
            let cert = pki.issue_client(&name, &principal, days)?;
            write_pair(&out, &name, &cert)?;
        }
        CaCommand::IssueServer { names, days, out } => {
            let cert = pki.issue_server(&names, days)?;
            let base = names
                .first()
                .map(String::as_str)
                .unwrap_or("server")
                .replace([':', '/'], "_");
            write_pair(&out, &base, &cert)?;
        }
        CaCommand::RotateServer { names } => {
            let names = (!names.is_empty()).then_some(names);
            let cert = pki.rotate_server(names.as_deref())?;
            println!(
                "rotated the API server certificate: serial {} valid until {}",
                cert.serial_hex, cert.not_after
            );
        }
        CaCommand::Revoke { serial } => {
            pki.revoke(&serial)?;
            println!("revoked {serial}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_pair(dir: &std::path::Path, base: &str, cert: &IssuedCert) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let cert_path = dir.join(format!("{base}.pem"));
    let key_path = dir.join(format!("{base}.key"));
    std::fs::write(&cert_path, &cert.cert_pem)?;
    let _ = std::fs::remove_file(&key_path);
    portcullis_iam_api::sealing::write_private(&key_path, cert.key_pem.expose().as_bytes())?;
    println!("serial {}  valid until {}", cert.serial_hex, cert.not_after);
    println!("certificate: {}", cert_path.display());
    println!("private key: {}", key_path.display());
    Ok(())
}
