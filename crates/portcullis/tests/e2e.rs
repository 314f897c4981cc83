//! End-to-end tests of the `portcullis` binary: each test starts the real server on a free
//! loopback port in a temporary data directory and talks to it over HTTPS the way an AWS
//! client does.

#[path = "e2e/api.rs"]
mod api;
#[path = "e2e/audit.rs"]
mod audit;
#[path = "e2e/client.rs"]
mod client;
#[path = "e2e/guard_sources.rs"]
mod guard_sources;
#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/inspector_agent.rs"]
mod inspector_agent;
#[path = "e2e/inspector_api.rs"]
mod inspector_api;
#[path = "e2e/inspector_cli.rs"]
mod inspector_cli;
#[path = "e2e/kms.rs"]
mod kms;
#[path = "e2e/mtls.rs"]
mod mtls;
#[path = "e2e/postgres.rs"]
mod postgres;
#[path = "e2e/root_key.rs"]
mod root_key;
#[path = "e2e/startup.rs"]
mod startup;
#[path = "e2e/waf_crs_test.rs"]
mod waf_crs_test;
#[path = "e2e/waf_crs_wire.rs"]
mod waf_crs_wire;
#[path = "e2e/waf_proxy.rs"]
mod waf_proxy;
#[path = "e2e/waf_reload.rs"]
mod waf_reload;
