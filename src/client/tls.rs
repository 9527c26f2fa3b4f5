//! The client's side of TLS (feature `tls`): which server certificate to trust, and the
//! handshake, before anything of chat/1 is said.
//!
//! Three ways to trust ([`TlsTrust`]):
//! - a CA (`--ca FILE`): the server's certificate must chain to one in FILE, be in date, and
//!   be for the host the client connects to, as a browser checks;
//! - on first use (the default), as ssh: the first connection to a `HOST:PORT` remembers the
//!   fingerprint of its certificate in the `known_servers` file (`known_servers.rs`), and a
//!   later connection that shows another certificate is refused, loudly;
//! - not at all (`--tls-insecure`), for labs: the connection is encrypted, but anyone in
//!   between could be the other end.
//!
//! However the certificate is trusted, the server must prove it holds its key: the handshake's
//! signatures are always checked.

use std::fmt;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, ConfigBuilder, DigitallySignedStruct, RootCertStore,
    SignatureScheme, WantsVerifier,
};

use super::known_servers::{self, Remembered};
use super::render::Line;
use super::{ClientError, Config, Connection, host_port};
use crate::transport::{Fingerprint, HandshakeError, Transport};

/// Which server certificates the client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// Those that chain to a CA certificate in this PEM file and are for the host.
    Ca(PathBuf),
    /// The one each server showed the first time, as remembered in this `known_servers` file.
    FirstUse(PathBuf),
    /// Any: the connection is encrypted but the server unchecked. For labs only.
    Insecure,
}

/// Shakes hands over `socket` with the server of `config`, trusting as `trust` says.
pub(super) fn secure(
    socket: TcpStream,
    config: &Config,
    trust: &TlsTrust,
) -> Result<Connection, ClientError> {
    // How a server is named in `known_servers` and in messages: `HOST:PORT`, `[::1]:PORT`.
    let address = host_port(&config.host, config.port);
    let failed = |why: String| ClientError::Tls {
        address: address.clone(),
        why,
    };
    let server = ServerName::try_from(config.host.clone())
        .map_err(|_| failed(format!("'{}' is no host name or address", config.host)))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|error| failed(error.to_string()))?;

    let (tls_config, remembered, pinning) = match trust {
        TlsTrust::Ca(path) => {
            let roots = roots(path).map_err(&failed)?;
            let tls_config = builder.with_root_certificates(roots).with_no_client_auth();
            (tls_config, None, None)
        }
        TlsTrust::FirstUse(path) => {
            let remembered = remembered(path, &address)?;
            let pinning = Pinning::new(&provider, remembered);
            (pinning.config(builder), remembered, Some(pinning))
        }
        TlsTrust::Insecure => {
            let pinning = Pinning::new(&provider, None);
            (pinning.config(builder), None, Some(pinning))
        }
    };

    let transport = Transport::tls_client(socket, Arc::new(tls_config), server)
        .map_err(|error| failed(error.to_string()))?;
    let (mut reader, writer, closer) = transport.split().map_err(ClientError::Setup)?;
    let deadline = Instant::now() + config.connect_timeout;
    if let Err(error) = reader.handshake(Some(deadline)) {
        let seen = pinning.as_ref().and_then(|pinning| pinning.seen());
        return Err(match (error, remembered, seen, trust) {
            (HandshakeError::NotTls, ..) => ClientError::NotTls { address },
            (_, Some(remembered), Some(seen), TlsTrust::FirstUse(path))
                if seen != remembered.fingerprint =>
            {
                ClientError::FingerprintChanged {
                    address,
                    file: path.clone(),
                    line: remembered.line,
                    remembered: remembered.fingerprint.to_string(),
                    presented: seen.to_string(),
                }
            }
            (error, ..) => failed(error.to_string()),
        });
    }

    let seen = pinning.as_ref().and_then(|pinning| pinning.seen());
    let notice = match (trust, remembered, seen) {
        (TlsTrust::FirstUse(path), None, Some(seen)) => {
            known_servers::remember(path, &address, seen).map_err(|error| {
                ClientError::KnownServers {
                    path: path.clone(),
                    why: format!("cannot remember {address} in it: {error}"),
                }
            })?;
            Some(Line::info(&format!(
                "First TLS connection to {address}: its certificate's SHA-256 fingerprint is \
                 {seen}; remembered in {}. Check it against the one the server printed.",
                path.display()
            )))
        }
        (TlsTrust::Insecure, _, Some(seen)) => Some(Line::warning(&format!(
            "The certificate of {address} was not checked (--tls-insecure); its SHA-256 \
             fingerprint is {seen}."
        ))),
        _ => None,
    };
    Ok(Connection {
        reader,
        writer,
        closer,
        notice,
    })
}

/// What the `known_servers` file at `path` remembers for `address`.
fn remembered(path: &Path, address: &str) -> Result<Option<Remembered>, ClientError> {
    let error = |why: String| ClientError::KnownServers {
        path: path.to_owned(),
        why,
    };
    let text = known_servers::read(path).map_err(|e| error(e.to_string()))?;
    known_servers::lookup(&text, address).map_err(|bad| {
        error(format!(
            "line {} is not '{address} FINGERPRINT'; remove it to connect",
            bad.0
        ))
    })
}

/// The CA certificates in the PEM file at `path`.
fn roots(path: &Path) -> Result<RootCertStore, String> {
    let cannot = |why: String| format!("cannot use the CA file {}: {why}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| cannot(error.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(cannot("no CA certificate in it".into()));
    }
    Ok(roots)
}

/// Trust on first use, or no trust at all: accepts the certificate the server shows when it is
/// the remembered one (or when none is remembered), and notes which one it was. The handshake's
/// signatures are checked against it all the same.
struct Pinning {
    remembered: Option<Fingerprint>,
    seen: Mutex<Option<Fingerprint>>,
    provider: Arc<CryptoProvider>,
}

impl Pinning {
    fn new(provider: &Arc<CryptoProvider>, remembered: Option<Remembered>) -> Arc<Pinning> {
        Arc::new(Pinning {
            remembered: remembered.map(|remembered| remembered.fingerprint),
            seen: Mutex::new(None),
            provider: Arc::clone(provider),
        })
    }

    /// The client's settings with this as the judge of the server's certificate.
    fn config(
        self: &Arc<Pinning>,
        builder: ConfigBuilder<ClientConfig, WantsVerifier>,
    ) -> ClientConfig {
        let verifier: Arc<dyn ServerCertVerifier> = Arc::clone(self) as _;
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    }

    /// The fingerprint of the certificate the server showed, once it showed one.
    fn seen(&self) -> Option<Fingerprint> {
        *self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pinning {{ remembered: {:?} }}", self.remembered)
    }
}

impl ServerCertVerifier for Pinning {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = Fingerprint::of(end_entity);
        *self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(seen);
        match self.remembered {
            Some(remembered) if remembered != seen => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
