//! `portcullis guard ...`: analyse CloudTrail / VPC Flow Logs / Route 53 Resolver files
//! offline with the built-in detectors, and simulate a small estate's logs with the
//! GuardDuty tester's attacks; [`check`]: the `[guard]` part of `portcullis config check`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use portcullis_guard_detect::core::decode::DecodeOptions;
use portcullis_guard_detect::core::intel::ThreatIntel;
use portcullis_guard_detect::{Config, Engine, Finding, simulate};

use crate::cli::{GuardAnalyzeArgs, GuardCommand, GuardFormat, GuardSimulateArgs};

pub mod check;

/// Inputs larger than this in total get a progress line on stderr.
const PROGRESS_MIN_BYTES: u64 = 8 << 20;
/// Malformed-record locations printed in the summary.
const SHOWN_ERRORS: usize = 10;

/// Runs a `guard` subcommand.
pub fn run(cmd: GuardCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GuardCommand::Analyze(a) => analyze(&a),
        GuardCommand::Simulate(s) => simulate_cmd(&s),
    }
}

/// Files under `paths` (directories recursively, sorted, hidden entries skipped).
fn collect(paths: &[PathBuf], keep: &dyn Fn(&Path) -> bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            while let Some(d) = stack.pop() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
                    .with_context(|| format!("reading {}", d.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        !p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                entries.sort();
                for e in entries.into_iter().rev() {
                    if e.is_dir() {
                        stack.push(e);
                    } else if keep(&e) {
                        out.push(e);
                    }
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn load_intel(paths: &[PathBuf]) -> anyhow::Result<ThreatIntel> {
    let mut intel = ThreatIntel::new();
    let files = collect(paths, &|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        (name.ends_with(".txt") || name.ends_with(".csv"))
            && !name.contains("header")
            && !name.starts_with("license")
    })?;
    let (mut loaded, mut bad) = (0usize, 0usize);
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let (l, b) =
            portcullis_guard_detect::intel::load_list(&mut intel, &f.to_string_lossy(), &text)?;
        loaded += l;
        bad += b;
    }
    if !files.is_empty() {
        eprintln!(
            "intel: {loaded} indicators from {} list(s), {bad} malformed entries skipped",
            files.len()
        );
    }
    Ok(intel)
}

fn analyze(args: &GuardAnalyzeArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let summary = analyze_to(args, &mut out)?;
    out.flush()?;
    for line in summary {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the analysis, writes findings to `out` and returns the summary lines.
fn analyze_to(args: &GuardAnalyzeArgs, out: &mut impl Write) -> anyhow::Result<Vec<String>> {
    let intel = load_intel(&args.intel)?;
    let files = collect(&args.paths, &|_| true)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let progress = total >= PROGRESS_MIN_BYTES && !args.no_progress;
    let started = std::time::Instant::now();
    let cfg = Config {
        baseline_days: args.baseline_days,
        ..Config::default()
    };
    let mut engine = Engine::new(cfg, intel);
    if args.geoip_db.is_some() || args.asn_db.is_some() {
        let read = |p: &Option<PathBuf>| {
            p.as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .transpose()
        };
        let geo = portcullis_guard_detect::geo::GeoLookup::from_bytes(
            read(&args.geoip_db)?,
            read(&args.asn_db)?,
        )?;
        engine = engine.with_geo(geo);
    }
    let mut sigma_lines = Vec::new();
    if let Some(dir) = &args.sigma {
        use portcullis_guard_detect::sigma_rules::{LoadOptions, RuleSet};
        let (rules, report) = RuleSet::load_dir(dir, &LoadOptions::default())
            .map_err(|e| anyhow::anyhow!("--sigma {}: {e}", dir.display()))?;
        sigma_lines.push(format!(
            "sigma: {} rule(s) and {} correlation(s) loaded from {}, {} refused",
            report.rules_loaded(),
            report.correlations_loaded(),
            dir.display(),
            report.refused.len()
        ));
        for r in &report.refused {
            sigma_lines.push(format!("  refused {}: {}", r.origin, r.error));
        }
        engine = engine.with_sigma(rules);
    }
    let opts = DecodeOptions::default();
    let (mut records, mut malformed, mut done) = (0u64, 0u64, 0u64);
    let mut errors: Vec<String> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f.display().to_string();
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                refused.push(format!("{name}: {e}"));
                continue;
            }
        };
        done += bytes.len() as u64;
        let r = engine.ingest(&name, &bytes, &opts);
        records += r.records;
        malformed += r.malformed;
        for e in r.errors {
            if errors.len() < SHOWN_ERRORS {
                errors.push(e);
            }
        }
        if let Some(why) = r.refused {
            refused.push(format!("{name}: {why}"));
        }
        if progress {
            eprint!(
                "\r[guard] {}/{} files  {:.1}/{:.1} MiB  {records} records  {} findings   ",
                i + 1,
                files.len(),
                done as f64 / 1048576.0,
                total as f64 / 1048576.0,
                engine.finding_count(),
            );
        }
    }
    if progress {
        eprintln!();
    }
    let findings = engine.findings();
    match args.format {
        GuardFormat::Json => {
            for f in &findings {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
        }
        GuardFormat::Table => print_table(out, &findings)?,
    }
    let st = engine.stats();
    let mut summary = vec![format!(
        "guard: {} file(s), {records} records read (cloudtrail {}, flow {}, dns {}), {malformed} malformed skipped, {} finding(s) in {:.1} s",
        files.len(),
        st.cloudtrail,
        st.flow,
        st.dns,
        findings.len(),
        started.elapsed().as_secs_f64()
    )];
    summary.extend(sigma_lines);
    summary.extend(errors.iter().map(|e| format!("  malformed: {e}")));
    summary.extend(refused.iter().map(|r| format!("  skipped file: {r}")));
    if st.evicted > 0 || st.dropped_findings > 0 {
        summary.push(format!(
            "  bounded state: {} keys evicted, {} findings dropped",
            st.evicted, st.dropped_findings
        ));
    }
    Ok(summary)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn print_table(out: &mut impl Write, findings: &[Finding]) -> std::io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "no findings");
    }
    let rows: Vec<[String; 5]> = findings
        .iter()
        .map(|f| {
            [
                format!("{:.1} {}", f.severity, f.band().name()),
                f.finding_type.clone(),
                clip(&f.resource_label(), 40),
                f.service.count.to_string(),
                clip(&f.title, 90),
            ]
        })
        .collect();
    let head = ["SEVERITY", "TYPE", "RESOURCE", "COUNT", "TITLE"];
    let mut w = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(c.chars().count());
            }
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let width = w.get(i).copied().unwrap_or(0);
            if i == 4 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<width$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", line(head))?;
    for r in &rows {
        writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]))?;
    }
    Ok(())
}

