//! Command-line flags (clap), the raw half of the configuration.
// The doc comments below are the help clap prints, written for a terminal: `<dir>` is a placeholder, not an HTML
// tag, and a URL is an example, not a link.
#![allow(rustdoc::invalid_html_tags, rustdoc::bare_urls)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Self-hosted cloud security services that speak the AWS APIs.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v debug, -vv trace); PORTCULLIS_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the AWS-compatible HTTPS API (IAM, STS, KMS, CloudTrail), /health and /metrics.
    Serve(ServeArgs),
    /// Work with portcullis.toml.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The built-in certificate authority: issue, list, revoke and rotate certificates.
    Ca(CaArgs),
    /// Web application firewall tools.
    Waf {
        /// What to do.
        #[command(subcommand)]
        command: WafCommand,
    },
    /// Vulnerability assessment: the offline OSV advisory database and lockfile scans.
    Inspector {
        /// What to do.
        #[command(subcommand)]
        command: InspectorCommand,
    },
    /// Threat detection (GuardDuty-style) over CloudTrail, VPC Flow Logs and Route 53 Resolver logs.
    Guard {
        /// What to do.
        #[command(subcommand)]
        command: GuardCommand,
    },
    /// The Inspector host agent: report this host's inventory to the server over mTLS.
    ///
    /// Collects this host's inventory (OS, dpkg/apk packages, lockfiles under --path, listening
    /// sockets, effective sshd settings, password policy, sysctls, CPU flags, system path modes,
    /// firewall and automatic updates) and POSTs it to `<server>/agent/report` with a client
    /// certificate, at start, every --interval seconds and on SIGHUP. After the first full report
    /// only the changed sections are sent. While the server is away the agent retries with
    /// exponential backoff (up to 60 s). Nothing listens on the host.
    ///
    /// Get a certificate with `portcullis ca issue-client --name <host> --principal <arn>
    /// --out <dir>` on the server (it writes <dir>/<host>.pem and <host>.key) and copy the CA
    /// certificate (`<data-dir>/pki/ca.pem`) next to them.
    Agent(AgentArgs),
}

/// `portcullis agent` flags.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The server's base URL (e.g. https://portcullis.internal:7443).
    #[arg(
        long,
        env = "PORTCULLIS_AGENT_SERVER",
        required_unless_present = "print"
    )]
    pub server: Option<String>,
    /// The Portcullis CA certificate (PEM) the server's certificate must chain to.
    #[arg(
        long,
        value_name = "PEM",
        default_value = "/etc/portcullis/agent/ca.pem"
    )]
    pub ca: PathBuf,
    /// The agent's client certificate (PEM) [default: /etc/portcullis/agent/<hostname>.pem].
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM) [default: /etc/portcullis/agent/<hostname>.key].
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// A directory (or file) searched for language lockfiles; repeatable.
    #[arg(long = "path", value_name = "DIR")]
    pub paths: Vec<PathBuf>,
    /// Seconds between reports.
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(10..))]
    pub interval: u64,
    /// Report once (retrying a few times) and exit: status 0 when acknowledged.
    #[arg(long)]
    pub once: bool,
    /// The host's root directory (for containers that mount the host, and tests).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Where the agent keeps its id and the last acknowledged inventory.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/portcullis-agent")]
    pub state_dir: PathBuf,
    /// Print the collected inventory as JSON and exit (no server needed).
    #[arg(long)]
    pub print: bool,
    /// The cloud instance id of this host (links it to an imported network description).
    #[arg(long, value_name = "ID", env = "PORTCULLIS_AGENT_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Read the instance id from this instance-identity document when --instance-id is not
    /// given (http://169.254.169.254/latest/dynamic/instance-identity/document on EC2, or
    /// file:///path); never looked up unless set.
    #[arg(long, value_name = "URL", env = "PORTCULLIS_AGENT_IDENTITY_URL")]
    pub identity_url: Option<String>,
}

