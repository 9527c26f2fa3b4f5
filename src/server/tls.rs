//! The server's TLS identity (feature `tls`): its certificate and key, from PEM files
//! (`--tls-cert`, `--tls-key`) or made at start (`--tls-self-signed`), and the rustls settings
//! every connection shares: TLS 1.3 and 1.2 only, ring's ciphers, no client certificates.
//!
//! With an identity in [`Config::tls`](super::Config), the listener speaks only TLS: each new
//! connection's transport is a TLS session, whose handshake the reader runs first
//! (`securing.rs`).

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::transport::{Fingerprint, Transport};

/// The names a self-signed certificate is always for, besides the host the server listens on.
const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The certificate the server shows and the settings of its TLS sessions.
#[derive(Clone)]
pub struct TlsIdentity {
    config: Arc<ServerConfig>,
    fingerprint: Fingerprint,
}

/// Why the server's TLS identity could not be made.
#[derive(Debug)]
pub enum TlsError {
    /// A PEM file could not be read, or holds no certificate or key.
    Pem { path: PathBuf, why: String },
    /// The certificate could not be made.
    Generate(rcgen::Error),
    /// rustls refused the certificate or the key (a key that does not match, say).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Pem { path, why } => write!(f, "{}: {why}", path.display()),
            TlsError::Generate(error) => write!(f, "cannot make a certificate: {error}"),
            TlsError::Rustls(error) => write!(f, "the certificate or key is refused: {error}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl TlsIdentity {
    /// The certificate chain in `cert` (PEM, the server's own first) and its private key in
    /// `key` (PEM: PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    /// When a file cannot be read or parsed, or the key does not fit the certificate.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let pem = |path: &Path, why: String| TlsError::Pem {
            path: path.to_owned(),
            why,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|error| pem(cert, error.to_string()))?;
        if chain.is_empty() {
            return Err(pem(cert, "no certificate in it".into()));
        }
        let key_der =
            PrivateKeyDer::from_pem_file(key).map_err(|error| pem(key, error.to_string()))?;
        TlsIdentity::new(chain, key_der)
    }

    /// A self-signed certificate made now, in memory, for `host` (when it names one: not a
    /// wildcard address such as `0.0.0.0`) and for this machine's loopback names.
    ///
    /// # Errors
    /// When the certificate cannot be made (a host that is no valid DNS name or address).
    pub fn self_signed(host: &str) -> Result<TlsIdentity, TlsError> {
        let wildcard = host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
        let mut names: Vec<String> = Vec::new();
        if !wildcard && !host.is_empty() {
            names.push(host.to_owned());
        }
        for name in LOCAL_NAMES {
            if !names.iter().any(|known| known.eq_ignore_ascii_case(name)) {
                names.push(name.to_owned());
            }
        }
        let made = rcgen::generate_simple_self_signed(names).map_err(TlsError::Generate)?;
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        TlsIdentity::new(vec![made.cert.der().clone()], key.into())
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsIdentity, TlsError> {
        let fingerprint = Fingerprint::of(&chain[0]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
            .map_err(TlsError::Rustls)?;
        Ok(TlsIdentity {
            config: Arc::new(config),
            fingerprint,
        })
    }

    /// The SHA-256 fingerprint of the server's certificate, as clients that trust on first use
    /// see it.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// A new connection's transport: a TLS session, not yet shaken hands.
    pub(super) fn transport(&self, socket: TcpStream) -> io::Result<Transport> {
        Transport::tls_server(socket, Arc::clone(&self.config))
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsIdentity {{ fingerprint: {} }}", self.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_has_a_fingerprint_of_its_own() {
        let one = TlsIdentity::self_signed("127.0.0.1").unwrap();
        let other = TlsIdentity::self_signed("127.0.0.1").unwrap();
        assert_ne!(one.fingerprint(), other.fingerprint());
    }

    #[test]
    fn a_missing_pem_file_is_an_error_naming_it() {
        let missing = Path::new("/nonexistent/chat/cert.pem");
        let error = TlsIdentity::from_pem_files(missing, missing).unwrap_err();
        assert!(matches!(&error, TlsError::Pem { path, .. } if path == missing));
    }
}
