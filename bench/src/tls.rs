//! TLS for the bench's clients (feature `tls`, `make bench-tls`): a connection to a server the
//! bench started with `--tls-self-signed` shakes hands here before it joins. The bench trusts
//! whatever certificate that server shows (it made it itself a moment ago, on loopback), but
//! checks the handshake's signatures, so the cost measured is a real client's.

use std::net::TcpStream;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

use crate::conn::is_no_data;

/// How long a handshake may take.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// Shakes hands over `stream` (its read timeout is the bench's poll).
pub fn handshake(stream: &mut TcpStream) -> Result<Box<ClientConnection>, String> {
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut session =
        ClientConnection::new(config(), name).map_err(|e| format!("TLS session: {e}"))?;
    let deadline = Instant::now() + HANDSHAKE_TIME;
    while session.is_handshaking() {
        match session.complete_io(stream) {
            Ok(_) => {}
            Err(e) if is_no_data(&e) && Instant::now() < deadline => {}
            Err(e) => return Err(format!("TLS handshake: {e}")),
        }
    }
    Ok(Box::new(session))
}

/// The settings every bench connection shares, made once.
fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AnyCertificate(Arc::clone(&provider)));
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Arc::new(config)
    });
    Arc::clone(config)
}

/// Any certificate will do; the signatures made with it must still be right.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