/// `portcullis guard ...`.
#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Analyse log files offline with the built-in detectors and print GuardDuty-format findings.
    ///
    /// Reads files and directories (recursively; gzip or not; CloudTrail files, bare arrays, JSON lines or
    /// EventBridge events, VPC Flow Logs lines with or without a header, Resolver query-log JSON lines —
    /// detected per file). Malformed records are counted and skipped. Prints findings to stdout and a
    /// summary to stderr. Exit status 0.
    Analyze(GuardAnalyzeArgs),
    /// Write simulated native-format logs: a day of a small estate plus the GuardDuty tester's attacks.
    Simulate(GuardSimulateArgs),
}

/// Output formats of `guard analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GuardFormat {
    /// Severity, type, resource, count and title, one finding per row.
    Table,
    /// One GuardDuty finding (schema 2.0) per line.
    Json,
}

/// `portcullis guard analyze`.
#[derive(Debug, Args)]
pub struct GuardAnalyzeArgs {
    /// Threat lists (TXT: IP, CIDR, IP:port, domain per line) or directories of them. maltrail folders
    /// (malware/malicious/suspicious), mass_scanner* and ipsum levels are recognised; any other file
    /// is a custom threat list (`*.Custom` finding types).
    #[arg(long, value_name = "FILE")]
    pub intel: Vec<PathBuf>,
    /// A directory of Sigma rules (SigmaHQ format, AWS CloudTrail logsource) run on every CloudTrail event;
    /// rules that cannot load are listed with the reason.
    #[arg(long, value_name = "DIR")]
    pub sigma: Option<PathBuf>,
    /// Days of each identity's and instance's history learned before unusual behaviour is reported
    /// (AnomalousBehavior, NetworkPortUnusual, Spambot, TrafficVolumeUnusual). 0 (the default for
    /// offline analysis) takes the logs given as the whole history: what an identity does once in
    /// them counts as never seen before.
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    pub baseline_days: u32,
    /// A MaxMind-format city or country database: findings' remote addresses get country, city and
    /// location.
    #[arg(long, value_name = "FILE")]
    pub geoip_db: Option<PathBuf>,
    /// A MaxMind-format ASN database: findings' remote addresses get their organization, and
    /// identity profiles key source networks by ASN.
    #[arg(long, value_name = "FILE")]
    pub asn_db: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GuardFormat,
    /// Never print the progress line.
    #[arg(long)]
    pub no_progress: bool,
    /// Log files or directories.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// `portcullis guard simulate`.
#[derive(Debug, Args)]
pub struct GuardSimulateArgs {
    /// `benign`, `all`, or one attack scenario: portscan, ssh-bruteforce, rdp-bruteforce, udp-dos,
    /// dns-dos, port-sweep, c2-dns, crypto-dns, dns-exfil, dga, kali, instance-cred-exfil,
    /// cloudtrail-disabled, root-usage, password-policy, s3-public.
    #[arg(long)]
    pub scenario: String,
    /// Output directory (vpcflow/, dns/ and cloudtrail/ are created in it).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Random seed; the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `portcullis waf ...`.
#[derive(Debug, Subcommand)]
pub enum WafCommand {
    /// Run OWASP CRS regression tests (v3.3 YAML format) against the built-in SecLang engine.
    ///
    /// Loads the engine settings CRS assumes, crs-setup.conf, the suite's setup (DetectionOnly, paranoia 4,
    /// rule 910000 removed, size limits, UTF-8 validation) and DIR/rules/*.conf, then runs every test found
    /// under PATH... in-process: no server is needed. log_contains/no_log_contains are regexes over the log
    /// lines of each request; status is judged against the status the client would get with the engine On
    /// (the HTTP front end's own 400/505 for malformed requests, else the first would-be deny, else 200);
    /// expect_error passes when the exchange fails (HTTP/0.9, a body the server waits for, a dropped
    /// connection).
    ///
    /// With --target URL --log FILE the requests go over the wire to a running WAF listener instead, and the
    /// matched rules are read from its WAF log; tests that need response-phase rules are skipped.
    ///
    /// Prints each failure with its cause, a summary grouped by cause, and finally
    /// `crs-test: N passed, N failed, N skipped`. Exit status: 0 when no test failed (or with
    /// --allow-failures), 1 when some test failed, 2 when the rules or test files could not be loaded.
    CrsTest(CrsTestArgs),
}

/// `portcullis waf crs-test`.
#[derive(Debug, Args)]
pub struct CrsTestArgs {
    /// The CRS directory (holding rules/*.conf and the .data files).
    #[arg(long, value_name = "DIR", default_value = "/usr/share/modsecurity-crs")]
    pub crs: PathBuf,
    /// crs-setup.conf [default: /etc/modsecurity/crs/crs-setup.conf, else DIR/crs-setup.conf(.example)].
    #[arg(long, value_name = "FILE")]
    pub setup: Option<PathBuf>,
    /// Paranoia level (the regression suite expects 4).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub paranoia: u8,
    /// Also write every result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Exit with status 0 even when tests fail.
    #[arg(long)]
    pub allow_failures: bool,
    /// Do not print each failure (only the grouped summary and the final line).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Send each test's request over TCP to a running Portcullis WAF listener (http://HOST:PORT) whose web ACL
    /// runs the OWASP CoreRuleSet managed group, instead of running the engine in process. Requires --log.
    #[arg(long, value_name = "URL", requires = "log")]
    pub target: Option<String>,
    /// With --target: the listener's WAF log file (`[waf] log`); each request's matched CRS rule ids are read
    /// from its record (found by the x-crs-test-id header the runner adds).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub log: Option<PathBuf>,
    /// With --target: seconds to wait for each response.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub timeout: f64,
    /// Test files or directories holding *.yaml tests (searched recursively).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// Settings shared by every command that reads the configuration.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Configuration file (default: none; every setting has a default).
    #[arg(long, short = 'c', env = "PORTCULLIS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the CA, credentials, SQLite store and audit logs [default: ./portcullis-data].
    #[arg(long, env = "PORTCULLIS_DATA_DIR")]
    pub data_dir: Option<String>,
}

/// `portcullis serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Shared settings.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Address of the HTTPS API listener [default: 127.0.0.1:7443].
    #[arg(long, env = "PORTCULLIS_API_LISTEN")]
    pub api_listen: Option<String>,
    /// Store URL: sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB [default: SQLite in the data dir].
    #[arg(long, env = "PORTCULLIS_STORE")]
    pub store: Option<String>,
    /// Id of the account created on first start [default: 000000000000].
    #[arg(long)]
    pub account_id: Option<String>,
}

/// `portcullis config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration file and report every problem at once.
    Check(CommonArgs),
}

