//! `portcullis config check` for `[guard]`: one line per log source and finding export that
//! `portcullis serve` would start, and the problems the file's syntax cannot show — a path or
//! directory that is not there, a GeoIP/ASN database or CA file that cannot be read — all
//! reported at once.

use std::path::{Path, PathBuf};

use portcullis_config::{GuardConfig, GuardExportTarget, GuardFormat, GuardInput, GuardSource};
use portcullis_guard_ingest::files::glob::expand;

fn format_name(f: Option<GuardFormat>) -> &'static str {
    match f {
        None => "auto",
        Some(GuardFormat::CloudTrail) => "cloudtrail",
        Some(GuardFormat::VpcFlow) => "vpcflow",
        Some(GuardFormat::Route53) => "route53",
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// The directory a glob starts from: its components before the first with a wildcard.
fn glob_base(p: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for c in Path::new(p).components() {
        if has_wildcard(&c.as_os_str().to_string_lossy()) {
            break;
        }
        base.push(c);
    }
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

/// What one path of a files source is now, or why it cannot work.
fn describe_path(p: &str, follow: bool) -> Result<String, String> {
    if has_wildcard(p) {
        let base = glob_base(p);
        if !base.is_dir() {
            return Err(format!(
                "{p}: the directory {} does not exist",
                base.display()
            ));
        }
        let n = expand(&[p.to_owned()]).len();
        return Ok(format!("{p} (glob, {n} file(s) now)"));
    }
    let path = Path::new(p);
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(format!(
            "{p} (directory, {} file(s))",
            expand(&[p.to_owned()]).len()
        )),
        Ok(_) => Ok(format!("{p} (file)")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if follow && parent.is_dir() {
                Ok(format!("{p} (not there yet; watched)"))
            } else if parent.is_dir() {
                Err(format!(
                    "{p} does not exist (follow = false reads it once, so there is nothing to read)"
                ))
            } else {
                Err(format!(
                    "{p} does not exist, nor does its directory {}",
                    parent.display()
                ))
            }
        }
        Err(e) => Err(format!("{p}: {e}")),
    }
}

fn source_line(s: &GuardSource, problems: &mut Vec<String>) -> String {
    let detector = s
        .detector
        .as_deref()
        .unwrap_or("the server account's (created)");
    let mut line = match &s.input {
        GuardInput::Files {
            paths,
            follow,
            poll_interval,
        } => {
            let mut shown = Vec::new();
            for p in paths {
                match describe_path(p, *follow) {
                    Ok(d) => shown.push(d),
                    Err(why) => problems.push(format!("source {:?}: {why}", s.name)),
                }
            }
            format!(
                "source {:?}: files {}; {}",
                s.name,
                shown.join(", "),
                if *follow {
                    format!("followed, polled every {poll_interval:?}")
                } else {
                    "read once".to_owned()
                }
            )
        }
        GuardInput::Stdin => format!("source {:?}: stdin, read until it ends", s.name),
        GuardInput::Nats {
            url,
            stream,
            consumer,
            subject,
        } => format!(
            "source {:?}: nats {} stream {stream} consumer {consumer} subject {}",
            s.name,
            redact(url),
            subject.as_deref().unwrap_or("(all)")
        ),
    };
    line.push_str(&format!(
        "; format {}{}; detector {detector}",
        format_name(s.format),
        if s.flow_format.is_some() {
            " (flow fields given)"
        } else {
            ""
        }
    ));
    line
}

/// `user:password@` taken out of a URL.
fn redact(url: &str) -> String {
    url.split(',')
        .map(|one| {
            let one = one.trim();
            match (one.find("://"), one.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    format!(
                        "{}://***{}",
                        one.get(..s).unwrap_or(""),
                        one.get(at..).unwrap_or("")
                    )
                }
                _ => one.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn readable_file(what: &str, p: &Path, problems: &mut Vec<String>) {
    if let Err(e) = std::fs::File::open(p).and_then(|f| f.metadata()) {
        problems.push(format!("{what} {}: {e}", p.display()));
    } else if p.is_dir() {
        problems.push(format!("{what} {}: is a directory", p.display()));
    }
}

/// The lines `portcullis config check` prints for `[guard]`, or every problem found.
pub fn check(cfg: &GuardConfig) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut lines = vec![format!(
        "baseline_days {}{}, flush every {:?}, lists checked every {:?}",
        cfg.baseline_days,
        if cfg.baseline_days_by_detector.is_empty() {
            String::new()
        } else {
            format!(
                " ({} detector(s) with their own)",
                cfg.baseline_days_by_detector.len()
            )
        },
        cfg.flush_interval,
        cfg.list_reload_interval
    )];
    for (what, db) in [("geoip_db", &cfg.geoip_db), ("asn_db", &cfg.asn_db)] {
        if let Some(p) = db {
            readable_file(what, p, &mut problems);
            lines.push(format!("{what} {}", p.display()));
        }
    }
    if cfg.sources.is_empty() {
        lines.push("no sources: records arrive only through PutEvents".to_owned());
    }
    for s in &cfg.sources {
        lines.push(source_line(s, &mut problems));
    }
    for e in &cfg.exports {
        let target = match &e.target {
            GuardExportTarget::File(p) => {
                let dir = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !dir.is_dir() {
                    problems.push(format!(
                        "export file {}: the directory {} does not exist",
                        p.display(),
                        dir.display()
                    ));
                }
                format!("file {}", p.display())
            }
            GuardExportTarget::Stdout => "stdout".to_owned(),
            GuardExportTarget::Webhook {
                url,
                ca_file,
                headers,
            } => {
                if let Some(ca) = ca_file {
                    readable_file("export webhook ca_file", ca, &mut problems);
                }
                let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
                format!(
                    "webhook {}{}",
                    redact(url),
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" with header(s) {}", names.join(", "))
                    }
                )
            }
            GuardExportTarget::Nats { url, subject } => {
                format!("nats {} subject {subject}", redact(url))
            }
        };
        lines.push(format!(
            "export {target} (queue {}{})",
            e.queue,
            if e.include_archived {
                ", archived findings too"
            } else {
                ""
            }
        ));
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        anyhow::bail!(
            "the [guard] section has problems:\n{}",
            problems
                .iter()
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_config::{Overrides, RawConfig};

    fn guard(toml: &str) -> GuardConfig {
        RawConfig::from_toml(toml)
            .unwrap()
            .resolve(&Overrides::default())
            .unwrap()
            .guard
    }

    #[test]
    fn lists_every_source_and_export() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("a.log"), "x\n").unwrap();
        let cfg = guard(&format!(
            r#"
[guard]
[[guard.sources]]
name = "trail"
kind = "files"
paths = ["{d}", "{d}/*.log", "{d}/later.json"]
format = "cloudtrail"
[[guard.sources]]
name = "flows"
kind = "nats"
url = "nats://u:secret@127.0.0.1:4222"
stream = "FLOWLOGS"
subject = "flow.>"
detector = "0123456789abcdef0123456789abcdef"
[[guard.exports]]
kind = "file"
path = "{d}/findings.jsonl"
[[guard.exports]]
kind = "webhook"
url = "https://siem.example/in"
headers = {{ Authorization = "Bearer hidden" }}
"#
        ));
        let lines = check(&cfg).unwrap();
        let text = lines.join("\n");
        assert!(
            text.contains(&format!(
                "source \"trail\": files {d} (directory, 1 file(s))"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("{d}/*.log (glob, 1 file(s) now)")),
            "{text}"
        );
        assert!(
            text.contains(&format!("{d}/later.json (not there yet; watched)")),
            "{text}"
        );
        assert!(
            text.contains("followed, polled every 1s; format cloudtrail"),
            "{text}"
        );
        assert!(
            text.contains("source \"flows\": nats nats://***@127.0.0.1:4222 stream FLOWLOGS consumer flows subject flow.>; format auto; detector 0123456789abcdef0123456789abcdef"),
            "{text}"
        );
        assert!(
            !text.contains("secret") && !text.contains("hidden"),
            "{text}"
        );
        assert!(
            text.contains(&format!("export file {d}/findings.jsonl (queue 10000)")),
            "{text}"
        );
        assert!(
            text.contains("export webhook https://siem.example/in with header(s) Authorization"),
            "{text}"
        );
    }

    #[test]
    fn missing_directories_and_files_are_reported_together() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let cfg = guard(&format!(
            r#"
[guard]
geoip_db = "{d}/GeoLite2-City.mmdb"
[[guard.sources]]
name = "gone"
kind = "files"
paths = ["{d}/nope/*.log", "{d}/nodir/x.log"]
[[guard.sources]]
name = "once"
kind = "files"
follow = false
paths = ["{d}/absent.log"]
[[guard.exports]]
kind = "file"
path = "{d}/missing/findings.jsonl"
"#
        ));
        let e = check(&cfg).unwrap_err().to_string();
        for want in [
            "geoip_db",
            &format!("source \"gone\": {d}/nope/*.log: the directory {d}/nope does not exist"),
            &format!("{d}/nodir/x.log does not exist, nor does its directory {d}/nodir"),
            &format!("source \"once\": {d}/absent.log does not exist (follow = false"),
            &format!("the directory {d}/missing does not exist"),
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
        assert_eq!(
            e.lines().filter(|l| l.starts_with("  - ")).count(),
            5,
            "{e}"
        );
    }

    #[test]
    fn no_section_is_push_only() {
        let lines = check(&GuardConfig::default()).unwrap();
        assert!(lines.iter().any(|l| l.contains("only through PutEvents")));
    }
}
