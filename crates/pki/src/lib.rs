//! Portcullis's built-in certificate authority.
//!
//! On first start the server opens (or creates) a [`Pki`] directory holding an ECDSA P-256
//! CA, the API listener's server certificate and a registry of every certificate the CA
//! has issued. From there it:
//!
//! - issues service (server) and client certificates ([`Pki::issue_server`],
//!   [`Pki::issue_client`]); a client certificate names its IAM principal in a SAN URI
//!   `urn:portcullis:principal:<arn>`, read back with [`principal_from_client_cert`];
//! - builds the API listener's rustls configuration ([`Pki::server_tls_config`]): the
//!   server certificate is re-read from disk when it changes, so [`Pki::rotate_server`]
//!   (in this process or in a `portcullis ca` command) takes effect without a restart;
//!   client certificates are optional, verified against the CA, and refused once revoked.
//!
//! # Layout of the PKI directory
//!
//! ```text
//! <dir>/ca.pem                 CA certificate (0644)
//! <dir>/ca.key                 CA private key, PKCS#8 PEM (0600)
//! <dir>/server.pem             listener certificate, end-entity only (0644)
//! <dir>/server.key             listener private key, PKCS#8 PEM (0600)
//! <dir>/issued/<serial>.json   one registry record per issued certificate (0644)
//! ```
//!
//! Every file is written atomically (temporary file in the same directory, fsync, rename),
//! so a reader never sees half a file. Private keys of issued client and service
//! certificates are returned to the caller and never stored here.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod ca;
mod error;
mod files;
mod init;
mod inspect;
mod issue;
mod pki;
mod registry;
mod resolver;
mod tls;

pub use ca::Ca;
pub use error::PkiError;
pub use inspect::principal_from_client_cert;
pub use issue::{
    DEFAULT_SERVER_NAMES, DEFAULT_SERVER_VALIDITY_DAYS, IssuedCert, PRINCIPAL_URI_PREFIX,
};
pub use pki::Pki;
pub use registry::{CertKind, CertRecord};
pub use tls::client_tls_config;