/// `portcullis ca ...`.
#[derive(Debug, Args)]
pub struct CaArgs {
    /// Shared settings.
    #[command(flatten)]
    pub common: CommonArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: CaCommand,
}

/// Certificate authority commands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// List every certificate the CA has issued.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Issue a client certificate that authenticates as an IAM principal over mTLS.
    IssueClient {
        /// Certificate subject name (e.g. the host name of an agent).
        #[arg(long)]
        name: String,
        /// ARN of the IAM user or role the certificate stands for.
        #[arg(long)]
        principal: String,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Directory to write NAME.pem and NAME.key into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Issue a server certificate for other services (DNS names and IPs).
    IssueServer {
        /// Names the certificate is valid for (repeatable).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Directory to write the certificate and key into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Replace the API listener's certificate; a running server picks it up without restarting.
    RotateServer {
        /// New names (repeatable); default: keep the current ones.
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Revoke a client certificate by serial (hex); it is refused from the next handshake on.
    Revoke {
        /// Serial number in hex, as `ca list` shows it.
        serial: String,
    },
}

/// `portcullis inspector ...`.
#[derive(Debug, Subcommand)]
pub enum InspectorCommand {
    /// The persisted vulnerability database (OSV advisories).
    Db {
        /// What to do.
        #[command(subcommand)]
        command: InspectorDbCommand,
    },
    /// Scan lockfiles (Cargo.lock, package-lock.json, yarn.lock, poetry.lock, Pipfile.lock,
    /// requirements*.txt, go.mod, go.sum) against the database, offline.
    ///
    /// Exit status: 0 when no vulnerability is found, 1 when some is, 2 when there is no database
    /// or some lockfile could not be read (and nothing vulnerable was found).
    Scan(InspectorScanArgs),
    /// The network description behind NETWORK_REACHABILITY findings (the EC2 describe-* JSON).
    Network {
        /// What to do.
        #[command(subcommand)]
        command: InspectorNetworkCommand,
    },
}

/// `portcullis inspector network ...`.
#[derive(Debug, Subcommand)]
pub enum InspectorNetworkCommand {
    /// Check and merge network descriptions (`{"DescribeVpcs": {...}, "DescribeInstances":
    /// {...}, ...}`, as `POST /network/import` takes) into `<data_dir>/inspector/network/
    /// network.json`, replacing the previous import; a running server imports it within
    /// seconds. Nothing is written unless every file is a description.
    Import(InspectorNetworkImportArgs),
    /// Show the imported description and the configured `[inspector] network_files`: VPCs,
    /// instances, counts, import time.
    Show(InspectorNetworkShowArgs),
}

/// `portcullis inspector network import`.
#[derive(Debug, Args)]
pub struct InspectorNetworkImportArgs {
    /// Shared settings (the data directory).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Network description files (JSON), merged in order.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// `portcullis inspector network show`.
#[derive(Debug, Args)]
pub struct InspectorNetworkShowArgs {
    /// Shared settings (the data directory, the configuration's network files).
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `portcullis inspector db ...`.
#[derive(Debug, Subcommand)]
pub enum InspectorDbCommand {
    /// Import OSV advisories (JSON/YAML files, directories, .tar/.tar.gz/.tgz/.zip archives) into the
    /// database; re-importing replaces records with the same id (the newer `modified` wins).
    Import(InspectorImportArgs),
    /// Show the database: sources, advisories per ecosystem, newest `modified`, file age.
    Status(InspectorDbArgs),
}

/// Where the vulnerability database lives.
#[derive(Debug, Args, Clone)]
pub struct InspectorDbArgs {
    /// Shared settings.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Database directory [default: <data_dir>/inspector/db].
    #[arg(long, value_name = "DIR", env = "PORTCULLIS_INSPECTOR_DB")]
    pub db: Option<PathBuf>,
}

/// `portcullis inspector db import`.
#[derive(Debug, Args)]
pub struct InspectorImportArgs {
    /// Database location.
    #[command(flatten)]
    pub db: InspectorDbArgs,
    /// Start from an empty database instead of updating the existing one.
    #[arg(long)]
    pub replace: bool,
    /// OSV files, directories or archives.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// Output formats of `inspector scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// Human-readable tables.
    Table,
    /// Inspector2-shaped findings JSON.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// CycloneDX 1.4 with a vulnerabilities section.
    Cyclonedx,
}

/// `portcullis inspector scan`.
#[derive(Debug, Args)]
pub struct InspectorScanArgs {
    /// Database location.
    #[command(flatten)]
    pub db: InspectorDbArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ScanFormat,
    /// Also report withdrawn advisories (flagged).
    #[arg(long)]
    pub include_withdrawn: bool,
    /// Only advisories affecting this OS (RustSec `affects.os`, like cargo-audit --target-os).
    #[arg(long, value_name = "OS")]
    pub target_os: Option<String>,
    /// Only advisories affecting this architecture (RustSec `affects.arch`).
    #[arg(long, value_name = "ARCH")]
    pub target_arch: Option<String>,
    /// Lockfiles or directories (searched recursively, skipping hidden dirs, node_modules, target, vendor).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}
