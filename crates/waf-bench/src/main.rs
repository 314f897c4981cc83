//! `portcullis-waf-bench`: measures CPU time per request of the Portcullis WAF engines on the
//! `bench/waf/requests/*.http` request types (and a body-size sweep) and appends `portcullis-waf-bench/1` JSON
//! lines to `target/waf-bench/portcullis.jsonl`. See `bench/waf/README.md` and `scripts/waf-bench.sh`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use portcullis_waf_bench::engines::{self, CrsPaths, Engine, Outcome, Runner};
use portcullis_waf_bench::http_file::{self, RequestType};
use portcullis_waf_bench::measure::{Budget, Measurement, measure};
use portcullis_waf_bench::record::{self, Cell, Provenance};
use portcullis_waf_bench::{BenchError, sweep};
use portcullis_waf_core::rate::InMemoryRateCounter;
use portcullis_waf_request::Request;

const USAGE: &str = "portcullis-waf-bench [--requests DIR] [--groups DIR] [--out FILE] [--seconds S]
    [--rounds N] [--sweep-seconds S] [--systems acl,crs,both] [--only ID,ID] [--no-sweep]

  --requests DIR      request files (default: <workspace>/bench/waf/requests)
  --groups DIR        Portcullis managed rule groups (default: <workspace>/crates/waf-core/rulegroups)
  --crs-rules DIR     CRS rules (default /usr/share/modsecurity-crs/rules)
  --crs-etc DIR       crs-setup.conf and the exclusion files (default /etc/modsecurity/crs)
  --engine-conf FILE  recommended ModSecurity engine config (default /etc/nginx/modsecurity.conf)
  --out FILE          JSON lines appended here (default: <workspace>/target/waf-bench/portcullis.jsonl)
  --seconds S         measured time per request type and system, split over the rounds (default 3)
  --rounds N          rounds over all cells; each cell reports its median round (default 3; warm-up 0.3 s each)
  --sweep-seconds S   measured time per body-size sweep cell (default 1)
  --systems LIST      acl (AWS-style ACL), crs (CRS 3.3.4 PL1 on SecLang), both (default acl,crs,both)
  --only LIST         request ids to run (default all files)
  --no-sweep          skip the form/JSON body-size sweep (1-64 KB)";

/// Request ids in table order.
const ORDER: [&str; 4] = ["simple-get", "browser-get", "json-post-1k", "form-post-8k"];

struct Args {
    requests: PathBuf,
    groups: PathBuf,
    crs: CrsPaths,
    out: PathBuf,
    seconds: f64,
    rounds: u32,
    sweep_seconds: f64,
    systems: Vec<String>,
    only: Option<Vec<String>>,
    sweep: bool,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse_args() -> Result<Args, BenchError> {
    let ws = workspace();
    let mut a = Args {
        requests: ws.join("bench/waf/requests"),
        groups: ws.join("crates/waf-core/rulegroups"),
        crs: CrsPaths::default(),
        out: ws.join("target/waf-bench/portcullis.jsonl"),
        seconds: 3.0,
        rounds: 3,
        sweep_seconds: 1.0,
        systems: vec!["acl".into(), "crs".into(), "both".into()],
        only: None,
        sweep: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--no-sweep" {
            a.sweep = false;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(BenchError::Usage(USAGE.to_owned()));
        }
        let value = it
            .next()
            .ok_or_else(|| BenchError::Usage(format!("{flag} needs a value\n{USAGE}")))?;
        let secs = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 600.0)
                .ok_or_else(|| BenchError::Usage(format!("{flag}: not a number of seconds: {v}")))
        };
        let list = |v: &str| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        match flag.as_str() {
            "--requests" => a.requests = value.into(),
            "--groups" => a.groups = value.into(),
            "--crs-rules" => a.crs.rules_dir = value.into(),
            "--crs-etc" => a.crs.etc_dir = value.into(),
            "--engine-conf" => a.crs.engine_conf = value.into(),
            "--out" => a.out = value.into(),
            "--seconds" => a.seconds = secs(&value)?,
            "--sweep-seconds" => a.sweep_seconds = secs(&value)?,
            "--rounds" => {
                a.rounds = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=50).contains(n))
                    .ok_or_else(|| BenchError::Usage(format!("--rounds: 1 to 50, not {value}")))?
            }
            "--systems" => a.systems = list(&value),
            "--only" => a.only = Some(list(&value)),
            _ => return Err(BenchError::Usage(format!("unknown option {flag}\n{USAGE}"))),
        }
    }
    if let Some(bad) = a
        .systems
        .iter()
        .find(|s| !["acl", "crs", "both"].contains(&s.as_str()))
    {
        return Err(BenchError::Usage(format!("unknown system {bad}\n{USAGE}")));
    }
    Ok(a)
}

