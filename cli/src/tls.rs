//! TLS for the bins: [`TlsRuntime`], each runtime [`block_on`](crate::block_on)
//! runs with its adapter's TLS layer (rustls on ring, TLS 1.2 and 1.3),
//! and the rustls configurations a bin builds from PEM files
//! ([`server_config`], [`client_config`]), whose errors name the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proto_core::driver::Runtime;
pub use proto_tokio::tls::rustls;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A runtime [`block_on`](crate::block_on) runs, with its adapter's TLS
/// layer: [`Tls`](Self::Tls) is the same runtime with every connection
/// over TLS (`proto_core::driver::Upgraded`), so `Server::bind_on` and
/// `Client::connect_on` serve and connect through it unchanged.
pub trait TlsRuntime: Runtime + Default {
    /// This runtime through TLS.
    type Tls: Runtime;

    /// A server's side: accepted connections handshake with `config` (on
    /// the session's own task, under its deadlines).
    fn tls_server(&self, config: Arc<rustls::ServerConfig>) -> Self::Tls;

    /// A client's side: connections handshake with `config` and expect a
    /// certificate for `name` (inside `connect`, under its timeout).
    fn tls_client(&self, config: Arc<rustls::ClientConfig>, name: ServerName<'static>)
    -> Self::Tls;
}

impl TlsRuntime for proto_tokio::Tokio {
    type Tls = proto_tokio::tls::TlsTokio;

    fn tls_server(&self, config: Arc<rustls::ServerConfig>) -> Self::Tls {
        proto_tokio::tls::TokioTls::server(config).runtime()
    }

    fn tls_client(
        &self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> Self::Tls {
        proto_tokio::tls::TokioTls::client(config, name).runtime()
    }
}

impl TlsRuntime for proto_smol::Smol {
    type Tls = proto_smol::tls::TlsSmol;

    fn tls_server(&self, config: Arc<rustls::ServerConfig>) -> Self::Tls {
        proto_smol::tls::SmolTls::server(config).runtime(self.clone())
    }

    fn tls_client(
        &self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    ) -> Self::Tls {
        proto_smol::tls::SmolTls::client(config, name).runtime(self.clone())
    }
}

/// Why a TLS configuration could not be built. Each names its file (or
/// the name).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read, is not PEM, or holds nothing of the kind
    /// expected.
    #[error("TLS {what} {}: {reason}", path.display())]
    File {
        /// What the file was to hold ("certificate file", "key file",
        /// "CA file").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate chain with this key (a key of
    /// another certificate, a key type it does not support, …).
    #[error("TLS certificate {} with key {}: {reason}", cert.display(), key.display())]
    Identity {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' words.
        reason: String,
    },
    /// The name to expect on the server's certificate is neither a DNS
    /// name nor an IP address.
    #[error("TLS server name {0:?} is neither a DNS name nor an IP address")]
    Name(String),
}

/// A server's TLS configuration: the certificate chain in `cert` (PEM,
/// the server's own certificate first) and the private key in `key`
/// (PEM: PKCS#8, PKCS#1 or SEC1); no client certificates.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(cert, "certificate file")?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| file_error("key file", key, pem_reason(err, "private key")))?;
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3, the safe defaults")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|err| TlsError::Identity {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            reason: err.to_string(),
        })?;
    Ok(Arc::new(config))
}

/// A client's TLS configuration that trusts the certificates in `ca`
/// (PEM: a CA, or the server's own self-signed certificate) and nothing
/// else.
pub fn client_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    const WHAT: &str = "CA file";
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(ca, WHAT)? {
        roots
            .add(cert)
            .map_err(|err| file_error(WHAT, ca, err.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3, the safe defaults")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `name` as the server name a client expects (and sends as SNI): a DNS
/// name or an IP address.
pub fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_string()).map_err(|_| TlsError::Name(name.to_string()))
}

/// Every certificate in the PEM file `path`; at least one.
fn certificates(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = CertificateDer::pem_file_iter(path).and_then(|certs| {
        let certs = certs.collect::<Result<Vec<_>, _>>()?;
        if certs.is_empty() {
            return Err(pem::Error::NoItemsFound);
        }
        Ok(certs)
    });
    read.map_err(|err| file_error(what, path, pem_reason(err, "certificate")))
}

fn file_error(what: &'static str, path: &Path, reason: String) -> TlsError {
    TlsError::File {
        what,
        path: path.to_path_buf(),
        reason,
    }
}

/// Why a PEM file that was to hold a `kind` is no good, in words.
fn pem_reason(err: pem::Error, kind: &str) -> String {
    match err {
        pem::Error::Io(err) => format!("cannot read it: {err}"),
        pem::Error::NoItemsFound => format!("no PEM {kind} in it"),
        other => format!("not valid PEM: {other}"),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