fn simulate_cmd(args: &GuardSimulateArgs) -> anyhow::Result<ExitCode> {
    let files = simulate::simulate(&args.scenario, args.seed)?;
    for f in &files {
        let path = args.out.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, &f.bytes).with_context(|| format!("writing {}", path.display()))?;
        println!("{} ({} bytes)", path.display(), f.bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulate_then_analyze_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let sim = GuardSimulateArgs {
            scenario: "ssh-bruteforce".into(),
            out: dir.path().to_path_buf(),
            seed: 9,
        };
        simulate_cmd(&sim).unwrap();
        // A malformed flow file next to the simulated ones is counted, not fatal.
        std::fs::write(
            dir.path().join("vpcflow/broken.log"),
            "2 1 eni-1 10.0.0.1\n",
        )
        .unwrap();
        let mut args = GuardAnalyzeArgs {
            intel: Vec::new(),
            sigma: None,
            format: GuardFormat::Json,
            no_progress: true,
            baseline_days: 0,
            geoip_db: None,
            asn_db: None,
            paths: vec![dir.path().to_path_buf()],
        };
        let mut out = Vec::new();
        let summary = analyze_to(&args, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let findings: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            findings.iter().any(
                |f| f["type"] == "UnauthorizedAccess:EC2/SSHBruteForce" && f["severity"] == 8.0
            )
        );
        assert!(findings.iter().all(|f| f["schemaVersion"] == "2.0"));
        assert!(summary[0].contains("4 file(s)"), "{summary:?}");
        assert!(summary[0].contains("1 malformed skipped"), "{summary:?}");
        assert!(summary[1].contains("broken.log:1"), "{summary:?}");
        args.format = GuardFormat::Table;
        let mut out = Vec::new();
        analyze_to(&args, &mut out).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert!(table.starts_with("SEVERITY"));
        assert!(
            table.contains("8.0 High    UnauthorizedAccess:EC2/SSHBruteForce"),
            "{table}"
        );
    }

    #[test]
    fn sigma_rules_from_the_corpus_become_findings() {
        let corpora = std::env::var("PORTCULLIS_CORPORA").map_or_else(
            |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"),
            PathBuf::from,
        );
        let rules = corpora.join("guard/sigma-aws/rules");
        let log = corpora
            .join("guard/cloudtrail/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json");
        if !rules.is_dir() || !log.is_file() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the corpus is missing at {} but CI=true",
                corpora.display()
            );
            eprintln!("SKIPPED: corpus not found at {}", corpora.display());
            return;
        }
        let args = GuardAnalyzeArgs {
            intel: Vec::new(),
            sigma: Some(rules),
            format: GuardFormat::Json,
            no_progress: true,
            baseline_days: 0,
            geoip_db: None,
            asn_db: None,
            paths: vec![log],
        };
        let mut out = Vec::new();
        let summary = analyze_to(&args, &mut out).unwrap();
        assert!(
            summary.iter().any(|l| l.starts_with("sigma: 57 rule(s)")),
            "{summary:?}"
        );
        let findings: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let sigma: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|f| {
                f["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("/SigmaRule"))
            })
            .collect();
        assert!(
            sigma.iter().any(|f| f["title"]
                == "Sigma rule matched: AWS CloudTrail Important Change"
                && f["type"] == "DefenseEvasion:IAMUser/SigmaRule"),
            "{findings:#?}"
        );
        // The built-in detector still reports it too.
        assert!(
            findings
                .iter()
                .any(|f| f["type"] == "Stealth:IAMUser/CloudTrailLoggingDisabled")
        );
    }
}
