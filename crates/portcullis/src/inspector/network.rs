//! `portcullis inspector network import|show`: the network description behind
//! `NETWORK_REACHABILITY` findings, kept as a file in the data directory like the advisory
//! index.
//!
//! `import FILE...` checks every file (a JSON object of `Describe*` bodies, as
//! `POST /network/import` takes), merges them in order and writes
//! `<data_dir>/inspector/network/network.json` atomically, replacing the previous import. A
//! running server notices the file within its `network_reload_interval` (1 s) and imports it
//! together with the configured `[inspector] network_files`. One bad file writes nothing.
//! `show` prints what the imported file and the configured files hold.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use portcullis_config::{Config, Overrides};
use portcullis_inspector_api::network_files::{
    self as nf, DescriptionSummary, INFO_KEY, NetworkSources,
};
use serde_json::{Value, json};

use crate::cli::{InspectorNetworkCommand, InspectorNetworkImportArgs, InspectorNetworkShowArgs};

/// Runs an `inspector network` subcommand.
pub fn run(command: InspectorNetworkCommand) -> Result<ExitCode> {
    match command {
        InspectorNetworkCommand::Import(args) => import(&args),
        InspectorNetworkCommand::Show(args) => show(&args),
    }
}

fn now() -> f64 {
    time::OffsetDateTime::now_utc().unix_timestamp() as f64
}

fn rfc3339(secs: f64) -> String {
    #[allow(clippy::cast_possible_truncation)] // whole seconds are what is shown
    let whole = secs as i64;
    time::OffsetDateTime::from_unix_timestamp(whole)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs}"))
}

fn import(args: &InspectorNetworkImportArgs) -> Result<ExitCode> {
    let cfg = crate::serve::resolve(&args.common, Overrides::default())?;
    let mut parts = Vec::new();
    let mut problems = Vec::new();
    for path in &args.files {
        match nf::read_description(path) {
            Ok(bytes) => parts.push((path.display().to_string(), bytes)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("error: {p}");
        }
        eprintln!(
            "nothing was imported: {} of {} files are not network descriptions",
            problems.len(),
            args.files.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    let files: Vec<String> = args
        .files
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    let merged =
        nf::merge_descriptions(&parts, Some(json!({"importedAt": now(), "files": files})))?;
    let summary = nf::summarize("merged description", &merged)?;
    let target = nf::imported_path(&cfg.data_dir);
    crate::inspector::write_atomic(&target, &merged)?;
    println!(
        "wrote {} ({} bytes) from {} file(s): {} VPCs, {} instances, {} reachable ranges",
        target.display(),
        merged.len(),
        args.files.len(),
        summary.vpcs.len(),
        summary.instances.len(),
        summary.reachable_ranges
    );
    println!(
        "a running server imports it within {:?} (with the configured network_files)",
        cfg.inspector.network_reload_interval
    );
    Ok(ExitCode::SUCCESS)
}

fn summary_json(s: &DescriptionSummary) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn print_summary(s: &DescriptionSummary) {
    println!("  VPCs               {} {}", s.vpcs.len(), s.vpcs.join(" "));
    println!(
        "  instances          {} {}",
        s.instances.len(),
        s.instances.join(" ")
    );
    println!("  subnets            {}", s.subnets);
    println!("  security groups    {}", s.security_groups);
    println!("  network interfaces {}", s.network_interfaces);
    println!("  route tables       {}", s.route_tables);
    println!("  network ACLs       {}", s.network_acls);
    println!("  internet gateways  {}", s.internet_gateways);
    println!("  reachable ranges   {}", s.reachable_ranges);
}

/// One source's entry of `show`: its summary, or what is wrong with it.
fn describe(path: &Path) -> (Value, Option<DescriptionSummary>) {
    match nf::read_description(path) {
        Ok(bytes) => {
            let info = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get(INFO_KEY).cloned());
            match nf::summarize(&path.display().to_string(), &bytes) {
                Ok(s) => (
                    json!({"path": path, "info": info, "summary": summary_json(&s)}),
                    Some(s),
                ),
                Err(e) => (json!({"path": path, "error": e.to_string()}), None),
            }
        }
        Err(e) => (json!({"path": path, "error": e.to_string()}), None),
    }
}

fn show(args: &InspectorNetworkShowArgs) -> Result<ExitCode> {
    let cfg = crate::serve::resolve(&args.common, Overrides::default())?;
    let imported = nf::imported_path(&cfg.data_dir);
    let mut out = Vec::new();
    let mut bad = false;
    if imported.exists() {
        out.push(("imported", imported.clone(), describe(&imported)));
    }
    for f in &cfg.inspector.network_files {
        out.push(("configured", f.clone(), describe(f)));
    }
    bad |= out.iter().any(|(_, _, (_, s))| s.is_none());
    if args.json {
        let list: Vec<Value> = out
            .iter()
            .map(|(kind, _, (v, _))| {
                let mut v = v.clone();
                v["source"] = json!(kind);
                v
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"descriptions": list}))?
        );
    } else if out.is_empty() {
        println!(
            "no network description: neither {} nor [inspector] network_files\n\
             (import one with `portcullis inspector network import FILE...`)",
            imported.display()
        );
    } else {
        for (kind, path, (v, s)) in &out {
            println!("{kind} {}", path.display());
            if let Some(at) = v["info"]["importedAt"].as_f64() {
                println!("  imported at        {}", rfc3339(at));
            }
            if let Some(files) = v["info"]["files"].as_array() {
                let names: Vec<&str> = files.iter().filter_map(Value::as_str).collect();
                println!("  from               {}", names.join(" "));
            }
            match s {
                Some(s) => print_summary(s),
                None => println!("  error              {}", v["error"].as_str().unwrap_or("")),
            }
        }
    }
    Ok(if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `config check`'s look at `[inspector] network_files`: one line per file, an error naming
/// the first bad one.
pub fn check(cfg: &Config) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for f in &cfg.inspector.network_files {
        let bytes = nf::read_description(f).context("inspector.network_files")?;
        let s = nf::summarize(&f.display().to_string(), &bytes)?;
        lines.push(format!(
            "network file {}: {} VPCs, {} instances",
            f.display(),
            s.vpcs.len(),
            s.instances.len()
        ));
    }
    Ok(lines)
}

/// The sources `serve` imports at start and watches.
pub fn sources(cfg: &Config, data_dir: &Path) -> NetworkSources {
    NetworkSources::new(cfg.inspector.network_files.clone(), data_dir)
}
