//! TLS for listeners: certificates from PEM files, chosen per connection by the client's SNI name.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::CertificateDer;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::{CertificateFiles, TlsConfig};
use crate::error::ProxyError;

/// Picks a certificate by SNI: exact DNS name, then a `*.` wildcard one label up, then the default (the first
/// configured certificate).
#[derive(Debug)]
pub struct SniResolver {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Arc<CertifiedKey>,
}

impl SniResolver {
    /// The certificate for `name` (an SNI host name).
    pub fn lookup(&self, name: Option<&str>) -> Arc<CertifiedKey> {
        let Some(name) = name.map(str::to_ascii_lowercase) else {
            return Arc::clone(&self.default);
        };
        if let Some(key) = self.exact.get(&name) {
            return Arc::clone(key);
        }
        if let Some((_, parent)) = name.split_once('.')
            && let Some(key) = self.wildcard.get(parent)
        {
            return Arc::clone(key);
        }
        Arc::clone(&self.default)
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.lookup(hello.server_name()))
    }
}

fn open(path: &Path) -> Result<BufReader<File>, ProxyError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| ProxyError::ReadFile {
            path: path.to_owned(),
            source,
        })
}

fn bad(path: &Path, reason: impl Into<String>) -> ProxyError {
    ProxyError::BadCertificate {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Load one certificate chain and key; returns the key and the leaf's DNS names.
fn load(files: &CertificateFiles) -> Result<(Arc<CertifiedKey>, Vec<String>), ProxyError> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut open(&files.cert_pem)?)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(&files.cert_pem, e.to_string()))?;
    let leaf = certs
        .first()
        .ok_or_else(|| bad(&files.cert_pem, "no certificate"))?;
    let names = dns_names(leaf).map_err(|reason| bad(&files.cert_pem, reason))?;
    let key = rustls_pemfile::private_key(&mut open(&files.key_pem)?)
        .map_err(|e| bad(&files.key_pem, e.to_string()))?
        .ok_or_else(|| bad(&files.key_pem, "no private key"))?;
    let signing = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|e| bad(&files.key_pem, e.to_string()))?;
    Ok((Arc::new(CertifiedKey::new(certs, signing)), names))
}

fn dns_names(leaf: &CertificateDer<'_>) -> Result<Vec<String>, String> {
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
    let (_, cert) = X509Certificate::from_der(leaf.as_ref()).map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let GeneralName::DNSName(dns) = name {
                names.push(dns.to_ascii_lowercase());
            }
        }
    }
    Ok(names)
}

/// Build the resolver for a listener's certificates.
pub fn resolver(config: &TlsConfig) -> Result<SniResolver, ProxyError> {
    let mut exact = HashMap::new();
    let mut wildcard = HashMap::new();
    let mut default = None;
    for files in &config.certificates {
        let (key, names) = load(files)?;
        for name in names {
            match name.strip_prefix("*.") {
                Some(parent) => wildcard
                    .entry(parent.to_owned())
                    .or_insert_with(|| Arc::clone(&key)),
                None => exact.entry(name).or_insert_with(|| Arc::clone(&key)),
            };
        }
        default.get_or_insert(key);
    }
    let default =
        default.ok_or_else(|| ProxyError::Config("TLS listener without certificates".into()))?;
    Ok(SniResolver {
        exact,
        wildcard,
        default,
    })
}

/// The rustls server configuration for a listener (TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`).
pub fn server_config(config: &TlsConfig) -> Result<Arc<ServerConfig>, ProxyError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver(config)?));
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}
