//! rustls configurations: the API listener's server config (optional mTLS against the CA,
//! revocation from the registry, reloading certificate) and a client config for agents
//! and tests.
//!
//! Both use `rustls::crypto::aws_lc_rs::default_provider()` explicitly; nothing is
//! installed process-wide.

use std::sync::Arc;

use portcullis_common::Secret;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
};

use crate::error::PkiError;
use crate::inspect::{CertInfo, cert_der_from_pem, key_der_from_pem};
use crate::pki::Pki;
use crate::registry::Registry;
use crate::resolver::ReloadingResolver;

/// ALPN protocols of the API listener, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots_from_pem(ca_pem: &str, what: &str) -> Result<RootCertStore, PkiError> {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert_der_from_pem(ca_pem, what)?)
        .map_err(|e| PkiError::InvalidCertificate {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(roots)
}

impl Pki {
    /// rustls server config for the API listener.
    ///
    /// - The server certificate comes from the PKI directory and is re-read when the files
    ///   change (checked at most once per second, immediately after [`Pki::rotate_server`]
    ///   in this process), so rotation needs no restart and no new `ServerConfig`.
    /// - Client certificates are requested but optional. A presented certificate must
    ///   chain to this CA, carry the `clientAuth` usage, be within its validity and not be
    ///   revoked in the registry; otherwise the handshake fails.
    /// - ALPN offers `h2` and `http/1.1`.
    pub fn server_tls_config(&self) -> Result<Arc<ServerConfig>, PkiError> {
        let provider = provider();
        let roots = Arc::new(roots_from_pem(self.ca_cert_pem(), "CA certificate")?);
        let inner = WebPkiClientVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .allow_unauthenticated()
            .build()?;
        let verifier = Arc::new(RevocationCheckingVerifier {
            inner,
            registry: self.registry.clone(),
        });
        let resolver = Arc::new(ReloadingResolver::new(
            self.layout.server_cert(),
            self.layout.server_key(),
            Arc::clone(&provider),
            Arc::clone(&self.server_generation),
        )?);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver);
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        // No session resumption: a resumed session skips client-certificate verification,
        // so a certificate revoked after the first handshake would keep working.
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(Arc::new(config))
    }
}

/// rustls client config that trusts only the Portcullis CA in `ca_pem`, optionally
/// presenting a client certificate (`(cert_pem, key_pem)`, as returned by
/// [`Pki::issue_client`]). ALPN offers `h2` and `http/1.1`.
pub fn client_tls_config(
    ca_pem: &str,
    client_identity: Option<(&str, &Secret<String>)>,
) -> Result<Arc<ClientConfig>, PkiError> {
    let roots = roots_from_pem(ca_pem, "CA certificate")?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match client_identity {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let cert = cert_der_from_pem(cert_pem, "client certificate")?;
            let key = key_der_from_pem(key_pem.expose(), "client key")?;
            builder
                .with_client_auth_cert(vec![cert], key)
                .map_err(|e| match e {
                    rustls::Error::InconsistentKeys(_) => PkiError::KeyMismatch {
                        what: "client certificate and key".to_owned(),
                    },
                    _ => PkiError::InvalidKey {
                        what: "client key".to_owned(),
                    },
                })?
        }
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Wraps the WebPKI client verifier with a revocation check against the registry.
///
/// The registry is read on every client-certificate handshake (one small file named after
/// the serial), so a revocation by any process applies to the next handshake. When the
/// record cannot be read the certificate is refused: revocation fails closed.
#[derive(Debug)]
struct RevocationCheckingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    registry: Registry,
}

impl ClientCertVerifier for RevocationCheckingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let serial = CertInfo::from_der(end_entity, "client certificate")
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?
            .serial_hex;
        match self.registry.is_revoked(&serial) {
            Ok(false) => Ok(verified),
            Ok(true) => {
                tracing::warn!(%serial, "refused revoked client certificate");
                Err(rustls::Error::InvalidCertificate(CertificateError::Revoked))
            }
            Err(error) => {
                tracing::error!(%serial, %error, "revocation status unavailable; refusing client certificate");
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_config_offers_alpn_and_builds_from_the_pki() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        let config = pki.server_tls_config().unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        // Building twice is fine: nothing process-global is installed.
        assert!(pki.server_tls_config().is_ok());
    }

    #[test]
    fn client_config_rejects_garbage_and_mismatched_identities() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open_or_init(dir.path(), &[]).unwrap();
        let arn = "arn:aws:iam::000000000000:role/agent";
        let a = pki.issue_client("a", arn, 1).unwrap();
        let b = pki.issue_client("b", arn, 1).unwrap();
        assert!(client_tls_config(pki.ca_cert_pem(), Some((&a.cert_pem, &a.key_pem))).is_ok());
        let err =
            client_tls_config(pki.ca_cert_pem(), Some((&a.cert_pem, &b.key_pem))).unwrap_err();
        assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
        let junk = Secret::new("junk".to_owned());
        let err = client_tls_config(pki.ca_cert_pem(), Some((&a.cert_pem, &junk))).unwrap_err();
        assert!(matches!(err, PkiError::InvalidKey { .. }), "{err}");
        let err = client_tls_config("junk", None).unwrap_err();
        assert!(matches!(err, PkiError::InvalidCertificate { .. }), "{err}");
    }
}
