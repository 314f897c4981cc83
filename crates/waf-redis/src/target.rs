//! Where the counters live: one Redis server (`redis://`, `rediss://` with TLS) or a Redis Cluster
//! (`redis+cluster://HOST:PORT,HOST:PORT`, `rediss+cluster://` with TLS), and the connection to it.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, ScriptInvocation, TlsCertificates};

use crate::Error;

/// Longest URL accepted (a cluster list included).
const MAX_URL: usize = 8 * 1024;
/// Most cluster seed nodes accepted.
const MAX_NODES: usize = 64;

/// A parsed Redis URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// One server; the URL as given (`redis://` or `rediss://`).
    Single(String),
    /// Cluster seed nodes, each as a `redis://` or `rediss://` URL.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// Parses `url` (see [`crate::RedisRateConfig::url`]).
    pub fn parse(url: &str) -> Result<Endpoint, Error> {
        let bad = |m: &str| Err(Error::InvalidConfig(format!("redis URL: {m}")));
        if url.len() > MAX_URL {
            return bad("too long");
        }
        let (tls, rest) = if let Some(r) = url.strip_prefix("redis+cluster://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("rediss+cluster://") {
            (true, r)
        } else if url.starts_with("redis://") || url.starts_with("rediss://") {
            return Ok(Endpoint::Single(url.to_owned()));
        } else {
            return bad(
                "must start with redis://, rediss://, redis+cluster:// or rediss+cluster://",
            );
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') {
            return bad(
                "a cluster URL takes no database or options (a cluster has only database 0)",
            );
        }
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((a, h)) => (format!("{a}@"), h),
            None => (String::new(), rest),
        };
        let scheme = if tls { "rediss" } else { "redis" };
        let nodes: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{scheme}://{auth}{h}"))
            .collect();
        if nodes.is_empty() {
            return bad("a cluster URL names at least one HOST:PORT");
        }
        if nodes.len() > MAX_NODES {
            return bad("too many cluster nodes");
        }
        Ok(Endpoint::Cluster(nodes))
    }

    /// True for a cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Endpoint::Cluster(_))
    }

    fn uses_tls(&self) -> bool {
        match self {
            Endpoint::Single(u) => u.starts_with("rediss://"),
            Endpoint::Cluster(n) => n.iter().any(|u| u.starts_with("rediss://")),
        }
    }
}

/// A client for an [`Endpoint`] (does not connect).
pub(crate) enum Target {
    Single(Box<redis::Client>),
    Cluster(Box<redis::cluster::ClusterClient>),
}

/// An open connection.
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Target {
    pub fn new(endpoint: &Endpoint, ca_pem: Option<&[u8]>, io: Duration) -> Result<Target, Error> {
        if endpoint.uses_tls() {
            ensure_crypto_provider();
        }
        let certs = || TlsCertificates {
            client_tls: None,
            root_cert: ca_pem.map(<[u8]>::to_vec),
        };
        match endpoint {
            Endpoint::Single(url) if url.starts_with("rediss://") && ca_pem.is_some() => {
                Ok(Target::Single(Box::new(redis::Client::build_with_tls(
                    url.as_str(),
                    certs(),
                )?)))
            }
            Endpoint::Single(url) => {
                Ok(Target::Single(Box::new(redis::Client::open(url.as_str())?)))
            }
            Endpoint::Cluster(nodes) => {
                let mut b =
                    redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
                        .connection_timeout(io)
                        .response_timeout(io)
                        .retries(1);
                if endpoint.uses_tls() && ca_pem.is_some() {
                    b = b.certs(certs());
                }
                Ok(Target::Cluster(Box::new(b.build()?)))
            }
        }
    }

    pub async fn connect(&self, io: Duration) -> redis::RedisResult<Conn> {
        match self {
            Target::Single(client) => {
                let cfg = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(io))
                    .set_response_timeout(Some(io));
                client
                    .get_multiplexed_async_connection_with_config(&cfg)
                    .await
                    .map(Conn::Single)
            }
            Target::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
    }
}

impl Conn {
    pub async fn invoke(&mut self, call: &ScriptInvocation<'_>) -> redis::RedisResult<Vec<i64>> {
        match self {
            Conn::Single(c) => call.invoke_async(c).await,
            Conn::Cluster(c) => call.invoke_async(c).await,
        }
    }
}

/// rustls needs a process-wide crypto provider when more than one is compiled in; install the one the
/// workspace uses unless the program already chose one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_single_servers_and_clusters() {
        assert_eq!(
            Endpoint::parse("rediss://h:6380/1").unwrap(),
            Endpoint::Single("rediss://h:6380/1".into())
        );
        assert_eq!(
            Endpoint::parse("redis+cluster://a:1, b:2,").unwrap(),
            Endpoint::Cluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
        assert_eq!(
            Endpoint::parse("rediss+cluster://u:p@a:1,b:2/").unwrap(),
            Endpoint::Cluster(vec!["rediss://u:p@a:1".into(), "rediss://u:p@b:2".into()])
        );
        for bad in [
            "http://x",
            "redis+cluster://",
            "redis+cluster://a:1/2",
            "redis+cluster://a:1?x=1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(Endpoint::parse(&format!("redis+cluster://{}", "a:1,".repeat(100))).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,200}") {
            let _ = Endpoint::parse(&s);
            let _ = Endpoint::parse(&format!("redis+cluster://{s}"));
        }
    }
}