/// A SQL injection every configuration must block: proof that the rules are loaded and running.
fn attack() -> Request {
    Request::builder()
        .uri("/?id=1%27%20OR%201=1--")
        .header("Host", "www.example.com")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        )
        .header("Accept", "*/*")
        .build()
}

struct System<'a> {
    key: &'static str,
    system: &'static str,
    config: &'static str,
    runner: Runner<'a>,
}

struct Writer {
    file: std::fs::File,
    path: PathBuf,
    prov: Provenance,
    summary: Vec<(String, String, String, f64, f64)>,
}

impl Writer {
    fn write(&mut self, cell: &Cell<'_>, m: &Measurement) -> Result<(), BenchError> {
        let line = record::line(cell, m, &self.prov);
        writeln!(self.file, "{line}").map_err(|e| BenchError::io(&self.path, e))?;
        eprintln!(
            "waf-bench: {} {} {}: {:.1} µs CPU/req ({:.1} wall, {} iterations) {}",
            cell.system,
            cell.config,
            cell.request,
            m.cpu_us(),
            m.wall_us(),
            m.iterations,
            cell.verdict
        );
        self.summary.push((
            cell.system.to_owned(),
            cell.config.to_owned(),
            cell.request.to_owned(),
            m.cpu_us(),
            m.wall_us(),
        ));
        Ok(())
    }
}

fn verdict(o: &Outcome) -> &'static str {
    if o.allowed { "ALLOW" } else { "BLOCK" }
}

fn run() -> Result<(), BenchError> {
    let args = parse_args()?;
    let mut requests = http_file::read_dir(&args.requests, &ORDER)?;
    if let Some(only) = &args.only {
        requests.retain(|r| only.contains(&r.id));
    }
    if requests.is_empty() {
        return Err(BenchError::Usage(format!(
            "no request files in {}",
            args.requests.display()
        )));
    }
    let want = |s: &str| args.systems.iter().any(|x| x == s);
    let need_acl = want("acl") || want("both");
    let need_crs = want("crs") || want("both");
    let acl = if need_acl {
        Some(engines::build_acl(&args.groups)?)
    } else {
        None
    };
    let crs = if need_crs {
        Some(engines::build_crs(&args.crs)?)
    } else {
        None
    };
    let crs_rules = crs.as_ref().map_or(0, |(_, n)| *n);
    if let Some((_, n)) = &crs {
        eprintln!("waf-bench: CRS loaded on the SecLang engine: {n} rules");
    }
    let rate = InMemoryRateCounter::new();
    let mut systems = Vec::new();
    for key in &args.systems {
        let (system, config, engine) = match (key.as_str(), &acl, &crs) {
            ("acl", Some(acl), _) => (
                "portcullis-waf-core",
                engines::ACL_CONFIG,
                Engine::Acl { acl, rate: &rate },
            ),
            ("crs", _, Some((rules, _))) => (
                "portcullis-seclang",
                engines::CRS_CONFIG,
                Engine::Crs(rules),
            ),
            ("both", Some(acl), Some((rules, _))) => (
                "portcullis-waf-core+seclang",
                engines::BOTH_CONFIG,
                Engine::Both(acl, &rate, rules),
            ),
            _ => continue,
        };
        let key = match key.as_str() {
            "acl" => "acl",
            "crs" => "crs",
            _ => "both",
        };
        systems.push(System {
            key,
            system,
            config,
            runner: Runner::new(engine),
        });
    }
    let attack = attack();
    for s in &systems {
        let o = s.runner.run(&attack);
        if o.allowed {
            return Err(BenchError::Verdict(format!(
                "{} {} let the SQL injection {} through: the rules are not running",
                s.system, s.config, attack.uri
            )));
        }
        eprintln!(
            "waf-bench: {} {} blocks {} ({})",
            s.system,
            s.config,
            attack.uri,
            o.detail.join(", ")
        );
    }

    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::io(dir, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.out)
        .map_err(|e| BenchError::io(&args.out, e))?;
    let mut w = Writer {
        file,
        path: args.out.clone(),
        prov: Provenance::now(crs_rules),
        summary: Vec::new(),
    };

    // Check every verdict first: a block stops the run before any time is spent.
    let mut outcomes = Vec::new();
    for s in &systems {
        for r in &requests {
            let o = s.runner.run(&r.request);
            if !o.allowed {
                return Err(BenchError::Verdict(format!(
                    "{} {} blocks the benign request {}: {}",
                    s.system,
                    s.config,
                    r.id,
                    o.detail.join(", ")
                )));
            }
            outcomes.push(o);
        }
    }
    // Rounds interleave the cells, so a burst of load on the shared machine hits one round of many cells rather
    // than all rounds of one cell; each cell reports its median round.
    let budget = Budget {
        measure: Duration::from_secs_f64(args.seconds / f64::from(args.rounds)),
        ..Budget::default()
    };
    let mut rounds: Vec<Vec<Measurement>> = vec![Vec::new(); outcomes.len()];
    for round in 1..=args.rounds {
        eprintln!("waf-bench: round {round} of {}", args.rounds);
        let cells = systems
            .iter()
            .flat_map(|s| requests.iter().map(move |r| (s, r)));
        for ((s, r), slot) in cells.zip(rounds.iter_mut()) {
            slot.push(measure(&budget, || s.runner.run(&r.request))?);
        }
    }
    let cells = systems
        .iter()
        .flat_map(|s| requests.iter().map(move |r| (s, r)));
    for (((s, r), o), mut ms) in cells.zip(&outcomes).zip(rounds) {
        ms.sort_by(|a, b| a.cpu_us().total_cmp(&b.cpu_us()));
        let per_round: Vec<f64> = ms.iter().map(Measurement::cpu_us).collect();
        let Some(median) = ms.get(ms.len() / 2) else {
            continue;
        };
        let cell = Cell {
            system: s.system,
            config: s.config,
            request: &r.id,
            request_bytes: r.wire_bytes,
            body_bytes: r.request.body.len(),
            sweep: None,
            verdict: verdict(o),
            matched: &o.detail,
            rounds_cpu_us: &per_round,
        };
        w.write(&cell, median)?;
    }

    if args.sweep {
        sweep_all(&args, &requests, &systems, &mut w)?;
    }
    print_summary(&w.summary, &args.out);
    Ok(())
}

/// A sweep body kind: its name, the request whose headers it takes, and the body generator.
type SweepKind = (&'static str, Request, fn(usize) -> String);

fn sweep_all(
    args: &Args,
    requests: &[RequestType],
    systems: &[System<'_>],
    w: &mut Writer,
) -> Result<(), BenchError> {
    let budget = Budget {
        measure: Duration::from_secs_f64(args.sweep_seconds),
        warmup: Duration::from_millis(100),
        ..Budget::default()
    };
    let base = |id: &str| -> Result<Request, BenchError> {
        let dir = &args.requests;
        match requests.iter().find(|r| r.id == id) {
            Some(r) => Ok(r.request.clone()),
            None => Ok(http_file::read(&dir.join(format!("{id}.http")))?.request),
        }
    };
    let kinds: [SweepKind; 2] = [
        ("form", base("form-post-8k")?, sweep::form_body),
        ("json", base("json-post-1k")?, sweep::json_body),
    ];
    for s in systems {
        for (kind, base, make) in &kinds {
            for kb in sweep::SIZES_KB {
                let body = make(kb * 1024);
                let req = sweep::with_body(base, body.as_bytes());
                let o = s.runner.run(&req);
                if !o.allowed {
                    eprintln!(
                        "waf-bench: note: {} blocks the {kb} KB {kind} body: {}",
                        s.key,
                        o.detail.join(", ")
                    );
                }
                let m = measure(&budget, || s.runner.run(&req))?;
                let id = format!("sweep-{kind}-{kb}k");
                let head = req
                    .headers
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 4)
                    .sum::<usize>();
                let cell = Cell {
                    system: s.system,
                    config: s.config,
                    request: &id,
                    request_bytes: req.method.len() + req.uri.len() + 12 + head + 2 + body.len(),
                    body_bytes: body.len(),
                    sweep: Some(kind),
                    verdict: verdict(&o),
                    matched: &o.detail,
                    rounds_cpu_us: &[],
                };
                w.write(&cell, &m)?;
            }
        }
    }
    Ok(())
}

fn print_summary(rows: &[(String, String, String, f64, f64)], out: &Path) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "CPU µs per request (wall µs), in-process, one thread; appended to {}",
        out.display()
    );
    for (system, config, request, cpu, wall) in rows {
        let _ = writeln!(
            stdout,
            "{system:<28} {config:<40} {request:<16} {cpu:>10.1} ({wall:.1})"
        );
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(BenchError::Usage(u)) => {
            eprintln!("{u}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("waf-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
